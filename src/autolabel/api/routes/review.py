from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from autolabel.api.context import ApiContext, Cursor, Limit, path_ref
from autolabel.api.errors import responses
from autolabel.api.schemas import (
    BulkAccept,
    Choose,
    Decided,
    EditDecision,
    NextItem,
    ReviewItemPage,
)
from autolabel.app import jobs, review
from autolabel.app.jobs import JobView
from autolabel.app.review import RedriveReport, ReviewProgress, ReviewView
from autolabel.app.views import AnnotationView, ReviewItemView
from autolabel.domain.models import Decision, DecisionKind, Edit

TAGS = ["review"]


def review_router(api: ApiContext) -> Router:
    router = Router()

    def decide(item_id: str, decision_for: Decision) -> Decided:
        actor = api.actor()
        decided = review.decide(api.backends, actor, path_ref(item_id), decision_for)
        return Decided(item_id=path_ref(item_id), decision=decision_for.kind, annotations=AnnotationView.many(decided))

    @router.post(
        "/tasks/<task>/review/next",
        tags=TAGS,
        summary="Lease the caller's next item (it returns to the queue if not decided in time)",
        responses=responses(),
    )
    def review_next(task: str) -> NextItem:
        return NextItem(item=review.review_next(api.backends, api.actor(), path_ref(task)))

    @router.get(
        "/tasks/<task>/review/progress",
        tags=TAGS,
        summary="The caller's own items of the task: total, pending and decided",
        responses=responses(),
    )
    def review_progress(task: str) -> ReviewProgress:
        return review.review_progress(api.backends, api.actor(), path_ref(task))

    @router.get(
        "/review/items/<item_id>", tags=TAGS, summary="One item of the caller's partition", responses=responses()
    )
    def get_item(item_id: str) -> ReviewView:
        return review.review_item(api.backends, api.actor(), path_ref(item_id))

    @router.post(
        "/review/items/<item_id>/accept",
        tags=TAGS,
        summary="Accept the flagged predictions (all, or only those named)",
        responses=responses(),
    )
    def accept(item_id: str, body: Annotated[Choose, Body()]) -> Decided:
        actor = api.actor()
        return decide(
            item_id, Decision(kind=DecisionKind.ACCEPT, reviewer=actor.name, prediction_ids=body.prediction_ids)
        )

    @router.post(
        "/review/items/<item_id>/reject",
        tags=TAGS,
        summary="Reject the flagged predictions (all, or only those named)",
        responses=responses(),
    )
    def reject(item_id: str, body: Annotated[Choose, Body()]) -> Decided:
        actor = api.actor()
        return decide(
            item_id, Decision(kind=DecisionKind.REJECT, reviewer=actor.name, prediction_ids=body.prediction_ids)
        )

    @router.post(
        "/review/items/<item_id>/edit",
        tags=TAGS,
        summary="Change flagged predictions' concept or box; the rest are accepted unless listed as rejected",
        responses=responses(),
    )
    def edit(item_id: str, body: Annotated[EditDecision, Body()]) -> Decided:
        actor = api.actor()
        edits = [Edit(prediction_id=e.prediction_id, concept=e.concept, geometry=e.box) for e in body.edits]
        decision = Decision(
            kind=DecisionKind.EDIT,
            reviewer=actor.name,
            prediction_ids=list(body.rejected_prediction_ids) or None,
            edits=edits,
        )
        return decide(item_id, decision)

    @router.post(
        "/tasks/<task>/review/bulk-accept",
        tags=TAGS,
        summary="A job accepting every pending item of the caller whose flagged scores are all >= min_score",
        status_code=202,
        responses=responses(202),
    )
    def bulk_accept(task: str, body: Annotated[BulkAccept, Body()]) -> JobView:
        job = jobs.submit_bulk_accept(api.backends, api.actor(), path_ref(task), body.min_score)
        return JobView.of(api.backends, job)

    @router.post(
        "/tasks/<task>/review/redrive",
        tags=TAGS,
        summary="Move the task's dead-lettered items back to their reviewers' queues (admins)",
        responses=responses(),
    )
    def redrive(task: str) -> RedriveReport:
        return review.redrive(api.backends, api.actor(), path_ref(task))

    @router.get(
        "/tasks/<task>/review/items",
        tags=TAGS,
        summary="Items holding annotations by a labeler, for re-review (reviewers: their own only)",
        responses=responses(),
    )
    def items_by_labeler(
        task: str,
        labeler: Annotated[str, Query(min_length=1, max_length=200, description="Reviewer name or model@version.")],
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> ReviewItemPage:
        page = review.items_labeled_by(api.backends, api.actor(), path_ref(task), labeler, cursor, limit)
        return ReviewItemPage(items=ReviewItemView.many(page.items), cursor=page.cursor)

    return router
