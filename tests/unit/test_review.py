"""Review decisions: what each decision does to the flagged annotations, and who may make it."""

from __future__ import annotations

from datetime import datetime

import pytest

from autolabel.domain import errors
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Classification,
    Decision,
    DecisionKind,
    Edit,
    Labeler,
    LabelerKind,
    Polygon,
    ReviewItem,
    ReviewState,
    Task,
    TextSpan,
)
from autolabel.domain.review import apply_decision, check_can_decide
from tests.unit.conftest import FIXED_NOW, build_annotation, build_prediction, build_review_item, build_task

LATER = datetime(2024, 5, 2, 9, 30, tzinfo=FIXED_NOW.tzinfo)
P0, P1, P2 = (build_prediction(i).id for i in range(3))
P_APPROVED = build_prediction(3).id


@pytest.fixture
def task() -> Task:
    return build_task()


@pytest.fixture
def item() -> ReviewItem:
    return build_review_item([P0, P1, P2], reviewer="alice")


@pytest.fixture
def flagged() -> list[Annotation]:
    return [
        build_annotation(P0, concept="cat", geometry=Box(x=0, y=0, w=10, h=10), score=0.5),
        build_annotation(P1, concept="dog", geometry=Box(x=5, y=5, w=20, h=20), score=0.6),
        build_annotation(P2, concept="car", geometry=Box(x=1, y=1, w=2, h=2), score=0.7),
    ]


@pytest.fixture
def approved() -> Annotation:
    """An annotation the model approved on the same input; a review must never touch it."""
    return build_annotation(
        P_APPROVED,
        status=AnnotationStatus.SUCCESS,
        score=0.95,
    )


def decide(
    task: Task, item: ReviewItem, flagged: list[Annotation], decision: Decision
) -> tuple[ReviewItem, list[Annotation]]:
    return apply_decision(task, item, flagged, decision, LATER)


def statuses(annotations: list[Annotation]) -> dict[str | None, AnnotationStatus]:
    return {a.prediction_id: a.status for a in annotations}


def assert_labeled_by_reviewer(annotations: list[Annotation], reviewer: str) -> None:
    for a in annotations:
        assert a.labeled_by == Labeler(kind=LabelerKind.REVIEWER, id=reviewer)
        assert a.labeled_by.kind is LabelerKind.REVIEWER
        assert a.labeled_by.version is None
        assert a.updated_at == LATER


S, R = AnnotationStatus.SUCCESS, AnnotationStatus.REJECTED


# --------------------------------------------------------------------------- accept / reject


def test_accept_all(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    _, out = decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="alice"))
    assert statuses(out) == {P0: S, P1: S, P2: S}
    assert_labeled_by_reviewer(out, "alice")


