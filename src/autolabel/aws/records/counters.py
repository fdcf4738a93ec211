"""A task's counters item (``TASK#<id>``/``COUNTS``): what each record adds to it, the update
that moves it within a transaction, and recounting it from the task's records."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.aws.records.codecs import Item, N, number, predictions_of, text
from autolabel.aws.records.keys import COUNTS, key, task_pk
from autolabel.aws.records.table import Table
from autolabel.domain.errors import NotFound
from autolabel.domain.models import Annotation, AnnotationStatus, InputState, ReviewItem, ReviewState
from autolabel.domain.progress import TaskCounts

LABELED_BY = "by#"  # counters item: one attribute per labeler, so ADD works on it directly
REVIEWER_ITEMS = "ri#"  # review items assigned to a reviewer (one attribute per reviewer)
REVIEWER_DECIDED = "rd#"  # ... and how many of them are decided
PER_NAME = (LABELED_BY, REVIEWER_ITEMS, REVIEWER_DECIDED)
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


def annotation_delta(old: Annotation | None, new: Annotation | None) -> dict[str, int]:
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


def review_item_delta(item: ReviewItem, sign: int) -> dict[str, int]:
    """Counter changes when ``item`` appears (+1) or goes (-1)."""
    delta = {"review_items": sign, REVIEWER_ITEMS + item.reviewer: sign}
    if item.state == ReviewState.DECIDED:
        delta.update({"review_items_decided": sign, REVIEWER_DECIDED + item.reviewer: sign})
    return delta


def merge(total: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def counter_update(
    table: Table,
    task_id: str,
    deltas: dict[str, int],
    condition: str | None = None,
    extra_set: dict[str, int] | None = None,
    extra_values: Item | None = None,
) -> Item:
    """The transaction item that adds ``deltas`` to the counters (and sets ``extra_set``)."""
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
        "TableName": table.name,
        "Key": key(task_pk(task_id), COUNTS),
        "UpdateExpression": expression,
        "ConditionExpression": condition or "attribute_exists(PK)",
    }
    if names:
        update["ExpressionAttributeNames"] = names
    if values:
        update["ExpressionAttributeValues"] = values
    return {"Update": update}


def input_delta(task_input: Item | None, annotations: Sequence[Item], item: Item | None) -> dict[str, int]:
    """Counter changes when an input leaves a task with its annotations and review item."""
    delta: dict[str, int] = {}
    if task_input is not None:
        delta["inputs_total"] = -1
        state = text(task_input, "state")
        if state == InputState.DONE.value:
            delta["inputs_done"] = -1
        elif state == InputState.FAILED.value:
            delta["inputs_failed"] = -1
        for _prediction, band in predictions_of(task_input):
            delta[band.value] = delta.get(band.value, 0) - 1
    for entry in annotations:
        merge(delta, annotation_delta(Annotation.model_validate_json(text(entry, "body")), None))
    if item is not None:
        merge(delta, review_item_delta(ReviewItem.model_validate_json(text(item, "body")), -1))
    return {k: v for k, v in delta.items() if v}


def add(table: Table, task_id: str, deltas: dict[str, int]) -> None:
    """Add ``deltas`` to the task's counters on their own (a task deleted meanwhile has none)."""
    try:
        table.client.update_item(**counter_update(table, task_id, deltas)["Update"])
    except ClientError as exc:
        if code_of(exc) != "ConditionalCheckFailedException":
            raise


def counts_item(table: Table, task_id: str) -> Item:
    item = table.get(task_pk(task_id), COUNTS)
    if item is None:
        raise NotFound(f"no task {task_id} (was it deleted?)")
    return item


def read_counts(table: Table, task_id: str) -> TaskCounts:
    item = table.get(task_pk(task_id), COUNTS)
    if item is None:
        return TaskCounts()

    def per_name(prefix: str) -> dict[str, int]:
        return {
            name[len(prefix) :]: int(value["N"])
            for name, value in item.items()
            if name.startswith(prefix) and int(value["N"]) > 0
        }

    return TaskCounts(
        **{name: number(item, name) for name in COUNTERS},
        labeled_by=per_name(LABELED_BY),
        reviewer_items=per_name(REVIEWER_ITEMS),
        reviewer_items_decided=per_name(REVIEWER_DECIDED),
    )


def recount(table: Table, task_id: str) -> None:
    """Recompute the counters from the task's records (rethreshold and input deletion)."""
    counts = table.get(task_pk(task_id), COUNTS)
    if counts is None:
        return
    totals: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    for ti in table.partition(task_pk(task_id), "IN#"):
        totals["inputs_total"] += 1
        state = text(ti, "state")
        if state == InputState.DONE.value:
            totals["inputs_done"] += 1
        elif state == InputState.FAILED.value:
            totals["inputs_failed"] += 1
        for _prediction, band in predictions_of(ti):
            totals[band.value] += 1
    for entry in table.partition(task_pk(task_id), "AN#"):
        merge(totals, annotation_delta(None, Annotation.model_validate_json(text(entry, "body"))))
    for ri in table.index("GSI2", f"TASK#{task_id}#RI"):
        merge(totals, review_item_delta(ReviewItem.model_validate_json(text(ri, "body")), 1))
    stale = [name for name in counts if name.startswith(PER_NAME)]
    item: Item = {**counts, **{name: N(0) for name in stale}, **{name: N(v) for name, v in totals.items()}}
    table.client.put_item(TableName=table.name, Item=item, ConditionExpression="attribute_exists(PK)")
