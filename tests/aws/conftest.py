"""An AWS account in-process: moto's S3, DynamoDB and SQS, the resources the stack creates,
the shipped models published to S3, and the real Lambda handlers loaded against them.

IAM is enforced (moto's INITIAL_NO_AUTH_ACTION_COUNT = 0, plus tests/contract/moto_iam.py):
each handler's "container" runs under an IAM user holding exactly the statements the CDK app
synthesizes for that function's role (tests/aws/iam.py), with its own keys, never the process's
environment (the environment holds moto's placeholder keys, which IAM refuses). Seeding and
inspection go through ``account.world``, an admin.

AWS's size and time limits are checked on everything (tests/aws/limits.py): every AWS call, every
Step Functions state, every handler invocation, and an API route's modelled time.

A new function is one entry in FUNCTIONS: its folder under functions/ → its CDK construct (and,
if API Gateway invokes it, one in API_FUNCTIONS)."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

from autolabel import bootstrap
from autolabel.app.models import publish_shipped, shipped_models_dir
from autolabel.aws import clients
from autolabel.aws.clients import AccessKey
from autolabel.aws.records import create_table
from tests.aws import limits
from tests.aws.iam import ACCOUNT, ADMIN, Physical, Resolver, create_user, environment, role_statements
from tests.aws.limits import Watch
from tests.contract.adapters import REGION, moto_aws
from tests.infra.conftest import Synthesized, synthesized  # noqa: F401 - the session fixture

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autolabel-data-test"
TABLE = "autolabel-test"
IDEMPOTENCY = "autolabel-idempotency-test"
JOBS_QUEUE = "autolabel-jobs-test"
CLASSIFIER = "efficientnet-lite0-imagenet"
DETECTOR = "ssd-mobilenet-v2-coco"
CLASSIFIER_CONCEPTS = ["tiger cat", "Egyptian cat", "tabby", "coffee mug", "espresso", "cup", "crash helmet", "suit"]
STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:autolabel-runs"
UPLOADS_QUEUE = "autolabel-uploads"
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:autolabel-alarms"

# functions/<name> → its construct in the synthesized stack (whose role and environment it gets).
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "start_run": lambda stack: stack.pipeline.start,
    "infer_batch": lambda stack: stack.pipeline.infer,
    "finalize_run": lambda stack: stack.pipeline.finalize,
    "label_upload": lambda stack: stack.review.label,
    "run_job": lambda stack: stack.jobs.function,
    "api": lambda stack: stack.api.handler,
}
API_FUNCTIONS = {"api"}  # invoked by API Gateway: 29 s of modelled time per route
# Other principals whose calls moto makes: the state machine invokes the functions and reads the
# run's manifest (tests/aws/test_state_machine.py hands its keys to moto's interpreter).
ROLES: dict[str, Callable[[Any], Any]] = {**FUNCTIONS, "state_machine": lambda stack: stack.pipeline.state_machine}


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


@dataclass(frozen=True)
class Identity:
    """What a function's container runs with: its IAM user's keys and its settings."""

    user: str
    credentials: AccessKey
    environment: dict[str, str]
    statements: list[dict[str, Any]]


@dataclass
class Account:
    world: Any  # autolabel.bootstrap.AwsWorld, for seeding and inspecting (an admin)
    admin: AccessKey
    identities: dict[str, Identity]
    cache_dir: Path
    limits: Watch
    modules: dict[str, ModuleType] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """An admin's client, for what a test sets up or inspects."""
        return clients.session(REGION, self.admin).client(service)  # type: ignore[call-overload]

    def revoke(self, function: str, statement: int) -> dict[str, Any]:
        """Take one statement away from a function's role; returns it."""
        identity = self.identities[function]
        self.client("iam").delete_user_policy(UserName=identity.user, PolicyName=f"s{statement}")
        return identity.statements[statement]

    def handler(self, name: str) -> Callable[[dict[str, Any]], Any]:
        """The real handler of functions/<name>, imported once per test (one 'container').

        Step Functions runs Map iterations on several threads; the lock keeps them from
        importing the module twice at once (a Lambda container imports it once, alone)."""
        with _import_lock:
            module = self._load(name)

        def run(event: Any) -> Any:
            return module.handler(event, FakeContext())

        return lambda event: self.limits.invoke(name, run, event, api=name in API_FUNCTIONS)

    def run_jobs(self, most: int = 1000) -> int:
        """Deliver the jobs queue's messages to the run_job handler, as its event source does
        (one at a time), until the queue is empty; returns how many invocations that took."""
        sqs = self.client("sqs")
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
            with mock.patch.object(bootstrap, "aws", lambda: self.world_of(name)):
                spec.loader.exec_module(module)
            self.modules[name] = module
        return module

    def world_of(self, function: str) -> Any:
        """The world a function's container builds at cold start: its role's keys, and its
        synthesized environment — but a variable a test sets (monkeypatch.setenv, a deployer's
        configuration) wins, as it would in the function's configuration."""
        from autolabel.aws.settings import Settings

        identity = self.identities[function]
        values: dict[str, Any] = {
            k.removeprefix("AUTOLABEL_").lower(): v for k, v in identity.environment.items() if k not in os.environ
        }
        settings = Settings(**{**values, "cache_dir": self.cache_dir / function})
        return bootstrap.aws_world(settings, identity.credentials)


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
    clients.sqs(REGION).create_queue(QueueName=UPLOADS_QUEUE)
    clients.sqs(REGION).create_queue(QueueName=JOBS_QUEUE)


