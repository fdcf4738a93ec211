"""An object uploaded under a dataset's upload prefix is labelled at once: it joins the dataset
and is processed, as a batch of one, by every task on that dataset that auto-annotates."""

from __future__ import annotations

from pydantic import BaseModel

from autolabel.app import datasets
from autolabel.app.access import find_dataset
from autolabel.app.runs import lifecycle
from autolabel.domain import ids
from autolabel.domain.errors import NotFound
from autolabel.domain.inputs import MAX_UPLOAD_BYTES, upload_problem
from autolabel.domain.models import Dataset, Task, TaskStatus
from autolabel.domain.users import Actor
from autolabel.ports import Backends, InputResult


class UploadOutcome(BaseModel):
    key: str
    input_id: str | None = None
    tasks: list[lifecycle.BatchOutcome] = []
    ignored: str | None = None
    refused: str | None = None  # why it became a failed input of every watching task unread


def label_upload(
    backends: Backends,
    inferrer: lifecycle.Inferrer,
    key: str,
    dataset_name: str,
    filename: str,
    size: int | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> UploadOutcome:
    """Add the object at ``key`` to the dataset (created if new) and label it for every watching
    task that is not failed. Repeating it changes nothing.

    Its name and size (``size`` from the event, else asked of the store) are checked before it
    is read: a file of a kind autolabel does not take, an empty one or one over ``max_bytes``
    becomes a failed input of each watching task with the reason, as an image that does not
    decode does — an outcome, not an error, so the event is not retried into a dead letter."""
    system = Actor.system()
    try:
        dataset = find_dataset(backends, dataset_name)
    except NotFound:
        dataset = datasets.create_dataset(backends, system, dataset_name)
    problem = upload_problem(filename, backends.blobs.size(key) if size is None else size, max_bytes)
    if problem is not None:
        return _refuse(backends, dataset, key, problem)
    data = backends.blobs.get(key)
    (item,) = datasets.add_bytes(backends, system, dataset_name, [(filename, data)])
    outcomes = []
    for task in _watching(backends, dataset):
        backends.records.add_task_inputs(task.id, [item.id])
        outcomes.append(lifecycle.process_batch(backends, inferrer, task.id, [item.id]))
    return UploadOutcome(key=key, input_id=item.id, tasks=outcomes)


def _watching(backends: Backends, dataset: Dataset) -> list[Task]:
    return [
        task
        for task in backends.records.list_tasks()
        if task.dataset_id == dataset.id and task.auto_annotate and task.status != TaskStatus.FAILED
    ]


def _refuse(backends: Backends, dataset: Dataset, key: str, problem: str) -> UploadOutcome:
    """A failed input per watching task, with the reason and the key (there is no input record
    to show where it came from: nothing was stored). Its id derives from the key, so a repeated
    event records nothing twice."""
    refused_id = ids.stable_id("in", dataset.id, "refused upload", key)
    reason = f"upload {key} refused: {problem}"
    outcomes = []
    for task in _watching(backends, dataset):
        backends.records.add_task_inputs(task.id, [refused_id])
        outcomes.append(lifecycle.record_batch(backends, task, [InputResult(refused_id, failure=reason)]))
    return UploadOutcome(key=key, input_id=refused_id, tasks=outcomes, refused=problem)
