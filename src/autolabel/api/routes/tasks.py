from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from autolabel.api.context import ApiContext, Cursor, Limit, absolute_url, path_ref
from autolabel.api.errors import responses
from autolabel.api.schemas import (
    ExportRequest,
    Rethreshold,
    RunStarted,
    TaskCreate,
    TaskDetail,
    TaskPage,
    TaskUpdate,
    VersionList,
)
from autolabel.app import jobs, tasks, versions
from autolabel.app.jobs import JobView
from autolabel.app.runs import lifecycle
from autolabel.app.versions import VersionLink
from autolabel.app.views import TaskView, VersionView
from autolabel.ports import Page

TAGS = ["tasks"]


def tasks_router(api: ApiContext) -> Router:
    router = Router()

    @router.post("/tasks", tags=TAGS, summary="Create a task", status_code=201, responses=responses(201))
    def create_task(body: Annotated[TaskCreate, Body()]) -> TaskView:
        created = tasks.create_task(
            api.backends,
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
        return TaskView.of(created)

    @router.get("/tasks", tags=TAGS, summary="Tasks the caller may see", responses=responses())
    def list_tasks(cursor: Cursor = None, limit: Limit = 100) -> TaskPage:
        found = sorted(tasks.list_tasks(api.backends, api.actor()), key=lambda t: t.id)
        page = Page.of(found, lambda t: t.id, cursor, limit)
        return TaskPage(items=TaskView.many(page.items), cursor=page.cursor)

    @router.get(
        "/tasks/<task>",
        tags=TAGS,
        summary="A task with its status, progress, counts per band, % reviewed and labeled by",
        responses=responses(),
    )
    def get_task(task: str) -> TaskDetail:
        actor = api.actor()
        found = tasks.get_task(api.backends, actor, path_ref(task))
        return TaskDetail(task=TaskView.of(found), summary=tasks.summary(api.backends, actor, found.id))

    @router.patch(
        "/tasks/<task>",
        tags=TAGS,
        summary="Rename, or change reviewers (assigned items stay put; new ones spread over the new set)",
        responses=responses(),
    )
    def update_task(task: str, body: Annotated[TaskUpdate, Body()]) -> TaskView:
        reviewers = [r.domain() for r in body.reviewers] if body.reviewers is not None else None
        updated = tasks.update_task(api.backends, api.actor(), path_ref(task), name=body.name, reviewers=reviewers)
        return TaskView.of(updated)

    @router.delete(
        "/tasks/<task>",
        tags=TAGS,
        summary="A job deleting the task, its results and queues (the task says Deleting meanwhile; again resumes it)",
        status_code=202,
        responses=responses(202),
    )
    def delete_task(task: str) -> JobView:
        return JobView.of(api.backends, jobs.submit_delete(api.backends, api.actor(), path_ref(task)))

    @router.post(
        "/tasks/<task>/runs", tags=TAGS, summary="Start (or resume) a run", status_code=202, responses=responses(202)
    )
    def start_run(task: str) -> RunStarted:
        started = lifecycle.request_run(api.backends, api.actor(), path_ref(task))
        return RunStarted(task_id=started.id, status=started.status)

    @router.post(
        "/tasks/<task>/rethreshold",
        tags=TAGS,
        summary="A job re-applying new thresholds to the stored predictions",
        status_code=202,
        responses=responses(202),
    )
    def rethreshold(task: str, body: Annotated[Rethreshold, Body()]) -> JobView:
        job = jobs.submit_rethreshold(
            api.backends,
            api.actor(),
            path_ref(task),
            body.thresholds.domain() if body.thresholds else None,
            {c: t.domain() for c, t in body.concept_thresholds.items()},
        )
        return JobView.of(api.backends, job)

    @router.post(
        "/tasks/<task>/versions",
        tags=TAGS,
        summary="A job snapshotting the SUCCESS annotations as the next immutable version",
        status_code=202,
        responses=responses(202),
    )
    def create_version(task: str) -> JobView:
        return JobView.of(api.backends, jobs.submit_version(api.backends, api.actor(), path_ref(task)))

    @router.get("/tasks/<task>/versions", tags=TAGS, summary="The task's dataset versions", responses=responses())
    def list_versions(task: str) -> VersionList:
        return VersionList(items=VersionView.many(versions.list_versions(api.backends, api.actor(), path_ref(task))))

    @router.get(
        "/tasks/<task>/versions/<number>",
        tags=TAGS,
        summary="One version and a short-lived URL of its snapshot (the task, the number, its SUCCESS annotations)",
        responses=responses(),
    )
    def get_version(task: str, number: int) -> VersionLink:
        link = versions.version_link(api.backends, api.actor(), path_ref(task), number)
        return link.model_copy(update={"url": absolute_url(link.url, router.current_event.headers)})

    @router.post(
        "/tasks/<task>/exports",
        tags=TAGS,
        summary="A job exporting as COCO (coco.json) or YOLO (yolo.zip); its result_url downloads the file",
        status_code=202,
        responses=responses(202),
    )
    def export(task: str, body: Annotated[ExportRequest, Body()]) -> JobView:
        job = jobs.submit_export(api.backends, api.actor(), path_ref(task), body.format, body.include_review)
        return JobView.of(api.backends, job)

    return router
