"""The powertools HTTP API resolver, made safe for a threaded server, with authentication first.

Powertools keeps the request being handled in *class* attributes (``BaseRouter.current_event``)
and in instance state (``context``, ``processed_stack_frames``): right for Lambda, which runs
one request per process at a time, but two threads of `autolabel serve` would read each other's
requests. This subclass keeps all of that per thread; everything else is powertools unchanged,
so the Lambda and the local server run the same code paths.

Callers are authenticated before routing and validation, as API Gateway's authorizer does on
AWS: an unauthenticated request learns nothing, not even whether its body would validate.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel.api.auth import Authenticator
from autolabel.domain.errors import AutolabelError
from autolabel.domain.users import Actor

# Uploads travel base64-encoded in JSON; 8 MiB keeps below API Gateway's 10 MB payload cap.
MAX_BODY_BYTES = 8 * 1024 * 1024


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity, which are not JSON: a box of Infinity
    # would pass every range check that compares with it.
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def strict_json_loads(text: str) -> Any:
    """Parse a request body as strict JSON; every way it can fail is a JSONDecodeError.

    Powertools turns a JSONDecodeError into a 400 ``malformed_json``. Python's parser also
    raises RecursionError (arrays nested ~100,000 deep) and ValueError (integers of more than
    4,300 digits), which would otherwise surface as 500s.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), "", 0) from None


# Responses are strict JSON too: a NaN or Infinity that reached a response is a bug, and
# json.dumps raising on it (a 500) is better than sending a body no JSON parser accepts.
strict_json_dumps = functools.partial(json.dumps, separators=(",", ":"), cls=Encoder, allow_nan=False)


class ThreadSafeHttpResolver(APIGatewayHttpResolver):
    _request = threading.local()

    def __init__(self, authenticate: Authenticator, public_paths: frozenset[str] = frozenset({"/health"})) -> None:
        super().__init__(enable_validation=True, serializer=strict_json_dumps, json_body_deserializer=strict_json_loads)
        self.authenticate = authenticate
        self.public_paths = public_paths

    def build_middleware_stacks(self) -> None:
        """Build every route's middleware stack now, on one thread.

        Powertools builds a route's stack on its first request by wrapping the route's stack in
        place; two first requests racing on two threads wrap it twice, and the route is broken
        for good. Building them all before serving leaves nothing to race on.
        """
        for route in (*self._static_routes, *self._dynamic_routes):
            if not route._middleware_stack_built:
                route._build_middleware_stack(router_middlewares=self._router_middlewares, app=self)

    def current_actor(self) -> Actor:
        """The authenticated caller of the request this thread is handling."""
        actor: Actor | None = getattr(self._request, "actor", None)
        if actor is None:
            raise RuntimeError("no authenticated caller: is this route public?")
        return actor

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        event: BaseProxyEvent = self._request.event
        return event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._request.event = value

    @property
    def lambda_context(self) -> LambdaContext:
        context: LambdaContext = self._request.lambda_context
        return context

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        self._request.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(self._request, "context"):
            self._request.context = {}
        found: dict[str, Any] = self._request.context
        return found

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._request.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        if not hasattr(self._request, "frames"):
            self._request.frames = []
        frames: list[str] = self._request.frames
        return frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._request.frames = value

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        body = event.get("body") or ""
        # Base64 inflates by 4/3; compare the decoded size so both encodings get the same limit.
        size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
        if size > MAX_BODY_BYTES:
            return too_large_response(size)
        if event.get("isBase64Encoded") and not is_utf8(body):
            # Every request body of this API is JSON; bytes that are not even UTF-8 cannot be.
            return raw_error(400, "malformed_json", "the request body is not UTF-8 JSON")
        proxy_event = self._to_proxy_event(dict(event))
        self.current_event = proxy_event
        self.lambda_context = context
        self._request.actor = None
        if self._remove_prefix(proxy_event.path) not in self.public_paths:
            try:
                self._request.actor = self.authenticate(proxy_event)
            except AutolabelError as exc:
                return raw_error(exc.http_status, exc.code, exc.message, exc.details)
        try:
            return super().resolve(event, context)
        finally:
            self._request.actor = None


def is_utf8(base64_body: str) -> bool:
    try:
        base64.b64decode(base64_body).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def raw_error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answered before routing, in the API's error shape and the v2 response format."""
    body = {"error": code, "message": message, "details": details or {}}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def too_large_response(size: int) -> dict[str, Any]:
    return raw_error(
        413,
        "payload_too_large",
        f"request body of {size} bytes exceeds the limit of {MAX_BODY_BYTES} bytes",
        {"limit": MAX_BODY_BYTES},
    )
