"""Threshold routing: exact band boundaries, per-concept overrides, and what route_input emits."""

from __future__ import annotations

import math

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autolabel.domain import errors, ids
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Box,
    LabelerKind,
    Polygon,
    Thresholds,
)
from autolabel.domain.routing import band_counts, band_of, model_labeler, route_input
from tests.unit.conftest import (
    INPUT_ID,
    MODEL_ID,
    MODEL_VERSION,
    TASK_ID,
    MakePrediction,
    MakeTask,
    build_prediction,
    build_task,
)

T = Thresholds(upper=0.8, lower=0.4)


# --------------------------------------------------------------------------- band_of boundaries


def test_score_equal_to_upper_is_approved() -> None:
    assert band_of(0.8, T) is Band.APPROVED


def test_score_just_below_upper_is_review() -> None:
    score = math.nextafter(0.8, 0.0)
    assert score < 0.8
    assert band_of(score, T) is Band.REVIEW


def test_score_just_above_upper_is_approved() -> None:
    assert band_of(math.nextafter(0.8, 1.0), T) is Band.APPROVED


def test_score_equal_to_lower_is_review() -> None:
    assert band_of(0.4, T) is Band.REVIEW


def test_score_just_below_lower_is_discarded() -> None:
    score = math.nextafter(0.4, 0.0)
    assert score < 0.4
    assert band_of(score, T) is Band.DISCARDED


def test_score_zero_is_discarded_when_lower_positive() -> None:
    assert band_of(0.0, T) is Band.DISCARDED


def test_lower_equal_upper_has_no_review_band() -> None:
    t = Thresholds(upper=0.5, lower=0.5)
    assert band_of(0.5, t) is Band.APPROVED
    assert band_of(math.nextafter(0.5, 0.0), t) is Band.DISCARDED
    assert band_of(math.nextafter(0.5, 1.0), t) is Band.APPROVED
    assert all(band_of(s / 100, t) is not Band.REVIEW for s in range(101))


def test_lower_zero_discards_nothing() -> None:
    t = Thresholds(upper=0.9, lower=0.0)
    assert band_of(0.0, t) is Band.REVIEW
    assert band_of(5e-324, t) is Band.REVIEW
    assert all(band_of(s / 100, t) is not Band.DISCARDED for s in range(101))


def test_upper_one_approves_only_a_perfect_score() -> None:
    t = Thresholds(upper=1.0, lower=0.3)
    assert band_of(1.0, t) is Band.APPROVED
    assert band_of(math.nextafter(1.0, 0.0), t) is Band.REVIEW


def test_zero_zero_approves_everything() -> None:
    t = Thresholds(upper=0.0, lower=0.0)
    assert band_of(0.0, t) is Band.APPROVED


# --------------------------------------------------------------------------- threshold validation


@pytest.mark.parametrize(
    ("upper", "lower"),
    [
        (0.4, 0.8),  # lower > upper
        (0.5, -0.1),  # negative lower
        (-0.1, -0.2),  # negative both
        (1.1, 0.5),  # upper > 1
        (1.5, 1.2),  # both > 1
        (math.nextafter(1.0, 2.0), 0.5),  # just over 1
        (0.5, math.nextafter(0.5, 1.0)),  # lower a hair above upper
        (math.nan, 0.5),
        (0.5, math.nan),
    ],
)
def test_invalid_thresholds_rejected(upper: float, lower: float) -> None:
    with pytest.raises(pydantic.ValidationError):
        Thresholds(upper=upper, lower=lower)
    with pytest.raises(errors.ValidationError) as info:
        Thresholds.of(upper, lower)
    assert "lower <= upper" in info.value.message
    assert "lower <= upper" in str(info.value)
    assert set(info.value.details) == {"upper", "lower"}


def test_domain_validation_error_is_not_a_pydantic_one() -> None:
    # Entry points map the domain error to 422; make sure of() does not leak pydantic's type.
    with pytest.raises(errors.ValidationError) as info:
        Thresholds.of(0.2, 0.9)
    assert not isinstance(info.value, pydantic.ValidationError)
    assert info.value.code == "validation_error"
    assert info.value.http_status == 422


@pytest.mark.parametrize(("upper", "lower"), [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.5, 0.5), (0.8, 0.4)])
def test_valid_thresholds_accepted(upper: float, lower: float) -> None:
    assert Thresholds.of(upper, lower) == Thresholds(upper=upper, lower=lower)


def test_thresholds_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        T.upper = 0.1  # type: ignore[misc]


# --------------------------------------------------------------------------- property


unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(a=unit, b=unit, score=unit)
def test_exactly_one_band_agrees_with_inequalities(a: float, b: float, score: float) -> None:
    t = Thresholds(upper=max(a, b), lower=min(a, b))
    band = band_of(score, t)
    approved = score >= t.upper
    review = t.lower <= score < t.upper
    discarded = score < t.lower
    assert [approved, review, discarded].count(True) == 1
    assert (band is Band.APPROVED) == approved
    assert (band is Band.REVIEW) == review
    assert (band is Band.DISCARDED) == discarded