def moto_resources(synth: Synthesized) -> dict[str, Physical]:
    """The stack's resources that the tests create in moto, by logical id."""
    stack = synth.stack

    def table(name: str) -> Physical:
        return Physical(ref=name, arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")

    return {
        synth.logical_id(stack.storage.table): table(TABLE),
        synth.logical_id(stack.storage.idempotency): table(IDEMPOTENCY),
        synth.logical_id(stack.storage.bucket): Physical(ref=BUCKET, arn=f"arn:aws:s3:::{BUCKET}"),
        synth.logical_id(stack.pipeline.state_machine): Physical(ref=STATE_MACHINE, arn=STATE_MACHINE),
        synth.logical_id(stack.review.uploads): Physical(
            ref=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{UPLOADS_QUEUE}",
            arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{UPLOADS_QUEUE}",
        ),
        synth.logical_id(stack.jobs.queue): Physical(
            ref=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{JOBS_QUEUE}",
            arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{JOBS_QUEUE}",
        ),
        synth.logical_id(stack.alerts.topic): Physical(ref=ALARM_TOPIC, arn=ALARM_TOPIC),
        # tests/aws/test_state_machine.py names each moto function after its logical id.
        **{
            synth.logical_id(function): Physical(ref=synth.logical_id(function), arn=function_arn(synth, function))
            for function in (of(stack) for of in FUNCTIONS.values())
        },
    }


def function_arn(synth: Synthesized, function: Any) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{synth.logical_id(function)}"


def create_identities(synth: Synthesized) -> tuple[AccessKey, dict[str, Identity]]:
    iam = clients.session(REGION).client("iam")
    resolve = Resolver(REGION, moto_resources(synth))
    identities = {}
    for name, construct_of in ROLES.items():
        construct = construct_of(synth.stack)
        statements = resolve(role_statements(synth, construct))
        user = f"role-{name}"
        keys = create_user(iam, user, statements)
        identities[name] = Identity(user, keys, environment(synth, construct, resolve), statements)
    return create_user(iam, "admin", ADMIN), identities


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synthesized: Synthesized) -> Iterator[Account]:  # noqa: F811
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
    from moto.core.authorization import enable_iam_authentication

    from autolabel.aws.settings import Settings

    with moto_aws():
        create_resources()
        admin, identities = create_identities(synthesized)
        world = bootstrap.aws_world(Settings(cache_dir=tmp_path / "seed-cache"), admin)
        # The classifier (18 MB) keeps each test's upload to moto short; tests that need the
        # detector (70 MB) publish it themselves.
        publish_shipped(world.backends, shipped_models_dir(), only={CLASSIFIER})
        with limits.enforced() as watch, enable_iam_authentication():
            account = Account(world, admin, identities, tmp_path / "lambda-tmp", watch)
            yield account
            watch.check()
        for name in account.modules:
            sys.modules.pop(f"autolabel_fn_{name}", None)
        bootstrap.aws.cache_clear()
