"""Domain errors. Adapters translate backend errors into these; entry points map them to
exit codes (CLI) or HTTP statuses (API)."""

from __future__ import annotations

from typing import Any


class AutolabelError(Exception):
    """Base of every error the user can act on. ``code`` is stable for scripts and the API."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(AutolabelError, ValueError):
    code = "validation_error"
    http_status = 422


class NotFound(AutolabelError):
    code = "not_found"
    http_status = 404


class Conflict(AutolabelError):
    code = "conflict"
    http_status = 409


class Contended(Conflict):
    """A write lost to concurrent writers on every attempt. Unlike other conflicts, trying again
    later may succeed, so the run's state machine retries a step that raises it (by this name)."""

    code = "contended"


class Forbidden(AutolabelError):
    code = "forbidden"
    http_status = 403


class InvalidKey(ValidationError):
    code = "invalid_key"


class RunFailed(AutolabelError):
    """A task run stopped on something other than bad input (the reason says what)."""

    code = "run_failed"
    http_status = 500


class Unauthorized(AutolabelError):
    """The caller did not prove who they are (no token, or an unknown one)."""

    code = "unauthorized"
    http_status = 401


class IncompatibleWorkspace(AutolabelError):
    """Stored data in a layout this version cannot read (newer, or too old to convert)."""

    code = "incompatible_workspace"
    http_status = 500
