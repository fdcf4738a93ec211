"""`make demo`: label the bundled sample photos end to end on the embedded world."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from autolabel.domain.models import AnnotationStatus, Band, Reviewer, Thresholds
from autolabel.domain.users import Actor
from autolabel.exporting import export_task
from autolabel.exports.preview import render_preview
from autolabel.imaging.decode import decode_image
from autolabel.ports import AnnotationQuery
from autolabel.service import Autolabel

OWNER = Actor.workspace_owner()
DEMO_TASK = "demo-coco"
DEMO_DATASET = "samples"
DEMO_MODEL = "ssd-mobilenet-v2-coco"
PREVIEW_DISCARDED_FLOOR = 0.1
DEMO_CONCEPTS = ["person", "cat", "cup", "motorcycle", "bowl", "spoon", "tie", "dining table", "car"]


def run_demo(svc: Autolabel, samples: Path, out: Path, console: Console) -> None:
    from autolabel.cli import print_summary

    report = svc.add_files(OWNER, DEMO_DATASET, [samples])
    console.print(f"dataset [bold]{DEMO_DATASET}[/]: {report.added} new, {report.already_present} already present")
    if svc.records.find_task(DEMO_TASK) is not None:
        svc.delete_task(OWNER, DEMO_TASK)  # the demo starts over each time, so it always shows a full run
    task = svc.create_task(
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
    run = svc.run_task(OWNER, DEMO_TASK)
    console.print(f"ran {run.processed} inputs in {run.seconds:.2f}s")
    print_summary(svc.summary(OWNER, DEMO_TASK))

    if out.exists():
        shutil.rmtree(out)
    previews = out / "previews"
    previews.mkdir(parents=True)
    coco = export_task(svc, OWNER, DEMO_TASK, "coco", out / "coco.json")[0]
    bands = {p.id: p for p in svc.records.predictions(task.id)}
    annotations = svc.annotations(AnnotationQuery(task_id=task.id))
    status_of = {a.prediction_id: a.status for a in annotations}
    for item in svc.task_inputs(task):
        image = decode_image(svc.blobs.get(item.blob_key))
        drawn = []
        for prediction in bands.values():
            if prediction.input_id != item.id or prediction.geometry.type not in ("box", "polygon"):
                continue
            status = status_of.get(prediction.id)
            if status is None and prediction.score < PREVIEW_DISCARDED_FLOOR:
                continue  # dozens of near-zero boxes would hide the picture
            band = (
                Band.APPROVED
                if status == AnnotationStatus.SUCCESS
                else Band.REVIEW
                if status == AnnotationStatus.AWAITING_REVIEW
                else Band.DISCARDED
            )
            drawn.append((prediction.geometry, prediction.concept, prediction.score, band.value))
        render_preview(image, drawn).save(previews / f"{Path(item.source).stem}.png")
    console.print(f"COCO export: {coco}")
    console.print(f"previews (green approved, amber review, red discarded >= {PREVIEW_DISCARDED_FLOOR}): {previews}/")
    console.print("next: [bold]autolabel review next --task demo-coco --reviewer alice[/]")
