"""Write an export's ``{relative path: content}`` map under one folder, and nowhere else."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from autolabel.domain.errors import ValidationError

__all__ = ["unzip_files", "write_export", "zip_files"]


def write_export(files: Mapping[str, str | bytes], out: Path) -> list[Path]:
    """Write each file under ``out`` (created if needed); text is written as UTF-8.

    Paths must be relative, ``/``-separated and free of ``.``/``..`` segments, and must not
    resolve outside ``out`` through an existing symlink. Every path is checked before anything
    is written, so a bad map leaves no partial export behind. Returns the written paths in the
    map's order.

    Raises:
        ValidationError: a path is empty, absolute, malformed or escapes ``out``.
    """
    out.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    targets = [(out / _checked(name), content) for name, content in files.items()]
    for target, _ in targets:
        # Catches symlinks already inside ``out`` that point elsewhere.
        if not target.resolve().is_relative_to(root):
            raise ValidationError(f"export path {target} escapes {out}", {"path": str(target)})
    written = []
    for target, content in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Bytes in both cases: text mode would translate newlines on Windows.
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        written.append(target)
    return written


def _checked(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or path.is_absolute()
        or PureWindowsPath(name).drive  # "C:x" is relative on POSIX but not on Windows
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise ValidationError(f"unsafe export path {name!r}", {"path": name})
    return path


def zip_files(files: Mapping[str, str | bytes]) -> bytes:
    """One zip archive of an export's files (a YOLO folder becomes one downloadable file)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(str(_checked(name)), content)
    return buffer.getvalue()


def unzip_files(data: bytes) -> dict[str, bytes]:
    """The files of an archive made by :func:`zip_files`, by their relative path."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {str(_checked(info.filename)): archive.read(info) for info in archive.infolist() if not info.is_dir()}
