"""The ports: the small interfaces the core talks to, and ``Backends``, the set of them one world
provides. Each port has an embedded adapter (filesystem, SQLite, a thread) and an AWS adapter
(S3, DynamoDB, SQS, Step Functions), and one contract suite in tests/contract that both pass, so
neither can drift from what the core expects. Only ``autolabel.app`` calls a port's methods;
``autolabel.bootstrap`` builds the adapters."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from autolabel.domain.errors import InvalidKey, ValidationError
from autolabel.domain.jobs import Job
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Dataset,
    DatasetVersion,
    FailedInput,
    Input,
    InputState,
    ModelSpec,
    Prediction,
    Reviewer,
    ReviewItem,
    ReviewState,
    Task,
)
from autolabel.domain.progress import TaskCounts
from autolabel.domain.routing import RoutedInput
from autolabel.domain.users import User

# --------------------------------------------------------------------------- blobs

_KEY_PART = re.compile(r"^[A-Za-z0-9._=+@,()\- ]+$")
MAX_KEY_LENGTH = 1024


def validate_key(key: str) -> str:
    """Accept only relative, normalised keys: nothing may escape the store's root.

    The same rule applies on S3 so that a key that works on a laptop works in the cloud.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"invalid key {key!r}: must be 1..{MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid key {key!r}: must be a relative path with '/' separators")
    for part in key.split("/"):
        if part in ("", ".", "..") or not _KEY_PART.match(part):
            raise InvalidKey(f"invalid key {key!r}: bad path segment {part!r}")
    return key


class BlobStore(ABC):
    """Bytes by key: inputs, models, manifests, exports."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises NotFound."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """The blob's length in bytes, without reading it. NotFound for a missing key."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key is not an error (as on S3)."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` in lexicographic order."""

    @abstractmethod
    def local_path(self, key: str) -> Path:
        """A local file holding the blob (the file itself, or a cached download)."""

    @abstractmethod
    def url(self, key: str, expires_s: int = 3600) -> str:
        """A URL a browser can GET the blob from until ``expires_s`` from now, without any other
        credential: presigned on S3; on the embedded world a signed path of ``autolabel serve``
        (``/blobs/<key>?…``, relative to the server's origin)."""

    @abstractmethod
    def upload_url(self, key: str, content_type: str, expires_s: int = 900) -> UploadTarget:
        """Where a client PUTs the blob's bytes itself (presigned on S3, a signed path of
        ``autolabel serve`` on the embedded world), so large files never pass through the API."""


@dataclass(frozen=True)
class UploadTarget:
    """A PUT the client makes: ``url`` with exactly these ``headers``."""

    url: str
    method: str
    headers: dict[str, str]


# Where `autolabel serve` answers the embedded world's signed blob links.
BLOB_PATH = "/blobs/"


class SignedBlobAccess(ABC):
    """Checks the signed blob URLs a world's blob store hands out where no cloud service checks
    them (the embedded world: ``autolabel serve`` answers ``/blobs/<key>``)."""

    @abstractmethod
    def check(self, method: str, key: str, expires: str, signature: str) -> str:
        """The key, if ``signature`` signs ``method`` on ``key`` until ``expires`` (epoch seconds)
        and that time has not passed; raises Forbidden otherwise."""


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    body: str
    receipt: str
    receive_count: int


