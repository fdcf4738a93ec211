"""Dataset versions: immutable, numbered snapshots of a task's SUCCESS annotations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from autolabel.app.access import find_task
from autolabel.app.transfers import READ_LINK_SECONDS
from autolabel.app.views import VersionView
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.models import Annotation, DatasetVersion, Task, utcnow
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends

MAX_VERSION_ATTEMPTS = 5


def record_version(
    backends: Backends, task: Task, annotations: Sequence[Annotation], created_by: str, job_id: str
) -> DatasetVersion:
    """Store ``annotations`` as the task's next numbered, immutable version, once per job: a job
    run again after a crash finds the version it claimed and only (re)writes its snapshot."""
    inputs = sorted({a.input_id for a in annotations})
    mine = [v for v in backends.records.dataset_versions(task.id) if v.job_id == job_id]
    for _attempt in range(MAX_VERSION_ATTEMPTS):
        number = mine[0].number if mine else len(backends.records.dataset_versions(task.id)) + 1
        document = {
            "task": {"id": task.id, "name": task.name, "concepts": task.concepts},
            "version": number,
            "annotations": [a.model_dump(mode="json") for a in sorted(annotations, key=lambda a: a.id)],
        }
        data = json.dumps(document, sort_keys=True).encode()
        version = (
            mine[0]
            if mine
            else DatasetVersion(
                task_id=task.id,
                number=number,
                blob_key=f"versions/{task.id}/{number}.json",
                sha256=hashlib.sha256(data).hexdigest(),
                annotations=len(annotations),
                inputs=len(inputs),
                created_by=created_by,
                job_id=job_id,
            )
        )
        if not mine:
            try:
                # The record claims the number; the blob is written only by the claim's winner.
                backends.records.create_dataset_version(version)
            except Conflict:
                continue  # another version took this number first: take the next one
        backends.blobs.put(version.blob_key, data, "application/json")
        return version
    raise Conflict("too many versions created at once; try again")


def list_versions(backends: Backends, actor: Actor, name: str) -> list[DatasetVersion]:
    require_admin(actor, "read dataset versions")
    return backends.records.dataset_versions(find_task(backends, name).id)


class VersionLink(BaseModel):
    """A version and a short-lived URL of its snapshot — JSON ``{task: {id, name, concepts},
    version, annotations: [AnnotationView…]}``, as a version job wrote it. The snapshot
    grows with the task, so it is fetched from the store, never through the API."""

    version: VersionView
    url: str
    expires_at: datetime


def version_link(backends: Backends, actor: Actor, name: str, number: int) -> VersionLink:
    for version in list_versions(backends, actor, name):
        if version.number == number:
            return VersionLink(
                version=VersionView.of(version),
                url=backends.blobs.url(version.blob_key, READ_LINK_SECONDS),
                expires_at=utcnow() + timedelta(seconds=READ_LINK_SECONDS),
            )
    raise NotFound(f"task '{name}' has no version {number}", {"version": number})
