"""The `autolabel` command line (typer + rich). Thin: parse, call a use case of
``autolabel.app`` on the workspace's backends, print.

Why one module of ~600 lines: it is the CLI's table of contents — some twenty commands, each
a typer signature (the help text people read) and a few lines of parse → call → print, sharing
the error handling and output helpers at the top. Splitting it by command group would scatter
those helpers without making any one command easier to find.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from autolabel import bootstrap
from autolabel.app import datasets, exports, jobs, models, review, tasks, users
from autolabel.app.review import ReviewView
from autolabel.app.tasks import TaskSummary
from autolabel.app.views import AnnotationView, DatasetView, ModelView, TaskView
from autolabel.domain.errors import AutolabelError, ValidationError
from autolabel.domain.jobs import Job, JobState
from autolabel.domain.models import Box, Decision, DecisionKind, Edit, Reviewer, Thresholds
from autolabel.domain.users import Actor, Role
from autolabel.ports import Backends

app = typer.Typer(
    help="Auto-annotate datasets with ONNX models, routed to human review by thresholds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
dataset_app = typer.Typer(help="Datasets: folders of images (and texts).", no_args_is_help=True)
task_app = typer.Typer(help="Labeling tasks: create, run, watch, re-threshold.", no_args_is_help=True)
review_app = typer.Typer(help="Review the inputs of your partition.", no_args_is_help=True)
user_app = typer.Typer(help="People who may call the HTTP API, and their tokens.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(user_app, name="user")
app.add_typer(task_app, name="task")
app.add_typer(review_app, name="review")

# No emoji codes: a file named ":cat:.jpg" is printed as it is named, not as a picture of a cat.
# Lines of text are never wrapped (tables still fit the terminal): one line per message, a path
# copyable whole.
console = Console(emoji=False, soft_wrap=True)
err_console = Console(stderr=True, emoji=False, soft_wrap=True)

# Whoever runs the CLI owns the workspace folder (and could read its database): an admin.
OWNER = Actor.workspace_owner()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
F = TypeVar("F", bound=Callable[..., Any])


# C0 and C1 control characters and DEL: what a terminal acts on (an escape sequence recolours the
# screen or moves the cursor, a carriage return hides what came before) instead of showing.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escaped(text: object) -> str:
    """User-supplied text (a name, a file name, a reason, a message quoting input) made safe to
    print: control characters shown as Python escapes (``\\x1b``, ``\\r``), and square brackets
    escaped so Rich prints ``[draft]`` instead of reading it as markup. Every such value the CLI
    prints goes through here; JSON output needs no escaping."""
    return escape(_CONTROL.sub(lambda found: repr(found.group())[1:-1], str(text)))


def workspace(serving: bool = False) -> Backends:
    return bootstrap.embedded(bootstrap.default_home(), serving=serving)


def emit_json(document: Any) -> None:
    def default(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        return str(value)

    sys.stdout.write(json.dumps(document, default=default, indent=2) + "\n")


def fail(code: str, message: str, details: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"error": code, "message": message, "details": details})
    else:
        err_console.print(f"[bold red]error:[/] {escaped(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def handle_errors(command: F) -> F:
    """Turn domain errors into a one-line message and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AutolabelError as exc:
            fail(exc.code, exc.message, exc.details, bool(kwargs.get("as_json")))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            fail(
                "validation_error",
                f"{where}: {first['msg']}" if where else first["msg"],
                {},
                bool(kwargs.get("as_json")),
            )
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: run the same command again to resume")
            raise typer.Exit(130) from None
        except OSError as exc:
            # The machine refused something (a full disk, a permission, a path that is a file):
            # nothing the code can fix, so the sentence the OS gives, and the path it was about.
            fail("os_error", os_error_message(exc), {"path": str(exc.filename or "")}, bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


def os_error_message(exc: OSError) -> str:
    what = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return f"{what}: {exc.filename}" if exc.filename else what


def wait_for(backends: Backends, actor: Actor, job: Job, as_json: bool, label: str) -> Job:
    """Wait for a job the workspace's worker thread runs, with a progress bar on a terminal;
    a failed job ends the command with its reason. Ctrl-C leaves it resumable."""
    show = not as_json and (sys.stderr.isatty() or os.environ.get("AUTOLABEL_PROGRESS") == "1")
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, disable=not show
    )
    with bar:
        handle = bar.add_task(escaped(label), total=job.total)  # a description is Rich markup
        while not job.finished:
            time.sleep(0.05)
            job = jobs.get_job(backends, actor, job.id)
            bar.update(handle, completed=job.done, total=job.total)
    if job.state == JobState.FAILED:
        fail("job_failed", f"{label}: {job.failure_reason}", {"job_id": job.id}, as_json)
    return job


