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
