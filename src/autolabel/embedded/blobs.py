"""Blob store on a folder: keys map to files below the root, never outside it."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from autolabel.domain.errors import DiskFull, NotFound
from autolabel.embedded.signed_urls import BlobUrlSigner
from autolabel.ports import BlobStore, UploadTarget, validate_key


def _disk_full(key: str) -> DiskFull:
    return DiskFull(f"disk full: cannot store {key} in the workspace; free some space and run the same command again")


class FileBlobStore(BlobStore):
    def __init__(self, root: Path | str, signer: BlobUrlSigner | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # The secret lives next to the blobs, never below them (no key can name it).
        self.signer = signer or BlobUrlSigner(self.root.parent / "blob-url.key")

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # validate_key already refuses "..", this also refuses symlinks that lead outside.
        if not path.is_relative_to(self.root):
            raise NotFound(f"no blob {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, a crash never leaves one.
        try:
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise _disk_full(key) if exc.errno == errno.ENOSPC else exc from None
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except BaseException as exc:
            Path(temp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise _disk_full(key) from exc
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"no blob {key!r}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no blob {key!r}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"no blob {key!r}")
        return path

    def url(self, key: str, expires_s: int = 3600) -> str:
        self.local_path(key)  # NotFound for a missing blob, as S3 would answer the browser
        return self.signer.url("GET", key, expires_s)

    def upload_url(self, key: str, content_type: str, expires_s: int = 900) -> UploadTarget:
        self._path(key)
        return UploadTarget(
            url=self.signer.url("PUT", key, expires_s), method="PUT", headers={"Content-Type": content_type}
        )
