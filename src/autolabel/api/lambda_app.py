"""The resolver as the Lambda builds it, once per container.

Identity comes from API Gateway's JWT authorizer (already verified) when AUTOLABEL_AUTH=jwt;
otherwise bearer tokens are checked against the user store. The backends are the embedded ones
until the AWS adapters (issue "Deploy on AWS") add theirs here.
"""

from __future__ import annotations

import os

from autolabel.api.app import create_app
from autolabel.api.auth import Authenticator, BearerTokenAuthenticator, JwtClaimsAuthenticator
from autolabel.service import Autolabel
from autolabel.workspace import embedded


def _service() -> Autolabel:
    backends = embedded()
    return Autolabel(backends.records, backends.blobs, backends.queues, backends.users)


def _authenticator(service: Autolabel) -> Authenticator:
    if os.environ.get("AUTOLABEL_AUTH", "token") == "jwt":
        return JwtClaimsAuthenticator()
    return BearerTokenAuthenticator(service)


_svc = _service()
app = create_app(_svc, _authenticator(_svc))


def app_service() -> Autolabel:
    """The service behind ``app`` (for administration scripts and tests)."""
    return _svc
