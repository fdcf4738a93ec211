"""The one resolver: the Lambda entry point and `autolabel serve` both call ``app.resolve``."""

from __future__ import annotations

import json
from typing import Any

from autolabel.api.auth import Authenticator, BearerTokenAuthenticator
from autolabel.api.context import ApiContext
from autolabel.api.errors import register_error_handlers
from autolabel.api.resolver import ThreadSafeHttpResolver
from autolabel.api.routes.datasets import datasets_router
from autolabel.api.routes.health import health_router
from autolabel.api.routes.input_manager import input_manager_router
from autolabel.api.routes.jobs import jobs_router
from autolabel.api.routes.me import me_router
from autolabel.api.routes.models import models_router
from autolabel.api.routes.review import review_router
from autolabel.api.routes.tasks import tasks_router
from autolabel.ports import Backends

TITLE = "autolabel"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "Auto-annotation with human review. Every route but /health needs `Authorization: Bearer <token>` "
    "(embedded: `autolabel user add`; AWS: a Cognito JWT). Errors are {error, message, details}."
)


def create_app(backends: Backends, authenticate: Authenticator | None = None) -> ThreadSafeHttpResolver:
    app = ThreadSafeHttpResolver(authenticate or BearerTokenAuthenticator(backends))
    context = ApiContext(backends=backends, current_actor=app.current_actor)
    register_error_handlers(app)
    app.include_router(health_router())
    app.include_router(me_router(context))
    app.include_router(datasets_router(context))
    app.include_router(models_router(context))
    app.include_router(tasks_router(context))
    app.include_router(review_router(context))
    app.include_router(input_manager_router(context))
    app.include_router(jobs_router(context))
    app.build_middleware_stacks()
    return app


def openapi_json(app: ThreadSafeHttpResolver) -> str:
    """The OpenAPI 3.1 document of ``app``, with bearer auth on every route but the public ones."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    raw = app.get_openapi_json_schema(
        title=TITLE,
        version=API_VERSION,
        description=DESCRIPTION,
        security_schemes={"bearer": HTTPBearer(scheme="bearer", description="`autolabel user add` or Cognito")},
        security=[{"bearer": []}],
    )
    document: dict[str, Any] = json.loads(raw)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            # Powertools documents its own 422 shape; the error handlers answer with ErrorBody,
            # which every route that can fail documents itself. Drop the stray default.
            default_422 = operation["responses"].get("422", {})
            if "HTTPValidationError" in json.dumps(default_422):
                del operation["responses"]["422"]
            if path in app.public_paths:
                operation["security"] = []
    schemas = document["components"]["schemas"]
    while unused := [
        name
        for name in schemas
        if f'"#/components/schemas/{name}"'
        not in json.dumps([document["paths"], {k: v for k, v in schemas.items() if k != name}])
    ]:
        for name in unused:
            del schemas[name]
    return json.dumps(document)