# ---------------------------------------------------------------------- parsing helpers


def parse_thresholds(values: list[str]) -> dict[str, Thresholds]:
    """CONCEPT=UPPER:LOWER, e.g. "cat=0.8:0.4"."""
    parsed: dict[str, Thresholds] = {}
    for value in values:
        concept, sep, pair = value.rpartition("=")
        upper, sep2, lower = pair.partition(":")
        if not sep or not sep2 or not concept:
            raise ValidationError(f"--threshold {value!r}: expected CONCEPT=UPPER:LOWER, e.g. cat=0.8:0.4")
        try:
            numbers = float(upper), float(lower)
        except ValueError:
            raise ValidationError(f"--threshold {value!r}: UPPER and LOWER must be numbers") from None
        parsed[concept] = Thresholds.of(*numbers)
    return parsed


def parse_reviewers(listing: str, weights: str | None) -> list[Reviewer]:
    listed = [n.strip() for n in listing.split(",") if n.strip()]
    weight_of: dict[str, int] = {}
    for pair in (weights or "").split(","):
        if not pair.strip():
            continue
        name, sep, weight = pair.partition("=")
        if not sep or not weight.strip().isdigit():
            raise ValidationError(f"--weights {pair!r}: expected NAME=INTEGER, e.g. alice=2")
        if name.strip() not in listed:
            raise ValidationError(f"--weights names '{name.strip()}', who is not in --reviewers")
        weight_of[name.strip()] = int(weight)
    return [Reviewer(name=n, weight=weight_of.get(n, 1)) for n in listed]


def parse_box(value: str) -> Box:
    try:
        x, y, w, h = (float(v) for v in value.split(","))
        return Box(x=x, y=y, w=w, h=h)
    except ValueError:
        raise ValidationError(f"--box {value!r}: expected x,y,w,h with w and h > 0, e.g. 10,20,100,80") from None


def make_thresholds(upper: float, lower: float) -> Thresholds:
    return Thresholds.of(upper=upper, lower=lower)


# ---------------------------------------------------------------------- datasets


@dataset_app.command("add")
@handle_errors
def dataset_add(
    name: Annotated[str, typer.Argument(help="Dataset name (created if new).")],
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    as_json: JsonOpt = False,
) -> None:
    """Add image files, or every image below folders, to a dataset."""
    report = datasets.add_files(workspace(), OWNER, name, paths)
    if as_json:
        emit_json({**report.model_dump(mode="json"), "dataset": DatasetView.of(report.dataset)})
        return
    console.print(f"dataset [bold]{escaped(name)}[/]: {report.added} added, {report.already_present} already present")
    for skipped in report.skipped:
        # One line per file, never wrapped: a path split over two lines cannot be copied.
        err_console.print(
            f"[yellow]skipped:[/] {escaped(skipped.reason)}: {escaped(skipped.path)}", highlight=False, soft_wrap=True
        )


@dataset_app.command("list")
@handle_errors
def dataset_list(as_json: JsonOpt = False) -> None:
    """List datasets with their input counts."""
    backends = workspace()
    rows: list[dict[str, str | int]] = []
    for dataset in datasets.list_datasets(backends, OWNER):
        count = datasets.count_inputs(backends, OWNER, dataset.id)
        rows.append({"name": dataset.name, "id": dataset.id, "inputs": count})
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "id", "inputs")
    for row in rows:
        table.add_row(escaped(row["name"]), escaped(row["id"]), str(row["inputs"]))
    console.print(table)


# ---------------------------------------------------------------------- models


@app.command("models")
@handle_errors
def list_models(as_json: JsonOpt = False) -> None:
    """Shipped and registered models with their concepts."""
    specs = models.list_models(workspace())
    if as_json:
        emit_json(ModelView.many(specs))
        return
    table = Table("model", "version", "kind", "label type", "concepts")
    for spec in specs:
        shown = ", ".join(spec.labels[:8]) + (f" … (+{len(spec.labels) - 8})" if len(spec.labels) > 8 else "")
        table.add_row(escaped(spec.id), escaped(spec.version), spec.kind.value, spec.label_type.value, escaped(shown))
    console.print(table)


