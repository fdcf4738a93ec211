"""`make demo`: label the bundled sample photos end to end on the embedded world."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from rich.console import Console

from autolabel.app import datasets, exports, jobs, previews, tasks
from autolabel.app.runs.local import run_task
from autolabel.domain.errors import NotFound
from autolabel.domain.models import Reviewer, Thresholds
from autolabel.domain.users import Actor
from autolabel.ports import Backends

OWNER = Actor.workspace_owner()
DEMO_TASK = "demo-coco"
DEMO_DATASET = "samples"
DEMO_MODEL = "ssd-mobilenet-v2-coco"
PREVIEW_DISCARDED_FLOOR = 0.1
DEMO_CONCEPTS = ["person", "cat", "cup", "motorcycle", "bowl", "spoon", "tie", "dining table", "car"]


def run_demo(backends: Backends, samples: Path, out: Path, console: Console) -> None:
    from autolabel.cli import escaped, print_summary

    report = datasets.add_files(backends, OWNER, DEMO_DATASET, [samples])
    console.print(f"dataset [bold]{DEMO_DATASET}[/]: {report.added} new, {report.already_present} already present")
    with contextlib.suppress(NotFound):  # the demo starts over each time, so it always shows a full run
        jobs.wait_until_finished(backends, jobs.submit_delete(backends, OWNER, DEMO_TASK).id)
    task = tasks.create_task(
        backends,
        OWNER,
        name=DEMO_TASK,
        dataset=DEMO_DATASET,
        model=DEMO_MODEL,
        concepts=DEMO_CONCEPTS,
        thresholds=Thresholds.of(upper=0.7, lower=0.3),
        concept_thresholds={"person": Thresholds.of(upper=0.8, lower=0.4)},
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )
    console.print(
        f"task [bold]{task.name}[/]: {DEMO_MODEL}, concepts {', '.join(DEMO_CONCEPTS)}, "
        "thresholds 0.7 / 0.3 (person 0.8 / 0.4), reviewers alice, bob"
    )
    run = run_task(backends, OWNER, DEMO_TASK)
    console.print(f"ran {run.processed} inputs in {run.seconds:.2f}s")
    print_summary(tasks.summary(backends, OWNER, DEMO_TASK))

    if out.exists():
        shutil.rmtree(out)
    export = jobs.wait_until_finished(backends, jobs.submit_export(backends, OWNER, DEMO_TASK, "coco").id)
    coco = exports.save(jobs.exported(backends, export), out / "coco.json")[0]
    folder = out / "previews"
    previews.write_previews(backends, OWNER, DEMO_TASK, folder, discarded_floor=PREVIEW_DISCARDED_FLOOR)
    console.print(f"COCO export: {escaped(coco)}")
    console.print(
        f"previews (green approved, amber review, red discarded >= {PREVIEW_DISCARDED_FLOOR}): {escaped(folder)}/"
    )
    console.print("next: [bold]autolabel review next --task demo-coco --reviewer alice[/]")
