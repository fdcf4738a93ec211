"""Who is calling. Authentication is the transport's job; what the caller may do is decided
by the core (``autolabel.domain.users``)."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from autolabel.app import users
from autolabel.domain.errors import Forbidden, Unauthorized
from autolabel.domain.users import Actor, Role
from autolabel.ports import Backends


class Authenticator(Protocol):
    def __call__(self, event: BaseProxyEvent) -> Actor: ...


class BearerTokenAuthenticator:
    """Embedded: ``Authorization: Bearer <token>`` checked against the stored token hashes."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    def __call__(self, event: BaseProxyEvent) -> Actor:
        header = event.headers.get("authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if header and scheme.lower() != "bearer":
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        return users.authenticate(self.backends, token.strip() or None)


class JwtClaimsAuthenticator:
    """AWS: API Gateway's JWT authorizer has already verified the Cognito token; the caller is
    the claims it passes on (user name, and the Cognito group giving the role)."""

    def __call__(self, event: BaseProxyEvent) -> Actor:
        claims: dict[str, Any] = (
            event.raw_event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims") or {}
        )
        name = claims.get("cognito:username") or claims.get("username")
        if not name:
            raise Unauthorized("no verified identity on the request")
        groups = cognito_groups(claims.get("cognito:groups"))
        if Role.ADMIN.value in groups:
            return Actor(name=str(name), role=Role.ADMIN)
        if Role.REVIEWER.value in groups:
            return Actor(name=str(name), role=Role.REVIEWER)
        raise Forbidden(f"'{name}' is in neither the admin nor the reviewer group")


def cognito_groups(raw: Any) -> set[str]:
    """HTTP API JWT authorizers pass list claims as one string like "[admin reviewer]"."""
    if isinstance(raw, list):
        return {str(g) for g in raw}
    if isinstance(raw, str):
        return {g for g in raw.strip("[]").replace(",", " ").split() if g}
    return set()
