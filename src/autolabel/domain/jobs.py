"""Jobs: heavy work (exports, dataset versions, deleting a task, rethreshold, bulk accept) done
in the background in bounded chunks. A job's record carries its checkpoint (``cursor``), so a
worker that dies or runs out of time leaves a job the next worker resumes where it stopped."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from autolabel.domain import ids
from autolabel.domain.models import Frozen, utcnow


class JobKind(StrEnum):
    EXPORT = "export"
    VERSION = "version"
    DELETE_TASK = "delete_task"
    RETHRESHOLD = "rethreshold"
    BULK_ACCEPT = "bulk_accept"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED})


class Job(Frozen):
    """One job. ``revision`` counts saves: a save names the revision it read, so of two workers
    given the same job (SQS delivers at least once) only one keeps checkpointing it."""

    id: str
    kind: JobKind
    task_id: str
    task_name: str
    requested_by: str
    requester_role: str
    params: dict[str, Any] = Field(default_factory=dict)
    state: JobState = JobState.QUEUED
    done: int = Field(default=0, ge=0)
    total: int | None = None
    cursor: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    result_key: str | None = None
    failure_reason: str | None = None
    revision: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def advanced(self, **changes: Any) -> Job:
        """The next revision of the job with ``changes`` (what a checkpoint saves)."""
        return self.model_copy(update={**changes, "revision": self.revision + 1, "updated_at": utcnow()})


def new_job_id(kind: JobKind, task_id: str) -> str:
    """Deleting a task has one job per task (submitting it again resumes it); other kinds are
    new work each time."""
    if kind == JobKind.DELETE_TASK:
        return ids.stable_id("job", "delete", task_id)
    return ids.new_id("job")
