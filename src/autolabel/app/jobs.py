"""Jobs: the work that grows with a task — export, dataset version, deleting a task,
rethreshold, bulk accept — requested in O(1) and done in the background in bounded chunks.

``submit_*`` checks the caller and the request (what the synchronous use case checked before),
stores a QUEUED job and has the world's ``JobLauncher`` run it: a thread here, a message on the
jobs queue on AWS. ``run_job`` then does chunk after chunk, saving the job (its ``cursor``, the
checkpoint) after each, until the job is done or the caller's time is nearly up; the next run
carries on from the cursor. Every chunk may run twice (a worker dies after the work, before the
save) and must not duplicate anything: deletes are idempotent, a version is claimed once per job
(``versions.record_version``), bulk accept skips decided items, rethreshold re-routes to the
same result, and export parts are overwritten by key.

Work lists that a chunk walks (a task's inputs, a reviewer's pending items) are read once, at
the job's first step, and stored as pages of ids under ``jobs/<job id>/`` in the blob store, so
later chunks read one small page instead of the whole list again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from autolabel.app import exports, review, tasks, versions
from autolabel.app.access import find_task, require_reviewer
from autolabel.domain.errors import AutolabelError, Conflict, NotFound
from autolabel.domain.jobs import Job, JobKind, JobState, new_job_id
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    InputState,
    ReviewState,
    Task,
    TaskStatus,
    Thresholds,
    utcnow,
)
from autolabel.domain.users import Actor, Role, require_admin
from autolabel.exports.formats import ExportImage
from autolabel.ports import AnnotationQuery, Backends

log = logging.getLogger("autolabel.jobs")

# Items per chunk, by kind: a chunk must end well within the time a worker keeps in hand
# (RUN_JOB_MARGIN_S on AWS). Bulk accept is ~5 requests per item, deleting 1/25 of one.
CHUNK: dict[JobKind, int] = {
    JobKind.EXPORT: 500,
    JobKind.VERSION: 1000,
    JobKind.DELETE_TASK: 1000,
    JobKind.RETHRESHOLD: 200,
    JobKind.BULK_ACCEPT: 100,
}


class JobView(BaseModel):
    """A job as callers see it: poll ``GET /jobs/{id}`` until ``state`` is succeeded or failed."""

    id: str
    kind: JobKind
    task_id: str
    task_name: str
    state: JobState
    done: int = Field(description="Items done so far (inputs, annotations, records, review items).")
    total: int | None = Field(description="Items to do, where known.")
    result: dict[str, Any] = Field(description="What the job did, when it succeeded (counts, the version's number…).")
    result_url: str | None = Field(description="Where to download the result (an export's file, a version's snapshot).")
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, backends: Backends, job: Job) -> JobView:
        url = backends.blobs.url(job.result_key) if job.state == JobState.SUCCEEDED and job.result_key else None
        return cls(
            id=job.id,
            kind=job.kind,
            task_id=job.task_id,
            task_name=job.task_name,
            state=job.state,
            done=job.done,
            total=job.total,
            result=job.result,
            result_url=url,
            failure_reason=job.failure_reason,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )


# --------------------------------------------------------------------------- asking for work


def _start(backends: Backends, actor: Actor, kind: JobKind, task: Task, params: dict[str, Any]) -> Job:
    if task.status == TaskStatus.DELETING:
        raise Conflict(f"task '{task.name}' is being deleted", {"task": task.id})
    job = Job(
        id=new_job_id(kind, task.id),
        kind=kind,
        task_id=task.id,
        task_name=task.name,
        requested_by=actor.name,
        requester_role=actor.role.value,
        params=params,
    )
    backends.jobs.create_job(job)
    backends.job_launcher.launch(job.id)
    return job


def submit_export(backends: Backends, actor: Actor, name: str, fmt: str, include_review: bool = False) -> Job:
    require_admin(actor, "export tasks")
    exports.check_format(fmt)
    task = find_task(backends, name)
    return _start(backends, actor, JobKind.EXPORT, task, {"format": fmt, "include_review": include_review})


def submit_version(backends: Backends, actor: Actor, name: str) -> Job:
    require_admin(actor, "create dataset versions")
    return _start(backends, actor, JobKind.VERSION, find_task(backends, name), {})


def submit_rethreshold(
    backends: Backends,
    actor: Actor,
    name: str,
    thresholds: Thresholds | None,
    concept_thresholds: dict[str, Thresholds] | None,
) -> Job:
    require_admin(actor, "change tasks")
    task = find_task(backends, name)
    changed = tasks.with_thresholds(task, thresholds, concept_thresholds)  # checked now, not in the job
    params = {
        "thresholds": changed.thresholds.model_dump(),
        "concept_thresholds": {c: t.model_dump() for c, t in changed.concept_thresholds.items()},
    }
    return _start(backends, actor, JobKind.RETHRESHOLD, task, params)


def submit_bulk_accept(backends: Backends, actor: Actor, name: str, min_score: float) -> Job:
    review.check_min_score(min_score)
    task = find_task(backends, name)
    require_reviewer(backends, actor, task)
    return _start(backends, actor, JobKind.BULK_ACCEPT, task, {"min_score": min_score})


def submit_delete(backends: Backends, actor: Actor, name: str) -> Job:
    """Mark the task Deleting (no run or job starts on it from now on) and start — or, when
    one was cut short, resume — its one delete job."""
    require_admin(actor, "delete tasks")
    task = find_task(backends, name)
    if task.status != TaskStatus.DELETING:
        task = task.model_copy(update={"status": TaskStatus.DELETING, "failure_reason": None, "updated_at": utcnow()})
        backends.records.update_task(task)
    job_id = new_job_id(JobKind.DELETE_TASK, task.id)
    try:
        job = backends.jobs.get_job(job_id)
    except NotFound:
        job = Job(
            id=job_id,
            kind=JobKind.DELETE_TASK,
            task_id=task.id,
            task_name=task.name,
            requested_by=actor.name,
            requester_role=actor.role.value,
        )
        backends.jobs.create_job(job)
    if job.state == JobState.FAILED:  # asked again: try again from its checkpoint
        job = job.advanced(state=JobState.QUEUED, failure_reason=None)
        backends.jobs.save_job(job)
    backends.job_launcher.launch(job.id)
    return job


def get_job(backends: Backends, actor: Actor, job_id: str) -> Job:
    """The job, for whoever asked for it and for admins; anyone else gets NotFound, as for an
    unknown id (a job id says nothing about whether it exists)."""
    try:
        job = backends.jobs.get_job(job_id)
    except NotFound:
        raise NotFound(f"no job {job_id}", {"job_id": job_id}) from None
    if not actor.is_admin and job.requested_by != actor.name:
        raise NotFound(f"no job {job_id}", {"job_id": job_id})
    return job


# --------------------------------------------------------------------------- doing the work


def run_job(backends: Backends, job_id: str, out_of_time: Callable[[], bool] = lambda: False) -> Job:
    """Run the job's chunks until it finishes or ``out_of_time()`` says to stop; returns the job
    as saved. A domain error (the task was deleted meanwhile, a forbidden decision…) fails the
    job with its message; any other exception propagates with the last checkpoint saved."""
    job = backends.jobs.get_job(job_id)
    if job.state == JobState.QUEUED:
        started = _save(backends, job.advanced(state=JobState.RUNNING))
        if started is None:  # another worker started it first
            return backends.jobs.get_job(job_id)
        job = started
    while not job.finished:
        try:
            step = _clean_up(backends, job) if job.cursor.get("wrapped_up") else STEPS[job.kind](backends, job)
        except AutolabelError as error:
            step = job.advanced(state=JobState.FAILED, failure_reason=f"{type(error).__name__}: {error}")
        saved = _save(backends, step)
        if saved is None:  # another worker saved this job first: it carries on, this one stops
            return backends.jobs.get_job(job_id)
        job = saved
        if not job.finished and out_of_time():
            break
    return job


def continue_job(backends: Backends, job_id: str, out_of_time: Callable[[], bool]) -> Job:
    """Run the job as long as time allows and, if it is not done, launch it again (the AWS
    worker: each invocation takes the job a stretch further)."""
    job = run_job(backends, job_id, out_of_time)
    if not job.finished:
        backends.job_launcher.launch(job.id)
    return job


def fail_job(backends: Backends, job_id: str, reason: str) -> Job:
    """Give up on a job whose worker keeps crashing; its checkpoint stays for a new request
    (deleting a task again resumes it)."""
    job = backends.jobs.get_job(job_id)
    if job.finished:
        return job
    failed = job.advanced(state=JobState.FAILED, failure_reason=reason)
    return _save(backends, failed) or backends.jobs.get_job(job_id)


def run_in_background(backends: Backends, job_id: str) -> None:
    """The embedded worker: the job to its end; a crash fails it with the reason."""
    try:
        run_job(backends, job_id)
    except Exception as error:
        log.exception("job %s failed", job_id)
        fail_job(backends, job_id, f"{type(error).__name__}: {error}")


def wait_until_finished(backends: Backends, job_id: str, poll_s: float = 0.05) -> Job:
    """Wait for a job the world's launcher runs (the demo, tests); callers showing progress
    poll ``get_job`` themselves."""
    job = backends.jobs.get_job(job_id)
    while not job.finished:
        time.sleep(poll_s)
        job = backends.jobs.get_job(job_id)
    return job


def _save(backends: Backends, job: Job) -> Job | None:
    try:
        backends.jobs.save_job(job)
    except Conflict:
        return None
    return job


def _actor(job: Job) -> Actor:
    return Actor(name=job.requested_by, role=Role(job.requester_role))


def _task(backends: Backends, job: Job) -> Task:
    return backends.records.get_task(job.task_id)


# ---- work lists: pages of ids in the blob store


def _page_key(job: Job, page: int) -> str:
    return f"jobs/{job.id}/ids/{page:06d}.json"


def _write_pages(backends: Backends, job: Job, item_ids: list[str]) -> int:
    size = CHUNK[job.kind]
    pages = [item_ids[start : start + size] for start in range(0, len(item_ids), size)]
    for number, page in enumerate(pages):
        backends.blobs.put(_page_key(job, number), json.dumps(page).encode(), "application/json")
    return len(pages)


def _read_page(backends: Backends, job: Job, page: int) -> list[str]:
    ids: list[str] = json.loads(backends.blobs.get(_page_key(job, page)))
    return ids


def _part_key(job: Job, what: str, number: int) -> str:
    return f"jobs/{job.id}/{what}/{number:06d}.json"


def _wrap_up(job: Job, result: dict[str, Any], result_key: str | None = None) -> Job:
    """The job's work is done: its result is recorded; the next step removes its working files
    and marks it succeeded (apart, so that a repeat of the last chunk still finds them)."""
    return job.advanced(result=result, result_key=result_key, cursor={**job.cursor, "wrapped_up": True})


def _clean_up(backends: Backends, job: Job) -> Job:
    """Remove the job's working files (by their known keys: no listing needed); it succeeded."""
    for page in range(int(job.cursor.get("pages", 0))):
        backends.blobs.delete(_page_key(job, page))
    for what in ("images", "annotations"):
        for number in range(int(job.cursor.get(what, 0))):
            backends.blobs.delete(_part_key(job, what, number))
    return job.advanced(state=JobState.SUCCEEDED)


