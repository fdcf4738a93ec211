"""The cost benchmark's arithmetic: capacity units from request shapes, dollars from counts."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from bench.aws_cost import PRICE, Meter, costs
from infra.config import Config


def model(service: str, name: str) -> Any:
    return SimpleNamespace(
        name=name, service_model=SimpleNamespace(service_id=SimpleNamespace(hyphenize=lambda: service))
    )


def item(size: int, gsi: bool = False) -> dict[str, Any]:
    body = {"PK": {"S": "p"}, "body": {"S": "x" * (size - 7)}}
    if gsi:
        body["GSI1PK"] = {"S": "g"}
    return body


def test_write_units_follow_item_size_transactions_and_indexes() -> None:
    meter = Meter()
    meter._before(model("dynamodb", "PutItem"), {"Item": item(1500)})  # 2 units
    meter._before(model("dynamodb", "PutItem"), {"Item": item(900, gsi=True)})  # 1 + 1 for GSI1
    meter._before(
        model("dynamodb", "TransactWriteItems"), {"TransactItems": [{"Put": {"Item": item(500)}}]}
    )  # 2: transactional
    meter._before(
        model("dynamodb", "BatchWriteItem"),
        {"RequestItems": {"t": [{"PutRequest": {"Item": item(100)}}, {"DeleteRequest": {"Key": {}}}]}},
    )  # 1 + 1
    assert meter.write_units == pytest.approx(2 + 2 + 2 + 2)
    assert meter.requests[("dynamodb", "PutItem")] == 2


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
    # CPU seconds spread over M/1769 vCPUs, billed at M/1024 GB: memory cancels out (below 6 vCPUs).
    assert gb_s == pytest.approx(1769.0)
    assert rows[("Lambda", "GB-seconds (arm64)")][1] == pytest.approx(gb_s * PRICE["lambda_gb_s"])
