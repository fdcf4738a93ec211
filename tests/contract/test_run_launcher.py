"""Contract of RunLauncher: launching returns at once, starts one run of the task, never a
second one while the first is in flight, and a new run once it has ended (resume).

Each launcher runs under a harness that can tell which runs started and end one: for the
embedded thread launcher the run is a callable, for Step Functions an execution under moto."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from autolabel.domain.errors import Conflict
from autolabel.embedded.launcher import ThreadRunLauncher
from autolabel.ports import RunLauncher
from tests.contract.adapters import REGION


class Harness(Protocol):
    launcher: RunLauncher

    def runs_started(self, task_id: str) -> int: ...

    def end(self, task_id: str) -> None: ...


class Counted(RunLauncher):
    """The thread launcher, counting the launches it accepted: a run starts on its own thread a
    moment later, and the harness waits for each accepted launch's run to begin."""

    def __init__(self, launcher: ThreadRunLauncher) -> None:
        self.inner = launcher
        self.accepted = 0

    def launch(self, task_id: str, run: int) -> None:
        self.inner.launch(task_id, run)
        self.accepted += 1


class ThreadHarness:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, threading.Event] = {}
        self.counted = Counted(ThreadRunLauncher(self._run))
        self.launcher: RunLauncher = self.counted

    def _run(self, task_id: str) -> None:
        event = self.release.setdefault(task_id, threading.Event())
        self.started.append(task_id)
        event.wait(30)

    def runs_started(self, task_id: str) -> int:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(self.started) < self.counted.accepted:
            time.sleep(0.01)
        return self.started.count(task_id)

    def end(self, task_id: str) -> None:
        self.release.setdefault(task_id, threading.Event()).set()
        self.counted.inner.wait(5)
        self.release.pop(task_id)


class StepFunctionsHarness:
    def __init__(self) -> None:
        from autolabel.aws import clients
        from autolabel.aws.executions import StepFunctionsRunLauncher

        self.client = clients.stepfunctions(REGION)
        definition = {"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": True}}}
        self.arn = self.client.create_state_machine(
            name="autolabel-runs",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/autolabel-runs",
        )["stateMachineArn"]
        self.launcher: RunLauncher = StepFunctionsRunLauncher(self.client, self.arn)

    def _executions(self, task_id: str) -> list[dict[str, Any]]:
        found = self.client.list_executions(stateMachineArn=self.arn)["executions"]
        return [dict(e) for e in found if e["name"].startswith(f"{task_id}-run-")]

    def runs_started(self, task_id: str) -> int:
        return len(self._executions(task_id))

    def end(self, task_id: str) -> None:
        for execution in self._executions(task_id):
            if execution["status"] == "RUNNING":
                self.client.stop_execution(executionArn=execution["executionArn"])


@pytest.fixture(params=["thread", "step-functions"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "thread":
        thread_harness = ThreadHarness()
        yield thread_harness
        for event in thread_harness.release.values():
            event.set()
        return
    from moto import mock_aws

    # Plain moto: an execution stays RUNNING until it is stopped, like a long run.
    with mock_aws():
        yield StepFunctionsHarness()


def test_a_launch_starts_one_run_and_returns_at_once(harness: Harness) -> None:
    started = time.monotonic()
    harness.launcher.launch("task_a", 1)
    assert time.monotonic() - started < 5
    assert harness.runs_started("task_a") == 1
    assert harness.runs_started("task_b") == 0


def test_a_second_run_while_the_first_is_in_flight_is_refused(harness: Harness) -> None:
    harness.launcher.launch("task_a", 1)
    with pytest.raises(Conflict):
        harness.launcher.launch("task_a", 2)
    assert harness.runs_started("task_a") == 1
    harness.launcher.launch("task_b", 1)  # other tasks are not held up
    assert harness.runs_started("task_b") == 1


def test_launching_the_same_run_twice_starts_it_once(harness: Harness) -> None:
    harness.launcher.launch("task_a", 1)
    # A retried request: Step Functions finds the execution of that name; the thread launcher
    # refuses with Conflict. Either way one run.
    with contextlib.suppress(Conflict):
        harness.launcher.launch("task_a", 1)
    assert harness.runs_started("task_a") == 1


def test_a_launch_after_the_run_ended_starts_a_new_run(harness: Harness) -> None:
    harness.launcher.launch("task_a", 1)
    assert harness.runs_started("task_a") == 1
    harness.end("task_a")
    harness.launcher.launch("task_a", 2)  # resume: a task's run may be started again
    assert harness.runs_started("task_a") == 2
