"""The resolver as the Lambda builds it, once per container.

On AWS (``AUTOLABEL_TABLE`` set by the stack) the backends are DynamoDB, S3 and SQS, runs start
as Step Functions executions, and identity comes from API Gateway's JWT authorizer (already
verified). Elsewhere (tests, a laptop) the embedded backends and bearer tokens are used.

Importing this module loads no numpy, Pillow or onnxruntime (a test checks): the API function
carries the core layer only, and its cold start pays for none of them.
"""

from __future__ import annotations

import os

from autolabel import bootstrap
from autolabel.api.app import create_app
from autolabel.api.auth import Authenticator, BearerTokenAuthenticator, JwtClaimsAuthenticator
from autolabel.ports import Backends


def _authenticator(backends: Backends) -> Authenticator:
    if os.environ.get("AUTOLABEL_AUTH", "jwt" if bootstrap.on_aws() else "token") == "jwt":
        return JwtClaimsAuthenticator()
    return BearerTokenAuthenticator(backends)


backends = bootstrap.aws().backends if bootstrap.on_aws() else bootstrap.embedded()
app = create_app(backends, _authenticator(backends))
