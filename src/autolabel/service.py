"""The application core: every use case the CLI, the HTTP API and the Lambdas call.

It talks to ports only, so the same calls run on the embedded world and on AWS. Every use case
takes the calling ``Actor`` and checks what that actor may do here, not in a transport, so the
CLI, ``autolabel serve`` and the Lambda cannot disagree about who may do what.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from autolabel.domain import ids
from autolabel.domain.concepts import not_found, validate_concepts
from autolabel.domain.errors import Conflict, Forbidden, NotFound, RunFailed, Unauthorized, ValidationError
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Classification,
    Dataset,
    DatasetVersion,
    Decision,
    DecisionKind,
    Geometry,
    Input,
    InputKind,
    Labeler,
    LabelerKind,
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
from autolabel.domain.review import apply_decision
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor, Role, User, new_token, require_admin, token_hash
from autolabel.imaging.decode import sniff_kind
from autolabel.inference.catalog import ModelCatalog
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import ModelPackage
from autolabel.pipeline import ProgressCallback, RunOptions, RunReport, TaskRunner, enqueue_review_items
from autolabel.ports import (
    AnnotationQuery,
    BlobStore,
    Page,
    RecordStore,
    ReviewQueues,
    UserStore,
    queue_name,
    validate_key,
)

LEASE_SECONDS = 300
MAX_RECEIVES = 5
MAX_VERSION_ATTEMPTS = 5

T = TypeVar("T")


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


class ReviewProgress(BaseModel):
    """The caller's own share of a task's review: what the review page's "N of M left" reads."""

    task_id: str
    reviewer: str
    total: int
    pending: int
    decided: int


@dataclass(frozen=True)
class BulkAcceptReport:
    accepted: list[str]
    skipped_below_score: int
    skipped_decided_meanwhile: int


def page_of(items: Sequence[T], key: Callable[[T], str], cursor: str | None, limit: int) -> Page[T]:
    """Cursor pagination over a list sorted by ``key``: the cursor is the last key returned."""
    remaining = [item for item in items if cursor is None or key(item) > cursor]
    chosen = list(remaining[:limit])
    return Page(chosen, key(chosen[-1]) if len(remaining) > limit else None)


def _input_record(dataset: Dataset, key: str, data: bytes, digest: str, kind: InputKind, source: str) -> Input:
    """The record of stored bytes: its id is content-addressed within the dataset."""
    return Input(
        id=ids.input_id(dataset.id, digest),
        dataset_id=dataset.id,
        kind=kind,
        blob_key=key,
        source=source,
        sha256=digest,
        size_bytes=len(data),
    )


