"""Routing + storing synthetic predictions: how fast the core turns model output into
annotations, review items and queue messages (target >= 20,000 predictions/s)."""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autolabel import bootstrap
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.domain import ids
from autolabel.domain.models import Box, Dataset, Input, InputKind, Prediction, Reviewer, Task, Thresholds
from autolabel.domain.routing import route_input
from autolabel.ports import InputResult

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=5000)
    parser.add_argument("--per-input", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="route in N threads (0: inline)")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        backends = bootstrap.embedded(Path(tmp) / "home")
        records = backends.records
        dataset = records.put_dataset(Dataset(id=ids.dataset_id("synthetic"), name="synthetic"))
        inputs = [
            Input(
                id=ids.input_id(dataset.id, str(n)),
                dataset_id=dataset.id,
                kind=InputKind.IMAGE,
                blob_key=f"datasets/x/{n}.jpg",
                sha256=str(n),
                size_bytes=1,
            )
            for n in range(args.inputs)
        ]
        records.put_inputs(inputs)
        concepts = [f"c{i}" for i in range(10)]
        task = Task(
            id=ids.new_id("task"),
            name="synthetic",
            dataset_id=dataset.id,
            model_id="m",
            model_version="1",
            concepts=concepts,
            thresholds=Thresholds(upper=0.8, lower=0.4),
            reviewers=[Reviewer(name="alice"), Reviewer(name="bob", weight=2)],
        )
        records.create_task(task)
        records.add_task_inputs(task.id, [i.id for i in inputs])
        raw = [
            [(rng.choice(concepts), rng.random(), rng.random() * 100) for _ in range(args.per_input)] for _ in inputs
        ]
        # The model's output is the benchmark's input: predictions are built before the clock starts.
        predictions_of = [
            tuple(
                Prediction(
                    id=ids.prediction_id(task.id, item.id, k),
                    task_id=task.id,
                    input_id=item.id,
                    concept=c,
                    score=s,
                    geometry=Box(x=x, y=x, w=10, h=10),
                    model_id="m",
                    model_version="1",
                )
                for k, (c, s, x) in enumerate(preds)
            )
            for item, preds in zip(inputs, raw, strict=True)
        ]
        total = sum(len(p) for p in predictions_of)
        batches = [
            (inputs[i : i + args.batch], predictions_of[i : i + args.batch]) for i in range(0, len(inputs), args.batch)
        ]

        def route(batch: tuple[list[Input], list[tuple[Prediction, ...]]]) -> list[InputResult]:
            return [
                InputResult(item.id, preds, route_input(task, item.id, preds))
                for item, preds in zip(*batch, strict=True)
            ]

        # The product's structure: workers route (Python) while the main thread records (SQLite,
        # which releases the GIL), in batch order.
        started, cpu_started = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max(1, args.threads)) as pool:
            routed = pool.map(route, batches) if args.threads else map(route, batches)
            for results in routed:
                created = records.commit_batch(task, results)
                enqueue_review_items(backends, task, created)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        counts = records.counts(task.id)
    rate = total / elapsed
    # CPU seconds of this process alongside: on a shared machine the wall clock also counts
    # the time other processes held the cores, which the load average shows.
    load = os.getloadavg()[0]
    print(
        f"routed and stored {total} predictions of {args.inputs} inputs in {elapsed:.2f}s: {rate:,.0f} predictions/s "
        f"(target >= 20,000); {counts.review_items} review items queued; {cpu:.2f} CPU s; load average {load:.1f}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "routing.json").write_text(
        json.dumps(
            {
                "predictions": total,
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "predictions_per_s": rate,
                "load_average_1min": load,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
