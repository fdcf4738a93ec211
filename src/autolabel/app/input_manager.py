"""The input manager: annotations filtered by task, labeler, status and concept; labels added to
selected inputs by hand, and removed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from autolabel.app.access import find_task
from autolabel.app.shapes import fit_to_input
from autolabel.domain import ids, names
from autolabel.domain.errors import NotFound, ValidationError
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Box,
    Classification,
    Geometry,
    Labeler,
    LabelerKind,
    Polygon,
    TextSpan,
)
from autolabel.domain.users import Actor, require_admin
from autolabel.ports import AnnotationQuery, Backends, Page


def query_annotations(backends: Backends, actor: Actor, query: AnnotationQuery) -> Page[Annotation]:
    require_admin(actor, "use the input manager")
    if query.task_id is not None:
        query = replace(query, task_id=find_task(backends, query.task_id).id)
    if query.match not in ("all", "any"):
        raise ValidationError("match must be 'all' or 'any'")
    return backends.records.annotations(query)


def every_annotation(backends: Backends, query: AnnotationQuery) -> list[Annotation]:
    """Every page of ``query`` (for use cases that need them all: versions, exports)."""
    found: list[Annotation] = []
    while True:
        page = backends.records.annotations(query)
        found.extend(page.items)
        if page.cursor is None:
            return found
        query = replace(query, cursor=page.cursor)


def add_annotations(
    backends: Backends,
    actor: Actor,
    task_name: str,
    input_ids: Sequence[str],
    concept: str,
    geometry: Geometry | None,
) -> list[Annotation]:
    """Label selected inputs with a concept (a whole-input classification, or a shape)."""
    require_admin(actor, "add annotations")
    task = find_task(backends, task_name)
    if names.CONCEPT.check(concept) not in task.concepts:
        raise ValidationError(f"'{concept}' is not a concept of task '{task.name}'", {"concepts": task.concepts})
    shape = geometry or Classification()
    fitted: dict[str, Classification | Box | Polygon | TextSpan] = {}
    for input_id in dict.fromkeys(input_ids):
        found = backends.records.get_input(input_id)
        if found.dataset_id != task.dataset_id:
            raise ValidationError(f"input {input_id} is not in the task's dataset", {"input_id": input_id})
        fitted[input_id] = fit_to_input(backends, found, shape)  # every shape checked before any is stored
    nonce = hashlib.sha256(shape.model_dump_json().encode()).hexdigest()[:16]
    labeler = Labeler(kind=LabelerKind.REVIEWER, id=actor.name)
    added = [
        Annotation(
            id=ids.manual_annotation_id(task.id, input_id, concept, nonce),
            task_id=task.id,
            input_id=input_id,
            concept=concept,
            geometry=fitted[input_id],
            status=AnnotationStatus.SUCCESS,
            labeled_by=labeler,
        )
        for input_id in fitted
    ]
    backends.records.put_annotations(added)
    return added


def remove_annotations(
    backends: Backends, actor: Actor, task_name: str, annotation_ids: Sequence[str], input_ids: Sequence[str]
) -> int:
    """Remove the task's annotations with these ids from the named inputs; all must exist
    (checked first). Read by input, so the work grows with the request, not the task."""
    require_admin(actor, "remove annotations")
    task = find_task(backends, task_name)
    wanted = set(annotation_ids)
    on_inputs = every_annotation(backends, AnnotationQuery(task_id=task.id, input_ids=sorted(set(input_ids))))
    existing = [a for a in on_inputs if a.id in wanted]
    missing = sorted(wanted - {a.id for a in existing})
    if missing:
        raise NotFound(
            f"task '{task.name}' has no annotation(s) {', '.join(missing)} on those inputs", {"missing": missing}
        )
    return backends.records.delete_annotations(task.id, existing)
