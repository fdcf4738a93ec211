"""The state machine CDK synthesizes, executed by moto's Step Functions interpreter with the
real handlers running in-process: images in S3 → annotations in DynamoDB → review items in the
right reviewers' SQS queues; and the same photos and thresholds give the same results as the
embedded pipeline."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from botocore.config import Config as BotoConfig

from autolabel.app import datasets, tasks
from autolabel.app.access import find_task
from autolabel.app.input_manager import every_annotation
from autolabel.app.models import publish_shipped, shipped_models_dir
from autolabel.app.review import queue_of
from autolabel.app.runs.local import run_task
from autolabel.aws import clients
from autolabel.aws.executions import start_run
from autolabel.domain import partition
from autolabel.domain.models import Reviewer, TaskStatus, Thresholds
from autolabel.domain.users import Actor
from autolabel.ports import AnnotationQuery, Backends
from tests.aws.conftest import BUCKET, DETECTOR, STATE_MACHINE, Account
from tests.conftest import SAMPLES
from tests.contract.adapters import REGION
from tests.infra.conftest import Synthesized, synthesized  # noqa: F401 - the session fixture

CONCEPTS = ["cat", "cup", "motorcycle", "person", "bowl", "spoon"]
THRESHOLDS = Thresholds(upper=0.8, lower=0.3)
REVIEWERS = [Reviewer(name="alice", weight=2), Reviewer(name="bob")]

OWNER = Actor.workspace_owner()


def runnable_definition(synth: Synthesized, arns: dict[str, str]) -> str:
    """The synthesized DefinitionString with its CloudFormation tokens filled in."""
    machine = next(iter(synth.resources("AWS::StepFunctions::StateMachine").values()))
    bucket = synth.logical_id(synth.stack.storage.bucket)
    parts = []
    for part in machine["Properties"]["DefinitionString"]["Fn::Join"][1]:
        if isinstance(part, str):
            parts.append(part)
        elif "Fn::GetAtt" in part:
            parts.append(arns[part["Fn::GetAtt"][0]])
        elif part == {"Ref": "AWS::Partition"}:
            parts.append("aws")
        elif part == {"Ref": bucket}:
            parts.append(BUCKET)
        else:
            raise AssertionError(f"unexpected token {part}")
    definition = json.loads("".join(parts))
    fan_out = definition["States"]["InferBatches"]
    # moto's interpreter rejects ItemBatcher, so it is rewritten as an ItemSelector that hands
    # the Lambda the very event shape ItemBatcher produces, in batches of one; and it rejects
    # an integer ToleratedFailurePercentage, so the same value goes in as a float. Nothing
    # else of the synthesized definition is changed.
    batcher = fan_out.pop("ItemBatcher")
    assert batcher["BatchInput"] == {"task_id.$": "$.task_id"}
    fan_out["ItemSelector"] = {
        "Items": [{"input_id.$": "$$.Map.Item.Value.input_id"}],
        "BatchInput": batcher["BatchInput"],
    }
    fan_out["ToleratedFailurePercentage"] = float(fan_out["ToleratedFailurePercentage"])
    return json.dumps(definition)


@pytest.fixture
def deployed(account: Account, synthesized: Synthesized) -> Iterator[tuple[Account, str]]:  # noqa: F811
    """The pipeline's functions and state machine in moto; invocations run the real handlers."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    role = account.client("iam").create_role(RoleName="autolabel-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = account.client("lambda")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    raise RuntimeError('routed in-process')\n")
    stack = synthesized.stack
    handlers = {"StartRun": "start_run", "InferBatch": "infer_batch", "FinalizeRun": "finalize_run"}
    arns: dict[str, str] = {}
    routes: dict[str, str] = {}
    for fn in (stack.pipeline.start, stack.pipeline.infer, stack.pipeline.finalize):
        logical = synthesized.logical_id(fn)
        created = lam.create_function(
            FunctionName=logical,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": archive.getvalue()},
            Architectures=["arm64"],
        )
        arns[logical] = created["FunctionArn"]
        routes[logical] = handlers[fn.node.id]

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        """moto's Docker-free Lambda echoes the event; here the real handler answers instead, and a
        raised exception becomes the runtime's error payload (errorType is what Catch matches)."""
        name = function_name.rsplit(":", 1)[-1]
        payload = json.loads(body) if body else {}
        try:
            return json.dumps(account.handler(routes[name])(payload)).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    keys = account.identities["state_machine"].credentials

    def as_the_state_machine(region: str, service: str, state_credentials: Any = None) -> Any:
        """moto's interpreter calls Lambda and S3 with placeholder keys; on AWS it is the state
        machine's role that invokes the functions and reads the manifest."""
        no_retries = BotoConfig(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1})
        return clients.session(region, keys).client(service, config=no_retries)  # type: ignore[call-overload]

    sfn = account.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=STATE_MACHINE.rsplit(":", 1)[-1], definition=runnable_definition(synthesized, arns), roleArn=role
    )["stateMachineArn"]
    assert arn == STATE_MACHINE  # the ARN the API's policy was resolved to
    with (
        mock.patch.object(LambdaSimpleBackend, "invoke", invoke),
        mock.patch.object(lambda_eval_utils, "boto_client_for", as_the_state_machine),
        mock.patch.object(resource_eval_s3, "boto_client_for", as_the_state_machine),
    ):
        yield account, arn


