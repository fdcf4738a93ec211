"""Threshold routing: the rule that decides what becomes an annotation, what a person reviews
and what is dropped. Pure functions; the boundaries are exact (>= upper, >= lower)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from autolabel.domain import ids
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Labeler,
    LabelerKind,
    Prediction,
    Task,
    Thresholds,
    utcnow,
)


def band_of(score: float, thresholds: Thresholds) -> Band:
    if score >= thresholds.upper:
        return Band.APPROVED
    if score >= thresholds.lower:
        return Band.REVIEW
    return Band.DISCARDED


class Kept(NamedTuple):
    """A prediction routing keeps (approved or review band), with the thresholds that decided it."""

    prediction: Prediction
    status: AnnotationStatus
    thresholds: Thresholds


@dataclass(frozen=True)
class RoutedInput:
    """The outcome of routing one input's predictions.

    ``kept`` lists the predictions that are not discarded: SUCCESS for the approved band,
    AWAITING_REVIEW for the review band (a proposal a reviewer will decide). ``annotations``
    turns them into Annotation records, labeled by ``labeler`` at ``routed_at``; it is built
    on first use because a store that writes columns (SQLite) records ``kept`` directly, and
    building and validating pydantic records per prediction cost as much as storing them.
    """

    input_id: str
    task_id: str
    kept: tuple[Kept, ...]
    review_prediction_ids: tuple[str, ...]
    bands: dict[str, Band]
    labeler: Labeler
    routed_at: datetime

    @property
    def needs_review(self) -> bool:
        return bool(self.review_prediction_ids)

    def count(self, band: Band) -> int:
        return sum(1 for b in self.bands.values() if b == band)

    @cached_property
    def annotations(self) -> tuple[Annotation, ...]:
        return tuple(
            Annotation(
                id=ids.annotation_id(self.task_id, k.prediction.id),
                task_id=self.task_id,
                input_id=self.input_id,
                concept=k.prediction.concept,
                geometry=k.prediction.geometry,
                status=k.status,
                labeled_by=self.labeler,
                score=k.prediction.score,
                prediction_id=k.prediction.id,
                thresholds=k.thresholds,
                created_at=self.routed_at,
                updated_at=self.routed_at,
            )
            for k in self.kept
        )


def model_labeler(task: Task) -> Labeler:
    return Labeler(kind=LabelerKind.MODEL, id=task.model_id, version=task.model_version)


def route_input(task: Task, input_id: str, predictions: Sequence[Prediction]) -> RoutedInput:
    """Route one input's predictions by the task's thresholds (per-concept ones win).

    Predictions of concepts the task does not ask for are ignored entirely: they are not the
    task's business (a COCO detector sees 80 concepts; a task may want three).
    """
    thresholds_of = {concept: task.thresholds_for(concept) for concept in task.concepts}
    kept: list[Kept] = []
    review: list[str] = []
    bands: dict[str, Band] = {}
    for prediction in predictions:
        thresholds = thresholds_of.get(prediction.concept)
        if thresholds is None:
            continue
        band = band_of(prediction.score, thresholds)
        if band == Band.APPROVED and not task.auto_annotate:
            band = Band.REVIEW  # auto-annotation off: no label without a person, however sure the model is
        bands[prediction.id] = band
        if band == Band.APPROVED:
            kept.append(Kept(prediction, AnnotationStatus.SUCCESS, thresholds))
        elif band == Band.REVIEW:
            kept.append(Kept(prediction, AnnotationStatus.AWAITING_REVIEW, thresholds))
            review.append(prediction.id)
    return RoutedInput(input_id, task.id, tuple(kept), tuple(review), bands, model_labeler(task), utcnow())


def band_counts(routed: Iterable[RoutedInput]) -> dict[Band, int]:
    counts = {band: 0 for band in Band}
    for item in routed:
        for band in item.bands.values():
            counts[band] += 1
    return counts
