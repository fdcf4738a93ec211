"""Contract of RecordStore: every adapter passes these."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

import pytest

from autolabel.domain import ids, partition
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.models import (
    AnnotationStatus,
    Box,
    Dataset,
    DatasetVersion,
    Decision,
    DecisionKind,
    Input,
    InputKind,
    InputState,
    LabelType,
    ModelKind,
    ModelSpec,
    Prediction,
    Reviewer,
    ReviewState,
    Task,
    Thresholds,
)
from autolabel.domain.review import apply_decision
from autolabel.domain.routing import route_input
from autolabel.ports import AnnotationQuery, InputResult, RecordStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_dataset(records: RecordStore, name: str = "photos", count: int = 6) -> tuple[Dataset, list[Input]]:
    dataset = records.put_dataset(Dataset(id=ids.dataset_id(name), name=name))
    inputs = [
        Input(
            id=ids.input_id(dataset.id, f"sha{i}"),
            dataset_id=dataset.id,
            kind=InputKind.IMAGE,
            blob_key=f"datasets/{dataset.id}/sha{i}.jpg",
            source=f"img{i}.jpg",
            sha256=f"sha{i}",
            size_bytes=100 + i,
        )
        for i in range(count)
    ]
    records.put_inputs(inputs)
    return dataset, inputs


def make_task(
    records: RecordStore, dataset: Dataset, name: str = "t1", reviewers: tuple[str, ...] = ("alice", "bob")
) -> Task:
    task = Task(
        id=ids.new_id("task"),
        name=name,
        dataset_id=dataset.id,
        model_id="det",
        model_version="1",
        concepts=["cat", "dog"],
        thresholds=Thresholds(upper=0.8, lower=0.4),
        reviewers=[Reviewer(name=r) for r in reviewers],
    )
    records.create_task(task)
    return task


def result(
    task: Task, input_id: str, scores: list[tuple[str, float]], geometries: list[Any] | None = None
) -> InputResult:
    """The routed result of predictions with these (concept, score)s; boxes unless ``geometries``."""
    predictions = tuple(
        Prediction(
            id=ids.prediction_id(task.id, input_id, i),
            task_id=task.id,
            input_id=input_id,
            concept=concept,
            score=score,
            geometry=geometries[i] if geometries else Box(x=1 + i, y=2, w=10, h=10),
            model_id=task.model_id,
            model_version=task.model_version,
        )
        for i, (concept, score) in enumerate(scores)
    )
    return InputResult(input_id, predictions, route_input(task, input_id, predictions))


# --------------------------------------------------------------------------- datasets


def test_datasets_and_inputs_are_idempotent(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    assert records.put_dataset(Dataset(id=dataset.id, name="photos")).id == dataset.id
    assert records.put_inputs(inputs) == 0
    assert records.get_dataset(dataset.id).name == "photos"
    assert [d.name for d in records.list_datasets()] == ["photos"]
    assert records.get_input(inputs[2].id) == inputs[2]
    with pytest.raises(NotFound):
        records.get_dataset("ds_missing")
    with pytest.raises(NotFound):
        records.get_input("in_missing")


def test_inputs_page_in_insertion_order(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=7)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = records.list_inputs(dataset.id, cursor=cursor, limit=3)
        seen.extend(i.id for i in page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [i.id for i in inputs]
    assert pages == 3


def test_get_inputs_returns_those_that_exist(records: RecordStore) -> None:
    _, inputs = make_dataset(records, count=3)
    found = records.get_inputs([inputs[2].id, "in_missing", inputs[0].id, inputs[2].id])
    assert found == {inputs[2].id: inputs[2], inputs[0].id: inputs[0]}
    assert records.get_inputs([]) == {}


def test_delete_input(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=2)
    records.delete_input(inputs[0].id)
    assert [i.id for i in records.list_inputs(dataset.id).items] == [inputs[1].id]
    with pytest.raises(NotFound):
        records.delete_input(inputs[0].id)


def test_models_registered(records: RecordStore) -> None:
    spec = ModelSpec(id="m", version="2", kind=ModelKind.DETECTOR, labels=["a"], label_type=LabelType.BOX)
    records.put_model(spec)
    records.put_model(spec)
    assert records.list_models() == [spec]


# --------------------------------------------------------------------------- tasks


def test_task_lifecycle(records: RecordStore) -> None:
    dataset, _ = make_dataset(records)
    task = make_task(records, dataset)
    assert records.get_task(task.id) == task
    assert records.find_task("t1") == task
    assert records.find_task("nope") is None
    with pytest.raises(Conflict):
        make_task(records, dataset, name="t1")
    renamed = task.model_copy(update={"name": "t1-renamed"})
    records.update_task(renamed)
    assert records.find_task("t1-renamed") == renamed
    assert [t.id for t in records.list_tasks()] == [task.id]
    records.delete_task(task.id)
    with pytest.raises(NotFound):
        records.get_task(task.id)
    with pytest.raises(NotFound):
        records.delete_task(task.id)


def test_a_task_s_records_are_deleted_in_bounded_steps_and_the_task_last(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task, kept = make_task(records, dataset), make_task(records, dataset, name="kept")
    for t in (task, kept):
        records.add_task_inputs(t.id, [i.id for i in inputs])
        records.commit_batch(t, [result(t, i.id, [("cat", 0.5), ("dog", 0.9)]) for i in inputs])
    stored = DatasetVersion(
        task_id=task.id, number=1, blob_key="v/1.json", sha256="0" * 64, annotations=1, inputs=1, created_by="r"
    )
    records.create_dataset_version(stored)
    steps = []
    while deleted := records.delete_task_records(task.id, 5):
        assert deleted <= 5
        steps.append(deleted)
        assert records.get_task(task.id).id == task.id  # the task stays until the very end
    # 6 inputs, 12 predictions (each with its annotation), 6 review items, 1 version at least
    assert len(steps) >= 4 and sum(steps) >= 6 + 6 + 1
    assert records.delete_task_records(task.id, 5) == 0  # again: nothing left, nothing fails
    assert records.task_inputs(task.id) == [] and records.predictions(task.id) == []
    assert records.review_items(task.id) == [] and records.dataset_versions(task.id) == []
    assert records.annotations(AnnotationQuery(task_id=task.id)).items == []
    records.delete_task(task.id)
    with pytest.raises(NotFound):
        records.get_task(task.id)
    assert len(records.review_items(kept.id)) == 6 and len(records.task_inputs(kept.id)) == 6  # another task's stay


def test_an_image_s_recorded_size_is_kept(records: RecordStore) -> None:
    dataset, (first, *_) = make_dataset(records, count=1)
    sized = first.model_copy(update={"id": ids.input_id(dataset.id, "sized"), "width": 640, "height": 480})
    records.put_inputs([sized])
    assert records.get_input(sized.id) == sized
    assert records.get_inputs([sized.id, first.id]) == {sized.id: sized, first.id: first}


def test_update_to_a_taken_name_conflicts(records: RecordStore) -> None:
    dataset, _ = make_dataset(records)
    make_task(records, dataset, name="a")
    b = make_task(records, dataset, name="b")
    with pytest.raises(Conflict):
        records.update_task(b.model_copy(update={"name": "a"}))


# --------------------------------------------------------------------------- runs


def test_task_inputs_are_registered_once_in_order(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    assert records.add_task_inputs(task.id, [i.id for i in inputs[:4]]) == 4
    assert records.add_task_inputs(task.id, [i.id for i in inputs]) == 2
    assert records.task_inputs(task.id) == [i.id for i in inputs]
    assert records.task_inputs(task.id, InputState.PENDING) == [i.id for i in inputs]


def test_commit_batch_routes_assigns_and_counts(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    batch = [
        result(task, inputs[0].id, [("cat", 0.9), ("dog", 0.5)]),  # approved + review
        result(task, inputs[1].id, [("cat", 0.1)]),  # discarded only
        result(task, inputs[2].id, [("dog", 0.45), ("dog", 0.41)]),  # two in review, one item
        InputResult(inputs[3].id, failure="corrupt or truncated image"),
    ]
    created = records.commit_batch(task, batch)
    assert [(i.input_id, i.sequence, i.reviewer) for i in created] == [
        (inputs[0].id, 0, partition.reviewer_for(0, task.reviewers)),
        (inputs[2].id, 1, partition.reviewer_for(1, task.reviewers)),
    ]
    assert created[1].prediction_ids == [
        ids.prediction_id(task.id, inputs[2].id, 0),
        ids.prediction_id(task.id, inputs[2].id, 1),
    ]
    counts = records.counts(task.id)
    assert (counts.inputs_total, counts.inputs_done, counts.inputs_failed) == (6, 3, 1)
    assert (counts.approved, counts.review, counts.discarded) == (1, 3, 1)
    assert counts.awaiting_review == 3
    assert (counts.review_items, counts.review_items_decided) == (2, 0)
    assert counts.labeled_by == {"det@1": 1}
    assert [f.reason for f in records.failed_inputs(task.id)] == ["corrupt or truncated image"]
    assert records.task_inputs(task.id, InputState.PENDING) == [inputs[4].id, inputs[5].id]
    assert len(records.predictions(task.id)) == 5
    assert len(records.predictions(task.id, inputs[2].id)) == 2

    # A retried batch (same results) changes nothing and creates no items.
    assert records.commit_batch(task, batch) == []
    assert records.counts(task.id) == counts

    # The next batch continues the review sequence.
    more = records.commit_batch(task, [result(task, inputs[4].id, [("cat", 0.6)])])
    assert [(i.sequence, i.reviewer) for i in more] == [(2, partition.reviewer_for(2, task.reviewers))]


def test_a_finished_commit_leaves_nothing_to_repair(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=2)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    created = records.commit_batch(task, [result(task, inputs[0].id, [("cat", 0.5)])])
    assert len(created) == 1
    assert records.repair_open_commits(task.id) == []
    assert [i.id for i in records.review_items(task.id)] == [created[0].id]


def test_predictions_and_annotations_come_back_exactly_as_recorded(records: RecordStore) -> None:
    # Every geometry kind, scores on the band edges, a per-concept threshold, a label a person
    # added: what is read back equals what routing produced, field for field.
    from autolabel.domain.models import (
        Annotation,
        Classification,
        Labeler,
        LabelerKind,
        Polygon,
        TextSpan,
    )

    dataset, inputs = make_dataset(records, count=2)
    task = make_task(records, dataset).model_copy(
        update={"concept_thresholds": {"dog": Thresholds(upper=0.95, lower=0.3)}}
    )
    records.update_task(task)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    input_id = inputs[0].id
    shapes = [
        ("cat", 0.8, Box(x=0.0, y=1.25, w=3.5, h=1e-3)),
        ("dog", 0.30000000000000004, Polygon(points=[(0.0, 0.0), (5.5, 0.0), (2.0, 7.125)])),
        ("cat", 0.4, Classification()),
        ("dog", 0.1, TextSpan(start=3, end=9)),
        ("cat", 1.0, Box(x=12.0, y=0.0, w=640.0, h=480.0)),
    ]
    batch = result(task, input_id, [(c, score) for c, score, _ in shapes], [g for _, _, g in shapes])
    predictions, routed = batch.predictions, batch.routed
    assert routed is not None
    records.commit_batch(task, [batch])
    by_id = sorted(predictions, key=lambda p: p.id)
    assert records.predictions(task.id) == by_id
    assert records.predictions(task.id, input_id) == by_id
    stored = records.annotations(AnnotationQuery(task_id=task.id)).items
    assert sorted(stored, key=lambda a: a.id) == sorted(routed.annotations, key=lambda a: a.id)
    assert [a.model_dump_json() for a in sorted(stored, key=lambda a: a.id)] == [
        a.model_dump_json() for a in sorted(routed.annotations, key=lambda a: a.id)
    ]
    assert {a.thresholds for a in stored if a.concept == "dog"} == {Thresholds(upper=0.95, lower=0.3)}

    by_hand = Annotation(
        id="an_by_hand",
        task_id=task.id,
        input_id=inputs[1].id,
        concept="dog",
        geometry=Polygon(points=[(1.0, 1.0), (2.0, 1.0), (2.0, 2.5)]),
        status=AnnotationStatus.SUCCESS,
        labeled_by=Labeler(kind=LabelerKind.REVIEWER, id="alice"),
        created_at=NOW,
        updated_at=NOW,
    )
    records.put_annotations([by_hand])
    assert records.annotations(AnnotationQuery(task_id=task.id, input_ids=[inputs[1].id])).items == [by_hand]
    assert records.predictions(task.id, inputs[1].id) == []


def test_commit_for_a_deleted_task_is_not_found(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [inputs[0].id])
    records.delete_task(task.id)
    with pytest.raises(NotFound):
        records.commit_batch(task, [result(task, inputs[0].id, [("cat", 0.5)])])


def test_review_items_by_reviewer_and_enqueue_flag(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    created = records.commit_batch(task, [result(task, i.id, [("cat", 0.5)]) for i in inputs])
    assert len(created) == 6
    alice = records.review_items(task.id, reviewer="alice")
    bob = records.review_items(task.id, reviewer="bob", state=ReviewState.PENDING)
    assert len(alice) == 3 and len(bob) == 3
    assert {i.id for i in alice}.isdisjoint({i.id for i in bob})
    assert not any(i.enqueued for i in records.review_items(task.id))
    records.mark_enqueued([i.id for i in alice])
    assert [i.enqueued for i in records.review_items(task.id, reviewer="alice")] == [True] * 3
    assert records.get_review_item(alice[0].id).enqueued
    records.set_lease(alice[0].id, "receipt-1")
    assert records.get_review_item(alice[0].id).lease_receipt == "receipt-1"


def test_review_items_come_in_bounded_pages(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=7)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    created = records.commit_batch(task, [result(task, i.id, [("cat", 0.5)]) for i in inputs])

    def every(reviewer: str | None) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            page = records.review_item_page(task.id, reviewer=reviewer, cursor=cursor, limit=3)
            pages.append([i.id for i in page.items])
            if page.cursor is None:
                return pages
            cursor = page.cursor

    assert [len(p) for p in every(None)] == [3, 3, 1]
    assert sorted(i for p in every(None) for i in p) == sorted(i.id for i in created)
    alice = every("alice")
    assert sorted(i for p in alice for i in p) == sorted(i.id for i in created if i.reviewer == "alice")
    assert records.review_item_page(task.id, reviewer="nobody").items == []


def test_counts_per_reviewer_follow_items_decisions_and_deletions(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=5)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    created = records.commit_batch(task, [result(task, i.id, [("cat", 0.5)]) for i in inputs])
    counts = records.counts(task.id)
    assert counts.reviewer_items == {"alice": 3, "bob": 2} and counts.reviewer_items_decided == {}
    assert counts.pending_for("alice") == 3 and counts.pending_for("carol") == 0
    first_of_alice = next(i for i in created if i.reviewer == "alice")
    _decide(records, task, first_of_alice.id, "alice", DecisionKind.ACCEPT)
    counts = records.counts(task.id)
    assert counts.reviewer_items_decided == {"alice": 1} and counts.pending_for("alice") == 2
    # Deleting an input takes its item out of the counts, with its decision.
    records.delete_input(first_of_alice.input_id)
    counts = records.counts(task.id)
    assert counts.reviewer_items == {"alice": 2, "bob": 2} and counts.reviewer_items_decided == {}
    assert counts.review_items == 4 and counts.review_items_decided == 0
    assert counts.inputs_total == 4 and counts.inputs_done == 4 and counts.awaiting_review == 4
    assert counts.labeled_by == {}


def test_peoples_annotations_move_the_counts(records: RecordStore) -> None:
    from autolabel.domain.models import Annotation, Classification, Labeler, LabelerKind

    dataset, inputs = make_dataset(records, count=2)
    task = make_task(records, dataset)
    added = [
        Annotation(
            id=f"an_manual{n}",
            task_id=task.id,
            input_id=i.id,
            concept="cat",
            geometry=Classification(),
            status=AnnotationStatus.SUCCESS,
            labeled_by=Labeler(kind=LabelerKind.REVIEWER, id="root"),
        )
        for n, i in enumerate(inputs)
    ]
    records.put_annotations(added)
    records.put_annotations(added)  # idempotent: counted once
    assert records.counts(task.id).labeled_by == {"root": 2}
    assert records.delete_annotations(task.id, added[:1]) == 1
    assert records.counts(task.id).labeled_by == {"root": 1}


def _decide(records: RecordStore, task: Task, item_id: str, reviewer: str, kind: DecisionKind) -> None:
    item = records.get_review_item(item_id)
    flagged = records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
    decided, annotations = apply_decision(task, item, flagged, Decision(kind=kind, reviewer=reviewer), NOW)
    records.record_decision(decided, annotations)


def test_decision_is_recorded_once(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [inputs[0].id])
    item = records.commit_batch(task, [result(task, inputs[0].id, [("cat", 0.9), ("dog", 0.5)])])[0]
    _decide(records, task, item.id, item.reviewer, DecisionKind.ACCEPT)
    stored = records.get_review_item(item.id)
    assert stored.state == ReviewState.DECIDED and stored.decided_by == item.reviewer
    counts = records.counts(task.id)
    assert counts.review_items_decided == 1 and counts.awaiting_review == 0
    assert counts.labeled_by == {"det@1": 1, item.reviewer: 1}
    # Deciding again from a stale copy of the item must conflict, not overwrite.
    stale = item
    flagged = records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
    decided, annotations = apply_decision(
        task, stale, flagged, Decision(kind=DecisionKind.REJECT, reviewer=item.reviewer), NOW
    )
    with pytest.raises(Conflict):
        records.record_decision(decided, annotations)
    assert records.counts(task.id).rejected == 0


def test_racing_decisions_one_wins(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset, reviewers=("alice",))
    records.add_task_inputs(task.id, [inputs[0].id])
    item = records.commit_batch(task, [result(task, inputs[0].id, [("cat", 0.5)])])[0]
    flagged = records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(kind: DecisionKind) -> None:
        decided, annotations = apply_decision(task, item, flagged, Decision(kind=kind, reviewer="alice"), NOW)
        barrier.wait()
        try:
            records.record_decision(decided, annotations)
            outcomes.append(kind.value)
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=attempt, args=(DecisionKind.ACCEPT if n % 2 else DecisionKind.REJECT,))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("conflict") == 7
    winner = next(o for o in outcomes if o != "conflict")
    statuses = {a.status for a in records.annotations(AnnotationQuery(task_id=task.id)).items}
    assert statuses == {AnnotationStatus.SUCCESS if winner == "accept" else AnnotationStatus.REJECTED}


class Filters(TypedDict, total=False):
    """AnnotationQuery's filters, as keyword arguments."""

    labelers: Sequence[str]
    statuses: Sequence[AnnotationStatus]
    concepts: Sequence[str]
    match: str


