"""API test helpers: an in-process client that sends HTTP API v2 events to the resolver (the
Lambda's path), a real `autolabel serve` server on an ephemeral loopback port, and a way to
seed review items without running a model."""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autolabel import bootstrap
from autolabel.api.app import create_app
from autolabel.api.resolver import ThreadSafeHttpResolver
from autolabel.api.server import ApiServer, make_handler, to_event
from autolabel.app import users
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.domain import ids
from autolabel.domain.models import Box, Dataset, Input, InputKind, Prediction, ReviewItem, Task
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor, Role
from autolabel.embedded.launcher import ThreadRunLauncher
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.ports import Backends, InputResult, UserStore


@dataclass
class Reply:
    status: int
    body: Any

    def __repr__(self) -> str:
        return f"Reply({self.status}, {json.dumps(self.body)[:400]})"


class Client:
    """Calls the resolver with the event `autolabel serve` builds, as the Lambda would get it."""

    def __init__(self, app: ThreadSafeHttpResolver, token: str | None = None) -> None:
        self.app = app
        self.token = token

    def as_user(self, token: str | None) -> Client:
        return Client(self.app, token)

    def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        # No Lambda here, so no LambdaContext: None is passed (hence the ignore).
        response = self.app.resolve(to_event(method, path, list(sent.items()), data, "127.0.0.1"), None)  # type: ignore[arg-type]
        text = response.get("body") or ""
        return Reply(response["statusCode"], json.loads(text) if text else None)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Reply:
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Reply:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Reply:
        return self.request("DELETE", path)

    def finished(self, reply: Reply, timeout_s: float = 60.0) -> dict[str, Any]:
        """The job a 202 reply started, polled through ``GET /jobs/{id}`` until it finished."""
        assert reply.status == 202, reply
        assert reply.body["state"] in ("queued", "running", "succeeded", "failed"), reply
        deadline = time.monotonic() + timeout_s
        while True:
            polled = self.get(f"/jobs/{reply.body['id']}")
            assert polled.status == 200, polled
            if polled.body["state"] in ("succeeded", "failed"):
                job: dict[str, Any] = polled.body
                return job
            assert time.monotonic() < deadline, f"job still {polled.body['state']} after {timeout_s}s"
            time.sleep(0.02)


def download(url: str, world: World | None = None) -> bytes:
    """A job's result by its URL: over HTTP from a running server or S3, or — for an in-process
    ``world``, which no server answers — the signed workspace link checked and read as
    `autolabel serve` would."""
    import urllib.parse
    import urllib.request

    from autolabel.app import transfers
    from autolabel.ports import BLOB_PATH

    if world is not None:
        link = urllib.parse.urlsplit(url)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(link.query).items()}
        key = urllib.parse.unquote(link.path[len(BLOB_PATH) :])
        return transfers.read_signed(world.backends, key, query["expires"], query["sig"]).read_bytes()
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


@dataclass
class World:
    backends: Backends
    app: ThreadSafeHttpResolver
    launcher: ThreadRunLauncher
    home: Path
    tokens: dict[str, str]

    def client(self, user: str | None) -> Client:
        return Client(self.app, self.tokens[user] if user else None)

    @property
    def users(self) -> UserStore:
        """The workspace's user store (the embedded backends always have one)."""
        assert self.backends.users is not None
        return self.backends.users


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    backends = bootstrap.embedded(tmp_path / "home")
    assert isinstance(backends.launcher, ThreadRunLauncher)
    launcher = backends.launcher
    app = create_app(backends)
    tokens = {}
    for name, role in (("root", Role.ADMIN), ("alice", Role.REVIEWER), ("bob", Role.REVIEWER), ("eve", Role.REVIEWER)):
        tokens[name] = users.add_user(backends, Actor.workspace_owner(), name, role).token
    yield World(backends, app, launcher, tmp_path / "home", tokens)
    launcher.wait(60)


