"""Adapter factories for the contract suites. Each port's suite runs once per entry here;
adding an implementation (the AWS adapters under moto) means adding an entry, not a suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autolabel.embedded.blobs import FileBlobStore
from autolabel.embedded.queues import SQLiteReviewQueues
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.embedded.users import SQLiteUserStore

Factory = Callable[[Path], Any]


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
def sqlite_users(tmp: Path) -> Iterator[SQLiteUserStore]:
    yield SQLiteUserStore(SQLiteDatabase(tmp / "users.sqlite3"))


BLOB_STORES: dict[str, Callable[[Path], Any]] = {"filesystem": filesystem_blobs}
QUEUES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_queues}
RECORD_STORES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_records}
USER_STORES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_users}
