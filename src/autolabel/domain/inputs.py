"""What kind of input a file is, by its name: the one rule every way of adding inputs uses."""

from __future__ import annotations

from pathlib import PurePosixPath

from autolabel.domain.models import InputKind

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"})
TEXT_EXTENSIONS = frozenset({"txt"})


def sniff_kind(path_or_name: str) -> InputKind | None:
    """Classify a file by its extension (case-insensitive); ``None`` if we do not handle it."""
    ext = PurePosixPath(path_or_name).suffix.lower().lstrip(".")
    if ext in IMAGE_EXTENSIONS:
        return InputKind.IMAGE
    if ext in TEXT_EXTENSIONS:
        return InputKind.TEXT
    return None


# Uploads larger than this are refused before they are read (the AWS stack sets its own limit,
# `upload_max_mb`); a 48-megapixel phone JPEG is 10–20 MB.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def upload_problem(filename: str, size: int, max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """Why an uploaded object cannot become an input, judged by its name and size alone (before
    reading it); ``None`` if it may."""
    if sniff_kind(filename) is None:
        kinds = ", ".join(f".{e}" for e in sorted(IMAGE_EXTENSIONS | TEXT_EXTENSIONS))
        return f"'{filename}' is not a kind of file autolabel labels ({kinds})"
    if size <= 0:
        return f"'{filename}' is empty"
    if size > max_bytes:
        return f"'{filename}' is {size:,} bytes, over the upload limit of {max_bytes:,}"
    return None
