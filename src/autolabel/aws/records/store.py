"""``DynamoRecordStore``: the RecordStore port on the records table, composing the package's
modules. Datasets, inputs, models and the reads of results live here; tasks, registration,
commits and review have their own modules."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.aws.records import commit, counters, registration, review, tasks
from autolabel.aws.records.codecs import Item, N, S, dump, predictions_of, text
from autolabel.aws.records.keys import META, SEQ, ann_sk, annotation_item, key, pad, task_pk, ti_sk
from autolabel.aws.records.table import TRANSACT_LIMIT, Cancelled, Table
from autolabel.domain.errors import Conflict, NotFound, ValidationError
from autolabel.domain.ids import review_item_id
from autolabel.domain.models import (
    Annotation,
    Dataset,
    DatasetVersion,
    FailedInput,
    Input,
    InputState,
    ModelSpec,
    Prediction,
    Reviewer,
    ReviewItem,
    ReviewState,
    Task,
)
from autolabel.domain.progress import TaskCounts
from autolabel.domain.routing import RoutedInput
from autolabel.ports import AnnotationQuery, InputResult, Page, RecordStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# Records a page of annotations reads at most, per result asked for, when filters leave some
# out: the work of a page follows its limit, never the task's size.
EXAMINED_PER_RESULT = 4


class DynamoRecordStore(RecordStore):
    def __init__(self, client: DynamoDBClient, table: str, sleep: Any = time.sleep) -> None:
        self.table = Table(client, table, sleep)

    @property
    def client(self) -> DynamoDBClient:
        return self.table.client

    @client.setter
    def client(self, client: DynamoDBClient) -> None:
        # Tests swap the client to make a write fail midway.
        self.table.client = client

    # ------------------------------------------------------------------ datasets and inputs

    def put_dataset(self, dataset: Dataset) -> Dataset:
        for existing in self.table.index("GSI1", "DATASETS", prefix=dataset.name):
            if text(existing, "GSI1SK") == dataset.name and text(existing, "id") != dataset.id:
                raise Conflict(f"a dataset named '{dataset.name}' already exists")
        try:
            self.table.client.put_item(
                TableName=self.table.name,
                Item={
                    **key(f"DS#{dataset.id}", META),
                    "GSI1PK": S("DATASETS"),
                    "GSI1SK": S(dataset.name),
                    "id": S(dataset.id),
                    "body": S(dump(dataset)),
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise
            return self.get_dataset(dataset.id)
        return dataset

    def get_dataset(self, dataset_id: str) -> Dataset:
        item = self.table.get(f"DS#{dataset_id}", META)
        if item is None:
            raise NotFound(f"no dataset {dataset_id}")
        return Dataset.model_validate_json(text(item, "body"))

    def list_datasets(self) -> list[Dataset]:
        return [Dataset.model_validate_json(text(i, "body")) for i in self.table.index("GSI1", "DATASETS")]

    def put_inputs(self, inputs: Sequence[Input]) -> int:
        unique = list({i.id: i for i in inputs}.values())
        existing = {text(i, "PK") for i in self.table.batch_get([key(f"IN#{i.id}", META) for i in unique])}
        new = [i for i in unique if f"IN#{i.id}" not in existing]
        by_dataset: dict[str, list[Input]] = {}
        for item in new:
            by_dataset.setdefault(item.dataset_id, []).append(item)
        requests: list[Item] = []
        for dataset_id, items in by_dataset.items():
            # Reserve a range of insertion numbers with one atomic ADD; listing pages by them.
            end = int(
                self.table.client.update_item(
                    TableName=self.table.name,
                    Key=key(f"DS#{dataset_id}", SEQ),
                    UpdateExpression="ADD input_seq :n",
                    ExpressionAttributeValues={":n": N(len(items))},
                    ReturnValues="UPDATED_NEW",
                )["Attributes"]["input_seq"]["N"]
            )
            for offset, item in enumerate(items):
                requests.append(
                    {
                        "PutRequest": {
                            "Item": {
                                **key(f"IN#{item.id}", META),
                                "GSI1PK": S(f"DS#{dataset_id}#INPUTS"),
                                "GSI1SK": S(pad(end - len(items) + offset)),
                                "dataset_id": S(dataset_id),
                                "body": S(dump(item)),
                            }
                        }
                    }
                )
        # Unconditional puts: a concurrent add of the same content-addressed input writes the
        # same document, so the race can only renumber its listing position.
        self.table.batch_write(requests)
        return len(new)

    def get_input(self, input_id: str) -> Input:
        item = self.table.get(f"IN#{input_id}", META)
        if item is None:
            raise NotFound(f"no input {input_id}")
        return Input.model_validate_json(text(item, "body"))

    def get_inputs(self, input_ids: Sequence[str]) -> dict[str, Input]:
        """Many inputs in BatchGetItem calls (the inference Lambda's read)."""
        return {
            text(i, "PK")[3:]: Input.model_validate_json(text(i, "body"))
            for i in self.table.batch_get([key(f"IN#{i}", META) for i in dict.fromkeys(input_ids)])
        }

    def list_inputs(self, dataset_id: str, cursor: str | None = None, limit: int = 1000) -> Page[Input]:
        items: list[Item] = []
        for item in self.table.index("GSI1", f"DS#{dataset_id}#INPUTS", after=cursor, page_size=limit + 2):
            items.append(item)
            if len(items) > limit:
                break
        page = [Input.model_validate_json(text(i, "body")) for i in items[:limit]]
        return Page(page, text(items[limit - 1], "GSI1SK") if len(items) > limit else None)

    def delete_input(self, input_id: str) -> None:
        found = self.get_input(input_id)
        self.table.client.delete_item(TableName=self.table.name, Key=key(f"IN#{input_id}", META))
        for task in self.list_tasks():
            if task.dataset_id != found.dataset_id:
                continue
            task_input = self.table.get(task_pk(task.id), ti_sk(input_id))
            annotations = list(self.table.partition(task_pk(task.id), f"AN#{input_id}#"))
            item = self.table.get(f"RI#{review_item_id(task.id, input_id)}", META)
            doomed = [key(text(i, "PK"), text(i, "SK")) for i in [*annotations, *([task_input] if task_input else [])]]
            if item is not None:
                doomed.append(key(f"RI#{review_item_id(task.id, input_id)}", META))
            self.table.batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
            # The counters lose what this input added: one update, not a recount of the task.
            deltas = counters.input_delta(task_input, annotations, item)
            if deltas:
                counters.add(self.table, task.id, deltas)

    # ------------------------------------------------------------------ models

    def put_model(self, spec: ModelSpec) -> None:
        self.table.client.put_item(
            TableName=self.table.name,
            Item={**key(f"MODEL#{spec.id}", META), "GSI1PK": S("MODELS"), "GSI1SK": S(spec.id), "body": S(dump(spec))},
        )

    def list_models(self) -> list[ModelSpec]:
        return [ModelSpec.model_validate_json(text(i, "body")) for i in self.table.index("GSI1", "MODELS")]

    # ------------------------------------------------------------------ tasks

    def create_task(self, task: Task) -> None:
        tasks.create_task(self.table, task)

    def get_task(self, task_id: str) -> Task:
        return tasks.get_task(self.table, task_id)

    def find_task(self, name: str) -> Task | None:
        return tasks.find_task(self.table, name)

    def list_tasks(self) -> list[Task]:
        return tasks.list_tasks(self.table)

    def update_task(self, task: Task) -> None:
        tasks.update_task(self.table, task)

    def delete_task(self, task_id: str) -> None:
        tasks.delete_task(self.table, task_id)

    def delete_task_records(self, task_id: str, limit: int) -> int:
        return tasks.delete_task_records(self.table, task_id, limit)

    def change_reviewers(self, task_id: str, reviewers: Sequence[Reviewer]) -> Task:
        return review.change_reviewers(self.table, task_id, reviewers)

    # ------------------------------------------------------------------ runs

    def add_task_inputs(self, task_id: str, input_ids: Sequence[str]) -> int:
        return registration.add_task_inputs(self.table, task_id, input_ids)

    def task_inputs(self, task_id: str, state: InputState | None = None) -> list[str]:
        return registration.task_inputs(self.table, task_id, state)

    def commit_batch(self, task: Task, results: Sequence[InputResult]) -> list[ReviewItem]:
        return commit.commit_batch(self.table, task, results)

    def repair_open_commits(self, task_id: str) -> list[ReviewItem]:
        return commit.repair_open_commits(self.table, task_id)

    def mark_enqueued(self, item_ids: Sequence[str]) -> None:
        review.mark_enqueued(self.table, item_ids)

    def counts(self, task_id: str) -> TaskCounts:
        return counters.read_counts(self.table, task_id)

    # ------------------------------------------------------------------ results

    def predictions(self, task_id: str, input_id: str | None = None) -> list[Prediction]:
        if input_id is not None:
            item = self.table.get(task_pk(task_id), ti_sk(input_id))
            found = [p for p, _ in predictions_of(item)] if item else []
            return sorted(found, key=lambda p: p.id)
        everything = [p for i in self.table.partition(task_pk(task_id), "IN#") for p, _ in predictions_of(i)]
        return sorted(everything, key=lambda p: (p.input_id, p.id))

    def annotations(self, query: AnnotationQuery) -> Page[Annotation]:
        if query.task_id is None:
            raise ValidationError("the DynamoDB store queries annotations within one task; give task_id")
        task = query.task_id
        filters: list[tuple[str, set[str]]] = [
            (name, set(values))
            for name, values in (
                ("labeler", query.labelers),
                ("status", [str(s) for s in query.statuses]),
                ("concept", query.concepts),
            )
            if values
        ]

        def wanted(item: Item) -> bool:
            if not filters:
                return True
            hits = (text(item, name) in values for name, values in filters)
            return any(hits) if query.match == "any" else all(hits)

        source: Iterator[Item]
        cursor_of: str
        examine = query.limit * EXAMINED_PER_RESULT
        if query.input_ids:
            # By input: one partition range per input, in input order.
            def by_input() -> Iterator[Item]:
                for input_id in sorted(set(query.input_ids)):
                    yield from self.table.partition(
                        task_pk(task), f"AN#{input_id}#", after=self._cursor_in(query.cursor, f"AN#{input_id}#")
                    )

            source, cursor_of = by_input(), "SK"
        elif len(query.labelers) == 1 and query.match == "all" and len(query.statuses) <= 1:
            # The input manager's "labeled by X (with status Y)": GSI1 reads only those.
            prefix = f"{query.statuses[0]}#" if query.statuses else ""
            source = self.table.index(
                "GSI1", f"TASK#{task}#BY#{query.labelers[0]}", after=query.cursor, prefix=prefix, page_size=examine + 1
            )
            cursor_of = "GSI1SK"
        else:
            source = self.table.partition(task_pk(task), "AN#", after=query.cursor, page_size=examine + 1)
            cursor_of = "SK"
        matched: list[Item] = []
        examined: list[Item] = []
        for item in source:
            examined.append(item)
            if wanted(item):
                matched.append(item)
                if len(matched) > query.limit:
                    break
            if not query.input_ids and len(examined) >= examine:
                break
        page = [Annotation.model_validate_json(text(i, "body")) for i in matched[: query.limit]]
        if len(matched) > query.limit:
            cursor: str | None = text(matched[query.limit - 1], cursor_of)
        elif not query.input_ids and len(examined) >= examine:
            # A filter the index cannot apply: one read of ``examine`` records per page, so a
            # page may be short (even empty) while the cursor says more records follow.
            cursor = text(examined[-1], cursor_of)
        else:
            cursor = None
        return Page(page, cursor)

    @staticmethod
    def _cursor_in(cursor: str | None, prefix: str) -> str | None:
        """Resume within the input the cursor points into; inputs before it are skipped."""
        if cursor is None:
            return None
        if cursor.startswith(prefix):
            return cursor
        return prefix + "\uffff" if cursor > prefix else None

    def failed_inputs(self, task_id: str) -> list[FailedInput]:
        return [
            FailedInput(task_id=task_id, input_id=text(i, "SK")[3:], reason=text(i, "failure"))
            for i in self.table.index("GSI2", f"TASK#{task_id}#STATE#{InputState.FAILED.value}")
        ]

    # ------------------------------------------------------------------ review

    def get_review_item(self, item_id: str) -> ReviewItem:
        return review.get_review_item(self.table, item_id)

    def review_items(
        self, task_id: str, reviewer: str | None = None, state: ReviewState | None = None
    ) -> list[ReviewItem]:
        return review.review_items(self.table, task_id, reviewer, state)

    def review_item_page(
        self, task_id: str, reviewer: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[ReviewItem]:
        return review.review_item_page(self.table, task_id, reviewer, cursor, limit)

    def set_lease(self, item_id: str, receipt: str | None) -> None:
        review.set_lease(self.table, item_id, receipt)

    def record_decision(self, item: ReviewItem, annotations: Sequence[Annotation]) -> None:
        review.record_decision(self.table, item, annotations)

    def replace_routing(self, task: Task, routed: Sequence[RoutedInput]) -> list[ReviewItem]:
        return review.replace_routing(self.table, task, routed)

    def recount(self, task_id: str) -> None:
        # Rethreshold changes bands, annotations and review items of many inputs: counting
        # afresh, once per job, beats tracking every delta.
        counters.recount(self.table, task_id)

    # ------------------------------------------------------------------ edits and versions

    def put_annotations(self, annotations: Sequence[Annotation]) -> None:
        # Person-sized edits: each chunk is one transaction with its counter deltas, so the
        # counters stay exact without recounting the task.
        for start in range(0, len(annotations), TRANSACT_LIMIT - 1):
            chunk = annotations[start : start + TRANSACT_LIMIT - 1]
            old = {
                text(i, "SK"): Annotation.model_validate_json(text(i, "body"))
                for i in self.table.batch_get([key(task_pk(a.task_id), ann_sk(a.input_id, a.id)) for a in chunk])
            }
            for task_id in sorted({a.task_id for a in chunk}):
                mine = [a for a in chunk if a.task_id == task_id]
                deltas: dict[str, int] = {}
                for annotation in mine:
                    counters.merge(
                        deltas,
                        counters.annotation_delta(old.get(ann_sk(annotation.input_id, annotation.id)), annotation),
                    )
                writes = [{"Put": {"TableName": self.table.name, "Item": annotation_item(a)}} for a in mine]
                self._transact_with_counts(task_id, writes, deltas)

    def delete_annotations(self, task_id: str, annotations: Sequence[Annotation]) -> int:
        keys = [key(task_pk(task_id), ann_sk(a.input_id, a.id)) for a in annotations if a.task_id == task_id]
        existing = self.table.batch_get(keys)
        for start in range(0, len(existing), TRANSACT_LIMIT - 1):
            chunk = existing[start : start + TRANSACT_LIMIT - 1]
            deltas: dict[str, int] = {}
            for item in chunk:
                counters.merge(
                    deltas, counters.annotation_delta(Annotation.model_validate_json(text(item, "body")), None)
                )
            writes: list[Item] = [
                {
                    "Delete": {
                        "TableName": self.table.name,
                        "Key": key(text(i, "PK"), text(i, "SK")),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                }
                for i in chunk
            ]
            self._transact_with_counts(task_id, writes, deltas)
        return len(existing)

    def _transact_with_counts(self, task_id: str, writes: list[Item], deltas: dict[str, int]) -> None:
        try:
            self.table.transact([*writes, counters.counter_update(self.table, task_id, deltas)] if deltas else writes)
        except Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[-1] == "ConditionalCheckFailed":
                raise NotFound(f"no task {task_id} (was it deleted?)") from None
            raise Conflict("the annotations changed meanwhile; try again") from None

    def create_dataset_version(self, version: DatasetVersion) -> None:
        try:
            self.table.transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self.table.name,
                            "Key": key(task_pk(version.task_id), META),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": {
                                **key(task_pk(version.task_id), f"VER#{pad(version.number)}"),
                                "body": S(dump(version)),
                            },
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
        except Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
                raise NotFound(f"no task {version.task_id}") from None
            raise Conflict(f"version {version.number} of task {version.task_id} already exists") from None

    def dataset_versions(self, task_id: str) -> list[DatasetVersion]:
        return [
            DatasetVersion.model_validate_json(text(i, "body")) for i in self.table.partition(task_pk(task_id), "VER#")
        ]
