"""The Lambda entry point: the same resolver, fed the event API Gateway sends, with identity
from the JWT authorizer's verified claims (AUTOLABEL_AUTH=jwt) or from a bearer token."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autolabel.api.auth import JwtClaimsAuthenticator, cognito_groups
from autolabel.api.server import to_event
from autolabel.app import users
from autolabel.domain.errors import Forbidden, Unauthorized
from autolabel.domain.users import Actor, Role
from tests.aws.conftest import FakeContext


def load_handler(monkeypatch: pytest.MonkeyPatch, home: Path, auth: str) -> ModuleType:
    monkeypatch.setenv("AUTOLABEL_HOME", str(home))
    monkeypatch.setenv("AUTOLABEL_AUTH", auth)
    for name in ("functions.api.handler", "autolabel.api.lambda_app"):
        sys.modules.pop(name, FakeContext())
    return importlib.import_module("functions.api.handler")


def with_claims(event: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def test_jwt_claims_become_the_actor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = load_handler(monkeypatch, tmp_path / "home", "jwt")
    admin = with_claims(to_event("POST", "/datasets", [], b'{"name": "cloud"}', "10.0.0.1"),
                        {"cognito:username": "ana", "cognito:groups": "[admin]"})  # fmt: skip
    reply = module.handler(admin, FakeContext())
    assert reply["statusCode"] == 201 and json.loads(reply["body"])["name"] == "cloud"

    reviewer = with_claims(to_event("GET", "/datasets", [], b"", "10.0.0.1"),
                           {"cognito:username": "rui", "cognito:groups": "[reviewer]"})  # fmt: skip
    reply = module.handler(reviewer, FakeContext())
    assert reply["statusCode"] == 403 and "only admins" in json.loads(reply["body"])["message"]

    # No verified identity (the authorizer was bypassed or misconfigured): refused, not trusted.
    anonymous = to_event("GET", "/datasets", [("Authorization", "Bearer al_anything")], b"", "10.0.0.1")
    assert module.handler(anonymous, FakeContext())["statusCode"] == 401
    assert module.handler(to_event("GET", "/health", [], b"", "10.0.0.1"), FakeContext())["statusCode"] == 200


def test_bearer_tokens_on_the_lambda_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = load_handler(monkeypatch, tmp_path / "home", "token")
    backends = sys.modules["autolabel.api.lambda_app"].backends
    token = users.add_user(backends, Actor.workspace_owner(), "root", Role.ADMIN).token
    event = to_event("GET", "/models", [("Authorization", f"Bearer {token}")], b"", "10.0.0.1")
    reply = module.handler(event, FakeContext())
    assert reply["statusCode"] == 200 and json.loads(reply["body"])["items"]
    event = to_event("GET", "/models", [("Authorization", "Bearer al_wrong")], b"", "10.0.0.1")
    assert module.handler(event, FakeContext())["statusCode"] == 401


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("[admin reviewer]", {"admin", "reviewer"}), (["reviewer"], {"reviewer"}), ("admin", {"admin"}),
     (None, set()), ("[]", set())],
)  # fmt: skip
def test_cognito_groups_in_every_shape(raw: Any, expected: set[str]) -> None:
    assert cognito_groups(raw) == expected


def test_claims_without_a_role_group_are_forbidden() -> None:
    authenticate = JwtClaimsAuthenticator()

    def event(claims: dict[str, Any]) -> Any:
        from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

        return APIGatewayProxyEventV2(with_claims(to_event("GET", "/tasks", [], b"", "1.2.3.4"), claims))

    assert authenticate(event({"username": "ana", "cognito:groups": "[admin reviewer]"})) == Actor(
        name="ana", role=Role.ADMIN
    )
    with pytest.raises(Forbidden):
        authenticate(event({"cognito:username": "x", "cognito:groups": "[guests]"}))
    with pytest.raises(Unauthorized):
        authenticate(event({"cognito:groups": "[admin]"}))
