"""Task runs: decode -> model -> route -> record, in batches.

The same ``infer_batch`` serves the Lambda that infers one Distributed Map batch and the
embedded runner. The embedded runner adds the overlap: decode threads prepare the next batches
while the session runs the current one, and the main thread records batches strictly in order,
so the set of recorded inputs is always a prefix of the run. That is what makes a killed run
resume into exactly the result of an uninterrupted one: review sequence numbers, and so the
reviewer of every item, come out the same.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from autolabel.domain import ids
from autolabel.domain.errors import NotFound, ValidationError
from autolabel.domain.models import Input, InputKind, InputState, Prediction, ReviewItem, Task
from autolabel.domain.routing import route_input
from autolabel.imaging.decode import ImageDecodeError, decode_image, decode_image_at_least
from autolabel.inference.processing import Prepared, RawPrediction, prepare
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import ModelPackage
from autolabel.ports import BlobStore, InputResult, RecordStore, ReviewQueues, queue_name

ProgressCallback = Callable[[int, int], None]


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class RunOptions:
    batch_size: int = 8
    workers: int = field(default_factory=default_workers)
    prefetch_batches: int = 1
    intra_op_threads: int = 1


@dataclass
class RunReport:
    processed: int = 0
    failed: int = 0
    review_items: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def prepare_input(blobs: BlobStore, item: Input, package: ModelPackage) -> Prepared | str:
    """Read and prepare one input; a string is the reason it cannot be used."""
    if item.kind != InputKind.IMAGE:
        return f"model '{package.id}' takes images; this input is {item.kind.value}"
    needed = package.input.resize.source_size_needed()
    try:
        data = blobs.get(item.blob_key)
        if needed is None:
            image, full_size = decode_image(data), None
        else:
            image, full_size = decode_image_at_least(data, needed)
    except ImageDecodeError as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001 - one unreadable input must never sink its batch
        return f"cannot read input: {exc}"
    return prepare(image, package.input, full_size)


def to_predictions(task: Task, input_id: str, raw: Sequence[RawPrediction]) -> tuple[Prediction, ...]:
    """Keep the task's concepts; ids come from the model's output order, so a rerun matches."""
    wanted = set(task.concepts)
    return tuple(
        Prediction(
            id=ids.prediction_id(task.id, input_id, index),
            task_id=task.id,
            input_id=input_id,
            concept=p.concept,
            score=p.score,
            geometry=p.geometry,
            model_id=task.model_id,
            model_version=task.model_version,
        )
        for index, p in enumerate(raw)
        if p.concept in wanted
    )


def results_for(
    task: Task, inputs: Sequence[Input], prepared: Sequence[Prepared | str], runner: ModelRunner
) -> list[InputResult]:
    ready = [(item, p) for item, p in zip(inputs, prepared, strict=True) if isinstance(p, Prepared)]
    outputs = iter(runner.run([p for _, p in ready]))
    results: list[InputResult] = []
    for item, p in zip(inputs, prepared, strict=True):
        if isinstance(p, str):
            results.append(InputResult(item.id, failure=p))
            continue
        predictions = to_predictions(task, item.id, next(outputs))
        results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
    return results


def infer_batch(
    task: Task, inputs: Sequence[Input], blobs: BlobStore, package: ModelPackage, runner: ModelRunner
) -> list[InputResult]:
    """Decode, infer and route one batch sequentially (the Lambda's unit of work)."""
    return results_for(task, inputs, [prepare_input(blobs, i, package) for i in inputs], runner)


def enqueue_review_items(task: Task, items: Sequence[ReviewItem], records: RecordStore, queues: ReviewQueues) -> None:
    """Send items to their reviewers' queues, then mark them sent.

    Marking after sending means a crash in between re-sends on resume (at least once); the
    decision is conditional, so a duplicate message can never cause a second decision.
    """
    by_queue: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        by_queue.setdefault(queue_name(task.id, item.reviewer), []).append((item.id, item.id))
    for queue, messages in by_queue.items():
        try:
            queues.send(queue, messages)
        except NotFound:
            # Queues are created with the task; this heals a queue deleted by hand.
            queues.create(queue)
            queues.send(queue, messages)
    records.mark_enqueued([item.id for item in items])


class TaskRunner:
    """Runs a task on this machine.

    ``workers`` threads each decode a batch and run it through the shared session (onnxruntime
    releases the GIL and a session may run concurrently), so one batch's decoding overlaps
    another's inference. Whole batches in parallel, one intra-op thread each, keep every core
    busy through the parts of a run that do not split across threads (decoding, small graph
    ops, post-processing), which intra-op threads leave idle. The main thread records finished
    batches strictly in order.
    """

    def __init__(
        self,
        records: RecordStore,
        blobs: BlobStore,
        queues: ReviewQueues,
        package: ModelPackage,
        runner: ModelRunner,
        options: RunOptions | None = None,
    ) -> None:
        self.records = records
        self.blobs = blobs
        self.queues = queues
        self.package = package
        self.runner = runner
        self.options = options or RunOptions()

    def run(self, task: Task, progress: ProgressCallback | None = None) -> RunReport:
        started = time.perf_counter()
        self.records.add_task_inputs(task.id, self._dataset_input_ids(task))
        total = len(self.records.task_inputs(task.id))
        if total == 0:
            raise ValidationError("the task's dataset has no inputs; add some with `autolabel dataset add`")
        # Items recorded by a run that died before sending them.
        unsent = [i for i in self.records.review_items(task.id) if not i.enqueued]
        if unsent:
            enqueue_review_items(task, unsent, self.records, self.queues)
        pending = self.records.task_inputs(task.id, state=InputState.PENDING)
        done = total - len(pending)
        report = RunReport()
        if progress:
            progress(done, total)
        waited = 0.0
        for future in self._batches(task, pending):
            t0 = time.perf_counter()
            results = future.result()
            waited += time.perf_counter() - t0
            created = self.records.commit_batch(task, results)
            if created:
                enqueue_review_items(task, created, self.records, self.queues)
            report.processed += len(results)
            report.failed += sum(1 for r in results if r.failure is not None)
            report.review_items += len(created)
            done += len(results)
            if progress:
                progress(done, total)
        report.seconds = time.perf_counter() - started
        report.timings = {"waiting_for_workers": waited, "recording": report.seconds - waited}
        return report

    def _dataset_input_ids(self, task: Task) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            page = self.records.list_inputs(task.dataset_id, cursor=cursor, limit=1000)
            found.extend(i.id for i in page.items)
            cursor = page.cursor
            if cursor is None:
                return found

    def _work(self, task: Task, input_ids: Sequence[str]) -> list[InputResult]:
        inputs = [self.records.get_input(i) for i in input_ids]
        return infer_batch(task, inputs, self.blobs, self.package, self.runner)

    def _batches(self, task: Task, pending: Sequence[str]) -> Iterator[Future[list[InputResult]]]:
        """Futures of batch results in batch order, with a bounded window in flight."""
        size = self.options.batch_size
        batches = [list(pending[i : i + size]) for i in range(0, len(pending), size)]
        window_size = self.options.workers + self.options.prefetch_batches
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="infer") as pool:
            window: deque[Future[list[InputResult]]] = deque()
            try:
                for batch in batches:
                    window.append(pool.submit(self._work, task, batch))
                    if len(window) >= window_size:
                        yield window.popleft()
                while window:
                    yield window.popleft()
            finally:
                for future in window:
                    future.cancel()
