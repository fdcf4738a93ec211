from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from autolabel.api.context import ApiContext, absolute_url, path_ref
from autolabel.api.errors import responses
from autolabel.app import jobs
from autolabel.app.jobs import JobView

TAGS = ["jobs"]


def jobs_router(api: ApiContext) -> Router:
    router = Router()

    @router.get(
        "/jobs/<job>",
        tags=TAGS,
        summary="A job's state, progress and, once it succeeded, its result (and a URL for its file)",
        responses=responses(),
    )
    def get_job(job: str) -> JobView:
        view = JobView.of(api.backends, jobs.get_job(api.backends, api.actor(), path_ref(job)))
        if view.result_url is None:
            return view
        return view.model_copy(update={"result_url": absolute_url(view.result_url, router.current_event.headers)})

    return router
