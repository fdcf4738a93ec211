"""The ``labels`` table: one row per prediction, carrying the annotation made from it, as plain
columns.

A run records a prediction and its annotation together, so one row and its index entries per
prediction. The row holds the records' fields as columns rather than their JSON: building,
validating and serialising two pydantic documents per prediction cost as much as SQLite's
insert, and the records are rebuilt (and validated) only when read. Annotations a person adds
without a prediction are rows with NULL prediction columns, keyed by the annotation id.

A geometry takes five columns: a box is ``('box', x, y, w, h)``; any other shape is its JSON
and four NULLs (classification, polygon and text span are rare, and not on a run's hot path).
A run's rows bind no NULL at all (a prediction without annotation goes through a statement
that leaves the annotation columns out): Python's sqlite3 looks for an adapter for every None
it binds, which cost more than all the other values of a row together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from autolabel.domain import ids
from autolabel.domain.errors import IncompatibleWorkspace
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Box,
    Geometry,
    Labeler,
    LabelerKind,
    Prediction,
    Thresholds,
)
from autolabel.domain.routing import RoutedInput

# PRAGMA user_version of a workspace database. 0: written before versioning (the table
# layouts are told apart by their columns); 2: labels as columns (this module).
SCHEMA_VERSION = 2

LABELS_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS labels (
    id TEXT NOT NULL,
    task_id TEXT NOT NULL, input_id TEXT NOT NULL, input_seq INTEGER NOT NULL,
    band TEXT, model_id TEXT, model_version TEXT, p_concept TEXT, p_score REAL,
    p_geometry TEXT, p_x REAL, p_y REAL, p_w REAL, p_h REAL,
    annotation_id TEXT, status TEXT, labeler TEXT, labeler_kind TEXT, labeler_id TEXT, labeler_version TEXT,
    concept TEXT, geometry TEXT, x REAL, y REAL, w REAL, h REAL, score REAL, source_prediction TEXT,
    upper REAL, lower REAL, created_at TEXT, updated_at TEXT
)""",
    # Keyed by the input's position in its dataset (inputs.seq), which a run follows: a batch's
    # entries land at the end of the index. Ids are hashes, so a key on the prediction id, or on
    # the input id, put each batch's entries all over the index, and every commit rewrote (and
    # later checkpointed) most of its pages: half the bytes a run wrote. Also "an input's rows".
    "CREATE UNIQUE INDEX IF NOT EXISTS labels_key ON labels(task_id, input_seq, id)",
    "CREATE INDEX IF NOT EXISTS labels_by_status ON labels(task_id, status, labeler) WHERE status IS NOT NULL",
)

_KEY = ("id", "task_id", "input_id", "input_seq")
_PREDICTION = ("band", "model_id", "model_version", "p_concept", "p_score", "p_geometry", "p_x", "p_y", "p_w", "p_h")
_ANNOTATION = (
    "annotation_id", "status", "labeler", "labeler_kind", "labeler_id", "labeler_version", "concept",
    "geometry", "x", "y", "w", "h", "score", "source_prediction", "upper", "lower", "created_at", "updated_at",
)  # fmt: skip
PREDICTION_COLUMNS = ", ".join(_PREDICTION)
ANNOTATION_COLUMNS = ", ".join(_ANNOTATION)
# The statements' text is built from this module's constant column names only.
INSERT_ROW = "INSERT OR REPLACE INTO labels({}) VALUES ({})".format(  # noqa: S608
    ", ".join((*_KEY, *_PREDICTION, *_ANNOTATION)), ", ".join("?" * 32)
)
INSERT_PREDICTION_ROW = "INSERT OR REPLACE INTO labels({}) VALUES ({})".format(  # noqa: S608
    ", ".join((*_KEY, *_PREDICTION)), ", ".join("?" * 14)
)
# An input's seq, or -1 for an input id the inputs table does not know (a person's label on an
# input deleted meanwhile): such rows are still unique by id and found by input id.
SEQ_OF_INPUT = "COALESCE((SELECT seq FROM inputs WHERE id = ?), -1)"
# Rows of one input, by the key: parameters (task_id, input_id, input_id).
OF_INPUT = f"task_id = ? AND input_seq = {SEQ_OF_INPUT} AND input_id = ?"
# Parameters: id, task_id, input_id, input_id (for its seq), then the annotation columns.
INSERT_ANNOTATION_ROW = "INSERT OR REPLACE INTO labels({}) VALUES (?, ?, ?, {}, {})".format(  # noqa: S608
    ", ".join((*_KEY, *_ANNOTATION)), SEQ_OF_INPUT, ", ".join("?" * 18)
)


