"""Authentication on every route but /health, and the core's authorization rules: admins
manage, reviewers see and decide only their own partition."""

from __future__ import annotations

import json
import re
import sys
import threading

import pytest

from autolabel.api.openapi import openapi_document
from autolabel.app import datasets, jobs
from autolabel.app.input_manager import every_annotation
from autolabel.domain.models import ReviewState
from autolabel.domain.users import Role
from autolabel.ports import AnnotationQuery
from tests.api.conftest import Client, World, seed_task, snapshot


def all_operations() -> list[tuple[str, str]]:
    """Every (method, path) the API documents, from the document the resolver generates."""
    document = json.loads(openapi_document())
    return sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    )


OPERATIONS = all_operations()
PROTECTED = [op for op in OPERATIONS if op[1] != "/health"]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_api_has_every_area() -> None:
    paths = {path for _, path in OPERATIONS}
    for expected in ("/datasets", "/models", "/tasks", "/tasks/{task}/review/next", "/annotations", "/health"):
        assert expected in paths
    assert len(PROTECTED) >= 25


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_every_route_but_health_needs_a_known_token(world: World, method: str, path: str) -> None:
    before = snapshot(world)
    for token, message in ((None, "missing bearer token"), ("al_forged", "unknown or revoked token")):
        # A body that would not even validate: authentication must come first.
        reply = Client(world.app, token).request(method, concrete(path), raw=b"{not json")
        assert reply.status == 401, reply
        assert reply.body["error"] == "unauthorized" and message in reply.body["message"]
    reply = Client(world.app).request(method, concrete(path), headers={"Authorization": "Basic cm9vdDpyb290"})
    assert reply.status == 401
    assert snapshot(world) == before


def test_health_needs_no_token(world: World) -> None:
    assert world.client(None).get("/health") == world.client("root").get("/health")
    assert world.client(None).get("/health").body == {"status": "ok"}


def test_a_removed_user_is_locked_out_at_once(world: World) -> None:
    assert world.client("eve").get("/models").status == 200
    world.users.delete_user("eve")
    assert world.client("eve").get("/models").status == 401


