"""Review decisions as pure functions: (item, its annotations, decision) -> new annotations.

A decision covers the whole input (the unit of review):

* accept           -> every flagged prediction becomes SUCCESS, labeled by the reviewer;
  accept with ids  -> those SUCCESS, the other flagged ones REJECTED;
* reject           -> every flagged prediction REJECTED;
  reject with ids  -> those REJECTED, the other flagged ones SUCCESS;
* edit             -> the edited predictions SUCCESS with the new concept/geometry, any listed
                      in ``prediction_ids`` REJECTED, the rest SUCCESS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from autolabel.domain.errors import Conflict, Forbidden, ValidationError
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Decision,
    DecisionKind,
    Edit,
    Labeler,
    LabelerKind,
    ReviewItem,
    ReviewState,
    Task,
)


def check_can_decide(task: Task, item: ReviewItem, reviewer: str) -> None:
    # The item's stored reviewer is the authority: a reviewer taken off the task keeps (and
    # may finish) the items already assigned to them; they just get no new ones.
    if item.reviewer != reviewer:
        if task.reviewer(reviewer) is None:
            raise Forbidden(f"'{reviewer}' is not a reviewer of task '{task.name}'")
        raise Forbidden(f"review item {item.id} belongs to another reviewer's partition")
    if item.state != ReviewState.PENDING:
        raise Conflict(
            f"review item {item.id} was already decided ({item.decision}) by {item.decided_by}",
            {"decision": item.decision, "decided_by": item.decided_by},
        )


def apply_decision(
    task: Task,
    item: ReviewItem,
    flagged: Sequence[Annotation],
    decision: Decision,
    now: datetime,
) -> tuple[ReviewItem, list[Annotation]]:
    """Validate ``decision`` against ``item`` and return the decided item and new annotations."""
    check_can_decide(task, item, decision.reviewer)
    by_prediction = {a.prediction_id: a for a in flagged if a.prediction_id in item.prediction_ids}
    named = set(decision.prediction_ids or [])
    edits = {e.prediction_id: e for e in decision.edits}
    unknown = (named | set(edits)) - set(by_prediction)
    if unknown:
        raise ValidationError(
            f"prediction(s) {', '.join(sorted(unknown))} are not flagged in review item {item.id}",
            {"flagged": sorted(by_prediction)},
        )
    if decision.kind == DecisionKind.EDIT and not edits:
        raise ValidationError("an edit needs at least one changed prediction")
    if decision.kind != DecisionKind.EDIT and edits:
        raise ValidationError(f"changes to predictions need an edit decision, not {decision.kind.value}")
    missing = set(item.prediction_ids) - set(by_prediction)
    if missing:
        # The flagged annotations were removed (input deleted, task re-thresholded) under us.
        raise Conflict(f"review item {item.id} changed while you were deciding it; fetch it again")
    for change in edits.values():
        if change.concept is not None and change.concept not in task.concepts:
            raise ValidationError(f"'{change.concept}' is not a concept of task '{task.name}'")

    labeler = Labeler(kind=LabelerKind.REVIEWER, id=decision.reviewer)
    decided: list[Annotation] = []
    for prediction_id, annotation in by_prediction.items():
        accepted = _accepted(decision, prediction_id, named, edits)
        changes: dict[str, object] = {
            "status": AnnotationStatus.SUCCESS if accepted else AnnotationStatus.REJECTED,
            "labeled_by": labeler,
            "updated_at": now,
        }
        edit = edits.get(prediction_id)
        if edit is not None:
            if edit.concept is not None:
                changes["concept"] = edit.concept
            if edit.geometry is not None:
                if edit.geometry.type != annotation.geometry.type:
                    raise ValidationError(f"cannot change a {annotation.geometry.type} into a {edit.geometry.type}")
                changes["geometry"] = edit.geometry
        decided.append(annotation.model_copy(update=changes))
    decided_item = item.model_copy(
        update={
            "state": ReviewState.DECIDED,
            "decision": decision.kind,
            "decided_by": decision.reviewer,
            "decided_at": now,
        }
    )
    return decided_item, decided


def _accepted(decision: Decision, prediction_id: str, named: set[str], edits: Mapping[str, Edit]) -> bool:
    if decision.kind == DecisionKind.ACCEPT:
        return not named or prediction_id in named
    if decision.kind == DecisionKind.REJECT:
        return bool(named) and prediction_id not in named
    return prediction_id in edits or prediction_id not in named
