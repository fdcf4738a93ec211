"""Recording a batch: the two-step commit, and the repair of one a crash interrupted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from autolabel.aws.records.codecs import Item, N, S, encode_predictions, number, records_of, text
from autolabel.aws.records.counters import annotation_delta, counter_update, counts_item, merge, review_item_delta
from autolabel.aws.records.keys import (
    COUNTS,
    META,
    OPEN,
    ann_sk,
    annotation_item,
    key,
    pad,
    review_item,
    task_pk,
    ti_sk,
)
from autolabel.aws.records.table import TRANSACT_LIMIT, Cancelled, Table
from autolabel.aws.records.tasks import get_task
from autolabel.domain import partition
from autolabel.domain.errors import NotFound
from autolabel.domain.models import Annotation, Band, InputState, ReviewItem, Task
from autolabel.ports import InputResult

FIXED = 3  # every batch transaction: the counters update, the reviewers check, the open marker


@dataclass(frozen=True)
class _CommitPlan:
    marker: str  # sort key of the open-commit marker
    transaction: list[Item]
    annotations: list[Annotation]
    review_items: list[ReviewItem]


def commit_batch(table: Table, task: Task, results: Sequence[InputResult]) -> list[ReviewItem]:
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
    counts = counts_item(table, task.id)
    unique = list({r.input_id: r for r in reversed(results)}.values())[::-1]  # first wins, order kept
    stored_inputs = {
        text(i, "SK")[3:]: i for i in table.batch_get([key(task_pk(task.id), ti_sk(r.input_id)) for r in unique])
    }
    # Inputs already DONE/FAILED were recorded by an earlier attempt; others are not in the run.
    pending = [r for r in unique if text(stored_inputs.get(r.input_id, {}), "state") == InputState.PENDING.value]
    recorded = [i for r in unique if (i := stored_inputs.get(r.input_id)) is not None and text(i, "commit")]
    # A retry of a batch a crash interrupted between the two steps finishes it first.
    created = _repair_commits(table, task.id, {text(i, "commit") for i in recorded}) if recorded else []
    chunk_size = TRANSACT_LIMIT - FIXED
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start : start + chunk_size]
        while chunk:
            stored = get_task(table, task.id)  # its reviewers, not the caller's copy
            plan = _plan(table, stored, chunk, stored_inputs, number(counts, "review_seq"))
            try:
                table.transact(plan.transaction)
            except Cancelled as cancelled:
                counts = counts_item(table, task.id)  # NotFound if the task was deleted meanwhile
                recorded_now = {
                    r.input_id
                    for r, code in zip(chunk, cancelled.reasons, strict=False)
                    if code == "ConditionalCheckFailed"
                }
                chunk = [r for r in chunk if r.input_id not in recorded_now]
                continue
            _write_records(table, task.id, plan.marker, plan.annotations, plan.review_items)
            created.extend(plan.review_items)
            counts = {**counts, "review_seq": N(number(counts, "review_seq") + len(plan.review_items))}
            break
    return created


def _write_records(
    table: Table, task_id: str, marker: str, annotations: Sequence[Annotation], items: Sequence[ReviewItem]
) -> None:
    """Step 2 of a commit: the records, review items last, then close the marker."""
    table.batch_write([{"PutRequest": {"Item": annotation_item(a)}} for a in annotations])
    table.batch_write([{"PutRequest": {"Item": review_item(i)}} for i in items])
    if table.get(task_pk(task_id), COUNTS) is None:
        # The task was deleted while this batch wrote: take back what its sweep may have missed.
        doomed = [key(task_pk(task_id), ann_sk(a.input_id, a.id)) for a in annotations]
        doomed += [key(f"RI#{i.id}", META) for i in items]
        table.batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
        raise NotFound(f"no task {task_id} (was it deleted?)")
    table.client.delete_item(TableName=table.name, Key=key(task_pk(task_id), marker))


def _plan(
    table: Table, task: Task, chunk: Sequence[InputResult], stored_inputs: dict[str, Item], next_seq: int
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
                    ":gsisk": S(pad(ordinal)),
                }
            )
            # Failed inputs are the one state GSI2 lists (failed_inputs, with reasons).
            expression = "SET #state = :state, failure = :failure, GSI2PK = :gsi, GSI2SK = :gsisk, #commit = :commit"
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
                merge(deltas, annotation_delta(None, annotation))
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
                    "TableName": table.name,
                    "Key": key(task_pk(task.id), ti_sk(result.input_id)),
                    "UpdateExpression": expression,
                    "ConditionExpression": "#state = :pending",
                    "ExpressionAttributeNames": {"#state": "state", "#commit": "commit"},
                    "ExpressionAttributeValues": values,
                }
            }
        )
    for numbered in items:
        merge(deltas, review_item_delta(numbered, 1))
    # Sequence numbers are handed out under a condition on the counter's old value: two
    # batches committing at once cannot take the same numbers (one retries with fresh ones).
    counter = counter_update(
        table,
        task.id,
        deltas,
        condition="review_seq = :old",
        extra_set={"review_seq": next_seq + len(items)},
        extra_values={":old": N(next_seq)},
    )
    reviewers_unchanged = {
        "ConditionCheck": {
            "TableName": table.name,
            "Key": key(task_pk(task.id), META),
            "ConditionExpression": "reviewers_from = :from",
            "ExpressionAttributeValues": {":from": N(task.reviewers_from_sequence)},
        }
    }
    open_marker = {
        "Put": {
            "TableName": table.name,
            "Item": {**key(task_pk(task.id), marker), "inputs": S(",".join(r.input_id for r in chunk))},
        }
    }
    # The input updates come first, so cancellation reasons line up with the chunk's inputs.
    transaction = [*updates, counter, reviewers_unchanged, open_marker]
    return _CommitPlan(marker, transaction, annotations, items)


def repair_open_commits(table: Table, task_id: str) -> list[ReviewItem]:
    """Finish every commit of the task that a crash left between its two steps; finalize
    calls this for batches whose retries all failed. Returns the review items it wrote."""
    markers = {text(i, "SK") for i in table.partition(task_pk(task_id), OPEN)}
    return _repair_commits(table, task_id, markers)


def _repair_commits(table: Table, task_id: str, markers: set[str]) -> list[ReviewItem]:
    """Write whatever an open commit's step 2 did not, with conditional puts (a record that
    exists — perhaps decided by a reviewer since — is left alone), then close the commit."""
    found = table.batch_get([key(task_pk(task_id), m) for m in sorted(markers)])
    if not found:
        return []  # every commit finished: the common retry after a complete batch
    task = get_task(table, task_id)
    repaired: list[ReviewItem] = []
    for marker in found:
        input_ids = [i for i in text(marker, "inputs").split(",") if i]
        annotations: list[Annotation] = []
        items: list[ReviewItem] = []
        for ti in table.batch_get([key(task_pk(task.id), ti_sk(i)) for i in input_ids]):
            if text(ti, "state") == InputState.DONE.value and text(ti, "commit") == text(marker, "SK"):
                rebuilt_annotations, item = records_of(task, ti)
                annotations.extend(rebuilt_annotations)
                if item is not None:
                    items.append(item)
        existing = {
            (text(i, "PK"), text(i, "SK"))
            for i in table.batch_get(
                [key(task_pk(task.id), ann_sk(a.input_id, a.id)) for a in annotations]
                + [key(f"RI#{i.id}", META) for i in items]
            )
        }
        for annotation in annotations:
            if (task_pk(task.id), ann_sk(annotation.input_id, annotation.id)) not in existing:
                table.put_new(annotation_item(annotation))
        for item in items:
            if (f"RI#{item.id}", META) not in existing and table.put_new(review_item(item)):
                repaired.append(item)
        table.client.delete_item(TableName=table.name, Key=key(task_pk(task.id), text(marker, "SK")))
    return repaired
