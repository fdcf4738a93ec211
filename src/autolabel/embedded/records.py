"""Records in SQLite: each entity is stored as its JSON document plus the columns it is queried
by, except predictions and annotations, which are columns only (see ``labels``). Each batch,
decision and rethreshold is one transaction.

Why one module of ~600 lines: it is one class implementing the RecordStore port's 35 methods
over the one schema at its top, and each method is a statement or two of SQL against it; the
DynamoDB store needed a package (keys, codecs, a retrying client, a two-step commit), SQLite
needs none of that. The labels table's row codec, the part with its own reasons, is ``labels``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from autolabel.domain import partition
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.ids import review_item_id
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Dataset,
    DatasetVersion,
    FailedInput,
    Input,
    InputState,
    LabelerKind,
    ModelSpec,
    Prediction,
    Reviewer,
    ReviewItem,
    ReviewState,
    Task,
    utcnow,
)
from autolabel.domain.progress import TaskCounts
from autolabel.domain.routing import RoutedInput
from autolabel.embedded import labels
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.ports import AnnotationQuery, InputResult, Page, RecordStore, sequence_cursor

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE, dataset_id TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inputs_by_dataset ON inputs(dataset_id, seq);
CREATE TABLE IF NOT EXISTS models (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
    review_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS task_inputs (
    task_id TEXT NOT NULL, input_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    state TEXT NOT NULL, failure TEXT,
    PRIMARY KEY (task_id, input_id)
);
CREATE INDEX IF NOT EXISTS task_inputs_by_state ON task_inputs(task_id, state, ordinal);
CREATE TABLE IF NOT EXISTS review_items (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL, input_id TEXT NOT NULL,
    reviewer TEXT NOT NULL, sequence INTEGER NOT NULL, state TEXT NOT NULL,
    enqueued INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL,
    UNIQUE (task_id, sequence)
);
CREATE INDEX IF NOT EXISTS review_items_by_reviewer ON review_items(task_id, reviewer, state, sequence);
CREATE TABLE IF NOT EXISTS dataset_versions (
    task_id TEXT NOT NULL, number INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (task_id, number)
);
"""


def _dump(model: Any) -> str:
    return str(model.model_dump_json())


