"""An object uploaded under a dataset's upload prefix is labelled at once: it joins the dataset
and is processed, as a batch of one, by every task on that dataset that auto-annotates."""

from __future__ import annotations

from pydantic import BaseModel

from autolabel.app import datasets
from autolabel.app.access import find_dataset
from autolabel.app.runs import lifecycle
from autolabel.domain.errors import NotFound
from autolabel.domain.models import TaskStatus
from autolabel.domain.users import Actor
from autolabel.ports import Backends


class UploadOutcome(BaseModel):
    key: str
    input_id: str | None = None
    tasks: list[lifecycle.BatchOutcome] = []
    ignored: str | None = None


def label_upload(
    backends: Backends, inferrer: lifecycle.Inferrer, key: str, dataset_name: str, filename: str
) -> UploadOutcome:
    """Add the object at ``key`` to the dataset (created if new) and label it for every watching
    task that is not failed. Repeating it changes nothing."""
    system = Actor.system()
    try:
        find_dataset(backends, dataset_name)
    except NotFound:
        datasets.create_dataset(backends, system, dataset_name)
    data = backends.blobs.get(key)
    (item,) = datasets.add_bytes(backends, system, dataset_name, [(filename, data)])
    outcomes = []
    for task in backends.records.list_tasks():
        if task.dataset_id != item.dataset_id or not task.auto_annotate or task.status == TaskStatus.FAILED:
            continue
        backends.records.add_task_inputs(task.id, [item.id])
        outcomes.append(lifecycle.process_batch(backends, inferrer, task.id, [item.id]))
    return UploadOutcome(key=key, input_id=item.id, tasks=outcomes)
