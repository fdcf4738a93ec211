"""Every API route costs the same number of AWS calls on a task of 10 inputs as on one of 10,000.

The real resolver (``create_app``, what the API Lambda runs) answers on the AWS adapters under
moto, identity from JWT claims as API Gateway passes them. Every botocore call any client makes
during a request is counted by service and operation. Two tasks are seeded alike through the
record store's own commit path (synthesized results, no inference): every input has one
approved and one flagged prediction, so each has a review item. Then the same requests run on
both tasks in the same order, and their call counts must be equal.

The routes come from the OpenAPI document, so a route added without an entry here fails.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any
from unittest import mock

import botocore.client
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.dynamodb.models import dynamodb_backends

from autolabel.api.app import create_app, openapi_json
from autolabel.api.auth import JwtClaimsAuthenticator
from autolabel.api.resolver import ThreadSafeHttpResolver
from autolabel.api.server import to_event
from autolabel.app import tasks
from autolabel.app.runs.lifecycle import enqueue_review_items
from autolabel.aws import clients
from autolabel.aws.executions import StepFunctionsRunLauncher
from autolabel.aws.records import DynamoRecordStore, counters
from autolabel.aws.records.codecs import Item, N, S, encode_predictions
from autolabel.aws.records.keys import annotation_item, key, review_item, task_pk, ti_sk
from autolabel.aws.records.table import Table
from autolabel.domain import ids, partition
from autolabel.domain.models import (
    Box,
    Dataset,
    DatasetVersion,
    Input,
    InputKind,
    InputState,
    Prediction,
    Reviewer,
    Task,
    Thresholds,
)
from autolabel.domain.routing import route_input
from autolabel.domain.users import Actor
from autolabel.ports import AnnotationQuery, Backends, InputResult
from tests.aws.conftest import CLASSIFIER, TABLE, Account, FakeContext
from tests.contract.adapters import REGION

SMALL, LARGE = 10, 10_000

# Heavy work is submitted as a job (202 + GET /jobs/{id}); what is counted here is the
# submission and the polling, which must not grow with the task (the job's own chunks are
# bounded per invocation, tests/aws/test_jobs.py).
JOB_ROUTES = {
    "POST /tasks/{task}/exports",
    "POST /tasks/{task}/versions",
    "DELETE /tasks/{task}",
    "POST /tasks/{task}/rethreshold",
    "POST /tasks/{task}/review/bulk-accept",
}


@dataclass
class Side:
    """One task and what the requests need to name on it."""

    label: str
    task_id: str
    dataset: str
    dataset_id: str
    inputs: list[str]
    alice_items: list[str]  # alice's review items, in sequence order
    flagged: dict[str, str]  # item id -> its flagged prediction
    found: dict[str, Any] = field(default_factory=dict)  # what earlier replies returned


@dataclass(frozen=True)
class Route:
    user: str
    path: Callable[[Side], str]
    body: Callable[[Side], Any] | None = None
    keep: Callable[[Side, Any], None] | None = None  # remember part of the reply for later routes


MODEL = "models/efficientnet-lite0-imagenet/model.onnx"
PNG = b"\x89PNG\r\n\x1a\n"


def classifier_spec(model_id: str) -> dict[str, Any]:
    from autolabel.app.models import shipped_models_dir

    folder = shipped_models_dir() / "efficientnet_lite0_imagenet"
    spec = json.loads((folder / "spec.json").read_text())
    spec["decoder"]["labels"] = json.loads((folder / spec.pop("labels_file")).read_text())
    return {**spec, "id": model_id}


def keep(name: str, pick: Callable[[Any], Any]) -> Callable[[Side, Any], None]:
    def remember(side: Side, body: Any) -> None:
        side.found[name] = pick(body)

    return remember


# In the order they run (the same on both tasks). Changes come late so reads see seeded state.
ROUTES: dict[str, Route] = {
    "GET /health": Route("root", lambda s: "/health"),
    "GET /me": Route("alice", lambda s: "/me"),
    "GET /datasets": Route("root", lambda s: "/datasets?limit=5"),
    "GET /datasets/{dataset}/inputs": Route("root", lambda s: f"/datasets/{s.dataset}/inputs?limit=5"),
    "GET /models": Route("alice", lambda s: "/models?limit=5"),
    "GET /tasks": Route("alice", lambda s: "/tasks?limit=5"),
    "GET /tasks/{task}": Route("root", lambda s: f"/tasks/{s.task_id}"),
    "GET /tasks/{task}/versions": Route("root", lambda s: f"/tasks/{s.task_id}/versions"),
    "GET /tasks/{task}/versions/{number}": Route("root", lambda s: f"/tasks/{s.task_id}/versions/1"),
    "GET /tasks/{task}/review/progress": Route("alice", lambda s: f"/tasks/{s.task_id}/review/progress"),
    "GET /tasks/{task}/review/items": Route(
        "alice", lambda s: f"/tasks/{s.task_id}/review/items?labeler={CLASSIFIER}@1&limit=3"
    ),
    "GET /annotations": Route(
        # A filter the index cannot apply (the concept), matching nothing: the worst case of a page.
        "root",
        lambda s: f"/annotations?task={s.task_id}&labeler={CLASSIFIER}@1&status=SUCCESS&concept=nothing&limit=5",
    ),
    "GET /review/items/{item_id}": Route("alice", lambda s: f"/review/items/{s.alice_items[0]}"),
    "GET /inputs/{input_id}/url": Route("alice", lambda s: f"/inputs/{s.inputs[0]}/url"),
    "GET /inputs/{input_id}/content": Route("alice", lambda s: f"/inputs/{s.inputs[0]}/content"),
    "POST /tasks/{task}/review/next": Route("alice", lambda s: f"/tasks/{s.task_id}/review/next"),
    "POST /review/items/{item_id}/accept": Route(
        "alice", lambda s: f"/review/items/{s.alice_items[0]}/accept", lambda s: {}
    ),
    "POST /review/items/{item_id}/reject": Route(
        "alice", lambda s: f"/review/items/{s.alice_items[1]}/reject", lambda s: {}
    ),
    "POST /review/items/{item_id}/edit": Route(
        "alice",
        lambda s: f"/review/items/{s.alice_items[2]}/edit",
        lambda s: {"edits": [{"prediction_id": s.flagged[s.alice_items[2]], "concept": "tabby"}]},
    ),
    "POST /datasets": Route("root", lambda s: "/datasets", lambda s: {"name": f"{s.label}-new"}),
    "POST /datasets/{dataset}/inputs": Route(
        "root",
        lambda s: f"/datasets/{s.dataset}/inputs",
        lambda s: {
            "files": [{"filename": "up.png", "content_base64": base64.b64encode(PNG + s.label.encode()).decode()}]
        },
    ),
    "POST /datasets/{dataset}/uploads": Route(
        "root",
        lambda s: f"/datasets/{s.dataset}/uploads",
        lambda s: {"filename": "big.png", "size_bytes": 30_000_000},
    ),
    "POST /datasets/{dataset}/inputs/register": Route(
        "root",
        lambda s: f"/datasets/{s.dataset}/inputs/register",
        lambda s: {"keys": [f"datasets/{s.dataset_id}/uploads/registered.png"]},
    ),
    "POST /models/uploads": Route("root", lambda s: "/models/uploads", lambda s: {"size_bytes": 20_000_000}),
    "POST /models": Route(
        "root", lambda s: "/models", lambda s: {"spec": classifier_spec(f"{s.label}-classifier"), "onnx_key": MODEL}
    ),
    "POST /tasks": Route(
        "root",
        lambda s: "/tasks",
        lambda s: {
            "name": f"{s.label}-extra",
            "dataset": s.dataset,
            "model": CLASSIFIER,
            "concepts": ["tabby"],
            "thresholds": {"upper": 0.9, "lower": 0.4},
            "reviewers": [{"name": "alice"}],
        },
    ),
    "PATCH /tasks/{task}": Route(
        "root",
        lambda s: f"/tasks/{s.task_id}",
        lambda s: {"reviewers": [{"name": "alice"}, {"name": "bob", "weight": 2}]},
    ),
    "POST /tasks/{task}/annotations": Route(
        "root",
        lambda s: f"/tasks/{s.task_id}/annotations",
        lambda s: {"input_ids": s.inputs[5:7], "concept": "tiger cat"},
        keep("added", lambda body: [(a["id"], a["input_id"]) for a in body["items"]]),
    ),
    "POST /tasks/{task}/annotations/delete": Route(
        "root",
        lambda s: f"/tasks/{s.task_id}/annotations/delete",
        lambda s: {
            "annotation_ids": [a for a, _ in s.found["added"]],
            "input_ids": [i for _, i in s.found["added"]],
        },
    ),
    "DELETE /datasets/{dataset}/inputs/{input_id}": Route(
        "root", lambda s: f"/datasets/{s.dataset}/inputs/{s.inputs[9]}"
    ),
    "POST /inputs/delete": Route("root", lambda s: "/inputs/delete", lambda s: {"input_ids": [s.inputs[8]]}),
    "POST /tasks/{task}/exports": Route(
        "root",
        lambda s: f"/tasks/{s.task_id}/exports",
        lambda s: {"format": "coco"},
        keep("export_job", lambda body: body["id"]),
    ),
    "GET /jobs/{job}": Route("root", lambda s: f"/jobs/{s.found['export_job']}"),
    "POST /tasks/{task}/versions": Route("root", lambda s: f"/tasks/{s.task_id}/versions"),
    "POST /tasks/{task}/rethreshold": Route(
        "root", lambda s: f"/tasks/{s.task_id}/rethreshold", lambda s: {"thresholds": {"upper": 0.95, "lower": 0.3}}
    ),
    "POST /tasks/{task}/review/bulk-accept": Route(
        "alice", lambda s: f"/tasks/{s.task_id}/review/bulk-accept", lambda s: {"min_score": 0.99}
    ),
    "POST /tasks/{task}/runs": Route("root", lambda s: f"/tasks/{s.task_id}/runs"),
    # One DLQ receive per reviewer queue when nothing is dead-lettered: the work follows the
    # dead letters and the reviewers, not the task.
    "POST /tasks/{task}/review/redrive": Route("root", lambda s: f"/tasks/{s.task_id}/review/redrive"),
    "DELETE /tasks/{task}": Route("root", lambda s: f"/tasks/{s.task_id}"),  # last: the task is Deleting after
}

CLAIMS = {
    "root": {"cognito:username": "root", "cognito:groups": "[admin]"},
    "alice": {"cognito:username": "alice", "cognito:groups": "[reviewer]"},
}


class CallCounter:
    """Counts every AWS API call any botocore client makes while ``counting``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.counting = False

    @contextmanager
    def patched(self) -> Iterator[None]:
        original = vars(botocore.client.BaseClient)["_make_api_call"]  # where every client's call passes

        def counted(client: Any, operation: str, params: Any) -> Any:
            if self.counting:
                self.calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
            return original(client, operation, params)

        with mock.patch.object(botocore.client.BaseClient, "_make_api_call", counted):
            yield

    def measure(self, call: Callable[[], Any]) -> tuple[Any, Counter[str]]:
        self.calls, self.counting = Counter(), True
        try:
            return call(), self.calls
        finally:
            self.counting = False


