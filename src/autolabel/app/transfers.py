"""Bytes that do not pass through the API: short-lived links to read a blob (review images,
results) and to write one (uploads, large models). S3 presigns them on AWS; on the embedded
world ``autolabel serve`` answers signed ``/blobs/<key>`` paths, checked here."""

from __future__ import annotations

import mimetypes
import uuid
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from autolabel.app.access import find_dataset, reviews
from autolabel.domain import ids
from autolabel.domain.errors import Forbidden, NotFound, TooLarge, ValidationError
from autolabel.domain.inputs import sniff_kind
from autolabel.domain.models import utcnow
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends

READ_LINK_SECONDS = 300  # long enough to load a review page, short enough not to be shared
UPLOAD_LINK_SECONDS = 900
MAX_INPUT_BYTES = 200 * 1024 * 1024  # an image or text input; larger is refused before any upload
MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024
MODEL_UPLOADS = "models/uploads/"


class BlobLink(BaseModel):
    url: str
    expires_at: datetime


class UploadTicket(BaseModel):
    """Where to PUT the bytes, and the key to register them by afterwards."""

    key: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


def dataset_prefix(dataset_id: str) -> str:
    """Blobs under this prefix belong to the dataset: only it may register them."""
    return f"datasets/{dataset_id}/"


def dataset_uploads(dataset_id: str) -> str:
    """Where the dataset's upload links put bytes (one fresh key per link), to be registered."""
    return f"{dataset_prefix(dataset_id)}uploads/"


def input_link(backends: Backends, actor: Actor, input_id: str) -> BlobLink:
    """A short-lived URL of an input's bytes: admins any input, a reviewer only inputs of their
    own items. Bounded: one read per task of the input's dataset, whatever the tasks hold."""
    found = backends.records.get_input(input_id)
    if not actor.is_admin and not _holds_item_of(backends, actor, found.dataset_id, input_id):
        raise Forbidden(f"input {input_id} is not in any of your review items")
    return BlobLink(
        url=backends.blobs.url(found.blob_key, READ_LINK_SECONDS),
        expires_at=utcnow() + timedelta(seconds=READ_LINK_SECONDS),
    )


def _holds_item_of(backends: Backends, actor: Actor, dataset_id: str, input_id: str) -> bool:
    # A task has at most one review item per input, under an id made from both.
    for task in backends.records.list_tasks():
        if task.dataset_id != dataset_id:
            continue
        try:
            item = backends.records.get_review_item(ids.review_item_id(task.id, input_id))
        except NotFound:
            continue
        if item.reviewer == actor.name and reviews(backends, task, actor.name):
            return True
    return False


def input_upload(
    backends: Backends, actor: Actor, dataset_ref: str, filename: str, size_bytes: int, content_type: str | None
) -> UploadTicket:
    """A link to PUT one input file into the dataset's own prefix; register its key afterwards."""
    require_admin(actor, "add inputs")
    dataset = find_dataset(backends, dataset_ref)
    if sniff_kind(filename) is None or "/" in filename or "\\" in filename:
        raise ValidationError(f"'{filename}' is not an image or text file name", {"filename": filename})
    _check_size(size_bytes, MAX_INPUT_BYTES)
    key = f"{dataset_uploads(dataset.id)}{uuid.uuid4().hex}{PurePosixPath(filename).suffix.lower()}"
    return _ticket(backends, key, content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream")


def model_upload(backends: Backends, actor: Actor, size_bytes: int) -> UploadTicket:
    """A link to PUT an ONNX file; ``POST /models`` with its key as ``onnx_key`` registers it."""
    require_admin(actor, "register models")
    _check_size(size_bytes, MAX_MODEL_BYTES)
    return _ticket(backends, f"{MODEL_UPLOADS}{uuid.uuid4().hex}.onnx", "application/octet-stream")


def _check_size(size_bytes: int, limit: int) -> None:
    if size_bytes <= 0:
        raise ValidationError("the file is empty")
    if size_bytes > limit:
        raise TooLarge(f"the file is {size_bytes} bytes; at most {limit} are accepted", {"limit": limit})


def _ticket(backends: Backends, key: str, content_type: str) -> UploadTicket:
    target = backends.blobs.upload_url(key, content_type, UPLOAD_LINK_SECONDS)
    return UploadTicket(
        key=key,
        url=target.url,
        method=target.method,
        headers=target.headers,
        expires_at=utcnow() + timedelta(seconds=UPLOAD_LINK_SECONDS),
    )


def read_signed(backends: Backends, key: str, expires: str, signature: str) -> Path:
    """The file behind a signed GET link of the embedded world."""
    return backends.blobs.local_path(_checked(backends, "GET", key, expires, signature))


def write_signed(
    backends: Backends, key: str, expires: str, signature: str, data: bytes, content_type: str | None
) -> None:
    """Store the body of a signed PUT link of the embedded world."""
    checked = _checked(backends, "PUT", key, expires, signature)
    limit = MAX_MODEL_BYTES if checked.startswith(MODEL_UPLOADS) else MAX_INPUT_BYTES
    _check_size(len(data), limit)
    backends.blobs.put(checked, data, content_type)


def _checked(backends: Backends, method: str, key: str, expires: str, signature: str) -> str:
    if backends.signed_blobs is None:
        raise NotFound("this world serves no signed blob links")
    return backends.signed_blobs.check(method, key, expires, signature)
