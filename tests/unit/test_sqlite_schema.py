"""The workspace database's schema version: a workspace written by the previous version (labels
as JSON documents) is converted on open, exactly; layouts this version cannot read are refused
with a clear message and left untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autolabel.domain import ids
from autolabel.domain.errors import IncompatibleWorkspace
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Classification,
    Dataset,
    Decision,
    DecisionKind,
    Input,
    InputKind,
    Labeler,
    LabelerKind,
    Polygon,
    Prediction,
    Reviewer,
    Task,
    Thresholds,
    utcnow,
)
from autolabel.domain.review import apply_decision
from autolabel.domain.routing import route_input
from autolabel.embedded import labels
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.ports import AnnotationQuery, InputResult

# The labels table as the previous version created it (schema 0), verbatim.
PREVIOUS_LABELS = """
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL, input_id TEXT NOT NULL,
    band TEXT, prediction TEXT,
    annotation_id TEXT, status TEXT, labeler TEXT, labeler_kind TEXT, concept TEXT, annotation TEXT
);
CREATE INDEX labels_by_input ON labels(task_id, input_id);
CREATE INDEX labels_by_status ON labels(task_id, status, labeler) WHERE status IS NOT NULL;
"""


def open_store(path: Path) -> SQLiteRecordStore:
    return SQLiteRecordStore(SQLiteDatabase(path))


def recorded_workspace(path: Path) -> tuple[SQLiteRecordStore, Task]:
    """A task with approved, review, discarded, decided and hand-made labels of several shapes."""
    store = open_store(path)
    dataset = store.put_dataset(Dataset(id=ids.dataset_id("d"), name="d"))
    inputs = [
        Input(id=ids.input_id(dataset.id, str(n)), dataset_id=dataset.id, kind=InputKind.IMAGE,
              blob_key=f"k/{n}.jpg", sha256=str(n), size_bytes=1)
        for n in range(4)
    ]  # fmt: skip
    store.put_inputs(inputs)
    task = Task(
        id=ids.new_id("task"),
        name="t",
        dataset_id=dataset.id,
        model_id="det",
        model_version="2",
        concepts=["cat", "dog"],
        thresholds=Thresholds(upper=0.8, lower=0.4),
        concept_thresholds={"dog": Thresholds(upper=0.9, lower=0.2)},
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )
    store.create_task(task)
    store.add_task_inputs(task.id, [i.id for i in inputs])
    shapes = [Box(x=1.5, y=2, w=3, h=4), Polygon(points=[(0, 0), (4, 0), (2, 3.25)]), Classification()]
    results = []
    for n, item in enumerate(inputs[:3]):
        predictions = tuple(
            Prediction(id=ids.prediction_id(task.id, item.id, k), task_id=task.id, input_id=item.id,
                       concept=("cat", "dog")[k % 2], score=(0.95, 0.5, 0.1, 0.3)[(n + k) % 4],
                       geometry=shapes[(n + k) % 3], model_id="det", model_version="2")
            for k in range(4)
        )  # fmt: skip
        results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
    results.append(InputResult(inputs[3].id, failure="corrupt image"))
    items = store.commit_batch(task, results)
    review_item = items[0]
    flagged = store.annotations(AnnotationQuery(task_id=task.id, input_ids=[review_item.input_id])).items
    decided, decided_labels = apply_decision(
        task, review_item, flagged, Decision(kind=DecisionKind.REJECT, reviewer=review_item.reviewer), utcnow()
    )
    store.record_decision(decided, decided_labels)
    store.put_annotations(
        [
            Annotation(id="an_by_hand", task_id=task.id, input_id=inputs[2].id, concept="cat",
                       geometry=Box(x=0, y=0, w=5, h=5), status=AnnotationStatus.SUCCESS,
                       labeled_by=Labeler(kind=LabelerKind.REVIEWER, id="bob"))
        ]
    )  # fmt: skip
    return store, task


def snapshot(store: SQLiteRecordStore, task: Task) -> tuple[object, ...]:
    return (
        store.predictions(task.id),
        store.annotations(AnnotationQuery(task_id=task.id)).items,
        store.counts(task.id),
        store.review_items(task.id),
        store.failed_inputs(task.id),
    )


def rewrite_as_previous_version(path: Path, store: SQLiteRecordStore, task: Task) -> None:
    """Turn the labels table into the previous version's, holding the same records as it wrote them."""
    predictions = store.predictions(task.id)
    annotations = store.annotations(AnnotationQuery(task_id=task.id)).items
    bands = dict(sqlite3.connect(path).execute("SELECT id, band FROM labels WHERE band IS NOT NULL").fetchall())
    by_prediction = {a.prediction_id: a for a in annotations if a.prediction_id is not None}
    assert len(by_prediction) < len(predictions)  # some predictions carry no annotation

    def annotation_columns(a: Annotation | None) -> tuple[object, ...]:
        if a is None:
            return (None,) * 6
        return (a.id, a.status.value, a.labeled_by.display, a.labeled_by.kind.value, a.concept, a.model_dump_json())

    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("DROP TABLE labels;" + PREVIOUS_LABELS + "PRAGMA user_version = 0;")
    insert = "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    for p in predictions:
        annotation = annotation_columns(by_prediction.pop(p.id, None))
        db.execute(insert, (p.id, p.task_id, p.input_id, bands[p.id], p.model_dump_json(), *annotation))
    for a in annotations:
        if a.prediction_id is None:
            db.execute(insert, (a.id, a.task_id, a.input_id, None, None, *annotation_columns(a)))
    db.close()


