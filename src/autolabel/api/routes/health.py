from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from autolabel.api.errors import responses
from autolabel.api.schemas import Health


def health_router() -> Router:
    router = Router()

    @router.get("/health", tags=["health"], summary="Liveness (no authentication)", responses=responses(200, ()))
    def health() -> Health:
        return Health(status="ok")

    return router
