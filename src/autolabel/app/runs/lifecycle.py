"""A run's steps: request, start, process a batch, finalize. Both worlds run these functions;
they differ only in who calls them (a local loop, or Step Functions and Lambda)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from autolabel.app import datasets, models
from autolabel.app.access import find_task
from autolabel.app.review import MAX_RECEIVES, queue_of
from autolabel.domain.errors import Conflict, NotFound, ValidationError
from autolabel.domain.models import Band, Input, InputState, ReviewItem, Task, TaskStatus, utcnow
from autolabel.domain.progress import run_status
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends, InputResult

NOT_PROCESSED = "not processed: its batch kept failing after every retry"
INPUT_DELETED = "the input was deleted before it was processed"


class Inferrer(Protocol):
    """Decode, infer and route one batch (``inference.BatchInference``); a failure of one input
    is that input's result, never an exception."""

    def infer(self, task: Task, inputs: Sequence[Input]) -> list[InputResult]: ...


class RunPlan(BaseModel):
    """A started run: how many inputs the task has, and those still to process, in order."""

    task_id: str
    total: int
    pending: list[str]


class BatchOutcome(BaseModel):
    task_id: str
    processed: int = 0
    failed: int = 0
    review_items: int = 0
    bands: dict[str, int] = Field(default_factory=dict)
    inference_ms: float = 0.0
    skipped: str | None = Field(default=None, description="Why nothing was done (the task was deleted).")


class RunResult(BaseModel):
    task_id: str
    status: str
    failure_reason: str | None = None
    inputs_total: int = 0
    inputs_done: int = 0
    inputs_failed: int = 0
    review_items: int = 0


# --------------------------------------------------------------------------- request


def request_run(backends: Backends, actor: Actor, name: str) -> Task:
    """An admin asks for a run: check it can start, mark the task In progress and hand it to
    the world's launcher (a thread here, a Step Functions execution on AWS)."""
    task = check_runnable(backends, actor, name)
    run = task.runs + 1
    # In progress before the launch: a run that ends at once must not be overwritten by it.
    started = task.model_copy(
        update={"status": TaskStatus.IN_PROGRESS, "failure_reason": None, "runs": run, "updated_at": utcnow()}
    )
    backends.records.update_task(started)
    try:
        backends.launcher.launch(task.id, run)
    except Conflict:
        # The previous run is still in flight: this one never existed.
        _undo_request(backends, task, run, runs=task.runs)
        raise
    except Exception as exc:
        # The launch failed (it may or may not have started): the task must not say In progress
        # with nothing running. The run number stays used, so the next request gets a fresh
        # execution name and, if this one did start, finds it running.
        if task.status == TaskStatus.IN_PROGRESS:  # a stale status: nothing was running either
            task = task.model_copy(update={"status": TaskStatus.FAILED, "failure_reason": f"could not start: {exc}"})
        _undo_request(backends, task, run, runs=run)
        raise
    return started


def _undo_request(backends: Backends, before: Task, run: int, runs: int) -> None:
    """Put back the status a failed request changed, unless something has changed it since."""
    current = backends.records.get_task(before.id)
    if current.runs == run and current.status == TaskStatus.IN_PROGRESS:
        undone = {"status": before.status, "failure_reason": before.failure_reason, "runs": runs}
        backends.records.update_task(current.model_copy(update={**undone, "updated_at": utcnow()}))


def check_runnable(backends: Backends, actor: Actor, name: str) -> Task:
    """The task, if the caller may run it, its model exists and its dataset has inputs."""
    require_admin(actor, "run tasks")
    task = find_task(backends, name)
    if task.status == TaskStatus.DELETING:
        raise Conflict(f"task '{task.name}' is being deleted", {"task": task.id})
    models.package_of(backends, task.model_id)
    if not backends.records.list_inputs(task.dataset_id, limit=1).items:
        raise _empty_dataset(backends, task)
    return task


def _empty_dataset(backends: Backends, task: Task) -> ValidationError:
    dataset = backends.records.get_dataset(task.dataset_id).name
    return ValidationError(
        f"the task's dataset '{dataset}' has no inputs; add some first (`autolabel dataset add`, an upload)",
        {"dataset": task.dataset_id},
    )


def set_status(backends: Backends, task_id: str, status: TaskStatus, reason: str | None = None) -> Task:
    task = backends.records.get_task(task_id).model_copy(
        update={"status": status, "failure_reason": reason, "updated_at": utcnow()}
    )
    backends.records.update_task(task)
    return task


# --------------------------------------------------------------------------- start


def start(backends: Backends, task_id: str) -> RunPlan:
    """Register the dataset's inputs with the task (new ones as PENDING), mark it In progress and
    re-send review items an earlier run recorded but did not send. Safe to repeat: a resumed run
    starts with what is still pending."""
    records = backends.records
    task = records.get_task(task_id)
    records.add_task_inputs(task.id, datasets.input_ids_of(backends, task.dataset_id))
    total = len(records.task_inputs(task.id))
    if total == 0:
        raise _empty_dataset(backends, task)
    task = set_status(backends, task.id, TaskStatus.IN_PROGRESS)
    resend_unsent(backends, task)
    return RunPlan(task_id=task.id, total=total, pending=records.task_inputs(task.id, InputState.PENDING))


def manifest_key(task_id: str) -> str:
    return f"runs/{task_id}/manifest.json"


