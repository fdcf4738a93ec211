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


# botocore's standard retry mode treats these codes as throttling (botocore.retries.standard).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)


class Throttled(ClientError):
    """AWS still throttled a call after botocore's retries. A class of its own because a Lambda's
    errorType is its exception's class name: the state machine's Retry names ``Throttled``, where
    a plain ClientError would name every AWS error alike, AccessDenied included. It stays a
    ClientError, so code that inspects error codes is unchanged."""


def name_throttling(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """botocore ``after-call`` hook: it runs once retries are spent and before botocore raises,
    so raising here replaces the ClientError it would raise."""
    if http_response.status_code >= 300 and parsed.get("Error", {}).get("Code") in THROTTLING_CODES:
        raise Throttled(parsed, model.name)  # type: ignore[arg-type]  # botocore's parsed response
