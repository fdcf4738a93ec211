"""Pure builders for dataset exports: COCO detection JSON and a YOLO label folder.

Both take the task, the images to export (in order) and the task's annotations, and return plain
values; writing them anywhere is the caller's job (see ``autolabel.exports.writer``).

Shared rules:

* Only ``SUCCESS`` annotations are exported by default. With ``include_review`` the ones still
  awaiting review (``AWAITING_REVIEW`` and ``AWAITING_CONSENSUS_REVIEW``) are exported too, kept
  distinguishable from approved ones. ``REJECTED`` and ``PENDING`` never are.
* Annotations of another task, of an input not among ``images``, or of a concept not in
  ``task.concepts`` are skipped. Text spans are skipped (they do not belong on an image).
* Boxes are clipped to the image (models may overshoot the border), polygon vertices clamped to
  it. An annotation left with no area inside its image is never dropped silently: the export is
  refused with a ValidationError naming every such annotation (the shapes people draw are fitted
  to the image when they are made, so only older or foreign records can get here).
* Category / class numbers follow ``task.concepts`` order; output order is deterministic:
  images as given, then concept order, then annotation id.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from autolabel.domain.errors import ValidationError
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Classification,
    Polygon,
    Task,
)

__all__ = ["ExportImage", "to_coco", "to_yolo"]

_APPROVED = frozenset({AnnotationStatus.SUCCESS})
_AWAITING_REVIEW = frozenset({AnnotationStatus.AWAITING_REVIEW, AnnotationStatus.AWAITING_CONSENSUS_REVIEW})
# YOLO pairs labels/<stem>.txt with images/<stem>.<ext>, so the stem must be a plain file name.
_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ExportImage:
    """One image to export, with its size as the annotations see it (EXIF orientation applied)."""

    input_id: str
    file_name: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValidationError(
                f"image {self.input_id!r} has no area: {self.width}x{self.height}",
                {"input_id": self.input_id},
            )


@dataclass(frozen=True)
class _Row:
    """One exportable annotation, with the positions that order and number it."""

    image_index: int
    image: ExportImage
    class_index: int
    annotation: Annotation

    @property
    def in_review(self) -> bool:
        return self.annotation.status in _AWAITING_REVIEW


# --------------------------------------------------------------------------- COCO


def to_coco(
    task: Task,
    images: Sequence[ExportImage],
    annotations: Sequence[Annotation],
    include_review: bool = False,
    *,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A COCO detection document (``instances_*.json`` layout) for the task.

    Image ids are 1..N in ``images`` order, category ids 1..K in ``task.concepts`` order, and
    annotation ids 1.. in output order. Each image keeps its ``autolabel_input_id``; each
    annotation carries ``autolabel_status`` and ``autolabel_labeled_by`` (``model@version`` or a
    reviewer's name), and ``score`` when the label has one.

    Boxes have an empty ``segmentation`` and area ``w * h``; polygons have a one-ring
    ``segmentation``, their bounding box as ``bbox`` and their shoelace area.

    COCO has no image-level labels, so classifications do not go in ``annotations`` (a
    whole-image box would read as a detection). They are listed in an extra top-level
    ``image_labels`` list of ``{image_id, category_id, score, status, labeled_by}``, which COCO
    tools ignore.

    ``created_at`` (default: now) dates the ``info`` block; pass it for reproducible output.
    """
    created = created_at or datetime.now(UTC)
    coco_annotations: list[dict[str, Any]] = []
    image_labels: list[dict[str, Any]] = []
    outside: list[Annotation] = []
    for row in _rows(task, images, annotations, include_review):
        ann = row.annotation
        image_id, category_id = row.image_index + 1, row.class_index + 1
        if isinstance(ann.geometry, Classification):
            image_labels.append(
                {
                    "image_id": image_id,
                    "category_id": category_id,
                    "score": ann.score,
                    "status": ann.status.value,
                    "labeled_by": ann.labeled_by.display,
                }
            )
            continue
        if not isinstance(ann.geometry, Box | Polygon):
            continue  # text spans are filtered out by _rows; this narrows the type
        shape = _coco_shape(ann.geometry, row.image)
        if shape is None:
            outside.append(ann)
            continue
        bbox, area, segmentation = shape
        record: dict[str, Any] = {
            "id": len(coco_annotations) + 1,
            "image_id": image_id,
            "category_id": category_id,
            "bbox": bbox,
            "area": area,
            "iscrowd": 0,
            "segmentation": segmentation,
        }
        if ann.score is not None:
            record["score"] = ann.score
        record["autolabel_labeled_by"] = ann.labeled_by.display
        record["autolabel_status"] = ann.status.value
        coco_annotations.append(record)
    _refuse_if_outside(outside)

    return {
        "info": {
            "description": (f"autolabel export of task {task.name!r} (model {task.model_id}@{task.model_version})"),
            "version": "1.0",
            "year": created.year,
            "contributor": "autolabel",
            "date_created": created.isoformat(timespec="seconds"),
            "autolabel_task_id": task.id,
            "autolabel_include_review": include_review,
        },
        "licenses": [],
        "images": [
            {
                "id": index + 1,
                "file_name": image.file_name,
                "width": image.width,
                "height": image.height,
                "autolabel_input_id": image.input_id,
            }
            for index, image in enumerate(images)
        ],
        "categories": [
            {"id": index + 1, "name": concept, "supercategory": "autolabel"}
            for index, concept in enumerate(task.concepts)
        ],
        "annotations": coco_annotations,
        "image_labels": image_labels,
    }


