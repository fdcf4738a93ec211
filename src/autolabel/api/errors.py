"""One error shape for every failure: {"error", "message", "details"}, with the status the
domain error names. Bad input is always a 4xx; only a bug is a 500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from autolabel.domain.errors import AutolabelError

log = logging.getLogger("autolabel.api")


class ErrorBody(BaseModel):
    error: str = Field(description="Stable machine-readable code, e.g. not_found, conflict, forbidden.")
    message: str = Field(description="What went wrong, for people.")
    details: dict[str, Any] = Field(description="What the message refers to, for scripts ({} when nothing).")


ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Missing or unknown bearer token",
    403: "The caller may not do this",
    404: "No such resource",
    409: "Conflicts with the current state (e.g. already decided)",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Well-formed but invalid request",
}


def responses(
    success: int = 200, errors: Sequence[int] = (400, 401, 403, 404, 409, 413, 415, 422)
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success (schema from the return type) and error bodies."""
    documented: dict[int, OpenAPIResponse] = {success: {"description": HTTPStatus(success).phrase}}
    for code in errors:
        documented[code] = {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return documented


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=code, message=message, details=details or {}).model_dump(mode="json"),
    )


def _plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic error entries without their ``ctx``/``input`` (which may not be JSON-safe)."""
    return [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": error.get("type"),
        }
        for error in errors
    ]


def _where(error: dict[str, Any]) -> str:
    return ".".join(error["loc"])


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(AutolabelError)
    def domain_error(exc: AutolabelError) -> Response[Any]:
        return error_response(exc.http_status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(415, "unsupported_content_type", "send JSON with Content-Type: application/json")

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = _plain_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON", {"errors": errors})
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"{_where(first)}: {first['msg']}" if first["loc"] else str(first["msg"])
        return error_response(422, "validation_error", message, {"errors": errors})

    @app.exception_handler(PydanticValidationError)
    def invalid_value(exc: PydanticValidationError) -> Response[Any]:
        # A value the request models let through but a domain model refused.
        errors = _plain_errors(exc.errors())
        first = errors[0]
        return error_response(422, "validation_error", f"{_where(first)}: {first['msg']}", {"errors": errors})

    @app.not_found
    def no_route(exc: Exception) -> Response[Any]:
        event = app.current_event
        return error_response(404, "not_found", f"no route {event.http_method} {event.path}")
