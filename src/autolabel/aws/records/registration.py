"""Registering a task's inputs (PENDING task-input items with their ordinals) and listing them.

Two ways, by size: a run's registration puts each input alone and recounts the total after;
an upload's few inputs are put in transactions that add to the total themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.aws.records.codecs import Item, N, S, number, text
from autolabel.aws.records.counters import counter_update, counts_item
from autolabel.aws.records.keys import COUNTS, key, task_pk, ti_sk
from autolabel.aws.records.table import TRANSACT_LIMIT, Cancelled, Table
from autolabel.domain.errors import Contended
from autolabel.domain.models import InputState

BULK_REGISTRATION = 25  # registering this many inputs at once skips transactions


def add_task_inputs(table: Table, task_id: str, input_ids: Sequence[str]) -> int:
    wanted = list(dict.fromkeys(input_ids))
    counts = counts_item(table, task_id)
    existing = {text(i, "SK")[3:] for i in table.batch_get([key(task_pk(task_id), ti_sk(i)) for i in wanted])}
    new = [i for i in wanted if i not in existing]
    if len(new) >= BULK_REGISTRATION:
        added = _register_in_bulk(table, task_id, new)
    else:
        added = _register_in_transactions(table, task_id, new, counts)
    if len(new) >= BULK_REGISTRATION or "total_stale" in counts:
        _recount_total(table, task_id)
    return added


def _register_in_bulk(table: Table, task_id: str, new: Sequence[str]) -> int:
    """A run's registration: one conditional PutItem per input (one write unit, where a
    transaction bills two), the total recounted afterwards (``_recount_total``).

    The ordinals are reserved first with one ADD, which also marks the total stale: a crash
    before the recount leaves it marked, and the next registration (start_run's retry)
    recounts. The condition on each put keeps a concurrent upload's registration — or its
    result — from being reset to PENDING.
    """
    reserved = table.client.update_item(
        TableName=table.name,
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
        added += table.put_new(item)
    return added


def _recount_total(table: Table, task_id: str) -> None:
    """Set inputs_total to the number of the task's inputs, unless another registration
    (``ti_seq``) or recount (``total_version``) happened while counting: then count again."""
    for attempt in range(8):
        counts = counts_item(table, task_id)
        version = number(counts, "total_version")
        params: dict[str, Any] = {
            "TableName": table.name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :in)",
            "ExpressionAttributeValues": {":pk": S(task_pk(task_id)), ":in": S("IN#")},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        total = 0
        while True:
            page = table.client.query(**params)
            total += int(page.get("Count", 0))
            if not page.get("LastEvaluatedKey"):
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        try:
            table.client.update_item(
                TableName=table.name,
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
            table.backoff(attempt)
    raise Contended(f"task {task_id} kept registering inputs; its total is recounted on the next run")


def _register_in_transactions(table: Table, task_id: str, new: Sequence[str], counts: Item) -> int:
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
                        "TableName": table.name,
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
            update = counter_update(
                table,
                task_id,
                {"inputs_total": len(chunk)},
                condition="ti_seq = :old",
                extra_set={"ti_seq": base + len(chunk)},
                extra_values={":old": N(base)},
            )
            try:
                table.transact([*puts, update])
            except Cancelled as cancelled:
                reasons = cancelled.reasons
                chunk = [i for i, r in zip(chunk, reasons, strict=False) if r != "ConditionalCheckFailed"]
                counts = counts_item(table, task_id)
                continue
            added += len(chunk)
            counts = {**counts, "ti_seq": N(base + len(chunk))}
            break
    return added


def task_inputs(table: Table, task_id: str, state: InputState | None = None) -> list[str]:
    if state == InputState.FAILED:
        return [text(i, "SK")[3:] for i in table.index("GSI2", f"TASK#{task_id}#STATE#{state.value}")]
    # Pending and done inputs are not indexed: putting every input into an index and taking
    # it out again cost more write units than the run's own records, while a run reads its
    # pending inputs twice (start, finalize) — one query of the task's partition each.
    found = table.partition(task_pk(task_id), "IN#", state=state.value if state else None)
    return [text(i, "SK")[3:] for i in sorted(found, key=lambda i: number(i, "ordinal"))]
