"""Task runs as separate steps, for a run that fans out over many machines (Step Functions +
Lambda): start (register inputs, write a manifest), infer batches (any order, any number at
once, retried freely), finalize (record what no batch did, set the status).

Ports only: the same steps run under moto in tests and in the embedded world.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autolabel.domain.errors import NotFound, ValidationError
from autolabel.domain.models import Band, Input, InputState, Task, TaskStatus, utcnow
from autolabel.domain.progress import run_status
from autolabel.domain.users import Actor
from autolabel.inference.catalog import ModelCatalog
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import ModelPackage
from autolabel.pipeline import enqueue_review_items, infer_batch
from autolabel.ports import InputResult, RecordStore
from autolabel.service import Autolabel
from autolabel.workspace import Backends

NOT_PROCESSED = "not processed: its batch kept failing after every retry"


def manifest_key(task_id: str) -> str:
    return f"runs/{task_id}/manifest.json"


def set_status(records: RecordStore, task_id: str, status: TaskStatus, reason: str | None = None) -> Task:
    task = records.get_task(task_id).model_copy(
        update={"status": status, "failure_reason": reason, "updated_at": utcnow()}
    )
    records.update_task(task)
    return task


def dataset_input_ids(records: RecordStore, dataset_id: str) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = records.list_inputs(dataset_id, cursor=cursor, limit=1000)
        found.extend(i.id for i in page.items)
        cursor = page.cursor
        if cursor is None:
            return found


@dataclass(frozen=True)
class StartedRun:
    task_id: str
    manifest_key: str
    total: int
    pending: int


def start_run(backends: Backends, task_id: str) -> StartedRun:
    """Register the dataset's inputs with the task and write the pending ones to a manifest
    (a JSON array the Distributed Map's ItemReader reads). Safe to repeat."""
    records = backends.records
    task = records.get_task(task_id)
    records.add_task_inputs(task.id, dataset_input_ids(records, task.dataset_id))
    total = len(records.task_inputs(task.id))
    if total == 0:
        raise ValidationError("the task's dataset has no inputs; upload images under its prefix first")
    set_status(records, task.id, TaskStatus.IN_PROGRESS)
    unsent = [i for i in records.review_items(task.id) if not i.enqueued]
    if unsent:
        enqueue_review_items(task, unsent, records, backends.queues)
    pending = records.task_inputs(task.id, InputState.PENDING)
    key = manifest_key(task.id)
    body = json.dumps([{"input_id": i} for i in pending], separators=(",", ":")).encode()
    backends.blobs.put(key, body, "application/json")
    return StartedRun(task.id, key, total, len(pending))


class ModelCache:
    """One (spec, session) per model for the life of the process: a Lambda container loads its
    model once, whatever the number of batches it serves."""

    def __init__(self, catalog: ModelCatalog, intra_op_threads: int = 0) -> None:
        self.catalog = catalog
        self.intra_op_threads = intra_op_threads
        self._loaded: dict[tuple[str, str], tuple[ModelPackage, ModelRunner]] = {}
        self.loads = 0

    def get(self, task: Task) -> tuple[ModelPackage, ModelRunner]:
        cache_key = (task.model_id, task.model_version)
        loaded = self._loaded.get(cache_key)
        if loaded is None:
            package, path = self.catalog.package(task.model_id)
            loaded = (package, ModelRunner(package, Path(path), self.intra_op_threads))
            self._loaded[cache_key] = loaded
            self.loads += 1
        return loaded


@dataclass
class BatchOutcome:
    task_id: str
    processed: int = 0
    failed: int = 0
    review_items: int = 0
    bands: dict[str, int] | None = None
    inference_ms: float = 0.0
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "processed": self.processed,
            "failed": self.failed,
            "review_items": self.review_items,
            "bands": self.bands or {},
            "inference_ms": round(self.inference_ms, 1),
            "skipped": self.skipped,
        }


def _inputs(records: RecordStore, input_ids: Sequence[str]) -> list[Input | str]:
    """The batch's inputs; an input deleted since the manifest was written becomes a reason."""
    found = records.get_inputs(input_ids)
    return [found.get(i, "the input was deleted before it was processed") for i in input_ids]