@given(a=unit, b=unit, s1=unit, s2=unit)
def test_band_is_monotone_in_score(a: float, b: float, s1: float, s2: float) -> None:
    t = Thresholds(upper=max(a, b), lower=min(a, b))
    order = {Band.DISCARDED: 0, Band.REVIEW: 1, Band.APPROVED: 2}
    lo, hi = sorted((s1, s2))
    assert order[band_of(lo, t)] <= order[band_of(hi, t)]


# --------------------------------------------------------------------------- route_input


def test_per_concept_override_wins_over_global(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task(
        concepts=["cat", "dog"],
        thresholds=Thresholds(upper=0.8, lower=0.4),
        concept_thresholds={"dog": Thresholds(upper=0.6, lower=0.55)},
    )
    cat = make_prediction(0, concept="cat", score=0.7)
    dog = make_prediction(1, concept="dog", score=0.7)
    routed = route_input(task, INPUT_ID, [cat, dog])
    assert routed.bands == {cat.id: Band.REVIEW, dog.id: Band.APPROVED}
    by_pred = {a.prediction_id: a for a in routed.annotations}
    assert by_pred[cat.id].status is AnnotationStatus.AWAITING_REVIEW
    assert by_pred[cat.id].thresholds == Thresholds(upper=0.8, lower=0.4)
    assert by_pred[dog.id].status is AnnotationStatus.SUCCESS
    assert by_pred[dog.id].thresholds == Thresholds(upper=0.6, lower=0.55)
    assert routed.review_prediction_ids == (cat.id,)


def test_per_concept_override_can_discard_what_global_would_review(
    make_task: MakeTask, make_prediction: MakePrediction
) -> None:
    task = make_task(concept_thresholds={"car": Thresholds(upper=0.95, lower=0.6)})
    car = make_prediction(0, concept="car", score=0.5)
    cat = make_prediction(1, concept="cat", score=0.5)
    routed = route_input(task, INPUT_ID, [car, cat])
    assert routed.bands == {car.id: Band.DISCARDED, cat.id: Band.REVIEW}
    assert [a.prediction_id for a in routed.annotations] == [cat.id]


def test_predictions_of_other_concepts_are_ignored(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task(concepts=["cat"])
    wanted = make_prediction(0, concept="cat", score=0.9)
    other_high = make_prediction(1, concept="dog", score=0.99)
    other_mid = make_prediction(2, concept="person", score=0.5)
    routed = route_input(task, INPUT_ID, [other_high, wanted, other_mid])
    assert set(routed.bands) == {wanted.id}
    assert [a.prediction_id for a in routed.annotations] == [wanted.id]
    assert routed.review_prediction_ids == ()
    assert not routed.needs_review


def test_approved_prediction_becomes_success_labeled_by_model(
    make_task: MakeTask, make_prediction: MakePrediction
) -> None:
    task = make_task()
    pred = make_prediction(0, concept="dog", score=0.85, geometry=Box(x=10, y=20, w=30, h=40))
    routed = route_input(task, INPUT_ID, [pred])
    assert routed.bands == {pred.id: Band.APPROVED}
    assert routed.review_prediction_ids == ()
    (ann,) = routed.annotations
    assert isinstance(ann, Annotation)
    assert ann.status is AnnotationStatus.SUCCESS
    assert ann.labeled_by.kind is LabelerKind.MODEL
    assert ann.labeled_by.id == MODEL_ID == task.model_id
    assert ann.labeled_by.version == MODEL_VERSION == task.model_version
    assert ann.labeled_by == model_labeler(task)
    assert ann.labeled_by.display == f"{MODEL_ID}@{MODEL_VERSION}"
    assert ann.score == 0.85
    assert ann.thresholds == task.thresholds
    assert ann.concept == "dog"
    assert ann.geometry == Box(x=10, y=20, w=30, h=40)
    assert ann.task_id == TASK_ID
    assert ann.input_id == INPUT_ID
    assert ann.prediction_id == pred.id
    assert ann.id == ids.annotation_id(TASK_ID, pred.id)


def test_review_prediction_awaits_review_and_is_listed(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task()
    pred = make_prediction(0, score=0.5, geometry=Polygon(points=[(0, 0), (4, 0), (0, 3)]))
    routed = route_input(task, INPUT_ID, [pred])
    (ann,) = routed.annotations
    assert ann.status is AnnotationStatus.AWAITING_REVIEW
    assert ann.labeled_by == model_labeler(task)
    assert ann.score == 0.5
    assert ann.thresholds == task.thresholds
    assert ann.geometry == pred.geometry
    assert routed.review_prediction_ids == (pred.id,)
    assert routed.needs_review


def test_discarded_prediction_has_band_but_no_annotation(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task()
    pred = make_prediction(0, score=0.1)
    routed = route_input(task, INPUT_ID, [pred])
    assert routed.annotations == ()
    assert routed.review_prediction_ids == ()
    assert routed.bands == {pred.id: Band.DISCARDED}
    assert routed.count(Band.DISCARDED) == 1


def test_mixed_input_counts_and_order(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task()
    preds = [
        make_prediction(0, score=0.95),
        make_prediction(1, score=0.45),
        make_prediction(2, score=0.05),
        make_prediction(3, score=0.8),
        make_prediction(4, score=0.4),
        make_prediction(5, score=0.39),
    ]
    routed = route_input(task, INPUT_ID, preds)
    assert routed.input_id == INPUT_ID
    assert routed.count(Band.APPROVED) == 2
    assert routed.count(Band.REVIEW) == 2
    assert routed.count(Band.DISCARDED) == 2
    assert [a.prediction_id for a in routed.annotations] == [preds[i].id for i in (0, 1, 3, 4)]
    assert routed.review_prediction_ids == (preds[1].id, preds[4].id)
    counts = band_counts([routed, routed])
    assert counts == {Band.APPROVED: 4, Band.REVIEW: 4, Band.DISCARDED: 4}


def test_band_counts_of_nothing_has_every_band() -> None:
    assert band_counts([]) == {Band.APPROVED: 0, Band.REVIEW: 0, Band.DISCARDED: 0}


def test_no_predictions_routes_to_nothing(make_task: MakeTask) -> None:
    routed = route_input(make_task(), INPUT_ID, [])
    assert routed.annotations == ()
    assert routed.bands == {}
    assert not routed.needs_review


def test_annotation_ids_are_deterministic(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    task = make_task()
    preds = [make_prediction(i, score=s) for i, s in enumerate((0.9, 0.5, 0.85))]
    first = route_input(task, INPUT_ID, preds)
    second = route_input(task, INPUT_ID, preds)
    first_ids = [a.id for a in first.annotations]
    assert first_ids == [a.id for a in second.annotations]
    assert first_ids == [ids.annotation_id(task.id, p.id) for p in preds]
    assert len(set(first_ids)) == 3
    assert all(i.startswith("an_") for i in first_ids)
    # Everything but the timestamps is identical on a retry.
    strip = {"created_at", "updated_at"}
    assert [a.model_dump(exclude=strip) for a in first.annotations] == [
        a.model_dump(exclude=strip) for a in second.annotations
    ]


def test_annotation_id_follows_the_prediction_id(make_task: MakeTask, make_prediction: MakePrediction) -> None:
    # Prediction ids already hash the task and input; the model's annotation is 1:1 with its
    # prediction, so its id is derived from the prediction id without hashing again.
    first = make_prediction(0, score=0.9)
    second = make_prediction(1, score=0.9)
    a = route_input(make_task(id="task_a"), INPUT_ID, [first, second]).annotations
    assert a[0].id != a[1].id
    assert a[0].id == ids.annotation_id("task_a", first.id)
    assert ids.prediction_id("task_a", INPUT_ID, 0) != ids.prediction_id("task_b", INPUT_ID, 0)


@given(
    a=unit,
    b=unit,
    scores=st.lists(unit, max_size=12),
)
def test_route_input_agrees_with_band_of(a: float, b: float, scores: list[float]) -> None:
    thresholds = Thresholds(upper=max(a, b), lower=min(a, b))
    task = build_task(thresholds=thresholds)
    preds = [build_prediction(i, score=s) for i, s in enumerate(scores)]
    routed = route_input(task, INPUT_ID, preds)
    expected = {p.id: band_of(p.score, thresholds) for p in preds}
    assert routed.bands == expected
    kept = [p.id for p in preds if expected[p.id] is not Band.DISCARDED]
    assert [ann.prediction_id for ann in routed.annotations] == kept
    assert list(routed.review_prediction_ids) == [p.id for p in preds if expected[p.id] is Band.REVIEW]
    for ann in routed.annotations:
        assert ann.prediction_id is not None
        approved = expected[ann.prediction_id] is Band.APPROVED
        assert ann.status is (AnnotationStatus.SUCCESS if approved else AnnotationStatus.AWAITING_REVIEW)


def test_with_auto_annotation_off_every_kept_prediction_goes_to_review() -> None:
    task = build_task(auto_annotate=False)
    sure, unsure, noise = (
        build_prediction(0, score=0.99),
        build_prediction(1, score=0.5),
        build_prediction(2, score=0.1),
    )
    routed = route_input(task, INPUT_ID, [sure, unsure, noise])
    assert routed.review_prediction_ids == (sure.id, unsure.id)
    assert [a.status for a in routed.annotations] == [AnnotationStatus.AWAITING_REVIEW] * 2
    assert routed.bands == {sure.id: Band.REVIEW, unsure.id: Band.REVIEW, noise.id: Band.DISCARDED}
    on = route_input(build_task(), INPUT_ID, [sure, unsure, noise])
    assert on.review_prediction_ids == (unsure.id,)
