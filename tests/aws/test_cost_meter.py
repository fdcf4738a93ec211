"""The cost benchmark's arithmetic: write units from the items DynamoDB stores, dollars from counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from autolabel.aws.records import create_table
from bench.aws_cost import PRICE, Meter, billed_seconds, costs
from infra.config import Config
from tests.contract.adapters import REGION, moto_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.literals import ProjectionTypeType


def item(pk: str, size: int, **extra: str) -> dict[str, Any]:
    body: dict[str, Any] = {"PK": {"S": pk}, "SK": {"S": "s"}}
    body.update({name: {"S": value} for name, value in extra.items()})
    body["body"] = {"S": "x" * (size - sum(len(k) + len(v["S"]) for k, v in body.items()) - 4)}
    return body


@pytest.fixture
def metered() -> Iterator[tuple[Meter, Any]]:
    with moto_aws():
        session = boto3.session.Session(region_name=REGION)
        reader = session.client("dynamodb")
        create_table(reader, "records")  # the real table: INCLUDE projections
        projections: tuple[tuple[str, ProjectionTypeType], ...] = (("t", "ALL"), ("keys-only", "KEYS_ONLY"))
        for name, projection in projections:
            reader.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "GSI1PK", "GSI1SK")
                ],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "GSI1",
                        "KeySchema": [
                            {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                            {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": projection},
                    }
                ],
            )
        meter = Meter(reader=reader)
        yield meter, meter.attach(session.client("dynamodb"))


def units(meter: Meter, call: Any) -> float:
    before = meter.write_units
    call()
    return meter.write_units - before


def test_puts_bill_per_kb_twice_in_transactions_and_once_per_index_entry(metered: tuple[Meter, Any]) -> None:
    meter, client = metered
    assert units(meter, lambda: client.put_item(TableName="t", Item=item("a", 1500))) == 2
    assert units(meter, lambda: client.put_item(TableName="t", Item=item("b", 900, GSI1PK="g", GSI1SK="1"))) == 1 + 1
    put = {"Put": {"TableName": "t", "Item": item("c", 500)}}
    assert units(meter, lambda: client.transact_write_items(TransactItems=[put])) == 2
    deletes = {"t": [{"DeleteRequest": {"Key": {"PK": {"S": "missing"}, "SK": {"S": "s"}}}}]}
    assert units(meter, lambda: client.batch_write_item(RequestItems=deletes)) == 1
    assert meter.requests[("dynamodb", "PutItem")] == 2


def test_updates_bill_the_index_by_what_changes_in_it(metered: tuple[Meter, Any]) -> None:
    meter, client = metered
    for table in ("t", "keys-only"):
        client.put_item(TableName=table, Item=item("a", 600, GSI1PK="g", GSI1SK="1"))

    def update(table: str, expression: str, values: dict[str, Any] | None = None) -> float:
        params: dict[str, Any] = {"TableName": table, "Key": {"PK": {"S": "a"}, "SK": {"S": "s"}}}
        params["UpdateExpression"] = expression
        if values:
            params["ExpressionAttributeValues"] = values
        return units(meter, lambda: client.update_item(**params))

    # A projected attribute changes: the ALL index is written, the KEYS_ONLY one is not.
    assert update("t", "SET flag = :t", {":t": {"BOOL": True}}) == 1 + 1
    assert update("keys-only", "SET flag = :t", {":t": {"BOOL": True}}) == 1
    # The index key changes: the old entry is deleted and a new one put.
    assert update("t", "SET GSI1SK = :k", {":k": {"S": "2"}}) == 1 + 2
    assert update("keys-only", "SET GSI1SK = :k", {":k": {"S": "2"}}) == 1 + 2
    # The item leaves a sparse index: one delete.
    assert update("t", "REMOVE GSI1PK, GSI1SK") == 1 + 1
    # Nothing in the index changes any more.
    assert update("t", "SET note = :o", {":o": {"S": "o"}}) == 1


def test_the_records_table_indexes_skip_the_enqueued_flag(metered: tuple[Meter, Any]) -> None:
    meter, client = metered
    review_item = item("RI#1", 600, GSI1PK="g", GSI1SK="1", GSI2PK="h", GSI2SK="1", state="PENDING")
    client.put_item(TableName="records", Item=review_item)
    mark = {"TableName": "records", "Key": {"PK": {"S": "RI#1"}, "SK": {"S": "s"}}}
    enqueued = lambda: client.update_item(  # noqa: E731
        **mark, UpdateExpression="SET enqueued = :t", ExpressionAttributeValues={":t": {"BOOL": True}}
    )
    assert units(meter, enqueued) == 1  # the item only, neither index
    decided = lambda: client.update_item(  # noqa: E731
        **mark,
        UpdateExpression="SET #s = :d",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":d": {"S": "DECIDED"}},
    )
    assert units(meter, decided) == 1 + 1 + 1  # state is projected into both


def test_billed_duration_follows_the_vcpu_share_and_the_threads() -> None:
    assert billed_seconds(10.0, 1769, 1) == pytest.approx(10.0)
    assert billed_seconds(10.0, 2048, 1) == pytest.approx(10.0)  # the extra 0.16 vCPU idles
    assert billed_seconds(10.0, 3538, 2) == pytest.approx(5.0)
    assert billed_seconds(10.0, 884.5, 1) == pytest.approx(20.0)  # half a vCPU: twice as long


def test_dollars_from_counts() -> None:
    config = Config()
    measured = {
        "requests": Counter({("sqs", "SendMessageBatch"): 10, ("s3", "GetObject"): 1000, ("s3", "PutObject"): 2}),
        "write_units": 1_000_000.0,
        "read_units": 0.0,
        "cpu": {"infer_batch": 1024.0},
        "invocations": {"infer_batch": 5},
        "batches": 4,
    }
    rows = {(s, w): (q, d) for s, w, q, d in costs(measured, config, 1000)}
    assert rows[("DynamoDB", "write units")][1] == pytest.approx(0.625)
    assert rows[("S3", "GET/HEAD")][1] == pytest.approx(0.0004)
    assert rows[("Step Functions", "state transitions")][0] == 7
    gb_s = rows[("Lambda", "GB-seconds (arm64)")][0]
    expected = billed_seconds(1024.0, config.inference_memory_mb, config.intra_op_threads)
    assert gb_s == pytest.approx(expected * config.inference_memory_mb / 1024)
    assert rows[("Lambda", "GB-seconds (arm64)")][1] == pytest.approx(gb_s * PRICE["lambda_gb_s"])
