"""Cognito sign-in (authorization code + PKCE) in the browser, against a stand-in on loopback.

A real Cognito is out of reach, so one loopback server plays its three parts: the hosted UI's
/oauth2/authorize (redirects back with a code), /oauth2/token (issues tokens only for the
verifier whose SHA-256 is the challenge sent earlier) and /logout, and API Gateway's JWT
authorizer in front of the real resolver (only the issued ID token passes, and its claims reach
`JwtClaimsAuthenticator` as they would on AWS).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from playwright.sync_api import BrowserContext, expect

from autolabel import bootstrap
from autolabel.api.app import create_app
from autolabel.api.auth import JwtClaimsAuthenticator
from autolabel.api.resolver import ThreadSafeHttpResolver, raw_error
from autolabel.api.server import ApiServer, make_handler
from autolabel.web import STATIC_DIR
from tests.web.conftest import screenshot

CLIENT_ID = "test-client-id"
CODE = "one-time-code"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(claims: dict[str, Any]) -> str:
    return ".".join(b64url(json.dumps(part).encode()) for part in ({"alg": "none"}, claims)) + ".sig"


ID_TOKEN = fake_jwt({"cognito:username": "alice", "cognito:groups": ["reviewer"], "aud": CLIENT_ID})
ACCESS_TOKEN = fake_jwt({"username": "alice", "scope": "openid email profile"})  # must NOT be what the app sends


@dataclass
class FakeCognito:
    """The hosted UI endpoints and the JWT authorizer, wrapped around the real resolver."""

    api: ThreadSafeHttpResolver
    redirect_uri: str = ""
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    bearers: list[str] = field(default_factory=list)
    expires_in: int = 3600
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        path = event["rawPath"]
        query = {k: v[0] for k, v in parse_qs(event.get("rawQueryString", "")).items()}
        if path == "/oauth2/authorize":
            with self.lock:
                self.authorize_requests.append(query)
            back = {"code": CODE, "state": query.get("state", "")}
            return {
                "statusCode": 302,
                "headers": {"Location": f"{query['redirect_uri']}?{urlencode(back)}"},
                "body": "",
            }
        if path == "/oauth2/token":
            body = event.get("body") or ""
            form = {
                k: v[0]
                for k, v in parse_qs(base64.b64decode(body).decode() if event.get("isBase64Encoded") else body).items()
            }
            with self.lock:
                self.token_requests.append(form)
            return self.token(form)
        if path == "/logout":
            self.logouts.append(query)
            return {"statusCode": 302, "headers": {"Location": query["logout_uri"]}, "body": ""}
        bearer = (event["headers"].get("authorization") or "").removeprefix("Bearer ")
        self.bearers.append(bearer)
        if bearer != ID_TOKEN:
            return {
                "statusCode": 401,
                "headers": {"Content-Type": "application/json"},
                "body": '{"message":"Unauthorized"}',
            }
        claims = json.loads(base64.urlsafe_b64decode(ID_TOKEN.split(".")[1] + "=="))
        claims["cognito:groups"] = "[" + " ".join(claims["cognito:groups"]) + "]"  # as the authorizer passes lists
        authorized = {**event, "requestContext": {**event["requestContext"], "authorizer": {"jwt": {"claims": claims}}}}
        return self.api.resolve(authorized, context)

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") == "r":
            if form.get("client_id") != CLIENT_ID:
                return raw_error(400, "invalid_client", "unknown client")
            fresh = {"id_token": ID_TOKEN, "access_token": ACCESS_TOKEN, "expires_in": 3600}
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(fresh)}
        challenge = self.authorize_requests[-1]["code_challenge"] if self.authorize_requests else None
        verifier = form.get("code_verifier", "")
        if (
            form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("code") != CODE
            or form.get("redirect_uri") != self.redirect_uri
            or b64url(hashlib.sha256(verifier.encode()).digest()) != challenge
        ):
            return raw_error(400, "invalid_grant", "code, client, redirect or verifier do not match")
        tokens = {
            "id_token": ID_TOKEN,
            "access_token": ACCESS_TOKEN,
            "refresh_token": "r",
            "expires_in": self.expires_in,
        }
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(tokens)}


@pytest.fixture
def cognito(tmp_path: Path) -> Iterator[tuple[str, FakeCognito]]:
    backends = bootstrap.embedded(tmp_path / "home")
    fake = FakeCognito(create_app(backends, authenticate=JwtClaimsAuthenticator()))
    # The fake stands in for the resolver (it has its resolve()), hence the ignores below.
    server = ApiServer(("127.0.0.1", 0), make_handler(fake, STATIC_DIR))  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    fake.redirect_uri = f"{base}/"
    config = {
        "apiBase": base,
        "auth": {
            "kind": "cognito",
            "domain": base,
            "clientId": CLIENT_ID,
            "redirectUri": fake.redirect_uri,
            "scopes": ["openid", "email", "profile"],
        },
    }
    server.RequestHandlerClass = make_handler(fake, STATIC_DIR, config)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake.redirect_uri, fake
    server.shutdown()
    server.server_close()


def test_pkce_sign_in_sends_the_id_token_and_signs_out(
    browser: BrowserContext, cognito: tuple[str, FakeCognito]
) -> None:
    url, fake = cognito
    page = browser.new_page()
    page.goto(url + "#/tasks")
    screenshot(page, "20-cognito-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text("alice")
    expect(page.get_by_test_id("who")).to_contain_text("reviewer")
    expect(page.get_by_role("heading", name="Labeling Tasks")).to_be_visible()

    (asked,) = fake.authorize_requests
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256" and asked["redirect_uri"] == url
    assert asked["scope"] == "openid email profile"
    (exchanged,) = fake.token_requests
    assert 43 <= len(exchanged["code_verifier"]) <= 128  # RFC 7636
    assert "client_secret" not in exchanged
    assert fake.bearers and set(fake.bearers) == {ID_TOKEN}
    assert "code=" not in page.url, "the single-use code must leave the address bar"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to autolabel")).to_be_visible()
    assert fake.logouts == [{"client_id": CLIENT_ID, "logout_uri": url}]


def test_an_answer_to_a_sign_in_not_started_here_is_refused(
    browser: BrowserContext, cognito: tuple[str, FakeCognito]
) -> None:
    url, fake = cognito
    page = browser.new_page()
    page.goto(f"{url}?code={CODE}&state=forged")
    expect(page.get_by_role("alert")).to_contain_text("state mismatch")
    assert fake.token_requests == []


def test_an_id_token_about_to_expire_is_refreshed_first(
    browser: BrowserContext, cognito: tuple[str, FakeCognito]
) -> None:
    url, fake = cognito
    fake.expires_in = 30  # within the minute before expiry in which the app refreshes
    page = browser.new_page()
    page.goto(url + "#/tasks")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text("alice")
    grants = [r["grant_type"] for r in fake.token_requests]
    assert grants[0] == "authorization_code" and "refresh_token" in grants[1:]
    refresh = next(r for r in fake.token_requests if r["grant_type"] == "refresh_token")
    assert refresh == {"grant_type": "refresh_token", "refresh_token": "r", "client_id": CLIENT_ID}
