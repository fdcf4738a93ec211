"""A run on this machine: the lifecycle's steps in one process, with a worker pool.

``workers`` threads each decode a batch and run it through the shared session (onnxruntime
releases the GIL and a session may run concurrently), so one batch's decoding overlaps another's
inference. Whole batches in parallel, one intra-op thread each, keep every core busy through the
parts of a run that do not split across threads (decoding, small graph ops, post-processing),
which intra-op threads leave idle. The calling thread records finished batches strictly in
order, so the set of recorded inputs is always a prefix of the run: a killed run resumes into
exactly the result of an uninterrupted one (review sequence numbers, and so every item's
reviewer, come out the same).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from autolabel.app.runs import lifecycle
from autolabel.app.runs.inference import BatchInference
from autolabel.domain.errors import NotFound, RunFailed, ValidationError, WorkspaceUnavailable
from autolabel.domain.models import Task
from autolabel.domain.users import Actor
from autolabel.ports import Backends, InputResult

ProgressCallback = Callable[[int, int], None]


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class RunOptions:
    batch_size: int = 8
    workers: int = field(default_factory=default_workers)
    prefetch_batches: int = 1
    intra_op_threads: int = 1


class RunReport(BaseModel):
    processed: int = 0
    failed: int = 0
    review_items: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict)


def run_task(
    backends: Backends,
    actor: Actor,
    name: str,
    progress: ProgressCallback | None = None,
    options: RunOptions | None = None,
) -> RunReport:
    """``autolabel task run``: run the task here and now, resuming where an earlier run stopped."""
    task = lifecycle.check_runnable(backends, actor, name)
    return run_to_end(backends, task.id, progress, options)


def run_to_end(
    backends: Backends, task_id: str, progress: ProgressCallback | None = None, options: RunOptions | None = None
) -> RunReport:
    """Start, process every pending batch, finalize. A run stopped by an error is marked Failed
    with its reason and resumes when run again; Ctrl-C leaves it In progress, also resumable."""
    try:
        return _run(backends, task_id, progress, options or RunOptions())
    except (KeyboardInterrupt, SystemExit):
        raise
    except (ValidationError, WorkspaceUnavailable) as exc:
        # Bad input, or the workspace itself (a full disk, a lock held too long): the message
        # already says what to do. The batch being recorded was rolled back, so it stays pending.
        _mark_failed(backends, task_id, exc.message)
        raise
    except NotFound:
        raise  # the task was deleted while it ran: nothing left to mark
    except Exception as exc:
        # Anything else (a model onnxruntime cannot load) fails the task with its reason;
        # recorded batches stay, and the next run resumes once it is fixed.
        reason = f"{type(exc).__name__}: {exc}"
        _mark_failed(backends, task_id, reason)
        name = backends.records.get_task(task_id).name
        raise RunFailed(f"task '{name}' failed: {reason}") from exc


def _mark_failed(backends: Backends, task_id: str, reason: str) -> None:
    """Failed with the reason. The embedded database keeps space in reserve for this write when
    the disk fills; should it fail all the same, the error that stopped the run is the one to
    report, and the task, still In progress, resumes with `task run` like an interrupted one."""
    with contextlib.suppress(WorkspaceUnavailable):
        lifecycle.stop_failed(backends, task_id, reason)


def _run(backends: Backends, task_id: str, progress: ProgressCallback | None, options: RunOptions) -> RunReport:
    started = time.perf_counter()
    plan = lifecycle.start(backends, task_id)
    task = backends.records.get_task(task_id)
    inference = BatchInference(backends, options.intra_op_threads)
    inference.model(task)  # a model that cannot load fails the run before any batch
    done = plan.total - len(plan.pending)
    report = RunReport()
    if progress:
        progress(done, plan.total)
    waited = 0.0
    for future in _batches(backends, inference, task, plan.pending, options):
        t0 = time.perf_counter()
        results = future.result()
        waited += time.perf_counter() - t0
        outcome = lifecycle.record_batch(backends, task, results)
        report.processed += outcome.processed
        report.failed += outcome.failed
        report.review_items += outcome.review_items
        done += outcome.processed
        if progress:
            progress(done, plan.total)
    lifecycle.finalize(backends, task_id)
    report.seconds = time.perf_counter() - started
    report.timings = {"waiting_for_workers": waited, "recording": report.seconds - waited}
    return report


def _batches(
    backends: Backends, inference: BatchInference, task: Task, pending: Sequence[str], options: RunOptions
) -> Iterator[Future[list[InputResult]]]:
    """Futures of batch results in batch order, with a bounded window in flight."""

    size = options.batch_size
    batches = [list(pending[i : i + size]) for i in range(0, len(pending), size)]
    window_size = options.workers + options.prefetch_batches
    with ThreadPoolExecutor(options.workers, thread_name_prefix="infer") as pool:
        window: deque[Future[list[InputResult]]] = deque()
        try:
            for batch in batches:
                window.append(pool.submit(lifecycle.infer_inputs, backends, inference, task, batch))
                if len(window) >= window_size:
                    yield window.popleft()
            while window:
                yield window.popleft()
        finally:
            for future in window:
                future.cancel()