# ---------------------------------------------------------------------- tasks


@task_app.command("create")
@handle_errors
def task_create(
    name: Annotated[str, typer.Option("--name", help="Task name (unique).")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name.")],
    model: Annotated[str, typer.Option("--model", help="Model id (see `autolabel models`).")],
    concepts: Annotated[str, typer.Option("--concepts", help="Comma-separated concepts of the model.")],
    reviewers: Annotated[str, typer.Option("--reviewers", help="Comma-separated reviewer names.")],
    upper: Annotated[float, typer.Option("--upper", help="Score >= upper: approved at once.")] = 0.9,
    lower: Annotated[float, typer.Option("--lower", help="lower <= score < upper: human review.")] = 0.5,
    threshold: Annotated[list[str], typer.Option("--threshold", help="Per concept: CONCEPT=UPPER:LOWER.")] = [],  # noqa: B006
    weights: Annotated[str | None, typer.Option("--weights", help="Review shares, e.g. alice=2,bob=1.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a labeling task."""
    task = tasks.create_task(
        workspace(),
        OWNER,
        name=name,
        dataset=dataset,
        model=model,
        concepts=[c.strip() for c in concepts.split(",") if c.strip()],
        thresholds=make_thresholds(upper, lower),
        concept_thresholds=parse_thresholds(threshold),
        reviewers=parse_reviewers(reviewers, weights),
    )
    if as_json:
        emit_json(TaskView.of(task))
        return
    console.print(f"created task [bold]{escaped(task.name)}[/] ({task.id})")


@task_app.command("run")
@handle_errors
def task_run(
    name: Annotated[str, typer.Argument(help="Task name or id.")],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=256, help="Inputs per batch.")] = 8,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help="Parallel batches.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the model on every input not yet processed (resumable)."""
    from autolabel.app.runs.local import RunOptions, run_task

    backends = workspace()
    options = (
        RunOptions(batch_size=batch_size) if workers is None else RunOptions(batch_size=batch_size, workers=workers)
    )
    if as_json or (not sys.stderr.isatty() and os.environ.get("AUTOLABEL_PROGRESS") != "1"):
        report = run_task(backends, OWNER, name, options=options)
    else:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as bar:
            handle = bar.add_task(f"labeling {escaped(name)}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(handle, completed=done, total=total)

            report = run_task(backends, OWNER, name, progress=progress, options=options)
    summary = tasks.summary(backends, OWNER, name)
    if as_json:
        emit_json(
            {
                "run": {
                    "processed": report.processed,
                    "failed": report.failed,
                    "review_items": report.review_items,
                    "seconds": round(report.seconds, 3),
                },
                "status": summary,
            }
        )
        return
    console.print(
        f"processed {report.processed} inputs in {report.seconds:.1f}s "
        f"({report.failed} failed, {report.review_items} new review items)"
    )
    print_summary(summary)


def print_summary(summary: TaskSummary) -> None:
    table = Table(title=f"task {escaped(summary.name)}", show_header=False)
    table.add_row(
        "status", summary.status.value + (f" — {escaped(summary.failure_reason)}" if summary.failure_reason else "")
    )
    table.add_row("model / dataset", escaped(f"{summary.model} / {summary.dataset}"))
    table.add_row("concepts", escaped(", ".join(summary.concepts)))
    table.add_row(
        "inputs",
        f"{summary.inputs_total} total, {summary.inputs_done} done, "
        f"{summary.inputs_failed} failed, {summary.inputs_pending} pending",
    )
    table.add_row(
        "predictions",
        f"[green]{summary.predictions_approved} auto-approved[/], "
        f"[yellow]{summary.predictions_awaiting_review} awaiting review[/], "
        f"[red]{summary.predictions_discarded} discarded[/]",
    )
    table.add_row(
        "reviewed", f"{summary.percent_reviewed:.1f}% ({summary.review_items_decided} of {summary.review_items} inputs)"
    )
    table.add_row("labeled by", escaped(", ".join(f"{k}: {v}" for k, v in summary.labeled_by.items()) or "—"))
    table.add_row("queue depth", escaped(", ".join(f"{k}: {v}" for k, v in summary.queue_depth.items()) or "—"))
    if any(summary.dead_letters.values()):
        dead = escaped(", ".join(f"{k}: {v}" for k, v in summary.dead_letters.items()))
        table.add_row("dead letters", f"{dead} (`autolabel review redrive --task {summary.task_id}` moves them back)")
    console.print(table)


@task_app.command("status")
@handle_errors
def task_status(name: Annotated[str, typer.Argument(help="Task name or id.")], as_json: JsonOpt = False) -> None:
    """Status, counts per band, % reviewed, labeled by, queue depth."""
    backends = workspace()
    summary = tasks.summary(backends, OWNER, name)
    failed = tasks.failed_inputs(backends, OWNER, summary.task_id)
    if as_json:
        emit_json({**summary.model_dump(mode="json"), "failed_inputs": [f.model_dump() for f in failed]})
        return
    print_summary(summary)
    for failure in failed:
        err_console.print(f"[red]failed[/] {escaped(failure.source)}: {escaped(failure.reason)}", highlight=False)


@task_app.command("list")
@handle_errors
def task_list(as_json: JsonOpt = False) -> None:
    """All tasks."""
    backends = workspace()
    summaries = [tasks.summary(backends, OWNER, t.id) for t in tasks.list_tasks(backends, OWNER)]
    if as_json:
        emit_json(summaries)
        return
    table = Table("name", "status", "model", "dataset", "inputs", "% reviewed")
    for s in summaries:
        table.add_row(
            escaped(s.name),
            s.status.value,
            escaped(s.model),
            escaped(s.dataset),
            str(s.inputs_total),
            f"{s.percent_reviewed:.1f}",
        )
    console.print(table)


@task_app.command("delete")
@handle_errors
def task_delete(name: Annotated[str, typer.Argument(help="Task name or id.")], as_json: JsonOpt = False) -> None:
    """Delete a task, its results and its review queues (interrupted: run it again to resume)."""
    backends = workspace()
    job = wait_for(backends, OWNER, jobs.submit_delete(backends, OWNER, name), as_json, f"deleting {name}")
    if as_json:
        emit_json({"deleted": job.task_id, "name": job.task_name, "records": job.done})
        return
    console.print(f"deleted task [bold]{escaped(job.task_name)}[/] ({job.done} records)")


@task_app.command("version")
@handle_errors
def task_version(name: Annotated[str, typer.Argument(help="Task name or id.")], as_json: JsonOpt = False) -> None:
    """Snapshot the task's SUCCESS annotations as its next immutable, numbered dataset version."""
    backends = workspace()
    job = wait_for(backends, OWNER, jobs.submit_version(backends, OWNER, name), as_json, f"versioning {name}")
    if as_json:
        emit_json(job.result)
        return
    result = job.result
    console.print(
        f"dataset version {result['number']} of {escaped(job.task_name)}: "
        f"{result['annotations']} annotations on {result['inputs']} inputs"
    )


@task_app.command("rethreshold")
@handle_errors
def task_rethreshold(
    name: Annotated[str, typer.Argument(help="Task name or id.")],
    upper: Annotated[float | None, typer.Option("--upper")] = None,
    lower: Annotated[float | None, typer.Option("--lower")] = None,
    threshold: Annotated[list[str], typer.Option("--threshold", help="CONCEPT=UPPER:LOWER.")] = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Re-apply new thresholds to the stored predictions, without running the model."""
    backends = workspace()
    current = tasks.get_task(backends, OWNER, name).thresholds
    pair = None
    if upper is not None or lower is not None:
        pair = make_thresholds(
            upper if upper is not None else current.upper, lower if lower is not None else current.lower
        )
    job = jobs.submit_rethreshold(backends, OWNER, name, pair, parse_thresholds(threshold))
    wait_for(backends, OWNER, job, as_json, f"re-thresholding {name}")
    summary = tasks.summary(backends, OWNER, name)
    if as_json:
        emit_json(summary)
        return
    print_summary(summary)


# ---------------------------------------------------------------------- review


def print_view(view: ReviewView) -> None:
    console.print(
        f"item [bold]{view.item.id}[/] · input {escaped(view.input.source or view.input.id)} "
        f"· {view.remaining} left in your queue"
    )
    table = Table("prediction", "concept", "score", "geometry")
    for annotation in view.flagged:
        geometry = annotation.geometry.model_dump(exclude={"type"})
        table.add_row(
            annotation.prediction_id or "",
            escaped(annotation.concept),
            f"{annotation.score:.3f}" if annotation.score is not None else "",
            ", ".join(f"{k}={v}" for k, v in geometry.items()) or annotation.geometry.type,
        )
    console.print(table)


@review_app.command("next")
@handle_errors
def review_next(
    task: Annotated[str, typer.Option("--task", help="Task name or id.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your reviewer name.")],
    as_json: JsonOpt = False,
) -> None:
    """Take the next item of your queue (leased to you for a few minutes)."""
    view = review.review_next(workspace(), Actor.reviewer(reviewer), task)
    if as_json:
        emit_json({"item_id": view.item.id if view else None, "item": view})
        return
    if view is None:
        console.print("nothing left to review in your queue")
        return
    print_view(view)


def _decide(
    kind: DecisionKind, item: str, reviewer: str, predictions: list[str], edits: list[Edit], as_json: bool
) -> None:
    decision = Decision(kind=kind, reviewer=reviewer, prediction_ids=predictions or None, edits=edits)
    annotations = review.decide(workspace(), Actor.reviewer(reviewer), item, decision)
    if as_json:
        emit_json({"item_id": item, "decision": kind.value, "annotations": AnnotationView.many(annotations)})
        return
    accepted = sum(1 for a in annotations if a.status.value == "SUCCESS")
    console.print(f"{kind.value}ed item {escaped(item)}: {accepted} accepted, {len(annotations) - accepted} rejected")


@review_app.command("accept")
@handle_errors
def review_accept(
    item: Annotated[str, typer.Argument(help="Review item id.")],
    reviewer: Annotated[str, typer.Option("--reviewer")],
    prediction: Annotated[list[str], typer.Option("--prediction", help="Accept only these (others rejected).")] = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Accept the item's flagged predictions (all, or only those named)."""
    _decide(DecisionKind.ACCEPT, item, reviewer, prediction, [], as_json)


@review_app.command("reject")
@handle_errors
def review_reject(
    item: Annotated[str, typer.Argument(help="Review item id.")],
    reviewer: Annotated[str, typer.Option("--reviewer")],
    prediction: Annotated[list[str], typer.Option("--prediction", help="Reject only these (others accepted).")] = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Reject the item's flagged predictions (all, or only those named)."""
    _decide(DecisionKind.REJECT, item, reviewer, prediction, [], as_json)


@review_app.command("edit")
@handle_errors
def review_edit(
    item: Annotated[str, typer.Argument(help="Review item id.")],
    reviewer: Annotated[str, typer.Option("--reviewer")],
    prediction: Annotated[str, typer.Option("--prediction", help="The prediction to change.")],
    concept: Annotated[str | None, typer.Option("--concept", help="New concept.")] = None,
    box: Annotated[str | None, typer.Option("--box", help="New box x,y,w,h in pixels.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a flagged prediction's concept or box; the item's other predictions are accepted."""
    if concept is None and box is None:
        raise typer.BadParameter("give --concept and/or --box")
    edit = Edit(prediction_id=prediction, concept=concept, geometry=parse_box(box) if box else None)
    _decide(DecisionKind.EDIT, item, reviewer, [], [edit], as_json)


@review_app.command("bulk-accept")
@handle_errors
def review_bulk_accept(
    task: Annotated[str, typer.Option("--task", help="Task name or id.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your reviewer name.")],
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="Lowest flagged score to accept.")],
    as_json: JsonOpt = False,
) -> None:
    """Accept every pending item of your partition whose flagged predictions all score >= --min-score."""
    backends, actor = workspace(), Actor.reviewer(reviewer)
    job = jobs.submit_bulk_accept(backends, actor, task, min_score)
    job = wait_for(backends, actor, job, as_json, f"accepting {reviewer}'s items")
    if as_json:
        emit_json(job.result)
        return
    result = job.result
    console.print(
        f"accepted {result['accepted']} item(s); {result['skipped_below_score']} below {min_score} "
        f"and {result['skipped_decided_meanwhile']} already decided left as they were"
    )


@review_app.command("redrive")
@handle_errors
def review_redrive(
    task: Annotated[str, typer.Option("--task", help="Task name or id.")], as_json: JsonOpt = False
) -> None:
    """Move the task's dead-lettered items (leases that lapsed too often) back to their reviewers."""
    report = review.redrive(workspace(), OWNER, task)
    if as_json:
        emit_json(report)
        return
    shares = escaped(", ".join(f"{name}: {n}" for name, n in report.by_reviewer.items() if n))
    console.print(f"moved {report.moved} item(s) back to their reviewers' queues" + (f" ({shares})" if shares else ""))


# ---------------------------------------------------------------------- export


@app.command("export")
@handle_errors
def export(
    name: Annotated[str, typer.Argument(help="Task name or id.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (coco) or folder (yolo).")],
    fmt: Annotated[str, typer.Option("--format", help="coco or yolo.")] = "coco",
    include_review: Annotated[
        bool, typer.Option("--include-review", help="Add awaiting-review labels, marked.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a task's annotations (SUCCESS only unless --include-review)."""
    exports.check_destination(fmt, out)
    backends = workspace()
    job = jobs.submit_export(backends, OWNER, name, fmt, include_review)
    job = wait_for(backends, OWNER, job, as_json, f"exporting {name}")
    written = exports.save(jobs.exported(backends, job), out)
    if as_json:
        emit_json({"format": fmt, "files": [str(p) for p in written]})
        return
    console.print(f"wrote {len(written)} file(s) to {escaped(out)}")


# ---------------------------------------------------------------------- users and the HTTP API


@user_app.command("add")
@handle_errors
def user_add(
    name: Annotated[str, typer.Argument(help="User name (reviewers use it in tasks' --reviewers).")],
    role: Annotated[Role, typer.Option("--role", help="admin: manage everything; reviewer: review own items.")],
    as_json: JsonOpt = False,
) -> None:
    """Create a user and print their API token — once; only its hash is stored."""
    created = users.add_user(workspace(), OWNER, name, role)
    user = created.user
    if as_json:
        emit_json({"name": user.name, "role": user.role.value, "token": created.token})
        return
    console.print(f"created {user.role.value} [bold]{escaped(user.name)}[/]; their token (shown only now):")
    sys.stdout.write(created.token + "\n")


@user_app.command("list")
@handle_errors
def user_list(as_json: JsonOpt = False) -> None:
    """Users and their roles (tokens are not stored, so they cannot be shown)."""
    found = users.list_users(workspace(), OWNER)
    if as_json:
        emit_json([{"name": u.name, "role": u.role.value, "created_at": u.created_at.isoformat()} for u in found])
        return
    table = Table("name", "role", "created")
    for u in found:
        table.add_row(escaped(u.name), u.role.value, u.created_at.isoformat(timespec="seconds"))
    console.print(table)


@user_app.command("remove")
@handle_errors
def user_remove(name: Annotated[str, typer.Argument(help="User name.")], as_json: JsonOpt = False) -> None:
    """Delete a user; their token stops working at once."""
    users.remove_user(workspace(), OWNER, name)
    if as_json:
        emit_json({"deleted": name})
        return
    console.print(f"removed user [bold]{escaped(name)}[/]")


@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; loopback unless you mean it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 8080,
) -> None:
    """Serve the HTTP API (the same resolver as the Lambda) and the review web app until interrupted."""
    from autolabel.api.server import run_server

    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] listening on {escaped(host)}: other machines can reach the API, and this server "
            "speaks plain HTTP — put TLS in front of it before tokens cross a network"
        )

    def announce(url: str) -> None:
        console.print(f"autolabel API on {escaped(url)}", highlight=False)
        console.print(f"web app on {escaped(url)}/ (sign in with a token from `autolabel user add`)", highlight=False)

    run_server(workspace(serving=True), host, port, announce=announce)


@app.command("demo")
@handle_errors
def demo(
    samples: Annotated[Path, typer.Option("--samples", help="Folder of images.")] = Path("samples/images"),
    out: Annotated[Path, typer.Option("--out", help="Where the export and previews go.")] = Path("demo-output"),
) -> None:
    """Label the bundled sample photos end to end and show the result."""
    from autolabel.demo import run_demo

    run_demo(workspace(), samples, out, console)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
