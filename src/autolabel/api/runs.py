"""Starting a task run in the background: a thread here, a Step Functions execution on AWS."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from autolabel.domain.errors import Conflict
from autolabel.domain.users import Actor
from autolabel.pipeline import RunOptions
from autolabel.service import Autolabel

log = logging.getLogger("autolabel.api.runs")


class RunLauncher(Protocol):
    def launch(self, actor: Actor, task_id: str) -> None:
        """Start the run and return at once; raise Conflict if the task is already running."""


class ThreadRunLauncher:
    """One background thread per running task. A crash or a restart leaves the task In
    progress; starting it again resumes where it stopped (runs are resumable by design)."""

    def __init__(self, service: Autolabel, options: RunOptions | None = None) -> None:
        self.service = service
        self.options = options
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}

    def launch(self, actor: Actor, task_id: str) -> None:
        with self._lock:
            if task_id in self._running:
                raise Conflict(f"task {task_id} is already running", {"task_id": task_id})
            thread = threading.Thread(target=self._run, args=(actor, task_id), name=f"run-{task_id}", daemon=True)
            self._running[task_id] = thread
        thread.start()

    def _run(self, actor: Actor, task_id: str) -> None:
        try:
            self.service.run_task(actor, task_id, options=self.options)
        except Exception:
            log.exception("run of task %s failed (its status says why)", task_id)
        finally:
            with self._lock:
                self._running.pop(task_id, None)

    def running(self) -> set[str]:
        with self._lock:
            return set(self._running)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every run in flight (tests, shutdown)."""
        for thread in list(self._running.values()):
            thread.join(timeout)