def _walk_pages(
    backends: Backends, job: Job, list_ids: Callable[[], list[str]], each_page: Callable[[list[str]], None]
) -> Job:
    """One chunk of a job that walks a list of ids: the first call stores the list as pages
    (and the total), each later one handles the next page. ``cursor.page`` is the next page."""
    if "pages" not in job.cursor:
        item_ids = list_ids()
        pages = _write_pages(backends, job, item_ids)
        return job.advanced(total=len(item_ids), cursor={**job.cursor, "pages": pages, "page": 0})
    page = int(job.cursor["page"])
    ids = _read_page(backends, job, page)
    each_page(ids)
    return job.advanced(done=job.done + len(ids), cursor={**job.cursor, "page": page + 1})


def _pages_done(job: Job) -> bool:
    return "pages" in job.cursor and int(job.cursor["page"]) >= int(job.cursor["pages"])


# ---- annotations gathered in parts (exports and versions)


def _gather_annotations(backends: Backends, job: Job, query: AnnotationQuery, counted: bool) -> Job:
    """One page of the task's annotations into the next part; ``cursor.after`` is the store's
    cursor, ``cursor.annotations`` the parts written, ``cursor.gathered`` set after the last.
    ``counted``: whether the annotations are what the job's progress counts."""
    number = int(job.cursor.get("annotations", 0))
    page = backends.records.annotations(
        AnnotationQuery(
            task_id=query.task_id, statuses=query.statuses, limit=CHUNK[job.kind], cursor=job.cursor.get("after")
        )
    )
    data = json.dumps([a.model_dump(mode="json") for a in page.items]).encode()
    backends.blobs.put(_part_key(job, "annotations", number), data, "application/json")
    return job.advanced(
        done=job.done + (len(page.items) if counted else 0),
        cursor={**job.cursor, "annotations": number + 1, "after": page.cursor, "gathered": page.cursor is None},
    )


