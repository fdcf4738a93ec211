"""Contract of JobLauncher: launching returns at once and has the job's id reach a worker, as
many times as it is launched (a worker that finds the job done or owned does nothing: see
app.jobs.run_job). The thread launcher's worker is a callable; the SQS launcher's worker is
whatever reads the jobs queue, so the harness reads it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from autolabel.embedded.jobs import ThreadJobLauncher
from autolabel.ports import JobLauncher
from tests.contract.adapters import REGION


class Harness(Protocol):
    launcher: JobLauncher

    def delivered(self, expected: int) -> list[str]: ...


class ThreadHarness:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.release = threading.Event()
        self.launcher = ThreadJobLauncher(self._work)

    def _work(self, job_id: str) -> None:
        self.seen.append(job_id)
        self.release.wait(10)

    def delivered(self, expected: int) -> list[str]:
        deadline = time.monotonic() + 5
        while len(self.seen) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.seen)


class SQSHarness:
    def __init__(self) -> None:
        from autolabel.aws import clients
        from autolabel.aws.jobs import SQSJobLauncher

        self.sqs = clients.sqs(REGION)
        self.url = self.sqs.create_queue(QueueName="jobs")["QueueUrl"]
        self.launcher = SQSJobLauncher(self.sqs, self.url)

    def delivered(self, expected: int) -> list[str]:
        found: list[str] = []
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"])["job_id"] for m in messages]
        return found


@pytest.fixture(params=["thread", "sqs"])
def harness(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "thread":
        threaded = ThreadHarness()
        yield threaded
        threaded.release.set()
        threaded.launcher.wait(5)
        return
    from tests.contract.adapters import moto_aws

    with moto_aws():
        yield SQSHarness()


def test_a_launch_returns_at_once_and_reaches_a_worker(harness: Harness) -> None:
    started = time.monotonic()
    harness.launcher.launch("job_1")
    harness.launcher.launch("job_2")
    assert time.monotonic() - started < 1.0  # the work is a worker's, not the caller's
    assert sorted(harness.delivered(2)) == ["job_1", "job_2"]
