"""Finding what a caller names, and who may see and do what: the authorisation every use case
shares, written once.

Admins may do everything. A reviewer sees the tasks they review — current reviewers, and former
ones who still hold undecided items of their partition — and only their own items.
"""

from __future__ import annotations

from autolabel.domain import ids
from autolabel.domain.concepts import not_found
from autolabel.domain.errors import Forbidden, NotFound
from autolabel.domain.models import Dataset, ReviewItem, Task
from autolabel.domain.users import Actor
from autolabel.ports import Backends


def find_dataset(backends: Backends, name_or_id: str) -> Dataset:
    records = backends.records
    for candidate in (name_or_id, ids.dataset_id(name_or_id)):
        try:
            return records.get_dataset(candidate)
        except NotFound:
            continue
    raise not_found("dataset", name_or_id, [d.name for d in records.list_datasets()])


def find_task(backends: Backends, name_or_id: str) -> Task:
    records = backends.records
    task = records.find_task(name_or_id)
    if task is not None:
        return task
    try:
        return records.get_task(name_or_id)
    except NotFound:
        raise not_found("task", name_or_id, [t.name for t in records.list_tasks()]) from None


def reviews(backends: Backends, task: Task, reviewer: str) -> bool:
    """Whether ``reviewer`` reviews ``task``: listed now, or still holding items of their own."""
    if task.reviewer(reviewer) is not None:
        return True
    # From the counters (one read), not by listing the reviewer's items.
    return backends.records.counts(task.id).pending_for(reviewer) > 0


def require_reviewer(backends: Backends, actor: Actor, task: Task) -> None:
    """The caller must review ``task`` (admins are not reviewers by their role alone)."""
    if not reviews(backends, task, actor.name):
        raise Forbidden(f"'{actor.name}' is not a reviewer of task '{task.name}'", {"task": task.id})


def visible_task(backends: Backends, actor: Actor, name_or_id: str) -> Task:
    """The task, if the caller may see it: admins every task, reviewers the ones they review."""
    task = find_task(backends, name_or_id)
    if not actor.is_admin:
        require_reviewer(backends, actor, task)
    return task


def require_item_access(actor: Actor, item: ReviewItem) -> None:
    """A review item is its reviewer's (and any admin's) to look at."""
    if not actor.is_admin and item.reviewer != actor.name:
        raise Forbidden(f"review item {item.id} belongs to another reviewer's partition")
