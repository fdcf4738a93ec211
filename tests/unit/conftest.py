"""Builders for the domain unit tests.

Each fixture returns a factory: call it with keyword overrides to get a valid domain value with
everything else filled in, e.g. ``make_task(concepts=["cat"])``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from autolabel.domain import ids
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Labeler,
    LabelerKind,
    Prediction,
    Reviewer,
    ReviewItem,
    Task,
    Thresholds,
)

TASK_ID = "task_1"
INPUT_ID = "in_1"
MODEL_ID = "detr"
MODEL_VERSION = "1.2.0"
FIXED_NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# What the factory fixtures return, for the tests that take them.
MakeTask = Callable[..., Task]
MakePrediction = Callable[..., Prediction]


def build_task(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "id": TASK_ID,
        "name": "street scenes",
        "dataset_id": "ds_1",
        "model_id": MODEL_ID,
        "model_version": MODEL_VERSION,
        "concepts": ["cat", "dog", "car"],
        "thresholds": Thresholds(upper=0.8, lower=0.4),
        "reviewers": [Reviewer(name="alice"), Reviewer(name="bob")],
    }
    fields.update(overrides)
    return Task(**fields)


def build_prediction(index: int = 0, **overrides: Any) -> Prediction:
    task_id = overrides.get("task_id", TASK_ID)
    input_id = overrides.get("input_id", INPUT_ID)
    fields: dict[str, Any] = {
        "id": ids.prediction_id(task_id, input_id, index),
        "task_id": task_id,
        "input_id": input_id,
        "concept": "cat",
        "score": 0.9,
        "geometry": Box(x=1, y=2, w=3, h=4),
        "model_id": MODEL_ID,
        "model_version": MODEL_VERSION,
    }
    fields.update(overrides)
    return Prediction(**fields)


def build_annotation(prediction_id: str, **overrides: Any) -> Annotation:
    task_id = overrides.get("task_id", TASK_ID)
    fields: dict[str, Any] = {
        "id": ids.annotation_id(task_id, prediction_id),
        "task_id": task_id,
        "input_id": INPUT_ID,
        "concept": "cat",
        "geometry": Box(x=1, y=2, w=3, h=4),
        "status": AnnotationStatus.AWAITING_REVIEW,
        "labeled_by": Labeler(kind=LabelerKind.MODEL, id=MODEL_ID, version=MODEL_VERSION),
        "score": 0.5,
        "prediction_id": prediction_id,
        "thresholds": Thresholds(upper=0.8, lower=0.4),
        "created_at": FIXED_NOW,
        "updated_at": FIXED_NOW,
    }
    fields.update(overrides)
    return Annotation(**fields)


def build_review_item(prediction_ids: list[str], **overrides: Any) -> ReviewItem:
    task_id = overrides.get("task_id", TASK_ID)
    input_id = overrides.get("input_id", INPUT_ID)
    fields: dict[str, Any] = {
        "id": ids.review_item_id(task_id, input_id),
        "task_id": task_id,
        "input_id": input_id,
        "reviewer": "alice",
        "sequence": 0,
        "prediction_ids": prediction_ids,
        "created_at": FIXED_NOW,
    }
    fields.update(overrides)
    return ReviewItem(**fields)


@pytest.fixture
def make_task() -> MakeTask:
    return build_task


@pytest.fixture
def make_prediction() -> MakePrediction:
    return build_prediction


@pytest.fixture
def make_annotation() -> Callable[..., Annotation]:
    return build_annotation


@pytest.fixture
def make_review_item() -> Callable[..., ReviewItem]:
    return build_review_item


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW
