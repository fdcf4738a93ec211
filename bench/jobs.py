"""Jobs on the AWS world under moto: how many requests submitting a job takes (it must not grow
with the task) and how many chunks, requests and seconds doing it takes, for a task of N inputs
(default 2,000; each with one approved and one flagged prediction, so one review item).

    python -m bench.jobs --inputs 2000

Seconds are moto's in-process time on this machine, not AWS's; the request counts are what a
deployment would make. Saves bench/results/jobs-<N>.json."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autolabel.ports import JobLauncher

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from tests.contract.adapters import REGION, moto_aws

    with moto_aws():
        report = measure(args.inputs, REGION)
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"jobs-{args.inputs}.json").write_text(json.dumps(report, indent=2) + "\n")


def measure(count: int, region: str) -> dict[str, Any]:
    from autolabel import bootstrap
    from autolabel.app import jobs
    from autolabel.app.models import publish_shipped, shipped_models_dir
    from autolabel.aws import clients
    from autolabel.aws.records import create_table
    from autolabel.aws.settings import Settings
    from autolabel.domain.users import Actor

    owner = Actor.workspace_owner()
    create_table(clients.dynamodb(region), "bench")
    clients.s3(region).create_bucket(Bucket="bench")
    url = clients.sqs(region).create_queue(QueueName="jobs")["QueueUrl"]
    world = bootstrap.aws_world(
        Settings(table="bench", bucket="bench", region=region, jobs_queue_url=url, cache_dir=Path("/tmp/bench-jobs"))
    )
    publish_shipped(world.backends, shipped_models_dir(), only={"efficientnet-lite0-imagenet"})
    calls: Counter[str] = Counter()
    backends = world.backends
    # Every request the world's clients make (deduplicated: adapters may share a client).
    world_clients = [
        backends.records.client,  # type: ignore[attr-defined]
        backends.jobs.table.client,  # type: ignore[attr-defined]
        backends.blobs.client,  # type: ignore[attr-defined]
        backends.queues.client,  # type: ignore[attr-defined]
        backends.job_launcher.client,  # type: ignore[attr-defined]
    ]
    for client in {id(c): c for c in world_clients}.values():
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    quiet = dataclasses.replace(backends, job_launcher=_Held())
    task = _seed(backends, count)
    report: dict[str, Any] = {"inputs": count}
    for kind, submit in (
        ("export", lambda: jobs.submit_export(quiet, owner, task.id, "coco")),
        ("version", lambda: jobs.submit_version(quiet, owner, task.id)),
        ("delete", lambda: jobs.submit_delete(quiet, owner, task.id)),
    ):
        report[kind] = _run(quiet, submit, calls)
    return report


class _Held(JobLauncher):
    def launch(self, job_id: str) -> None:
        """The bench runs the job itself, chunk by chunk."""


def _run(backends: Any, submit: Callable[[], Any], calls: Counter[str]) -> dict[str, Any]:
    from autolabel.app import jobs

    calls.clear()
    job = submit()
    submitted = sum(calls.values())
    calls.clear()
    chunks, started = 0, time.perf_counter()
    while not job.finished:
        job = jobs.run_job(backends, job.id, out_of_time=lambda: True)  # one chunk per call
        chunks += 1
    return {
        "submit_requests": submitted,
        "chunks": chunks,
        "requests": sum(calls.values()),
        "by_operation": dict(calls.most_common()),
        "seconds_under_moto": round(time.perf_counter() - started, 1),
        "state": job.state.value,
        "result": job.result,
    }


def _seed(backends: Any, count: int) -> Any:
    from autolabel.app import tasks
    from autolabel.app.runs.lifecycle import enqueue_review_items
    from autolabel.domain import ids
    from autolabel.domain.models import Box, Dataset, Input, InputKind, Prediction, Reviewer, Thresholds
    from autolabel.domain.routing import route_input
    from autolabel.domain.users import Actor
    from autolabel.ports import InputResult

    dataset = backends.records.put_dataset(Dataset(id=ids.dataset_id("bench"), name="bench"))
    inputs = [
        Input(
            id=ids.input_id(dataset.id, digest),
            dataset_id=dataset.id,
            kind=InputKind.IMAGE,
            blob_key=f"datasets/{dataset.id}/{digest}.png",
            source=f"{n}.png",
            sha256=digest,
            size_bytes=1,
            width=640,
            height=480,
        )
        for n in range(count)
        for digest in [hashlib.sha256(str(n).encode()).hexdigest()]
    ]
    backends.records.put_inputs(inputs)
    task = tasks.create_task(
        backends,
        Actor.workspace_owner(),
        name="bench",
        dataset="bench",
        model="efficientnet-lite0-imagenet",
        concepts=["tabby"],
        thresholds=Thresholds.of(upper=0.9, lower=0.4),
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )
    backends.records.add_task_inputs(task.id, [i.id for i in inputs])
    for start in range(0, count, 200):
        results = []
        for item in inputs[start : start + 200]:
            predictions = tuple(
                Prediction(
                    id=ids.prediction_id(task.id, item.id, k),
                    task_id=task.id,
                    input_id=item.id,
                    concept="tabby",
                    score=score,
                    geometry=Box(x=1, y=2, w=10, h=10),
                    model_id=task.model_id,
                    model_version=task.model_version,
                )
                for k, score in enumerate((0.5, 0.95))
            )
            results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
        created = backends.records.commit_batch(task, results)
        enqueue_review_items(backends, backends.records.get_task(task.id), created)
    return task


if __name__ == "__main__":
    main()