def test_accept_subset_rejects_the_rest(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(kind=DecisionKind.ACCEPT, reviewer="alice", prediction_ids=[P0, P2])
    _, out = decide(task, item, flagged, decision)
    assert statuses(out) == {P0: S, P1: R, P2: S}
    assert_labeled_by_reviewer(out, "alice")


def test_reject_all(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    _, out = decide(task, item, flagged, Decision(kind=DecisionKind.REJECT, reviewer="alice"))
    assert statuses(out) == {P0: R, P1: R, P2: R}
    assert_labeled_by_reviewer(out, "alice")


def test_reject_subset_accepts_the_rest(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(kind=DecisionKind.REJECT, reviewer="alice", prediction_ids=[P1])
    _, out = decide(task, item, flagged, decision)
    assert statuses(out) == {P0: S, P1: R, P2: S}
    assert_labeled_by_reviewer(out, "alice")


def test_accept_keeps_everything_but_status_provenance_and_time(
    task: Task, item: ReviewItem, flagged: list[Annotation]
) -> None:
    _, out = decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="alice"))
    keep = {"status", "labeled_by", "updated_at"}
    before = {a.prediction_id: a.model_dump(exclude=keep) for a in flagged}
    after = {a.prediction_id: a.model_dump(exclude=keep) for a in out}
    assert after == before
    assert all(a.created_at == FIXED_NOW for a in out)


def test_inputs_are_not_mutated(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    snapshot = [a.model_dump() for a in flagged]
    item_before = item.model_dump()
    decide(task, item, flagged, Decision(kind=DecisionKind.REJECT, reviewer="alice"))
    assert [a.model_dump() for a in flagged] == snapshot
    assert item.model_dump() == item_before


# --------------------------------------------------------------------------- edit


def test_edit_concept_and_box(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    new_box = Box(x=3, y=4, w=50, h=60)
    decision = Decision(
        kind=DecisionKind.EDIT,
        reviewer="alice",
        edits=[Edit(prediction_id=P0, concept="dog", geometry=new_box)],
    )
    decided_item, out = decide(task, item, flagged, decision)
    by_pred = {a.prediction_id: a for a in out}
    assert by_pred[P0].concept == "dog"
    assert by_pred[P0].geometry == new_box
    assert by_pred[P0].status is S
    # Untouched flagged predictions are accepted as they are.
    assert by_pred[P1].status is S
    assert by_pred[P1].concept == "dog"
    assert by_pred[P1].geometry == Box(x=5, y=5, w=20, h=20)
    assert by_pred[P2].status is S
    assert_labeled_by_reviewer(out, "alice")
    assert decided_item.decision is DecisionKind.EDIT


def test_edit_geometry_only_keeps_concept(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(
        kind=DecisionKind.EDIT,
        reviewer="alice",
        edits=[Edit(prediction_id=P2, geometry=Box(x=0, y=0, w=1, h=1))],
    )
    _, out = decide(task, item, flagged, decision)
    edited = next(a for a in out if a.prediction_id == P2)
    assert edited.concept == "car"
    assert edited.geometry == Box(x=0, y=0, w=1, h=1)
    assert edited.status is S


def test_edit_concept_only_keeps_geometry(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(kind=DecisionKind.EDIT, reviewer="alice", edits=[Edit(prediction_id=P2, concept="cat")])
    _, out = decide(task, item, flagged, decision)
    edited = next(a for a in out if a.prediction_id == P2)
    assert edited.concept == "cat"
    assert edited.geometry == Box(x=1, y=1, w=2, h=2)


def test_edit_with_listed_ids_rejects_those(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(
        kind=DecisionKind.EDIT,
        reviewer="alice",
        prediction_ids=[P1],
        edits=[Edit(prediction_id=P0, concept="car")],
    )
    _, out = decide(task, item, flagged, decision)
    assert statuses(out) == {P0: S, P1: R, P2: S}


def test_edit_polygon_keeps_polygon(task: Task, flagged: list[Annotation]) -> None:
    pid = build_prediction(7).id
    poly = build_annotation(pid, geometry=Polygon(points=[(0, 0), (1, 0), (0, 1)]))
    item = build_review_item([pid])
    new = Polygon(points=[(0, 0), (5, 0), (5, 5), (0, 5)])
    decision = Decision(kind=DecisionKind.EDIT, reviewer="alice", edits=[Edit(prediction_id=pid, geometry=new)])
    _, out = decide(task, item, [poly], decision)
    assert out[0].geometry == new


def test_edit_to_concept_not_in_task_rejected(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(kind=DecisionKind.EDIT, reviewer="alice", edits=[Edit(prediction_id=P0, concept="giraffe")])
    with pytest.raises(errors.ValidationError, match="giraffe"):
        decide(task, item, flagged, decision)


def test_edit_with_box_on_a_classification_rejected(task: Task) -> None:
    pid = build_prediction(9).id
    cls_ann = build_annotation(pid, geometry=Classification())
    item = build_review_item([pid])
    decision = Decision(
        kind=DecisionKind.EDIT,
        reviewer="alice",
        edits=[Edit(prediction_id=pid, geometry=Box(x=0, y=0, w=1, h=1))],
    )
    with pytest.raises(errors.ValidationError, match="classification"):
        decide(task, item, [cls_ann], decision)


def test_edit_text_span_into_box_rejected(task: Task) -> None:
    pid = build_prediction(10).id
    ann = build_annotation(pid, geometry=TextSpan(start=0, end=4))
    item = build_review_item([pid])
    decision = Decision(
        kind=DecisionKind.EDIT,
        reviewer="alice",
        edits=[Edit(prediction_id=pid, geometry=Box(x=0, y=0, w=1, h=1))],
    )
    with pytest.raises(errors.ValidationError):
        decide(task, item, [ann], decision)


def test_edit_without_edits_rejected(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    with pytest.raises(errors.ValidationError):
        decide(task, item, flagged, Decision(kind=DecisionKind.EDIT, reviewer="alice"))


# --------------------------------------------------------------------------- unknown predictions


@pytest.mark.parametrize("kind", [DecisionKind.ACCEPT, DecisionKind.REJECT])
def test_prediction_id_not_flagged_rejected(
    task: Task, item: ReviewItem, flagged: list[Annotation], kind: DecisionKind
) -> None:
    decision = Decision(kind=kind, reviewer="alice", prediction_ids=[P0, "pr_nope"])
    with pytest.raises(errors.ValidationError, match="pr_nope"):
        decide(task, item, flagged, decision)


def test_edit_of_prediction_not_flagged_rejected(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decision = Decision(kind=DecisionKind.EDIT, reviewer="alice", edits=[Edit(prediction_id="pr_nope", concept="cat")])
    with pytest.raises(errors.ValidationError, match="pr_nope"):
        decide(task, item, flagged, decision)


def test_approved_prediction_of_same_input_cannot_be_named(
    task: Task, item: ReviewItem, flagged: list[Annotation], approved: Annotation
) -> None:
    # It is on the input but not in the review item, so a decision may not touch it.
    decision = Decision(kind=DecisionKind.REJECT, reviewer="alice", prediction_ids=[P_APPROVED])
    with pytest.raises(errors.ValidationError):
        decide(task, item, [*flagged, approved], decision)


# --------------------------------------------------------------------------- who may decide


def test_reviewer_not_on_task_forbidden(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    with pytest.raises(errors.Forbidden):
        decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="mallory"))


def test_other_reviewers_item_forbidden(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    # bob is a reviewer of the task, but the item is in alice's partition.
    with pytest.raises(errors.Forbidden):
        decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="bob"))


def test_already_decided_item_conflicts(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    decided_item, _ = decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="alice"))
    with pytest.raises(errors.Conflict) as info:
        decide(task, decided_item, flagged, Decision(kind=DecisionKind.REJECT, reviewer="alice"))
    assert info.value.details["decided_by"] == "alice"
    assert info.value.details["decision"] == DecisionKind.ACCEPT


def test_check_can_decide_order(task: Task) -> None:
    # A stranger is Forbidden even on a decided item: authorisation comes before state.
    decided = build_review_item([P0], state=ReviewState.DECIDED, decision=DecisionKind.ACCEPT, decided_by="alice")
    with pytest.raises(errors.Forbidden):
        check_can_decide(task, decided, "mallory")
    with pytest.raises(errors.Conflict):
        check_can_decide(task, decided, "alice")
    check_can_decide(task, build_review_item([P0]), "alice")


# --------------------------------------------------------------------------- the decided item


@pytest.mark.parametrize("kind", [DecisionKind.ACCEPT, DecisionKind.REJECT])
def test_returned_item_is_decided(task: Task, item: ReviewItem, flagged: list[Annotation], kind: DecisionKind) -> None:
    decided_item, _ = decide(task, item, flagged, Decision(kind=kind, reviewer="alice"))
    assert decided_item.state is ReviewState.DECIDED
    assert decided_item.decision is kind
    assert decided_item.decided_by == "alice"
    assert decided_item.decided_at == LATER
    assert decided_item.id == item.id
    assert decided_item.sequence == item.sequence
    assert decided_item.reviewer == item.reviewer
    assert decided_item.prediction_ids == item.prediction_ids
    assert item.state is ReviewState.PENDING


def test_approved_annotations_are_not_changed_or_returned(
    task: Task, item: ReviewItem, flagged: list[Annotation], approved: Annotation
) -> None:
    decision = Decision(kind=DecisionKind.REJECT, reviewer="alice")
    _, out = decide(task, item, [approved, *flagged], decision)
    assert P_APPROVED not in {a.prediction_id for a in out}
    assert len(out) == 3
    assert statuses(out) == {P0: R, P1: R, P2: R}
    assert approved.status is S
    assert approved.labeled_by.kind is LabelerKind.MODEL


def test_flagged_annotations_of_another_item_are_ignored(
    task: Task, item: ReviewItem, flagged: list[Annotation]
) -> None:
    other_pid = build_prediction(0, input_id="in_2").id
    stray = build_annotation(other_pid, input_id="in_2")
    _, out = decide(task, item, [*flagged, stray], Decision(kind=DecisionKind.ACCEPT, reviewer="alice"))
    assert other_pid not in {a.prediction_id for a in out}
    assert len(out) == 3


def test_decided_annotations_keep_ids(task: Task, item: ReviewItem, flagged: list[Annotation]) -> None:
    _, out = decide(task, item, flagged, Decision(kind=DecisionKind.ACCEPT, reviewer="alice"))
    assert sorted(a.id for a in out) == sorted(a.id for a in flagged)
