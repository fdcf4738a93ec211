"""Request and response bodies. Requests are strict (no unknown fields, no type coercion), so a
wrong type or a typo in a field name is a 422, never a silently ignored value; names follow the
domain's rules (``autolabel.domain.names``), whose patterns the OpenAPI document carries.
Responses are the public views of ``autolabel.app.views``, never the domain's own records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autolabel.app.review import ReviewView
from autolabel.app.tasks import TaskSummary
from autolabel.app.views import (
    AnnotationView,
    DatasetView,
    InputView,
    ModelView,
    ReviewItemView,
    TaskView,
    VersionView,
)
from autolabel.domain.models import Box, DecisionKind, Reviewer, TaskStatus, Thresholds
from autolabel.domain.names import ConceptName, DatasetName, ReviewerName, TaskName

# A reference to something that exists: a name or an id (ids are [a-z]+_ and hex).
ID = r"^[A-Za-z0-9_.@ ()+-]{1,128}$"
MAX_ITEMS = 1000


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --------------------------------------------------------------------------- shared


class ThresholdsIn(Request):
    upper: float = Field(ge=0, le=1)
    lower: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdsIn:
        if self.lower > self.upper:
            raise ValueError(f"thresholds need lower <= upper, got lower={self.lower} upper={self.upper}")
        return self

    def domain(self) -> Thresholds:
        return Thresholds(upper=self.upper, lower=self.lower)


class ReviewerIn(Request):
    name: ReviewerName
    weight: int = Field(default=1, ge=1, le=1000)

    def domain(self) -> Reviewer:
        return Reviewer(name=self.name, weight=self.weight)


class Health(BaseModel):
    status: Literal["ok"]


class Me(BaseModel):
    name: str
    role: Literal["admin", "reviewer"]


# --------------------------------------------------------------------------- datasets


class DatasetCreate(Request):
    name: DatasetName


class DatasetPage(BaseModel):
    items: list[DatasetView]
    cursor: str | None


class UploadedFile(Request):
    filename: str = Field(pattern=r"^[A-Za-z0-9_.()+@ -]{1,200}$", description="Name with its image extension.")
    content_base64: str = Field(min_length=4, description="The file's bytes, base64-encoded.")


class UploadRequest(Request):
    filename: str = Field(pattern=r"^[A-Za-z0-9_.()+@ -]{1,200}$", description="Name with its image extension.")
    size_bytes: int = Field(ge=1, description="The file's size; files over the limit are refused (413) up front.")
    content_type: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[\w.+-]+/[\w.+-]+$",
        description="Sent with the PUT (by extension if omitted).",
    )


class ModelUploadRequest(Request):
    size_bytes: int = Field(ge=1, description="The ONNX file's size.")


class InputsUpload(Request):
    files: list[UploadedFile] = Field(min_length=1, max_length=100)


class InputsRegister(Request):
    keys: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Keys of blobs already in the store."
    )


class InputList(BaseModel):
    items: list[InputView]


class InputPage(BaseModel):
    items: list[InputView]
    cursor: str | None


class Deleted(BaseModel):
    deleted: list[str]


class InputsDelete(Request):
    input_ids: list[Annotated[str, Field(pattern=ID)]] = Field(min_length=1, max_length=MAX_ITEMS)


# --------------------------------------------------------------------------- models


class ModelPage(BaseModel):
    items: list[ModelView]
    cursor: str | None


class ModelRegister(Request):
    spec: dict[str, Any] = Field(description="The model's spec.json (see docs/ARCHITECTURE.md, Models).")
    onnx_base64: str | None = Field(default=None, min_length=4, description="The ONNX file, base64-encoded.")
    onnx_key: str | None = Field(
        default=None, min_length=1, max_length=1024, description="Or: the key of the ONNX file already in the store."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelRegister:
        if (self.onnx_base64 is None) == (self.onnx_key is None):
            raise ValueError("give exactly one of onnx_base64 and onnx_key")
        return self


# --------------------------------------------------------------------------- tasks


class TaskCreate(Request):
    name: TaskName
    dataset: str = Field(pattern=ID, description="Dataset name or id.")
    model: str = Field(pattern=ID, description="Model id (see GET /models).")
    concepts: list[ConceptName] = Field(min_length=1, max_length=MAX_ITEMS)
    auto_annotate: bool = True
    thresholds: ThresholdsIn
    concept_thresholds: dict[str, ThresholdsIn] = Field(default_factory=dict)
    reviewers: list[ReviewerIn] = Field(min_length=1, max_length=200)


class TaskUpdate(Request):
    name: TaskName | None = None
    reviewers: list[ReviewerIn] | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _something(self) -> TaskUpdate:
        if self.name is None and self.reviewers is None:
            raise ValueError("give a new name and/or reviewers")
        return self


class TaskPage(BaseModel):
    items: list[TaskView]
    cursor: str | None


class TaskDetail(BaseModel):
    task: TaskView
    summary: TaskSummary


class RunStarted(BaseModel):
    task_id: str
    status: TaskStatus


class Rethreshold(Request):
    thresholds: ThresholdsIn | None = None
    concept_thresholds: dict[str, ThresholdsIn] = Field(default_factory=dict)


class VersionList(BaseModel):
    items: list[VersionView]


class ExportRequest(Request):
    format: Literal["coco", "yolo"] = "coco"
    include_review: bool = Field(default=False, description="Also export annotations awaiting review, marked as such.")


# --------------------------------------------------------------------------- review


class NextItem(BaseModel):
    item: ReviewView | None = Field(description="The leased item, or null when the caller's queue is empty.")


class Choose(Request):
    prediction_ids: list[Annotated[str, Field(pattern=ID)]] | None = Field(
        default=None, max_length=MAX_ITEMS, description="Only these (the others get the opposite); omit for all."
    )


class EditIn(Request):
    prediction_id: str = Field(pattern=ID)
    concept: ConceptName | None = None
    box: Box | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> EditIn:
        if self.concept is None and self.box is None:
            raise ValueError("an edit changes the concept and/or the box")
        return self


class EditDecision(Request):
    edits: list[EditIn] = Field(min_length=1, max_length=MAX_ITEMS)
    rejected_prediction_ids: list[Annotated[str, Field(pattern=ID)]] = Field(default_factory=list)


class Decided(BaseModel):
    item_id: str
    decision: DecisionKind
    annotations: list[AnnotationView]


class BulkAccept(Request):
    min_score: float = Field(ge=0, le=1)


class ReviewItemPage(BaseModel):
    items: list[ReviewItemView]
    cursor: str | None


# --------------------------------------------------------------------------- input manager


class AnnotationPage(BaseModel):
    items: list[AnnotationView]
    cursor: str | None


class AnnotationsAdd(Request):
    input_ids: list[Annotated[str, Field(pattern=ID)]] = Field(min_length=1, max_length=MAX_ITEMS)
    concept: ConceptName
    box: Box | None = Field(default=None, description="Omit for a whole-input label (a classification).")


class AnnotationList(BaseModel):
    items: list[AnnotationView]


class AnnotationsDelete(Request):
    annotation_ids: list[Annotated[str, Field(pattern=ID)]] = Field(min_length=1, max_length=MAX_ITEMS)
    input_ids: list[Annotated[str, Field(pattern=ID)]] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="The inputs those annotations are on: they are looked up there, never by reading the whole task.",
    )


class Count(BaseModel):
    deleted: int
