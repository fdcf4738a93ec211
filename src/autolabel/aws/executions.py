"""Starting a task's run: one Step Functions execution per run, named ``<task id>-run-<n>``, so a
person finds every run of a task in the console by its id. Standard executions keep their names
for 90 days, so each run needs a name of its own; numbering them (``Task.runs``) makes the name
known in advance, which is what makes starting idempotent without listing executions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of, is_not_found
from autolabel.domain.errors import Conflict
from autolabel.ports import RunLauncher

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def execution_name(task_id: str, run: int) -> str:
    """At most 80 characters of [A-Za-z0-9_-]: task ids are ``tsk_`` + 20 hex digits."""
    return f"{task_id}-run-{run}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def start_run(client: SFNClient, state_machine_arn: str, task_id: str, run: int = 1) -> str:
    """Start the task's ``run``-th run and return its execution ARN.

    Refused with Conflict while run ``run - 1`` is still running (two runs of one task would
    race for its inputs). Starting a run that already started (a retried request, two admins
    clicking at once) returns that execution: StartExecution with the same name and input is
    idempotent on a running execution, and answers ExecutionAlreadyExists on a finished one.
    """
    if run > 1:
        _refuse_if_running(client, state_machine_arn, task_id, run - 1)
    name = execution_name(task_id, run)
    try:
        return client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps({"task_id": task_id})
        )["executionArn"]
    except ClientError as exc:
        if code_of(exc) != "ExecutionAlreadyExists":
            raise
        return execution_arn(state_machine_arn, name)


def _refuse_if_running(client: SFNClient, state_machine_arn: str, task_id: str, run: int) -> None:
    try:
        status = client.describe_execution(executionArn=execution_arn(state_machine_arn, execution_name(task_id, run)))
    except ClientError as exc:
        if code_of(exc) == "ExecutionDoesNotExist" or is_not_found(exc):
            return  # never started (its start failed), or older than 90 days
        raise
    if status["status"] == "RUNNING":
        raise Conflict(
            f"run {run} of task {task_id} is still running; wait for it or stop it first",
            {"task_id": task_id, "execution": status["executionArn"]},
        )


class StepFunctionsRunLauncher(RunLauncher):
    """The HTTP API's "start a run" on AWS: one state-machine execution per task run."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def launch(self, task_id: str, run: int) -> None:
        start_run(self.client, self.state_machine_arn, task_id, run)
