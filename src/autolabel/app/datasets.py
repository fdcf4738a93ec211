"""Datasets and their inputs: create, add files (from folders, uploads, or blobs already in the
store), list, read and delete."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mimetypes
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

from autolabel.app.access import find_dataset
from autolabel.app.transfers import dataset_prefix, dataset_uploads
from autolabel.domain import ids, names
from autolabel.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from autolabel.domain.inputs import sniff_kind
from autolabel.domain.models import Dataset, Input, InputKind
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import Backends, Page, validate_key

# Keys under these prefixes hold autolabel's own files; nobody registers them as inputs, except
# a dataset its own upload links' keys (``transfers.dataset_uploads``). `datasets/` holds
# uploaded bytes, each blob owned by the one input it was uploaded for: were another input
# allowed to register it, deleting the owner would delete its bytes too.
RESERVED_PREFIXES = ("models/", "versions/", "datasets/")


class SkippedPath(BaseModel):
    path: str
    reason: str


class AddReport(BaseModel):
    dataset: Dataset
    added: int
    already_present: int
    skipped: list[SkippedPath]


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

    Inside a folder, links are not followed (a link can point anywhere on the machine, and
    whatever it points at would be served to reviewers) and special files (FIFOs, sockets,
    devices) are not opened (reading a FIFO waits for a writer forever); both are reported as
    skipped. A path named in ``paths`` is the caller's own choice and is read even if a link.
    Unreadable paths are reported, not fatal; nothing is recorded for them. When nothing at all
    can be added, nothing is created and the reasons are the error.
    """
    require_admin(actor, "add inputs")
    names.DATASET.check(name)
    found: list[tuple[Path, bool]] = []  # (file, whether it was named by the caller)
    skipped: list[SkippedPath] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            skipped.append(SkippedPath(path=str(path), reason="no such file or folder"))
            continue
        if stat.S_ISDIR(mode):
            for entry, problem in _walk(path):
                if problem is None:
                    found.append((entry, False))
                else:
                    skipped.append(SkippedPath(path=str(entry), reason=problem))
        elif stat.S_ISREG(mode):
            found.append((path, True))
        else:
            skipped.append(SkippedPath(path=str(path), reason=_special_kind(mode)))
    files: list[tuple[Path, bytes, InputKind]] = []
    for path, named in found:
        kind = sniff_kind(path.name)
        if kind is None:
            skipped.append(SkippedPath(path=str(path), reason="not an image or text file (by its extension)"))
            continue
        data, problem = _read_regular_file(path, follow_link=named)
        if data is None:
            skipped.append(SkippedPath(path=str(path), reason=problem or "cannot read"))
            continue
        files.append((path, data, kind))
    if not files:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise ValidationError(
            "no image files to add" + (f" ({reasons})" if reasons else " in the given paths"),
            {"skipped": [s.model_dump() for s in skipped]},
        )
    dataset = Dataset(id=ids.dataset_id(name), name=name)
    inputs: list[Input] = []
    written: list[str] = []
    try:
        for path, data, kind in files:
            inputs.append(_store_input(backends, dataset, path.name, data, kind, str(path), written))
        # Records last, in one step each: a failure above (a full disk) leaves no record behind,
        # and the bytes this call stored are removed again below.
        dataset = backends.records.put_dataset(dataset)
        added = backends.records.put_inputs(inputs)
    except BaseException:
        for key in written:
            with contextlib.suppress(Exception):
                backends.blobs.delete(key)
        raise
    return AddReport(dataset=dataset, added=added, already_present=len(inputs) - added, skipped=skipped)


LINK_NOT_FOLLOWED = "link (not followed)"


def _walk(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Every image-named regular file below ``folder`` in name order, with None; links and special
    files (whatever their names) with the reason they are skipped. Never follows a link."""
    for directory, subfolders, file_names in os.walk(folder, followlinks=False):
        here = Path(directory)
        for sub in sorted(subfolders):
            if (here / sub).is_symlink():
                yield here / sub, LINK_NOT_FOLLOWED
        subfolders.sort()
        for file_name in sorted(file_names):
            path = here / file_name
            try:
                mode = path.lstat().st_mode
            except OSError as exc:
                yield path, f"cannot read: {exc.strerror or exc}"
                continue
            if stat.S_ISLNK(mode):
                yield path, LINK_NOT_FOLLOWED
            elif not stat.S_ISREG(mode):
                yield path, _special_kind(mode)
            elif sniff_kind(file_name):
                yield path, None


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "special file (FIFO), not read"
    if stat.S_ISSOCK(mode):
        return "special file (socket), not read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "special file (device), not read"
    return "not a regular file, not read"


def _read_regular_file(path: Path, follow_link: bool) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file, or (None, why not).

    Opened without blocking and checked after opening, so a file swapped for a link or a FIFO
    between the walk and the read is refused too (O_NOFOLLOW, O_NONBLOCK, fstat).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_link else os.O_NOFOLLOW)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, LINK_NOT_FOLLOWED
        return None, f"cannot read: {exc.strerror or exc}"
    with os.fdopen(descriptor, "rb") as opened:
        mode = os.fstat(opened.fileno()).st_mode
        if not stat.S_ISREG(mode):
            return None, _special_kind(mode)
        try:
            return opened.read(), None
        except OSError as exc:
            return None, f"cannot read: {exc.strerror or exc}"


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
        if key.startswith("datasets/") and not key.startswith(dataset_prefix(dataset.id)):
            # Another dataset's bytes (its uploads, its content-addressed files) are not ours to take.
            raise Forbidden(f"'{key}' belongs to another dataset", {"key": key})
        if key.startswith(RESERVED_PREFIXES) and not key.startswith(dataset_uploads(dataset.id)):
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
    backends: Backends,
    dataset: Dataset,
    filename: str,
    data: bytes,
    kind: InputKind,
    source: str,
    written: list[str] | None = None,
) -> Input:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{dataset_prefix(dataset.id)}{digest}{_suffix(filename)}"
    if not backends.blobs.exists(key):
        backends.blobs.put(key, data, mimetypes.guess_type(filename)[0])
        if written is not None:
            written.append(key)
    return _input_record(dataset, key, data, digest, kind, source)


def _suffix(filename: str) -> str:
    return Path(filename).suffix.lower() or ".bin"


def list_inputs(backends: Backends, actor: Actor, dataset_ref: str, cursor: str | None, limit: int) -> Page[Input]:
    require_admin(actor, "list inputs")
    return backends.records.list_inputs(find_dataset(backends, dataset_ref).id, cursor=cursor, limit=limit)


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
        if owns_blob(item):
            backends.blobs.delete(item.blob_key)
    return list(found)


def owns_blob(item: Input) -> bool:
    """Whether the input's bytes are its own: uploaded for it, so they go when it goes.

    Ownership rather than reference counts: a blob under ``datasets/`` is written for exactly
    one input — the dataset's content-addressed key of those bytes (``_store_input``), or an
    upload link's fresh key — and no other input can point at it, since registering keys under
    ``datasets/`` is refused but for the dataset's own upload links. A count
    would have to change atomically with every input written or deleted, in both stores, and a
    lost increment would delete bytes still in use. Blobs registered by key belong to whoever
    put them and are never deleted here.
    """
    uploaded_for_it = item.blob_key == f"{dataset_prefix(item.dataset_id)}{item.sha256}{_suffix(item.blob_key)}"
    # An upload link's key is fresh per link and only its dataset may register it.
    return uploaded_for_it or item.blob_key.startswith(dataset_uploads(item.dataset_id))
