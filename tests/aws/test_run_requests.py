"""Asking for a run on AWS: each run is a Step Functions execution of its own, named after the
task, a run is never started over one in flight, and a request that cannot start never leaves
the task In progress with nothing running."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from autolabel import bootstrap
from autolabel.app import datasets, tasks
from autolabel.app.runs import lifecycle
from autolabel.aws import clients
from autolabel.aws.executions import execution_arn, execution_name
from autolabel.aws.settings import Settings
from autolabel.domain.errors import Conflict
from autolabel.domain.models import Reviewer, Task, TaskStatus, Thresholds
from autolabel.domain.users import Actor
from autolabel.ports import Backends
from tests.aws.conftest import CLASSIFIER, Account
from tests.conftest import SAMPLES
from tests.contract.adapters import REGION

OWNER = Actor.workspace_owner()
# Stand-ins for the run pipeline: what matters here is how executions are started and named.
FINISHES: dict[str, object] = {"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": True}}}
KEEPS_RUNNING: dict[str, object] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 300, "End": True}},
}


def world_with(account: Account, tmp_path: Path, definition: dict[str, object] | None) -> Backends:
    """The account's AWS world whose launcher starts executions of ``definition`` (or of a
    state machine that does not exist, when None)."""
    sfn = clients.stepfunctions(REGION, account.admin)
    if definition is None:
        arn = "arn:aws:states:us-east-1:123456789012:stateMachine:gone"
    else:
        arn = sfn.create_state_machine(
            name=f"runs-{len(sfn.list_state_machines()['stateMachines'])}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/runs",
        )["stateMachineArn"]
    settings = Settings(cache_dir=tmp_path / "cache", state_machine_arn=arn)
    return bootstrap.aws_world(settings, account.admin).backends


def a_task(backends: Backends) -> Task:
    datasets.add_files(backends, OWNER, "cups", [SAMPLES / "coffee.png"])
    return tasks.create_task(
        backends,
        OWNER,
        name="cups",
        dataset="cups",
        model=CLASSIFIER,
        concepts=["cup"],
        thresholds=Thresholds(upper=0.8, lower=0.3),
        reviewers=[Reviewer(name="alice")],
    )


def executions(account: Account, task_id: str) -> dict[str, str]:
    sfn = clients.stepfunctions(REGION, account.admin)
    found: dict[str, str] = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if e["name"].startswith(task_id):
                found[e["name"]] = e["status"]
    return found


def wait_finished(account: Account, task_id: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while "RUNNING" in executions(account, task_id).values() and time.monotonic() < deadline:
        time.sleep(0.05)
    return executions(account, task_id)


def test_a_task_runs_again_under_a_new_name_that_starts_with_its_id(account: Account, tmp_path: Path) -> None:
    backends = world_with(account, tmp_path, FINISHES)
    task = a_task(backends)
    first = lifecycle.request_run(backends, OWNER, "cups")
    assert first.status == TaskStatus.IN_PROGRESS and first.runs == 1
    assert wait_finished(account, task.id) == {f"{task.id}-run-1": "SUCCEEDED"}
    # Before: the second run's StartExecution met the first's name, and finding out whether it
    # still ran needed DescribeExecution, which the API role lacked (AccessDenied → 500).
    second = lifecycle.request_run(backends, OWNER, "cups")
    assert second.runs == 2
    assert wait_finished(account, task.id) == {f"{task.id}-run-1": "SUCCEEDED", f"{task.id}-run-2": "SUCCEEDED"}


def test_a_run_is_not_started_over_one_in_flight(account: Account, tmp_path: Path) -> None:
    backends = world_with(account, tmp_path, KEEPS_RUNNING)
    task = a_task(backends)
    lifecycle.request_run(backends, OWNER, "cups")
    with pytest.raises(Conflict, match="still running"):
        lifecycle.request_run(backends, OWNER, "cups")
    assert executions(account, task.id) == {f"{task.id}-run-1": "RUNNING"}
    stored = backends.records.get_task(task.id)
    assert stored.status == TaskStatus.IN_PROGRESS and stored.runs == 1  # the refused run never existed
    # Once it has stopped, the next run starts.
    sfn = clients.stepfunctions(REGION, account.admin)
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    sfn.stop_execution(executionArn=execution_arn(machine, execution_name(task.id, 1)))
    assert lifecycle.request_run(backends, OWNER, "cups").runs == 2
    assert executions(account, task.id)[f"{task.id}-run-2"] == "RUNNING"


def test_a_run_that_cannot_start_leaves_the_task_as_it_was(account: Account, tmp_path: Path) -> None:
    backends = world_with(account, tmp_path, None)
    task = a_task(backends)
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        lifecycle.request_run(backends, OWNER, "cups")
    stored = backends.records.get_task(task.id)
    assert stored.status == TaskStatus.PENDING  # before: In progress, with nothing running
    assert stored.runs == 1  # the number is spent: a retry gets a fresh execution name

    # A task stuck In progress (a run that died) whose new run cannot start either is Failed, with why.
    backends.records.update_task(stored.model_copy(update={"status": TaskStatus.IN_PROGRESS}))
    with pytest.raises(ClientError):
        lifecycle.request_run(backends, OWNER, "cups")
    stored = backends.records.get_task(task.id)
    assert stored.status == TaskStatus.FAILED and stored.runs == 2
    assert stored.failure_reason is not None and stored.failure_reason.startswith("could not start: ")
