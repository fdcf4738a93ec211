"""What callers see of the records: the HTTP API's response bodies and the CLI's ``--json``.

They are separate from the domain models so that what the stores keep for themselves — blob
keys, queue receipts, the enqueued flag, an ONNX file's name — never leaks into a response, and
a domain model can change without changing the API. ``View.of(record)`` copies the fields a
view declares and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from autolabel.domain.models import (
    AnnotationStatus,
    DecisionKind,
    Geometry,
    InputKind,
    LabelerKind,
    LabelType,
    ModelKind,
    ReviewState,
    TaskStatus,
)


class View(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, record: BaseModel) -> Self:
        return cls.model_validate(record.model_dump(include=set(cls.model_fields)))

    @classmethod
    def many(cls, records: Any) -> list[Self]:
        return [cls.of(r) for r in records]


class DatasetView(View):
    id: str
    name: str
    created_at: datetime


class InputView(View):
    id: str
    dataset_id: str
    kind: InputKind
    source: str = Field(
        description="Where it was added from: the file's name or path, or the key it was registered by."
    )
    sha256: str
    size_bytes: int
    created_at: datetime


class ModelView(View):
    id: str
    version: str
    kind: ModelKind
    description: str
    labels: list[str] = Field(description="The concepts the model outputs.")
    label_type: LabelType
    batchable: bool


class ThresholdsView(View):
    upper: float
    lower: float


class ReviewerView(View):
    name: str
    weight: int


class TaskView(View):
    id: str
    name: str
    dataset_id: str
    model_id: str
    model_version: str
    concepts: list[str]
    thresholds: ThresholdsView
    concept_thresholds: dict[str, ThresholdsView]
    reviewers: list[ReviewerView]
    reviewers_from_sequence: int = Field(
        description="Review items numbered from here on go to the current reviewers; earlier ones keep theirs."
    )
    auto_annotate: bool
    status: TaskStatus
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class LabelerView(View):
    kind: LabelerKind
    id: str
    version: str | None


class AnnotationView(View):
    id: str
    task_id: str
    input_id: str
    concept: str
    geometry: Geometry
    status: AnnotationStatus
    labeled_by: LabelerView
    score: float | None
    prediction_id: str | None
    thresholds: ThresholdsView | None
    created_at: datetime
    updated_at: datetime


class ReviewItemView(View):
    id: str
    task_id: str
    input_id: str
    reviewer: str
    sequence: int = Field(description="The item's place among the task's review items; its reviewer follows from it.")
    prediction_ids: list[str]
    state: ReviewState
    decision: DecisionKind | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class VersionView(View):
    task_id: str
    number: int
    sha256: str
    annotations: int
    inputs: int
    created_by: str
    created_at: datetime


class FailedInputView(View):
    input_id: str
    source: str
    reason: str