def test_annotation_filters_and_or_with_pages(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    records.commit_batch(task, [result(task, i.id, [("cat", 0.9), ("dog", 0.5)]) for i in inputs[:4]])
    item = records.review_items(task.id, reviewer="alice")[0]
    _decide(records, task, item.id, "alice", DecisionKind.REJECT)

    def query(**kwargs: Unpack[Filters]) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        cursor = None
        while True:
            page = records.annotations(AnnotationQuery(task_id=task.id, limit=2, cursor=cursor, **kwargs))
            found.extend((a.concept, a.status.value, a.labeled_by.display) for a in page.items)
            cursor = page.cursor
            if cursor is None:
                return sorted(found)

    assert len(query()) == 8
    assert query(labelers=["alice"]) == [("dog", "REJECTED", "alice")]
    assert query(statuses=[AnnotationStatus.AWAITING_REVIEW]) == [("dog", "AWAITING_REVIEW", "det@1")] * 3
    assert len(query(concepts=["cat"], statuses=[AnnotationStatus.SUCCESS])) == 4
    assert len(query(concepts=["cat"], labelers=["alice"], match="all")) == 0
    assert len(query(concepts=["cat"], labelers=["alice"], match="any")) == 5
    assert len(query(statuses=[AnnotationStatus.REJECTED, AnnotationStatus.AWAITING_REVIEW])) == 4


def test_replace_routing_keeps_decisions(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=3)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    results = [
        result(task, inputs[0].id, [("cat", 0.5)]),
        result(task, inputs[1].id, [("cat", 0.6)]),
        result(task, inputs[2].id, [("cat", 0.3)]),
    ]
    first = records.commit_batch(task, results)
    decided_item = first[0]
    _decide(records, task, decided_item.id, decided_item.reviewer, DecisionKind.ACCEPT)
    # Lower both thresholds: 0.5 and 0.6 become approved, 0.3 now needs review.
    stricter = task.model_copy(update={"thresholds": Thresholds(upper=0.55, lower=0.25)})
    routed = [route_input(stricter, r.input_id, list(r.predictions)) for r in results]
    created = records.replace_routing(stricter, routed)
    assert [i.input_id for i in created] == [inputs[2].id]
    assert created[0].sequence == 2
    items = {i.input_id: i for i in records.review_items(task.id)}
    assert set(items) == {inputs[0].id, inputs[2].id}  # input 1's pending item is gone
    assert items[inputs[0].id].state == ReviewState.DECIDED
    records.recount(task.id)
    counts = records.counts(task.id)
    assert counts.labeled_by == {"det@1": 1, decided_item.reviewer: 1}
    assert counts.awaiting_review == 1
    assert records.get_task(task.id).thresholds.upper == 0.55


# --------------------------------------------------------------------------- reviewer changes


def test_changed_reviewers_keep_old_items_and_balance_new_ones_from_their_first(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=9)
    task = make_task(records, dataset, reviewers=("alice", "bob"))
    records.add_task_inputs(task.id, [i.id for i in inputs])
    first = records.commit_batch(task, [result(task, i.id, [("cat", 0.5)]) for i in inputs[:3]])
    assert [i.reviewer for i in first] == ["alice", "bob", "alice"]

    changed = records.change_reviewers(task.id, [Reviewer(name="carol"), Reviewer(name="dave")])
    assert changed.reviewers_from_sequence == 3
    assert records.get_task(task.id) == changed
    # The runner still holds the old task value: the stored reviewers win, from the next item on.
    later = records.commit_batch(task, [result(task, i.id, [("cat", 0.5)]) for i in inputs[3:7]])
    assert [(i.sequence, i.reviewer) for i in later] == [(3, "carol"), (4, "dave"), (5, "carol"), (6, "dave")]
    assert [i.reviewer for i in records.review_items(task.id) if i.sequence < 3] == ["alice", "bob", "alice"]


def test_change_reviewers_refuses_duplicates_and_unknown_tasks(records: RecordStore) -> None:
    dataset, _ = make_dataset(records)
    task = make_task(records, dataset)
    with pytest.raises(ValueError):
        records.change_reviewers(task.id, [Reviewer(name="x"), Reviewer(name="x")])
    assert records.get_task(task.id) == task
    with pytest.raises(NotFound):
        records.change_reviewers("task_missing", [Reviewer(name="x")])


def test_rethreshold_keeps_reviewers_changed_meanwhile(records: RecordStore) -> None:
    dataset, inputs = make_dataset(records, count=2)
    task = make_task(records, dataset)
    records.add_task_inputs(task.id, [i.id for i in inputs])
    records.commit_batch(task, [result(task, inputs[0].id, [("cat", 0.3)])])
    records.change_reviewers(task.id, [Reviewer(name="zoe")])
    lowered = task.model_copy(update={"thresholds": Thresholds(upper=0.8, lower=0.2)})
    preds = records.predictions(task.id, inputs[0].id)
    created = records.replace_routing(lowered, [route_input(lowered, inputs[0].id, preds)])
    assert [i.reviewer for i in created] == ["zoe"]
    stored = records.get_task(task.id)
    assert stored.thresholds.lower == 0.2 and [r.name for r in stored.reviewers] == ["zoe"]


# --------------------------------------------------------------------------- people's annotations, versions


def test_put_and_delete_annotations_are_scoped_to_the_task(records: RecordStore) -> None:
    from autolabel.domain.models import Annotation, Classification, Labeler, LabelerKind

    dataset, inputs = make_dataset(records, count=1)
    task = make_task(records, dataset)
    other = make_task(records, dataset, name="t2")
    mine = Annotation(
        id="an_manual1",
        task_id=task.id,
        input_id=inputs[0].id,
        concept="cat",
        geometry=Classification(),
        status=AnnotationStatus.SUCCESS,
        labeled_by=Labeler(kind=LabelerKind.REVIEWER, id="root"),
    )
    records.put_annotations([mine])
    records.put_annotations([mine])
    assert records.annotations(AnnotationQuery(task_id=task.id, labelers=["root"])).items == [mine]
    assert records.delete_annotations(other.id, [mine]) == 0
    assert records.delete_annotations(task.id, [mine, mine.model_copy(update={"id": "an_missing"})]) == 1
    assert records.annotations(AnnotationQuery(task_id=task.id)).items == []


def test_dataset_version_numbers_are_claimed_once(records: RecordStore) -> None:
    from autolabel.domain.models import DatasetVersion

    dataset, _ = make_dataset(records)
    task = make_task(records, dataset)

    def version(number: int, by: str) -> DatasetVersion:
        return DatasetVersion(
            task_id=task.id, number=number, blob_key=f"versions/{task.id}/{number}.json",
            sha256="0" * 64, annotations=1, inputs=1, created_by=by,
        )  # fmt: skip

    records.create_dataset_version(version(1, "a"))
    with pytest.raises(Conflict):
        records.create_dataset_version(version(1, "b"))
    records.create_dataset_version(version(2, "b"))
    assert [(v.number, v.created_by) for v in records.dataset_versions(task.id)] == [(1, "a"), (2, "b")]
    records.delete_task(task.id)
    assert records.dataset_versions(task.id) == []
