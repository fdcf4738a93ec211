"""Review: each reviewer pulls the next item of their own queue (a lease), looks at it, and
accepts, rejects or edits its flagged predictions. Only an item's reviewer decides it, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from autolabel.app.access import find_task, require_item_access, require_reviewer, visible_task
from autolabel.app.shapes import fit_to_input
from autolabel.app.views import AnnotationView, InputView, ReviewItemView
from autolabel.domain import names, queues
from autolabel.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from autolabel.domain.models import Annotation, Decision, DecisionKind, ReviewItem, ReviewState, Task, utcnow
from autolabel.domain.review import apply_decision
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import AnnotationQuery, Backends, Page

LEASE_SECONDS = 300
# A reviewer's lease may lapse this many times before their item moves to the dead-letter queue.
MAX_RECEIVES = 5


def queue_of(backends: Backends, task: Task, reviewer: str) -> str:
    """The queue holding ``reviewer``'s items of ``task`` (named by the rule the task was
    created under, with the world's prefix)."""
    return queues.queue_of(backends.queue_prefix, task.id, task.queue_naming, reviewer)


class ReviewView(BaseModel):
    """What a reviewer needs to decide one item."""

    item: ReviewItemView
    input: InputView
    flagged: list[AnnotationView]
    approved: list[AnnotationView]
    remaining: int
    lease_expires_at: datetime | None = Field(description="Set when this response leased the item to the caller.")


class ReviewProgress(BaseModel):
    """The caller's own share of a task's review: what the review page's "N of M left" reads."""

    task_id: str
    reviewer: str
    total: int
    pending: int
    decided: int


class RedriveReport(BaseModel):
    """Dead-lettered review items moved back to their reviewers' queues."""

    task_id: str
    moved: int = Field(description="Items moved back, over all reviewers.")
    by_reviewer: dict[str, int]


def review_next(backends: Backends, actor: Actor, task_name: str, lease_s: int = LEASE_SECONDS) -> ReviewView | None:
    """Lease the caller's next undecided item, or None when their queue is empty."""
    task = find_task(backends, task_name)
    require_reviewer(backends, actor, task)
    queue = queue_of(backends, task, actor.name)
    while True:
        try:
            messages = backends.queues.receive(queue, visibility_s=lease_s)
        except NotFound:
            # Queues are created with the task (and with new reviewers); heal a lost one.
            backends.queues.create(queue, MAX_RECEIVES)
            continue
        if not messages:
            return None
        message = messages[0]
        try:
            item: ReviewItem | None = backends.records.get_review_item(message.body)
        except NotFound:
            item = None  # removed by rethreshold or input deletion
        if item is None or item.state != ReviewState.PENDING:
            backends.queues.delete(queue, message.receipt)
            continue
        expires = utcnow() + timedelta(seconds=lease_s)
        backends.records.set_lease(item.id, message.receipt)
        return _view(backends, task, item, actor.name).model_copy(update={"lease_expires_at": expires})


def review_progress(backends: Backends, actor: Actor, task_name: str) -> ReviewProgress:
    """How many items of the caller's partition there are and how many are still pending.

    Read from the task's counters, which move in the same transaction as the items (exact on
    every store, one read however large the task), not from the queue, whose depth is
    approximate on SQS and also counts leased messages.
    """
    task = visible_task(backends, actor, task_name)
    counts = backends.records.counts(task.id)
    total = counts.reviewer_items.get(actor.name, 0)
    decided = counts.reviewer_items_decided.get(actor.name, 0)
    return ReviewProgress(task_id=task.id, reviewer=actor.name, total=total, pending=total - decided, decided=decided)


def review_item(backends: Backends, actor: Actor, item_id: str) -> ReviewView:
    """One item: its reviewer and admins may look at it."""
    item = backends.records.get_review_item(item_id)
    require_item_access(actor, item)
    return _view(backends, backends.records.get_task(item.task_id), item, item.reviewer)


def _view(backends: Backends, task: Task, item: ReviewItem, reviewer: str) -> ReviewView:
    annotations = _annotations_of(backends, item)
    flagged = [a for a in annotations if a.prediction_id in item.prediction_ids]
    approved = [a for a in annotations if a.prediction_id not in item.prediction_ids]
    # The reviewer's queue depth (waiting + leased) counts what is left without reading every item.
    queue = queue_of(backends, task, reviewer)
    remaining = backends.queues.depth(queue) if backends.queues.exists(queue) else 0
    return ReviewView(
        item=ReviewItemView.of(item),
        input=InputView.of(backends.records.get_input(item.input_id)),
        flagged=AnnotationView.many(flagged),
        approved=AnnotationView.many(approved),
        remaining=remaining,
        lease_expires_at=None,
    )