def user_version(path: Path) -> int:
    return int(sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0])


def test_a_new_workspace_is_stamped_with_the_schema_version(tmp_path: Path) -> None:
    open_store(tmp_path / "w.sqlite3")
    assert user_version(tmp_path / "w.sqlite3") == labels.SCHEMA_VERSION


def test_previous_version_workspace_is_converted_exactly(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    store, task = recorded_workspace(path)
    before = snapshot(store, task)
    store.database.close()
    rewrite_as_previous_version(path, store, task)
    assert user_version(path) == 0

    converted = open_store(path)
    assert user_version(path) == labels.SCHEMA_VERSION
    assert snapshot(converted, task) == before
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(labels)")}
    assert "prediction" not in columns and "annotation" not in columns
    # Opening again converts nothing twice, and the converted workspace keeps working.
    assert snapshot(open_store(path), task) == before
    by_hand = [a for a in converted.annotations(AnnotationQuery(task_id=task.id)).items if a.id == "an_by_hand"]
    assert converted.delete_annotations(task.id, by_hand) == 1


def test_a_row_that_cannot_be_converted_leaves_the_workspace_untouched(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    store, task = recorded_workspace(path)
    store.database.close()
    rewrite_as_previous_version(path, store, task)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute('UPDATE labels SET prediction = \'{"id": "truncated\' WHERE rowid = 2')
    rows_before = db.execute("SELECT * FROM labels ORDER BY rowid").fetchall()
    db.close()
    with pytest.raises(IncompatibleWorkspace, match="cannot convert"):
        open_store(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT * FROM labels ORDER BY rowid").fetchall() == rows_before
    assert user_version(path) == 0


def test_a_workspace_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    open_store(path).database.close()
    sqlite3.connect(path, isolation_level=None).execute(f"PRAGMA user_version = {labels.SCHEMA_VERSION + 1}")
    with pytest.raises(IncompatibleWorkspace, match="newer autolabel"):
        open_store(path)


def test_an_early_development_workspace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    sqlite3.connect(path, isolation_level=None).executescript(
        "CREATE TABLE predictions (id TEXT PRIMARY KEY, task_id TEXT, input_id TEXT, band TEXT, body TEXT);"
        "CREATE TABLE annotations (id TEXT PRIMARY KEY, body TEXT);"
    )
    with pytest.raises(IncompatibleWorkspace, match="early development version"):
        open_store(path)
    assert user_version(path) == 0


def test_an_inputs_labels_are_found_through_the_key(tmp_path: Path) -> None:
    # Review reads an input's labels on every decision: a scan of the task's rows would grow
    # with the task, which is what keying labels by the input's seq must not cost.
    store = open_store(tmp_path / "w.sqlite3")
    db = store.database.read()
    for where, args in (
        (labels.OF_INPUT, ("t", "i", "i")),
        (labels.of_inputs(2), ("t", "i", "j", "i", "j")),
    ):
        plan = " ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM labels WHERE {where}", args))
        assert "SEARCH labels USING INDEX labels_key (task_id=? AND input_seq=?)" in plan, plan
