"""Jobs on the embedded world: 202 and polling, who may see a job, a task being deleted, and
jobs cut short after a chunk and run again (same result, nothing twice)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from autolabel.app import jobs
from autolabel.app.review import queue_of
from autolabel.domain.jobs import Job, JobKind, JobState
from autolabel.domain.models import ReviewState
from autolabel.domain.users import Actor
from autolabel.ports import Backends, JobLauncher, JobStore
from tests.api.conftest import World, download, seed_task

ROOT = Actor.workspace_owner()
SCORES = [[0.5 + 0.01 * n, 0.95] for n in range(23)]  # 23 inputs, each with one flagged and one approved box


def test_a_job_answers_202_and_is_polled_to_its_result(world: World) -> None:
    task, _ = seed_task(world, scores=SCORES)
    root = world.client("root")
    started = root.post(f"/tasks/{task.id}/exports", {"format": "coco"})
    assert started.status == 202
    assert set(started.body) >= {"id", "kind", "state", "done", "total", "result_url"}
    assert started.body["kind"] == "export" and started.body["result_url"] is None
    job = root.finished(started)
    assert (
        job["state"] == "succeeded" and job["done"] == job["total"] == 23
    )  # inputs (annotations follow, a page per chunk)
    coco = json.loads(download(job["result_url"], world))
    assert len(coco["images"]) == 23 and len(coco["annotations"]) == 23
    assert {(i["width"], i["height"]) for i in coco["images"]} == {(640, 480)}  # recorded, not read again


def test_unknown_and_other_callers_jobs_are_not_found(world: World) -> None:
    task, _ = seed_task(world, reviewers=("alice", "bob"))
    alice, bob, root = world.client("alice"), world.client("bob"), world.client("root")
    assert root.get("/jobs/job_nope").status == 404
    accepted = alice.finished(alice.post(f"/tasks/{task.id}/review/bulk-accept", {"min_score": 0.99}))
    assert bob.get(f"/jobs/{accepted['id']}").status == 404  # another reviewer's job: as if unknown
    assert root.get(f"/jobs/{accepted['id']}").status == 200  # admins see every job
    exported = root.finished(root.post(f"/tasks/{task.id}/exports", {"format": "yolo"}))
    assert alice.get(f"/jobs/{exported['id']}").status == 404
    assert alice.post(f"/tasks/{task.id}/exports", {"format": "coco"}).status == 403  # exports are admins'
    assert world.client("eve").post(f"/tasks/{task.id}/review/bulk-accept", {"min_score": 0.5}).status == 403


def test_a_task_being_deleted_says_so_and_starts_nothing_new(world: World) -> None:
    task, _ = seed_task(world)
    quiet = dataclasses.replace(world.backends, job_launcher=Held())
    job = jobs.submit_delete(quiet, ROOT, task.id)
    root = world.client("root")
    assert root.get(f"/tasks/{task.id}").body["task"]["status"] == "Deleting"
    assert root.post(f"/tasks/{task.id}/runs").status == 409
    assert root.post(f"/tasks/{task.id}/versions").status == 409
    assert root.post(f"/tasks/{task.id}/exports", {"format": "coco"}).status == 409
    again = root.delete(f"/tasks/{task.id}")  # asking again resumes the same job
    assert again.status == 202 and again.body["id"] == job.id
    assert root.finished(again)["state"] == "succeeded"
    assert root.get(f"/tasks/{task.id}").status == 404


class Held(JobLauncher):
    """A launcher that runs nothing: the test runs the jobs itself."""

    def __init__(self) -> None:
        self.launched: list[str] = []

    def launch(self, job_id: str) -> None:
        self.launched.append(job_id)


class DiesAfterWork(JobStore):
    """A job store whose ``save_job`` fails once, at the given save: the chunk's work is done,
    its checkpoint is not — as when a worker is killed between the two."""

    def __init__(self, inner: JobStore, die_at_save: int) -> None:
        self.inner, self.saves, self.die_at_save = inner, 0, die_at_save

    def create_job(self, job: Job) -> None:
        self.inner.create_job(job)

    def get_job(self, job_id: str) -> Job:
        return self.inner.get_job(job_id)

    def save_job(self, job: Job) -> None:
        self.saves += 1
        if self.saves == self.die_at_save:
            raise KeyboardInterrupt("killed after the chunk's work, before its checkpoint")
        self.inner.save_job(job)


def interrupted(backends: Backends, submit: Any, die_at_save: int) -> Job:
    """Submit a job, kill its worker once after a chunk's work, run it again to the end."""
    dying = DiesAfterWork(backends.jobs, die_at_save)
    quiet = dataclasses.replace(backends, jobs=dying, job_launcher=Held())
    job: Job = submit(quiet)
    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(quiet, job.id)
    assert not backends.jobs.get_job(job.id).finished  # cut short: resumable, not failed
    return jobs.run_job(dataclasses.replace(backends, job_launcher=Held()), job.id)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in JobKind:
        monkeypatch.setitem(jobs.CHUNK, kind, 4)


