from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from autolabel.api.context import ApiContext
from autolabel.api.errors import responses
from autolabel.api.schemas import Me

TAGS = ["users"]


def me_router(api: ApiContext) -> Router:
    router = Router()

    @router.get(
        "/me",
        tags=TAGS,
        summary="Who the bearer token says the caller is (name and role)",
        responses=responses(),
    )
    def me() -> Me:
        actor = api.actor()
        return Me(name=actor.name, role=actor.role.value)

    return router
