"""Load benchmark of the review API: N simulated reviewers against a real `autolabel serve`.

Each reviewer loops next -> accept or reject over its own keep-alive connection for the
duration, then the benchmark checks the workspace: every review item decided exactly once (one
decision per 200 answer, by the item's own reviewer, its message gone from the queue) and none
lost (every undecided item still in its reviewer's queue). Loopback only.

    python -m bench.api_load [--duration 60] [--reviewers 50] [--items 12000] [--think-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autolabel import bootstrap
from autolabel.app import tasks, users
from autolabel.app.review import queue_of
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.domain import ids
from autolabel.domain.models import Box, Dataset, Input, InputKind, Prediction, Reviewer, ReviewState, Thresholds
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor, Role
from autolabel.ports import AnnotationQuery, InputResult

RESULTS = Path(__file__).resolve().parent / "results"
SEED_CHUNK = 1000


def seed(home: Path, reviewers: int, items: int) -> tuple[str, dict[str, str], str]:
    """A task whose `items` inputs each need review, spread over the reviewers as a run would."""
    backends = bootstrap.embedded(home)
    owner = Actor.workspace_owner()
    tokens = {f"r{n:02d}": users.add_user(backends, owner, f"r{n:02d}", Role.REVIEWER).token for n in range(reviewers)}
    dataset = backends.records.put_dataset(Dataset(id=ids.dataset_id("load"), name="load"))
    task = tasks.create_task(
        backends,
        owner,
        name="load",
        dataset="load",
        model="ssd-mobilenet-v2-coco",
        concepts=["cat"],
        thresholds=Thresholds.of(upper=0.9, lower=0.1),
        reviewers=[Reviewer(name=name) for name in tokens],
    )
    for start in range(0, items, SEED_CHUNK):
        inputs = []
        for n in range(start, min(items, start + SEED_CHUNK)):
            digest = hashlib.sha256(f"load-{n}".encode()).hexdigest()
            inputs.append(
                Input(
                    id=ids.input_id(dataset.id, digest),
                    dataset_id=dataset.id,
                    kind=InputKind.IMAGE,
                    blob_key=f"datasets/{dataset.id}/{digest}.jpg",
                    source=f"load{n}.jpg",
                    sha256=digest,
                    size_bytes=1,
                )
            )
        backends.records.put_inputs(inputs)
        backends.records.add_task_inputs(task.id, [i.id for i in inputs])
        results = []
        for item in inputs:
            prediction = Prediction(
                id=ids.prediction_id(task.id, item.id, 0),
                task_id=task.id,
                input_id=item.id,
                concept="cat",
                score=0.5,
                geometry=Box(x=1, y=1, w=10, h=10),
                model_id=task.model_id,
                model_version=task.model_version,
            )
            results.append(InputResult(item.id, (prediction,), route_input(task, item.id, (prediction,))))
        created = backends.records.commit_batch(task, results)
        enqueue_review_items(backends, task, created)
    return task.id, tokens, task.name


@dataclass
class ReviewerLog:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    decided: list[str] = field(default_factory=list)  # item ids this reviewer got a 200 for
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    exhausted: bool = False


class Connection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: one event loop drives every
    simulated reviewer, so the load generator's own thread scheduling does not pollute the
    latencies it measures (50 client threads fighting over a GIL would)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str) -> tuple[int, dict[str, Any]]:
        return await self.request("POST", path, b"{}")

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def reviewer_loop(
    port: int,
    task_id: str,
    connection: Connection,
    stop_at: float,
    think_s: float,
    log: ReviewerLog,
    rng: random.Random,
) -> None:

    async def call(kind: str, path: str) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        status, body = await connection.post(path)
        log.latencies[kind].append(time.perf_counter() - started)
        log.statuses[f"{kind} {status}"] += 1
        return status, body

    try:
        # Reviewers start at different moments, as people do; 50 identical first clicks in the
        # same millisecond would measure a burst nobody produces.
        await asyncio.sleep(rng.uniform(0, 2 * think_s))
        while time.perf_counter() < stop_at:
            status, body = await call("next", f"/tasks/{task_id}/review/next")
            if status != 200:
                log.errors.append(f"next {status} {body}")
                return
            if body["item"] is None:
                log.exhausted = True
                return
            item_id = body["item"]["item"]["id"]
            if think_s:
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))  # people do not act in lockstep
            kind = rng.choice(("accept", "reject"))
            status, body = await call(kind, f"/review/items/{item_id}/{kind}")
            if status == 200:
                log.decided.append(item_id)
            else:
                log.errors.append(f"{kind} {item_id} {status} {body}")
            if think_s:
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))  # people do not act in lockstep
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        log.errors.append(f"connection: {exc!r}")
    finally:
        await connection.close()


async def run_reviewers(
    port: int,
    task_id: str,
    tokens: dict[str, str],
    duration_s: float,
    think_s: float,
    logs: dict[str, ReviewerLog],
    seed_: int,
) -> float:
    """Warm up (each reviewer connects and makes one unmeasured request: a server thread and
    its SQLite connection per client are set up once, not in the first measured second), then
    run for ``duration_s``; returns the measured seconds."""
    connections = {name: Connection(port, token) for name, token in tokens.items()}
    warm = await asyncio.gather(*(c.request("GET", f"/tasks/{task_id}") for c in connections.values()))
    if any(status != 200 for status, _ in warm):
        raise SystemExit(f"warm-up failed: {[s for s, _ in warm]}")
    started = time.perf_counter()
    await asyncio.gather(
        *(
            reviewer_loop(port, task_id, connections[name], started + duration_s, think_s, logs[name],
                          random.Random(f"{seed_}{name}"))
            for name in tokens
        )
    )  # fmt: skip
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def verify(home: Path, task_id: str, logs: dict[str, ReviewerLog]) -> list[str]:
    """Every item decided exactly once, by its reviewer; none lost. Returns the problems."""
    backends = bootstrap.embedded(home)
    records, queues = backends.records, backends.queues
    problems: list[str] = []
    answered: Counter[str] = Counter(item for log in logs.values() for item in log.decided)
    twice = [item for item, n in answered.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} item(s) got two successful decisions: {twice[:5]}")
    items = records.review_items(task_id)
    decided = {i.id: i for i in items if i.state == ReviewState.DECIDED}
    if set(decided) != set(answered):
        problems.append(
            f"decided in the store {len(decided)} vs 200 answers {len(answered)}: "
            f"{len(set(decided) - set(answered))} unanswered, {len(set(answered) - set(decided))} unrecorded"
        )
    owners = {item: name for name, log in logs.items() for item in log.decided}
    wrong_owner = [i.id for i in decided.values() if i.decided_by != i.reviewer or owners.get(i.id) != i.reviewer]
    if wrong_owner:
        problems.append(f"{len(wrong_owner)} item(s) decided by someone else than their reviewer")
    labeled = Counter(
        a.input_id
        for a in records.annotations(AnnotationQuery(task_id=task_id, labelers=sorted(logs), limit=10**7)).items
    )
    by_input = {i.input_id: i for i in decided.values()}
    off = [i.id for i in by_input.values() if labeled.get(i.input_id, 0) != len(i.prediction_ids)]
    if off:
        problems.append(f"{len(off)} decided item(s) without exactly one decision's annotations")
    pending = [i for i in items if i.state == ReviewState.PENDING]
    task = records.get_task(task_id)
    depth = sum(queues.depth(queue_of(backends, task, name)) for name in logs)
    dead = sum(len(queues.dead_letters(queue_of(backends, task, name))) for name in logs)
    if depth != len(pending) or dead:
        problems.append(f"lost items: {len(pending)} undecided but {depth} queued and {dead} dead-lettered")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--items", type=int, default=12000, help="review items seeded before the run")
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause (±50%%) before and after each decision")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="write JSON to bench/results/api_load.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="autolabel-load-") as folder:
        home = Path(folder)
        started = time.perf_counter()
        task_id, tokens, _ = seed(home, args.reviewers, args.items)
        print(
            f"seeded {args.items} review items for {args.reviewers} reviewers in {time.perf_counter() - started:.1f}s"
        )
        env = {**os.environ, "AUTOLABEL_HOME": str(home), "COLUMNS": "200"}
        server = subprocess.Popen(
            [sys.executable, "-m", "autolabel.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            found = re.search(r"http://127\.0\.0\.1:(\d+)", server.stdout.readline())
            if not found:
                raise SystemExit("autolabel serve did not announce its address")
            port = int(found.group(1))
            logs = {name: ReviewerLog() for name in tokens}
            elapsed = asyncio.run(
                run_reviewers(port, task_id, tokens, args.duration, args.think_ms / 1000, logs, args.seed)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

        latencies = [x for log in logs.values() for values in log.latencies.values() for x in values]
        by_kind: dict[str, list[float]] = defaultdict(list)
        for log in logs.values():
            for kind, values in log.latencies.items():
                by_kind["decide" if kind != "next" else "next"].extend(values)
        statuses = sum((log.statuses for log in logs.values()), Counter())
        errors = [e for log in logs.values() for e in log.errors]
        decided = sum(len(log.decided) for log in logs.values())
        problems = verify(home, task_id, logs)

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1000, 2)

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "reviewers": args.reviewers,
        "duration_s": round(elapsed, 1),
        "think_ms": args.think_ms,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "decisions": decided,
        "latency_ms": {
            kind: {"p50": ms(values, 50), "p95": ms(values, 95), "p99": ms(values, 99), "max": ms(values, 100)}
            for kind, values in [("all", latencies), *sorted(by_kind.items())]
        },
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "statuses": dict(sorted(statuses.items())),
        "reviewers_out_of_items": sum(1 for log in logs.values() if log.exhausted),
        "errors": errors[:10],
        "problems": problems,
    }
    print(json.dumps(report, indent=2))
    overall = report["latency_ms"]["all"]
    print(
        f"\n{report['requests_per_s']} requests/s over {report['duration_s']} s, "
        f"p50 {overall['p50']} ms, p95 {overall['p95']} ms, p99 {overall['p99']} ms; "
        f"{decided} decisions, {'no lost or double decisions' if not problems else 'PROBLEMS: ' + '; '.join(problems)}"
    )
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "api_load.json").write_text(json.dumps(report, indent=2) + "\n")
    if problems or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
