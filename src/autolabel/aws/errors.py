"""AWS error codes -> domain errors, in one place."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def status_of(error: ClientError) -> int:
    meta: Any = error.response.get("ResponseMetadata", {})
    return int(meta.get("HTTPStatusCode", 0))


NOT_FOUND_CODES = frozenset(
    {
        "NoSuchKey",
        "NotFound",
        "404",
        "NoSuchBucket",
        "ResourceNotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    }
)


def is_not_found(error: ClientError) -> bool:
    return code_of(error) in NOT_FOUND_CODES or status_of(error) == 404
