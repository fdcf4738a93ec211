"""Task progress: the counters every store keeps, and the rules read from them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from autolabel.domain.models import TaskStatus


class TaskCounts(BaseModel):
    """Counters kept per task, updated in the same transaction as the facts they count."""

    inputs_total: int = 0
    inputs_done: int = 0
    inputs_failed: int = 0
    approved: int = 0
    review: int = 0
    discarded: int = 0
    awaiting_review: int = 0
    rejected: int = 0
    review_items: int = 0
    review_items_decided: int = 0
    labeled_by: dict[str, int] = Field(default_factory=dict)
    # Per reviewer, so a reviewer's progress is one read however large the task grows.
    reviewer_items: dict[str, int] = Field(default_factory=dict)
    reviewer_items_decided: dict[str, int] = Field(default_factory=dict)

    def pending_for(self, reviewer: str) -> int:
        """Undecided review items assigned to ``reviewer``."""
        return self.reviewer_items.get(reviewer, 0) - self.reviewer_items_decided.get(reviewer, 0)


def percent_reviewed(decided: int, total: int) -> float:
    """Share of review items decided; a task with nothing to review is 100% reviewed."""
    return 100.0 if total == 0 else round(100.0 * decided / total, 1)


def run_status(counts: TaskCounts) -> TaskStatus:
    """Status once a run has processed every input: Failed only if every input failed."""
    if counts.inputs_total and counts.inputs_failed == counts.inputs_total:
        return TaskStatus.FAILED
    return TaskStatus.COMPLETE
