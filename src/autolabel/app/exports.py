"""Exports of a task's annotations: COCO JSON or a YOLO folder (SUCCESS annotations, and those
awaiting review when asked, marked as such). An export is a job (``app.jobs``): these are the
pieces it is made of — the formats, each image's size, rendering, and reading a finished one."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from autolabel.domain.errors import ValidationError
from autolabel.domain.models import Annotation, AnnotationStatus, Input, InputKind, Task
from autolabel.exports.formats import ExportImage, to_coco, to_yolo
from autolabel.exports.writer import unzip_files, write_export, zip_files
from autolabel.ports import Backends

Format = Literal["coco", "yolo"]
Renderer = Callable[[Task, Sequence[ExportImage], Sequence[Annotation], bool, datetime], dict[str, str]]


def _coco(
    task: Task, images: Sequence[ExportImage], annotations: Sequence[Annotation], review: bool, created: datetime
) -> dict[str, str]:
    document = to_coco(task, images, annotations, include_review=review, created_at=created)
    return {"coco.json": json.dumps(document, indent=2)}


def _yolo(
    task: Task, images: Sequence[ExportImage], annotations: Sequence[Annotation], review: bool, created: datetime
) -> dict[str, str]:
    return to_yolo(task, images, annotations, include_review=review)


# A new format is one entry: a function from the task, its images and annotations to files.
RENDERERS: dict[str, Renderer] = {"coco": _coco, "yolo": _yolo}
FORMATS = tuple(RENDERERS)


class Export(BaseModel):
    format: Format
    files: dict[str, str] = Field(description="The export's files by relative path: coco.json, or the YOLO folder.")

    @property
    def coco(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.files["coco.json"])
        return document


def check_format(fmt: str) -> None:
    if fmt not in RENDERERS:
        raise ValidationError(f"unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")


def statuses(include_review: bool) -> list[AnnotationStatus]:
    awaiting = [AnnotationStatus.AWAITING_REVIEW, AnnotationStatus.AWAITING_CONSENSUS_REVIEW]
    return [AnnotationStatus.SUCCESS, *(awaiting if include_review else [])]


def export_image(backends: Backends, item: Input) -> ExportImage | None:
    """The input with its upright size: as recorded when its bytes were registered, or — for a
    record from before sizes were kept — read from the image's header (Pillow, loaded only
    then). None for a text (neither format has a place for its spans); an image that can no
    longer be read is refused, not dropped."""
    if item.kind != InputKind.IMAGE:
        return None
    width, height = item.width, item.height
    if width is None or height is None:
        from autolabel.imaging.decode import ImageDecodeError, image_size

        try:
            width, height = image_size(backends.blobs.get(item.blob_key))
        except ImageDecodeError as exc:
            # Skipping it would drop its annotations without a word; the run read this image.
            raise ValidationError(
                f"input {item.id} ({item.source}) can no longer be read as an image ({exc}): "
                "delete the input or add it again, then export",
                {"input_id": item.id},
            ) from None
    return ExportImage(item.id, Path(item.source or item.blob_key).name, width, height)


def render(
    task: Task,
    fmt: str,
    images: Sequence[ExportImage],
    annotations: Sequence[Annotation],
    include_review: bool,
    created: datetime,
) -> tuple[str, bytes, list[str]]:
    """The export as one stored file: (its name, its bytes, the names of the files inside).
    ``created`` dates it, so that rendering the same export again gives the same bytes."""
    files = RENDERERS[fmt](task, images, annotations, include_review, created)
    if list(files) == ["coco.json"]:
        return "coco.json", files["coco.json"].encode(), ["coco.json"]
    return f"{fmt}.zip", zip_files(files), sorted(files)


def read_result(fmt: str, name: str, data: bytes) -> Export:
    """A finished export read back from its stored file (the CLI writes it out with ``save``)."""
    if name.endswith(".zip"):
        return Export.model_validate({"format": fmt, "files": {k: v.decode() for k, v in unzip_files(data).items()}})
    return Export.model_validate({"format": fmt, "files": {name: data.decode()}})


def check_destination(fmt: str, out: Path) -> None:
    """Refuse an ``--out`` the export could not be written to, before any work is done: COCO is
    one file (not an existing folder), YOLO a folder (not an existing file), and neither can be
    created below a file."""
    if fmt == "coco" and out.is_dir():
        raise ValidationError(
            f"--out {out} is a folder; a COCO export is one file, e.g. --out {out / 'coco.json'}", {"out": str(out)}
        )
    if fmt == "yolo" and out.exists() and not out.is_dir():
        raise ValidationError(f"--out {out} is a file; a YOLO export is a folder: name a new or existing folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValidationError(f"--out {out} is below {parent}, which is a file, not a folder")
            break


def save(export: Export, out: Path) -> list[Path]:
    """Write an export on this machine: COCO to the file ``out``, YOLO into the folder ``out``."""
    if export.format == "coco":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(export.files["coco.json"].encode())  # bytes: text mode would translate newlines
        return [out]
    return write_export(export.files, out)
