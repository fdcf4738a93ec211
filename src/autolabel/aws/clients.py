"""boto3 clients with the retry policy every adapter relies on.

``standard`` retry mode retries throttling (ProvisionedThroughputExceeded, SlowDown,
RequestLimitExceeded) and 5xx with exponential backoff and jitter, so adapters only handle
what botocore cannot: UnprocessedItems/UnprocessedKeys of batch calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from autolabel.aws.errors import name_throttling

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

RETRIES = Config(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def _session(region: str | None) -> Any:
    session = boto3.session.Session(region_name=region)
    # Every client the session makes raises Throttled, not ClientError, once throttling outlasts
    # botocore's retries (autolabel.aws.errors.Throttled says why).
    session.events.register("after-call", name_throttling)
    return session


def s3(region: str | None = None) -> S3Client:
    # SigV4 so presigned URLs work in every region and with KMS-encrypted objects.
    config = RETRIES.merge(Config(signature_version="s3v4"))
    client: S3Client = _session(region).client("s3", config=config)
    return client


def dynamodb(region: str | None = None) -> DynamoDBClient:
    client: DynamoDBClient = _session(region).client("dynamodb", config=RETRIES)
    return client


def sqs(region: str | None = None) -> SQSClient:
    client: SQSClient = _session(region).client("sqs", config=RETRIES)
    return client


def stepfunctions(region: str | None = None) -> SFNClient:
    client: SFNClient = _session(region).client("stepfunctions", config=RETRIES)
    return client


def cloudwatch(region: str | None = None) -> CloudWatchClient:
    client: CloudWatchClient = _session(region).client("cloudwatch", config=RETRIES)
    return client


class _Lazy:
    """A client made on its first use. Making one loads botocore's model of the service (tens of
    milliseconds of a cold start); a function that never starts a run or never creates a queue
    never pays for the Step Functions or CloudWatch client."""

    def __init__(self, make: Any, region: str | None) -> None:
        self._make, self._region, self._client = make, region, None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make(self._region)
        return getattr(self._client, name)


def lazy_stepfunctions(region: str | None = None) -> SFNClient:
    client: SFNClient = _Lazy(stepfunctions, region)  # type: ignore[assignment]  # quacks like one
    return client


def lazy_cloudwatch(region: str | None = None) -> CloudWatchClient:
    client: CloudWatchClient = _Lazy(cloudwatch, region)  # type: ignore[assignment]  # quacks like one
    return client
