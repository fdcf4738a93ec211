"""Labeling tasks: create, list, change (name, reviewers, thresholds), delete, and the summary
people watch (status, bands, % reviewed, labeled by, queue depth)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from autolabel.app import models
from autolabel.app.access import find_dataset, find_task, reviews, visible_task
from autolabel.app.review import MAX_RECEIVES, queue_of
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.app.views import FailedInputView
from autolabel.domain import ids, names, queues
from autolabel.domain.concepts import validate_concepts
from autolabel.domain.errors import Conflict, ValidationError
from autolabel.domain.models import Input, InputState, Prediction, Reviewer, Task, TaskStatus, Thresholds, utcnow
from autolabel.domain.progress import percent_reviewed
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends


class TaskSummary(BaseModel):
    task_id: str
    name: str
    status: TaskStatus
    failure_reason: str | None
    model: str
    dataset: str
    concepts: list[str]
    inputs_total: int
    inputs_done: int
    inputs_failed: int
    inputs_pending: int
    predictions_approved: int
    predictions_awaiting_review: int
    predictions_discarded: int
    review_items: int
    review_items_decided: int
    percent_reviewed: float
    labeled_by: dict[str, int]
    queue_depth: dict[str, int]
    dead_letters: dict[str, int]


def list_tasks(backends: Backends, actor: Actor) -> list[Task]:
    """The tasks the caller may see."""
    return [t for t in backends.records.list_tasks() if actor.is_admin or reviews(backends, t, actor.name)]


def get_task(backends: Backends, actor: Actor, name: str) -> Task:
    return visible_task(backends, actor, name)


def inputs_of(backends: Backends, task: Task, *, skip_failed: bool = False) -> list[Input]:
    """The task's inputs still in its dataset, in the run's order; without failed ones if asked."""
    failed = set(backends.records.task_inputs(task.id, InputState.FAILED)) if skip_failed else set()
    input_ids = [i for i in backends.records.task_inputs(task.id) if i not in failed]
    found = backends.records.get_inputs(input_ids)
    return [found[i] for i in input_ids if i in found]


def check_reviewers(reviewers: Sequence[Reviewer]) -> None:
    if not reviewers:
        raise ValidationError("a task needs at least one reviewer")
    for reviewer in reviewers:
        problem = names.PERSON.problem(reviewer.name)
        if problem is not None:
            raise ValidationError(f"reviewer {reviewer.name!r}: {problem}", {"rule": names.PERSON.kind})
    names_ = [r.name for r in reviewers]
    if len(set(names_)) != len(names_):
        raise ValidationError("each reviewer may appear only once")


def create_task(
    backends: Backends,
    actor: Actor,
    *,
    name: str,
    dataset: str,
    model: str,
    concepts: Sequence[str],
    thresholds: Thresholds,
    concept_thresholds: dict[str, Thresholds] | None = None,
    reviewers: Sequence[Reviewer],
    auto_annotate: bool = True,
) -> Task:
    require_admin(actor, "create tasks")
    names.TASK.check(name)
    if backends.records.find_task(name) is not None:
        raise Conflict(f"a task named '{name}' already exists")
    data = find_dataset(backends, dataset)
    package = models.package_of(backends, model)
    chosen = validate_concepts([names.CONCEPT.check(c) for c in concepts], package.labels, package.id)
    overrides = concept_thresholds or {}
    stray = [c for c in overrides if c not in chosen]
    if stray:
        raise ValidationError(f"per-concept thresholds for concepts the task does not use: {', '.join(stray)}")
    check_reviewers(reviewers)
    task = Task(
        id=ids.new_id("task"),
        name=name,
        dataset_id=data.id,
        model_id=package.id,
        model_version=package.version,
        concepts=chosen,
        thresholds=thresholds,
        concept_thresholds=overrides,
        reviewers=list(reviewers),
        auto_annotate=auto_annotate,
        queue_naming=queues.NAMING_HASHED,
    )
    backends.records.create_task(task)
    for reviewer in task.reviewers:
        backends.queues.create(queue_of(backends, task, reviewer.name), MAX_RECEIVES)
    return task


def update_task(
    backends: Backends,
    actor: Actor,
    name_or_id: str,
    *,
    name: str | None = None,
    reviewers: Sequence[Reviewer] | None = None,
) -> Task:
    """Rename the task and/or change its reviewers.

    Items already assigned stay with their reviewer (even one taken off the task); inputs that
    need review from now on are spread over the new set, balanced from its first item.
    """
    require_admin(actor, "change tasks")
    task = find_task(backends, name_or_id)
    if name is not None:
        names.TASK.check(name)
        other = backends.records.find_task(name)
        if other is not None and other.id != task.id:
            raise Conflict(f"a task named '{name}' already exists")
    if reviewers is not None:
        check_reviewers(reviewers)
        if [r.model_dump() for r in reviewers] != [r.model_dump() for r in task.reviewers]:
            task = backends.records.change_reviewers(task.id, reviewers)
            for reviewer in task.reviewers:
                backends.queues.create(queue_of(backends, task, reviewer.name), MAX_RECEIVES)
    if name is not None and name != task.name:
        task = backends.records.get_task(task.id).model_copy(update={"name": name, "updated_at": utcnow()})
        backends.records.update_task(task)
    return task


def review_queue_holders(backends: Backends, task: Task) -> list[str]:
    """Everyone with a review queue on the task: its reviewers and any former reviewer who
    holds items (their queue stays until the task is deleted)."""
    holders = {item.reviewer for item in backends.records.review_items(task.id)}
    return sorted(holders | {r.name for r in task.reviewers})


def with_thresholds(
    task: Task, thresholds: Thresholds | None, concept_thresholds: dict[str, Thresholds] | None
) -> Task:
    """The task with new thresholds (per-concept ones merged over its own), checked."""
    overrides = dict(task.concept_thresholds)
    for concept, value in (concept_thresholds or {}).items():
        if concept not in task.concepts:
            raise ValidationError(f"'{concept}' is not a concept of task '{task.name}'")
        overrides[concept] = value
    return task.model_copy(
        update={"thresholds": thresholds or task.thresholds, "concept_thresholds": overrides, "updated_at": utcnow()}
    )


def rethreshold_inputs(backends: Backends, task: Task, input_ids: Sequence[str]) -> int:
    """Re-apply ``task``'s thresholds to the stored predictions of these inputs (a rethreshold
    job's chunk); reviewers' decisions stand. Returns how many review items it created."""
    routed = []
    for input_id in input_ids:
        predictions: list[Prediction] = backends.records.predictions(task.id, input_id)
        if predictions:
            routed.append(route_input(task, input_id, predictions))
    # Called even for an empty chunk: it stores the thresholds (a task with no predictions yet).
    created = backends.records.replace_routing(task, routed)
    if created:
        enqueue_review_items(backends, task, created)
    return len(created)


def summary(backends: Backends, actor: Actor, name: str) -> TaskSummary:
    task = visible_task(backends, actor, name)
    counts = backends.records.counts(task.id)
    depth: dict[str, int] = {}
    dead: dict[str, int] = {}
    for reviewer in task.reviewers:
        queue = queue_of(backends, task, reviewer.name)
        exists = backends.queues.exists(queue)
        depth[reviewer.name] = backends.queues.depth(queue) if exists else 0
        dead[reviewer.name] = backends.queues.dead_letter_count(queue) if exists else 0
    labeled_by = dict(sorted(counts.labeled_by.items(), key=lambda kv: (-kv[1], kv[0])))
    return TaskSummary(
        task_id=task.id,
        name=task.name,
        status=task.status,
        failure_reason=task.failure_reason,
        model=f"{task.model_id}@{task.model_version}",
        dataset=backends.records.get_dataset(task.dataset_id).name,
        concepts=task.concepts,
        inputs_total=counts.inputs_total,
        inputs_done=counts.inputs_done,
        inputs_failed=counts.inputs_failed,
        inputs_pending=counts.inputs_total - counts.inputs_done - counts.inputs_failed,
        predictions_approved=counts.approved,
        predictions_awaiting_review=counts.awaiting_review,
        predictions_discarded=counts.discarded,
        review_items=counts.review_items,
        review_items_decided=counts.review_items_decided,
        percent_reviewed=percent_reviewed(counts.review_items_decided, counts.review_items),
        labeled_by=labeled_by,
        queue_depth=depth,
        dead_letters=dead,
    )


def failed_inputs(backends: Backends, actor: Actor, name: str) -> list[FailedInputView]:
    """The task's inputs that could not be used, with the reason and where each came from."""
    task = visible_task(backends, actor, name)
    failures = backends.records.failed_inputs(task.id)
    found = backends.records.get_inputs([f.input_id for f in failures])
    return [
        FailedInputView(
            input_id=f.input_id,
            source=found[f.input_id].source if f.input_id in found else "(deleted)",
            reason=f.reason,
        )
        for f in failures
    ]