ADMIN_ONLY = [
    ("POST", "/datasets", {"name": "new"}),
    ("GET", "/datasets", None),
    ("POST", "/datasets/photos/inputs", {"files": [{"filename": "a.png", "content_base64": "iVBORw0KGgo="}]}),
    ("POST", "/datasets/photos/inputs/register", {"keys": ["incoming/a.png"]}),
    ("GET", "/datasets/photos/inputs", None),
    ("DELETE", "/datasets/photos/inputs/INPUT", None),
    ("POST", "/models", {"spec": {}, "onnx_base64": "AAAA"}),
    (
        "POST",
        "/tasks",
        {
            "name": "mine",
            "dataset": "photos",
            "model": "ssd-mobilenet-v2-coco",
            "concepts": ["cat"],
            "thresholds": {"upper": 0.9, "lower": 0.4},
            "reviewers": [{"name": "alice"}],
        },
    ),
    ("PATCH", "/tasks/t", {"name": "renamed"}),
    ("PATCH", "/tasks/t", {"reviewers": [{"name": "alice"}]}),
    ("DELETE", "/tasks/t", None),
    ("POST", "/tasks/t/runs", None),
    ("POST", "/tasks/t/rethreshold", {"thresholds": {"upper": 0.5, "lower": 0.1}}),
    ("POST", "/tasks/t/versions", None),
    ("GET", "/tasks/t/versions", None),
    ("GET", "/tasks/t/versions/1", None),
    ("POST", "/tasks/t/exports", {"format": "coco"}),
    ("GET", "/annotations?task=t", None),
    ("POST", "/tasks/t/annotations", {"input_ids": ["INPUT"], "concept": "cat"}),
    ("POST", "/tasks/t/annotations/delete", {"annotation_ids": ["ANNOTATION"], "input_ids": ["INPUT"]}),
    ("POST", "/inputs/delete", {"input_ids": ["INPUT"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_reviewers_may_not_manage(world: World, method: str, path: str, body: object) -> None:
    task, items = seed_task(world)
    root = world.users.get_user("root").actor()
    jobs.wait_until_finished(world.backends, jobs.submit_version(world.backends, root, task.id).id)
    annotation = every_annotation(world.backends, AnnotationQuery(task_id=task.id))[0]
    concrete_path = path.replace("INPUT", items[0].input_id)
    concrete_body = json.loads(
        json.dumps(body).replace("INPUT", items[0].input_id).replace("ANNOTATION", annotation.id)
    )
    before = snapshot(world)
    # alice reviews task t, and still may not change it.
    reply = world.client("alice").request(method, concrete_path, concrete_body)
    assert reply.status == 403, reply
    assert reply.body["error"] == "forbidden" and "only admins" in reply.body["message"]
    assert snapshot(world) == before


def test_reviewers_see_only_the_tasks_they_review(world: World) -> None:
    mine, _ = seed_task(world, "mine", reviewers=("alice",))
    seed_task(world, "theirs", reviewers=("bob",), dataset="other")
    alice = world.client("alice")
    assert [t["name"] for t in alice.get("/tasks").body["items"]] == ["mine"]
    assert alice.get(f"/tasks/{mine.id}").status == 200
    reply = alice.get("/tasks/theirs")
    assert reply.status == 403 and "not a reviewer of task 'theirs'" in reply.body["message"]
    assert sorted(t["name"] for t in world.client("root").get("/tasks").body["items"]) == ["mine", "theirs"]


def test_a_reviewer_not_on_the_task_gets_nothing(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice", "bob"))
    before = snapshot(world)
    eve = world.client("eve")
    for reply in (
        eve.post(f"/tasks/{task.id}/review/next"),
        eve.post(f"/tasks/{task.id}/review/bulk-accept", {"min_score": 0.0}),
        eve.get(f"/tasks/{task.id}/review/items?labeler=alice"),
        eve.get(f"/review/items/{items[0].id}"),
        eve.post(f"/review/items/{items[0].id}/accept"),
    ):
        assert reply.status == 403, reply
    assert snapshot(world) == before


def test_a_reviewer_cannot_touch_another_reviewers_item(world: World) -> None:
    _, items = seed_task(world, reviewers=("alice", "bob"))
    bobs = next(i for i in items if i.reviewer == "bob")
    flagged = bobs.prediction_ids[0]
    before = snapshot(world)
    alice = world.client("alice")
    for reply in (
        alice.get(f"/review/items/{bobs.id}"),
        alice.post(f"/review/items/{bobs.id}/accept"),
        alice.post(f"/review/items/{bobs.id}/reject", {"prediction_ids": [flagged]}),
        alice.post(f"/review/items/{bobs.id}/edit", {"edits": [{"prediction_id": flagged, "concept": "dog"}]}),
    ):
        assert reply.status == 403, reply
        assert "another reviewer's partition" in reply.body["message"]
    assert snapshot(world) == before
    assert world.backends.records.get_review_item(bobs.id).state == ReviewState.PENDING
    # Admins may look at any item, but a decision is the item's reviewer's alone.
    assert world.client("root").get(f"/review/items/{bobs.id}").status == 200
    assert world.client("root").post(f"/review/items/{bobs.id}/accept").status == 403
    assert world.client("bob").post(f"/review/items/{bobs.id}/accept").status == 200


def test_review_next_never_hands_out_another_reviewers_items(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice", "bob"))
    for name in ("alice", "bob"):
        seen = []
        while (reply := world.client(name).post(f"/tasks/{task.id}/review/next")).body["item"] is not None:
            item = reply.body["item"]["item"]
            seen.append(item["id"])
            assert world.client(name).post(f"/review/items/{item['id']}/accept").status == 200
        assert sorted(seen) == sorted(i.id for i in items if i.reviewer == name)


def test_concurrent_requests_keep_their_own_caller(world: World) -> None:
    """The resolver keeps each request's event and caller per thread: under concurrency, every
    caller gets their own answer (a reviewer never sees an admin's view or another's)."""
    seed_task(world, "alices", reviewers=("alice",))
    seed_task(world, "bobs", reviewers=("bob",), dataset="other")
    expected = {"alice": ["alices"], "bob": ["bobs"], "root": ["alices", "bobs"]}
    wrong: list[str] = []
    barrier = threading.Barrier(12)

    def call(name: str) -> None:
        client = world.client(name)
        barrier.wait()
        for _ in range(15):
            names = sorted(t["name"] for t in client.get("/tasks").body["items"])
            if names != expected[name]:
                wrong.append(f"{name} saw {names}")

    threads = [threading.Thread(target=call, args=(name,)) for name in ["alice", "bob", "root"] * 4]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up at once
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_user_roles_are_checked_in_the_core_not_only_the_transport(world: World) -> None:
    from autolabel.domain.errors import Forbidden

    alice = world.users.get_user("alice").actor()
    assert alice.role == Role.REVIEWER
    with pytest.raises(Forbidden):
        datasets.create_dataset(world.backends, alice, "sneaky")
    with pytest.raises(Forbidden):
        datasets.delete_inputs(world.backends, alice, ["in_x"])


def test_every_route_is_ready_before_the_first_request(world: World) -> None:
    """Powertools builds a route's middleware stack on its first request by wrapping it in
    place, which two racing first requests would do twice. The app builds them all up front."""
    routes = [*world.app._static_routes, *world.app._dynamic_routes]
    assert len(routes) == len(OPERATIONS)
    assert all(route._middleware_stack_built for route in routes)
