from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from autolabel.api.context import ApiContext, Cursor, Limit, path_ref
from autolabel.api.errors import responses
from autolabel.api.schemas import (
    AnnotationList,
    AnnotationPage,
    AnnotationsAdd,
    AnnotationsDelete,
    Count,
    Deleted,
    InputsDelete,
)
from autolabel.app import datasets, input_manager
from autolabel.app.views import AnnotationView
from autolabel.domain.errors import ValidationError
from autolabel.domain.models import AnnotationStatus
from autolabel.ports import AnnotationQuery

TAGS = ["input manager"]
CommaList = Annotated[str | None, Query(max_length=2000, description="Comma-separated values, any of which matches.")]


def split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def statuses(values: str | None) -> list[AnnotationStatus]:
    chosen = split(values)
    known = [s.value for s in AnnotationStatus]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise ValidationError(f"unknown status {', '.join(unknown)}: use {', '.join(known)}", {"known": known})
    return [AnnotationStatus(v) for v in chosen]


def input_manager_router(api: ApiContext) -> Router:
    router = Router()

    @router.get(
        "/annotations",
        tags=TAGS,
        summary="Annotations and objects filtered by task, labeler, status and concept (AND or OR)",
        responses=responses(),
    )
    def list_annotations(
        task: Annotated[str | None, Query(max_length=200, description="Task name or id.")] = None,
        labeler: CommaList = None,
        status: CommaList = None,
        concept: CommaList = None,
        match: Annotated[Literal["all", "any"], Query(description="all: every filter holds; any: one does.")] = "all",
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> AnnotationPage:
        query = AnnotationQuery(
            task_id=task,
            labelers=split(labeler),
            statuses=statuses(status),
            concepts=split(concept),
            match=match,
            limit=limit,
            cursor=cursor,
        )
        page = input_manager.query_annotations(api.backends, api.actor(), query)
        return AnnotationPage(items=AnnotationView.many(page.items), cursor=page.cursor)

    @router.post(
        "/tasks/<task>/annotations",
        tags=TAGS,
        summary="Add a concept (or a box of it) to selected inputs",
        status_code=201,
        responses=responses(201),
    )
    def add_annotations(task: str, body: Annotated[AnnotationsAdd, Body()]) -> AnnotationList:
        added = input_manager.add_annotations(
            api.backends, api.actor(), path_ref(task), body.input_ids, body.concept, body.box
        )
        return AnnotationList(items=AnnotationView.many(added))

    @router.post("/tasks/<task>/annotations/delete", tags=TAGS, summary="Remove annotations", responses=responses())
    def remove_annotations(task: str, body: Annotated[AnnotationsDelete, Body()]) -> Count:
        removed = input_manager.remove_annotations(
            api.backends, api.actor(), path_ref(task), body.annotation_ids, body.input_ids
        )
        return Count(deleted=removed)

    @router.post(
        "/inputs/delete", tags=TAGS, summary="Delete inputs and all that is recorded about them", responses=responses()
    )
    def delete_inputs(body: Annotated[InputsDelete, Body()]) -> Deleted:
        return Deleted(deleted=datasets.delete_inputs(api.backends, api.actor(), body.input_ids))

    return router
