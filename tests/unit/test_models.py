"""Domain models: geometry validation, JSON round trips, task helpers and progress rules."""

from __future__ import annotations

import json
import re

import pydantic
import pytest

from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Classification,
    Edit,
    Geometry,
    Labeler,
    LabelerKind,
    LabelType,
    ModelKind,
    ModelSpec,
    Polygon,
    Prediction,
    Reviewer,
    TaskStatus,
    TextSpan,
    Thresholds,
    label_type_of,
)
from autolabel.domain.progress import TaskCounts, percent_reviewed, run_status
from tests.unit.conftest import build_annotation, build_prediction, build_task

# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(("w", "h"), [(0, 1), (1, 0), (-1, 1), (1, -0.5), (0, 0)])
def test_box_needs_positive_size(w: float, h: float) -> None:
    with pytest.raises(pydantic.ValidationError):
        Box(x=0, y=0, w=w, h=h)


@pytest.mark.parametrize(("x", "y"), [(-1, 0), (0, -0.1)])
def test_box_corner_not_negative(x: float, y: float) -> None:
    with pytest.raises(pydantic.ValidationError):
        Box(x=x, y=y, w=1, h=1)


def test_box_tiny_positive_size_ok() -> None:
    box = Box(x=0, y=0, w=1e-9, h=1e-9)
    assert box.type == "box"


def test_box_clipped() -> None:
    assert Box(x=5, y=5, w=10, h=10).clipped(8, 12) == Box(x=5, y=5, w=3, h=7)
    assert Box(x=20, y=0, w=5, h=5).clipped(10, 10) is None
    assert Box(x=0, y=0, w=4, h=4).clipped(10, 10) == Box(x=0, y=0, w=4, h=4)


@pytest.mark.parametrize("points", [[], [(0, 0)], [(0, 0), (1, 1)]])
def test_polygon_needs_three_points(points: list[tuple[float, float]]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Polygon(points=points)


def test_polygon_three_points_ok_and_bbox() -> None:
    poly = Polygon(points=[(1, 2), (5, 2), (3, 8)])
    assert poly.bounding_box() == Box(x=1, y=2, w=4, h=6)


def test_polygon_degenerate_bbox_still_valid_box() -> None:
    bbox = Polygon(points=[(1, 1), (1, 1), (1, 1)]).bounding_box()
    assert bbox.w > 0
    assert bbox.h > 0


def test_text_span_end_before_start_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="end must be >= start"):
        TextSpan(start=5, end=4)


def test_text_span_empty_and_normal_ok() -> None:
    assert TextSpan(start=3, end=3).end == 3
    assert TextSpan(start=0, end=10).start == 0


def test_text_span_negative_start_rejected() -> None:
    with pytest.raises(pydantic.ValidationError):
        TextSpan(start=-1, end=2)


def test_label_type_of_each_geometry() -> None:
    assert label_type_of(Classification()) is LabelType.CLASSIFICATION
    assert label_type_of(Box(x=0, y=0, w=1, h=1)) is LabelType.BOX
    assert label_type_of(Polygon(points=[(0, 0), (1, 0), (0, 1)])) is LabelType.POLYGON
    assert label_type_of(TextSpan(start=0, end=1)) is LabelType.TEXT


def test_geometry_rejects_extra_fields() -> None:
    with pytest.raises(pydantic.ValidationError):
        Box(x=0, y=0, w=1, h=1, z=3)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- discriminated union


GEOMETRIES = [
    Classification(),
    Box(x=1.5, y=2, w=3, h=4.25),
    Polygon(points=[(0, 0), (10, 0), (10, 10), (0, 10)]),
    TextSpan(start=4, end=9),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: g.type)
def test_annotation_json_round_trip(geometry: Geometry) -> None:
    ann = build_annotation(build_prediction(0).id, geometry=geometry)
    text = ann.model_dump_json()
    back = Annotation.model_validate_json(text)
    assert back == ann
    assert type(back.geometry) is type(geometry)
    assert json.loads(text)["geometry"]["type"] == geometry.type


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: g.type)
def test_prediction_json_round_trip(geometry: Geometry) -> None:
    pred = build_prediction(0, geometry=geometry)
    assert Prediction.model_validate_json(pred.model_dump_json()) == pred


def test_union_parses_by_discriminator_from_raw_json() -> None:
    base = json.loads(build_annotation("pr_x").model_dump_json())
    base["geometry"] = {"type": "polygon", "points": [[0, 0], [1, 0], [1, 1]]}
    ann = Annotation.model_validate_json(json.dumps(base))
    assert isinstance(ann.geometry, Polygon)
    assert ann.geometry.points == [(0, 0), (1, 0), (1, 1)]
    base["geometry"] = {"type": "text", "start": 1, "end": 2}
    assert isinstance(Annotation.model_validate_json(json.dumps(base)).geometry, TextSpan)
    base["geometry"] = {"type": "classification"}
    assert isinstance(Annotation.model_validate_json(json.dumps(base)).geometry, Classification)


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "circle", "r": 1},
        {"x": 0, "y": 0, "w": 1, "h": 1},  # no discriminator
        {"type": "box", "x": 0, "y": 0, "w": 0, "h": 1},  # invalid box
        {"type": "polygon", "points": [[0, 0], [1, 1]]},  # too few points
        {"type": "text", "start": 3, "end": 1},  # reversed span
    ],
)
def test_invalid_geometry_json_rejected(geometry: dict[str, object]) -> None:
    base = json.loads(build_annotation("pr_x").model_dump_json())
    base["geometry"] = geometry
    with pytest.raises(pydantic.ValidationError):
        Annotation.model_validate_json(json.dumps(base))


