"""Partitioned review: which reviewer gets the n-th input that needs review.

The reviewer is a pure function of the item's sequence number (its position among the task's
review items) and the reviewer list. Stores hand out sequence numbers atomically (a counter in
the same transaction on SQLite, an atomic ADD on DynamoDB) and never change an item's sequence,
so an assignment never moves, never duplicates, and every prefix of the sequence is balanced:

* equal weights: plain round robin, per-reviewer counts differ by at most 1;
* weights: the Balinski-Young quota method. After n items reviewer i holds c_i with
  |c_i - n * w_i / W| < 1 for every n (W = sum of weights).

The pattern repeats every W items, so it is computed once per reviewer list and indexed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache

from autolabel.domain.errors import ValidationError
from autolabel.domain.ids import review_item_id
from autolabel.domain.models import Reviewer, ReviewItem, Task
from autolabel.domain.routing import RoutedInput


@lru_cache(maxsize=256)
def _pattern(reviewers: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """One period (W items) of the Balinski-Young quota method.

    Item m goes to the reviewer with the highest Jefferson priority w / (c + 1) among those
    whose count would stay within their upper quota ceil(m * w / W). Balinski and Young proved
    this keeps every count within its quota at every m; after W items each reviewer holds
    exactly w, so the pattern repeats. (Smooth weighted round robin, the obvious choice, can
    drift past one input for some weight sets.)
    """
    total = sum(weight for _, weight in reviewers)
    counts = [0] * len(reviewers)
    pattern: list[str] = []
    for house in range(1, total + 1):
        eligible = [
            index
            for index, (_, weight) in enumerate(reviewers)
            # counts + 1 <= ceil(house * w / W), in integers.
            if (counts[index] + 1) * total < house * weight + total
        ]
        # max() keeps the first of equals, so ties go to the reviewer listed first.
        chosen = max(eligible, key=lambda i: Fraction(reviewers[i][1], counts[i] + 1))
        counts[chosen] += 1
        pattern.append(reviewers[chosen][0])
    return tuple(pattern)


def reviewer_for(sequence: int, reviewers: Sequence[Reviewer]) -> str:
    if not reviewers:
        raise ValidationError("a task with inputs to review needs at least one reviewer")
    if sequence < 0:
        raise ValueError("sequence must be >= 0")
    pattern = _pattern(tuple((r.name, r.weight) for r in reviewers))
    return pattern[sequence % len(pattern)]


def reviewer_for_task(task: Task, sequence: int) -> str:
    """The reviewer of the task's review item ``sequence`` under the task's current reviewers.

    Counting from ``task.reviewers_from_sequence`` gives a changed reviewer set its own balanced
    prefix; items numbered before it were assigned under an earlier set and keep that reviewer.
    """
    if sequence < task.reviewers_from_sequence:
        raise ValueError(f"item {sequence} was numbered before the current reviewers took over")
    return reviewer_for(sequence - task.reviewers_from_sequence, task.reviewers)


def number_review_items(task: Task, routed: Iterable[RoutedInput], next_sequence: int) -> list[ReviewItem]:
    """The review items of ``routed`` inputs that need review, in their order: the first gets
    ``next_sequence``, each the next number, and each its reviewer under ``task.reviewers``.

    Stores call this inside the step that claims the numbers (a SQLite transaction, a DynamoDB
    conditional counter update), with the task and counter as stored at that moment; they
    persist what it returns and decide nothing themselves.
    """
    items: list[ReviewItem] = []
    for entry in routed:
        if not entry.needs_review:
            continue
        sequence = next_sequence + len(items)
        items.append(
            ReviewItem(
                id=review_item_id(task.id, entry.input_id),
                task_id=task.id,
                input_id=entry.input_id,
                reviewer=reviewer_for_task(task, sequence),
                sequence=sequence,
                prediction_ids=list(entry.review_prediction_ids),
            )
        )
    return items


def assign(count: int, reviewers: Sequence[Reviewer], start: int = 0) -> list[str]:
    """Reviewers of the items with sequence numbers start .. start+count-1."""
    return [reviewer_for(start + offset, reviewers) for offset in range(count)]
