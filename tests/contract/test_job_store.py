"""Contract of JobStore: every adapter passes these."""

from __future__ import annotations

import threading

import pytest

from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.jobs import Job, JobKind, JobState
from autolabel.ports import JobStore


def make_job(job_id: str = "job_1") -> Job:
    return Job(
        id=job_id,
        kind=JobKind.EXPORT,
        task_id="task_1",
        task_name="t1",
        requested_by="root",
        requester_role="admin",
        params={"format": "coco", "include_review": False},
    )


def test_a_job_is_stored_and_read_back_whole(job_store: JobStore) -> None:
    job = make_job()
    job_store.create_job(job)
    assert job_store.get_job(job.id) == job
    with pytest.raises(NotFound):
        job_store.get_job("job_unknown")


def test_an_id_is_created_once(job_store: JobStore) -> None:
    job_store.create_job(make_job())
    with pytest.raises(Conflict):
        job_store.create_job(make_job().model_copy(update={"task_name": "other"}))
    assert job_store.get_job("job_1").task_name == "t1"


def test_a_checkpoint_is_saved_over_the_revision_it_was_made_from(job_store: JobStore) -> None:
    job = make_job()
    job_store.create_job(job)
    running = job.advanced(state=JobState.RUNNING)
    job_store.save_job(running)
    checkpoint = running.advanced(done=500, total=1200, cursor={"pages": 3, "page": 1}, result={"n": 1})
    job_store.save_job(checkpoint)
    assert job_store.get_job(job.id) == checkpoint
    # A worker still holding the older revision learns it no longer owns the job.
    with pytest.raises(Conflict):
        job_store.save_job(running.advanced(done=1))
    assert job_store.get_job(job.id) == checkpoint
    with pytest.raises(NotFound):
        job_store.save_job(make_job("job_unknown").advanced())


def test_of_two_workers_saving_the_same_revision_one_wins(job_store: JobStore) -> None:
    job = make_job()
    job_store.create_job(job)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(done: int) -> None:
        barrier.wait()
        try:
            job_store.save_job(job.advanced(done=done))
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert job_store.get_job(job.id).revision == 1
