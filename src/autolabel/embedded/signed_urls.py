"""Signed blob URLs for the embedded world: what S3's presigned URLs are on AWS.

``autolabel serve`` answers ``/blobs/<key>?expires=…&sig=…`` (GET to read, PUT to write) when the
signature, an HMAC-SHA256 under a secret kept in the workspace, covers the method, the key and
the expiry, and the expiry has not passed. So a browser's ``<img src>`` and a client's upload
need no bearer token, exactly as with S3, and the API answers the same shape in both worlds."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from autolabel.domain.errors import Forbidden
from autolabel.ports import BLOB_PATH, SignedBlobAccess, validate_key


class BlobUrlSigner(SignedBlobAccess):
    def __init__(self, secret_file: Path, clock: Callable[[], float] = time.time) -> None:
        self.secret_file = secret_file
        self.clock = clock
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = _read_or_create(self.secret_file)
        return self._secret

    def _signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method.upper()}\n{key}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def url(self, method: str, key: str, expires_s: int) -> str:
        """A path of the local server, relative to its origin (the server knows its own host)."""
        expires = int(self.clock()) + expires_s
        return f"{BLOB_PATH}{quote(validate_key(key))}?expires={expires}&sig={self._signature(method, key, expires)}"

    def check(self, method: str, key: str, expires: str, signature: str) -> str:
        validate_key(key)
        if not expires.isdigit() or not hmac.compare_digest(self._signature(method, key, int(expires)), signature):
            raise Forbidden("the link's signature does not match")
        if int(expires) < self.clock():
            raise Forbidden("the link has expired; ask the API for a new one")
        return key


def _read_or_create(path: Path) -> bytes:
    """The workspace's secret: made once (owner-only), then read. Written to a temporary file
    and linked into place, so a concurrent first use never reads a half-written secret."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):  # another process won: use its secret
            os.link(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    return path.read_bytes().strip()
