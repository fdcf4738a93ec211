"""Threshold routing: the rule that decides what becomes an annotation, what a person reviews
and what is dropped. Pure functions; the boundaries are exact (>= upper, >= lower)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

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

# Enum members as module constants: a class attribute lookup on an Enum costs several times a
# global one, and routing does a few per prediction.
_APPROVED, _REVIEW, _DISCARDED = Band.APPROVED, Band.REVIEW, Band.DISCARDED


def band_of(score: float, thresholds: Thresholds) -> Band:
    if score >= thresholds.upper:
        return _APPROVED
    if score >= thresholds.lower:
        return _REVIEW
    return _DISCARDED


def status_for(band: Band) -> AnnotationStatus:
    """The status of the annotation a kept prediction becomes."""
    return AnnotationStatus.SUCCESS if band is _APPROVED else AnnotationStatus.AWAITING_REVIEW


@dataclass(frozen=True)
class RoutedInput:
    """The outcome of routing one input's predictions.

    ``kept`` lists the predictions that are not discarded: each becomes an annotation, SUCCESS
    for the approved band, AWAITING_REVIEW for the review band (a proposal a reviewer will
    decide), with the ``thresholds`` of its concept. ``annotations`` builds those records,
    labeled by ``labeler`` at ``routed_at``, on first use: a store that writes columns (SQLite)
    records the decisions directly, and building and validating pydantic records per prediction
    cost as much as storing them.
    """

    input_id: str
    task_id: str
    kept: tuple[Prediction, ...]
    review_prediction_ids: tuple[str, ...]
    bands: dict[str, Band]
    thresholds: dict[str, Thresholds]  # per concept, as in force when routed
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
                id=ids.annotation_id(self.task_id, p.id),
                task_id=self.task_id,
                input_id=self.input_id,
                concept=p.concept,
                geometry=p.geometry,
                status=status_for(self.bands[p.id]),
                labeled_by=self.labeler,
                score=p.score,
                prediction_id=p.id,
                thresholds=self.thresholds[p.concept],
                created_at=self.routed_at,
                updated_at=self.routed_at,
            )
            for p in self.kept
        )


def model_labeler(task: Task) -> Labeler:
    return Labeler(kind=LabelerKind.MODEL, id=task.model_id, version=task.model_version)


def route_input(task: Task, input_id: str, predictions: Sequence[Prediction]) -> RoutedInput:
    """Route one input's predictions by the task's thresholds (per-concept ones win).

    Predictions of concepts the task does not ask for are ignored entirely: they are not the
    task's business (a COCO detector sees 80 concepts; a task may want three).
    """
    thresholds_of = {concept: task.thresholds_for(concept) for concept in task.concepts}
    demote = not task.auto_annotate  # auto-annotation off: no label without a person, however sure the model is
    kept: list[Prediction] = []
    review: list[str] = []
    bands: dict[str, Band] = {}
    for prediction in predictions:
        thresholds = thresholds_of.get(prediction.concept)
        if thresholds is None:
            continue
        band = band_of(prediction.score, thresholds)
        if band is _APPROVED and demote:
            band = _REVIEW
        bands[prediction.id] = band
        if band is _DISCARDED:
            continue
        kept.append(prediction)
        if band is _REVIEW:
            review.append(prediction.id)
    return RoutedInput(
        input_id, task.id, tuple(kept), tuple(review), bands, thresholds_of, model_labeler(task), utcnow()
    )


def band_counts(routed: Iterable[RoutedInput]) -> dict[Band, int]:
    counts = {band: 0 for band in Band}
    for item in routed:
        for band in item.bands.values():
            counts[band] += 1
    return counts