def request(app: ThreadSafeHttpResolver, user: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    data = b"" if body is None else json.dumps(body).encode()
    event = to_event(method, path, [("Content-Type", "application/json"), ("Host", "api.example")], data, "10.0.0.1")
    event["requestContext"]["authorizer"] = {"jwt": {"claims": CLAIMS[user], "scopes": None}}
    reply = app.resolve(event, FakeContext())  # type: ignore[arg-type]
    text = reply.get("body") or ""
    return int(reply["statusCode"]), json.loads(text) if text else None


def documented_routes(app: ThreadSafeHttpResolver) -> set[str]:
    document = json.loads(openapi_json(app))
    return {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}


def predictions_of(task: Task, input_id: str) -> tuple[Prediction, ...]:
    """Every input: one prediction in the approved band, one in the review band."""
    return tuple(
        Prediction(
            id=ids.prediction_id(task.id, input_id, n),
            task_id=task.id,
            input_id=input_id,
            concept=concept,
            score=score,
            geometry=Box(x=1, y=2, w=10, h=10),
            model_id=task.model_id,
            model_version=task.model_version,
        )
        for n, (concept, score) in enumerate((("tabby", 0.95), ("tiger cat", 0.5)))
    )


def recorded_items(task: Task, input_ids: list[str]) -> tuple[list[Item], dict[str, int]]:
    """The items a run's commit leaves in the table for these inputs — each task input DONE with
    its predictions and bands, its annotations and its review item — and the counter deltas it
    adds. Built with the adapter's own codecs and delta functions from the domain's routing and
    numbering; ``test_fast_seeding_writes_what_a_commit_writes`` holds them to what
    ``commit_batch`` really writes."""
    routed = [route_input(task, i, predictions_of(task, i)) for i in input_ids]
    numbered = {item.input_id: item for item in partition.number_review_items(task, routed, 0)}
    items: list[Item] = []
    deltas: dict[str, int] = {"inputs_done": len(input_ids)}
    for ordinal, (input_id, entry) in enumerate(zip(input_ids, routed, strict=True)):
        pairs = [(p, entry.bands[p.id]) for p in predictions_of(task, input_id)]
        task_input: Item = {
            **key(task_pk(task.id), ti_sk(input_id)),
            "ordinal": N(ordinal),
            "state": S(InputState.DONE.value),
            "preds": {"B": base64.b64encode(encode_predictions(pairs)).decode()},
        }
        for _prediction, band in pairs:
            counters.merge(deltas, {band.value: 1})
        item = numbered.get(input_id)
        if item is not None:
            task_input.update({"review_seq": N(item.sequence), "reviewer": S(item.reviewer)})
            items.append(review_item(item))
            counters.merge(deltas, counters.review_item_delta(item, 1))
        items.append(task_input)
        for annotation in entry.annotations:
            items.append(annotation_item(annotation))
            counters.merge(deltas, counters.annotation_delta(None, annotation))
    return items, deltas


def record_run(backends: Backends, task: Task, input_ids: list[str]) -> None:
    """Leave the table as a finished run of ``task`` over these inputs would (moto parses every
    update expression of a commit anew, 20 ms an input: minutes for 10,000)."""
    items, deltas = recorded_items(task, input_ids)
    moto_table = dynamodb_backends[ACCOUNT][REGION]
    for item in items:
        moto_table.put_item(TABLE, item)
    store = backends.records
    assert isinstance(store, DynamoRecordStore)
    table = Table(store.client, TABLE)  # the seeding admin's client
    seqs = {"review_seq": len(input_ids), "ti_seq": len(input_ids)}
    update = counters.counter_update(table, task.id, {**deltas, "inputs_total": len(input_ids)}, extra_set=seqs)
    table.client.update_item(**update["Update"])


def seed(backends: Backends, label: str, count: int) -> Side:
    """A dataset of ``count`` inputs and a task on it, recorded as a finished run leaves it.

    The dataset, the task and its queues go through the use cases and the store; the run's
    records straight into moto's table (``record_run``)."""
    records = backends.records
    dataset = records.put_dataset(Dataset(id=ids.dataset_id(label), name=label))
    inputs = [
        Input(
            id=ids.input_id(dataset.id, f"{n:064x}"),
            dataset_id=dataset.id,
            kind=InputKind.IMAGE,
            blob_key=f"datasets/{dataset.id}/{n}.png",
            source=f"{n}.png",
            sha256=f"{n:064x}",
            size_bytes=len(PNG),
        )
        for n in range(count)
    ]
    records.put_inputs(inputs)
    for chosen in inputs[:10]:  # the bytes of the inputs the requests look at
        backends.blobs.put(chosen.blob_key, PNG, "image/png")
    backends.blobs.put(f"datasets/{dataset.id}/uploads/registered.png", PNG + b"registered", "image/png")
    task = tasks.create_task(
        backends,
        Actor.workspace_owner(),
        name=f"{label}-task",
        dataset=dataset.id,
        model=CLASSIFIER,
        concepts=["tabby", "tiger cat"],
        thresholds=Thresholds(upper=0.9, lower=0.4),
        reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
    )
    record_run(backends, task, [i.id for i in inputs])
    alice = records.review_item_page(task.id, reviewer="alice", limit=4).items
    enqueue_review_items(backends, task, alice)  # what review/next will lease
    snapshot = json.dumps({"task": {"id": task.id}, "version": 1, "annotations": []}).encode()
    version = DatasetVersion(
        task_id=task.id,
        number=1,
        blob_key=f"versions/{task.id}/1.json",
        sha256="0" * 64,
        annotations=0,
        inputs=0,
        created_by="root",
    )
    records.create_dataset_version(version)
    backends.blobs.put(version.blob_key, snapshot, "application/json")
    return Side(
        label=label,
        task_id=task.id,
        dataset=label,
        dataset_id=dataset.id,
        inputs=[i.id for i in inputs[:10]],
        alice_items=[i.id for i in alice],
        flagged={i.id: i.prediction_ids[0] for i in alice},
    )


def test_fast_seeding_writes_what_a_commit_writes(account: Account) -> None:
    backends = account.world.backends
    seed(backends, "fast", 5)  # the dataset and its inputs
    input_ids = [ids.input_id(ids.dataset_id("fast"), f"{n:064x}") for n in range(5)]
    fast, real = (
        tasks.create_task(
            backends,
            Actor.workspace_owner(),
            name=name,
            dataset="fast",
            model=CLASSIFIER,
            concepts=["tabby", "tiger cat"],
            thresholds=Thresholds(upper=0.9, lower=0.4),
            reviewers=[Reviewer(name="alice"), Reviewer(name="bob")],
        )
        for name in ("fast-run", "real-run")
    )
    record_run(backends, fast, input_ids)
    backends.records.add_task_inputs(real.id, input_ids)
    results = [
        InputResult(i, predictions_of(real, i), route_input(real, i, predictions_of(real, i))) for i in input_ids
    ]
    backends.records.commit_batch(real, results)

    def shapes(task_id: str) -> Counter[str]:
        """Each item of the task as its kind and its attributes with their types."""
        found: Counter[str] = Counter()
        for stored in dynamodb_backends[ACCOUNT][REGION].get_table(TABLE).all_items():
            attributes = stored.to_json()["Attributes"]
            if task_id not in json.dumps(attributes, default=repr) or attributes["SK"]["S"] == "COUNTS":
                continue
            kind = attributes["PK"]["S"].split("#")[0] + "/" + attributes["SK"]["S"].split("#")[0]
            # The open-commit marker is the one attribute a finished commit leaves behind.
            typed = sorted(f"{name}:{next(iter(value))}" for name, value in attributes.items() if name != "commit")
            found[f"{kind} {typed}"] += 1
        return found

    def records_of(task_id: str) -> list[Any]:
        """What the store reads back, ids aside (they derive from the task's)."""
        records = backends.records
        return [
            sorted((p.concept, p.score) for p in records.predictions(task_id)),
            sorted((a.concept, a.status, a.score) for a in records.annotations(AnnotationQuery(task_id=task_id)).items),
            sorted((i.reviewer, i.sequence, i.state) for i in records.review_items(task_id)),
        ]

    assert shapes(fast.id) == shapes(real.id)
    assert records_of(fast.id) == records_of(real.id)
    assert backends.records.counts(fast.id) == backends.records.counts(real.id)


@contextmanager
def transactions_without_rollback_copies() -> Iterator[None]:
    """moto deep-copies the whole table before each item of a TransactWriteItems, to restore
    it if the transaction is cancelled: seconds per decision once the table holds 10,000
    inputs. Here no transaction may be cancelled (seeding writes new records; every route must
    answer below 400, and a cancelled transaction answers 409 or 404), so the copies are skipped."""
    import moto.dynamodb.models as models

    with mock.patch.object(models, "copy", SimpleNamespace(deepcopy=lambda value: value)):
        yield


@contextmanager
def queries_by_key() -> Iterator[None]:
    """moto answers a Query by sorting every item of the table and comparing each one's key
    (seconds per query at 40,000 items). The same query over only the items whose hash key
    matches gives the same answer; moto still sorts, pages and filters them itself."""
    from moto.dynamodb.models.table import Table as MotoTable

    original_query, original_all_items = MotoTable.query, MotoTable.all_items
    narrowed = threading.local()

    def matching(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any]:
        if not index_name:
            found = table.items.get(hash_key, {})
            return list(found.values()) if isinstance(found, dict) else [found]
        wanted = [(name, value.type, value.value) for name, value in conditions or []]
        return [
            item
            for by_range in table.items.values()
            for item in (by_range.values() if isinstance(by_range, dict) else [by_range])
            if all(
                (found := item.attrs.get(name)) is not None and (found.type, found.value) == (kind, value)
                for name, kind, value in wanted
            )
        ]

    def query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        narrowed.items = matching(table, hash_key, index_name, kwargs.get("hash_key_conditions"))
        try:
            return original_query(table, hash_key, *args, **kwargs)
        finally:
            narrowed.items = None

    def all_items(table: Any) -> Any:
        items = getattr(narrowed, "items", None)
        if items is None:
            return original_all_items(table)
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    with mock.patch.object(MotoTable, "query", query), mock.patch.object(MotoTable, "all_items", all_items):
        yield


def test_narrowed_queries_answer_as_moto_does(account: Account) -> None:
    backends = account.world.backends
    side = seed(backends, "check", 6)
    records = backends.records

    def answers() -> list[Any]:
        return [
            records.review_items(side.task_id),  # GSI2
            records.review_items(side.task_id, reviewer="alice"),  # GSI1
            records.predictions(side.task_id),  # the task's partition
            records.list_inputs(side.dataset_id, limit=4),
            records.annotations(AnnotationQuery(task_id=side.task_id, input_ids=side.inputs[:2])),
            records.list_tasks(),
        ]

    plain = answers()
    with queries_by_key():
        assert answers() == plain


# Serial (make test runs it after the parallel suite, in pytest's own process): in an xdist
# worker the same test takes ten times as long, nearly all of it system time.
@pytest.mark.serial
def test_every_route_costs_the_same_on_10_and_10000_inputs(account: Account) -> None:
    started = time.monotonic()
    machine = clients.stepfunctions(REGION, account.admin).create_state_machine(
        name="runs",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/runs",
    )["stateMachineArn"]
    backends = replace(
        account.world.backends, launcher=StepFunctionsRunLauncher(clients.stepfunctions(REGION, account.admin), machine)
    )
    app = create_app(backends, JwtClaimsAuthenticator())
    missing = documented_routes(app) - set(ROUTES)
    assert not missing, f"routes without an entry in ROUTES: {sorted(missing)}"
    assert not set(ROUTES) - documented_routes(app), "ROUTES names a route the API no longer has"
    assert set(ROUTES) >= JOB_ROUTES

    with transactions_without_rollback_copies(), queries_by_key():
        sides = [seed(backends, "small", SMALL), seed(backends, "large", LARGE)]
    seeded = time.monotonic()

    counter = CallCounter()
    measured: dict[str, list[tuple[int, Counter[str]]]] = {name: [] for name in ROUTES}
    with counter.patched(), transactions_without_rollback_copies(), queries_by_key():
        for side in sides:
            for name, route in ROUTES.items():
                method = name.split(" ", 1)[0]
                body = route.body(side) if route.body else None
                (status, reply), calls = counter.measure(
                    functools.partial(request, app, route.user, method, route.path(side), body)
                )
                assert status < 400, (side.label, name, reply)
                if route.keep:
                    route.keep(side, reply)
                measured[name].append((status, calls))
    finished = time.monotonic()

    print(f"\nseeded {SMALL} + {LARGE} inputs in {seeded - started:.1f} s, ran the routes in {finished - seeded:.1f} s")
    print(f"{'route':52} {'10':>5} {'10000':>6}  calls")
    for name, ((_, small), (_, large)) in measured.items():
        print(f"{name:52} {sum(small.values()):>5} {sum(large.values()):>6}  {dict(sorted(small.items()))}")
    unequal = {
        name: (dict(small), dict(large)) for name, ((_, small), (_, large)) in measured.items() if small != large
    }
    assert not unequal, f"routes whose AWS calls grow with the task: {json.dumps(unequal, indent=1)}"
    assert [status for status, _ in measured["GET /inputs/{input_id}/content"]] == [307, 307]
    for name in JOB_ROUTES:  # submitted, not done in the request
        assert [status for status, _ in measured[name]] == [202, 202], name
