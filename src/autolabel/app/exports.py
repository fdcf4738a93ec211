"""Exports of a task's annotations: COCO JSON or a YOLO folder (SUCCESS annotations, and those
awaiting review when asked, marked as such)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from autolabel.app.access import find_task
from autolabel.app.input_manager import every_annotation
from autolabel.app.tasks import inputs_of
from autolabel.domain.errors import ValidationError
from autolabel.domain.models import AnnotationStatus, InputKind, Task
from autolabel.domain.users import Actor, require_admin
from autolabel.exports.formats import ExportImage, to_coco, to_yolo
from autolabel.exports.writer import write_export
from autolabel.ports import AnnotationQuery, Backends

FORMATS = ("coco", "yolo")
Format = Literal["coco", "yolo"]


class Export(BaseModel):
    format: Format
    files: dict[str, str] = Field(description="The export's files by relative path: coco.json, or the YOLO folder.")

    @property
    def coco(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.files["coco.json"])
        return document


def export_task(backends: Backends, actor: Actor, name: str, fmt: str, include_review: bool = False) -> Export:
    require_admin(actor, "export tasks")
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")
    task = find_task(backends, name)
    awaiting = [AnnotationStatus.AWAITING_REVIEW, AnnotationStatus.AWAITING_CONSENSUS_REVIEW]
    statuses = [AnnotationStatus.SUCCESS, *(awaiting if include_review else [])]
    annotations = every_annotation(backends, AnnotationQuery(task_id=task.id, statuses=statuses))
    images = export_images(backends, task)
    if fmt == "coco":
        document = to_coco(task, images, annotations, include_review=include_review)
        return Export(format="coco", files={"coco.json": json.dumps(document, indent=2)})
    return Export(format="yolo", files=to_yolo(task, images, annotations, include_review=include_review))


def export_images(backends: Backends, task: Task) -> list[ExportImage]:
    """Every input of the task that did not fail, with its upright size.

    The size is read from the image's header (Pillow, loaded only when an export runs: the API
    that serves exports carries Pillow but not numpy or onnxruntime).
    """
    from autolabel.imaging.decode import ImageDecodeError, image_size

    images = []
    for item in inputs_of(backends, task, skip_failed=True):
        if item.kind != InputKind.IMAGE:
            continue  # texts carry spans, which neither format has a place for
        try:
            width, height = image_size(backends.blobs.get(item.blob_key))
        except ImageDecodeError as exc:
            # Skipping it would drop its annotations without a word; the run read this image.
            raise ValidationError(
                f"input {item.id} ({item.source}) can no longer be read as an image ({exc}): "
                "delete the input or add it again, then export",
                {"input_id": item.id},
            ) from None
        images.append(ExportImage(item.id, Path(item.source or item.blob_key).name, width, height))
    return images


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
