"""The powertools HTTP API resolver, made safe for a threaded server.

Powertools keeps the request being handled in *class* attributes (``BaseRouter.current_event``)
and in instance state (``context``, ``processed_stack_frames``): right for Lambda, which runs
one request per process at a time, but two threads of `autolabel serve` would read each other's
requests. This subclass keeps all of that per thread; everything else is powertools unchanged,
so the Lambda and the local server run the same code paths.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

# Uploads travel base64-encoded in JSON; 8 MiB keeps below API Gateway's 10 MB payload cap.
MAX_BODY_BYTES = 8 * 1024 * 1024


class ThreadSafeHttpResolver(APIGatewayHttpResolver):
    _request = threading.local()

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
        self.current_event = self._to_proxy_event(dict(event))
        self.lambda_context = context
        return super().resolve(event, context)


def too_large_response(size: int) -> dict[str, Any]:
    body = {
        "error": "payload_too_large",
        "message": f"request body of {size} bytes exceeds the limit of {MAX_BODY_BYTES} bytes",
        "details": {"limit": MAX_BODY_BYTES},
    }
    return {
        "statusCode": 413,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
