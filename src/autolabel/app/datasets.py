"""Datasets and their inputs: create, add files (from folders, uploads, or blobs already in the
store), list, read and delete."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from autolabel.app.access import find_dataset, reviews
from autolabel.domain import ids, names
from autolabel.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from autolabel.domain.inputs import sniff_kind
from autolabel.domain.models import Dataset, Input, InputKind
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends, Page, validate_key

# Keys under these prefixes hold autolabel's own files; nobody registers them as inputs.
RESERVED_PREFIXES = ("models/", "versions/")


class SkippedPath(BaseModel):
    path: str
    reason: str


class AddReport(BaseModel):
    dataset: Dataset
    added: int
    already_present: int
    skipped: list[SkippedPath]


class InputContent(BaseModel):
    input: Input
    data: bytes


def create_dataset(backends: Backends, actor: Actor, name: str) -> Dataset:
    require_admin(actor, "create datasets")
    wanted = Dataset(id=ids.dataset_id(name), name=names.DATASET.check(name))
    try:
        backends.records.get_dataset(wanted.id)
    except NotFound:
        return backends.records.put_dataset(wanted)
    raise Conflict(f"a dataset named '{name}' already exists", {"dataset": name})


def list_datasets(backends: Backends, actor: Actor) -> list[Dataset]:
    require_admin(actor, "list datasets")
    return backends.records.list_datasets()


def count_inputs(backends: Backends, actor: Actor, dataset_ref: str) -> int:
    require_admin(actor, "list inputs")
    return len(input_ids_of(backends, find_dataset(backends, dataset_ref).id))


def input_ids_of(backends: Backends, dataset_id: str) -> list[str]:
    """Every input id of the dataset, in the order they were added (read a page at a time)."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = backends.records.list_inputs(dataset_id, cursor=cursor, limit=1000)
        found.extend(i.id for i in page.items)
        if page.cursor is None:
            return found
        cursor = page.cursor


def add_files(backends: Backends, actor: Actor, name: str, paths: Sequence[Path]) -> AddReport:
    """Add image files (or every image below folders) to a dataset, creating it if new.

    Unreadable paths are reported, not fatal; nothing is recorded for them.
    """
    require_admin(actor, "add inputs")
    names.DATASET.check(name)
    files: list[Path] = []
    skipped: list[SkippedPath] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and sniff_kind(p.name))
        elif path.is_file():
            files.append(path)
        else:
            skipped.append(SkippedPath(path=str(path), reason="no such file or folder"))
    if not files and not skipped:
        raise ValidationError("no image files found in the given paths")
    dataset = backends.records.put_dataset(Dataset(id=ids.dataset_id(name), name=name))
    inputs: list[Input] = []
    for path in files:
        kind = sniff_kind(path.name)
        if kind is None:
            skipped.append(SkippedPath(path=str(path), reason="not an image or text file (by its extension)"))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(SkippedPath(path=str(path), reason=f"cannot read: {exc.strerror or exc}"))
            continue
        inputs.append(_store_input(backends, dataset, path.name, data, kind, str(path)))
    added = backends.records.put_inputs(inputs)
    return AddReport(dataset=dataset, added=added, already_present=len(inputs) - added, skipped=skipped)


def add_bytes(backends: Backends, actor: Actor, dataset_ref: str, files: Sequence[tuple[str, bytes]]) -> list[Input]:
    """Upload files into an existing dataset. Every name is checked before anything is stored."""
    require_admin(actor, "add inputs")
    dataset = find_dataset(backends, dataset_ref)
    kinds = []
    for filename, data in files:
        kind = sniff_kind(filename)
        if kind is None or "/" in filename or "\\" in filename or filename in (".", ".."):
            raise ValidationError(f"'{filename}' is not an image or text file name", {"filename": filename})
        if not data:
            raise ValidationError(f"'{filename}' is empty", {"filename": filename})
        kinds.append(kind)
    inputs = [
        _store_input(backends, dataset, filename, data, kind, filename)
        for (filename, data), kind in zip(files, kinds, strict=True)
    ]
    backends.records.put_inputs(inputs)
    return inputs


