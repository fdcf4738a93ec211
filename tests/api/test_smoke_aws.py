"""`make smoke-aws`'s steps against the embedded API (the same routes API Gateway serves), so the
script a deployer runs by hand cannot rot: the whole flow passes here, a failing step is
reported and skips the rest but not the clean-up, and a 202 job is followed to its result."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import smoke_aws
from scripts.smoke_aws import Api, Reply, Smoke, StepFailed, finished, run_steps, totp
from tests.api.conftest import Served, World


def api(served: Served, token: str) -> Api:
    return Api(f"http://{served.host}:{served.port}", token)


@pytest.mark.slow
def test_every_step_passes_against_the_embedded_api(world: World, served: Served) -> None:
    smoke = Smoke(api(served, world.tokens["root"]), api(served, world.tokens["alice"]), "alice", run_timeout_s=300)
    lines: list[str] = []
    outcomes = run_steps(smoke, lines.append)
    assert [o.passed for o in outcomes] == [True] * 8, lines
    assert [line.split(":")[0] for line in lines] == [
        "PASS  upload photos",
        "PASS  create task",
        "PASS  run task",
        "PASS  wait for task",
        "PASS  review one",
        "PASS  export",
        "PASS  delete task",
        "PASS  delete photos",
    ]
    assert world.backends.records.find_task(smoke.task_name) is None
    dataset = world.backends.records.list_datasets()[0]
    assert world.backends.records.list_inputs(dataset.id).items == []  # nothing left but the dataset


@pytest.mark.slow
def test_a_failing_step_skips_the_rest_but_not_the_clean_up(world: World, served: Served) -> None:
    smoke = Smoke(api(served, world.tokens["root"]), api(served, "a revoked token"), "alice", run_timeout_s=300)
    lines: list[str] = []
    outcomes = run_steps(smoke, lines.append)
    assert [o.passed for o in outcomes] == [True, True, True, True, False, None, True, True], lines
    assert lines[4].startswith("FAIL  review one: StepFailed: POST /tasks/") and "answered 401" in lines[4]
    assert lines[5] == "SKIP  export: skipped"
    assert lines[6].startswith(f"PASS  delete task: task {smoke.task_id} deleted")
    assert lines[7].startswith(f"PASS  delete photos: 2 input(s) deleted from {smoke.dataset}")
    assert world.backends.records.find_task(smoke.task_name) is None


class ScriptedApi(Api):
    """Answers GET /jobs/{id} from a script of job states."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        super().__init__("http://unused", "token")
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "asked", [])

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        self.asked.append(f"{method} {path}")  # type: ignore[attr-defined]
        return Reply(200, self.states.pop(0))  # type: ignore[attr-defined]


def test_a_202_job_is_followed_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smoke_aws, "POLL_S", 0.0)
    jobs = ScriptedApi([{"state": "running"}, {"state": "succeeded", "id": "j1"}])
    assert finished(jobs, Reply(202, {"job_id": "j1"})) == {"state": "succeeded", "id": "j1"}
    assert jobs.asked == ["GET /jobs/j1", "GET /jobs/j1"]  # type: ignore[attr-defined]
    assert finished(jobs, Reply(200, {"coco": {}})) == {"coco": {}}  # answered at once: no job
    failing = ScriptedApi([{"status": "failed", "error": "disk full"}])
    with pytest.raises(StepFailed, match="disk full"):
        finished(failing, Reply(202, {"id": "j2"}))


def test_totp_matches_rfc_6238() -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # the RFC's key, "12345678901234567890"
    assert totp(secret, at=59, digits=8) == "94287082"
    assert totp(secret, at=1111111109, digits=8) == "07081804"
    assert totp(secret, at=59) == "287082"
