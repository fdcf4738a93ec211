"""The table and its key schema (single-table design; keys in docs/ARCHITECTURE.md): where each
entity lives, and the builders of the items whose keys and index entries several writers share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autolabel.aws.records.codecs import Item, N, S, dump
from autolabel.domain.models import Annotation, ReviewItem, Task

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

META, COUNTS, SEQ, OPEN = "META", "COUNTS", "SEQ", "OPEN#"


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


def key(pk: str, sk: str) -> Item:
    return {"PK": S(pk), "SK": S(sk)}


def pad(n: int) -> str:
    return f"{n:012d}"


def task_pk(task_id: str) -> str:
    return f"TASK#{task_id}"


def ti_sk(input_id: str) -> str:
    return f"IN#{input_id}"


def ann_sk(input_id: str, annotation_id: str) -> str:
    return f"AN#{input_id}#{annotation_id}"


def task_item(task: Task) -> Item:
    return {
        **key(task_pk(task.id), META),
        "GSI1PK": S("TASKS"),
        "GSI1SK": S(task.name),
        "name": S(task.name),
        # Batches check this in their transaction: a reviewer change mid-run makes a batch
        # numbered under the old reviewers retry under the new ones.
        "reviewers_from": N(task.reviewers_from_sequence),
        "body": S(dump(task)),
    }


def annotation_item(a: Annotation) -> Item:
    labeler = a.labeled_by.display
    return {
        **key(task_pk(a.task_id), ann_sk(a.input_id, a.id)),
        "GSI1PK": S(f"TASK#{a.task_id}#BY#{labeler}"),
        "GSI1SK": S(f"{a.status.value}#{a.input_id}#{a.id}"),
        "labeler": S(labeler),
        "labeler_kind": S(a.labeled_by.kind.value),
        "status": S(a.status.value),
        "concept": S(a.concept),
        "body": S(dump(a)),
    }


def review_item(item: ReviewItem) -> Item:
    return {
        **key(f"RI#{item.id}", META),
        "GSI1PK": S(f"TASK#{item.task_id}#REVIEWER#{item.reviewer}"),
        "GSI1SK": S(f"{item.state.value}#{pad(item.sequence)}"),
        "GSI2PK": S(f"TASK#{item.task_id}#RI"),
        "GSI2SK": S(pad(item.sequence)),
        "task_id": S(item.task_id),
        "input_id": S(item.input_id),
        "state": S(item.state.value),
        "body": S(dump(item)),
    }
