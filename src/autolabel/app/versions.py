"""Dataset versions: immutable, numbered snapshots of a task's SUCCESS annotations."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from pydantic import BaseModel

from autolabel.app.access import find_task
from autolabel.app.input_manager import every_annotation
from autolabel.app.transfers import READ_LINK_SECONDS
from autolabel.app.views import VersionView
from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.models import AnnotationStatus, DatasetVersion, utcnow
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import AnnotationQuery, Backends

MAX_VERSION_ATTEMPTS = 5


def create_version(backends: Backends, actor: Actor, name: str) -> DatasetVersion:
    """Snapshot the task's SUCCESS annotations as the next numbered, immutable version."""
    require_admin(actor, "create dataset versions")
    task = find_task(backends, name)
    annotations = every_annotation(backends, AnnotationQuery(task_id=task.id, statuses=[AnnotationStatus.SUCCESS]))
    inputs = sorted({a.input_id for a in annotations})
    for _attempt in range(MAX_VERSION_ATTEMPTS):
        number = len(backends.records.dataset_versions(task.id)) + 1
        document = {
            "task": {"id": task.id, "name": task.name, "concepts": task.concepts},
            "version": number,
            "annotations": [a.model_dump(mode="json") for a in sorted(annotations, key=lambda a: a.id)],
        }
        data = json.dumps(document, sort_keys=True).encode()
        version = DatasetVersion(
            task_id=task.id,
            number=number,
            blob_key=f"versions/{task.id}/{number}.json",
            sha256=hashlib.sha256(data).hexdigest(),
            annotations=len(annotations),
            inputs=len(inputs),
            created_by=actor.name,
        )
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
    version, annotations: [AnnotationView…]}``, as ``create_version`` wrote it. The snapshot
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