def test_edit_geometry_optional_and_discriminated() -> None:
    edit = Edit.model_validate_json(
        '{"prediction_id": "p", "geometry": {"type": "box", "x": 0, "y": 0, "w": 2, "h": 3}}'
    )
    assert edit.geometry == Box(x=0, y=0, w=2, h=3)
    assert Edit(prediction_id="p").geometry is None


def test_prediction_score_bounds() -> None:
    with pytest.raises(pydantic.ValidationError):
        build_prediction(0, score=1.01)
    with pytest.raises(pydantic.ValidationError):
        build_prediction(0, score=-0.01)


def test_models_are_frozen() -> None:
    ann = build_annotation("pr_x")
    with pytest.raises(pydantic.ValidationError):
        ann.status = AnnotationStatus.REJECTED  # type: ignore[misc]


# --------------------------------------------------------------------------- task


def test_thresholds_for_uses_override_else_global() -> None:
    dog = Thresholds(upper=0.9, lower=0.7)
    task = build_task(thresholds=Thresholds(upper=0.8, lower=0.4), concept_thresholds={"dog": dog})
    assert task.thresholds_for("dog") == dog
    assert task.thresholds_for("cat") == Thresholds(upper=0.8, lower=0.4)
    assert task.thresholds_for("not-a-concept") == task.thresholds


def test_task_reviewer_lookup() -> None:
    task = build_task(reviewers=[Reviewer(name="alice", weight=2), Reviewer(name="bob")])
    assert task.reviewer("alice") == Reviewer(name="alice", weight=2)
    assert task.reviewer("carol") is None


def test_task_json_round_trip_with_overrides() -> None:
    task = build_task(concept_thresholds={"car": Thresholds(upper=1.0, lower=0.0)})
    back = type(task).model_validate_json(task.model_dump_json())
    assert back == task
    assert back.status is TaskStatus.PENDING


def test_task_rejects_invalid_thresholds_in_json() -> None:
    data = json.loads(build_task().model_dump_json())
    data["thresholds"] = {"upper": 0.2, "lower": 0.9}
    with pytest.raises(pydantic.ValidationError):
        type(build_task()).model_validate(data)


# --------------------------------------------------------------------------- reviewer


@pytest.mark.parametrize("name", ["alice", "a", "bob.smith", "carol@example.com", "dave_2", "e-f", "X" * 64])
def test_reviewer_valid_names(name: str) -> None:
    assert Reviewer(name=name).weight == 1


@pytest.mark.parametrize("name", ["", "has space", "semi;colon", "slash/y", "ünï", "X" * 65, "tab\t", "a\n"])
def test_reviewer_invalid_names(name: str) -> None:
    # Refused where reviewers are set (a stored task under an older rule must still load).
    from autolabel.app.tasks import check_reviewers
    from autolabel.domain import names
    from autolabel.domain.errors import ValidationError

    assert Reviewer(name=name).name == name
    with pytest.raises(ValidationError, match=re.escape(names.PERSON.message)):
        check_reviewers([Reviewer(name=name)])


@pytest.mark.parametrize("weight", [0, -1, 1001])
def test_reviewer_weight_bounds(weight: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        Reviewer(name="alice", weight=weight)


def test_reviewer_weight_accepts_range() -> None:
    assert Reviewer(name="alice", weight=1).weight == 1
    assert Reviewer(name="alice", weight=1000).weight == 1000


# --------------------------------------------------------------------------- misc models


def test_model_spec_needs_labels() -> None:
    with pytest.raises(pydantic.ValidationError):
        ModelSpec(id="m", version="1", kind=ModelKind.DETECTOR, labels=[], label_type=LabelType.BOX)


def test_labeler_display() -> None:
    assert Labeler(kind=LabelerKind.MODEL, id="detr", version="1.0").display == "detr@1.0"
    assert Labeler(kind=LabelerKind.REVIEWER, id="alice").display == "alice"


# --------------------------------------------------------------------------- progress


def test_percent_reviewed_nothing_to_review_is_complete() -> None:
    assert percent_reviewed(0, 0) == 100.0


@pytest.mark.parametrize(
    ("decided", "total", "expected"),
    [(1, 3, 33.3), (2, 3, 66.7), (0, 5, 0.0), (5, 5, 100.0), (1, 8, 12.5), (1, 1000, 0.1)],
)
def test_percent_reviewed_rounds_to_one_decimal(decided: int, total: int, expected: float) -> None:
    assert percent_reviewed(decided, total) == expected


def test_run_status_all_failed_is_failed() -> None:
    assert run_status(TaskCounts(inputs_total=3, inputs_done=0, inputs_failed=3)) is TaskStatus.FAILED
    assert run_status(TaskCounts(inputs_total=1, inputs_failed=1)) is TaskStatus.FAILED


@pytest.mark.parametrize(
    "counts",
    [
        TaskCounts(inputs_total=3, inputs_done=2, inputs_failed=1),
        TaskCounts(inputs_total=3, inputs_done=3),
        TaskCounts(inputs_total=3, inputs_done=1, inputs_failed=2),
        TaskCounts(),  # an empty dataset completes
    ],
)
def test_run_status_otherwise_complete(counts: TaskCounts) -> None:
    assert run_status(counts) is TaskStatus.COMPLETE
