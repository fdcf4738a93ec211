"""What every router needs: the world's backends (passed on to the use cases) and who is calling."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Query

from autolabel.domain.errors import ValidationError
from autolabel.domain.users import Actor
from autolabel.ports import Backends

Cursor = Annotated[str | None, Query(max_length=512, description="The cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]


@dataclass(frozen=True)
class ApiContext:
    backends: Backends
    current_actor: Callable[[], Actor]  # the caller the resolver authenticated for this request

    def actor(self) -> Actor:
        return self.current_actor()


def absolute_url(url: str, headers: Mapping[str, str]) -> str:
    """A link the API hands out, absolute: the embedded world's signed links are paths of the
    server that answers this request (S3's presigned URLs are absolute already)."""
    if not url.startswith("/"):
        return url
    scheme = headers.get("x-forwarded-proto", "http")
    return f"{scheme}://{headers.get('host', '127.0.0.1')}{url}"


def path_ref(value: str) -> str:
    """Path parameters arrive percent-encoded (API Gateway passes the raw path on)."""
    return unquote(value)


def decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not valid base64") from None