class Autolabel:
    def __init__(
        self, records: RecordStore, blobs: BlobStore, queues: ReviewQueues, users: UserStore | None = None
    ) -> None:
        self.records = records
        self.blobs = blobs
        self.queues = queues
        # None where another system identifies callers (Cognito JWTs on AWS).
        self._users = users
        self.catalog = ModelCatalog(records, blobs)

    # ------------------------------------------------------------------ users

    @property
    def users(self) -> UserStore:
        if self._users is None:
            raise Unauthorized("this deployment identifies callers by JWT; it keeps no user tokens")
        return self._users

    def add_user(self, name: str, role: Role) -> tuple[User, str]:
        """Create a user; returns the user and their token, which is not stored and not shown again."""
        token = new_token()
        user = User(name=name, role=role, token_sha256=token_hash(token))
        self.users.add_user(user)
        return user, token

    def authenticate(self, token: str | None) -> Actor:
        if not token:
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        user = self.users.find_by_token_hash(token_hash(token))
        if user is None:
            raise Unauthorized("unknown or revoked token")
        return user.actor()

    # ------------------------------------------------------------------ datasets

    def dataset(self, name_or_id: str) -> Dataset:
        for candidate in (name_or_id, ids.dataset_id(name_or_id)):
            try:
                return self.records.get_dataset(candidate)
            except NotFound:
                continue
        raise not_found("dataset", name_or_id, [d.name for d in self.records.list_datasets()])

    def create_dataset(self, actor: Actor, name: str) -> Dataset:
        require_admin(actor, "create datasets")
        if not name.strip():
            raise ValidationError("a dataset needs a name")
        wanted = Dataset(id=ids.dataset_id(name), name=name)
        try:
            self.records.get_dataset(wanted.id)
        except NotFound:
            return self.records.put_dataset(wanted)
        raise Conflict(f"a dataset named '{name}' already exists", {"dataset": name})

    def datasets(self, actor: Actor) -> list[Dataset]:
        require_admin(actor, "list datasets")
        return self.records.list_datasets()

    def add_files(self, actor: Actor, name: str, paths: Sequence[Path]) -> AddReport:
        """Add image files (or every image below folders) to a dataset, creating it if new.

        Unreadable paths are reported, not fatal; nothing is recorded for them.
        """
        require_admin(actor, "add inputs")
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

    def add_bytes(self, actor: Actor, dataset_ref: str, files: Sequence[tuple[str, bytes]]) -> list[Input]:
        """Upload files into an existing dataset. Every name is checked before anything is stored."""
        require_admin(actor, "add inputs")
        dataset = self.dataset(dataset_ref)
        kinds = []
        for filename, data in files:
            kind = sniff_kind(filename)
            if kind is None or "/" in filename or "\\" in filename or filename in (".", ".."):
                raise ValidationError(f"'{filename}' is not an image or text file name", {"filename": filename})
            if not data:
                raise ValidationError(f"'{filename}' is empty", {"filename": filename})
            kinds.append(InputKind(kind))
        inputs = [
            self._store_input(dataset, filename, data, kind, filename)
            for (filename, data), kind in zip(files, kinds, strict=True)
        ]
        self.records.put_inputs(inputs)
        return inputs

    def register_keys(self, actor: Actor, dataset_ref: str, keys: Sequence[str]) -> list[Input]:
        """Add blobs already in the store (e.g. uploaded to S3 directly) without copying them."""
        require_admin(actor, "add inputs")
        dataset = self.dataset(dataset_ref)
        checked = [validate_key(key) for key in keys]  # path traversal is refused before any read
        kinds: list[InputKind] = []
        for key in checked:
            sniffed = sniff_kind(key)
            if sniffed is None:
                raise ValidationError(f"'{key}' is not an image or text file (by its extension)", {"key": key})
            if key.startswith(("models/", "versions/")):
                raise ValidationError(f"'{key}' is reserved for autolabel's own files", {"key": key})
            if not self.blobs.exists(key):
                raise NotFound(f"no blob '{key}' in the store", {"key": key})
            kinds.append(InputKind(sniffed))
        inputs = []
        for key, kind in zip(checked, kinds, strict=True):
            data = self.blobs.get(key)
            inputs.append(_input_record(dataset, key, data, hashlib.sha256(data).hexdigest(), kind, source=key))
        self.records.put_inputs(inputs)
        return inputs

    def _store_input(self, dataset: Dataset, filename: str, data: bytes, kind: InputKind, source: str) -> Input:
        digest = hashlib.sha256(data).hexdigest()
        suffix = Path(filename).suffix.lower() or ".bin"
        key = f"datasets/{dataset.id}/{digest}{suffix}"
        if not self.blobs.exists(key):
            self.blobs.put(key, data, mimetypes.guess_type(filename)[0])
        return _input_record(dataset, key, data, digest, kind, source)

    def input_content(self, actor: Actor, input_id: str) -> tuple[Input, bytes]:
        """An input's bytes: admins any, a reviewer only those of items in their partition."""
        item = self.records.get_input(input_id)
        if not actor.is_admin and not any(
            review.input_id == input_id
            for task in self.tasks(actor)
            for review in self.records.review_items(task.id, reviewer=actor.name)
        ):
            raise Forbidden(f"input {input_id} is not in any of your review items")
        return item, self.blobs.get(item.blob_key)

    def list_inputs(self, actor: Actor, dataset_ref: str, cursor: str | None, limit: int) -> Page[Input]:
        require_admin(actor, "list inputs")
        return self.records.list_inputs(self.dataset(dataset_ref).id, cursor=cursor, limit=limit)

    def delete_inputs(self, actor: Actor, input_ids: Sequence[str], dataset_ref: str | None = None) -> list[str]:
        """Delete inputs with everything recorded about them; all must exist (checked first)."""
        require_admin(actor, "delete inputs")
        dataset_id = self.dataset(dataset_ref).id if dataset_ref is not None else None
        found = {input_id: self.records.get_input(input_id) for input_id in input_ids}
        for item in found.values():
            if dataset_id is not None and item.dataset_id != dataset_id:
                raise NotFound(f"no input {item.id} in this dataset", {"input_id": item.id})
        for item in found.values():
            self.records.delete_input(item.id)
            # Uploaded bytes live under the dataset's own prefix (content-addressed, one input
            # per blob) and go with the input; blobs registered by key belong to whoever put them.
            if item.blob_key.startswith(f"datasets/{item.dataset_id}/"):
                self.blobs.delete(item.blob_key)
        return list(found)

    # ------------------------------------------------------------------ models

    def models(self) -> list[ModelSpec]:
        """Every model with its concepts; any authenticated caller may list them."""
        return self.catalog.specs()

    def register_model(
        self, actor: Actor, spec: object, *, onnx_bytes: bytes | None = None, onnx_key: str | None = None
    ) -> ModelSpec:
        """Register an ONNX model with its spec, after checking the file matches the spec.

        The file comes inline, or as the key of a blob already in the store (large models are
        uploaded to the store directly rather than through a JSON request).
        """
        require_admin(actor, "register models")
        if (onnx_bytes is None) == (onnx_key is None):
            raise ValidationError("give the ONNX file either inline or as the key of a stored blob, not both")
        try:
            package = ModelPackage.model_validate(spec)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ValidationError(f"invalid model spec: {exc}") from None
        if not package.labels:
            raise ValidationError("the model outputs no concepts: its decoder names no classes or labels")
        if any(s.id == package.id for s in self.catalog.specs()):
            raise Conflict(f"a model with id '{package.id}' already exists", {"model": package.id})
        data = onnx_bytes if onnx_bytes is not None else self.blobs.get(validate_key(str(onnx_key)))
        check_onnx_matches(package, data)
        return self.catalog.register(package, data)

    # ------------------------------------------------------------------ tasks

    def task(self, name_or_id: str) -> Task:
        task = self.records.find_task(name_or_id)
        if task is not None:
            return task
        try:
            return self.records.get_task(name_or_id)
        except NotFound:
            raise not_found("task", name_or_id, [t.name for t in self.records.list_tasks()]) from None

    def visible_task(self, actor: Actor, name_or_id: str) -> Task:
        """The task, if the actor may see it: admins see every task, reviewers the ones they review."""
        task = self.task(name_or_id)
        if not actor.is_admin and not self._reviews(task, actor.name):
            raise Forbidden(f"'{actor.name}' is not a reviewer of task '{task.name}'", {"task": task.id})
        return task

    def _reviews(self, task: Task, reviewer: str) -> bool:
        """Current reviewers, and former ones who still hold items of their partition."""
        if task.reviewer(reviewer) is not None:
            return True
        return bool(self.records.review_items(task.id, reviewer=reviewer, state=ReviewState.PENDING))

    def tasks(self, actor: Actor) -> list[Task]:
        return [t for t in self.records.list_tasks() if actor.is_admin or self._reviews(t, actor.name)]

    def create_task(
        self,
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
        )
        self.records.create_task(task)
        for reviewer in task.reviewers:
            self.queues.create(queue_name(task.id, reviewer.name), MAX_RECEIVES)
        return task

    def update_task(
        self, actor: Actor, name_or_id: str, *, name: str | None = None, reviewers: Sequence[Reviewer] | None = None
    ) -> Task:
        """Rename the task and/or change its reviewers.

        Items already assigned stay with their reviewer (even one taken off the task); inputs
        that need review from now on are spread over the new set, balanced from its first item.
        """
        require_admin(actor, "change tasks")
        task = self.task(name_or_id)
        if name is not None:
            if not name.strip():
                raise ValidationError("a task needs a name")
            other = self.records.find_task(name)
            if other is not None and other.id != task.id:
                raise Conflict(f"a task named '{name}' already exists")
        if reviewers is not None:
            check_reviewers(reviewers)
            if [r.model_dump() for r in reviewers] != [r.model_dump() for r in task.reviewers]:
                task = self.records.change_reviewers(task.id, reviewers)
                for reviewer in task.reviewers:
                    self.queues.create(queue_name(task.id, reviewer.name), MAX_RECEIVES)
        if name is not None and name != task.name:
            task = self.records.get_task(task.id).model_copy(update={"name": name, "updated_at": utcnow()})
            self.records.update_task(task)
        return task

    def delete_task(self, actor: Actor, name: str) -> Task:
        require_admin(actor, "delete tasks")
        task = self.task(name)
        holders = {item.reviewer for item in self.records.review_items(task.id)}
        self.records.delete_task(task.id)
        for reviewer in holders | {r.name for r in task.reviewers}:
            self.queues.delete_queue(queue_name(task.id, reviewer))
        for version in self.records.dataset_versions(task.id):
            self.blobs.delete(version.blob_key)
        return task

    def start_run(self, actor: Actor, name: str) -> Task:
        """Check that a run can start and mark the task In progress; the caller then runs it
        (a background thread in `autolabel serve`, a Step Functions execution on AWS)."""
        require_admin(actor, "run tasks")
        task = self.task(name)
        self.catalog.package(task.model_id)
        if not self.records.list_inputs(task.dataset_id, limit=1).items:
            raise ValidationError("the task's dataset has no inputs; add some first", {"dataset": task.dataset_id})
        return self._set_status(task, TaskStatus.IN_PROGRESS)

    def run_task(
        self, actor: Actor, name: str, progress: ProgressCallback | None = None, options: RunOptions | None = None
    ) -> RunReport:
        require_admin(actor, "run tasks")
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
        self,
        actor: Actor,
        name: str,
        thresholds: Thresholds | None,
        concept_thresholds: dict[str, Thresholds] | None,
    ) -> Task:
        """Re-apply new thresholds to stored predictions; reviewers' decisions stand."""
        require_admin(actor, "change tasks")
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
        return self.records.get_task(task.id)

    def summary(self, actor: Actor, name: str) -> TaskSummary:
        task = self.visible_task(actor, name)
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

    # ------------------------------------------------------------------ dataset versions

    def create_version(self, actor: Actor, name: str) -> DatasetVersion:
        """Snapshot the task's SUCCESS annotations as the next numbered, immutable version."""
        require_admin(actor, "create dataset versions")
        task = self.task(name)
        annotations = self.annotations(AnnotationQuery(task_id=task.id, statuses=[AnnotationStatus.SUCCESS]))
        inputs = sorted({a.input_id for a in annotations})
        for _attempt in range(MAX_VERSION_ATTEMPTS):
            number = len(self.records.dataset_versions(task.id)) + 1
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
                self.records.create_dataset_version(version)
            except Conflict:
                continue  # another version took this number first: take the next one
            self.blobs.put(version.blob_key, data, "application/json")
            return version
        raise Conflict("too many versions created at once; try again")

    def versions(self, actor: Actor, name: str) -> list[DatasetVersion]:
        require_admin(actor, "read dataset versions")
        return self.records.dataset_versions(self.task(name).id)

    def version_content(self, actor: Actor, name: str, number: int) -> bytes:
        for version in self.versions(actor, name):
            if version.number == number:
                return self.blobs.get(version.blob_key)
        raise NotFound(f"task '{name}' has no version {number}", {"version": number})

    # ------------------------------------------------------------------ review

    def review_next(self, actor: Actor, task_name: str, lease_s: int = LEASE_SECONDS) -> ReviewView | None:
        """Lease the caller's next undecided item, or None when their queue is empty."""
        task = self.task(task_name)
        reviewer = actor.name
        if not self._reviews(task, reviewer):
            raise Forbidden(f"'{reviewer}' is not a reviewer of task '{task.name}'", {"task": task.id})
        queue = queue_name(task.id, reviewer)
        while True:
            try:
                messages = self.queues.receive(queue, visibility_s=lease_s)
            except NotFound:
                # Queues are created with the task (and with new reviewers); heal a lost one.
                self.queues.create(queue, MAX_RECEIVES)
                continue
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
            return self._view(item.model_copy(update={"lease_receipt": message.receipt}), reviewer)

    def review_progress(self, actor: Actor, task_name: str) -> ReviewProgress:
        """How many items of the caller's partition there are and how many are still pending.

        Counted from the items themselves (exact on every store), not from the queue, whose
        depth is approximate on SQS and also counts leased messages.
        """
        task = self.visible_task(actor, task_name)
        mine = self.records.review_items(task.id, reviewer=actor.name)
        pending = sum(1 for item in mine if item.state == ReviewState.PENDING)
        return ReviewProgress(
            task_id=task.id, reviewer=actor.name, total=len(mine), pending=pending, decided=len(mine) - pending
        )

    def review_item(self, actor: Actor, item_id: str) -> ReviewView:
        """One item: its reviewer and admins may look at it."""
        item = self.records.get_review_item(item_id)
        if not actor.is_admin and item.reviewer != actor.name:
            raise Forbidden(f"review item {item.id} belongs to another reviewer's partition")
        return self._view(item, item.reviewer)

    def _view(self, item: ReviewItem, reviewer: str) -> ReviewView:
        task = self.records.get_task(item.task_id)
        annotations = self.records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
        flagged = [a for a in annotations if a.prediction_id in item.prediction_ids]
        approved = [a for a in annotations if a.prediction_id not in item.prediction_ids]
        # The reviewer's queue depth (waiting + leased) counts what is left without reading every item.
        queue = queue_name(task.id, reviewer)
        remaining = self.queues.depth(queue) if self.queues.exists(queue) else 0
        return ReviewView(
            item=item,
            input=self.records.get_input(item.input_id),
            flagged=flagged,
            approved=approved,
            remaining=remaining,
        )

    def decide(self, actor: Actor, item_id: str, decision: Decision) -> list[Annotation]:
        """Decide an item of the caller's partition; of two racing decisions one wins, one gets Conflict."""
        if decision.reviewer != actor.name:
            raise Forbidden("a decision is made in the caller's own name")
        item = self.records.get_review_item(item_id)
        task = self.records.get_task(item.task_id)
        annotations = self.records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
        decided_item, decided = apply_decision(task, item, annotations, decision, utcnow())
        self.records.record_decision(decided_item, decided)
        if item.lease_receipt:
            self.queues.delete(queue_name(task.id, item.reviewer), item.lease_receipt)
        return decided

    def bulk_accept(self, actor: Actor, task_name: str, min_score: float) -> BulkAcceptReport:
        """Accept every pending item of the caller's partition whose flagged predictions all
        score >= ``min_score``; items with any lower score stay for a person to look at."""
        if not 0.0 <= min_score <= 1.0:
            raise ValidationError(f"min_score must be within [0, 1], got {min_score}")
        task = self.task(task_name)
        if not self._reviews(task, actor.name):
            raise Forbidden(f"'{actor.name}' is not a reviewer of task '{task.name}'", {"task": task.id})
        accepted: list[str] = []
        below = raced = 0
        for item in self.records.review_items(task.id, reviewer=actor.name, state=ReviewState.PENDING):
            flagged = self.records.annotations(AnnotationQuery(task_id=task.id, input_ids=[item.input_id])).items
            scores = [a.score or 0.0 for a in flagged if a.prediction_id in item.prediction_ids]
            if not scores or min(scores) < min_score:
                below += 1
                continue
            try:
                self.decide(actor, item.id, Decision(kind=DecisionKind.ACCEPT, reviewer=actor.name))
            except Conflict:
                raced += 1  # decided by another request meanwhile; that decision stands
                continue
            accepted.append(item.id)
        return BulkAcceptReport(accepted, below, raced)

    def items_labeled_by(self, actor: Actor, task_name: str, labeler: str) -> list[ReviewItem]:
        """Review items whose input holds annotations by ``labeler`` (a reviewer's name or
        ``model@version``), for re-review. Reviewers get only their own partition's items."""
        task = self.visible_task(actor, task_name)
        annotated = {a.input_id for a in self.annotations(AnnotationQuery(task_id=task.id, labelers=[labeler]))}
        return [
            item
            for item in self.records.review_items(task.id)
            if item.input_id in annotated and (actor.is_admin or item.reviewer == actor.name)
        ]

    # ------------------------------------------------------------------ input manager

    def query_annotations(self, actor: Actor, query: AnnotationQuery) -> Page[Annotation]:
        require_admin(actor, "use the input manager")
        if query.task_id is not None:
            query = replace(query, task_id=self.task(query.task_id).id)
        if query.match not in ("all", "any"):
            raise ValidationError("match must be 'all' or 'any'")
        return self.records.annotations(query)

    def add_annotations(
        self,
        actor: Actor,
        task_name: str,
        input_ids: Sequence[str],
        concept: str,
        geometry: Geometry | None,
    ) -> list[Annotation]:
        """Label selected inputs with a concept (a whole-input classification, or a shape)."""
        require_admin(actor, "add annotations")
        task = self.task(task_name)
        if concept not in task.concepts:
            raise ValidationError(f"'{concept}' is not a concept of task '{task.name}'", {"concepts": task.concepts})
        for input_id in input_ids:
            if self.records.get_input(input_id).dataset_id != task.dataset_id:
                raise ValidationError(f"input {input_id} is not in the task's dataset", {"input_id": input_id})
        shape = geometry or Classification()
        nonce = hashlib.sha256(shape.model_dump_json().encode()).hexdigest()[:16]
        labeler = Labeler(kind=LabelerKind.REVIEWER, id=actor.name)
        added = [
            Annotation(
                id=ids.manual_annotation_id(task.id, input_id, concept, nonce),
                task_id=task.id,
                input_id=input_id,
                concept=concept,
                geometry=shape,
                status=AnnotationStatus.SUCCESS,
                labeled_by=labeler,
            )
            for input_id in dict.fromkeys(input_ids)
        ]
        self.records.put_annotations(added)
        return added

    def remove_annotations(self, actor: Actor, task_name: str, annotation_ids: Sequence[str]) -> int:
        require_admin(actor, "remove annotations")
        task = self.task(task_name)
        existing = {a.id for a in self.annotations(AnnotationQuery(task_id=task.id)) if a.id in set(annotation_ids)}
        missing = sorted(set(annotation_ids) - existing)
        if missing:
            raise NotFound(f"task '{task.name}' has no annotation(s) {', '.join(missing)}", {"missing": missing})
        return self.records.delete_annotations(task.id, sorted(existing))

    # ------------------------------------------------------------------ queries

    def annotations(self, query: AnnotationQuery) -> list[Annotation]:
        found: list[Annotation] = []
        page_query = query
        while True:
            page = self.records.annotations(page_query)
            found.extend(page.items)
            if page.cursor is None:
                return found
            page_query = replace(page_query, cursor=page.cursor)

    def task_inputs(self, task: Task) -> Iterable[Input]:
        for input_id in self.records.task_inputs(task.id):
            yield self.records.get_input(input_id)


def check_reviewers(reviewers: Sequence[Reviewer]) -> None:
    if not reviewers:
        raise ValidationError("a task needs at least one reviewer")
    names = [r.name for r in reviewers]
    if len(set(names)) != len(names):
        raise ValidationError("each reviewer may appear only once")


def check_onnx_matches(package: ModelPackage, onnx_bytes: bytes) -> None:
    """Load the ONNX file and check it has the input and outputs the spec names."""
    import onnxruntime

    if not onnx_bytes:
        raise ValidationError("the ONNX file is empty")
    try:
        session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise ValidationError(f"not a loadable ONNX model: {str(exc)[:300]}") from None
    inputs = {i.name for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if package.input.name not in inputs:
        raise ValidationError(f"the model has no input '{package.input.name}'", {"inputs": sorted(inputs)})
    missing = [name for name in package.decoder.reads if name not in outputs]
    if missing:
        raise ValidationError(f"the model has no output(s) {', '.join(missing)}", {"outputs": sorted(outputs)})