def write_manifest(backends: Backends, plan: RunPlan) -> str:
    """The pending inputs as the JSON array a Distributed Map's ItemReader reads; its key."""
    key = manifest_key(plan.task_id)
    body = json.dumps([{"input_id": i} for i in plan.pending], separators=(",", ":")).encode()
    backends.blobs.put(key, body, "application/json")
    return key


# --------------------------------------------------------------------------- batches


def process_batch(backends: Backends, inferrer: Inferrer, task_id: str, input_ids: Sequence[str]) -> BatchOutcome:
    """Infer, route and record one batch: the Lambda's unit of work, and an upload's.

    A retried batch records nothing twice (the store skips inputs already recorded). A task
    deleted while its run is in flight ends the batch cleanly as skipped.
    """
    try:
        task = backends.records.get_task(task_id)
    except NotFound:
        return BatchOutcome(task_id=task_id, skipped="task deleted")
    started = time.perf_counter()
    results = infer_inputs(backends, inferrer, task, input_ids)
    inference_ms = (time.perf_counter() - started) * 1000
    try:
        outcome = record_batch(backends, task, results)
    except NotFound:
        return BatchOutcome(task_id=task_id, skipped="task deleted")
    return outcome.model_copy(update={"inference_ms": round(inference_ms, 1)})


def infer_inputs(backends: Backends, inferrer: Inferrer, task: Task, input_ids: Sequence[str]) -> list[InputResult]:
    """A batch's results: its inputs read at once and inferred; an input deleted since the run
    started becomes a failed input with that reason, never lost."""
    found = backends.records.get_inputs(input_ids)
    missing = [InputResult(i, failure=INPUT_DELETED) for i in input_ids if i not in found]
    return inferrer.infer(task, [found[i] for i in input_ids if i in found]) + missing


def record_batch(backends: Backends, task: Task, results: Sequence[InputResult]) -> BatchOutcome:
    """Record a batch's results and send the review items it created to their reviewers."""
    created = backends.records.commit_batch(task, results)
    if created:
        enqueue_review_items(backends, task, created)
    bands = {band.value: 0 for band in Band}
    for result in results:
        if result.routed is not None:
            for band in result.routed.bands.values():
                bands[band.value] += 1
    return BatchOutcome(
        task_id=task.id,
        processed=len(results),
        failed=sum(1 for r in results if r.failure is not None),
        review_items=len(created),
        bands=bands,
    )


def enqueue_review_items(backends: Backends, task: Task, items: Sequence[ReviewItem]) -> None:
    """Send items to their reviewers' queues, then mark them sent.

    Marking after sending means a crash in between re-sends on resume (at least once); the
    decision is conditional, so a duplicate message can never cause a second decision.
    """
    by_queue: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        by_queue.setdefault(queue_of(backends, task, item.reviewer), []).append((item.id, item.id))
    for queue, messages in by_queue.items():
        try:
            backends.queues.send(queue, messages)
        except NotFound:
            # Queues are created with the task; this heals a queue deleted by hand.
            backends.queues.create(queue, MAX_RECEIVES)
            backends.queues.send(queue, messages)
    backends.records.mark_enqueued([item.id for item in items])


def resend_unsent(backends: Backends, task: Task) -> None:
    """Review items recorded by a run that stopped before sending them."""
    unsent = [i for i in backends.records.review_items(task.id) if not i.enqueued]
    if unsent:
        enqueue_review_items(backends, task, unsent)


# --------------------------------------------------------------------------- the end


def finalize(backends: Backends, task_id: str, error: str | None = None) -> RunResult:
    """Close a run whose batches have all been tried: inputs no batch recorded become failed
    inputs with a reason (never lost), commits a crash interrupted are finished, review items
    left unsent are sent, and the status is set — Failed with the reason when the run itself
    failed or every input failed, Complete otherwise."""
    records = backends.records
    try:
        task = records.get_task(task_id)
    except NotFound:
        return RunResult(task_id=task_id, status="Deleted")
    leftover = records.task_inputs(task.id, InputState.PENDING)
    if leftover:
        reason = f"not processed: the run failed ({error})" if error else NOT_PROCESSED
        for begin in range(0, len(leftover), 25):
            records.commit_batch(task, [InputResult(i, failure=reason) for i in leftover[begin : begin + 25]])
    # A store that records a batch in steps (DynamoDB) finishes any a crash interrupted and whose
    # retries all failed, before unsent review items are looked for.
    records.repair_open_commits(task.id)
    resend_unsent(backends, task)
    counts = records.counts(task.id)
    reason_text: str | None
    if error:
        status, reason_text = TaskStatus.FAILED, error
    else:
        status = run_status(counts)
        reason_text = "every input failed" if status == TaskStatus.FAILED else None
    set_status(backends, task.id, status, reason_text)
    return RunResult(
        task_id=task.id,
        status=status.value,
        failure_reason=reason_text,
        inputs_total=counts.inputs_total,
        inputs_done=counts.inputs_done,
        inputs_failed=counts.inputs_failed,
        review_items=counts.review_items,
    )


def stop_failed(backends: Backends, task_id: str, reason: str) -> None:
    """A run that stopped on an error before its end: Failed with the reason. Recorded batches
    stay and unprocessed inputs stay pending, so running the task again resumes it."""
    set_status(backends, task_id, TaskStatus.FAILED, reason)
