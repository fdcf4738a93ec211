"""A small SQLite helper: one connection per thread, WAL, and explicit write transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SQLiteDatabase:
    """Connections to one database file, shared by the adapters that live in it.

    WAL lets readers (``task status``, the HTTP server) run while a run writes; ``BEGIN
    IMMEDIATE`` takes the write lock up front so two writers queue instead of failing midway.
    """

    def __init__(self, path: Path | str, schema: str = "", checkpoint_every_s: float | None = None) -> None:
        self.path = str(path)
        # A WAL checkpoint copies the log into the database and fsyncs it: 100-300 ms here,
        # paid by whichever commit crosses the threshold. A batch run does not mind; a server
        # does (it was the whole p99 of the review API), so it checkpoints from a thread of its
        # own instead, concurrently with writers (PASSIVE never blocks them).
        self._autocheckpoint_pages = 0 if checkpoint_every_s else 10000
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Writers of this process queue here: a thread waiting on this lock wakes the moment
        # the writer before it commits, while SQLite's busy handler (still what orders writers
        # of different processes) sleeps in steps of up to 100 ms, which under a threaded
        # server's load turned into the latency tail.
        self._write_lock = threading.Lock()
        self._schema = schema
        if schema:
            # executescript commits on its own; the schema is idempotent (IF NOT EXISTS).
            self.connection().executescript(schema)
        if checkpoint_every_s:
            threading.Thread(
                target=self._checkpoint_forever, args=(checkpoint_every_s,), name="wal-checkpoint", daemon=True
            ).start()

    def _checkpoint_forever(self, every_s: float) -> None:
        while True:
            time.sleep(every_s)
            try:
                self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                continue  # busy or closing: the next round catches up

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA busy_timeout=30000")
            # Checkpoint (and fsync) every ~40 MB of WAL rather than every 4 MB: checkpoints
            # dominated the cost of recording a batch. NORMAL sync in WAL mode stays durable
            # against application crashes; a power cut may lose the last batches, which a
            # resumed run simply processes again.
            connection.execute(f"PRAGMA wal_autocheckpoint={self._autocheckpoint_pages}")
            self._local.connection = connection
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
        with self._write_lock:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            else:
                connection.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self.connection()

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
