"""A run killed at any point resumes into exactly the result of an uninterrupted run.

Real subprocesses, real signals: SIGKILL (no cleanup at all) and SIGINT (Ctrl-C), then a
final `autolabel task run` to completion, compared with a run that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from tests.conftest import SAMPLES

AUTOLABEL = [sys.executable, "-m", "autolabel.cli"]
IMAGES = 40


def make_images(folder: Path) -> None:
    """Distinct images (different bytes) built from the sample photos: crops and mirrors."""
    folder.mkdir(parents=True)
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".jpg", ".png"})
    for n in range(IMAGES):
        with Image.open(photos[n % len(photos)]) as source:
            image = ImageOps.exif_transpose(source).convert("RGB")
        if n // len(photos) % 2:
            image = ImageOps.mirror(image)
        crop = n // (2 * len(photos))
        width, height = image.size
        image = image.crop((crop * 7, crop * 5, width - crop * 3, height - crop * 4))
        image.save(folder / f"img{n:03d}.jpg", quality=90)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTOLABEL_HOME": str(home)}
    return subprocess.run([*AUTOLABEL, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def setup_workspace(home: Path, images: Path) -> None:
    assert cli(home, "dataset", "add", "photos", str(images)).returncode == 0
    created = cli(
        home,
        "task",
        "create",
        "--name",
        "t",
        "--dataset",
        "photos",
        "--model",
        "ssd-mobilenet-v2-coco",
        "--concepts",
        "person,cat,cup,motorcycle,bowl",
        "--upper",
        "0.7",
        "--lower",
        "0.3",
        "--reviewers",
        "alice,bob,carol",
        "--weights",
        "alice=2",
    )
    assert created.returncode == 0, created.stderr


def done_count(home: Path) -> int:
    try:
        with sqlite3.connect(home / "autolabel.sqlite3", timeout=5) as db:
            row = db.execute("SELECT COUNT(*) FROM task_inputs WHERE state != 'PENDING'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def interrupt_after(home: Path, minimum_done: int, sig: signal.Signals) -> int:
    env = {**os.environ, "AUTOLABEL_HOME": str(home)}
    process = subprocess.Popen(
        [*AUTOLABEL, "task", "run", "t", "--batch-size", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while done_count(home) < minimum_done and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, (
        f"run finished before it could be interrupted: {process.stderr.read() if process.stderr else ''}"
    )
    process.send_signal(sig)
    process.wait(timeout=60)
    return process.returncode


def outcome(home: Path) -> dict[str, object]:
    """Everything a run decides, keyed by content (task ids differ between workspaces)."""
    with sqlite3.connect(home / "autolabel.sqlite3") as db:
        source = dict(db.execute("SELECT id, json_extract(body, '$.source') FROM inputs").fetchall())
        annotations = sorted(
            (Path(source[input_id]).name, concept, status, labeler, round(score, 5), *geometry)
            for input_id, concept, status, labeler, score, *geometry in db.execute(
                "SELECT input_id, concept, status, labeler, score, geometry, x, y, w, h"
                " FROM labels WHERE status IS NOT NULL"
            )
        )
        items = sorted(
            (Path(source[input_id]).name, reviewer, sequence, state, enqueued, n)
            for input_id, reviewer, sequence, state, enqueued, n in db.execute(
                "SELECT input_id, reviewer, sequence, state, enqueued,"
                " json_array_length(json_extract(body, '$.prediction_ids')) FROM review_items"
            )
        )
        predictions = sorted(
            (Path(source[row[0]]).name, *row[1:])
            for row in db.execute(
                "SELECT input_id, band, p_concept, p_score, p_geometry, p_x, p_y, p_w, p_h FROM labels"
            )
        )
        states = sorted(db.execute("SELECT state, COUNT(*) FROM task_inputs GROUP BY state").fetchall())
        messages = sorted(
            db.execute("SELECT queue, COUNT(*) FROM queue_messages WHERE dead = 0 GROUP BY queue").fetchall()
        )
    return {
        "annotations": annotations,
        "items": items,
        "predictions": predictions,
        "states": states,
        "queue_sizes": [n for _, n in messages],
    }


@pytest.mark.slow
def test_killed_and_interrupted_runs_resume_to_the_same_result(tmp_path: Path) -> None:
    images = tmp_path / "images"
    make_images(images)

    reference = tmp_path / "reference"
    setup_workspace(reference, images)
    finished = cli(reference, "task", "run", "t", "--batch-size", "2")
    assert finished.returncode == 0, finished.stderr

    resumed = tmp_path / "resumed"
    setup_workspace(resumed, images)
    assert interrupt_after(resumed, 6, signal.SIGKILL) == -signal.SIGKILL
    after_kill = done_count(resumed)
    assert 6 <= after_kill < IMAGES
    code = interrupt_after(resumed, after_kill + 6, signal.SIGINT)
    assert code == 130
    assert done_count(resumed) < IMAGES
    final = cli(resumed, "task", "run", "t", "--batch-size", "2")
    assert final.returncode == 0, final.stderr

    expected = outcome(reference)
    assert expected["items"], "the photos must produce review items for the comparison to mean something"
    assert outcome(resumed) == expected
    status = cli(resumed, "task", "status", "t", "--json")
    assert '"status": "Complete"' in status.stdout
