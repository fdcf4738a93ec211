"""Preview images: each input of a task with its predictions drawn in their band's colour
(green approved, amber awaiting review, red discarded), for a person to check at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from autolabel.app.access import visible_task
from autolabel.app.input_manager import every_annotation
from autolabel.app.tasks import inputs_of
from autolabel.domain.models import AnnotationStatus, Band
from autolabel.domain.users import Actor
from autolabel.ports import AnnotationQuery, Backends

if TYPE_CHECKING:
    from autolabel.exports.preview import Drawable


def write_previews(
    backends: Backends, actor: Actor, task_name: str, folder: Path, discarded_floor: float = 0.1
) -> list[Path]:
    """One PNG per input of the task in ``folder``; discarded predictions scoring below
    ``discarded_floor`` are left out (dozens of near-zero boxes would hide the picture)."""
    # Drawing needs the pixels: Pillow, loaded here rather than by everything that imports app.
    from autolabel.exports.preview import render_preview
    from autolabel.imaging.decode import ImageDecodeError, decode_image

    task = visible_task(backends, actor, task_name)
    status_of = {a.prediction_id: a.status for a in every_annotation(backends, AnnotationQuery(task_id=task.id))}
    by_input: dict[str, list[Drawable]] = {}
    for prediction in backends.records.predictions(task.id):
        if prediction.geometry.type not in ("box", "polygon"):
            continue
        status = status_of.get(prediction.id)
        if status is None and prediction.score < discarded_floor:
            continue
        band = (
            Band.APPROVED
            if status == AnnotationStatus.SUCCESS
            else Band.REVIEW
            if status == AnnotationStatus.AWAITING_REVIEW
            else Band.DISCARDED
        )
        by_input.setdefault(prediction.input_id, []).append(
            (prediction.geometry, prediction.concept, prediction.score, band.value)
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in inputs_of(backends, task):
        try:
            image = decode_image(backends.blobs.get(item.blob_key))
        except ImageDecodeError:
            continue  # a failed input: the task's status lists it with the reason
        target = folder / f"{Path(item.source).stem}.png"
        render_preview(image, by_input.get(item.id, [])).save(target)
        written.append(target)
    return written