class ReviewQueues(ABC):
    """Per-reviewer work queues with SQS semantics.

    A received message is invisible for ``visibility_s`` (the reviewer's lease); if it is not
    deleted in time it comes back, and after ``max_receives`` receives it moves to the queue's
    dead-letter queue instead of looping forever.
    """

    @abstractmethod
    def create(self, queue: str, max_receives: int = 5) -> None:
        """Create ``queue`` and its dead-letter queue; creating an existing queue is a no-op."""

    @abstractmethod
    def delete_queue(self, queue: str) -> None: ...

    @abstractmethod
    def exists(self, queue: str) -> bool: ...

    @abstractmethod
    def send(self, queue: str, messages: Sequence[tuple[str, str]]) -> None:
        """Send (message_id, body) pairs. Raises NotFound for a missing queue."""

    @abstractmethod
    def receive(self, queue: str, visibility_s: int = 300, max_messages: int = 1) -> list[QueueMessage]: ...

    @abstractmethod
    def delete(self, queue: str, receipt: str) -> None:
        """Delete a received message; a stale receipt is ignored (as SQS does)."""

    @abstractmethod
    def depth(self, queue: str) -> int:
        """Messages visible or in flight (approximate on SQS)."""

    @abstractmethod
    def dead_letters(self, queue: str) -> list[QueueMessage]: ...

    @abstractmethod
    def redrive(self, queue: str) -> int:
        """Move every message of the queue's dead-letter queue back into the queue as a new
        message (receive count 0, visible at once); how many moved. NotFound for a missing queue."""

    @abstractmethod
    def dead_letter_count(self, queue: str) -> int:
        """Messages in the queue's dead-letter queue (approximate on SQS), in one call."""


# --------------------------------------------------------------------------- records

T = TypeVar("T")


# A cursor that is an insertion number fits a signed 64-bit integer (SQLite's INTEGER, the
# largest ordinal any store hands out), so it has at most 18 digits.
_MAX_SEQUENCE_DIGITS = 18


def sequence_cursor(cursor: str | None) -> int:
    """The insertion number a numeric cursor names (0 for the first page).

    Only ASCII digits, at most 18: ``str.isdigit`` also accepts "²", which ``int`` refuses, and a
    400-digit number overflows the database's integers.
    """
    if not cursor:
        return 0
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= _MAX_SEQUENCE_DIGITS):
        raise ValidationError(f"invalid cursor {cursor[:40]!r}: pass back the cursor of the previous page")
    return int(cursor)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None = None

    @classmethod
    def of(cls, items: Sequence[T], key: Callable[[T], str], cursor: str | None, limit: int) -> Page[T]:
        """A page of ``items`` (sorted by ``key``) after ``cursor``, the last key returned."""
        remaining = [item for item in items if cursor is None or key(item) > cursor]
        chosen = list(remaining[:limit])
        return cls(chosen, key(chosen[-1]) if len(remaining) > limit else None)


@dataclass(frozen=True)
class InputResult:
    """One input's outcome in a batch: predictions and their routing, or a failure reason."""

    input_id: str
    predictions: tuple[Prediction, ...] = ()
    routed: RoutedInput | None = None
    failure: str | None = None


@dataclass(frozen=True)
class AnnotationQuery:
    """Input-manager filters. Within each field values are OR-ed; ``match`` combines fields."""

    task_id: str | None = None
    input_ids: Sequence[str] = ()
    labelers: Sequence[str] = ()
    statuses: Sequence[AnnotationStatus] = ()
    concepts: Sequence[str] = ()
    match: str = "all"  # "all" (AND across fields) or "any" (OR across fields)
    limit: int = 1000
    cursor: str | None = None


