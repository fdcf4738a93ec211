"""Starting a task's run: one Step Functions execution named after the task id, so a person
finds a task's run in the console at once. Standard executions keep their names for 90 days, so
a re-run (resume after a failure, new inputs) gets ``<task id>-r<n>``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from autolabel.aws.errors import code_of
from autolabel.ports import RunLauncher

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

MAX_RERUNS = 1000


def execution_name(task_id: str, attempt: int) -> str:
    return task_id if attempt == 0 else f"{task_id}-r{attempt}"


def start_run(client: SFNClient, state_machine_arn: str, task_id: str) -> str:
    """Start the run and return the execution ARN; a run already in flight is returned as is."""
    payload = json.dumps({"task_id": task_id})
    for attempt in range(MAX_RERUNS):
        name = execution_name(task_id, attempt)
        try:
            return client.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)["executionArn"]
        except ClientError as exc:
            if code_of(exc) != "ExecutionAlreadyExists":
                raise
            arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
            if client.describe_execution(executionArn=arn)["status"] == "RUNNING":
                return arn  # starting twice is not running twice
    raise RuntimeError(f"task {task_id} has been run {MAX_RERUNS} times")


class StepFunctionsRunLauncher(RunLauncher):
    """The HTTP API's "start a run" on AWS: one state-machine execution per task run."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def launch(self, task_id: str) -> None:
        # The use case already checked the caller and marked the task In progress.
        start_run(self.client, self.state_machine_arn, task_id)
