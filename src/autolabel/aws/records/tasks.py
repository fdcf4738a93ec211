"""Tasks: the task item, its name claim (``TASKNAME#<name>``, which keeps names unique) and
its counters item, created and deleted together."""

from __future__ import annotations

from autolabel.aws.records.codecs import Item, N, S, text
from autolabel.aws.records.counters import COUNTERS
from autolabel.aws.records.keys import COUNTS, META, key, task_item, task_pk
from autolabel.aws.records.table import Cancelled, Table
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.models import Task


def create_task(table: Table, task: Task) -> None:
    counters: Item = {**key(task_pk(task.id), COUNTS), "review_seq": N(0), "ti_seq": N(0)}
    counters.update({name: N(0) for name in COUNTERS})
    try:
        table.transact(
            [
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": {**key(f"TASKNAME#{task.name}", META), "task_id": S(task.id)},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": task_item(task),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Put": {"TableName": table.name, "Item": counters}},
            ]
        )
    except Cancelled:
        raise Conflict(f"a task named '{task.name}' already exists") from None


def get_task(table: Table, task_id: str) -> Task:
    item = table.get(task_pk(task_id), META)
    if item is None:
        raise NotFound(f"no task {task_id}")
    return Task.model_validate_json(text(item, "body"))


def find_task(table: Table, name: str) -> Task | None:
    claim = table.get(f"TASKNAME#{name}", META)
    if claim is None:
        return None
    try:
        return get_task(table, text(claim, "task_id"))
    except NotFound:
        return None


def list_tasks(table: Table) -> list[Task]:
    return [Task.model_validate_json(text(i, "body")) for i in table.index("GSI1", "TASKS")]


def update_task(table: Table, task: Task) -> None:
    current = get_task(table, task.id)
    put: Item = {
        "Put": {
            "TableName": table.name,
            "Item": task_item(task),
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
                    "TableName": table.name,
                    "Key": key(f"TASKNAME#{current.name}", META),
                    "ConditionExpression": "task_id = :id",
                    "ExpressionAttributeValues": {":id": S(task.id)},
                }
            },
            {
                "Put": {
                    "TableName": table.name,
                    "Item": {**key(f"TASKNAME#{task.name}", META), "task_id": S(task.id)},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            put,
        ]
    try:
        table.transact(items)
    except Cancelled as cancelled:
        if cancelled.reasons and cancelled.reasons[-1] == "ConditionalCheckFailed":
            raise NotFound(f"no task {task.id}") from None
        raise Conflict(f"a task named '{task.name}' already exists") from None


def delete_task(table: Table, task_id: str) -> None:
    task = get_task(table, task_id)
    # The task and its counters go first, in one step: an in-flight batch's transaction is
    # conditional on the counters, so it fails with NotFound instead of leaving orphans.
    try:
        table.transact(
            [
                {
                    "Delete": {
                        "TableName": table.name,
                        "Key": key(task_pk(task_id), META),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {"Delete": {"TableName": table.name, "Key": key(task_pk(task_id), COUNTS)}},
                {
                    "Delete": {
                        "TableName": table.name,
                        "Key": key(f"TASKNAME#{task.name}", META),
                        "ConditionExpression": "attribute_not_exists(PK) OR task_id = :id",
                        "ExpressionAttributeValues": {":id": S(task_id)},
                    }
                },
            ]
        )
    except Cancelled:
        raise NotFound(f"no task {task_id}") from None
    doomed = [key(task_pk(task_id), text(i, "SK")) for i in table.partition(task_pk(task_id), "")]
    doomed += [key(text(i, "PK"), META) for i in table.index("GSI2", f"TASK#{task_id}#RI")]
    table.batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])


def delete_task_records(table: Table, task_id: str, limit: int) -> int:
    pk = task_pk(task_id)
    # The counters go first, every time (deleting a missing item is a no-op): an in-flight
    # batch's transaction is conditional on them, so it fails with NotFound instead of writing
    # behind the deletion.
    table.client.delete_item(TableName=table.name, Key=key(pk, COUNTS))
    doomed: list[Item] = []
    for item in table.partition(pk, ""):
        if len(doomed) >= limit:
            break
        if text(item, "SK") not in (META, COUNTS):
            doomed.append(key(pk, text(item, "SK")))
    if len(doomed) < limit:
        for item in table.index("GSI2", f"TASK#{task_id}#RI"):
            if len(doomed) >= limit:
                break
            doomed.append(key(text(item, "PK"), META))
    table.batch_write([{"DeleteRequest": {"Key": k}} for k in doomed])
    return len(doomed)
