"""A disk that fills during `dataset add` and `task run`: the command stops with "disk full",
nothing is half-written, the task is Failed with that reason (not left In progress), and once
there is space a rerun ends exactly like a run that never failed.

Two ways to fill the disk: a real, small tmpfs where the machine lets the tests mount one
(root), and everywhere a fault injected into SQLite (``PRAGMA max_page_count``, which makes
it fail exactly as on a full disk: SQLITE_FULL)."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autolabel import bootstrap
from autolabel.app import datasets, tasks
from autolabel.app.input_manager import every_annotation
from autolabel.app.runs.local import RunOptions, run_task
from autolabel.domain.errors import DiskFull
from autolabel.domain.models import Reviewer, TaskStatus, Thresholds
from autolabel.domain.users import Actor
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.ports import AnnotationQuery, Backends
from tests.conftest import SAMPLES
from tests.robustness.conftest import CliRun

OWNER = Actor.workspace_owner()
REVIEWERS = [Reviewer(name="alice"), Reviewer(name="bob")]
TASK = ("task", "create", "--name", "t", "--dataset", "photos", "--model", "ssd-mobilenet-v2-coco",
        "--concepts", "cat,cup,person,bowl,tie", "--upper", "0.7", "--lower", "0.3",
        "--reviewers", "alice,bob")  # fmt: skip


def outcome(backends: Backends) -> dict[str, Any]:
    """Everything a run decided, without timestamps: the comparison of two runs."""
    task = tasks.get_task(backends, OWNER, "t")
    annotations = every_annotation(backends, AnnotationQuery(task_id=task.id))
    summary = tasks.summary(backends, OWNER, "t").model_dump(exclude={"task_id"})
    return {
        "summary": summary,
        "annotations": sorted(
            (
                a.input_id,
                a.concept,
                round(a.score or 0, 4),
                a.status.value,
                a.geometry.model_dump_json(round_trip=True)[:60],
            )
            for a in annotations
        ),
        "review": sorted((i.input_id, i.sequence, i.reviewer) for i in backends.records.review_items(task.id)),
    }


def reference(tmp_path: Path, cli: CliRun) -> dict[str, Any]:
    """A run on a disk with room to spare."""
    home = tmp_path / "reference"
    env = {"AUTOLABEL_HOME": str(home)}
    assert cli("dataset", "add", "photos", str(SAMPLES), env=env).code == 0
    assert cli(*TASK, env=env).code == 0
    assert cli("task", "run", "t", "--batch-size", "2", env=env).code == 0
    return outcome(bootstrap.embedded(home))


# --------------------------------------------------------------------------- fault injection


def limit_pages(backends: Backends, extra_pages: int | None) -> None:
    """Let the database grow by ``extra_pages`` at most (None: no limit) — on this thread's
    connection, which is the one that records a local run's batches."""
    records = backends.records
    assert isinstance(records, SQLiteRecordStore)
    connection = records.database.connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + extra_pages if extra_pages is not None else 2**30}")


@pytest.mark.parametrize("extra_pages", [0, 2], ids=["full before the first batch", "full after a few batches"])
def test_task_run_on_a_full_disk_fails_resumably(tmp_path: Path, cli: CliRun, home: Path, extra_pages: int) -> None:
    backends = bootstrap.embedded(home)
    datasets.add_files(backends, OWNER, "photos", [SAMPLES])
    tasks.create_task(backends, OWNER, name="t", dataset="photos", model="ssd-mobilenet-v2-coco",
                      concepts=["cat", "cup", "person", "bowl", "tie"], thresholds=Thresholds.of(0.7, 0.3),
                      concept_thresholds={}, reviewers=REVIEWERS)  # fmt: skip
    limit_pages(backends, extra_pages)
    with pytest.raises(DiskFull, match="disk full"):
        run_task(backends, OWNER, "t", options=RunOptions(batch_size=2))
    summary = tasks.summary(backends, OWNER, "t")
    assert summary.status == TaskStatus.FAILED and "disk full" in (summary.failure_reason or "")
    assert (summary.inputs_done > 0) == (extra_pages > 0), summary  # failed at the start, or midway
    assert summary.inputs_failed == 0  # nothing blamed on the inputs: they stay pending
    limit_pages(backends, None)
    run_task(backends, OWNER, "t", options=RunOptions(batch_size=2))
    assert tasks.summary(backends, OWNER, "t").status == TaskStatus.COMPLETE

    clean = bootstrap.embedded(tmp_path / "clean")
    datasets.add_files(clean, OWNER, "photos", [SAMPLES])
    tasks.create_task(clean, OWNER, name="t", dataset="photos", model="ssd-mobilenet-v2-coco",
                      concepts=["cat", "cup", "person", "bowl", "tie"], thresholds=Thresholds.of(0.7, 0.3),
                      concept_thresholds={}, reviewers=REVIEWERS)  # fmt: skip
    run_task(clean, OWNER, "t", options=RunOptions(batch_size=2))
    assert outcome(backends) == outcome(clean)


# --------------------------------------------------------------------------- a real full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs, where the machine allows mounting one."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); the fault-injection cases run")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk with one file; returns it (delete it to make room)."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_dataset_add_on_a_full_disk_leaves_nothing(small_disk: Path, cli: CliRun) -> None:
    env = {"AUTOLABEL_HOME": str(small_disk / "home")}
    assert cli("user", "add", "root", "--role", "admin", env=env).code == 0
    fill(small_disk)
    cli("dataset", "add", "photos", str(SAMPLES), env=env).one_line_error("disk full")
    assert json.loads(cli("dataset", "list", "--json", env=env).out) == []
    assert list((small_disk / "home" / "blobs").rglob("*.*")) == []


def test_task_run_on_a_full_disk_stops_and_resumes_to_the_same_result(
    small_disk: Path, tmp_path: Path, cli: CliRun
) -> None:
    env = {"AUTOLABEL_HOME": str(small_disk / "home")}
    assert cli("dataset", "add", "photos", str(SAMPLES), env=env).code == 0
    assert cli(*TASK, env=env).code == 0
    filler = fill(small_disk)
    cli("task", "run", "t", "--batch-size", "2", env=env).one_line_error("disk full")
    status = json.loads(cli("task", "status", "t", "--json", env=env).out)
    assert status["status"] == "Failed" and "disk full" in status["failure_reason"]
    filler.unlink()
    assert cli("task", "run", "t", "--batch-size", "2", env=env).code == 0
    assert outcome(bootstrap.embedded(small_disk / "home")) == reference(tmp_path, cli)
