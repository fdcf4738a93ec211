"""What every router needs: the core, who is calling, and how runs start."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from autolabel.api.auth import Authenticator
from autolabel.api.runs import RunLauncher
from autolabel.domain.errors import ValidationError
from autolabel.domain.users import Actor
from autolabel.service import Autolabel

Cursor = Annotated[str | None, Query(max_length=512, description="The cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]


@dataclass(frozen=True)
class ApiContext:
    service: Autolabel
    authenticate: Authenticator
    launcher: RunLauncher

    def actor(self, router: Router) -> Actor:
        return self.authenticate(router.current_event)


def path_ref(value: str) -> str:
    """Path parameters arrive percent-encoded (API Gateway passes the raw path on)."""
    return unquote(value)


def decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not valid base64") from None
