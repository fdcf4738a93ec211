"""RecordStore on one DynamoDB table (single-table design; keys in docs/ARCHITECTURE.md).

Every fact an entry point writes has a deterministic key, and writes that must not repeat are
conditional, so a retried Lambda writes nothing twice. A batch's facts and the task's counters
move in one TransactWriteItems, so ``counts`` is one GetItem and never a scan. Bulk writes
without counters (inputs, deletions) use BatchWriteItem in chunks of 25, retrying
UnprocessedItems with backoff; throttling errors are retried by botocore (``clients``).
"""

from __future__ import annotations

import json
import random
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.domain import partition
from autolabel.domain.errors import Conflict, NotFound, ValidationError
from autolabel.domain.ids import annotation_id, prediction_id, review_item_id
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Box,
    Classification,
    Dataset,
    DatasetVersion,
    FailedInput,
    Input,
    InputState,
    Labeler,
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
from autolabel.ports import AnnotationQuery, InputResult, Page, RecordStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

WRITE_CHUNK = 25  # BatchWriteItem's limit
GET_CHUNK = 100  # BatchGetItem's limit
TRANSACT_LIMIT = 100  # TransactWriteItems' limit
BULK_REGISTRATION = 25  # registering this many inputs at once skips transactions
FIXED = 3  # every batch transaction: the counters update, the reviewers check, the open marker
META, COUNTS, SEQ, OPEN = "META", "COUNTS", "SEQ", "OPEN#"
LABELED_BY = "by#"  # counters item: one attribute per labeler, so ADD works on it directly
COUNTERS = (
    "inputs_total",
    "inputs_done",
    "inputs_failed",
    "approved",
    "review",
    "discarded",
    "awaiting_review",
    "rejected",
    "review_items",
    "review_items_decided",
)


# What index readers use. The rest (a task input's predictions, a review item's enqueued flag
# and lease) stays out of the indexes: an update that touches only those writes no index entry,
# where a projection of ALL made every mark_enqueued and set_lease three writes instead of one.
INDEX_ATTRIBUTES = (
    "body",
    "id",
    "dataset_id",
    "task_id",
    "input_id",
    "state",
    "labeler",
    "labeler_kind",
    "status",
    "concept",
    "failure",
)


