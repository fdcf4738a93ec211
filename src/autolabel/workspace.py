"""The embedded world: a workspace folder holding blobs and one SQLite database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autolabel.embedded.blobs import FileBlobStore
from autolabel.embedded.queues import SQLiteReviewQueues
from autolabel.embedded.records import SQLiteRecordStore
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.embedded.users import SQLiteUserStore
from autolabel.ports import BlobStore, RecordStore, ReviewQueues, UserStore


def default_home() -> Path:
    return Path(os.environ.get("AUTOLABEL_HOME", ".autolabel")).resolve()


@dataclass
class Backends:
    records: RecordStore
    blobs: BlobStore
    queues: ReviewQueues
    users: UserStore | None = None  # None where callers are identified elsewhere (JWT on AWS)


def embedded(home: Path | None = None, serving: bool = False) -> Backends:
    """The workspace's backends; ``serving`` keeps WAL checkpoints off the request path."""
    home = home or default_home()
    home.mkdir(parents=True, exist_ok=True)
    database = SQLiteDatabase(home / "autolabel.sqlite3", checkpoint_every_s=1.0 if serving else None)
    return Backends(
        SQLiteRecordStore(database),
        FileBlobStore(home / "blobs"),
        SQLiteReviewQueues(database),
        SQLiteUserStore(database),
    )