def _annotations_of(backends: Backends, item: ReviewItem) -> list[Annotation]:
    return backends.records.annotations(AnnotationQuery(task_id=item.task_id, input_ids=[item.input_id])).items


def decide(backends: Backends, actor: Actor, item_id: str, decision: Decision) -> list[Annotation]:
    """Decide an item of the caller's partition; of two racing decisions one wins, one gets Conflict."""
    if decision.reviewer != actor.name:
        raise Forbidden("a decision is made in the caller's own name")
    for edit in decision.edits:
        if edit.concept is not None:
            names.CONCEPT.check(edit.concept)
    item = backends.records.get_review_item(item_id)
    task = backends.records.get_task(item.task_id)
    if any(edit.geometry is not None for edit in decision.edits):
        decision = _fitted(backends, item, decision)
    decided_item, decided = apply_decision(task, item, _annotations_of(backends, item), decision, utcnow())
    backends.records.record_decision(decided_item, decided)
    if item.lease_receipt:
        backends.queues.delete(queue_of(backends, task, item.reviewer), item.lease_receipt)
    return decided


def _fitted(backends: Backends, item: ReviewItem, decision: Decision) -> Decision:
    """The decision with its edited shapes clipped to the item's image (or refused)."""
    shown = backends.records.get_input(item.input_id)
    edits = [
        edit
        if edit.geometry is None
        else edit.model_copy(update={"geometry": fit_to_input(backends, shown, edit.geometry)})
        for edit in decision.edits
    ]
    return decision.model_copy(update={"edits": edits})


def check_min_score(min_score: float) -> None:
    if not 0.0 <= min_score <= 1.0:
        raise ValidationError(f"min_score must be within [0, 1], got {min_score}")


BulkOutcome = Literal["accepted", "skipped_below_score", "skipped_decided_meanwhile"]


def accept_if_confident(backends: Backends, actor: Actor, item_id: str, min_score: float) -> BulkOutcome:
    """Accept the caller's pending item if its flagged predictions all score >= ``min_score``
    (a bulk-accept job's step); an item with a lower score stays for a person to look at, and
    an item decided meanwhile (or by an earlier run of the same chunk) is skipped."""
    item = backends.records.get_review_item(item_id)
    if item.state != ReviewState.PENDING:
        return "skipped_decided_meanwhile"
    scores = [a.score or 0.0 for a in _annotations_of(backends, item) if a.prediction_id in item.prediction_ids]
    if not scores or min(scores) < min_score:
        return "skipped_below_score"
    try:
        decide(backends, actor, item.id, Decision(kind=DecisionKind.ACCEPT, reviewer=actor.name))
    except Conflict:
        return "skipped_decided_meanwhile"  # decided by another request meanwhile; that decision stands
    return "accepted"


def redrive(backends: Backends, actor: Actor, task_name: str) -> RedriveReport:
    """Move the task's dead-lettered items (their leases lapsed ``MAX_RECEIVES`` times) back to
    their reviewers' queues, where they are received afresh. Admins only.

    The queues of the task's current reviewers: finding those of reviewers taken off the task
    would mean reading every item of the task; add such a reviewer back to reach theirs."""
    require_admin(actor, "redrive review items")
    task = find_task(backends, task_name)
    by_reviewer: dict[str, int] = {}
    for reviewer in task.reviewers:
        queue = queue_of(backends, task, reviewer.name)
        try:
            by_reviewer[reviewer.name] = backends.queues.redrive(queue)
        except NotFound:
            # No queue, so nothing was dead-lettered; the next `review next` heals it.
            by_reviewer[reviewer.name] = 0
    return RedriveReport(task_id=task.id, moved=sum(by_reviewer.values()), by_reviewer=by_reviewer)


def items_labeled_by(
    backends: Backends, actor: Actor, task_name: str, labeler: str, cursor: str | None, limit: int
) -> Page[ReviewItem]:
    """Review items whose input holds annotations by ``labeler`` (a reviewer's name or
    ``model@version``), for re-review. Reviewers get only their own partition's items.

    One page of the task's (or the reviewer's) items, each checked by its input's annotations:
    the work follows ``limit``, not the task, so a page may hold fewer than ``limit`` matches
    while its cursor says more items follow."""
    task = visible_task(backends, actor, task_name)
    page = backends.records.review_item_page(
        task.id, reviewer=None if actor.is_admin else actor.name, cursor=cursor, limit=limit
    )
    matching = [
        item
        for item in page.items
        if backends.records.annotations(
            AnnotationQuery(task_id=task.id, input_ids=[item.input_id], labelers=[labeler], limit=1)
        ).items
    ]
    return Page(matching, page.cursor)
