"""Jobs on this machine: their records in the workspace's SQLite file, and a thread per job."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.jobs import Job, JobState
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.ports import JobLauncher, JobStore

log = logging.getLogger("autolabel.jobs")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL
);
"""


class SQLiteJobStore(JobStore):
    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database
        # Its own table, created if missing: a workspace from before jobs gains it on opening.
        database.connection().executescript(SCHEMA)

    def create_job(self, job: Job) -> None:
        with self.database.write() as db:
            try:
                db.execute(
                    "INSERT INTO jobs(id, task_id, revision, body) VALUES (?, ?, ?, ?)",
                    (job.id, job.task_id, job.revision, job.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"job {job.id} already exists", {"job_id": job.id}) from None

    def get_job(self, job_id: str) -> Job:
        row = self.database.read().execute("SELECT body FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"no job {job_id}", {"job_id": job_id})
        return Job.model_validate_json(row[0])

    def save_job(self, job: Job) -> None:
        with self.database.write() as db:
            changed = db.execute(
                "UPDATE jobs SET revision = ?, body = ? WHERE id = ? AND revision = ?",
                (job.revision, job.model_dump_json(), job.id, job.revision - 1),
            ).rowcount
        if changed == 0:
            self.get_job(job.id)  # NotFound for an unknown job
            raise Conflict(f"job {job.id} was saved by another worker", {"job_id": job.id})

    def unfinished_job_ids(self) -> list[str]:
        """Jobs queued or running: what a server that stopped left, for the next one to resume."""
        rows = self.database.read().execute(
            "SELECT id FROM jobs WHERE json_extract(body, '$.state') IN (?, ?) ORDER BY rowid",
            (JobState.QUEUED.value, JobState.RUNNING.value),
        )
        return [row[0] for row in rows]


class ThreadJobLauncher(JobLauncher):
    """Calls ``run(job_id)`` on a thread of its own; launching a job whose thread is still
    running is a no-op (that thread carries on with it)."""

    def __init__(self, run: Callable[[str], object]) -> None:
        self._run_job = run
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}

    def launch(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._running:
                return
            thread = threading.Thread(target=self._run, args=(job_id,), name=f"job-{job_id}", daemon=True)
            self._running[job_id] = thread
        thread.start()

    def _run(self, job_id: str) -> None:
        try:
            self._run_job(job_id)
        except Exception:
            log.exception("job %s stopped (its record says how far it got)", job_id)
        finally:
            with self._lock:
                self._running.pop(job_id, None)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every job in flight (tests, the CLI, shutdown)."""
        for thread in list(self._running.values()):
            thread.join(timeout)