def _gathered_annotations(backends: Backends, job: Job) -> list[Annotation]:
    found: list[Annotation] = []
    for number in range(int(job.cursor.get("annotations", 0))):
        data = json.loads(backends.blobs.get(_part_key(job, "annotations", number)))
        found.extend(Annotation.model_validate(a) for a in data)
    return found


# ---- one chunk of each kind


def _export_step(backends: Backends, job: Job) -> Job:
    task = _task(backends, job)
    fmt, include_review = str(job.params["format"]), bool(job.params.get("include_review", False))
    if not _pages_done(job):

        def inputs_to_export() -> list[str]:
            failed = set(backends.records.task_inputs(task.id, InputState.FAILED))
            return [i for i in backends.records.task_inputs(task.id) if i not in failed]

        def sizes(ids: list[str]) -> None:
            found = backends.records.get_inputs(ids)
            images = [exports.export_image(backends, found[i]) for i in ids if i in found]
            rows = [[im.input_id, im.file_name, im.width, im.height] for im in images if im is not None]
            number = int(job.cursor["page"])
            backends.blobs.put(_part_key(job, "images", number), json.dumps(rows).encode(), "application/json")

        step = _walk_pages(backends, job, inputs_to_export, sizes)
        return step.model_copy(update={"cursor": {**step.cursor, "images": int(step.cursor.get("page", 0))}})
    if not job.cursor.get("gathered"):
        # Progress counts the inputs (their sizes are the part that grows); annotations are
        # gathered after, a page per chunk.
        query = AnnotationQuery(task_id=task.id, statuses=exports.statuses(include_review))
        return _gather_annotations(backends, job, query, counted=False)
    images = [
        ExportImage(*row)
        for number in range(int(job.cursor["pages"]))
        for row in json.loads(backends.blobs.get(_part_key(job, "images", number)))
    ]
    annotations = _gathered_annotations(backends, job)
    name, data, files = exports.render(task, fmt, images, annotations, include_review, job.created_at)
    result_key = f"jobs/{job.id}/{name}"
    backends.blobs.put(result_key, data, "application/zip" if name.endswith(".zip") else "application/json")
    result = {"format": fmt, "file": name, "files": len(files), "images": len(images), "annotations": len(annotations)}
    return _wrap_up(job, result, result_key)