def create_table(client: DynamoDBClient, name: str) -> None:
    """The table as infra/ defines it (tests and local tools create it with this)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(INDEX_ATTRIBUTES)},
            }
            for index in ("GSI1", "GSI2")
        ],
    )


# --------------------------------------------------------------------------- marshalling


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int) -> dict[str, str]:
    return {"N": str(value)}


def key(pk: str, sk: str) -> Item:
    return {"PK": S(pk), "SK": S(sk)}


def text(item: Item, name: str, default: str = "") -> str:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else default


def number(item: Item, name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else 0


def _dump(model: Any) -> str:
    return str(model.model_dump_json())


def _pad(n: int) -> str:
    return f"{n:012d}"


def task_pk(task_id: str) -> str:
    return f"TASK#{task_id}"


def ti_sk(input_id: str) -> str:
    return f"IN#{input_id}"


def ann_sk(input_id: str, annotation_id: str) -> str:
    return f"AN#{input_id}#{annotation_id}"


def _annotation_item(a: Annotation) -> Item:
    labeler = a.labeled_by.display
    return {
        **key(task_pk(a.task_id), ann_sk(a.input_id, a.id)),
        "GSI1PK": S(f"TASK#{a.task_id}#BY#{labeler}"),
        "GSI1SK": S(f"{a.status.value}#{a.input_id}#{a.id}"),
        "labeler": S(labeler),
        "labeler_kind": S(a.labeled_by.kind.value),
        "status": S(a.status.value),
        "concept": S(a.concept),
        "body": S(_dump(a)),
    }


def _review_item(item: ReviewItem) -> Item:
    return {
        **key(f"RI#{item.id}", META),
        "GSI1PK": S(f"TASK#{item.task_id}#REVIEWER#{item.reviewer}"),
        "GSI1SK": S(f"{item.state.value}#{_pad(item.sequence)}"),
        "GSI2PK": S(f"TASK#{item.task_id}#RI"),
        "GSI2SK": S(_pad(item.sequence)),
        "task_id": S(item.task_id),
        "input_id": S(item.input_id),
        "state": S(item.state.value),
        "body": S(_dump(item)),
    }


def _read_review_item(item: Item) -> ReviewItem:
    # enqueued and the lease change without rewriting the body, so they live beside it.
    lease = text(item, "lease") or None
    return ReviewItem.model_validate_json(text(item, "body")).model_copy(
        update={"enqueued": item.get("enqueued", {}).get("BOOL", False), "lease_receipt": lease}
    )


def _annotation_delta(old: Annotation | None, new: Annotation | None) -> dict[str, int]:
    """Counter changes when ``old`` (or nothing) becomes ``new`` (or nothing)."""
    delta: dict[str, int] = {}
    for annotation, sign in ((old, -1), (new, 1)):
        if annotation is None:
            continue
        if annotation.status == AnnotationStatus.AWAITING_REVIEW:
            delta["awaiting_review"] = delta.get("awaiting_review", 0) + sign
        elif annotation.status == AnnotationStatus.REJECTED:
            delta["rejected"] = delta.get("rejected", 0) + sign
        elif annotation.status == AnnotationStatus.SUCCESS:
            name = LABELED_BY + annotation.labeled_by.display
            delta[name] = delta.get(name, 0) + sign
    return {k: v for k, v in delta.items() if v}


def _merge(total: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


MAX_DERIVED_INDEX = 1000  # model outputs beyond this keep their id's hash in full


def _derived_indexes(task_id: str, input_id: str, wanted: set[str]) -> dict[str, int]:
    """Prediction ids that are ``prediction_id(task, input, n)`` for a small n, by n."""
    found: dict[str, int] = {}
    for n in range(MAX_DERIVED_INDEX):
        if len(found) == len(wanted):
            break
        candidate = prediction_id(task_id, input_id, n)
        if candidate in wanted:
            found[candidate] = n
    return found


def _compact_geometry(geometry: Any) -> Any:
    if isinstance(geometry, Box):
        return [geometry.x, geometry.y, geometry.w, geometry.h]
    if isinstance(geometry, Classification):
        return 0
    return geometry.model_dump(mode="json")


def _full_geometry(compact: Any) -> Any:
    if isinstance(compact, list):
        x, y, w, h = compact
        return Box(x=x, y=y, w=w, h=h)
    if compact == 0:
        return Classification()
    return compact


def encode_predictions(pairs: Sequence[tuple[Prediction, Band]]) -> bytes:
    """An input's predictions in the compact form its task-input item stores.

    The task and input are the item's key and the model is the same for all, so each prediction
    keeps its output index (its id is derived from it), concept, score, geometry as numbers and
    band; zlib then halves the digits. DynamoDB bills writes per KB and this item is written in
    a transaction (2 units per KB): a detector's predictions at a 0.05 score floor took 1-3 KB as
    JSON documents and fit in one KB this way.
    """
    if not pairs:
        return zlib.compress(b'{"m":null,"p":[]}')
    first = pairs[0][0]
    indexes = _derived_indexes(first.task_id, first.input_id, {p.id for p, _ in pairs})
    rows = [
        [indexes.get(p.id, p.id), p.concept, p.score, _compact_geometry(p.geometry), band.value[0]] for p, band in pairs
    ]
    document = {"m": [first.model_id, first.model_version], "p": rows}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)


_BANDS = {band.value[0]: band for band in Band}


def decode_predictions(raw: bytes | str, task_id: str, input_id: str) -> list[tuple[Prediction, Band]]:
    if not raw:
        return []
    # Items written before the compressed form hold the JSON text with id suffixes.
    legacy = isinstance(raw, str)
    document = json.loads(raw if isinstance(raw, str) else zlib.decompress(raw))
    if not document["p"]:
        return []
    model_id, version = document["m"]
    return [
        (
            Prediction(
                id=prediction_id(task_id, input_id, ref) if isinstance(ref, int) else ("pr_" * legacy) + ref,
                task_id=task_id,
                input_id=input_id,
                concept=concept,
                score=score,
                geometry=_full_geometry(geometry),
                model_id=model_id,
                model_version=version,
            ),
            _BANDS[code],
        )
        for ref, concept, score, geometry, code in document["p"]
    ]


def _preds_of(item: Item) -> bytes | str:
    value = item.get("preds", {})
    return value.get("B") or value.get("S") or ""


def _records_of(task: Task, ti: Item) -> tuple[list[Annotation], ReviewItem | None]:
    """The annotations and review item a recorded task input's commit wrote: rebuilt from its
    stored predictions and bands, sequence number and reviewer (a repair's source of truth)."""
    pairs = decode_predictions(_preds_of(ti), task.id, text(ti, "SK")[3:])
    now = utcnow()
    annotations = [
        Annotation(
            id=annotation_id(task.id, prediction.id),
            task_id=task.id,
            input_id=prediction.input_id,
            concept=prediction.concept,
            geometry=prediction.geometry,
            status=AnnotationStatus.SUCCESS if band == Band.APPROVED else AnnotationStatus.AWAITING_REVIEW,
            labeled_by=Labeler(kind=LabelerKind.MODEL, id=prediction.model_id, version=prediction.model_version),
            score=prediction.score,
            prediction_id=prediction.id,
            thresholds=task.thresholds_for(prediction.concept),
            created_at=now,
            updated_at=now,
        )
        for prediction, band in pairs
        if band != Band.DISCARDED
    ]
    if "review_seq" not in ti:
        return annotations, None
    item = ReviewItem(
        id=review_item_id(task.id, text(ti, "SK")[3:]),
        task_id=task.id,
        input_id=text(ti, "SK")[3:],
        reviewer=text(ti, "reviewer"),
        sequence=number(ti, "review_seq"),
        prediction_ids=[p.id for p, band in pairs if band == Band.REVIEW],
    )
    return annotations, item


@dataclass(frozen=True)
class _CommitPlan:
    marker: str  # sort key of the open-commit marker
    transaction: list[Item]
    annotations: list[Annotation]
    review_items: list[ReviewItem]


class _Cancelled(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


class DynamoRecordStore(RecordStore):
    def __init__(self, client: DynamoDBClient, table: str, sleep: Any = time.sleep) -> None:
        self.client = client
        self.table = table
        self._sleep = sleep

    # ------------------------------------------------------------------ low-level helpers

    def _get(self, pk: str, sk: str) -> Item | None:
        response = self.client.get_item(TableName=self.table, Key=key(pk, sk), ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    def _query(
        self,
        index: str | None,
        condition: str,
        values: Item,
        names: dict[str, str] | None = None,
        forward: bool = True,
        filter_expression: str | None = None,
    ) -> Iterator[Item]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if names:
            params["ExpressionAttributeNames"] = names
        if filter_expression:
            params["FilterExpression"] = filter_expression
        if index:
            params["IndexName"] = index
        else:
            params["ConsistentRead"] = True
        while True:
            response = self.client.query(**params)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def _partition(self, pk: str, prefix: str, after: str | None = None, state: str | None = None) -> Iterator[Item]:
        """Items of one partition whose sort key starts with ``prefix`` (after ``after``), only
        those in ``state`` if given (filtered server-side: read units still count every item)."""
        # "$" is the character after "#", so [prefix, prefix-with-# -> $) spans the prefix.
        if not prefix and after is None:
            yield from self._query(None, "PK = :pk", {":pk": S(pk)})
            return
        upper = prefix[:-1] + "$" if prefix.endswith("#") else prefix + "\uffff"
        values = {":pk": S(pk), ":lo": S(after or prefix), ":hi": S(upper)}
        names: dict[str, str] | None = None
        condition: str | None = None
        if state is not None:
            values[":state"] = S(state)
            names, condition = {"#state": "state"}, "#state = :state"
        for item in self._query(
            None, "PK = :pk AND SK BETWEEN :lo AND :hi", values, names=names, filter_expression=condition
        ):
            if after is None or text(item, "SK") != after:
                yield item

    def _index(self, index: str, pk: str, after: str | None = None, prefix: str = "") -> Iterator[Item]:
        values = {":pk": S(pk), ":lo": S(after or prefix or " "), ":hi": S(prefix + "\uffff")}
        condition = f"{index}PK = :pk AND {index}SK BETWEEN :lo AND :hi"
        for item in self._query(index, condition, values):
            if after is None or text(item, f"{index}SK") != after:
                yield item

    def _batch_get(self, keys: Sequence[Item]) -> list[Item]:
        found: list[Item] = []
        for start in range(0, len(keys), GET_CHUNK):
            request: Any = {self.table: {"Keys": list(keys[start : start + GET_CHUNK]), "ConsistentRead": True}}
            for attempt in range(10):
                response = self.client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._backoff(attempt)
            else:
                raise RuntimeError("DynamoDB left keys unprocessed after 10 attempts")
        return found

    def _batch_write(self, requests: Sequence[Item]) -> None:
        for start in range(0, len(requests), WRITE_CHUNK):
            pending: Any = {self.table: list(requests[start : start + WRITE_CHUNK])}
            for attempt in range(10):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                self._backoff(attempt)
            else:
                raise RuntimeError("DynamoDB left writes unprocessed after 10 attempts")

    def _backoff(self, attempt: int) -> None:
        # Full jitter: concurrent Lambdas throttled together do not retry together.
        self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311

    def _transact(self, items: Sequence[Item]) -> None:
        """TransactWriteItems; raises _Cancelled with one reason code per item."""
        for attempt in range(8):
            try:
                self.client.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
                return
            except ClientError as exc:
                if code_of(exc) != "TransactionCanceledException":
                    raise
                reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
                if not reasons:
                    raise
                if "ConditionalCheckFailed" in reasons:
                    raise _Cancelled(reasons) from None
                # TransactionConflict / throttling on one item: the whole transaction may retry.
                self._backoff(attempt)
        raise RuntimeError("DynamoDB transaction kept conflicting")

    def _counter_update(
        self,
        task_id: str,
        deltas: dict[str, int],
        condition: str | None = None,
        extra_set: dict[str, int] | None = None,
        extra_values: Item | None = None,
    ) -> Item:
        names: dict[str, str] = {}
        values: Item = dict(extra_values or {})
        adds: list[str] = []
        for n, (name, value) in enumerate(sorted(deltas.items())):
            names[f"#a{n}"] = name
            values[f":a{n}"] = N(value)
            adds.append(f"#a{n} :a{n}")
        sets: list[str] = []
        for n, (name, value) in enumerate(sorted((extra_set or {}).items())):
            names[f"#s{n}"] = name
            values[f":s{n}"] = N(value)
            sets.append(f"#s{n} = :s{n}")
        expression = " ".join(
            part
            for part in (("ADD " + ", ".join(adds)) if adds else "", ("SET " + ", ".join(sets)) if sets else "")
            if part
        )
        update: Item = {
            "TableName": self.table,
            "Key": key(task_pk(task_id), COUNTS),
            "UpdateExpression": expression,
            "ConditionExpression": condition or "attribute_exists(PK)",
        }
        if names:
            update["ExpressionAttributeNames"] = names
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}

    def _counts_item(self, task_id: str) -> Item:
        item = self._get(task_pk(task_id), COUNTS)
        if item is None:
            raise NotFound(f"no task {task_id} (was it deleted?)")
        return item

    # ------------------------------------------------------------------ datasets and inputs

    def put_dataset(self, dataset: Dataset) -> Dataset:
        for existing in self._index("GSI1", "DATASETS", prefix=dataset.name):
            if text(existing, "GSI1SK") == dataset.name and text(existing, "id") != dataset.id:
                raise Conflict(f"a dataset named '{dataset.name}' already exists")
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **key(f"DS#{dataset.id}", META),
                    "GSI1PK": S("DATASETS"),
                    "GSI1SK": S(dataset.name),
                    "id": S(dataset.id),
                    "body": S(_dump(dataset)),
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise
            return self.get_dataset(dataset.id)
        return dataset

    def get_dataset(self, dataset_id: str) -> Dataset:
        item = self._get(f"DS#{dataset_id}", META)
        if item is None:
            raise NotFound(f"no dataset {dataset_id}")
        return Dataset.model_validate_json(text(item, "body"))

    def list_datasets(self) -> list[Dataset]:
        return [Dataset.model_validate_json(text(i, "body")) for i in self._index("GSI1", "DATASETS")]

    def put_inputs(self, inputs: Sequence[Input]) -> int:
        unique = list({i.id: i for i in inputs}.values())
        existing = {text(i, "PK") for i in self._batch_get([key(f"IN#{i.id}", META) for i in unique])}
        new = [i for i in unique if f"IN#{i.id}" not in existing]
        by_dataset: dict[str, list[Input]] = {}
        for item in new:
            by_dataset.setdefault(item.dataset_id, []).append(item)
        requests: list[Item] = []
        for dataset_id, items in by_dataset.items():
            # Reserve a range of insertion numbers with one atomic ADD; listing pages by them.
            end = int(
                self.client.update_item(
                    TableName=self.table,
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
                                "GSI1SK": S(_pad(end - len(items) + offset)),
                                "dataset_id": S(dataset_id),
                                "body": S(_dump(item)),
                            }
                        }
                    }
                )
        # Unconditional puts: a concurrent add of the same content-addressed input writes the
        # same document, so the race can only renumber its listing position.
        self._batch_write(requests)
        return len(new)

    def get_input(self, input_id: str) -> Input:
        item = self._get(f"IN#{input_id}", META)
        if item is None:
            raise NotFound(f"no input {input_id}")
        return Input.model_validate_json(text(item, "body"))

    def get_inputs(self, input_ids: Sequence[str]) -> dict[str, Input]:
        """Many inputs in BatchGetItem calls (the inference Lambda's read)."""
        return {
            text(i, "PK")[3:]: Input.model_validate_json(text(i, "body"))
            for i in self._batch_get([key(f"IN#{i}", META) for i in dict.fromkeys(input_ids)])
        }

    def list_inputs(self, dataset_id: str, cursor: str | None = None, limit: int = 1000) -> Page[Input]:
        items: list[Item] = []
        for item in self._index("GSI1", f"DS#{dataset_id}#INPUTS", after=cursor):
            items.append(item)
            if len(items) > limit:
                break
        page = [Input.model_validate_json(text(i, "body")) for i in items[:limit]]
        return Page(page, text(items[limit - 1], "GSI1SK") if len(items) > limit else None)

    def delete_input(self, input_id: str) -> None:
        found = self.get_input(input_id)
        self.client.delete_item(TableName=self.table, Key=key(f"IN#{input_id}", META))
        for task in self.list_tasks():
            if task.dataset_id != found.dataset_id:
                continue
            doomed = [key(task_pk(task.id), ti_sk(input_id))]
            doomed += [key(text(a, "PK"), text(a, "SK")) for a in self._partition(task_pk(task.id), f"AN#{input_id}#")]
            doomed.append(key(f"RI#{review_item_id(task.id, input_id)}", META))
            self._batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
            self._recount(task.id)

    # ------------------------------------------------------------------ models

    def put_model(self, spec: ModelSpec) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={**key(f"MODEL#{spec.id}", META), "GSI1PK": S("MODELS"), "GSI1SK": S(spec.id), "body": S(_dump(spec))},
        )

    def list_models(self) -> list[ModelSpec]:
        return [ModelSpec.model_validate_json(text(i, "body")) for i in self._index("GSI1", "MODELS")]

    # ------------------------------------------------------------------ tasks

    def _task_item(self, task: Task) -> Item:
        return {
            **key(task_pk(task.id), META),
            "GSI1PK": S("TASKS"),
            "GSI1SK": S(task.name),
            "name": S(task.name),
            # Batches check this in their transaction: a reviewer change mid-run makes a batch
            # numbered under the old reviewers retry under the new ones.
            "reviewers_from": N(task.reviewers_from_sequence),
            "body": S(_dump(task)),
        }

    def create_task(self, task: Task) -> None:
        counters: Item = {**key(task_pk(task.id), COUNTS), "review_seq": N(0), "ti_seq": N(0)}
        counters.update({name: N(0) for name in COUNTERS})
        try:
            self._transact(
                [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {**key(f"TASKNAME#{task.name}", META), "task_id": S(task.id)},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._task_item(task),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": counters}},
                ]
            )
        except _Cancelled:
            raise Conflict(f"a task named '{task.name}' already exists") from None

    def get_task(self, task_id: str) -> Task:
        item = self._get(task_pk(task_id), META)
        if item is None:
            raise NotFound(f"no task {task_id}")
        return Task.model_validate_json(text(item, "body"))

    def find_task(self, name: str) -> Task | None:
        claim = self._get(f"TASKNAME#{name}", META)
        if claim is None:
            return None
        try:
            return self.get_task(text(claim, "task_id"))
        except NotFound:
            return None

    def list_tasks(self) -> list[Task]:
        return [Task.model_validate_json(text(i, "body")) for i in self._index("GSI1", "TASKS")]

    def update_task(self, task: Task) -> None:
        current = self.get_task(task.id)
        put: Item = {
            "Put": {
                "TableName": self.table,
                "Item": self._task_item(task),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        if current.name == task.name:
            items = [put]
        else:
            # The name claim moves with the task in one transaction: names stay unique.
            items = [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": key(f"TASKNAME#{current.name}", META),
                        "ConditionExpression": "task_id = :id",
                        "ExpressionAttributeValues": {":id": S(task.id)},
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**key(f"TASKNAME#{task.name}", META), "task_id": S(task.id)},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                put,
            ]
        try:
            self._transact(items)
        except _Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[-1] == "ConditionalCheckFailed":
                raise NotFound(f"no task {task.id}") from None
            raise Conflict(f"a task named '{task.name}' already exists") from None

    def delete_task(self, task_id: str) -> None:
        task = self.get_task(task_id)
        # The task and its counters go first, in one step: an in-flight batch's transaction is
        # conditional on the counters, so it fails with NotFound instead of leaving orphans.
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": key(task_pk(task_id), META),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {"Delete": {"TableName": self.table, "Key": key(task_pk(task_id), COUNTS)}},
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": key(f"TASKNAME#{task.name}", META),
                            "ConditionExpression": "attribute_not_exists(PK) OR task_id = :id",
                            "ExpressionAttributeValues": {":id": S(task_id)},
                        }
                    },
                ]
            )
        except _Cancelled:
            raise NotFound(f"no task {task_id}") from None
        doomed = [key(task_pk(task_id), text(i, "SK")) for i in self._partition(task_pk(task_id), "")]
        doomed += [key(text(i, "PK"), META) for i in self._index("GSI2", f"TASK#{task_id}#RI")]
        self._batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])

    # ------------------------------------------------------------------ runs

    def add_task_inputs(self, task_id: str, input_ids: Sequence[str]) -> int:
        wanted = list(dict.fromkeys(input_ids))
        counts = self._counts_item(task_id)
        existing = {text(i, "SK")[3:] for i in self._batch_get([key(task_pk(task_id), ti_sk(i)) for i in wanted])}
        new = [i for i in wanted if i not in existing]
        if len(new) >= BULK_REGISTRATION:
            added = self._register_in_bulk(task_id, new)
        else:
            added = self._register_in_transactions(task_id, new, counts)
        if len(new) >= BULK_REGISTRATION or "total_stale" in counts:
            self._recount_total(task_id)
        return added

    def _register_in_bulk(self, task_id: str, new: Sequence[str]) -> int:
        """A run's registration: one conditional PutItem per input (one write unit, where a
        transaction bills two), the total recounted afterwards (``_recount_total``).

        The ordinals are reserved first with one ADD, which also marks the total stale: a crash
        before the recount leaves it marked, and the next registration (start_run's retry)
        recounts. The condition on each put keeps a concurrent upload's registration — or its
        result — from being reset to PENDING.
        """
        reserved = self.client.update_item(
            TableName=self.table,
            Key=key(task_pk(task_id), COUNTS),
            UpdateExpression="ADD ti_seq :n SET total_stale = :t",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":n": N(len(new)), ":t": {"BOOL": True}},
            ReturnValues="UPDATED_NEW",
        )
        base = int(reserved["Attributes"]["ti_seq"]["N"]) - len(new)
        added = 0
        for n, input_id in enumerate(new):
            item = {
                **key(task_pk(task_id), ti_sk(input_id)),
                "ordinal": N(base + n),
                "state": S(InputState.PENDING.value),
            }
            added += self._put_new(item)
        return added

    def _recount_total(self, task_id: str) -> None:
        """Set inputs_total to the number of the task's inputs, unless another registration
        (``ti_seq``) or recount (``total_version``) happened while counting: then count again."""
        for attempt in range(8):
            counts = self._counts_item(task_id)
            version = number(counts, "total_version")
            params: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :in)",
                "ExpressionAttributeValues": {":pk": S(task_pk(task_id)), ":in": S("IN#")},
                "Select": "COUNT",
                "ConsistentRead": True,
            }
            total = 0
            while True:
                page = self.client.query(**params)
                total += int(page.get("Count", 0))
                if not page.get("LastEvaluatedKey"):
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=key(task_pk(task_id), COUNTS),
                    UpdateExpression="SET inputs_total = :total, total_version = :next REMOVE total_stale",
                    ConditionExpression="ti_seq = :seq AND (attribute_not_exists(total_version) OR total_version = :v)",
                    ExpressionAttributeValues={
                        ":total": N(total),
                        ":next": N(version + 1),
                        ":seq": counts["ti_seq"],
                        ":v": N(version),
                    },
                )
                return
            except ClientError as exc:
                if code_of(exc) != "ConditionalCheckFailedException":
                    raise
                self._backoff(attempt)
        raise Conflict(f"task {task_id} kept registering inputs; its total is recounted on the next run")

    def _register_in_transactions(self, task_id: str, new: Sequence[str], counts: Item) -> int:
        """A few inputs (an upload's): each transaction puts them and adds to the total."""
        added = 0
        chunk_size = TRANSACT_LIMIT - 1
        for start in range(0, len(new), chunk_size):
            chunk = list(new[start : start + chunk_size])
            while chunk:
                base = number(counts, "ti_seq")
                puts: list[Item] = [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                # Not in GSI2: pending inputs are read from the partition (task_inputs).
                                **key(task_pk(task_id), ti_sk(input_id)),
                                "ordinal": N(base + n),
                                "state": S(InputState.PENDING.value),
                            },
                            "ConditionExpression": "attribute_not_exists(SK)",
                        }
                    }
                    for n, input_id in enumerate(chunk)
                ]
                # Ordinals come from the counter; the condition on its old value serialises
                # concurrent registrations (the execution name makes them rare anyway).
                update = self._counter_update(
                    task_id,
                    {"inputs_total": len(chunk)},
                    condition="ti_seq = :old",
                    extra_set={"ti_seq": base + len(chunk)},
                    extra_values={":old": N(base)},
                )
                try:
                    self._transact([*puts, update])
                except _Cancelled as cancelled:
                    reasons = cancelled.reasons
                    chunk = [i for i, r in zip(chunk, reasons, strict=False) if r != "ConditionalCheckFailed"]
                    counts = self._counts_item(task_id)
                    continue
                added += len(chunk)
                counts = {**counts, "ti_seq": N(base + len(chunk))}
                break
        return added

    def task_inputs(self, task_id: str, state: InputState | None = None) -> list[str]:
        if state == InputState.FAILED:
            return [text(i, "SK")[3:] for i in self._index("GSI2", f"TASK#{task_id}#STATE#{state.value}")]
        # Pending and done inputs are not indexed: putting every input into an index and taking
        # it out again cost more write units than the run's own records, while a run reads its
        # pending inputs twice (start, finalize) — one query of the task's partition each.
        found = self._partition(task_pk(task_id), "IN#", state=state.value if state else None)
        return [text(i, "SK")[3:] for i in sorted(found, key=lambda i: number(i, "ordinal"))]

    def commit_batch(self, task: Task, results: Sequence[InputResult]) -> list[ReviewItem]:
        """Record a batch in two steps, so only what must change together pays transaction prices.

        1. One transaction per chunk of inputs: each input's PENDING -> DONE/FAILED update (with
           its predictions and, when it needs review, its sequence number and reviewer), the
           counters (with the review sequence claim), the reviewers check, and an *open commit*
           marker naming the chunk's inputs. This is the idempotency point: an input recorded
           once is never counted again.
        2. The inputs' annotations, then their review items, as BatchWriteItem puts (deterministic
           ids; one write unit per item instead of two), then the marker is deleted.

        A crash between the steps leaves the marker open; a retry of the batch (or finalize)
        finds it and writes the missing records with conditional puts, so nothing a reviewer has
        decided meanwhile is overwritten. A reviewer cannot decide an item before step 2 has
        written all its annotations: the review items are written last.
        """
        counts = self._counts_item(task.id)
        unique = list({r.input_id: r for r in reversed(results)}.values())[::-1]  # first wins, order kept
        stored_inputs = {
            text(i, "SK")[3:]: i for i in self._batch_get([key(task_pk(task.id), ti_sk(r.input_id)) for r in unique])
        }
        # Inputs already DONE/FAILED were recorded by an earlier attempt; others are not in the run.
        pending = [r for r in unique if text(stored_inputs.get(r.input_id, {}), "state") == InputState.PENDING.value]
        recorded = [i for r in unique if (i := stored_inputs.get(r.input_id)) is not None and text(i, "commit")]
        # A retry of a batch a crash interrupted between the two steps finishes it first.
        created = self._repair_commits(task.id, {text(i, "commit") for i in recorded}) if recorded else []
        chunk_size = TRANSACT_LIMIT - FIXED
        for start in range(0, len(pending), chunk_size):
            chunk = pending[start : start + chunk_size]
            while chunk:
                stored = self.get_task(task.id)  # its reviewers, not the caller's copy
                plan = self._plan(stored, chunk, stored_inputs, number(counts, "review_seq"))
                try:
                    self._transact(plan.transaction)
                except _Cancelled as cancelled:
                    counts = self._counts_item(task.id)  # NotFound if the task was deleted meanwhile
                    recorded_now = {
                        r.input_id
                        for r, code in zip(chunk, cancelled.reasons, strict=False)
                        if code == "ConditionalCheckFailed"
                    }
                    chunk = [r for r in chunk if r.input_id not in recorded_now]
                    continue
                self._write_records(task.id, plan.marker, plan.annotations, plan.review_items)
                created.extend(plan.review_items)
                counts = {**counts, "review_seq": N(number(counts, "review_seq") + len(plan.review_items))}
                break
        return created

    def _write_records(
        self, task_id: str, marker: str, annotations: Sequence[Annotation], items: Sequence[ReviewItem]
    ) -> None:
        """Step 2 of a commit: the records, review items last, then close the marker."""
        self._batch_write([{"PutRequest": {"Item": _annotation_item(a)}} for a in annotations])
        self._batch_write([{"PutRequest": {"Item": _review_item(i)}} for i in items])
        if self._get(task_pk(task_id), COUNTS) is None:
            # The task was deleted while this batch wrote: take back what its sweep may have missed.
            doomed = [key(task_pk(task_id), ann_sk(a.input_id, a.id)) for a in annotations]
            doomed += [key(f"RI#{i.id}", META) for i in items]
            self._batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
            raise NotFound(f"no task {task_id} (was it deleted?)")
        self.client.delete_item(TableName=self.table, Key=key(task_pk(task_id), marker))

    def _plan(
        self, task: Task, chunk: Sequence[InputResult], stored_inputs: dict[str, Item], next_seq: int
    ) -> _CommitPlan:
        marker = f"{OPEN}{uuid.uuid4().hex}"
        updates: list[Item] = []
        annotations: list[Annotation] = []
        recorded = [r.routed for r in chunk if r.failure is None and r.routed is not None]
        items = partition.number_review_items(task, recorded, next_seq)
        item_of = {item.input_id: item for item in items}
        deltas: dict[str, int] = {}
        for result in chunk:
            routed = result.routed
            values: Item = {":pending": S(InputState.PENDING.value), ":commit": S(marker)}
            if result.failure is not None or routed is None:
                state = InputState.FAILED
                ordinal = number(stored_inputs.get(result.input_id, {}), "ordinal")
                values.update(
                    {
                        ":failure": S(result.failure or "no result"),
                        ":gsi": S(f"TASK#{task.id}#STATE#{state.value}"),
                        ":gsisk": S(_pad(ordinal)),
                    }
                )
                # Failed inputs are the one state GSI2 lists (failed_inputs, with reasons).
                expression = (
                    "SET #state = :state, failure = :failure, GSI2PK = :gsi, GSI2SK = :gsisk, #commit = :commit"
                )
                deltas["inputs_failed"] = deltas.get("inputs_failed", 0) + 1
            else:
                state = InputState.DONE
                values[":preds"] = {
                    "B": encode_predictions([(p, routed.bands.get(p.id, Band.DISCARDED)) for p in result.predictions])
                }
                expression = "SET #state = :state, preds = :preds, #commit = :commit"
                deltas["inputs_done"] = deltas.get("inputs_done", 0) + 1
                for band in Band:
                    if routed.count(band):
                        deltas[band.value] = deltas.get(band.value, 0) + routed.count(band)
                for annotation in routed.annotations:
                    annotations.append(annotation)
                    _merge(deltas, _annotation_delta(None, annotation))
                item = item_of.get(result.input_id)
                if item is not None:
                    # What a repair needs to rebuild the item exactly as numbered here.
                    values[":seq"], values[":reviewer"] = N(item.sequence), S(item.reviewer)
                    expression += ", review_seq = :seq, reviewer = :reviewer"
                # Items registered before pending inputs left GSI2 drop out of it now.
                expression += " REMOVE GSI2PK, GSI2SK"
            values[":state"] = S(state.value)
            updates.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": key(task_pk(task.id), ti_sk(result.input_id)),
                        "UpdateExpression": expression,
                        "ConditionExpression": "#state = :pending",
                        "ExpressionAttributeNames": {"#state": "state", "#commit": "commit"},
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        if items:
            deltas["review_items"] = len(items)
        # Sequence numbers are handed out under a condition on the counter's old value: two
        # batches committing at once cannot take the same numbers (one retries with fresh ones).
        counter = self._counter_update(
            task.id,
            deltas,
            condition="review_seq = :old",
            extra_set={"review_seq": next_seq + len(items)},
            extra_values={":old": N(next_seq)},
        )
        reviewers_unchanged = {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": key(task_pk(task.id), META),
                "ConditionExpression": "reviewers_from = :from",
                "ExpressionAttributeValues": {":from": N(task.reviewers_from_sequence)},
            }
        }
        open_marker = {
            "Put": {
                "TableName": self.table,
                "Item": {**key(task_pk(task.id), marker), "inputs": S(",".join(r.input_id for r in chunk))},
            }
        }
        # The input updates come first, so cancellation reasons line up with the chunk's inputs.
        transaction = [*updates, counter, reviewers_unchanged, open_marker]
        return _CommitPlan(marker, transaction, annotations, items)

    def repair_open_commits(self, task_id: str) -> list[ReviewItem]:
        """Finish every commit of the task that a crash left between its two steps; finalize
        calls this for batches whose retries all failed. Returns the review items it wrote."""
        markers = {text(i, "SK") for i in self._partition(task_pk(task_id), OPEN)}
        return self._repair_commits(task_id, markers)

    def _repair_commits(self, task_id: str, markers: set[str]) -> list[ReviewItem]:
        """Write whatever an open commit's step 2 did not, with conditional puts (a record that
        exists — perhaps decided by a reviewer since — is left alone), then close the commit."""
        found = self._batch_get([key(task_pk(task_id), m) for m in sorted(markers)])
        if not found:
            return []  # every commit finished: the common retry after a complete batch
        task = self.get_task(task_id)
        repaired: list[ReviewItem] = []
        for marker in found:
            input_ids = [i for i in text(marker, "inputs").split(",") if i]
            annotations: list[Annotation] = []
            items: list[ReviewItem] = []
            for ti in self._batch_get([key(task_pk(task.id), ti_sk(i)) for i in input_ids]):
                if text(ti, "state") == InputState.DONE.value and text(ti, "commit") == text(marker, "SK"):
                    rebuilt_annotations, item = _records_of(task, ti)
                    annotations.extend(rebuilt_annotations)
                    if item is not None:
                        items.append(item)
            existing = {
                (text(i, "PK"), text(i, "SK"))
                for i in self._batch_get(
                    [key(task_pk(task.id), ann_sk(a.input_id, a.id)) for a in annotations]
                    + [key(f"RI#{i.id}", META) for i in items]
                )
            }
            for annotation in annotations:
                if (task_pk(task.id), ann_sk(annotation.input_id, annotation.id)) not in existing:
                    self._put_new(_annotation_item(annotation))
            for item in items:
                if (f"RI#{item.id}", META) not in existing and self._put_new(_review_item(item)):
                    repaired.append(item)
            self.client.delete_item(TableName=self.table, Key=key(task_pk(task.id), text(marker, "SK")))
        return repaired

    def _put_new(self, item: Item) -> bool:
        """PutItem unless the key exists; False when it did."""
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def mark_enqueued(self, item_ids: Sequence[str]) -> None:
        for item_id in item_ids:
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=key(f"RI#{item_id}", META),
                    UpdateExpression="SET enqueued = :t",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues={":t": {"BOOL": True}},
                )
            except ClientError as exc:
                if code_of(exc) != "ConditionalCheckFailedException":
                    raise

    def counts(self, task_id: str) -> TaskCounts:
        item = self._get(task_pk(task_id), COUNTS)
        if item is None:
            return TaskCounts()
        labeled_by = {
            name[len(LABELED_BY) :]: int(value["N"])
            for name, value in item.items()
            if name.startswith(LABELED_BY) and int(value["N"]) > 0
        }
        return TaskCounts(**{name: number(item, name) for name in COUNTERS}, labeled_by=labeled_by)

    # ------------------------------------------------------------------ results

    @staticmethod
    def _predictions_of(item: Item) -> list[tuple[Prediction, Band]]:
        return decode_predictions(_preds_of(item), text(item, "PK")[len("TASK#") :], text(item, "SK")[3:])

    def predictions(self, task_id: str, input_id: str | None = None) -> list[Prediction]:
        if input_id is not None:
            item = self._get(task_pk(task_id), ti_sk(input_id))
            found = [p for p, _ in self._predictions_of(item)] if item else []
            return sorted(found, key=lambda p: p.id)
        everything = [p for i in self._partition(task_pk(task_id), "IN#") for p, _ in self._predictions_of(i)]
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
        if query.input_ids:
            # By input: one partition range per input, in input order.
            def by_input() -> Iterator[Item]:
                for input_id in sorted(set(query.input_ids)):
                    yield from self._partition(
                        task_pk(task), f"AN#{input_id}#", after=self._cursor_in(query.cursor, f"AN#{input_id}#")
                    )

            source, cursor_of = by_input(), "SK"
        elif len(query.labelers) == 1 and query.match == "all" and len(query.statuses) <= 1:
            # The input manager's "labeled by X (with status Y)": GSI1 reads only those.
            prefix = f"{query.statuses[0]}#" if query.statuses else ""
            source = self._index("GSI1", f"TASK#{task}#BY#{query.labelers[0]}", after=query.cursor, prefix=prefix)
            cursor_of = "GSI1SK"
        else:
            source, cursor_of = self._partition(task_pk(task), "AN#", after=query.cursor), "SK"
        matched: list[Item] = []
        for item in source:
            if wanted(item):
                matched.append(item)
                if len(matched) > query.limit:
                    break
        page = [Annotation.model_validate_json(text(i, "body")) for i in matched[: query.limit]]
        cursor = text(matched[query.limit - 1], cursor_of) if len(matched) > query.limit else None
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
            for i in self._index("GSI2", f"TASK#{task_id}#STATE#{InputState.FAILED.value}")
        ]

    def get_review_item(self, item_id: str) -> ReviewItem:
        item = self._get(f"RI#{item_id}", META)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        return _read_review_item(item)

    def review_items(
        self, task_id: str, reviewer: str | None = None, state: ReviewState | None = None
    ) -> list[ReviewItem]:
        if reviewer is not None:
            prefix = f"{state.value}#" if state else ""
            listed = self._index("GSI1", f"TASK#{task_id}#REVIEWER#{reviewer}", prefix=prefix)
        else:
            listed = self._index("GSI2", f"TASK#{task_id}#RI")
        # The indexes do not carry the enqueued flag and the lease: the items themselves do
        # (read consistently, which also sees an item decided a moment ago as decided).
        found = [_read_review_item(i) for i in self._batch_get([key(text(i, "PK"), META) for i in listed])]
        found = [i for i in found if state is None or i.state == state]
        return sorted(found, key=lambda i: i.sequence)

    def set_lease(self, item_id: str, receipt: str | None) -> None:
        params: dict[str, Any] = {
            "TableName": self.table,
            "Key": key(f"RI#{item_id}", META),
            "ConditionExpression": "attribute_exists(PK)",
        }
        if receipt is None:
            params["UpdateExpression"] = "REMOVE lease"
        else:
            params["UpdateExpression"] = "SET lease = :r"
            params["ExpressionAttributeValues"] = {":r": S(receipt)}
        try:
            self.client.update_item(**params)
        except ClientError as exc:
            if code_of(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"no review item {item_id}") from None
            raise

    def record_decision(self, item: ReviewItem, annotations: Sequence[Annotation]) -> None:
        if len(annotations) + 2 > TRANSACT_LIMIT:
            raise ValidationError(f"a decision covers at most {TRANSACT_LIMIT - 2} predictions")
        old = {
            text(i, "SK"): Annotation.model_validate_json(text(i, "body"))
            for i in self._batch_get([key(task_pk(a.task_id), ann_sk(a.input_id, a.id)) for a in annotations])
        }
        deltas: dict[str, int] = {"review_items_decided": 1}
        for annotation in annotations:
            _merge(deltas, _annotation_delta(old.get(ann_sk(annotation.input_id, annotation.id)), annotation))
        stored = _review_item(item)
        writes: list[Item] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": key(f"RI#{item.id}", META),
                    "UpdateExpression": "SET #state = :state, body = :body, GSI1SK = :gsi1sk",
                    "ConditionExpression": "#state = :pending",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {
                        ":state": stored["state"],
                        ":body": stored["body"],
                        ":gsi1sk": stored["GSI1SK"],
                        ":pending": S(ReviewState.PENDING.value),
                    },
                }
            },
            *({"Put": {"TableName": self.table, "Item": _annotation_item(a)}} for a in annotations),
            self._counter_update(item.task_id, deltas),
        ]
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
                current = self.get_review_item(item.id)  # NotFound if it is gone
                raise Conflict(
                    f"review item {item.id} was already decided ({current.decision}) by {current.decided_by}",
                    {"decision": current.decision, "decided_by": current.decided_by},
                ) from None
            raise NotFound(f"no task {item.task_id} (was it deleted?)") from None

    def replace_routing(self, task: Task, routed: Sequence[RoutedInput]) -> list[ReviewItem]:
        next_seq = number(self._counts_item(task.id), "review_seq")
        # Only the thresholds come from the caller: reviewers may have changed meanwhile.
        task = self.get_task(task.id).model_copy(
            update={
                "thresholds": task.thresholds,
                "concept_thresholds": task.concept_thresholds,
                "updated_at": task.updated_at,
            }
        )
        fresh: list[RoutedInput] = []  # inputs that need review for the first time, in order
        existing_items = {
            text(i, "input_id"): _read_review_item(i)
            for i in self._batch_get([key(f"RI#{review_item_id(task.id, r.input_id)}", META) for r in routed])
        }
        task_inputs = {
            text(i, "SK")[3:]: i for i in self._batch_get([key(task_pk(task.id), ti_sk(r.input_id)) for r in routed])
        }
        writes: list[Item] = []
        for entry in routed:
            existing = existing_items.get(entry.input_id)
            if existing is not None and existing.state == ReviewState.DECIDED:
                continue  # a person decided this input; their labels stand
            ti = task_inputs.get(entry.input_id)
            if ti is not None:
                rebanded = [(p, entry.bands.get(p.id, b)) for p, b in self._predictions_of(ti)]
                writes.append({"PutRequest": {"Item": {**ti, "preds": {"B": encode_predictions(rebanded)}}}})
            for old in self._partition(task_pk(task.id), f"AN#{entry.input_id}#"):
                if text(old, "labeler_kind") == LabelerKind.MODEL.value:
                    writes.append({"DeleteRequest": {"Key": key(text(old, "PK"), text(old, "SK"))}})
            new_keys = {ann_sk(a.input_id, a.id) for a in entry.annotations}
            writes = [
                w for w in writes if "DeleteRequest" not in w or text(w["DeleteRequest"]["Key"], "SK") not in new_keys
            ]
            writes.extend({"PutRequest": {"Item": _annotation_item(a)}} for a in entry.annotations)
            if existing is not None and not entry.needs_review:
                writes.append({"DeleteRequest": {"Key": key(f"RI#{existing.id}", META)}})
            elif existing is not None:
                updated = existing.model_copy(update={"prediction_ids": list(entry.review_prediction_ids)})
                writes.append(
                    {"PutRequest": {"Item": {**_review_item(updated), "enqueued": {"BOOL": existing.enqueued}}}}
                )
            elif entry.needs_review:
                fresh.append(entry)
        created = partition.number_review_items(task, fresh, next_seq)
        writes.extend({"PutRequest": {"Item": _review_item(item)}} for item in created)
        next_seq += len(created)
        self._batch_write(writes)
        self.client.put_item(
            TableName=self.table, Item=self._task_item(task), ConditionExpression="attribute_exists(PK)"
        )
        self.client.update_item(
            TableName=self.table,
            Key=key(task_pk(task.id), COUNTS),
            UpdateExpression="SET review_seq = :n",
            ExpressionAttributeValues={":n": N(next_seq)},
        )
        # Rethreshold touches many inputs at once; counting afresh beats tracking every delta.
        self._recount(task.id)
        return created

    def change_reviewers(self, task_id: str, reviewers: Sequence[Reviewer]) -> Task:
        for attempt in range(8):
            next_seq = number(self._counts_item(task_id), "review_seq")
            task = self.get_task(task_id).model_copy(
                update={"reviewers": list(reviewers), "reviewers_from_sequence": next_seq, "updated_at": utcnow()}
            )
            Task.model_validate(task.model_dump())  # the task's own rules (unique names) still hold
            try:
                # The counter must not move between reading it and switching reviewers, or an
                # item numbered meanwhile would fall under neither set.
                self._transact(
                    [
                        {
                            "ConditionCheck": {
                                "TableName": self.table,
                                "Key": key(task_pk(task_id), COUNTS),
                                "ConditionExpression": "review_seq = :seq",
                                "ExpressionAttributeValues": {":seq": N(next_seq)},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": self._task_item(task),
                                "ConditionExpression": "attribute_exists(PK)",
                            }
                        },
                    ]
                )
                return task
            except _Cancelled:
                self._backoff(attempt)
        raise Conflict(f"task {task_id} kept changing; try again")

    def put_annotations(self, annotations: Sequence[Annotation]) -> None:
        self._batch_write([{"PutRequest": {"Item": _annotation_item(a)}} for a in annotations])
        for task_id in sorted({a.task_id for a in annotations}):
            self._recount(task_id)  # rare, person-sized edits: recounting beats tracking deltas

    def delete_annotations(self, task_id: str, annotation_ids: Sequence[str]) -> int:
        wanted = set(annotation_ids)
        doomed = [
            key(text(i, "PK"), text(i, "SK"))
            for i in self._partition(task_pk(task_id), "AN#")
            if text(i, "SK").rsplit("#", 1)[-1] in wanted
        ]
        self._batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
        if doomed:
            self._recount(task_id)
        return len(doomed)

    def create_dataset_version(self, version: DatasetVersion) -> None:
        try:
            self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": key(task_pk(version.task_id), META),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **key(task_pk(version.task_id), f"VER#{_pad(version.number)}"),
                                "body": S(_dump(version)),
                            },
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
        except _Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
                raise NotFound(f"no task {version.task_id}") from None
            raise Conflict(f"version {version.number} of task {version.task_id} already exists") from None

    def dataset_versions(self, task_id: str) -> list[DatasetVersion]:
        return [DatasetVersion.model_validate_json(text(i, "body")) for i in self._partition(task_pk(task_id), "VER#")]

    def _recount(self, task_id: str) -> None:
        """Recompute the counters from the task's records (rethreshold and input deletion)."""
        counts = self._get(task_pk(task_id), COUNTS)
        if counts is None:
            return
        totals: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        for ti in self._partition(task_pk(task_id), "IN#"):
            totals["inputs_total"] += 1
            state = text(ti, "state")
            if state == InputState.DONE.value:
                totals["inputs_done"] += 1
            elif state == InputState.FAILED.value:
                totals["inputs_failed"] += 1
            for _prediction, band in self._predictions_of(ti):
                totals[band.value] += 1
        for entry in self._partition(task_pk(task_id), "AN#"):
            _merge(totals, _annotation_delta(None, Annotation.model_validate_json(text(entry, "body"))))
        for ri in self._index("GSI2", f"TASK#{task_id}#RI"):
            totals["review_items"] += 1
            if text(ri, "state") == ReviewState.DECIDED.value:
                totals["review_items_decided"] += 1
        stale = [name for name in counts if name.startswith(LABELED_BY)]
        item: Item = {**counts, **{name: N(0) for name in stale}, **{name: N(v) for name, v in totals.items()}}
        self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_exists(PK)")
