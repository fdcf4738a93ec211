"""Export a task's annotations to files (COCO JSON or a YOLO folder)."""

from __future__ import annotations

import json
from pathlib import Path

from autolabel.domain.errors import ValidationError
from autolabel.domain.models import AnnotationStatus, Task
from autolabel.domain.users import Actor, require_admin
from autolabel.exports.formats import ExportImage, to_coco, to_yolo
from autolabel.exports.writer import write_export
from autolabel.imaging.decode import ImageDecodeError, image_size
from autolabel.ports import AnnotationQuery
from autolabel.service import Autolabel

FORMATS = ("coco", "yolo")


def export_images(svc: Autolabel, task: Task) -> list[ExportImage]:
    """Every successfully processed input of the task, with its oriented size."""
    failed = {f.input_id for f in svc.records.failed_inputs(task.id)}
    images = []
    for item in svc.task_inputs(task):
        if item.id in failed:
            continue
        try:
            width, height = image_size(svc.blobs.get(item.blob_key))
        except ImageDecodeError:
            continue
        images.append(ExportImage(item.id, Path(item.source or item.blob_key).name, width, height))
    return images


def export_files(
    svc: Autolabel, actor: Actor, name: str, fmt: str, include_review: bool = False
) -> dict[str, str | bytes]:
    """The export as ``{relative path: content}``: ``coco.json``, or the YOLO folder's files."""
    require_admin(actor, "export tasks")
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")
    task = svc.task(name)
    awaiting = [AnnotationStatus.AWAITING_REVIEW, AnnotationStatus.AWAITING_CONSENSUS_REVIEW]
    statuses = [AnnotationStatus.SUCCESS, *(awaiting if include_review else [])]
    annotations = svc.annotations(AnnotationQuery(task_id=task.id, statuses=statuses))
    images = export_images(svc, task)
    if fmt == "coco":
        document = to_coco(task, images, annotations, include_review=include_review)
        return {"coco.json": json.dumps(document, indent=2)}
    return dict(to_yolo(task, images, annotations, include_review=include_review))


def export_task(
    svc: Autolabel, actor: Actor, name: str, fmt: str, out: Path, include_review: bool = False
) -> list[Path]:
    """Write the export: COCO to the file ``out``, YOLO into the folder ``out``."""
    files = export_files(svc, actor, name, fmt, include_review)
    if fmt == "coco":
        out.parent.mkdir(parents=True, exist_ok=True)
        content = files["coco.json"]
        out.write_bytes(content.encode() if isinstance(content, str) else content)
        return [out]
    return write_export(files, out)
