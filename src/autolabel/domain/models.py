"""The domain vocabulary: pydantic models shared by every adapter and entry point.

Nothing here performs I/O. Records are immutable values (``frozen=True``); a change is a new
value produced by a pure function in this package and persisted by a port.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

from autolabel.domain.errors import ValidationError


def utcnow() -> datetime:
    return datetime.now(UTC)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- enums


class InputKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


class AnnotationStatus(StrEnum):
    """Status of one annotation (the vocabulary the input manager filters on)."""

    SUCCESS = "SUCCESS"
    AWAITING_REVIEW = "AWAITING_REVIEW"
    AWAITING_CONSENSUS_REVIEW = "AWAITING_CONSENSUS_REVIEW"
    PENDING = "PENDING"
    REJECTED = "REJECTED"


class TaskStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETE = "Complete"
    FAILED = "Failed"
    # A delete job is removing the task: no run starts on it and no new job either.
    DELETING = "Deleting"


class InputState(StrEnum):
    """Where one input stands within one task run."""

    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class Band(StrEnum):
    """Which side of the task's thresholds a prediction's score falls on."""

    APPROVED = "approved"
    REVIEW = "review"
    DISCARDED = "discarded"


class ModelKind(StrEnum):
    CLASSIFIER = "classifier"
    DETECTOR = "detector"
    SEGMENTER = "segmenter"
    TEXT_EMBEDDER = "text-embedder"


class LabelType(StrEnum):
    CLASSIFICATION = "classification"
    BOX = "box"
    POLYGON = "polygon"
    TEXT = "text"


class ReviewState(StrEnum):
    PENDING = "PENDING"
    DECIDED = "DECIDED"


class DecisionKind(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    EDIT = "edit"


class LabelerKind(StrEnum):
    MODEL = "model"
    REVIEWER = "reviewer"


# --------------------------------------------------------------------------- geometry


class Classification(Frozen):
    """A label for the whole input."""

    type: Literal["classification"] = "classification"


class Box(Frozen):
    """Axis-aligned box in pixels of the oriented image: top-left corner plus size."""

    # allow_inf_nan=False: Infinity passes every comparison it is put to (w > 0, x >= 0), and a
    # box of NaN or infinite size has no place in an image or in JSON.
    type: Literal["box"] = "box"
    x: float = Field(ge=0, allow_inf_nan=False)
    y: float = Field(ge=0, allow_inf_nan=False)
    w: float = Field(gt=0, allow_inf_nan=False)
    h: float = Field(gt=0, allow_inf_nan=False)

    def clipped(self, width: int, height: int) -> Box | None:
        x0, y0 = max(0.0, self.x), max(0.0, self.y)
        x1, y1 = min(float(width), self.x + self.w), min(float(height), self.y + self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


class Polygon(Frozen):
    """Closed polygon in pixels, vertices in order (the last joins the first)."""

    type: Literal["polygon"] = "polygon"
    points: list[tuple[FiniteFloat, FiniteFloat]] = Field(min_length=3)

    def bounding_box(self) -> Box:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return Box(x=min(xs), y=min(ys), w=max(max(xs) - min(xs), 1e-6), h=max(max(ys) - min(ys), 1e-6))


class TextSpan(Frozen):
    """A labelled span of a text input, as character offsets [start, end)."""

    type: Literal["text"] = "text"
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TextSpan:
        if self.end < self.start:
            raise ValueError("text span end must be >= start")
        return self


Geometry = Annotated[Classification | Box | Polygon | TextSpan, Field(discriminator="type")]


def label_type_of(geometry: Classification | Box | Polygon | TextSpan) -> LabelType:
    return LabelType(geometry.type)


# --------------------------------------------------------------------------- thresholds


class Thresholds(Frozen):
    """Decision thresholds: score >= upper is approved, lower <= score < upper is reviewed."""

    upper: float
    lower: float

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        problem = threshold_problem(self.upper, self.lower)
        if problem:
            raise ValueError(problem)
        return self

    @classmethod
    def of(cls, upper: float, lower: float) -> Thresholds:
        """Build thresholds, raising the domain's ValidationError with a plain message."""
        problem = threshold_problem(upper, lower)
        if problem:
            raise ValidationError(problem, {"upper": upper, "lower": lower})
        return cls(upper=upper, lower=lower)


def threshold_problem(upper: float, lower: float) -> str | None:
    if not (0.0 <= lower <= upper <= 1.0):
        return f"thresholds need 0 <= lower <= upper <= 1, got lower={lower} upper={upper}"
    return None


# --------------------------------------------------------------------------- catalogue


class Dataset(Frozen):
    id: str
    name: str
    created_at: datetime = Field(default_factory=utcnow)


class Input(Frozen):
    """One image or text of a dataset. ``blob_key`` names its bytes in the blob store."""

    id: str
    dataset_id: str
    kind: InputKind
    blob_key: str
    source: str = ""  # where the user added it from (path or key), for people to recognise it
    sha256: str
    size_bytes: int
    # An image's upright size, read from its header when its bytes are registered, so an export
    # never downloads every image again; None where unknown (not an image, older records).
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
    created_at: datetime = Field(default_factory=utcnow)