def infer_items(backends: Backends, models: ModelCache, task_id: str, input_ids: Sequence[str]) -> BatchOutcome:
    """Infer, route and record one batch of a run; the Lambda's unit of work.

    A retried batch records nothing twice (the store skips inputs already recorded). A task
    deleted while its run is in flight ends the batch cleanly as skipped.
    """
    records = backends.records
    try:
        task = records.get_task(task_id)
    except NotFound:
        return BatchOutcome(task_id, skipped="task deleted")
    loaded = _inputs(records, input_ids)
    inputs = [i for i in loaded if isinstance(i, Input)]
    missing = [
        InputResult(input_id, failure=reason)
        for input_id, reason in zip(input_ids, loaded, strict=True)
        if isinstance(reason, str)
    ]
    package, runner = models.get(task)
    started = time.perf_counter()
    results = infer_batch(task, inputs, backends.blobs, package, runner) + missing
    inference_ms = (time.perf_counter() - started) * 1000
    try:
        created = records.commit_batch(task, results)
    except NotFound:
        return BatchOutcome(task_id, skipped="task deleted")
    if created:
        enqueue_review_items(task, created, records, backends.queues)
    bands = {band.value: 0 for band in Band}
    for result in results:
        if result.routed is not None:
            for band in result.routed.bands.values():
                bands[band.value] += 1
    return BatchOutcome(
        task_id,
        processed=len(results),
        failed=sum(1 for r in results if r.failure is not None),
        review_items=len(created),
        bands=bands,
        inference_ms=inference_ms,
    )


def finalize_run(backends: Backends, task_id: str, error: str | None = None) -> dict[str, Any]:
    """Close a run: inputs no batch recorded become failed inputs with a reason (never lost),
    review items a crash left unsent are sent, and the status is set (Failed with the reason
    when the run itself failed or every input failed)."""
    records = backends.records
    try:
        task = records.get_task(task_id)
    except NotFound:
        return {"task_id": task_id, "status": "Deleted"}
    leftover = records.task_inputs(task.id, InputState.PENDING)
    if leftover:
        reason = f"not processed: the run failed ({error})" if error else NOT_PROCESSED
        for start in range(0, len(leftover), 25):
            records.commit_batch(task, [InputResult(i, failure=reason) for i in leftover[start : start + 25]])
    # A store that records a batch in steps (DynamoDB) finishes any a crash interrupted and
    # whose retries all failed, before unsent review items are looked for.
    records.repair_open_commits(task.id)
    unsent = [i for i in records.review_items(task.id) if not i.enqueued]
    if unsent:
        enqueue_review_items(task, unsent, records, backends.queues)
    counts = records.counts(task.id)
    reason_text: str | None
    if error:
        status, reason_text = TaskStatus.FAILED, error
    else:
        status = run_status(counts)
        reason_text = "every input failed" if status == TaskStatus.FAILED else None
    set_status(records, task.id, status, reason_text)
    return {
        "task_id": task.id,
        "status": status.value,
        "failure_reason": reason_text,
        "inputs_total": counts.inputs_total,
        "inputs_done": counts.inputs_done,
        "inputs_failed": counts.inputs_failed,
        "review_items": counts.review_items,
    }


def label_object(
    svc: Autolabel, models: ModelCache, dataset_name: str, filename: str, data: bytes
) -> list[BatchOutcome]:
    """A new object in a dataset's upload prefix: add it to the dataset and label it for every
    task on that dataset that auto-annotates and is not failed. Repeating it changes nothing."""
    system = Actor.system()
    try:
        svc.dataset(dataset_name)
    except NotFound:
        svc.create_dataset(system, dataset_name)
    (item,) = svc.add_bytes(system, dataset_name, [(filename, data)])
    backends = Backends(svc.records, svc.blobs, svc.queues)
    outcomes = []
    for task in svc.records.list_tasks():
        if task.dataset_id != item.dataset_id or not task.auto_annotate or task.status == TaskStatus.FAILED:
            continue
        svc.records.add_task_inputs(task.id, [item.id])
        outcomes.append(infer_items(backends, models, task.id, [item.id]))
    return outcomes
