"""Adapter factories for the contract suites. Each port's suite runs once per entry here;
adding an implementation (the AWS adapters under moto) means adding an entry, not a suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from autolabel.embedded.blobs import FileBlobStore
from autolabel.embedded.jobs import SQLiteJobStore
from autolabel.embedded.queues import SQLiteReviewQueues
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.embedded.users import SQLiteUserStore
from tests.contract.moto_iam import iam_fidelity

Factory = Callable[[Path], Any]
REGION = "us-east-1"


@contextmanager
def filesystem_blobs(tmp: Path) -> Iterator[FileBlobStore]:
    yield FileBlobStore(tmp / "blobs")


@contextmanager
def sqlite_queues(tmp: Path) -> Iterator[SQLiteReviewQueues]:
    yield SQLiteReviewQueues(SQLiteDatabase(tmp / "queues.sqlite3"))


@contextmanager
def sqlite_records(tmp: Path) -> Iterator[SQLiteRecordStore]:
    yield SQLiteRecordStore(SQLiteDatabase(tmp / "records.sqlite3"))


@contextmanager
def moto_aws() -> Iterator[None]:
    """moto in-process, with fidelity fixes that make it refuse what AWS refuses. SQS's
    DeleteMessage documentation says a receipt from an earlier receive "succeeds, but the message
    will not be deleted"; moto deletes with any receipt the message ever had. The contract
    asserts SQS's behaviour, so moto is made to follow it here rather than the contract being
    loosened. Under IAM enforcement, requests are checked against the resources AWS checks and
    a missing key without s3:ListBucket is a 403 (tests/contract/moto_iam.py)."""
    from moto import mock_aws
    from moto.sqs.models import Queue

    original = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        for message in self._messages:
            if message.receipt_handle != receipt_handle and message.had_receipt_handle(receipt_handle):
                return
        original(self, receipt_handle)

    # Step Functions executions really run (tests/aws/test_state_machine.py); Lambda never
    # needs Docker because those tests route invocations to the handlers in-process.
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with (
        mock_aws(config=config),
        mock.patch.object(Queue, "delete_message", delete_message),
        serialised_dynamodb(),
        iam_fidelity(),
    ):
        yield


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """DynamoDB runs each write, and each TransactWriteItems, as one isolated step (that is how
    of two racing conditional decisions exactly one wins); moto checks and writes without a
    lock, so threads interleave. One lock around moto's writes restores the isolation."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    patches = []
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        patches.append(mock.patch.object(DynamoDBBackend, name, locked))
    for patch in patches:
        patch.start()
    try:
        yield
    finally:
        for patch in reversed(patches):
            patch.stop()


@contextmanager
def s3_blobs(tmp: Path) -> Iterator[Any]:
    from autolabel.aws import clients
    from autolabel.aws.blobs import S3BlobStore

    with moto_aws():
        client = clients.s3(REGION)
        client.create_bucket(Bucket="autolabel-test")
        yield S3BlobStore(client, "autolabel-test", prefix="ws", cache_dir=tmp / "cache")


@contextmanager
def sqs_queues(tmp: Path) -> Iterator[Any]:
    from autolabel.aws import clients
    from autolabel.aws.alarms import DeadLetterAlarms
    from autolabel.aws.queues import SQSReviewQueues

    with moto_aws():
        yield SQSReviewQueues(clients.sqs(REGION), alarms=DeadLetterAlarms(clients.cloudwatch(REGION), "t-alarm-"))


@contextmanager
def dynamodb_records(tmp: Path) -> Iterator[Any]:
    from autolabel.aws import clients
    from autolabel.aws.records import DynamoRecordStore, create_table

    with moto_aws():
        client = clients.dynamodb(REGION)
        create_table(client, "autolabel-test")
        yield DynamoRecordStore(client, "autolabel-test")


@contextmanager
def sqlite_jobs(tmp: Path) -> Iterator[SQLiteJobStore]:
    yield SQLiteJobStore(SQLiteDatabase(tmp / "jobs.sqlite3"))


@contextmanager
def dynamodb_jobs(tmp: Path) -> Iterator[Any]:
    from autolabel.aws import clients
    from autolabel.aws.jobs import DynamoJobStore
    from autolabel.aws.records import create_table

    with moto_aws():
        client = clients.dynamodb(REGION)
        create_table(client, "autolabel-test")
        yield DynamoJobStore(client, "autolabel-test")


@contextmanager
def sqlite_users(tmp: Path) -> Iterator[SQLiteUserStore]:
    yield SQLiteUserStore(SQLiteDatabase(tmp / "users.sqlite3"))


BLOB_STORES: dict[str, Callable[[Path], Any]] = {"filesystem": filesystem_blobs, "s3": s3_blobs}
QUEUES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_queues, "sqs": sqs_queues}
RECORD_STORES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_records, "dynamodb": dynamodb_records}
USER_STORES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_users}
JOB_STORES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_jobs, "dynamodb": dynamodb_jobs}