@functools.cache
def blank_png(width: int = 640, height: int = 480) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def add_inputs(world: World, dataset: str, prefix: str, count: int) -> list[Input]:
    """Input records, each over a blank 640×480 PNG (shapes people draw are fitted to its size)."""
    data = world.backends.records.put_dataset(Dataset(id=ids.dataset_id(dataset), name=dataset))
    inputs = []
    for n in range(count):
        digest = hashlib.sha256(f"{prefix}-{n}".encode()).hexdigest()
        inputs.append(
            Input(
                id=ids.input_id(data.id, digest),
                dataset_id=data.id,
                kind=InputKind.IMAGE,
                blob_key=f"datasets/{data.id}/{digest}.png",
                source=f"{prefix}{n}.png",
                sha256=digest,
                size_bytes=1,
                width=640,
                height=480,
            )
        )
    for item in inputs:
        world.backends.blobs.put(item.blob_key, blank_png(), "image/png")
    world.backends.records.put_inputs(inputs)
    return inputs


def record_run(world: World, task: Task, inputs: list[Input], scores: list[list[float]]) -> list[ReviewItem]:
    """Record 'cat' predictions with these scores exactly as a run records a batch (routing,
    sequence numbers, reviewers, queues); returns the review items created."""
    backends = world.backends
    backends.records.add_task_inputs(task.id, [i.id for i in inputs])
    results = []
    for item, input_scores in zip(inputs, scores, strict=True):
        predictions = tuple(
            Prediction(
                id=ids.prediction_id(task.id, item.id, k),
                task_id=task.id,
                input_id=item.id,
                concept="cat",
                score=score,
                geometry=Box(x=1 + k, y=2, w=10, h=10),
                model_id=task.model_id,
                model_version=task.model_version,
            )
            for k, score in enumerate(input_scores)
        )
        results.append(InputResult(item.id, predictions, route_input(task, item.id, predictions)))
    created = backends.records.commit_batch(task, results)
    enqueue_review_items(backends, backends.records.get_task(task.id), created)
    return created


def seed_task(
    world: World,
    name: str = "t",
    reviewers: tuple[str, ...] = ("alice", "bob"),
    scores: list[list[float]] | None = None,
    dataset: str = "photos",
) -> tuple[Task, list[ReviewItem]]:
    """A task created over HTTP whose inputs were 'run' with these prediction scores (one list
    per input; thresholds 0.9 / 0.4); returns the task and its review items."""
    scores = scores if scores is not None else [[0.5], [0.6, 0.95], [0.7], [0.55], [0.65], [0.99]]
    inputs = add_inputs(world, dataset, name, len(scores))
    reply = world.client("root").post(
        "/tasks",
        {
            "name": name,
            "dataset": dataset,
            "model": "ssd-mobilenet-v2-coco",
            "concepts": ["cat", "dog"],
            "thresholds": {"upper": 0.9, "lower": 0.4},
            "reviewers": [{"name": r} for r in reviewers],
        },
    )
    assert reply.status == 201, reply
    task = world.backends.records.get_task(reply.body["id"])
    return task, record_run(world, task, inputs, scores)


def snapshot(world: World) -> str:
    """A digest of every row in the workspace database and every blob: 'nothing written' checks."""
    records = world.backends.records
    assert isinstance(records, SQLiteRecordStore)
    db = records.database.read()
    digest = hashlib.sha256()
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            digest.update(repr(tuple(row)).encode())
    for key in world.backends.blobs.list():
        digest.update(key.encode())
    return digest.hexdigest()


@dataclass
class Served:
    host: str
    port: int

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read()
        connection.close()
        return Reply(response.status, json.loads(text) if text else None)


@pytest.fixture
def served(world: World) -> Iterator[Served]:
    """The `autolabel serve` server class on an ephemeral loopback port, in this process."""
    server = ApiServer(("127.0.0.1", 0), make_handler(world.app, backends=world.backends))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


@contextmanager
def autolabel_serve(home: Path) -> Iterator[Served]:
    """A real `autolabel serve` process on an ephemeral loopback port, on the workspace ``home``."""
    env = {**os.environ, "AUTOLABEL_HOME": str(home), "COLUMNS": "200"}
    log = home / "serve.log"  # a file, not a pipe: a chatty server must never block on a full pipe
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "autolabel.cli", "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert found, f"no address announced: {line!r} {log.read_text()}"
            yield Served("127.0.0.1", int(found.group(1)))
        finally:
            process.terminate()
            process.wait(timeout=30)
