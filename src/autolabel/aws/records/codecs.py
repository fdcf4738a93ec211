"""How documents are held in DynamoDB attributes: the marshalling helpers, a task input's
compact predictions, and rebuilding a review item or a commit's records from stored items."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from autolabel.domain.ids import annotation_id, prediction_id, review_item_id
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Box,
    Classification,
    Labeler,
    LabelerKind,
    Prediction,
    ReviewItem,
    Task,
    utcnow,
)

Item = dict[str, Any]

# --------------------------------------------------------------------------- marshalling


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int) -> dict[str, str]:
    return {"N": str(value)}


def text(item: Item, name: str, default: str = "") -> str:
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else default


def number(item: Item, name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else 0


def dump(model: Any) -> str:
    return str(model.model_dump_json())


# --------------------------------------------------------------------------- predictions

MAX_DERIVED_INDEX = 1000  # model outputs beyond this keep their id's hash in full


def _derived_indexes(task_id: str, input_id: str, wanted: set[str]) -> dict[str, int]:
    """Prediction ids that are ``prediction_id(task, input, n)`` for a small n, by n."""
    found: dict[str, int] = {}
    for n in range(MAX_DERIVED_INDEX):
        if len(found) == len(wanted):
            break
        candidate = prediction_id(task_id, input_id, n)
        if candidate in wanted:
            found[candidate] = n
    return found


def _compact_geometry(geometry: Any) -> Any:
    if isinstance(geometry, Box):
        return [geometry.x, geometry.y, geometry.w, geometry.h]
    if isinstance(geometry, Classification):
        return 0
    return geometry.model_dump(mode="json")


def _full_geometry(compact: Any) -> Any:
    if isinstance(compact, list):
        x, y, w, h = compact
        return Box(x=x, y=y, w=w, h=h)
    if compact == 0:
        return Classification()
    return compact


def encode_predictions(pairs: Sequence[tuple[Prediction, Band]]) -> bytes:
    """An input's predictions in the compact form its task-input item stores.

    The task and input are the item's key and the model is the same for all, so each prediction
    keeps its output index (its id is derived from it), concept, score, geometry as numbers and
    band; zlib then halves the digits. DynamoDB bills writes per KB and this item is written in
    a transaction (2 units per KB): a detector's predictions at a 0.05 score floor took 1-3 KB as
    JSON documents and fit in one KB this way.
    """
    if not pairs:
        return zlib.compress(b'{"m":null,"p":[]}')
    first = pairs[0][0]
    indexes = _derived_indexes(first.task_id, first.input_id, {p.id for p, _ in pairs})
    rows = [
        [indexes.get(p.id, p.id), p.concept, p.score, _compact_geometry(p.geometry), band.value[0]] for p, band in pairs
    ]
    document = {"m": [first.model_id, first.model_version], "p": rows}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)


_BANDS = {band.value[0]: band for band in Band}


def decode_predictions(raw: bytes | str, task_id: str, input_id: str) -> list[tuple[Prediction, Band]]:
    if not raw:
        return []
    # Items written before the compressed form hold the JSON text with id suffixes.
    legacy = isinstance(raw, str)
    document = json.loads(raw if isinstance(raw, str) else zlib.decompress(raw))
    if not document["p"]:
        return []
    model_id, version = document["m"]
    return [
        (
            Prediction(
                id=prediction_id(task_id, input_id, ref) if isinstance(ref, int) else ("pr_" * legacy) + ref,
                task_id=task_id,
                input_id=input_id,
                concept=concept,
                score=score,
                geometry=_full_geometry(geometry),
                model_id=model_id,
                model_version=version,
            ),
            _BANDS[code],
        )
        for ref, concept, score, geometry, code in document["p"]
    ]


def _preds_of(item: Item) -> bytes | str:
    value = item.get("preds", {})
    return value.get("B") or value.get("S") or ""


def predictions_of(item: Item) -> list[tuple[Prediction, Band]]:
    """A task-input item's predictions with their bands."""
    return decode_predictions(_preds_of(item), text(item, "PK")[len("TASK#") :], text(item, "SK")[3:])


# --------------------------------------------------------------------------- records


def read_review_item(item: Item) -> ReviewItem:
    # enqueued and the lease change without rewriting the body, so they live beside it.
    lease = text(item, "lease") or None
    return ReviewItem.model_validate_json(text(item, "body")).model_copy(
        update={"enqueued": item.get("enqueued", {}).get("BOOL", False), "lease_receipt": lease}
    )


def records_of(task: Task, ti: Item) -> tuple[list[Annotation], ReviewItem | None]:
    """The annotations and review item a recorded task input's commit wrote: rebuilt from its
    stored predictions and bands, sequence number and reviewer (a repair's source of truth)."""
    pairs = decode_predictions(_preds_of(ti), task.id, text(ti, "SK")[3:])
    now = utcnow()
    annotations = [
        Annotation(
            id=annotation_id(task.id, prediction.id),
            task_id=task.id,
            input_id=prediction.input_id,
            concept=prediction.concept,
            geometry=prediction.geometry,
            status=AnnotationStatus.SUCCESS if band == Band.APPROVED else AnnotationStatus.AWAITING_REVIEW,
            labeled_by=Labeler(kind=LabelerKind.MODEL, id=prediction.model_id, version=prediction.model_version),
            score=prediction.score,
            prediction_id=prediction.id,
            thresholds=task.thresholds_for(prediction.concept),
            created_at=now,
            updated_at=now,
        )
        for prediction, band in pairs
        if band != Band.DISCARDED
    ]
    if "review_seq" not in ti:
        return annotations, None
    item = ReviewItem(
        id=review_item_id(task.id, text(ti, "SK")[3:]),
        task_id=task.id,
        input_id=text(ti, "SK")[3:],
        reviewer=text(ti, "reviewer"),
        sequence=number(ti, "review_seq"),
        prediction_ids=[p.id for p, band in pairs if band == Band.REVIEW],
    )
    return annotations, item