def of_inputs(count: int) -> str:
    """Rows of ``count`` inputs of one task: parameters (task_id, *input_ids, *input_ids)."""
    marks = ", ".join("?" * count)
    return (
        f"task_id = ? AND input_seq IN (SELECT seq FROM inputs WHERE id IN ({marks}) UNION ALL SELECT -1)"  # noqa: S608
        f" AND input_id IN ({marks})"
    )


SET_ANNOTATION = "UPDATE labels SET " + ", ".join(f"{c} = ?" for c in _ANNOTATION)  # noqa: S608
CLEAR_ANNOTATION = "UPDATE labels SET " + ", ".join(f"{c} = NULL" for c in _ANNOTATION)  # noqa: S608

Row = tuple[Any, ...]
# Plain strings for enum members: sqlite3 binds only exact str cheaply (a subclass goes through
# its adapter lookup), and ``.value`` is a Python-level property.
_BAND_TEXT = {band: band.value for band in Band}
_APPROVED, _DISCARDED = Band.APPROVED, Band.DISCARDED
_SUCCESS, _AWAITING_REVIEW = AnnotationStatus.SUCCESS.value, AnnotationStatus.AWAITING_REVIEW.value
NO_ANNOTATION: tuple[None, ...] = (None,) * 18
_NOT_A_BOX: tuple[None, ...] = (None,) * 4
_GEOMETRY: TypeAdapter[Any] = TypeAdapter(Geometry)
BOX = "box"  # never JSON, which starts with "{"


def geometry_columns(geometry: Any) -> tuple[Any, ...]:
    if type(geometry) is Box:
        return (BOX, geometry.x, geometry.y, geometry.w, geometry.h)
    return (geometry.model_dump_json(), *_NOT_A_BOX)


def geometry_from(shape: str, x: Any, y: Any, w: Any, h: Any) -> Any:
    if shape == BOX:
        return Box(x=x, y=y, w=w, h=h)
    return _GEOMETRY.validate_json(shape)


def _labeler_columns(labeler: Labeler) -> tuple[Any, ...]:
    return (labeler.display, labeler.kind.value, labeler.id, labeler.version)


def annotation_columns(annotation: Annotation) -> tuple[Any, ...]:
    """The 18 annotation columns of any annotation (a person's, a decision's, a rethreshold's)."""
    thresholds = annotation.thresholds
    return (
        annotation.id,
        annotation.status.value,
        *_labeler_columns(annotation.labeled_by),
        annotation.concept,
        *geometry_columns(annotation.geometry),
        annotation.score,
        annotation.prediction_id,
        None if thresholds is None else thresholds.upper,
        None if thresholds is None else thresholds.lower,
        annotation.created_at.isoformat(),
        annotation.updated_at.isoformat(),
    )


def routed_rows(
    predictions: Sequence[Prediction], routed: RoutedInput, input_seq: int, annotated: list[Row], bare: list[Row]
) -> None:
    """Add one input's rows as a run records them, straight from the routing, with no Annotation
    record built: rows for INSERT_ROW to ``annotated`` (their annotation columns are exactly what
    ``annotation_columns`` gives the annotation), rows for INSERT_PREDICTION_ROW to ``bare``."""
    bands = routed.bands
    thresholds_of = routed.thresholds
    labeler = _labeler_columns(routed.labeler)
    stamp = routed.routed_at.isoformat()
    for p in predictions:
        geometry = geometry_columns(p.geometry)
        band = bands.get(p.id, _DISCARDED)
        prediction = (
            p.id, p.task_id, p.input_id, input_seq, _BAND_TEXT[band], p.model_id, p.model_version, p.concept, p.score,
            *geometry,
        )  # fmt: skip
        if band is _DISCARDED:
            bare.append(prediction)
            continue
        thresholds = thresholds_of[p.concept]
        annotated.append(
            (
                *prediction,
                ids.annotation_id(routed.task_id, p.id),
                _SUCCESS if band is _APPROVED else _AWAITING_REVIEW,
                *labeler,
                p.concept,
                *geometry,
                p.score,
                p.id,
                thresholds.upper,
                thresholds.lower,
                stamp,
                stamp,
            )
        )


def prediction_from(row: sqlite3.Row) -> Prediction:
    return Prediction(
        id=row["id"],
        task_id=row["task_id"],
        input_id=row["input_id"],
        concept=row["p_concept"],
        score=row["p_score"],
        geometry=geometry_from(row["p_geometry"], row["p_x"], row["p_y"], row["p_w"], row["p_h"]),
        model_id=row["model_id"],
        model_version=row["model_version"],
    )