class RecordStore(ABC):
    """Datasets, inputs, tasks, predictions, annotations, review items and counters."""

    # datasets and inputs
    @abstractmethod
    def put_dataset(self, dataset: Dataset) -> Dataset:
        """Create the dataset, or return the existing one with that id."""

    @abstractmethod
    def get_dataset(self, dataset_id: str) -> Dataset: ...

    @abstractmethod
    def list_datasets(self) -> list[Dataset]: ...

    @abstractmethod
    def put_inputs(self, inputs: Sequence[Input]) -> int:
        """Add inputs idempotently (keyed by id); returns how many were new."""

    @abstractmethod
    def get_input(self, input_id: str) -> Input: ...

    @abstractmethod
    def get_inputs(self, input_ids: Sequence[str]) -> dict[str, Input]:
        """The inputs with these ids that exist, by id (a run's batch reads its inputs at once)."""

    @abstractmethod
    def list_inputs(self, dataset_id: str, cursor: str | None = None, limit: int = 1000) -> Page[Input]: ...

    @abstractmethod
    def delete_input(self, input_id: str) -> None: ...

    # models registered at run time (shipped ones are read from models/)
    @abstractmethod
    def put_model(self, spec: ModelSpec) -> None: ...

    @abstractmethod
    def list_models(self) -> list[ModelSpec]: ...

    # tasks
    @abstractmethod
    def create_task(self, task: Task) -> None:
        """Raises Conflict when a task with the same name or id exists."""

    @abstractmethod
    def get_task(self, task_id: str) -> Task: ...

    @abstractmethod
    def find_task(self, name: str) -> Task | None: ...

    @abstractmethod
    def list_tasks(self) -> list[Task]: ...

    @abstractmethod
    def update_task(self, task: Task) -> None: ...

    @abstractmethod
    def delete_task(self, task_id: str) -> None:
        """Delete the task and everything recorded for it."""

    @abstractmethod
    def delete_task_records(self, task_id: str, limit: int) -> int:
        """Delete up to ``limit`` of the records kept for the task — its inputs' states,
        predictions, annotations, review items, versions — but not the task itself; returns how
        many went, 0 once none are left. A delete job calls it chunk by chunk, then
        ``delete_task``, so a task whose records are half gone is still there to resume from.
        Where the store keeps counters, the first call removes them, so a batch still in flight
        fails (as it does against a deleted task) rather than writing behind the deletion."""

    @abstractmethod
    def change_reviewers(self, task_id: str, reviewers: Sequence[Reviewer]) -> Task:
        """Replace the task's reviewers from its next review sequence number on, atomically.

        Sets ``reviewers_from_sequence`` to the task's sequence counter in the same step, so
        items already numbered keep their reviewer and new ones follow the new set's pattern.
        """

    # runs
    @abstractmethod
    def add_task_inputs(self, task_id: str, input_ids: Sequence[str]) -> int:
        """Register inputs for the task as PENDING (idempotent); returns how many were new."""

    @abstractmethod
    def task_inputs(self, task_id: str, state: InputState | None = None) -> list[str]:
        """Input ids of the task (in a stable order), optionally only those in ``state``."""

    @abstractmethod
    def commit_batch(self, task: Task, results: Sequence[InputResult]) -> list[ReviewItem]:
        """Record a batch atomically and idempotently; returns the review items it created.

        Inputs already DONE or FAILED are skipped, so a retried batch changes nothing. Review
        items get the task's next sequence numbers and the reviewer ``partition.reviewer_for_task``
        names under the reviewers *stored* for the task (read in the same transaction, so a
        reviewer change during a run applies from the next batch); counters move with them.
        """

    @abstractmethod
    def repair_open_commits(self, task_id: str) -> list[ReviewItem]:
        """Finish every batch commit of the task that a crash interrupted; returns the review
        items written by the repair. A store that commits a batch in one step has none."""

    @abstractmethod
    def mark_enqueued(self, item_ids: Sequence[str]) -> None: ...

    @abstractmethod
    def counts(self, task_id: str) -> TaskCounts: ...

    # results
    @abstractmethod
    def predictions(self, task_id: str, input_id: str | None = None) -> list[Prediction]: ...

    @abstractmethod
    def annotations(self, query: AnnotationQuery) -> Page[Annotation]: ...

    @abstractmethod
    def put_annotations(self, annotations: Sequence[Annotation]) -> None:
        """Store annotations a person added (idempotent by id)."""

    @abstractmethod
    def delete_annotations(self, task_id: str, annotations: Sequence[Annotation]) -> int:
        """Delete these annotations of the task (found by input and id, so no scan of the
        task); returns how many existed. Counters move with them."""

    @abstractmethod
    def failed_inputs(self, task_id: str) -> list[FailedInput]: ...

    @abstractmethod
    def get_review_item(self, item_id: str) -> ReviewItem: ...

    @abstractmethod
    def review_items(
        self, task_id: str, reviewer: str | None = None, state: ReviewState | None = None
    ) -> list[ReviewItem]: ...

    @abstractmethod
    def review_item_page(
        self, task_id: str, reviewer: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[ReviewItem]:
        """One page of the task's review items (only ``reviewer``'s if given); the cursor is the
        store's own. The work is bounded by ``limit``, never by the task's size."""

    @abstractmethod
    def set_lease(self, item_id: str, receipt: str | None) -> None:
        """Remember the queue receipt of the reviewer's lease, so a decision can delete it."""

    @abstractmethod
    def record_decision(self, item: ReviewItem, annotations: Sequence[Annotation]) -> None:
        """Store a decided item and its annotations if the item is still PENDING, else Conflict.

        The check and the write are one atomic step, so of two racing decisions one wins.
        """

    @abstractmethod
    def replace_routing(self, task: Task, routed: Sequence[RoutedInput]) -> list[ReviewItem]:
        """Re-apply routing for inputs whose review is not decided (rethreshold).

        Model annotations of those inputs are replaced, pending review items are updated or
        removed, new ones are created. Returns the new review items. The counters follow after
        ``recount``: a rethreshold job re-routes a page of inputs per chunk, and recounting the
        whole task per page would make it quadratic.
        """

    @abstractmethod
    def recount(self, task_id: str) -> None:
        """Bring the task's counters up to date with its records after ``replace_routing`` (a
        store that counts from its records as it reads them has nothing to do)."""

    # dataset versions
    @abstractmethod
    def create_dataset_version(self, version: DatasetVersion) -> None:
        """Record a version; raises Conflict when the task already has one with that number."""

    @abstractmethod
    def dataset_versions(self, task_id: str) -> list[DatasetVersion]:
        """The task's versions by number."""


# --------------------------------------------------------------------------- users


class UserStore(ABC):
    """People who may call the API, found by the hash of their bearer token."""

    @abstractmethod
    def add_user(self, user: User) -> None:
        """Raises Conflict when the name is taken."""

    @abstractmethod
    def get_user(self, name: str) -> User: ...

    @abstractmethod
    def find_by_token_hash(self, token_sha256: str) -> User | None: ...

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def delete_user(self, name: str) -> None:
        """Raises NotFound for an unknown name."""


# --------------------------------------------------------------------------- runs


class RunLauncher(ABC):
    """Starts a task's run in the background: a thread on the embedded world, one Step Functions
    execution on AWS. The run itself is ``autolabel.app.runs``' lifecycle either way."""

    @abstractmethod
    def launch(self, task_id: str, run: int) -> None:
        """Start the task's ``run``-th run and return at once. Refused with Conflict while the
        task's previous run is in flight; launching the same run twice starts it once."""


# --------------------------------------------------------------------------- jobs


class JobStore(ABC):
    """Job records: what a job is, how far it got (its cursor), and how it ended."""

    @abstractmethod
    def create_job(self, job: Job) -> None:
        """Store a new job; raises Conflict when a job with that id exists."""

    @abstractmethod
    def get_job(self, job_id: str) -> Job:
        """Raises NotFound for an unknown id."""

    @abstractmethod
    def save_job(self, job: Job) -> None:
        """Store ``job`` if the stored one is the revision before it (``job.revision - 1``),
        else raise Conflict: of two workers holding the same job, the first save wins and the
        other learns it no longer owns the job."""


class JobLauncher(ABC):
    """Runs jobs in the background: a thread on the embedded world, a message on the jobs
    queue (read by the run_job function) on AWS."""

    @abstractmethod
    def launch(self, job_id: str) -> None:
        """Have the job run (or continue) soon, and return at once."""


# --------------------------------------------------------------------------- one world


@dataclass(frozen=True)
class Backends:
    """Everything the use cases need from one world, built by ``autolabel.bootstrap``."""

    records: RecordStore
    blobs: BlobStore
    queues: ReviewQueues
    launcher: RunLauncher
    jobs: JobStore
    job_launcher: JobLauncher
    # Every review queue's name starts with it (domain.queues): on AWS the stack's prefix, which
    # its IAM policies grant; a workspace's queues live in its own database and need none.
    queue_prefix: str = ""
    # None where another system identifies callers (Cognito JWTs on AWS).
    users: UserStore | None = None
    # The folder of shipped models (model.onnx + spec.json per folder); None where models are
    # only read from the blob store (AWS publishes the shipped ones there at deploy time).
    models_dir: Path | None = None
    # Set where the API server itself must check signed blob URLs (embedded: `autolabel serve`).
    signed_blobs: SignedBlobAccess | None = None
