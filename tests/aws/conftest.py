"""An AWS account in-process: moto's S3, DynamoDB and SQS, the resources the stack creates,
the shipped models published to S3, and the real Lambda handlers loaded against them."""

from __future__ import annotations

import importlib.util
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autolabel import bootstrap
from autolabel.app.models import publish_shipped, shipped_models_dir
from autolabel.aws import clients
from autolabel.aws.records import create_table
from tests.contract.adapters import REGION, moto_aws

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autolabel-data-test"
TABLE = "autolabel-test"
IDEMPOTENCY = "autolabel-idempotency-test"
JOBS_QUEUE = "autolabel-jobs-test"
CLASSIFIER = "efficientnet-lite0-imagenet"
DETECTOR = "ssd-mobilenet-v2-coco"
CLASSIFIER_CONCEPTS = ["tiger cat", "Egyptian cat", "tabby", "coffee mug", "espresso", "cup", "crash helmet", "suit"]


_import_lock = threading.Lock()


@dataclass
class FakeContext:
    """The parts of the Lambda context powertools reads."""

    function_name: str = "autolabel-test"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:autolabel-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Account:
    world: Any  # autolabel.bootstrap.AwsWorld, for seeding and inspecting
    modules: dict[str, ModuleType] = field(default_factory=dict)

    def handler(self, name: str) -> Callable[[dict[str, Any]], Any]:
        """The real handler of functions/<name>, imported once per test (one 'container').

        Step Functions runs Map iterations on several threads; the lock keeps them from
        importing the module twice at once (a Lambda container imports it once, alone)."""
        with _import_lock:
            module = self._load(name)
        return lambda event: module.handler(event, FakeContext())

    def run_jobs(self, most: int = 1000) -> int:
        """Deliver the jobs queue's messages to the run_job handler, as its event source does
        (one at a time), until the queue is empty; returns how many invocations that took."""
        sqs = clients.sqs(REGION)
        url = sqs.get_queue_url(QueueName=JOBS_QUEUE)["QueueUrl"]
        for invocation in range(most):
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])
            messages = received.get("Messages", [])
            if not messages:
                return invocation
            self.handler("run_job")({"Records": [sqs_record(url, message) for message in messages]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        raise AssertionError(f"the jobs queue still had messages after {most} invocations")

    def _load(self, name: str) -> ModuleType:
        module = self.modules.get(name)
        if module is None:
            module_name = f"autolabel_fn_{name}"
            # A new container builds its world and app afresh (the API's resolver lives in lambda_app).
            sys.modules.pop("autolabel.api.lambda_app", None)
            bootstrap.aws.cache_clear()
            spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "handler.py")
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            self.modules[name] = module
        return module


def sqs_record(url: str, message: Any) -> dict[str, Any]:
    """An SQS event record as Lambda's event source delivers ``message``."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", "AIDAEXAMPLE"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{url.rsplit('/', 1)[-1]}",
        "awsRegion": REGION,
    }


def create_resources() -> None:
    create_table(clients.dynamodb(REGION), TABLE)
    clients.dynamodb(REGION).create_table(
        TableName=IDEMPOTENCY,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    clients.s3(REGION).create_bucket(Bucket=BUCKET)
    clients.sqs(REGION).create_queue(QueueName=JOBS_QUEUE)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Account]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AUTOLABEL_TABLE": TABLE,
        "AUTOLABEL_BUCKET": BUCKET,
        "AUTOLABEL_IDEMPOTENCY_TABLE": IDEMPOTENCY,
        "AUTOLABEL_JOBS_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/{JOBS_QUEUE}",
        "AUTOLABEL_REGION": REGION,
        "AUTOLABEL_CACHE_DIR": str(tmp_path / "lambda-tmp"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "autolabel",
        "POWERTOOLS_METRICS_NAMESPACE": "autolabel",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    from autolabel.aws.settings import Settings

    with moto_aws():
        create_resources()
        world = bootstrap.aws_world(Settings(cache_dir=tmp_path / "seed-cache"))
        # The classifier (18 MB) keeps each test's upload to moto short; tests that need the
        # detector (70 MB) publish it themselves.
        publish_shipped(world.backends, shipped_models_dir(), only={CLASSIFIER})
        account = Account(world)
        yield account
        for name in account.modules:
            sys.modules.pop(f"autolabel_fn_{name}", None)
        bootstrap.aws.cache_clear()