def _coco_shape(geometry: Box | Polygon, image: ExportImage) -> tuple[list[float], float, list[list[float]]] | None:
    """(bbox, area, segmentation) of a box or polygon inside the image; None if nothing is left."""
    if isinstance(geometry, Box):
        box = _clip_box(geometry, image)
        if box is None:
            return None
        x, y, w, h = box
        return [x, y, w, h], w * h, []
    points = _clamp_points(geometry, image)
    area = _shoelace_area(points)
    bbox = _points_bbox(points)
    if bbox is None or area <= 0.0:
        return None
    return list(bbox), area, [[c for point in points for c in point]]


# --------------------------------------------------------------------------- YOLO


def to_yolo(
    task: Task,
    images: Sequence[ExportImage],
    annotations: Sequence[Annotation],
    include_review: bool = False,
) -> dict[str, str]:
    """A YOLO detection dataset as ``{relative path: file text}``.

    * ``labels/<input_id>.txt`` for every image: one ``class cx cy w h`` line per box, class =
      0-based index in ``task.concepts``, coordinates normalised to [0, 1] with 6 decimals. An
      image without boxes gets an empty file, YOLO's way of marking a negative example.
      Polygons are written as their bounding box: this is the detection format, not YOLO-seg.
    * ``data.yaml`` with ``nc`` and ``names`` (``path: .``, ``train``/``val``: ``images``).
    * ``manifest.csv`` (``input_id,file_name,width,height``): label files are named by input id
      because original file names can collide; place each image at ``images/<input_id>.<ext>``.

    YOLO lines have no field for a status, so with ``include_review`` the boxes awaiting review
    go to ``labels_review/<input_id>.txt`` (only for images that have any) instead of being
    mixed into ``labels/``, where a trainer would take them as ground truth. Classifications are
    skipped: YOLO detection labels have no image-level form.
    """
    stems = [image.input_id for image in images]
    for stem in stems:
        if not _SAFE_STEM.match(stem):
            raise ValidationError(f"input id {stem!r} cannot be used as a file name", {"id": stem})
    lines: dict[str, list[str]] = {stem: [] for stem in stems}
    review_lines: dict[str, list[str]] = {}
    outside: list[Annotation] = []
    for row in _rows(task, images, annotations, include_review):
        geometry = row.annotation.geometry
        if not isinstance(geometry, Box | Polygon):
            continue  # a classification has no YOLO detection form
        line = _yolo_line(row.class_index, geometry, row.image)
        if line is None:
            outside.append(row.annotation)
            continue
        stem = row.image.input_id
        (review_lines.setdefault(stem, []) if row.in_review else lines[stem]).append(line)

    _refuse_if_outside(outside)
    files = {f"labels/{stem}.txt": _text(found) for stem, found in lines.items()}
    files.update({f"labels_review/{stem}.txt": _text(found) for stem, found in review_lines.items()})
    files["data.yaml"] = _data_yaml(task, include_review)
    files["manifest.csv"] = _manifest(images)
    return files


