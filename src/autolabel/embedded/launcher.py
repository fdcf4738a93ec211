"""Runs in the background on this machine: one thread per running task (``autolabel serve``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from autolabel.domain.errors import Conflict
from autolabel.ports import RunLauncher

log = logging.getLogger("autolabel.runs")


class ThreadRunLauncher(RunLauncher):
    """Calls ``run(task_id)`` on a thread of its own. A crash or a restart leaves the task In
    progress; starting it again resumes where it stopped (runs are resumable by design)."""

    def __init__(self, run: Callable[[str], object]) -> None:
        self._run_task = run
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}

    def launch(self, task_id: str, run: int) -> None:
        # One thread per task: while it lives, the task's run (whichever number) is in flight.
        with self._lock:
            if task_id in self._running:
                raise Conflict(f"task {task_id} is already running", {"task_id": task_id})
            thread = threading.Thread(target=self._run, args=(task_id,), name=f"run-{task_id}", daemon=True)
            self._running[task_id] = thread
        thread.start()

    def _run(self, task_id: str) -> None:
        try:
            self._run_task(task_id)
        except Exception:
            log.exception("run of task %s failed (its status says why)", task_id)
        finally:
            with self._lock:
                self._running.pop(task_id, None)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every run in flight (tests, shutdown)."""
        for thread in list(self._running.values()):
            thread.join(timeout)
