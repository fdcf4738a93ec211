from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from autolabel.api.context import ApiContext, Cursor, Limit, absolute_url, decode_base64, path_ref
from autolabel.api.errors import responses
from autolabel.api.schemas import (
    DatasetCreate,
    DatasetPage,
    Deleted,
    InputList,
    InputPage,
    InputsRegister,
    InputsUpload,
    UploadRequest,
)
from autolabel.app import datasets, transfers
from autolabel.app.transfers import BlobLink, UploadTicket
from autolabel.app.views import DatasetView, InputView
from autolabel.ports import Page

TAGS = ["datasets"]


def datasets_router(api: ApiContext) -> Router:
    router = Router()

    @router.post("/datasets", tags=TAGS, summary="Create a dataset", status_code=201, responses=responses(201))
    def create_dataset(body: Annotated[DatasetCreate, Body()]) -> DatasetView:
        return DatasetView.of(datasets.create_dataset(api.backends, api.actor(), body.name))

    @router.get("/datasets", tags=TAGS, summary="List datasets", responses=responses())
    def list_datasets(cursor: Cursor = None, limit: Limit = 100) -> DatasetPage:
        found = datasets.list_datasets(api.backends, api.actor())
        page = Page.of(sorted(found, key=lambda d: d.id), lambda d: d.id, cursor, limit)
        return DatasetPage(items=DatasetView.many(page.items), cursor=page.cursor)

    @router.post(
        "/datasets/<dataset>/inputs",
        tags=TAGS,
        summary="Upload inputs (base64 bytes)",
        status_code=201,
        responses=responses(201),
    )
    def upload_inputs(dataset: str, body: Annotated[InputsUpload, Body()]) -> InputList:
        actor = api.actor()
        files = [(f.filename, decode_base64(f.content_base64, f.filename)) for f in body.files]
        return InputList(items=InputView.many(datasets.add_bytes(api.backends, actor, path_ref(dataset), files)))

    @router.post(
        "/datasets/<dataset>/inputs/register",
        tags=TAGS,
        summary="Register blobs already in the store as inputs",
        status_code=201,
        responses=responses(201),
    )
    def register_inputs(dataset: str, body: Annotated[InputsRegister, Body()]) -> InputList:
        added = datasets.register_keys(api.backends, api.actor(), path_ref(dataset), body.keys)
        return InputList(items=InputView.many(added))

    @router.get("/datasets/<dataset>/inputs", tags=TAGS, summary="List a dataset's inputs", responses=responses())
    def list_inputs(dataset: str, cursor: Cursor = None, limit: Limit = 100) -> InputPage:
        page = datasets.list_inputs(api.backends, api.actor(), path_ref(dataset), cursor, limit)
        return InputPage(items=InputView.many(page.items), cursor=page.cursor)

    @router.delete("/datasets/<dataset>/inputs/<input_id>", tags=TAGS, summary="Delete an input", responses=responses())
    def delete_input(dataset: str, input_id: str) -> Deleted:
        deleted = datasets.delete_inputs(api.backends, api.actor(), [path_ref(input_id)], path_ref(dataset))
        return Deleted(deleted=deleted)

    @router.post(
        "/datasets/<dataset>/uploads",
        tags=TAGS,
        summary="A link to PUT one file into the dataset (then register its key); nothing large passes the API",
        status_code=201,
        responses=responses(201),
    )
    def create_upload(dataset: str, body: Annotated[UploadRequest, Body()]) -> UploadTicket:
        ticket = transfers.input_upload(
            api.backends, api.actor(), path_ref(dataset), body.filename, body.size_bytes, body.content_type
        )
        return ticket.model_copy(update={"url": absolute_url(ticket.url, router.current_event.headers)})

    @router.get(
        "/inputs/<input_id>/url",
        tags=TAGS,
        summary="A short-lived URL of an input's bytes (reviewers: inputs of their own items)",
        responses=responses(),
    )
    def input_url(input_id: str) -> BlobLink:
        link = transfers.input_link(api.backends, api.actor(), path_ref(input_id))
        return link.model_copy(update={"url": absolute_url(link.url, router.current_event.headers)})

    @router.get(
        "/inputs/<input_id>/content",
        tags=TAGS,
        summary="Redirects (307) to the short-lived URL of an input's bytes",
        responses={**responses(307), 307: {"description": "Location: the URL (expires in minutes)"}},
    )
    def input_content(input_id: str) -> Response[str]:
        link = transfers.input_link(api.backends, api.actor(), path_ref(input_id))
        location = absolute_url(link.url, router.current_event.headers)
        # The bytes never pass through the API (Lambda's 6 MB response cap, base64's third more).
        return Response(status_code=307, body="", headers={"Location": location, "Cache-Control": "no-store"})

    return router