def _yolo_line(class_index: int, geometry: Box | Polygon, image: ExportImage) -> str | None:
    if isinstance(geometry, Box):
        box = _clip_box(geometry, image)
    else:
        box = _points_bbox(_clamp_points(geometry, image))
    if box is None:
        return None
    x, y, w, h = box
    cx, cy = (x + w / 2) / image.width, (y + h / 2) / image.height
    return f"{class_index} {cx:.6f} {cy:.6f} {w / image.width:.6f} {h / image.height:.6f}"


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _data_yaml(task: Task, include_review: bool) -> str:
    header = [
        f"# YOLO dataset exported by autolabel: task {_yaml_quote(task.name)}, "
        f"model {_yaml_quote(f'{task.model_id}@{task.model_version}')}.",
        "# Labels are labels/<input_id>.txt; put each image at images/<input_id>.<ext>"
        " (manifest.csv maps input ids to original file names).",
    ]
    if include_review:
        header.append("# labels_review/ holds boxes still awaiting human review (not ground truth).")
    body = ["path: .", "train: images", "val: images", f"nc: {len(task.concepts)}"]
    if task.concepts:
        body += ["names:", *(f"  - {_yaml_quote(name)}" for name in task.concepts)]
    else:
        body.append("names: []")
    return "\n".join([*header, *body]) + "\n"


_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar for ``text``: safe for spaces, ``:``, ``#``, quotes, unicode.

    json.dumps is not enough: its ``\\ud83d\\ude00`` surrogate pairs decode to two lone
    surrogates in PyYAML, and it leaves characters YAML forbids (e.g. U+2028) unescaped.
    """
    out = []
    for char in text:
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif char.isprintable():  # every printable char is allowed verbatim in YAML
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _manifest(images: Sequence[ExportImage]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["input_id", "file_name", "width", "height"])
    for image in images:
        writer.writerow([image.input_id, image.file_name, image.width, image.height])
    return buffer.getvalue()


# --------------------------------------------------------------------------- shared


def _refuse_if_outside(outside: Sequence[Annotation]) -> None:
    """An export missing annotations reads as a complete dataset: refuse it, naming them."""
    if outside:
        listed = ", ".join(a.id for a in outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        raise ValidationError(
            f"{len(outside)} annotation(s) lie outside their image and cannot be exported: {listed}; "
            "edit or delete them, then export again",
            {"annotation_ids": [a.id for a in outside]},
        )


def _rows(
    task: Task,
    images: Sequence[ExportImage],
    annotations: Sequence[Annotation],
    include_review: bool,
) -> Iterator[_Row]:
    """The exportable annotations in output order (image, concept, annotation id)."""
    image_index: dict[str, int] = {}
    for index, image in enumerate(images):
        if image.input_id in image_index:
            raise ValidationError(f"image {image.input_id!r} is listed twice", {"input_id": image.input_id})
        image_index[image.input_id] = index
    class_index: dict[str, int] = {}
    for index, concept in enumerate(task.concepts):
        class_index.setdefault(concept, index)  # a repeated concept keeps its first number
    statuses = (_APPROVED | _AWAITING_REVIEW) if include_review else _APPROVED

    rows = [
        _Row(image_index[a.input_id], images[image_index[a.input_id]], class_index[a.concept], a)
        for a in annotations
        if a.task_id == task.id
        and a.status in statuses
        and a.input_id in image_index
        and a.concept in class_index
        and isinstance(a.geometry, Box | Polygon | Classification)
    ]
    rows.sort(key=lambda r: (r.image_index, r.class_index, r.annotation.id))
    return iter(rows)


def _clip_box(box: Box, image: ExportImage) -> tuple[float, float, float, float] | None:
    clipped = box.clipped(image.width, image.height)
    if clipped is None:
        return None
    return clipped.x, clipped.y, clipped.w, clipped.h


def _clamp_points(polygon: Polygon, image: ExportImage) -> list[tuple[float, float]]:
    # Clamping (not true clipping) keeps the vertex count, so the ring stays aligned with the
    # model's output; the difference only matters for polygons that cross the border.
    width, height = float(image.width), float(image.height)
    return [(min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in polygon.points]


def _points_bbox(points: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x, y = min(xs), min(ys)
    w, h = max(xs) - x, max(ys) - y
    return None if w <= 0.0 or h <= 0.0 else (x, y, w, h)


def _shoelace_area(points: list[tuple[float, float]]) -> float:
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2.0
