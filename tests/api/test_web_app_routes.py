"""What the web app needs from the server: its files on the API's origin, who the caller is,
and the caller's own review progress ("12 of 48 left in your queue")."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autolabel.api.server import ApiServer, make_handler
from autolabel.web import EMBEDDED_CONFIG
from tests.api.conftest import Served, World, seed_task


def fetch(served: Served, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A stand-in build: index.html and one hashed asset."""
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><script type="module" src="./assets/index-abc.js"></script>')
    (root / "assets" / "index-abc.js").write_text("console.log('app')")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


def serve_app(world: World, root: Path) -> Iterator[Served]:
    server = ApiServer(("127.0.0.1", 0), make_handler(world.app, root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(world: World, built: Path) -> Iterator[Served]:
    yield from serve_app(world, built)


def test_the_app_is_served_without_a_token_next_to_the_api(site: Served, world: World) -> None:
    status, headers, body = fetch(site, "/")
    assert status == 200 and b"index-abc.js" in body
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in headers["content-security-policy"]
    status, headers, body = fetch(site, "/assets/index-abc.js")
    assert status == 200 and body == b"console.log('app')"
    assert "immutable" in headers["cache-control"] and "javascript" in headers["content-type"]
    status, _, body = fetch(site, "/config.json")
    assert status == 200 and json.loads(body) == EMBEDDED_CONFIG == {"apiBase": "", "auth": {"kind": "token"}}
    # API routes are untouched: still authenticated, still JSON.
    assert site.request("GET", "/tasks").status == 401
    assert site.request("GET", "/tasks", token=world.tokens["root"]).status == 200
    assert fetch(site, "/", "HEAD")[0] == 200


@pytest.mark.parametrize(
    "path", ["/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/%2E%2E%2Fsecret.txt", "/assets/nope.js"]
)
def test_nothing_outside_the_build_is_served(site: Served, path: str) -> None:
    status, _, body = fetch(site, path)
    assert status == 404 and b"outside the build" not in body


def test_a_missing_build_says_how_to_build_it(world: World, tmp_path: Path) -> None:
    for served in serve_app(world, tmp_path / "not-built"):
        status, headers, body = fetch(served, "/")
        assert status == 404 and headers["content-type"].startswith("text/html")
        assert b"make web" in body and b"not built" in body
        assert served.request("GET", "/health").status == 200


def test_me_names_the_caller_and_their_role(world: World) -> None:
    assert world.client("root").get("/me").body == {"name": "root", "role": "admin"}
    assert world.client("alice").get("/me").body == {"name": "alice", "role": "reviewer"}
    assert world.client(None).get("/me").status == 401


def test_review_progress_counts_the_callers_own_items(world: World) -> None:
    task, items = seed_task(world)
    mine = [i for i in items if i.reviewer == "alice"]
    alice = world.client("alice")
    progress = alice.get(f"/tasks/{task.name}/review/progress")
    assert progress.body == {
        "task_id": task.id,
        "reviewer": "alice",
        "total": len(mine),
        "pending": len(mine),
        "decided": 0,
    }
    leased = alice.post(f"/tasks/{task.name}/review/next").body["item"]["item"]["id"]
    assert alice.get(f"/tasks/{task.name}/review/progress").body["pending"] == len(mine)  # leased is still pending
    assert alice.post(f"/review/items/{leased}/accept").status == 200
    after = alice.get(f"/tasks/{task.name}/review/progress").body
    assert (after["pending"], after["decided"], after["total"]) == (len(mine) - 1, 1, len(mine))
    # Someone not on the task learns nothing about it.
    assert world.client("eve").get(f"/tasks/{task.name}/review/progress").status == 403
