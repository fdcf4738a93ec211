"""tests/aws/limits.py can fail: each limit, fed a payload or a route just over it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from autolabel.aws import clients
from autolabel.aws.records import create_table
from tests.aws import limits
from tests.aws.limits import LimitExceeded, Watch
from tests.contract.adapters import REGION, moto_aws

KIB = 1024


@pytest.fixture
def watch() -> Iterator[Watch]:
    with moto_aws(), limits.enforced() as watched:
        yield watched


def breached(watch: Watch) -> str:
    with pytest.raises(AssertionError) as failed:
        watch.check()
    return str(failed.value)


def test_an_sqs_message_and_a_batch_over_256_kib(watch: Watch) -> None:
    sqs = clients.sqs(REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * (256 * KIB))  # exactly the limit is fine
    watch.check()
    with pytest.raises(LimitExceeded):
        sqs.send_message(QueueUrl=url, MessageBody="x" * (256 * KIB + 1))
    with pytest.raises(LimitExceeded):  # each fits, together they do not
        entries: list[Any] = [{"Id": str(i), "MessageBody": "x" * (100 * KIB)} for i in range(3)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert "SQS" in breached(watch)


def test_a_dynamodb_item_that_grows_past_400_kb_and_oversized_writes(watch: Watch) -> None:
    dynamodb = clients.dynamodb(REGION)
    create_table(dynamodb, "t")
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    half = "x" * 200_500  # together just over 400,000 B, under the 405,000 B moto refuses itself

    def grow(attribute: str) -> None:
        dynamodb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression=f"SET {attribute} = :v",
            ExpressionAttributeValues={":v": {"S": half}},
        )

    grow("a")
    watch.check()
    with pytest.raises(LimitExceeded):  # each update is small enough; the item is not
        grow("b")
    assert "DynamoDB item" in breached(watch)

    watch.violations.clear()
    puts: list[Any] = [{"Put": {"TableName": "t", "Item": {"PK": {"S": str(i)}, "SK": {"S": "x"}}}} for i in range(101)]
    with pytest.raises(LimitExceeded):
        dynamodb.transact_write_items(TransactItems=puts)
    requests: list[Any] = [{"PutRequest": {"Item": {"PK": {"S": str(i)}, "SK": {"S": "x"}}}} for i in range(26)]
    with pytest.raises(LimitExceeded):
        dynamodb.batch_write_item(RequestItems={"t": requests})
    message = breached(watch)
    assert "TransactWriteItems of 101" in message and "BatchWriteItem of 26" in message


def test_a_lambda_response_over_6_mb(watch: Watch) -> None:
    assert watch.invoke("f", lambda event: {"data": "x" * (5 * KIB * KIB)}, {}) is not None
    with pytest.raises(LimitExceeded):
        watch.invoke("f", lambda event: {"data": "x" * (6 * KIB * KIB)}, {})
    assert "response" in breached(watch)


def test_an_api_route_past_29_s_of_modelled_time(watch: Watch) -> None:
    """300 queue creations model 30 s (100 ms each), though moto answers them in a moment."""
    sqs = clients.sqs(REGION)
    event = {"rawPath": "/tasks", "requestContext": {"http": {"method": "POST"}}}

    def creates(count: int) -> Any:
        return lambda _: [sqs.create_queue(QueueName=f"q{i}") for i in range(count)] and {"statusCode": 201}

    started = time.perf_counter()
    watch.invoke("api", creates(280), event, api=True)
    watch.check()
    with pytest.raises(LimitExceeded, match=r"POST /tasks: 3\d\.\d s modelled"):
        watch.invoke("api", creates(300), event, api=True)
    assert time.perf_counter() - started < 29  # the measured time was not what failed it
    assert "sqs:CreateQueue" in breached(watch)


def test_a_step_functions_state_over_256_kib(watch: Watch) -> None:
    sfn = clients.stepfunctions(REGION)
    definition = {
        "StartAt": "Grow",
        "States": {"Grow": {"Type": "Pass", "Parameters": {"big.$": "$.big"}, "End": True}},
    }
    arn = sfn.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"big": "x" * (257 * KIB)}))
    while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
        time.sleep(0.05)
    assert "Step Functions" in breached(watch)
