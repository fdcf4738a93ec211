"""Threshold routing: the rule that decides what becomes an annotation, what a person reviews
and what is dropped. Pure functions; the boundaries are exact (>= upper, >= lower)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RoutedInput:
    """The outcome of routing one input's predictions.

    ``annotations`` holds one annotation per prediction that is not discarded: SUCCESS for the
    approved band, AWAITING_REVIEW for the review band (a proposal a reviewer will decide).
    """

    input_id: str
    annotations: tuple[Annotation, ...]
    review_prediction_ids: tuple[str, ...]
    bands: dict[str, Band]

    @property
    def needs_review(self) -> bool:
        return bool(self.review_prediction_ids)

    def count(self, band: Band) -> int:
        return sum(1 for b in self.bands.values() if b == band)


def model_labeler(task: Task) -> Labeler:
    return Labeler(kind=LabelerKind.MODEL, id=task.model_id, version=task.model_version)


def route_input(task: Task, input_id: str, predictions: Sequence[Prediction]) -> RoutedInput:
    """Route one input's predictions by the task's thresholds (per-concept ones win).

    Predictions of concepts the task does not ask for are ignored entirely: they are not the
    task's business (a COCO detector sees 80 concepts; a task may want three).
    """
    wanted = set(task.concepts)
    labeler = model_labeler(task)
    now = utcnow()
    annotations: list[Annotation] = []
    review: list[str] = []
    bands: dict[str, Band] = {}
    for prediction in predictions:
        if prediction.concept not in wanted:
            continue
        thresholds = task.thresholds_for(prediction.concept)
        band = band_of(prediction.score, thresholds)
        if band == Band.APPROVED and not task.auto_annotate:
            band = Band.REVIEW  # auto-annotation off: no label without a person, however sure the model is
        bands[prediction.id] = band
        if band == Band.DISCARDED:
            continue
        status = AnnotationStatus.SUCCESS if band == Band.APPROVED else AnnotationStatus.AWAITING_REVIEW
        if band == Band.REVIEW:
            review.append(prediction.id)
        annotations.append(
            Annotation(
                id=ids.annotation_id(task.id, prediction.id),
                task_id=task.id,
                input_id=input_id,
                concept=prediction.concept,
                geometry=prediction.geometry,
                status=status,
                labeled_by=labeler,
                score=prediction.score,
                prediction_id=prediction.id,
                thresholds=thresholds,
                created_at=now,
                updated_at=now,
            )
        )
    return RoutedInput(input_id, tuple(annotations), tuple(review), bands)


def band_counts(routed: Iterable[RoutedInput]) -> dict[Band, int]:
    counts = {band: 0 for band in Band}
    for item in routed:
        for band in item.bands.values():
            counts[band] += 1
    return counts