# Saves: 1 start, 2 the input list, 3-8 sizes (6 pages of 4), 9-14 annotations, 15 the file, 16 clean-up.
@pytest.mark.parametrize("die_at_save", [2, 4, 9, 15, 16])
def test_an_export_cut_short_ends_as_an_uninterrupted_one(world: World, small_chunks: None, die_at_save: int) -> None:
    task, _ = seed_task(world, scores=SCORES)
    backends = world.backends
    whole = jobs.run_job(
        backends, jobs.submit_export(dataclasses.replace(backends, job_launcher=Held()), ROOT, task.id, "coco").id
    )
    cut = interrupted(backends, lambda b: jobs.submit_export(b, ROOT, task.id, "coco"), die_at_save)
    assert cut.state == whole.state == JobState.SUCCEEDED and cut.result == whole.result
    # The same document but for the date each job put in its info block.
    assert {**jobs.exported(backends, cut).coco, "info": None} == {**jobs.exported(backends, whole).coco, "info": None}
    assert [k for k in backends.blobs.list(f"jobs/{cut.id}/")] == [f"jobs/{cut.id}/coco.json"]  # parts cleaned up


def test_a_version_cut_short_is_created_once(world: World, small_chunks: None) -> None:
    task, _ = seed_task(world, scores=SCORES)
    backends = world.backends
    # Saves: 1 start, 2-7 the 23 approved annotations in parts of 4, 8 the version, 9 clean-up.
    cut = interrupted(backends, lambda b: jobs.submit_version(b, ROOT, task.id), die_at_save=8)
    (version,) = backends.records.dataset_versions(task.id)
    assert cut.result == {"number": 1, "annotations": 23, "inputs": 23} and version.job_id == cut.id
    assert json.loads(backends.blobs.get(version.blob_key))["version"] == 1


def test_a_bulk_accept_cut_short_decides_each_item_once(world: World, small_chunks: None) -> None:
    task, items = seed_task(world, reviewers=("alice",), scores=SCORES)
    alice = Actor.reviewer("alice")
    cut = interrupted(world.backends, lambda b: jobs.submit_bulk_accept(b, alice, task.id, 0.6), die_at_save=4)
    expected = {i.id for i, scores in zip(items, SCORES, strict=True) if scores[0] >= 0.6}
    decided = {i.id for i in world.backends.records.review_items(task.id, state=ReviewState.DECIDED)}
    assert decided == expected and expected
    # The repeated chunk found its items decided and skipped them: nothing was decided twice.
    result = cut.result
    assert result["accepted"] + result["skipped_decided_meanwhile"] == len(expected)
    assert result["skipped_below_score"] == len(items) - len(expected)


@pytest.mark.parametrize("die_at_save", [2, 3, 5, 8])
def test_a_delete_cut_short_leaves_nothing_behind(world: World, small_chunks: None, die_at_save: int) -> None:
    task, _ = seed_task(world, scores=SCORES)
    kept, _ = seed_task(world, name="kept", dataset="other", scores=SCORES[:3])
    root = world.client("root")
    assert root.finished(root.post(f"/tasks/{task.id}/versions"))["state"] == "succeeded"
    (version,) = world.backends.records.dataset_versions(task.id)
    cut = interrupted(world.backends, lambda b: jobs.submit_delete(b, ROOT, task.id), die_at_save)
    records = world.backends.records
    assert cut.state == JobState.SUCCEEDED and cut.result == {"deleted": task.id, "name": "t"}
    assert records.find_task("t") is None and records.task_inputs(task.id) == []
    assert records.review_items(task.id) == [] and records.predictions(task.id) == []
    assert not any(world.backends.queues.exists(queue_of(world.backends, task, r)) for r in ("alice", "bob"))
    assert not world.backends.blobs.exists(version.blob_key)
    assert len(records.review_items(kept.id)) == 3 and world.backends.queues.exists(
        queue_of(world.backends, kept, "alice")
    )


def test_a_server_resumes_the_jobs_a_stopped_one_left(world: World, small_chunks: None) -> None:
    from autolabel import bootstrap

    task, _ = seed_task(world, scores=SCORES)
    held = dataclasses.replace(world.backends, job_launcher=Held())
    job = jobs.submit_export(held, ROOT, task.id, "yolo")
    jobs.run_job(held, job.id, out_of_time=lambda: True)  # one chunk, then the server 'stopped'
    assert world.backends.jobs.get_job(job.id).state == JobState.RUNNING
    restarted = bootstrap.embedded(world.home, serving=True)
    done = jobs.wait_until_finished(restarted, job.id)
    assert done.state == JobState.SUCCEEDED and done.result["images"] == 23