class ModelSpec(Frozen):
    """A model: the ONNX file plus everything needed to feed it and read it.

    Lives next to the model file as ``spec.json``; see ``autolabel.inference.spec``.
    """

    id: str
    version: str
    kind: ModelKind
    description: str = ""
    labels: list[str]
    label_type: LabelType
    batchable: bool = False
    file: str = "model.onnx"

    @field_validator("labels")
    @classmethod
    def _has_labels(cls, labels: list[str]) -> list[str]:
        if not labels:
            raise ValueError("a model must output at least one concept")
        return labels


class Reviewer(Frozen):
    # A plain string: a task stored before the name rule tightened must still load. The rule
    # (names.PERSON) is checked where reviewers are set: tasks.check_reviewers, the API's ReviewerIn.
    name: str
    weight: int = Field(default=1, ge=1, le=1000)


class Task(Frozen):
    id: str
    name: str
    dataset_id: str
    model_id: str
    model_version: str
    concepts: list[str]
    thresholds: Thresholds
    concept_thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    reviewers: list[Reviewer]
    # The review item with sequence number n (n >= this) goes to reviewer_for(n - this, reviewers).
    # Changing the reviewers moves this to the task's next sequence number, so the new set's
    # balanced pattern starts afresh and items already numbered keep their reviewer.
    reviewers_from_sequence: int = Field(default=0, ge=0)
    auto_annotate: bool = True
    # Which rule names the task's review queues (domain.queues): 2 for tasks created now; a
    # stored task without it was created under rule 1, and its queues keep those names.
    queue_naming: int = Field(default=1, ge=1, le=2)
    status: TaskStatus = TaskStatus.PENDING
    failure_reason: str | None = None
    # Runs requested so far; run n is the n-th (on AWS its execution is named <id>-run-<n>).
    runs: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        if not self.concepts:
            raise ValueError("a task needs at least one concept")
        stray = sorted(set(self.concept_thresholds) - set(self.concepts))
        if stray:
            raise ValueError(f"per-concept thresholds for concepts the task does not use: {', '.join(stray)}")
        names = [r.name for r in self.reviewers]
        if len(set(names)) != len(names):
            raise ValueError("each reviewer may appear only once")
        return self

    def thresholds_for(self, concept: str) -> Thresholds:
        return self.concept_thresholds.get(concept, self.thresholds)

    def reviewer(self, name: str) -> Reviewer | None:
        return next((r for r in self.reviewers if r.name == name), None)


# --------------------------------------------------------------------------- results


class Labeler(Frozen):
    """Who gave an annotation: a model (id + version) or a reviewer (name)."""

    kind: LabelerKind
    id: str
    version: str | None = None

    @property
    def display(self) -> str:
        return f"{self.id}@{self.version}" if self.kind == LabelerKind.MODEL else self.id


class Prediction(Frozen):
    """What the model said, kept whatever its band so that thresholds can be re-applied."""

    id: str
    task_id: str
    input_id: str
    concept: str
    score: float = Field(ge=0.0, le=1.0)
    geometry: Geometry
    model_id: str
    model_version: str


class Annotation(Frozen):
    """A label on an input, with its provenance.

    ``prediction_id`` ties it to the model output it came from (None for a label a person added).
    """

    id: str
    task_id: str
    input_id: str
    concept: str
    geometry: Geometry
    status: AnnotationStatus
    labeled_by: Labeler
    score: float | None = None
    prediction_id: str | None = None
    thresholds: Thresholds | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ReviewItem(Frozen):
    """One input's flagged predictions, assigned to exactly one reviewer.

    ``sequence`` is the item's position among the task's review items; the reviewer is a pure
    function of it (see ``partition``), which is what keeps assignments stable.
    """

    id: str
    task_id: str
    input_id: str
    reviewer: str
    sequence: int = Field(ge=0)
    prediction_ids: list[str]
    state: ReviewState = ReviewState.PENDING
    decision: DecisionKind | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    enqueued: bool = False
    lease_receipt: str | None = None  # the queue receipt of the reviewer's current lease
    created_at: datetime = Field(default_factory=utcnow)


class DatasetVersion(Frozen):
    """An immutable, numbered snapshot of a task's SUCCESS annotations, stored as one blob."""

    task_id: str
    number: int = Field(ge=1)
    blob_key: str
    sha256: str
    annotations: int
    inputs: int
    created_by: str
    # The job that created it: a job re-run after a crash finds its version instead of
    # claiming a second number.
    job_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FailedInput(Frozen):
    task_id: str
    input_id: str
    reason: str


class Edit(Frozen):
    """A reviewer's change to one flagged prediction."""

    prediction_id: str
    concept: str | None = None
    geometry: Geometry | None = None


class Decision(Frozen):
    kind: DecisionKind
    reviewer: str
    prediction_ids: list[str] | None = None  # accept/reject: a subset; None means all
    edits: list[Edit] = Field(default_factory=list)