class SQLiteRecordStore(RecordStore):
    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database
        # Before anything else touches the file: a layout this version cannot read is refused
        # as it is, and the previous version's is converted.
        version = database.read().execute("PRAGMA user_version").fetchone()[0]
        if version != labels.SCHEMA_VERSION:
            with database.write() as db:
                labels.upgrade(db, database.path)
        database.connection().executescript(SCHEMA)

    # ------------------------------------------------------------------ datasets and inputs

    def put_dataset(self, dataset: Dataset) -> Dataset:
        with self.database.write() as db:
            row = db.execute("SELECT body FROM datasets WHERE id = ?", (dataset.id,)).fetchone()
            if row is not None:
                return Dataset.model_validate_json(row[0])
            try:
                db.execute(
                    "INSERT INTO datasets(id, name, body) VALUES (?, ?, ?)",
                    (dataset.id, dataset.name, _dump(dataset)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a dataset named '{dataset.name}' already exists") from None
        return dataset

    def get_dataset(self, dataset_id: str) -> Dataset:
        row = self.database.read().execute("SELECT body FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        if row is None:
            raise NotFound(f"no dataset {dataset_id}")
        return Dataset.model_validate_json(row[0])

    def list_datasets(self) -> list[Dataset]:
        rows = self.database.read().execute("SELECT body FROM datasets ORDER BY name").fetchall()
        return [Dataset.model_validate_json(r[0]) for r in rows]

    def put_inputs(self, inputs: Sequence[Input]) -> int:
        with self.database.write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO inputs(id, dataset_id, body) VALUES (?, ?, ?)",
                [(i.id, i.dataset_id, _dump(i)) for i in inputs],
            )
            return db.total_changes - before

    def get_input(self, input_id: str) -> Input:
        row = self.database.read().execute("SELECT body FROM inputs WHERE id = ?", (input_id,)).fetchone()
        if row is None:
            raise NotFound(f"no input {input_id}")
        return Input.model_validate_json(row[0])

    def get_inputs(self, input_ids: Sequence[str]) -> dict[str, Input]:
        wanted = list(dict.fromkeys(input_ids))
        found: dict[str, Input] = {}
        db = self.database.read()
        for start in range(0, len(wanted), 500):  # below SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            rows = db.execute(
                f"SELECT id, body FROM inputs WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk,
            )
            found.update((row[0], Input.model_validate_json(row[1])) for row in rows)
        return found

    def list_inputs(self, dataset_id: str, cursor: str | None = None, limit: int = 1000) -> Page[Input]:
        after = sequence_cursor(cursor)
        rows = (
            self.database.read()
            .execute(
                "SELECT seq, body FROM inputs WHERE dataset_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (dataset_id, after, limit + 1),
            )
            .fetchall()
        )
        items = [Input.model_validate_json(r["body"]) for r in rows[:limit]]
        next_cursor = str(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return Page(items, next_cursor)

    def delete_input(self, input_id: str) -> None:
        with self.database.write() as db:
            if db.execute("DELETE FROM inputs WHERE id = ?", (input_id,)).rowcount == 0:
                raise NotFound(f"no input {input_id}")
            for table in ("task_inputs", "labels", "review_items"):
                db.execute(f"DELETE FROM {table} WHERE input_id = ?", (input_id,))  # noqa: S608

    # ------------------------------------------------------------------ models

    def put_model(self, spec: ModelSpec) -> None:
        with self.database.write() as db:
            db.execute("INSERT OR REPLACE INTO models(id, body) VALUES (?, ?)", (spec.id, _dump(spec)))

    def list_models(self) -> list[ModelSpec]:
        rows = self.database.read().execute("SELECT body FROM models ORDER BY id").fetchall()
        return [ModelSpec.model_validate_json(r[0]) for r in rows]

    # ------------------------------------------------------------------ tasks

    def create_task(self, task: Task) -> None:
        with self.database.write() as db:
            try:
                db.execute("INSERT INTO tasks(id, name, body) VALUES (?, ?, ?)", (task.id, task.name, _dump(task)))
            except sqlite3.IntegrityError:
                raise Conflict(f"a task named '{task.name}' already exists") from None

    def get_task(self, task_id: str) -> Task:
        row = self.database.read().execute("SELECT body FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"no task {task_id}")
        return Task.model_validate_json(row[0])

    def find_task(self, name: str) -> Task | None:
        row = self.database.read().execute("SELECT body FROM tasks WHERE name = ?", (name,)).fetchone()
        return None if row is None else Task.model_validate_json(row[0])

    def list_tasks(self) -> list[Task]:
        rows = self.database.read().execute("SELECT body FROM tasks ORDER BY name").fetchall()
        return [Task.model_validate_json(r[0]) for r in rows]

    def update_task(self, task: Task) -> None:
        with self.database.write() as db:
            try:
                changed = db.execute(
                    "UPDATE tasks SET name = ?, body = ? WHERE id = ?", (task.name, _dump(task), task.id)
                ).rowcount
            except sqlite3.IntegrityError:
                raise Conflict(f"a task named '{task.name}' already exists") from None
            if changed == 0:
                raise NotFound(f"no task {task.id}")

    def delete_task(self, task_id: str) -> None:
        with self.database.write() as db:
            if db.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount == 0:
                raise NotFound(f"no task {task_id}")
            for table in ("task_inputs", "labels", "review_items", "dataset_versions"):
                db.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))  # noqa: S608

    def delete_task_records(self, task_id: str, limit: int) -> int:
        left = limit
        with self.database.write() as db:
            for table in ("labels", "review_items", "task_inputs", "dataset_versions"):
                if left <= 0:
                    break
                left -= db.execute(
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE task_id = ? LIMIT ?)",  # noqa: S608
                    (task_id, left),
                ).rowcount
        return limit - left

    def change_reviewers(self, task_id: str, reviewers: Sequence[Reviewer]) -> Task:
        with self.database.write() as db:
            next_seq, task = self._stored_task(db, task_id)
            task = task.model_copy(
                update={"reviewers": list(reviewers), "reviewers_from_sequence": next_seq, "updated_at": utcnow()}
            )
            Task.model_validate(task.model_dump())  # the task's own rules (unique names) still hold
            db.execute("UPDATE tasks SET body = ? WHERE id = ?", (_dump(task), task_id))
        return task

    # ------------------------------------------------------------------ runs

    def add_task_inputs(self, task_id: str, input_ids: Sequence[str]) -> int:
        with self.database.write() as db:
            self._require_task(db, task_id)
            base = db.execute(
                "SELECT COALESCE(MAX(ordinal), -1) FROM task_inputs WHERE task_id = ?", (task_id,)
            ).fetchone()[0]
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO task_inputs(task_id, input_id, ordinal, state) VALUES (?, ?, ?, ?)",
                [(task_id, iid, base + 1 + n, InputState.PENDING.value) for n, iid in enumerate(input_ids)],
            )
            return db.total_changes - before

    def task_inputs(self, task_id: str, state: InputState | None = None) -> list[str]:
        if state is None:
            rows = self.database.read().execute(
                "SELECT input_id FROM task_inputs WHERE task_id = ? ORDER BY ordinal", (task_id,)
            )
        else:
            rows = self.database.read().execute(
                "SELECT input_id FROM task_inputs WHERE task_id = ? AND state = ? ORDER BY ordinal",
                (task_id, state.value),
            )
        return [r[0] for r in rows.fetchall()]

    def commit_batch(self, task: Task, results: Sequence[InputResult]) -> list[ReviewItem]:
        with self.database.write() as db:
            next_seq, assigner = self._stored_task(db, task.id)
            wanted = [r.input_id for r in results]
            # Look up by primary key (task_id, input_id): filtering on state first would walk
            # every pending input of the task for each batch.
            pending = {
                row[0]: row[2]
                for row in db.execute(
                    f"SELECT t.input_id, t.state, COALESCE(i.seq, -1) FROM task_inputs t"  # noqa: S608
                    f" LEFT JOIN inputs i ON i.id = t.input_id"
                    f" WHERE t.task_id = ? AND t.input_id IN ({','.join('?' * len(wanted))})",
                    (task.id, *wanted),
                )
                if row[1] == InputState.PENDING.value
            }
            annotated: list[labels.Row] = []
            bare: list[labels.Row] = []
            recorded: list[RoutedInput] = []
            states: list[tuple[str, str | None, str]] = []
            for result in results:
                if result.input_id not in pending:
                    continue  # not part of the run, or already recorded by an earlier attempt
                input_seq = pending.pop(result.input_id)
                if result.failure is not None or result.routed is None:
                    states.append((InputState.FAILED.value, result.failure or "no result", result.input_id))
                    continue
                labels.routed_rows(result.predictions, result.routed, input_seq, annotated, bare)
                recorded.append(result.routed)
                states.append((InputState.DONE.value, None, result.input_id))
            items = partition.number_review_items(assigner, recorded, next_seq)
            next_seq += len(items)
            # One statement per table per batch: row-by-row inserts cost more than routing.
            db.executemany(labels.INSERT_ROW, annotated)
            db.executemany(labels.INSERT_PREDICTION_ROW, bare)
            self._insert_review_items(db, items)
            db.executemany(
                "UPDATE task_inputs SET state = ?, failure = ? WHERE task_id = ? AND input_id = ?",
                [(state, failure, task.id, input_id) for state, failure, input_id in states],
            )
            db.execute("UPDATE tasks SET review_seq = ? WHERE id = ?", (next_seq, task.id))
            created = items
        return created

    def _require_task(self, db: sqlite3.Connection, task_id: str) -> int:
        row = db.execute("SELECT review_seq FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"no task {task_id} (was it deleted?)")
        return int(row[0])

    @staticmethod
    def _stored_task(db: sqlite3.Connection, task_id: str) -> tuple[int, Task]:
        """The task as stored and its next review sequence number, in one read."""
        row = db.execute("SELECT review_seq, body FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"no task {task_id} (was it deleted?)")
        return int(row[0]), Task.model_validate_json(row[1])

    @staticmethod
    def _write_annotations(db: sqlite3.Connection, annotations: Iterable[Annotation]) -> None:
        """Set the annotation of existing prediction rows, or add rows for manual annotations."""
        for annotation in annotations:
            columns = labels.annotation_columns(annotation)
            if annotation.prediction_id is not None:
                changed = db.execute(
                    f"{labels.SET_ANNOTATION} WHERE {labels.OF_INPUT} AND id = ? AND band IS NOT NULL",
                    (*columns, annotation.task_id, annotation.input_id, annotation.input_id, annotation.prediction_id),
                ).rowcount
                if changed:
                    continue
            db.execute(
                labels.INSERT_ANNOTATION_ROW,
                (annotation.id, annotation.task_id, annotation.input_id, annotation.input_id, *columns),
            )

    @staticmethod
    def _insert_review_items(db: sqlite3.Connection, items: Iterable[ReviewItem]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO review_items(id, task_id, input_id, reviewer, sequence, state, enqueued, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (i.id, i.task_id, i.input_id, i.reviewer, i.sequence, i.state.value, int(i.enqueued), _dump(i))
                for i in items
            ],
        )

    def repair_open_commits(self, task_id: str) -> list[ReviewItem]:
        return []  # a batch is one transaction: it is recorded whole or not at all

    def mark_enqueued(self, item_ids: Sequence[str]) -> None:
        with self.database.write() as db:
            db.executemany(
                "UPDATE review_items SET enqueued = 1, body = json_set(body, '$.enqueued', json('true')) WHERE id = ?",
                [(item_id,) for item_id in item_ids],
            )

    def counts(self, task_id: str) -> TaskCounts:
        db = self.database.read()
        states = dict(
            db.execute(
                "SELECT state, COUNT(*) FROM task_inputs WHERE task_id = ? GROUP BY state", (task_id,)
            ).fetchall()
        )
        bands = dict(
            db.execute(
                "SELECT band, COUNT(*) FROM labels WHERE task_id = ? AND band IS NOT NULL GROUP BY band", (task_id,)
            ).fetchall()
        )
        statuses = dict(
            db.execute(
                "SELECT status, COUNT(*) FROM labels WHERE task_id = ? AND status IS NOT NULL GROUP BY status",
                (task_id,),
            ).fetchall()
        )
        labelers = dict(
            db.execute(
                "SELECT labeler, COUNT(*) FROM labels WHERE task_id = ? AND status = ? GROUP BY labeler",
                (task_id, AnnotationStatus.SUCCESS.value),
            ).fetchall()
        )
        per_reviewer = db.execute(
            "SELECT reviewer, state, COUNT(*) FROM review_items WHERE task_id = ? GROUP BY reviewer, state", (task_id,)
        ).fetchall()
        items: dict[str, int] = {}
        reviewer_items: dict[str, int] = {}
        reviewer_decided: dict[str, int] = {}
        for reviewer, state, count in per_reviewer:
            items[state] = items.get(state, 0) + count
            reviewer_items[reviewer] = reviewer_items.get(reviewer, 0) + count
            if state == ReviewState.DECIDED.value:
                reviewer_decided[reviewer] = count
        return TaskCounts(
            inputs_total=sum(states.values()),
            inputs_done=states.get(InputState.DONE.value, 0),
            inputs_failed=states.get(InputState.FAILED.value, 0),
            approved=bands.get(Band.APPROVED.value, 0),
            review=bands.get(Band.REVIEW.value, 0),
            discarded=bands.get(Band.DISCARDED.value, 0),
            awaiting_review=statuses.get(AnnotationStatus.AWAITING_REVIEW.value, 0),
            rejected=statuses.get(AnnotationStatus.REJECTED.value, 0),
            review_items=sum(items.values()),
            review_items_decided=items.get(ReviewState.DECIDED.value, 0),
            labeled_by=labelers,
            reviewer_items=reviewer_items,
            reviewer_items_decided=reviewer_decided,
        )

    # ------------------------------------------------------------------ results

    def predictions(self, task_id: str, input_id: str | None = None) -> list[Prediction]:
        columns = f"id, task_id, input_id, {labels.PREDICTION_COLUMNS}"
        if input_id is None:
            rows = self.database.read().execute(
                f"SELECT {columns} FROM labels WHERE task_id = ? AND band IS NOT NULL ORDER BY input_id, id",  # noqa: S608
                (task_id,),
            )
        else:
            rows = self.database.read().execute(
                f"SELECT {columns} FROM labels"  # noqa: S608
                f" WHERE {labels.OF_INPUT} AND band IS NOT NULL ORDER BY id",
                (task_id, input_id, input_id),
            )
        return [labels.prediction_from(r) for r in rows.fetchall()]

    def annotations(self, query: AnnotationQuery) -> Page[Annotation]:
        scope: list[str] = []
        scope_args: list[Any] = []
        if query.task_id is not None and query.input_ids:  # through the key (a reviewer's item)
            scope.append(labels.of_inputs(len(query.input_ids)))
            scope_args.extend((query.task_id, *query.input_ids, *query.input_ids))
        elif query.task_id is not None:
            scope.append("task_id = ?")
            scope_args.append(query.task_id)
        elif query.input_ids:
            scope.append(f"input_id IN ({','.join('?' * len(query.input_ids))})")
            scope_args.extend(query.input_ids)
        filters: list[str] = []
        filter_args: list[Any] = []
        for column, values in (
            ("labeler", list(query.labelers)),
            ("status", [str(s) for s in query.statuses]),
            ("concept", list(query.concepts)),
        ):
            if values:
                filters.append(f"{column} IN ({','.join('?' * len(values))})")
                filter_args.extend(values)
        clauses = list(scope)
        args = list(scope_args)
        if filters:
            joiner = " OR " if query.match == "any" else " AND "
            clauses.append("(" + joiner.join(filters) + ")")
            args.extend(filter_args)
        after = query.cursor or ""
        clauses.append("status IS NOT NULL AND annotation_id > ?")
        args.append(after)
        sql = (
            f"SELECT task_id, input_id, {labels.ANNOTATION_COLUMNS} FROM labels"  # noqa: S608
            f" WHERE {' AND '.join(clauses)} ORDER BY annotation_id LIMIT ?"
        )
        rows = self.database.read().execute(sql, (*args, query.limit + 1)).fetchall()
        items = [labels.annotation_from(r) for r in rows[: query.limit]]
        cursor = rows[query.limit - 1]["annotation_id"] if len(rows) > query.limit else None
        return Page(items, cursor)

    def put_annotations(self, annotations: Sequence[Annotation]) -> None:
        with self.database.write() as db:
            self._write_annotations(db, annotations)

    def delete_annotations(self, task_id: str, annotations: Sequence[Annotation]) -> int:
        annotation_ids = [a.id for a in annotations]
        with self.database.write() as db:
            before = db.total_changes
            # A person's annotation is its own row; a model's annotation shares its prediction's
            # row, which stays (the prediction and its score are kept, only the label goes).
            db.executemany(
                "DELETE FROM labels WHERE task_id = ? AND annotation_id = ? AND band IS NULL",
                [(task_id, a) for a in annotation_ids],
            )
            db.executemany(
                f"{labels.CLEAR_ANNOTATION} WHERE task_id = ? AND annotation_id = ?",
                [(task_id, a) for a in annotation_ids],
            )
            return db.total_changes - before

    def failed_inputs(self, task_id: str) -> list[FailedInput]:
        rows = (
            self.database.read()
            .execute(
                "SELECT input_id, failure FROM task_inputs WHERE task_id = ? AND state = ? ORDER BY ordinal",
                (task_id, InputState.FAILED.value),
            )
            .fetchall()
        )
        return [FailedInput(task_id=task_id, input_id=r[0], reason=r[1] or "") for r in rows]

    def get_review_item(self, item_id: str) -> ReviewItem:
        row = self.database.read().execute("SELECT body FROM review_items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise NotFound(f"no review item {item_id}")
        return ReviewItem.model_validate_json(row[0])

    def review_items(
        self, task_id: str, reviewer: str | None = None, state: ReviewState | None = None
    ) -> list[ReviewItem]:
        clauses, args = ["task_id = ?"], [task_id]
        if reviewer is not None:
            clauses.append("reviewer = ?")
            args.append(reviewer)
        if state is not None:
            clauses.append("state = ?")
            args.append(state.value)
        rows = (
            self.database.read()
            .execute(
                f"SELECT body FROM review_items WHERE {' AND '.join(clauses)} ORDER BY sequence",  # noqa: S608
                args,
            )
            .fetchall()
        )
        return [ReviewItem.model_validate_json(r[0]) for r in rows]

    def review_item_page(
        self, task_id: str, reviewer: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[ReviewItem]:
        clauses, args = ["task_id = ?"], [task_id]
        if reviewer is not None:
            clauses.append("reviewer = ?")
            args.append(reviewer)
        if cursor is not None:
            clauses.append("sequence > ?")
            args.append(str(sequence_cursor(cursor)))
        rows = (
            self.database.read()
            .execute(
                f"SELECT sequence, body FROM review_items WHERE {' AND '.join(clauses)}"  # noqa: S608
                " ORDER BY sequence LIMIT ?",
                [*args, limit + 1],
            )
            .fetchall()
        )
        items = [ReviewItem.model_validate_json(r[1]) for r in rows[:limit]]
        return Page(items, str(rows[limit - 1][0]) if len(rows) > limit else None)

    def set_lease(self, item_id: str, receipt: str | None) -> None:
        with self.database.write() as db:
            row = db.execute("SELECT body FROM review_items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise NotFound(f"no review item {item_id}")
            item = ReviewItem.model_validate_json(row[0]).model_copy(update={"lease_receipt": receipt})
            db.execute("UPDATE review_items SET body = ? WHERE id = ?", (_dump(item), item_id))

    def record_decision(self, item: ReviewItem, annotations: Sequence[Annotation]) -> None:
        with self.database.write() as db:
            changed = db.execute(
                "UPDATE review_items SET state = ?, body = ? WHERE id = ? AND state = ?",
                (item.state.value, _dump(item), item.id, ReviewState.PENDING.value),
            ).rowcount
            if changed == 0:
                current = db.execute("SELECT body FROM review_items WHERE id = ?", (item.id,)).fetchone()
                if current is None:
                    raise NotFound(f"no review item {item.id}")
                decided = ReviewItem.model_validate_json(current[0])
                raise Conflict(
                    f"review item {item.id} was already decided ({decided.decision}) by {decided.decided_by}",
                    {"decision": decided.decision, "decided_by": decided.decided_by},
                )
            self._write_annotations(db, annotations)

    def replace_routing(self, task: Task, routed: Sequence[RoutedInput]) -> list[ReviewItem]:
        fresh: list[RoutedInput] = []  # inputs that need review for the first time, in order
        with self.database.write() as db:
            next_seq, stored = self._stored_task(db, task.id)
            # Only the thresholds come from the caller: reviewers may have changed meanwhile.
            stored = stored.model_copy(
                update={
                    "thresholds": task.thresholds,
                    "concept_thresholds": task.concept_thresholds,
                    "updated_at": task.updated_at,
                }
            )
            for entry in routed:
                item_row = db.execute(
                    "SELECT body FROM review_items WHERE id = ?", (review_item_id(task.id, entry.input_id),)
                ).fetchone()
                existing = ReviewItem.model_validate_json(item_row[0]) if item_row else None
                if existing is not None and existing.state == ReviewState.DECIDED:
                    continue  # a person decided this input; their labels stand
                db.executemany(
                    f"UPDATE labels SET band = ? WHERE {labels.OF_INPUT} AND id = ?",  # noqa: S608
                    [(band.value, task.id, entry.input_id, entry.input_id, pid) for pid, band in entry.bands.items()],
                )
                db.execute(
                    f"{labels.CLEAR_ANNOTATION} WHERE {labels.OF_INPUT} AND labeler_kind = ?",
                    (task.id, entry.input_id, entry.input_id, LabelerKind.MODEL.value),
                )
                self._write_annotations(db, entry.annotations)
                if existing is not None and not entry.needs_review:
                    db.execute("DELETE FROM review_items WHERE id = ?", (existing.id,))
                elif existing is not None:
                    updated = existing.model_copy(update={"prediction_ids": list(entry.review_prediction_ids)})
                    self._insert_review_items(db, [updated])
                elif entry.needs_review:
                    fresh.append(entry)
            created = partition.number_review_items(stored, fresh, next_seq)
            self._insert_review_items(db, created)
            next_seq += len(created)
            db.execute("UPDATE tasks SET review_seq = ?, body = ? WHERE id = ?", (next_seq, _dump(stored), task.id))
        return created

    def recount(self, task_id: str) -> None:
        """Nothing to do: ``counts`` counts the task's rows as it reads them."""

    # ------------------------------------------------------------------ dataset versions

    def create_dataset_version(self, version: DatasetVersion) -> None:
        with self.database.write() as db:
            self._require_task(db, version.task_id)
            try:
                db.execute(
                    "INSERT INTO dataset_versions(task_id, number, body) VALUES (?, ?, ?)",
                    (version.task_id, version.number, _dump(version)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"version {version.number} of task {version.task_id} already exists") from None

    def dataset_versions(self, task_id: str) -> list[DatasetVersion]:
        rows = (
            self.database.read()
            .execute("SELECT body FROM dataset_versions WHERE task_id = ? ORDER BY number", (task_id,))
            .fetchall()
        )
        return [DatasetVersion.model_validate_json(r[0]) for r in rows]