def _version_step(backends: Backends, job: Job) -> Job:
    task = _task(backends, job)
    if not job.cursor.get("gathered"):
        query = AnnotationQuery(task_id=task.id, statuses=[AnnotationStatus.SUCCESS])
        return _gather_annotations(backends, job, query, counted=True)
    version = versions.record_version(backends, task, _gathered_annotations(backends, job), job.requested_by, job.id)
    result = {"number": version.number, "annotations": version.annotations, "inputs": version.inputs}
    return _wrap_up(job, result, version.blob_key)


def _delete_step(backends: Backends, job: Job) -> Job:
    """Queues (and their alarms), then the versions' snapshots, then the records chunk by
    chunk, then the task itself — last, so a job cut short always has its task to resume."""
    phase = job.cursor.get("phase", "queues")
    try:
        task = _task(backends, job)
    except NotFound:
        return _wrap_up(job, {"deleted": job.task_id, "name": job.task_name})
    if phase == "queues":
        for reviewer in tasks.review_queue_holders(backends, task):
            backends.queues.delete_queue(review.queue_of(backends, task, reviewer))
        return job.advanced(cursor={"phase": "versions"})
    if phase == "versions":
        for version in backends.records.dataset_versions(task.id):
            backends.blobs.delete(version.blob_key)
        return job.advanced(cursor={"phase": "records"})
    if phase == "records":
        deleted = backends.records.delete_task_records(task.id, CHUNK[job.kind])
        return job.advanced(done=job.done + deleted, cursor={"phase": "records" if deleted else "task"})
    with contextlib.suppress(NotFound):  # deleted by an earlier run of this step
        backends.records.delete_task(task.id)
    return _wrap_up(job, {"deleted": task.id, "name": task.name})


