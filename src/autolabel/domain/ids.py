"""Deterministic ids: the same facts always give the same id, which makes every write
idempotent (a retried batch writes the same keys) on SQLite and DynamoDB alike."""

from __future__ import annotations

import hashlib
import uuid


def stable_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


def new_id(prefix: str) -> str:
    """A random id, for things created once by a person (tasks, datasets)."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def dataset_id(name: str) -> str:
    return stable_id("ds", name)


def input_id(dataset_id: str, sha256: str) -> str:
    # Content-addressed within a dataset: adding the same file twice is a no-op.
    return stable_id("in", dataset_id, sha256)


def prediction_id(task_id: str, input_id: str, index: int) -> str:
    return stable_id("pr", task_id, input_id, index)


def annotation_id(task_id: str, prediction_id: str) -> str:
    """The model's annotation of a prediction: one per prediction, so its id is derived from
    the prediction's (which already hashes the task) without hashing again on the hot path."""
    return "an_" + prediction_id.removeprefix("pr_")


def manual_annotation_id(task_id: str, input_id: str, concept: str, nonce: str) -> str:
    return stable_id("an", task_id, input_id, concept, nonce)


def review_item_id(task_id: str, input_id: str) -> str:
    return stable_id("ri", task_id, input_id)
