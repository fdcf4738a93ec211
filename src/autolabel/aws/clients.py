"""boto3 clients with the retry policy every adapter relies on.

``standard`` retry mode retries throttling (ProvisionedThroughputExceeded, SlowDown,
RequestLimitExceeded) and 5xx with exponential backoff and jitter, so adapters only handle
what botocore cannot: UnprocessedItems/UnprocessedKeys of batch calls.

Every factory takes optional ``credentials``: none (on Lambda) means boto3's chain — the
function's role; the tests give each function "container" the keys of a user holding exactly
its role's policies, which environment variables cannot do for handlers sharing one process.
"""

from __future__ import annotations

from dataclasses import dataclass
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


Session = boto3.session.Session


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def session(region: str | None, credentials: AccessKey | None = None) -> Session:
    """A new session per client: botocore sessions are not safe to share between threads."""
    keys = credentials or AccessKey("", "")
    made = boto3.session.Session(
        region_name=region,
        aws_access_key_id=keys.access_key_id or None,
        aws_secret_access_key=keys.secret_access_key or None,
        aws_session_token=keys.session_token,
    )
    # Every client the session makes raises Throttled, not ClientError, once throttling outlasts
    # botocore's retries (autolabel.aws.errors.Throttled says why).
    made.events.register("after-call", name_throttling)
    return made


def s3(region: str | None = None, credentials: AccessKey | None = None) -> S3Client:
    # SigV4 so presigned URLs work in every region and with KMS-encrypted objects.
    config = RETRIES.merge(Config(signature_version="s3v4"))
    client: S3Client = session(region, credentials).client("s3", config=config)
    return client


def dynamodb(region: str | None = None, credentials: AccessKey | None = None) -> DynamoDBClient:
    client: DynamoDBClient = session(region, credentials).client("dynamodb", config=RETRIES)
    return client


def sqs(region: str | None = None, credentials: AccessKey | None = None) -> SQSClient:
    client: SQSClient = session(region, credentials).client("sqs", config=RETRIES)
    return client


def stepfunctions(region: str | None = None, credentials: AccessKey | None = None) -> SFNClient:
    client: SFNClient = session(region, credentials).client("stepfunctions", config=RETRIES)
    return client


def cloudwatch(region: str | None = None, credentials: AccessKey | None = None) -> CloudWatchClient:
    client: CloudWatchClient = session(region, credentials).client("cloudwatch", config=RETRIES)
    return client


class _Lazy:
    """A client made on its first use. Making one loads botocore's model of the service (tens of
    milliseconds of a cold start); a function that never starts a run or never creates a queue
    never pays for the Step Functions or CloudWatch client."""

    def __init__(self, make: Any, region: str | None, credentials: AccessKey | None) -> None:
        self._make, self._region, self._credentials, self._client = make, region, credentials, None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make(self._region, self._credentials)
        return getattr(self._client, name)


def lazy_stepfunctions(region: str | None = None, credentials: AccessKey | None = None) -> SFNClient:
    client: SFNClient = _Lazy(stepfunctions, region, credentials)  # type: ignore[assignment]  # quacks like one
    return client


def lazy_cloudwatch(region: str | None = None, credentials: AccessKey | None = None) -> CloudWatchClient:
    client: CloudWatchClient = _Lazy(cloudwatch, region, credentials)  # type: ignore[assignment]  # quacks like one
    return client
