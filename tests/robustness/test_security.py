"""What `autolabel serve` and the API Lambda give away: security headers on every answer (the
web app's page with a policy that allows only what the app loads), and no token or signed-link
signature in any log line, for requests that succeed and requests that fail."""

from __future__ import annotations

import http.client
import importlib
import logging
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autolabel.api.server import make_server, to_event
from autolabel.web import STATIC_DIR
from tests.api.conftest import World
from tests.aws.conftest import FakeContext

# A stand-in for `make web`'s output: an index naming one hashed asset, as Vite writes it.
INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc.js"></script></head></html>'


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def call(self, method: str, path: str, body: bytes = b"", token: str | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        connection.close()
        return answer


@pytest.fixture
def server(world: World, tmp_path: Path) -> Iterator[Server]:
    build = tmp_path / "build"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text(INDEX)
    (build / "assets" / "index-abc.js").write_text("console.log('app')\n")
    running = make_server(world.backends, "127.0.0.1", 0, static_root=build)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server("127.0.0.1", int(running.server_address[1]))
    finally:
        running.shutdown()
        running.server_close()


def directives(policy: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";") if part.strip()}


# (case, method, path, user or None, body, status)
ANSWERS: list[tuple[str, str, str, str | None, bytes, int]] = [
    ("the app's page", "GET", "/", None, b"", 200),
    ("the app's index.html", "GET", "/index.html", None, b"", 200),
    ("the app's config", "GET", "/config.json", None, b"", 200),
    ("an asset", "GET", "/assets/index-abc.js", None, b"", 200),
    ("a missing asset", "GET", "/assets/nope.js", None, b"", 404),
    ("an asset path climbing out", "GET", "/assets/../../etc/passwd", None, b"", 404),
    ("health", "GET", "/health", None, b"", 200),
    ("an API route without a token", "GET", "/tasks", None, b"", 401),
    ("an API route with a token", "GET", "/tasks", "root", b"", 200),
    ("an API route refused to a reviewer", "GET", "/datasets", "alice", b"", 403),
    ("an unknown route", "GET", "/nope", "root", b"", 404),
    ("malformed JSON", "POST", "/datasets", "root", b"{", 400),
]


@pytest.mark.parametrize(("case", "method", "path", "user", "body", "status"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_every_answer_carries_the_security_headers(
    world: World, server: Server, case: str, method: str, path: str, user: str | None, body: bytes, status: int
) -> None:
    answer = server.call(method, path, body, world.tokens[user] if user else None)
    assert answer.status == status, answer
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    policy = directives(answer.headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'"
    if path in ("/", "/index.html"):
        # The app's own policy: its scripts and styles from this origin only, images also as
        # blob:/data: URLs, calls to this origin; nothing inline runs.
        assert policy["default-src"] == "'self'"
        assert "script-src" not in policy or "'unsafe-inline'" not in policy["script-src"]
        assert policy["img-src"].split()[:3] == ["'self'", "blob:", "data:"]
        assert policy["connect-src"] == "'self'"
    else:
        assert policy["default-src"] == "'none'"  # an API body or a file is never run as a page


def test_the_built_app_loads_nothing_its_policy_refuses() -> None:
    """The real build (`make web`): every script and stylesheet from assets/, nothing inline."""
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        pytest.skip("the web app is not built (make web)")
    html = index.read_text()
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    # Assets of this origin, and the empty favicon (a data: URL, which img-src allows).
    assert sources and all(s.startswith(("/assets/", "./assets/", "data:")) for s in sources), sources
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    assert all(not body.strip() for body in inline), inline
    assert " style=" not in html and "on" + "load=" not in html


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, at its most talkative
    return caplog


def test_tokens_and_link_signatures_are_never_logged(
    world: World, server: Server, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = world.tokens["root"]
    secret = "al_" + "s3cr3t" * 8
    assert server.call("GET", "/tasks", token=root).status == 200
    assert server.call("POST", "/datasets", b'{"name": "bad/name"}', token=root).status == 422
    assert server.call("GET", "/tasks", token=secret).status == 401
    assert server.call("GET", "/tasks", token=world.tokens["alice"]).status == 200
    # A signed link's signature travels in the query: the access log keeps the path only.
    assert server.call("GET", f"/health?signature={secret}&expires=1").status == 200
    # And an unhandled error (a bug) is logged with its traceback, still without the credentials.
    from autolabel.api.resolver import ThreadSafeHttpResolver

    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ThreadSafeHttpResolver, "resolve", broken)
    answer = server.call("GET", f"/tasks?cursor={secret}", token=root)
    assert answer.status == 500 and b"a bug" not in answer.body and b"Traceback" not in answer.body
    logged = logs.text
    assert "GET /tasks" in logged and "a bug" in logged  # the log is there: it just holds no secret
    for credential in (root, secret, world.tokens["alice"], "Bearer"):
        assert credential not in logged


def test_the_api_lambda_logs_no_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """powertools' Logger on the API function: the invocation is logged with its context, never
    with the event (which holds the Authorization header), also when the call is refused."""
    monkeypatch.setenv("AUTOLABEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AUTOLABEL_AUTH", "token")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("POWERTOOLS_LOGGER_LOG_EVENT", raising=False)
    for name in ("functions.api.handler", "autolabel.api.lambda_app"):
        sys.modules.pop(name, None)
    module = importlib.import_module("functions.api.handler")
    secret = "al_" + "t0k3n" * 8
    for path in ("/tasks", "/datasets"):
        event = to_event("GET", path, [("Authorization", f"Bearer {secret}")], b"", "10.0.0.1")
        assert module.handler(event, FakeContext())["statusCode"] == 401
    logged = capsys.readouterr()
    assert secret not in logged.out + logged.err
