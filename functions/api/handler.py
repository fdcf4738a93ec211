"""Lambda entry point of the HTTP API: the same resolver `autolabel serve` runs."""

from __future__ import annotations

from typing import Any

from autolabel.api.lambda_app import app, app_service

__all__ = ["app_service", "handler"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