def run(account: Account, arn: str, task_id: str, number: int = 1) -> dict[str, Any]:
    sfn = clients.stepfunctions(REGION, account.admin)
    execution = start_run(sfn, arn, task_id, number)
    assert execution.endswith(f":{task_id}-run-{number}")  # found in the console by the task id
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        described = dict(sfn.describe_execution(executionArn=execution))
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError("the execution did not finish")


def create(backends: Backends) -> Any:
    return tasks.create_task(
        backends,
        OWNER,
        name="street",
        dataset="samples",
        model=DETECTOR,
        concepts=CONCEPTS,
        thresholds=THRESHOLDS,
        reviewers=REVIEWERS,
    )


def results(backends: Backends, task_id: str) -> tuple[list[tuple[Any, ...]], dict[str, list[tuple[str, float]]]]:
    annotations = sorted(
        (a.input_id, a.concept, a.status.value, round(a.score or 0, 5), a.geometry.model_dump_json())
        for a in every_annotation(backends, AnnotationQuery(task_id=task_id))
    )
    predictions = {p.id: p for p in backends.records.predictions(task_id)}
    items = {
        i.input_id: sorted((predictions[p].concept, round(predictions[p].score, 5)) for p in i.prediction_ids)
        for i in backends.records.review_items(task_id)
    }
    return annotations, items


def test_run_on_aws_matches_the_embedded_pipeline(deployed: tuple[Account, str], backends: Backends) -> None:
    account, arn = deployed
    aws = account.world.backends
    publish_shipped(aws, shipped_models_dir(), only={DETECTOR})
    datasets.add_files(aws, OWNER, "samples", [SAMPLES])
    task = create(aws)

    described = run(account, arn, task.id)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["status"] == "Complete"
    stored = aws.records.get_task(task.id)
    assert stored.status == TaskStatus.COMPLETE

    # The embedded pipeline on the same photos with the same task settings.
    datasets.add_files(backends, OWNER, "samples", [SAMPLES])
    create(backends)
    run_task(backends, OWNER, "street")
    local = find_task(backends, "street")
    assert results(aws, task.id) == results(backends, local.id)
    assert aws.records.counts(task.id) == backends.records.counts(local.id)

    # Review items sit in their reviewer's queue; the split follows the weights. With batches
    # running concurrently, *which* input a reviewer gets may differ from the embedded run
    # (sequence numbers go in commit order), so the per-reviewer counts are what must match.
    items = aws.records.review_items(task.id)
    assert items, "the thresholds put some predictions up for review"
    expected = Counter(partition.reviewer_for(n, REVIEWERS) for n in range(len(items)))
    assert Counter(i.reviewer for i in items) == expected
    assert Counter(i.reviewer for i in backends.records.review_items(local.id)) == expected
    assert sorted(i.sequence for i in items) == list(range(len(items)))
    for reviewer in REVIEWERS:
        queue = queue_of(aws, task, reviewer.name)
        bodies = set()
        while True:
            messages = aws.queues.receive(queue, visibility_s=60, max_messages=10)
            if not messages:
                break
            bodies |= {m.body for m in messages}
        assert bodies == {i.id for i in items if i.reviewer == reviewer.name}


def test_a_run_that_cannot_start_marks_the_task_failed(deployed: tuple[Account, str]) -> None:
    account, arn = deployed
    aws = account.world.backends
    datasets.add_files(aws, OWNER, "samples", [SAMPLES / "coffee.png"])
    task = tasks.create_task(
        aws,
        OWNER,
        name="empty",
        dataset="samples",
        model="efficientnet-lite0-imagenet",
        concepts=["cup"],
        thresholds=THRESHOLDS,
        reviewers=REVIEWERS,
    )
    for item in aws.records.list_inputs(task.dataset_id).items:
        aws.records.delete_input(item.id)
    described = run(account, arn, task.id)
    assert described["status"] == "FAILED"
    # The execution fails with the run's own error (MarkFailed keeps $.error), not States.Runtime.
    assert described["error"] == "ValidationError", described
    assert "no inputs" in described["cause"]
    stored = aws.records.get_task(task.id)
    assert stored.status == TaskStatus.FAILED
    assert stored.failure_reason is not None and stored.failure_reason.startswith("ValidationError: ")
    assert "no inputs" in stored.failure_reason
    # Names of finished standard executions stay taken: run 2 has a name of its own.
    assert run(account, arn, task.id, 2)["status"] == "FAILED"
