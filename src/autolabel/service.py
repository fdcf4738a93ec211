"""The application core: every use case the CLI, the HTTP API and the Lambdas call.

It talks to ports only, so the same calls run on the embedded world and on AWS.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from autolabel.domain import ids
from autolabel.domain.concepts import not_found, validate_concepts
from autolabel.domain.errors import Conflict, NotFound, RunFailed, ValidationError
from autolabel.domain.models import (
    Annotation,
    Dataset,
    Decision,
    Input,
    InputKind,
    ModelSpec,
    Prediction,
    Reviewer,
    ReviewItem,
    ReviewState,
    Task,
    TaskStatus,
    Thresholds,
    utcnow,
)
from autolabel.domain.progress import TaskSummary, percent_reviewed, run_status
from autolabel.domain.review import apply_decision, check_can_decide
from autolabel.domain.routing import route_input
from autolabel.imaging.decode import sniff_kind
from autolabel.inference.catalog import ModelCatalog
from autolabel.inference.runtime import ModelRunner
from autolabel.pipeline import ProgressCallback, RunOptions, RunReport, TaskRunner, enqueue_review_items
from autolabel.ports import AnnotationQuery, BlobStore, RecordStore, ReviewQueues, queue_name

LEASE_SECONDS = 300
MAX_RECEIVES = 5


@dataclass(frozen=True)
class AddReport:
    dataset: Dataset
    added: int
    already_present: int
    skipped: list[tuple[str, str]]  # (path, reason)


class ReviewView(BaseModel):
    """What a reviewer needs to decide one item."""

    item: ReviewItem
    input: Input
    flagged: list[Annotation]
    approved: list[Annotation]
    remaining: int


class Autolabel:
    def __init__(self, records: RecordStore, blobs: BlobStore, queues: ReviewQueues) -> None:
        self.records = records
        self.blobs = blobs
        self.queues = queues
        self.catalog = ModelCatalog(records, blobs)

    # ------------------------------------------------------------------ datasets

    def dataset(self, name: str) -> Dataset:
        try:
            return self.records.get_dataset(ids.dataset_id(name))
        except NotFound:
            raise not_found("dataset", name, [d.name for d in self.records.list_datasets()]) from None

    def add_files(self, name: str, paths: Sequence[Path]) -> AddReport:
        """Add image files (or every image below folders) to a dataset, creating it if new.

        Unreadable paths are reported, not fatal; nothing is recorded for them.
        """
        files: list[Path] = []
        skipped: list[tuple[str, str]] = []
        for path in paths:
            if path.is_dir():
                files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and sniff_kind(p.name))
            elif path.is_file():
                files.append(path)
            else:
                skipped.append((str(path), "no such file or folder"))
        if not files and not skipped:
            raise ValidationError("no image files found in the given paths")
        dataset = self.records.put_dataset(Dataset(id=ids.dataset_id(name), name=name))
        inputs: list[Input] = []
        for path in files:
            kind = sniff_kind(path.name)
            if kind is None:
                skipped.append((str(path), "not an image or text file (by its extension)"))
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                skipped.append((str(path), f"cannot read: {exc.strerror or exc}"))
                continue
            inputs.append(self._store_input(dataset, path.name, data, InputKind(kind), str(path)))
        added = self.records.put_inputs(inputs)
        return AddReport(dataset, added, len(inputs) - added, skipped)

    def add_bytes(self, name: str, filename: str, data: bytes) -> Input:
        dataset = self.records.put_dataset(Dataset(id=ids.dataset_id(name), name=name))
        kind = sniff_kind(filename)
        if kind is None:
            raise ValidationError(f"'{filename}' is not an image or text file (by its extension)")
        item = self._store_input(dataset, filename, data, InputKind(kind), filename)
        self.records.put_inputs([item])
        return item

    def _store_input(self, dataset: Dataset, filename: str, data: bytes, kind: InputKind, source: str) -> Input:
        digest = hashlib.sha256(data).hexdigest()
        suffix = Path(filename).suffix.lower() or ".bin"
        key = f"datasets/{dataset.id}/{digest}{suffix}"
        if not self.blobs.exists(key):
            self.blobs.put(key, data, mimetypes.guess_type(filename)[0])
        return Input(
            id=ids.input_id(dataset.id, digest),
            dataset_id=dataset.id,
            kind=kind,
            blob_key=key,
            source=source,
            sha256=digest,
            size_bytes=len(data),
        )

    # ------------------------------------------------------------------ models

    def models(self) -> list[ModelSpec]:
        return self.catalog.specs()

    # ------------------------------------------------------------------ tasks

    def task(self, name_or_id: str) -> Task:
        task = self.records.find_task(name_or_id)
        if task is not None:
            return task
        try:
            return self.records.get_task(name_or_id)
        except NotFound:
            raise not_found("task", name_or_id, [t.name for t in self.records.list_tasks()]) from None

    def create_task(
        self,
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
        if not name.strip():
            raise ValidationError("a task needs a name")
        if self.records.find_task(name) is not None:
            raise Conflict(f"a task named '{name}' already exists")
        data = self.dataset(dataset)
        package, _path = self.catalog.package(model)
        chosen = validate_concepts(concepts, package.labels, package.id)
        overrides = concept_thresholds or {}
        stray = [c for c in overrides if c not in chosen]
        if stray:
            raise ValidationError(f"per-concept thresholds for concepts the task does not use: {', '.join(stray)}")
        if not reviewers:
            raise ValidationError("a task needs at least one reviewer")
        names = [r.name for r in reviewers]
        if len(set(names)) != len(names):
            raise ValidationError("each reviewer may appear only once")
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
        )
        self.records.create_task(task)
        for reviewer in task.reviewers:
            self.queues.create(queue_name(task.id, reviewer.name), MAX_RECEIVES)
        return task

    def delete_task(self, name: str) -> Task:
        task = self.task(name)
        self.records.delete_task(task.id)
        for reviewer in task.reviewers:
            self.queues.delete_queue(queue_name(task.id, reviewer.name))
        return task

    def run_task(
        self, name: str, progress: ProgressCallback | None = None, options: RunOptions | None = None
    ) -> RunReport:
        task = self.task(name)
        package, path = self.catalog.package(task.model_id)
        if not self.records.list_inputs(task.dataset_id, limit=1).items:
            dataset = self.records.get_dataset(task.dataset_id).name
            raise ValidationError(f"dataset '{dataset}' has no inputs; add some with `autolabel dataset add`")
        task = self._set_status(task, TaskStatus.IN_PROGRESS)
        try:
            runner = ModelRunner(package, path, (options or RunOptions()).intra_op_threads)
            report = TaskRunner(self.records, self.blobs, self.queues, package, runner, options).run(task, progress)
        except (KeyboardInterrupt, SystemExit):
            raise  # stays In progress: the next `task run` resumes
        except ValidationError as exc:
            self._set_status(task, TaskStatus.FAILED, exc.message)
            raise
        except NotFound:
            raise  # the task was deleted while it ran: nothing left to mark
        except Exception as exc:
            # Anything else (a model onnxruntime cannot load, a full disk) fails the task with
            # its reason; recorded batches stay, and `task run` resumes once it is fixed.
            reason = f"{type(exc).__name__}: {exc}"
            self._set_status(task, TaskStatus.FAILED, reason)
            raise RunFailed(f"task '{task.name}' failed: {reason}") from exc
        counts = self.records.counts(task.id)
        status = run_status(counts)
        self._set_status(task, status, "every input failed" if status == TaskStatus.FAILED else None)
        return report

    def _set_status(self, task: Task, status: TaskStatus, reason: str | None = None) -> Task:
        updated = self.records.get_task(task.id).model_copy(
            update={"status": status, "failure_reason": reason, "updated_at": utcnow()}
        )
        self.records.update_task(updated)
        return updated

    def rethreshold(
        self, name: str, thresholds: Thresholds | None, concept_thresholds: dict[str, Thresholds] | None
    ) -> Task:
        """Re-apply new thresholds to stored predictions; reviewers' decisions stand."""
        task = self.task(name)
        overrides = dict(task.concept_thresholds)
        for concept, value in (concept_thresholds or {}).items():
            if concept not in task.concepts:
                raise ValidationError(f"'{concept}' is not a concept of task '{task.name}'")
            overrides[concept] = value
        task = task.model_copy(
            update={
                "thresholds": thresholds or task.thresholds,
                "concept_thresholds": overrides,
                "updated_at": utcnow(),
            }
        )
        by_input: dict[str, list[Prediction]] = {}
        for prediction in self.records.predictions(task.id):
            by_input.setdefault(prediction.input_id, []).append(prediction)
        routed = [route_input(task, input_id, preds) for input_id, preds in by_input.items()]
        created = self.records.replace_routing(task, routed)
        if created:
            enqueue_review_items(task, created, self.records, self.queues)
        return task

    def summary(self, name: str) -> TaskSummary:
        task = self.task(name)
        counts = self.records.counts(task.id)
        depth: dict[str, int] = {}
        dead: dict[str, int] = {}
        for reviewer in task.reviewers:
            queue = queue_name(task.id, reviewer.name)
            depth[reviewer.name] = self.queues.depth(queue) if self.queues.exists(queue) else 0
            dead[reviewer.name] = len(self.queues.dead_letters(queue)) if self.queues.exists(queue) else 0
        labeled_by = dict(sorted(counts.labeled_by.items(), key=lambda kv: (-kv[1], kv[0])))
        return TaskSummary(
            task_id=task.id,
            name=task.name,
            status=task.status,
            failure_reason=task.failure_reason,
            model=f"{task.model_id}@{task.model_version}",
            dataset=self.records.get_dataset(task.dataset_id).name,
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

    # ------------------------------------------------------------------ review

    def _reviewer_of(self, task: Task, reviewer: str) -> None:
        if task.reviewer(reviewer) is None:
            raise not_found("reviewer", reviewer, [r.name for r in task.reviewers])

    def review_next(self, task_name: str, reviewer: str, lease_s: int = LEASE_SECONDS) -> ReviewView | None:
        """Lease the reviewer's next undecided item, or None when their queue is empty."""
        task = self.task(task_name)
        self._reviewer_of(task, reviewer)
        queue = queue_name(task.id, reviewer)
        self.queues.create(queue, MAX_RECEIVES)
        while True:
            messages = self.queues.receive(queue, visibility_s=lease_s)
            if not messages:
                return None
            message = messages[0]
            try:
                item = self.records.get_review_item(message.body)
            except NotFound:
                item = None  # removed by rethreshold or input deletion
            if item is None or item.state != ReviewState.PENDING:
                self.queues.delete(queue, message.receipt)
                continue
            self.records.set_lease(item.id, message.receipt)
            return self.view(item.model_copy(update={"lease_receipt": message.receipt}), reviewer)

    def view(self, item: ReviewItem, reviewer: str) -> ReviewView:
        task = self.records.get_task(item.task_id)
        if item.reviewer != reviewer:
            check_can_decide(task, item, reviewer)
        annotations = self.records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
        flagged = [a for a in annotations if a.prediction_id in item.prediction_ids]
        approved = [a for a in annotations if a.prediction_id not in item.prediction_ids]
        remaining = len(self.records.review_items(task.id, reviewer=reviewer, state=ReviewState.PENDING))
        return ReviewView(
            item=item,
            input=self.records.get_input(item.input_id),
            flagged=flagged,
            approved=approved,
            remaining=remaining,
        )

    def decide(self, item_id: str, decision: Decision) -> list[Annotation]:
        item = self.records.get_review_item(item_id)
        task = self.records.get_task(item.task_id)
        annotations = self.records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
        decided_item, decided = apply_decision(task, item, annotations, decision, utcnow())
        self.records.record_decision(decided_item, decided)
        if item.lease_receipt:
            self.queues.delete(queue_name(task.id, item.reviewer), item.lease_receipt)
        return decided

    # ------------------------------------------------------------------ queries

    def annotations(self, query: AnnotationQuery) -> list[Annotation]:
        found: list[Annotation] = []
        page_query = query
        while True:
            page = self.records.annotations(page_query)
            found.extend(page.items)
            if page.cursor is None:
                return found
            page_query = AnnotationQuery(**{**page_query.__dict__, "cursor": page.cursor})

    def task_inputs(self, task: Task) -> Iterable[Input]:
        for input_id in self.records.task_inputs(task.id):
            yield self.records.get_input(input_id)