def _rethreshold_step(backends: Backends, job: Job) -> Job:
    stored = _task(backends, job)
    task = stored.model_copy(
        update={
            "thresholds": Thresholds.model_validate(job.params["thresholds"]),
            "concept_thresholds": {
                c: Thresholds.model_validate(t) for c, t in job.params["concept_thresholds"].items()
            },
            "updated_at": utcnow(),
        }
    )
    created = 0

    def reroute(ids: list[str]) -> None:
        nonlocal created
        created = tasks.rethreshold_inputs(backends, task, ids)

    if not _pages_done(job):
        step = _walk_pages(backends, job, lambda: backends.records.task_inputs(task.id, InputState.DONE), reroute)
        made = int(job.result.get("review_items_created", 0)) + created
        return step.model_copy(update={"result": {"review_items_created": made}})
    if job.total == 0:
        tasks.rethreshold_inputs(backends, task, [])  # nothing to re-route: store the thresholds alone
    backends.records.recount(task.id)  # once, after every page
    thresholds = {"thresholds": job.params["thresholds"], "concept_thresholds": job.params["concept_thresholds"]}
    return _wrap_up(job, {**job.result, **thresholds})


def _bulk_accept_step(backends: Backends, job: Job) -> Job:
    actor, min_score = _actor(job), float(job.params["min_score"])
    outcomes = {"accepted": 0, "skipped_below_score": 0, "skipped_decided_meanwhile": 0, **job.result}

    def pending_items() -> list[str]:
        items = backends.records.review_items(job.task_id, reviewer=actor.name, state=ReviewState.PENDING)
        return [item.id for item in items]

    def accept(ids: list[str]) -> None:
        for item_id in ids:
            try:
                outcome = review.accept_if_confident(backends, actor, item_id, min_score)
            except NotFound:
                outcome = "skipped_decided_meanwhile"  # the item's input was deleted meanwhile
            outcomes[outcome] += 1

    if not _pages_done(job):
        step = _walk_pages(backends, job, pending_items, accept)
        return step.model_copy(update={"result": outcomes})
    return _wrap_up(job, outcomes)


STEPS: dict[JobKind, Callable[[Backends, Job], Job]] = {
    JobKind.EXPORT: _export_step,
    JobKind.VERSION: _version_step,
    JobKind.DELETE_TASK: _delete_step,
    JobKind.RETHRESHOLD: _rethreshold_step,
    JobKind.BULK_ACCEPT: _bulk_accept_step,
}


def exported(backends: Backends, job: Job) -> exports.Export:
    """A finished export job's files (the CLI writes them with ``exports.save``)."""
    if job.kind != JobKind.EXPORT or job.state != JobState.SUCCEEDED or job.result_key is None:
        raise Conflict(f"job {job.id} is not a finished export", {"job_id": job.id, "state": job.state.value})
    return exports.read_result(str(job.params["format"]), str(job.result["file"]), backends.blobs.get(job.result_key))
