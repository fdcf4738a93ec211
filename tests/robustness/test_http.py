"""Hostile HTTP requests: every one a 4xx in the API's error shape, nothing written, and no
traceback or internal path in the body. Add a row to CASES for a new kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import World, seed_task, snapshot

DEEP = b"[" * 100_000 + b"]" * 100_000
CURSOR_PATH = "/datasets/photos/inputs?cursor="

# (case, method, path — {item} is a review item of alice's, raw body bytes, status, error code)
CASES: list[tuple[str, str, str, bytes, int, str]] = [
    ("array nested 100,000 deep", "POST", "/datasets", DEEP, 400, "malformed_json"),
    (
        "object nested 100,000 deep",
        "POST",
        "/datasets",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        400,
        "malformed_json",
    ),
    ("integer of 5,000 digits", "POST", "/datasets", b'{"name": 1' + b"0" * 5000 + b"}", 400, "malformed_json"),
    ("NaN literal", "POST", "/datasets", b'{"name": NaN}', 400, "malformed_json"),
    (
        "Infinity literal in a box",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 0, "y": 0, "w": Infinity, "h": 5}}]}',
        400,
        "malformed_json",
    ),
    ("-Infinity literal", "POST", "/datasets", b'{"name": -Infinity}', 400, "malformed_json"),
    (
        "1e309 (infinite as a float) in a box",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 0, "y": 0, "w": 1e309, "h": 5}}]}',
        422,
        "validation_error",
    ),
    (
        "1e308 box (finite, far outside)",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 0, "y": 0, "w": 1e308, "h": 1e308}}]}',
        422,
        "validation_error",
    ),
    (
        "box wholly outside the image",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 5000, "y": 10, "w": 20, "h": 20}}]}',
        422,
        "validation_error",
    ),
    (
        "box far past the edge",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 600, "y": 10, "w": 200, "h": 20}}]}',
        422,
        "validation_error",
    ),
    (
        "box of zero width",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": 1, "y": 1, "w": 0, "h": 5}}]}',
        422,
        "validation_error",
    ),
    (
        "negative box corner",
        "POST",
        "/review/items/{item}/edit",
        b'{"edits": [{"prediction_id": "{prediction}", "box": {"x": -50, "y": 1, "w": 10, "h": 5}}]}',
        422,
        "validation_error",
    ),
    (
        "label added wholly outside",
        "POST",
        "/tasks/{task}/annotations",
        b'{"input_ids": ["{input}"], "concept": "cat", "box": {"x": 0, "y": 900, "w": 10, "h": 10}}',
        422,
        "validation_error",
    ),
    ("numeric cursor of 400 digits", "GET", CURSOR_PATH + "9" * 400, b"", 422, "validation_error"),
    ("cursor of 19 digits", "GET", CURSOR_PATH + "9" * 19, b"", 422, "validation_error"),
    ("cursor of a unicode digit", "GET", CURSOR_PATH + "%C2%B2", b"", 422, "validation_error"),
    ("negative cursor", "GET", CURSOR_PATH + "-1", b"", 422, "validation_error"),
    ("dataset name of null bytes", "POST", "/datasets", b'{"name": "a\\u0000b"}', 422, "validation_error"),
    (
        "dataset name of 100,000 characters",
        "POST",
        "/datasets",
        b'{"name": "' + b"x" * 100_000 + b'"}',
        422,
        "validation_error",
    ),
    ("dataset name with a lone surrogate", "POST", "/datasets", b'{"name": "\\ud800"}', 422, "validation_error"),
    ("dataset name null", "POST", "/datasets", b'{"name": null}', 422, "validation_error"),
    ("dataset name a list", "POST", "/datasets", b'{"name": ["a"]}', 422, "validation_error"),
    ("body a bare string", "POST", "/datasets", b'"photos"', 422, "validation_error"),
    ("body JSON then a NUL", "POST", "/datasets", b'{"name": "a"}\x00', 400, "malformed_json"),
]


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize(("case", "method", "path", "raw", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_hostile_request_gets_a_clear_4xx_and_writes_nothing(
    world: World, case: str, method: str, path: str, raw: bytes, status: int, code: str
) -> None:
    task, items = seed_task(world, reviewers=("alice",))
    values = {
        "item": items[0].id,
        "prediction": items[0].prediction_ids[0],
        "task": task.id,
        "input": items[0].input_id,
    }
    client = world.client("alice" if "/review/items/" in path else "root")
    before = snapshot(world)
    body = fill(raw.decode("latin-1"), values).encode("latin-1") if len(raw) < 1_000 else raw
    reply = client.request(method, fill(path, values), raw=body)
    assert (reply.status, reply.body["error"]) == (status, code), reply
    if code == "validation_error" and "box" in case:
        assert any(word in reply.body["message"] for word in ("image", "finite", "greater than")), reply
    text = json.dumps(reply.body)
    assert "Traceback" not in text and "/src/autolabel" not in text
    assert snapshot(world) == before


def test_responses_are_strict_json(world: World) -> None:
    """Every number the API writes is finite: parsing with NaN/Infinity refused succeeds."""
    task, items = seed_task(world, reviewers=("alice",))

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in a response")

    for path in (f"/tasks/{task.id}", f"/review/items/{items[0].id}", f"/annotations?task={task.id}"):
        reply = world.client("root").get(path)
        assert reply.status == 200
        json.loads(json.dumps(reply.body), parse_constant=refuse)


def test_a_non_finite_number_reaching_a_response_is_never_sent() -> None:
    from autolabel.api.resolver import strict_json_dumps

    with pytest.raises(ValueError, match="not JSON compliant"):
        strict_json_dumps({"w": float("inf")})
