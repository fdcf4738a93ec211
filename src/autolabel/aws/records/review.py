"""Review items and decisions: listing, enqueue flags and leases, recording a reviewer's
decision, and re-routing a task's inputs when its thresholds or reviewers change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.aws.records.codecs import Item, N, S, encode_predictions, number, predictions_of, read_review_item, text
from autolabel.aws.records.counters import (
    REVIEWER_DECIDED,
    annotation_delta,
    counter_update,
    counts_item,
    merge,
)
from autolabel.aws.records.keys import (
    COUNTS,
    META,
    ann_sk,
    annotation_item,
    key,
    review_item,
    task_item,
    task_pk,
    ti_sk,
)
from autolabel.aws.records.table import TRANSACT_LIMIT, Cancelled, Table
from autolabel.aws.records.tasks import get_task
from autolabel.domain import partition
from autolabel.domain.errors import Conflict, Contended, NotFound, ValidationError
from autolabel.domain.ids import review_item_id
from autolabel.domain.models import Annotation, LabelerKind, Reviewer, ReviewItem, ReviewState, Task, utcnow
from autolabel.domain.routing import RoutedInput
from autolabel.ports import Page


def get_review_item(table: Table, item_id: str) -> ReviewItem:
    item = table.get(f"RI#{item_id}", META)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return read_review_item(item)


def review_items(
    table: Table, task_id: str, reviewer: str | None = None, state: ReviewState | None = None
) -> list[ReviewItem]:
    if reviewer is not None:
        prefix = f"{state.value}#" if state else ""
        listed = table.index("GSI1", f"TASK#{task_id}#REVIEWER#{reviewer}", prefix=prefix)
    else:
        listed = table.index("GSI2", f"TASK#{task_id}#RI")
    # The indexes do not carry the enqueued flag and the lease: the items themselves do
    # (read consistently, which also sees an item decided a moment ago as decided).
    found = [read_review_item(i) for i in table.batch_get([key(text(i, "PK"), META) for i in listed])]
    found = [i for i in found if state is None or i.state == state]
    return sorted(found, key=lambda i: i.sequence)


def review_item_page(
    table: Table, task_id: str, reviewer: str | None, cursor: str | None, limit: int
) -> Page[ReviewItem]:
    """One page of the task's (or one reviewer's) items: one Query of limit + 1 index entries
    and the items themselves, however many the task holds."""
    index, pk = ("GSI1", f"TASK#{task_id}#REVIEWER#{reviewer}") if reviewer else ("GSI2", f"TASK#{task_id}#RI")
    listed: list[Item] = []
    # after= skips the cursor's own entry, which may take one place of the page.
    for entry in table.index(index, pk, after=cursor, page_size=limit + 2):
        listed.append(entry)
        if len(listed) > limit:
            break
    chosen = listed[:limit]
    found = {text(i, "PK"): read_review_item(i) for i in table.batch_get([key(text(i, "PK"), META) for i in chosen])}
    items = [found[text(i, "PK")] for i in chosen if text(i, "PK") in found]
    return Page(items, text(chosen[-1], f"{index}SK") if len(listed) > limit else None)


def set_lease(table: Table, item_id: str, receipt: str | None) -> None:
    params: dict[str, Any] = {
        "TableName": table.name,
        "Key": key(f"RI#{item_id}", META),
        "ConditionExpression": "attribute_exists(PK)",
    }
    if receipt is None:
        params["UpdateExpression"] = "REMOVE lease"
    else:
        params["UpdateExpression"] = "SET lease = :r"
        params["ExpressionAttributeValues"] = {":r": S(receipt)}
    try:
        table.client.update_item(**params)
    except ClientError as exc:
        if code_of(exc) == "ConditionalCheckFailedException":
            raise NotFound(f"no review item {item_id}") from None
        raise


def mark_enqueued(table: Table, item_ids: Sequence[str]) -> None:
    for item_id in item_ids:
        try:
            table.client.update_item(
                TableName=table.name,
                Key=key(f"RI#{item_id}", META),
                UpdateExpression="SET enqueued = :t",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )
        except ClientError as exc:
            if code_of(exc) != "ConditionalCheckFailedException":
                raise


def record_decision(table: Table, item: ReviewItem, annotations: Sequence[Annotation]) -> None:
    if len(annotations) + 2 > TRANSACT_LIMIT:
        raise ValidationError(f"a decision covers at most {TRANSACT_LIMIT - 2} predictions")
    old = {
        text(i, "SK"): Annotation.model_validate_json(text(i, "body"))
        for i in table.batch_get([key(task_pk(a.task_id), ann_sk(a.input_id, a.id)) for a in annotations])
    }
    deltas: dict[str, int] = {"review_items_decided": 1, REVIEWER_DECIDED + item.reviewer: 1}
    for annotation in annotations:
        merge(deltas, annotation_delta(old.get(ann_sk(annotation.input_id, annotation.id)), annotation))
    stored = review_item(item)
    writes: list[Item] = [
        {
            "Update": {
                "TableName": table.name,
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
        *({"Put": {"TableName": table.name, "Item": annotation_item(a)}} for a in annotations),
        counter_update(table, item.task_id, deltas),
    ]
    try:
        table.transact(writes)
    except Cancelled as cancelled:
        if cancelled.reasons and cancelled.reasons[0] == "ConditionalCheckFailed":
            current = get_review_item(table, item.id)  # NotFound if it is gone
            raise Conflict(
                f"review item {item.id} was already decided ({current.decision}) by {current.decided_by}",
                {"decision": current.decision, "decided_by": current.decided_by},
            ) from None
        raise NotFound(f"no task {item.task_id} (was it deleted?)") from None


def replace_routing(table: Table, task: Task, routed: Sequence[RoutedInput]) -> list[ReviewItem]:
    next_seq = number(counts_item(table, task.id), "review_seq")
    # Only the thresholds come from the caller: reviewers may have changed meanwhile.
    task = get_task(table, task.id).model_copy(
        update={
            "thresholds": task.thresholds,
            "concept_thresholds": task.concept_thresholds,
            "updated_at": task.updated_at,
        }
    )
    fresh: list[RoutedInput] = []  # inputs that need review for the first time, in order
    existing_items = {
        text(i, "input_id"): read_review_item(i)
        for i in table.batch_get([key(f"RI#{review_item_id(task.id, r.input_id)}", META) for r in routed])
    }
    task_inputs = {
        text(i, "SK")[3:]: i for i in table.batch_get([key(task_pk(task.id), ti_sk(r.input_id)) for r in routed])
    }
    writes: list[Item] = []
    for entry in routed:
        existing = existing_items.get(entry.input_id)
        if existing is not None and existing.state == ReviewState.DECIDED:
            continue  # a person decided this input; their labels stand
        ti = task_inputs.get(entry.input_id)
        if ti is not None:
            rebanded = [(p, entry.bands.get(p.id, b)) for p, b in predictions_of(ti)]
            writes.append({"PutRequest": {"Item": {**ti, "preds": {"B": encode_predictions(rebanded)}}}})
        for old in table.partition(task_pk(task.id), f"AN#{entry.input_id}#"):
            if text(old, "labeler_kind") == LabelerKind.MODEL.value:
                writes.append({"DeleteRequest": {"Key": key(text(old, "PK"), text(old, "SK"))}})
        new_keys = {ann_sk(a.input_id, a.id) for a in entry.annotations}
        writes = [
            w for w in writes if "DeleteRequest" not in w or text(w["DeleteRequest"]["Key"], "SK") not in new_keys
        ]
        writes.extend({"PutRequest": {"Item": annotation_item(a)}} for a in entry.annotations)
        if existing is not None and not entry.needs_review:
            writes.append({"DeleteRequest": {"Key": key(f"RI#{existing.id}", META)}})
        elif existing is not None:
            updated = existing.model_copy(update={"prediction_ids": list(entry.review_prediction_ids)})
            writes.append({"PutRequest": {"Item": {**review_item(updated), "enqueued": {"BOOL": existing.enqueued}}}})
        elif entry.needs_review:
            fresh.append(entry)
    created = partition.number_review_items(task, fresh, next_seq)
    writes.extend({"PutRequest": {"Item": review_item(item)}} for item in created)
    next_seq += len(created)
    table.batch_write(writes)
    table.client.put_item(TableName=table.name, Item=task_item(task), ConditionExpression="attribute_exists(PK)")
    table.client.update_item(
        TableName=table.name,
        Key=key(task_pk(task.id), COUNTS),
        UpdateExpression="SET review_seq = :n",
        ExpressionAttributeValues={":n": N(next_seq)},
    )
    return created


def change_reviewers(table: Table, task_id: str, reviewers: Sequence[Reviewer]) -> Task:
    for attempt in range(8):
        next_seq = number(counts_item(table, task_id), "review_seq")
        task = get_task(table, task_id).model_copy(
            update={"reviewers": list(reviewers), "reviewers_from_sequence": next_seq, "updated_at": utcnow()}
        )
        Task.model_validate(task.model_dump())  # the task's own rules (unique names) still hold
        try:
            # The counter must not move between reading it and switching reviewers, or an
            # item numbered meanwhile would fall under neither set.
            table.transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": table.name,
                            "Key": key(task_pk(task_id), COUNTS),
                            "ConditionExpression": "review_seq = :seq",
                            "ExpressionAttributeValues": {":seq": N(next_seq)},
                        }
                    },
                    {
                        "Put": {
                            "TableName": table.name,
                            "Item": task_item(task),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )
            return task
        except Cancelled:
            table.backoff(attempt)
    raise Contended(f"task {task_id} kept changing; try again")
