"""The resolver as the Lambda builds it, once per container.

On AWS (``AUTOLABEL_TABLE`` set by the stack) the backends are DynamoDB, S3 and SQS, and
identity comes from API Gateway's JWT authorizer (already verified). Elsewhere (tests, a
laptop) the embedded backends and bearer tokens from the user store are used.
"""

from __future__ import annotations

import os

from autolabel.api.app import create_app
from autolabel.api.auth import Authenticator, BearerTokenAuthenticator, JwtClaimsAuthenticator
from autolabel.api.runs import RunLauncher
from autolabel.service import Autolabel
from autolabel.workspace import embedded


def _build() -> tuple[Autolabel, RunLauncher | None]:
    if os.environ.get("AUTOLABEL_TABLE"):
        from autolabel.aws import clients
        from autolabel.aws.executions import StepFunctionsRunLauncher
        from autolabel.aws.world import AwsWorld, Settings

        world = AwsWorld(Settings())
        launcher = StepFunctionsRunLauncher(
            clients.stepfunctions(world.settings.region), world.settings.state_machine_arn
        )
        return world.service, launcher
    backends = embedded()
    return Autolabel(backends.records, backends.blobs, backends.queues, backends.users), None


def _authenticator(service: Autolabel) -> Authenticator:
    if os.environ.get("AUTOLABEL_AUTH", "jwt" if os.environ.get("AUTOLABEL_TABLE") else "token") == "jwt":
        return JwtClaimsAuthenticator()
    return BearerTokenAuthenticator(service)


_svc, _launcher = _build()
app = create_app(_svc, _authenticator(_svc), _launcher)


def app_service() -> Autolabel:
    """The service behind ``app`` (for administration scripts and tests)."""
    return _svc
