"""Bad input of every kind the issue lists: each a clear 4xx in the API's error shape, and
nothing written (the whole database and blob store are compared before and after)."""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest

from autolabel.api.resolver import MAX_BODY_BYTES
from autolabel.app.input_manager import every_annotation
from autolabel.ports import AnnotationQuery
from tests.api.conftest import Served, World, seed_task, snapshot

TASK_BODY: dict[str, Any] = {
    "name": "new-task",
    "dataset": "photos",
    "model": "ssd-mobilenet-v2-coco",
    "concepts": ["cat"],
    "thresholds": {"upper": 0.9, "lower": 0.4},
    "reviewers": [{"name": "alice"}],
}


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**TASK_BODY, **changes}


CASES: list[tuple[str, str, str, Any, int, str]] = [
    # (case, method, path, body — bytes are sent raw, expected status, expected error code)
    ("malformed json", "POST", "/tasks", b'{"name": "x",', 400, "malformed_json"),
    ("not utf-8", "POST", "/datasets", b"\xff\xfe\x00", 400, "malformed_json"),
    ("json but not an object", "POST", "/datasets", b"[1, 2]", 422, "validation_error"),
    ("wrong type", "POST", "/datasets", {"name": 7}, 422, "validation_error"),
    ("number as string", "POST", "/tasks", with_changes(thresholds={"upper": "0.9", "lower": 0.4}), 422,
     "validation_error"),
    ("list expected", "POST", "/tasks", with_changes(reviewers="alice"), 422, "validation_error"),
    ("bool as string", "POST", "/tasks", with_changes(auto_annotate="yes"), 422, "validation_error"),
    ("unknown field", "POST", "/tasks", with_changes(reviewer=["alice"]), 422, "validation_error"),
    ("unknown nested field", "POST", "/tasks", with_changes(thresholds={"upper": 0.9, "lower": 0.4, "mid": 0.6}),
     422, "validation_error"),
    ("missing field", "POST", "/tasks", {k: v for k, v in TASK_BODY.items() if k != "model"}, 422,
     "validation_error"),
    ("thresholds out of order", "POST", "/tasks", with_changes(thresholds={"upper": 0.3, "lower": 0.6}), 422,
     "validation_error"),
    ("threshold above 1", "POST", "/tasks", with_changes(thresholds={"upper": 1.5, "lower": 0.6}), 422,
     "validation_error"),
    ("per-concept thresholds out of order", "POST", "/tasks",
     with_changes(concept_thresholds={"cat": {"upper": 0.2, "lower": 0.5}}), 422, "validation_error"),
    ("thresholds for a concept not chosen", "POST", "/tasks",
     with_changes(concept_thresholds={"dog": {"upper": 0.8, "lower": 0.5}}), 422, "validation_error"),
    ("unknown concept", "POST", "/tasks", with_changes(concepts=["motorbike"]), 422, "validation_error"),
    ("unknown model", "POST", "/tasks", with_changes(model="yolo-v99"), 404, "not_found"),
    ("unknown dataset", "POST", "/tasks", with_changes(dataset="nope"), 404, "not_found"),
    ("duplicate reviewers", "POST", "/tasks", with_changes(reviewers=[{"name": "a"}, {"name": "a"}]), 422,
     "validation_error"),
    ("bad reviewer name", "POST", "/tasks", with_changes(reviewers=[{"name": "../alice"}]), 422, "validation_error"),
    ("zero weight", "POST", "/tasks", with_changes(reviewers=[{"name": "alice", "weight": 0}]), 422,
     "validation_error"),
    ("taken task name", "POST", "/tasks", with_changes(name="t"), 409, "conflict"),
    ("rethreshold out of order", "POST", "/tasks/t/rethreshold", {"thresholds": {"upper": 0.2, "lower": 0.8}}, 422,
     "validation_error"),
    ("rethreshold foreign concept", "POST", "/tasks/t/rethreshold",
     {"concept_thresholds": {"person": {"upper": 0.8, "lower": 0.2}}}, 422, "validation_error"),
    ("empty update", "PATCH", "/tasks/t", {}, 422, "validation_error"),
    ("update to duplicate reviewers", "PATCH", "/tasks/t", {"reviewers": [{"name": "x"}, {"name": "x"}]}, 422,
     "validation_error"),
    ("path traversal in a key", "POST", "/datasets/photos/inputs/register", {"keys": ["../../etc/passwd.png"]}, 422,
     "invalid_key"),
    ("absolute key", "POST", "/datasets/photos/inputs/register", {"keys": ["/etc/passwd.png"]}, 422, "invalid_key"),
    ("dot segment in a key", "POST", "/datasets/photos/inputs/register", {"keys": ["a/./b.png"]}, 422,
     "invalid_key"),
    ("backslash key", "POST", "/datasets/photos/inputs/register", {"keys": ["a\\..\\b.png"]}, 422, "invalid_key"),
    ("key of autolabel's own files", "POST", "/datasets/photos/inputs/register",
     {"keys": ["models/x/model.png"]}, 422, "validation_error"),
    ("missing key", "POST", "/datasets/photos/inputs/register", {"keys": ["incoming/none.png"]}, 404, "not_found"),
    ("upload name with a path", "POST", "/datasets/photos/inputs",
     {"files": [{"filename": "../x.png", "content_base64": "iVBORw0KGgo="}]}, 422, "validation_error"),
    ("upload of a non-image", "POST", "/datasets/photos/inputs",
     {"files": [{"filename": "x.exe", "content_base64": "iVBORw0KGgo="}]}, 422, "validation_error"),
    ("upload of bad base64", "POST", "/datasets/photos/inputs",
     {"files": [{"filename": "x.png", "content_base64": "not base64!"}]}, 422, "validation_error"),
    ("upload to a missing dataset", "POST", "/datasets/nope/inputs",
     {"files": [{"filename": "x.png", "content_base64": "iVBORw0KGgo="}]}, 404, "not_found"),
    ("limit out of range", "GET", "/datasets?limit=0", None, 422, "validation_error"),
    ("limit not a number", "GET", "/datasets/photos/inputs?limit=ten", None, 422, "validation_error"),
    ("forged cursor", "GET", "/datasets/photos/inputs?cursor=1%20OR%201", None, 422, "validation_error"),
    ("unknown export format", "POST", "/tasks/t/exports", {"format": "voc"}, 422, "validation_error"),
    ("unknown status filter", "GET", "/annotations?status=DONE", None, 422, "validation_error"),
    ("unknown match", "GET", "/annotations?match=some", None, 422, "validation_error"),
    ("score out of range", "POST", "/tasks/t/review/bulk-accept", {"min_score": 2}, 422, "validation_error"),
    ("version that does not exist", "GET", "/tasks/t/versions/7", None, 404, "not_found"),
    ("version number not a number", "GET", "/tasks/t/versions/first", None, 422, "validation_error"),
    ("model without concepts", "POST", "/models",
     {"spec": {"id": "empty", "version": "1", "kind": "detector",
               "input": {"name": "x", "layout": "NHWC", "dtype": "uint8", "resize": {"mode": "none"}},
               "decoder": {"type": "tf-detection", "boxes": "b", "scores": "s", "classes": "c", "count": "n",
                           "class_names": {}}},
      "onnx_base64": base64.b64encode(b"not onnx").decode()}, 422, "validation_error"),
    ("model that is not ONNX", "POST", "/models",
     {"spec": {"id": "broken", "version": "1", "kind": "classifier",
               "input": {"name": "x", "layout": "NHWC", "dtype": "uint8", "resize": {"mode": "none"}},
               "decoder": {"type": "classifier", "output": "y", "labels": ["a"]}},
      "onnx_base64": base64.b64encode(b"not onnx").decode()}, 422, "validation_error"),
    ("model spec of the wrong shape", "POST", "/models", {"spec": {"id": 3}, "onnx_base64": "AAAA"}, 422,
     "validation_error"),
    ("model with two sources", "POST", "/models", {"spec": {}, "onnx_base64": "AAAA", "onnx_key": "a.onnx"}, 422,
     "validation_error"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    world: World, method: str, path: str, body: Any, status: int, code: str
) -> None:
    seed_task(world)
    before = snapshot(world)
    root = world.client("root")
    reply = root.request(method, path, raw=body) if isinstance(body, bytes) else root.request(method, path, body)
    assert reply.status == status, reply
    assert set(reply.body) == {"error", "message", "details"}
    assert reply.body["error"] == code and reply.body["message"]
    assert snapshot(world) == before


def test_messages_say_what_to_fix(world: World) -> None:
    seed_task(world)
    root = world.client("root")
    assert "did you mean: motorcycle" in root.post("/tasks", with_changes(concepts=["motorbike"])).body["message"]
    assert (
        "lower <= upper" in root.post("/tasks", with_changes(thresholds={"upper": 0.3, "lower": 0.6})).body["message"]
    )
    assert "outputs no concepts" in root.post("/models", CASES_BY_NAME["model without concepts"]).body["message"]
    assert "Extra inputs" in root.post("/tasks", with_changes(reviewer=["alice"])).body["message"]


CASES_BY_NAME = {c[0]: c[3] for c in CASES}


def test_ids_of_other_tasks_are_refused(world: World) -> None:
    task, items = seed_task(world, "mine", reviewers=("alice",))
    other, other_items = seed_task(world, "other", reviewers=("alice",), dataset="elsewhere")
    before = snapshot(world)
    alice, root = world.client("alice"), world.client("root")
    foreign_prediction = other_items[0].prediction_ids[0]
    for reply in (
        # A prediction of another task's item, named in a decision on this task's item.
        alice.post(f"/review/items/{items[0].id}/accept", {"prediction_ids": [foreign_prediction]}),
        alice.post(
            f"/review/items/{items[0].id}/edit", {"edits": [{"prediction_id": foreign_prediction, "concept": "dog"}]}
        ),
        # Inputs of another task's dataset.
        root.post(f"/tasks/{task.id}/annotations", {"input_ids": [other_items[0].input_id], "concept": "cat"}),
    ):
        assert reply.status == 422, reply
    foreign_annotation = every_annotation(world.backends, AnnotationQuery(task_id=other.id))
    reply = root.post(
        f"/tasks/{task.id}/annotations/delete",
        {"annotation_ids": [foreign_annotation[0].id], "input_ids": [foreign_annotation[0].input_id]},
    )
    assert reply.status == 404, reply
    reply = root.delete(f"/datasets/photos/inputs/{other_items[0].input_id}")
    assert reply.status == 404, reply
    assert snapshot(world) == before


def test_an_oversized_body_is_413_before_it_is_read(world: World, served: Served) -> None:
    before = snapshot(world)
    # Only the headers are sent: the server must answer from Content-Length alone.
    head = raw_exchange(
        served,
        b"POST /datasets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {world.tokens['root']}\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(),
    )
    assert head.startswith("HTTP/1.1 413"), head
    assert '"error": "payload_too_large"' in head
    assert snapshot(world) == before


def test_an_oversized_body_is_413_on_the_lambda_path_too(world: World) -> None:
    before = snapshot(world)
    blob = base64.b64encode(b"\x00" * (MAX_BODY_BYTES + 16)).decode()
    body = {"files": [{"filename": "big.png", "content_base64": blob}]}
    reply = world.client("root").post("/datasets/photos/inputs", body)
    assert reply.status == 413 and reply.body["error"] == "payload_too_large"
    assert snapshot(world) == before


def test_an_unknown_route_is_a_json_404(world: World) -> None:
    reply = world.client("root").get("/nothing/here")
    assert reply.status == 404 and reply.body["error"] == "not_found"


def raw_exchange(served: Served, request: bytes) -> str:
    with socket.create_connection((served.host, served.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received.decode(errors="replace")


def test_a_chunked_body_is_refused_not_misread(world: World, served: Served) -> None:
    before = snapshot(world)
    answer = raw_exchange(
        served,
        b"POST /datasets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"Authorization: Bearer {world.tokens['root']}\r\nContent-Type: application/json\r\n\r\n".encode()
        + b'11\r\n{"name": "sneak"}\r\n0\r\n\r\n',
    )
    assert answer.startswith("HTTP/1.1 411") and '"length_required"' in answer
    assert snapshot(world) == before


def test_a_bad_content_length_is_400(world: World, served: Served) -> None:
    answer = raw_exchange(served, b"POST /datasets HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    assert answer.startswith("HTTP/1.1 400") and '"bad_request"' in answer