def register_keys(backends: Backends, actor: Actor, dataset_ref: str, keys: Sequence[str]) -> list[Input]:
    """Add blobs already in the store (e.g. uploaded to S3 directly) without copying them."""
    require_admin(actor, "add inputs")
    dataset = find_dataset(backends, dataset_ref)
    checked = [validate_key(key) for key in keys]  # path traversal is refused before any read
    kinds: list[InputKind] = []
    for key in checked:
        sniffed = sniff_kind(key)
        if sniffed is None:
            raise ValidationError(f"'{key}' is not an image or text file (by its extension)", {"key": key})
        if key.startswith(RESERVED_PREFIXES):
            raise ValidationError(f"'{key}' is reserved for autolabel's own files", {"key": key})
        if not backends.blobs.exists(key):
            raise NotFound(f"no blob '{key}' in the store", {"key": key})
        kinds.append(sniffed)
    inputs = []
    for key, kind in zip(checked, kinds, strict=True):
        data = backends.blobs.get(key)
        inputs.append(_input_record(dataset, key, data, hashlib.sha256(data).hexdigest(), kind, source=key))
    backends.records.put_inputs(inputs)
    return inputs


def _input_record(dataset: Dataset, key: str, data: bytes, digest: str, kind: InputKind, source: str) -> Input:
    """The record of stored bytes: its id is content-addressed within the dataset."""
    width, height = upright_size(data) if kind == InputKind.IMAGE else (None, None)
    return Input(
        id=ids.input_id(dataset.id, digest),
        dataset_id=dataset.id,
        kind=kind,
        blob_key=key,
        source=source,
        sha256=digest,
        size_bytes=len(data),
        width=width,
        height=height,
    )


def upright_size(data: bytes) -> tuple[int | None, int | None]:
    """An image's upright size from its header, recorded with the input so that exports need
    not download the image again; unknown (None) when the header does not say."""
    # Pillow only: loaded here, not at import, so the run's bookkeeping functions never load it.
    from autolabel.imaging.decode import ImageDecodeError, image_size

    try:
        return image_size(data)
    except ImageDecodeError:
        return None, None


def _store_input(
    backends: Backends, dataset: Dataset, filename: str, data: bytes, kind: InputKind, source: str
) -> Input:
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(filename).suffix.lower() or ".bin"
    key = f"datasets/{dataset.id}/{digest}{suffix}"
    if not backends.blobs.exists(key):
        backends.blobs.put(key, data, mimetypes.guess_type(filename)[0])
    return _input_record(dataset, key, data, digest, kind, source)


def list_inputs(backends: Backends, actor: Actor, dataset_ref: str, cursor: str | None, limit: int) -> Page[Input]:
    require_admin(actor, "list inputs")
    return backends.records.list_inputs(find_dataset(backends, dataset_ref).id, cursor=cursor, limit=limit)


def input_content(backends: Backends, actor: Actor, input_id: str) -> InputContent:
    """An input's bytes: admins any, a reviewer only those of items in their partition."""
    found = backends.records.get_input(input_id)
    if not actor.is_admin and not any(
        item.input_id == input_id
        for task in backends.records.list_tasks()
        if reviews(backends, task, actor.name)
        for item in backends.records.review_items(task.id, reviewer=actor.name)
    ):
        raise Forbidden(f"input {input_id} is not in any of your review items")
    return InputContent(input=found, data=backends.blobs.get(found.blob_key))


def delete_inputs(
    backends: Backends, actor: Actor, input_ids: Sequence[str], dataset_ref: str | None = None
) -> list[str]:
    """Delete inputs with everything recorded about them; all must exist (checked first)."""
    require_admin(actor, "delete inputs")
    dataset_id = find_dataset(backends, dataset_ref).id if dataset_ref is not None else None
    found = {input_id: backends.records.get_input(input_id) for input_id in input_ids}
    for item in found.values():
        if dataset_id is not None and item.dataset_id != dataset_id:
            raise NotFound(f"no input {item.id} in this dataset", {"input_id": item.id})
    for item in found.values():
        backends.records.delete_input(item.id)
        # Uploaded bytes live under the dataset's own prefix (content-addressed, one input
        # per blob) and go with the input; blobs registered by key belong to whoever put them.
        if item.blob_key.startswith(f"datasets/{item.dataset_id}/"):
            backends.blobs.delete(item.blob_key)
    return list(found)