def annotation_from(row: sqlite3.Row) -> Annotation:
    upper, lower = row["upper"], row["lower"]
    return Annotation(
        id=row["annotation_id"],
        task_id=row["task_id"],
        input_id=row["input_id"],
        concept=row["concept"],
        geometry=geometry_from(row["geometry"], row["x"], row["y"], row["w"], row["h"]),
        status=AnnotationStatus(row["status"]),
        labeled_by=Labeler(kind=LabelerKind(row["labeler_kind"]), id=row["labeler_id"], version=row["labeler_version"]),
        score=row["score"],
        prediction_id=row["source_prediction"],
        thresholds=None if upper is None else Thresholds(upper=upper, lower=lower),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


# --------------------------------------------------------------------------- versions


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def upgrade(db: sqlite3.Connection, workspace: str) -> None:
    """Bring the labels table to SCHEMA_VERSION inside the caller's write transaction.

    A fresh database gets the table; one written by the previous version (prediction and
    annotation JSON per row) is converted row by row, in this one transaction, so a failure
    leaves it as it was. Anything else is refused rather than misread.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise IncompatibleWorkspace(
            f"the workspace {workspace} was written by a newer autolabel (schema {version}, this one reads"
            f" {SCHEMA_VERSION}); upgrade autolabel to open it"
        )
    columns = _columns(db, "labels")
    if _columns(db, "predictions") and not columns:
        raise IncompatibleWorkspace(
            f"the workspace {workspace} was written by an early development version of autolabel whose"
            " records this one cannot convert; move it aside and start a new workspace"
        )
    if columns and "prediction" in columns:
        _convert_json_rows(db, workspace)
    elif columns and columns != _columns_of_schema():
        raise IncompatibleWorkspace(f"the workspace {workspace} has a labels table this autolabel does not know")
    for statement in LABELS_SCHEMA:
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _columns_of_schema() -> set[str]:
    return {*_KEY, *_PREDICTION, *_ANNOTATION}


def _convert_json_rows(db: sqlite3.Connection, workspace: str) -> None:
    """Schema 0 -> 2: labels(id, task_id, input_id, band, prediction JSON, annotation_id, status,
    labeler, labeler_kind, concept, annotation JSON) becomes the columns above."""
    db.execute("DROP INDEX IF EXISTS labels_by_input")
    db.execute("DROP INDEX IF EXISTS labels_by_status")
    db.execute("ALTER TABLE labels RENAME TO labels_json")
    for statement in LABELS_SCHEMA:
        db.execute(statement)
    insert_annotation_row = "INSERT INTO labels({}) VALUES ({})".format(  # noqa: S608
        ", ".join((*_KEY, *_ANNOTATION)), ", ".join("?" * 22)
    )
    rows = db.execute(
        "SELECT l.id, l.task_id, l.input_id, COALESCE(i.seq, -1), l.band, l.prediction, l.annotation"
        " FROM labels_json l LEFT JOIN inputs i ON i.id = l.input_id ORDER BY l.rowid"
    )
    while chunk := rows.fetchmany(1000):
        full: list[tuple[Any, ...]] = []
        annotation_only: list[tuple[Any, ...]] = []
        for row_id, task_id, input_id, input_seq, band, prediction_json, annotation_json in chunk:
            try:
                annotation = (
                    NO_ANNOTATION
                    if annotation_json is None
                    else annotation_columns(Annotation.model_validate_json(annotation_json))
                )
                p = None if prediction_json is None else Prediction.model_validate_json(prediction_json)
            except PydanticValidationError as exc:
                raise IncompatibleWorkspace(
                    f"cannot convert the workspace {workspace} to this version's format: its label {row_id}"
                    f" does not read as a prediction or annotation ({exc.errors()[0]['msg']}); it is left as it was"
                ) from None
            if p is None:
                annotation_only.append((row_id, task_id, input_id, input_seq, *annotation))
                continue
            prediction = (band, p.model_id, p.model_version, p.concept, p.score, *geometry_columns(p.geometry))
            full.append((row_id, task_id, input_id, input_seq, *prediction, *annotation))
        db.executemany(INSERT_ROW.replace("INSERT OR REPLACE", "INSERT"), full)
        db.executemany(insert_annotation_row, annotation_only)
    db.execute("DROP TABLE labels_json")
