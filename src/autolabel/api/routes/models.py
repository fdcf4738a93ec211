from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from autolabel.api.context import ApiContext, Cursor, Limit, absolute_url, decode_base64
from autolabel.api.errors import responses
from autolabel.api.schemas import ModelPage, ModelRegister, ModelUploadRequest
from autolabel.app import models, transfers
from autolabel.app.transfers import UploadTicket
from autolabel.app.views import ModelView
from autolabel.ports import Page

TAGS = ["models"]


def models_router(api: ApiContext) -> Router:
    router = Router()

    @router.get(
        "/models", tags=TAGS, summary="Shipped and registered models with their concepts", responses=responses()
    )
    def list_models(cursor: Cursor = None, limit: Limit = 100) -> ModelPage:
        found = sorted(models.list_models(api.backends), key=lambda m: m.id)
        page = Page.of(found, lambda m: m.id, cursor, limit)
        return ModelPage(items=ModelView.many(page.items), cursor=page.cursor)

    @router.post("/models", tags=TAGS, summary="Register an ONNX model", status_code=201, responses=responses(201))
    def register_model(body: Annotated[ModelRegister, Body()]) -> ModelView:
        actor = api.actor()
        inline = decode_base64(body.onnx_base64, "onnx_base64") if body.onnx_base64 is not None else None
        spec = models.register_model(api.backends, actor, body.spec, onnx_bytes=inline, onnx_key=body.onnx_key)
        return ModelView.of(spec)

    @router.post(
        "/models/uploads",
        tags=TAGS,
        summary="A link to PUT an ONNX file; register it with POST /models and its key as onnx_key",
        status_code=201,
        responses=responses(201),
    )
    def create_model_upload(body: Annotated[ModelUploadRequest, Body()]) -> UploadTicket:
        ticket = transfers.model_upload(api.backends, api.actor(), body.size_bytes)
        return ticket.model_copy(update={"url": absolute_url(ticket.url, router.current_event.headers)})

    return router
