"""Where a detector's time goes, stage by stage, on the throughput benchmark's images.

For the naive loop's setup (one image at a time, default session options) and the task run's
(batches of ``--batch`` on single-threaded sessions) it prints the milliseconds per image of:
decoding (Pillow), preparing (resize + layout), the session run, and post-processing; and, from
onnxruntime's own profiler, the graph nodes that take the most time.

Times are CPU seconds of the calling thread where the work is single-threaded, so they mean
something even on a shared machine; the naive session's run uses several threads, so its time
is wall time. Run: ``python -m bench.profile [--model DIR_NAME] [--images N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime as ort
from PIL import Image

from autolabel.app.models import shipped_models_dir
from autolabel.imaging.decode import decode_image
from autolabel.inference.processing import Prepared, prepare
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import ModelPackage, load_package
from bench.images import make_images
from bench.throughput import post_process

T = TypeVar("T")


def timed(clock: Callable[[], float], work: Callable[[], T]) -> tuple[T, float]:
    started = clock()
    result = work()
    return result, clock() - started


def node_times(session: ort.InferenceSession, top: int) -> list[tuple[str, str, float]]:
    """(node, op type, share of all node time) for the slowest nodes, from a profiled session."""
    events = json.loads(Path(session.end_profiling()).read_text())
    durations: collections.Counter[str] = collections.Counter()
    ops: dict[str, str] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            name = event["name"].removesuffix("_kernel_time")
            durations[name] += event["dur"]
            ops[name] = event["args"].get("op_name", "?")
    total = sum(durations.values()) or 1
    return [(name, ops[name], dur / total) for name, dur in durations.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ssd_mobilenet_v2_coco")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    model_dir = shipped_models_dir() / args.model
    package = load_package(model_dir)
    cpu = time.thread_time
    print(f"model {package.id} v{package.version}, {args.images} images, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), args.images)
        raw = [p.read_bytes() for p in paths]
        opened, naive_decode = timed(cpu, lambda: [Image.open(p).convert("RGB") for p in paths])
        _, autolabel_decode = timed(cpu, lambda: [decode_image(data) for data in raw])
    prepared, prepare_time = timed(cpu, lambda: [prepare(image, package.input) for image in opened])
    per_image = 1000 / args.images
    print(f"decode, Image.open + convert   {naive_decode * per_image:6.2f} ms/image (cpu)")
    print(f"decode, autolabel decode_image {autolabel_decode * per_image:6.2f} ms/image (cpu)")
    print(f"prepare (resize, layout)       {prepare_time * per_image:6.2f} ms/image (cpu)")

    for label, threads, batch, clock in (
        ("naive: batch 1, default threads (wall)", 0, 1, time.perf_counter),
        (f"task run: batch {args.batch}, 1 thread (cpu)", 1, args.batch, cpu),
    ):
        session = profiled_session(model_dir / package.file, threads)
        run_batches(session, package.input.name, prepared, batch)  # warm-up
        results, run_time = timed(clock, partial(run_batches, session, package.input.name, prepared, batch))
        names = [o.name for o in session.get_outputs()]
        boxes, post_time = timed(cpu, partial(post_process_all, package, names, results))
        print(f"\n{label}")
        print(f"  session run                  {run_time * per_image:6.2f} ms/image")
        print(f"  post-process                 {post_time * per_image:6.2f} ms/image (cpu), {boxes} boxes")
        for name, op, share in node_times(session, args.top):
            print(f"  {share * 100:5.1f}%  {op:<18} {name[:70]}")
    runner = ModelRunner(package, model_dir / package.file, 1)
    _, runner_time = timed(cpu, lambda: runner.run(prepared))
    print(f"\nModelRunner.run, batch {runner.batch_size}, 1 thread, run + post-process (cpu)")
    print(f"                               {runner_time * per_image:6.2f} ms/image")


def profiled_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.gettempdir()) / "autolabel-profile")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


Batches = list[tuple[list[Prepared], list[np.ndarray]]]


def run_batches(session: ort.InferenceSession, input_name: str, prepared: list[Prepared], batch: int) -> Batches:
    out = []
    for start in range(0, len(prepared), batch):
        chunk = prepared[start : start + batch]
        out.append((chunk, session.run(None, {input_name: np.stack([p.tensor for p in chunk])})))
    return out


def post_process_all(package: ModelPackage, names: list[str], results: Batches) -> int:
    boxes = 0
    for chunk, values in results:
        outputs = dict(zip(names, values, strict=True))
        for index, item in enumerate(chunk):
            boxes += len(post_process(package, outputs, index, item))
    return boxes


if __name__ == "__main__":
    main()
