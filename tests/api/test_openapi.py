"""The committed OpenAPI document is the resolver's own, the web app's committed TypeScript types
are generated from it, and the server keeps to it: a bounded schemathesis run against the
`autolabel serve` server finds no 5xx and no response that breaks the schema, for valid and for
invalid requests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from autolabel.api.openapi import DOCUMENT, NAMES_MODULE, name_rules, names_module, openapi_document
from autolabel.domain import names
from tests.api.conftest import Served, World, autolabel_serve, seed_task

EXAMPLES_PER_OPERATION_AND_MODE = 10
# What no body may carry, whatever the status: a Python traceback or a path into the code.
INTERNALS = re.compile(r'Traceback \(most recent call last\)|File "/|\.py", line \d|/src/autolabel/|site-packages/')


@schemathesis.check
def no_internals_in_the_body(ctx: Any, response: Any, case: Any) -> bool | None:
    body = response.content.decode("utf-8", "replace")  # images too: never raise on bytes
    found = INTERNALS.search(body)
    if found is not None:
        raise AssertionError(f"the body shows {found.group()!r}: {body[:300]}")
    return None


WEB = Path(__file__).resolve().parents[2] / "web"
WEB_TYPES = WEB / "src" / "generated" / "openapi.ts"
OPENAPI_TYPESCRIPT = WEB / "node_modules" / ".bin" / "openapi-typescript"


def test_committed_document_is_current() -> None:
    assert DOCUMENT.read_text() == openapi_document(), (
        "docs/openapi.json is stale: run `.venv/bin/python -m autolabel.api.openapi` and commit it"
    )


def test_committed_web_types_are_generated_from_the_committed_document(tmp_path: Path) -> None:
    # `make test` installs web/node_modules (`make web`) before pytest, so this runs there.
    if not OPENAPI_TYPESCRIPT.exists():
        pytest.skip("web/node_modules is not installed (run `make web`): openapi-typescript is not available")
    generated = tmp_path / "openapi.ts"
    done = subprocess.run(
        [str(OPENAPI_TYPESCRIPT), str(DOCUMENT), "--output", str(generated)],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert generated.read_text() == WEB_TYPES.read_text(), (
        "web/src/generated/openapi.ts does not match docs/openapi.json: run `make openapi` and commit both"
    )


def test_document_is_openapi_3_1_with_bearer_auth_everywhere_but_health() -> None:
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"].startswith("3.1")
    assert document["security"] == [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path == "/health"
            assert (operation.get("security") == []) == public, (method, path)
            if not public:
                assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(world: World) -> None:
    seed_task(world)  # something real behind the list routes
    with autolabel_serve(world.home) as served:
        failures, calls = run_schemathesis(served, world.tokens["root"])
    assert failures == [], "\n\n".join(failures)
    assert calls > 200  # bounded (EXAMPLES_PER_OPERATION_AND_MODE), ~20 s here; not a timed test


def test_the_internals_check_catches_a_traceback_and_a_path() -> None:
    """The check above can fail: a body like an unhandled error's (had one escaped) is caught."""
    traceback = 'Traceback (most recent call last):\n  File "/work/src/autolabel/app/tasks.py", line 9'
    for body in (traceback, '{"message": "cannot open /srv/site-packages/autolabel/x.py"}'):
        assert INTERNALS.search(body), body
    assert INTERNALS.search('{"error": "not_found", "message": "no task named \'t\'", "details": {}}') is None


def run_schemathesis(served: Served, token: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
    base_url = f"http://{served.host}:{served.port}"
    headers = {"Authorization": f"Bearer {token}"}
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        no_internals_in_the_body,
    ]
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                derandomize=True,  # the same requests every run: a failure reproduces
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case[Any]) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(base_url=base_url, headers=headers, checks=checks)

            try:
                call()
            except Unsatisfiable:
                continue  # nothing to make invalid (e.g. GET /health has no inputs)
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures, calls


def test_committed_name_rules_for_the_web_app_are_current() -> None:
    assert NAMES_MODULE.read_text() == names_module(DOCUMENT.read_text()), (
        "web/src/generated/names.ts is stale: run `make openapi` and commit it"
    )
    assert set(name_rules(DOCUMENT.read_text())) == {rule.kind for rule in names.RULES}, "every rule reaches the web"
