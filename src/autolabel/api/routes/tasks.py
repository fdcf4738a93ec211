from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from autolabel.api.context import ApiContext, Cursor, Limit, path_ref
from autolabel.api.errors import responses
from autolabel.api.schemas import (
    ExportOut,
    Rethreshold,
    RunStarted,
    TaskCreate,
    TaskDetail,
    TaskPage,
    TaskUpdate,
    VersionList,
)
from autolabel.domain.models import DatasetVersion, Task
from autolabel.exporting import export_files
from autolabel.service import page_of

TAGS = ["tasks"]


def tasks_router(api: ApiContext) -> Router:
    router = Router()

    @router.post("/tasks", tags=TAGS, summary="Create a task", status_code=201, responses=responses(201))
    def create_task(body: Annotated[TaskCreate, Body()]) -> Task:
        return api.service.create_task(
            api.actor(),
            name=body.name,
            dataset=body.dataset,
            model=body.model,
            concepts=body.concepts,
            thresholds=body.thresholds.domain(),
            concept_thresholds={c: t.domain() for c, t in body.concept_thresholds.items()},
            reviewers=[r.domain() for r in body.reviewers],
            auto_annotate=body.auto_annotate,
        )

    @router.get("/tasks", tags=TAGS, summary="Tasks the caller may see", responses=responses())
    def list_tasks(cursor: Cursor = None, limit: Limit = 100) -> TaskPage:
        found = sorted(api.service.tasks(api.actor()), key=lambda t: t.id)
        page = page_of(found, lambda t: t.id, cursor, limit)
        return TaskPage(items=page.items, cursor=page.cursor)

    @router.get(
        "/tasks/<task>",
        tags=TAGS,
        summary="A task with its status, progress, counts per band, % reviewed and labeled by",
        responses=responses(),
    )
    def get_task(task: str) -> TaskDetail:
        actor = api.actor()
        found = api.service.visible_task(actor, path_ref(task))
        return TaskDetail(task=found, summary=api.service.summary(actor, found.id))

    @router.patch(
        "/tasks/<task>",
        tags=TAGS,
        summary="Rename, or change reviewers (assigned items stay put; new ones spread over the new set)",
        responses=responses(),
    )
    def update_task(task: str, body: Annotated[TaskUpdate, Body()]) -> Task:
        reviewers = [r.domain() for r in body.reviewers] if body.reviewers is not None else None
        return api.service.update_task(api.actor(), path_ref(task), name=body.name, reviewers=reviewers)

    @router.delete("/tasks/<task>", tags=TAGS, summary="Delete a task, its results and queues", responses=responses())
    def delete_task(task: str) -> Task:
        return api.service.delete_task(api.actor(), path_ref(task))

    @router.post(
        "/tasks/<task>/runs", tags=TAGS, summary="Start (or resume) a run", status_code=202, responses=responses(202)
    )
    def start_run(task: str) -> RunStarted:
        actor = api.actor()
        started = api.service.start_run(actor, path_ref(task))
        api.launcher.launch(actor, started.id)
        return RunStarted(task_id=started.id, status=started.status.value)

    @router.post(
        "/tasks/<task>/rethreshold",
        tags=TAGS,
        summary="Re-apply new thresholds to the stored predictions",
        responses=responses(),
    )
    def rethreshold(task: str, body: Annotated[Rethreshold, Body()]) -> Task:
        return api.service.rethreshold(
            api.actor(),
            path_ref(task),
            body.thresholds.domain() if body.thresholds else None,
            {c: t.domain() for c, t in body.concept_thresholds.items()},
        )

    @router.post(
        "/tasks/<task>/versions",
        tags=TAGS,
        summary="Snapshot the SUCCESS annotations as the next immutable version",
        status_code=201,
        responses=responses(201),
    )
    def create_version(task: str) -> DatasetVersion:
        return api.service.create_version(api.actor(), path_ref(task))

    @router.get("/tasks/<task>/versions", tags=TAGS, summary="The task's dataset versions", responses=responses())
    def list_versions(task: str) -> VersionList:
        return VersionList(items=api.service.versions(api.actor(), path_ref(task)))

    @router.get("/tasks/<task>/versions/<number>", tags=TAGS, summary="One version's snapshot", responses=responses())
    def get_version(task: str, number: int) -> dict[str, Any]:
        content = api.service.version_content(api.actor(), path_ref(task), number)
        document: dict[str, Any] = json.loads(content)
        return document

    @router.get("/tasks/<task>/export", tags=TAGS, summary="Export as COCO or YOLO", responses=responses())
    def export(
        task: str,
        format: Annotated[Literal["coco", "yolo"], Query()] = "coco",
        include_review: Annotated[bool, Query()] = False,
    ) -> ExportOut:
        files = export_files(api.service, api.actor(), path_ref(task), format, include_review)
        if format == "coco":
            return ExportOut(format="coco", coco=json.loads(files["coco.json"]))
        return ExportOut(format="yolo", files={k: v if isinstance(v, str) else v.decode() for k, v in files.items()})

    return router
