"""The whole flow through a real `autolabel serve` process on an ephemeral loopback port:
users from the CLI, dataset upload, task, a background run of the shipped detector on the
sample photos, both reviewers through their queues, a dataset version, COCO and YOLO exports."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autolabel.exports.writer import unzip_files
from tests.api.conftest import Served, autolabel_serve, download
from tests.conftest import SAMPLES

AUTOLABEL = [sys.executable, "-m", "autolabel.cli"]
PHOTOS = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".jpg", ".png"})


def cli(home: Path, *args: str) -> str:
    env = {**os.environ, "AUTOLABEL_HOME": str(home)}
    done = subprocess.run([*AUTOLABEL, *args], env=env, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def server(home: Path) -> Iterator[Served]:
    cli(home, "user", "list")  # creates the workspace before the server opens it
    with autolabel_serve(home) as served:
        yield served


@pytest.mark.slow
def test_full_flow_through_autolabel_serve(home: Path, server: Served) -> None:
    tokens = {}
    for name, role in (("root", "admin"), ("alice", "reviewer"), ("bob", "reviewer")):
        tokens[name] = cli(home, "user", "add", name, "--role", role).strip().splitlines()[-1]
    assert all(t.startswith("al_") for t in tokens.values())
    # Only the hash is stored.
    database = (home / "autolabel.sqlite3").read_bytes()
    assert all(t.encode() not in database for t in tokens.values())

    def call(method: str, path: str, body: object = None, user: str = "root", expect: int = 200) -> dict[str, Any]:
        reply = server.request(method, path, body, tokens[user])
        assert reply.status == expect, (method, path, reply)
        answer: dict[str, Any] = reply.body
        return answer

    def job(method: str, path: str, body: object = None) -> dict[str, Any]:
        """Start a job (202) and poll GET /jobs/{id} until it finished; it must succeed."""
        started = call(method, path, body, expect=202)
        deadline = time.monotonic() + 120
        while (polled := call("GET", f"/jobs/{started['id']}"))["state"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert polled["state"] == "succeeded", polled
        return polled

    assert server.request("GET", "/health").body == {"status": "ok"}
    assert server.request("GET", "/tasks").status == 401

    call("POST", "/datasets", {"name": "samples"}, expect=201)
    for photo in PHOTOS:
        upload = {"files": [{"filename": photo.name, "content_base64": base64.b64encode(photo.read_bytes()).decode()}]}
        call("POST", "/datasets/samples/inputs", upload, expect=201)
    task = call(
        "POST",
        "/tasks",
        {
            "name": "street",
            "dataset": "samples",
            "model": "ssd-mobilenet-v2-coco",
            "concepts": ["cat", "cup", "motorcycle", "person"],
            # On these photos the detector scores the two people ~0.71-0.73 and the cat ~0.92:
            # with these thresholds all three go to review, the cup and the motorcycle do not.
            "thresholds": {"upper": 0.9, "lower": 0.5},
            "concept_thresholds": {"cat": {"upper": 0.95, "lower": 0.5}},
            "reviewers": [{"name": "alice"}, {"name": "bob"}],
        },
        expect=201,
    )
    started = call("POST", f"/tasks/{task['id']}/runs", expect=202)
    assert started == {"task_id": task["id"], "status": "In progress"}
    again = server.request("POST", f"/tasks/{task['id']}/runs", None, tokens["root"])
    assert again.status == 409 and "already running" in again.body["message"]

    deadline = time.monotonic() + 180
    while (detail := call("GET", f"/tasks/{task['id']}"))["summary"]["status"] == "In progress":
        assert time.monotonic() < deadline, detail
        time.sleep(0.3)
    summary = detail["summary"]
    assert summary["status"] == "Complete" and summary["inputs_done"] == len(PHOTOS)
    assert summary["predictions_approved"] == 2 and summary["review_items"] == 3

    decided = 0
    chelsea_accepted = False
    for reviewer in ("alice", "bob"):
        while (view := call("POST", f"/tasks/{task['id']}/review/next", user=reviewer)["item"]) is not None:
            assert view["item"]["reviewer"] == reviewer
            kind = "accept" if view["item"]["sequence"] % 2 == 0 else "reject"
            call("POST", f"/review/items/{view['item']['id']}/{kind}", {}, user=reviewer)
            chelsea_accepted |= view["input"]["source"].startswith("chelsea") and kind == "accept"
            decided += 1
    summary = call("GET", f"/tasks/{task['id']}")["summary"]
    assert decided == summary["review_items"] == summary["review_items_decided"]
    assert summary["percent_reviewed"] == 100.0
    assert set(summary["labeled_by"]) <= {"ssd-mobilenet-v2-coco@3", "alice", "bob"}

    version = job("POST", f"/tasks/{task['id']}/versions")["result"]
    assert version["number"] == 1 and version["inputs"] >= 4

    coco = json.loads(download(job("POST", f"/tasks/{task['id']}/exports", {"format": "coco"})["result_url"]))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    chelsea = next(i for i in coco["images"] if i["file_name"].startswith("chelsea"))
    chelsea_labels = {names[a["category_id"]] for a in coco["annotations"] if a["image_id"] == chelsea["id"]}
    assert chelsea_labels == ({"cat"} if chelsea_accepted else set())
    assert len(coco["annotations"]) == version["annotations"]
    yolo = unzip_files(download(job("POST", f"/tasks/{task['id']}/exports", {"format": "yolo"})["result_url"]))
    assert "data.yaml" in yolo and sum(1 for k in yolo if k.startswith("labels/")) == len(PHOTOS)
