"""A small SQLite helper: one connection per thread, WAL, and explicit write transactions.

SQLite's failures that are about the workspace rather than a bug — a file that is not a
database, a lock held too long, a full disk, a read-only file — become the domain's
``WorkspaceUnavailable`` errors with what to do, when a connection opens and around every write.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autolabel.domain.errors import CorruptWorkspace, DiskFull, WorkspaceLocked, WorkspaceUnavailable

# How long a writer waits for another process's write lock before giving up with a message.
DEFAULT_LOCK_TIMEOUT_S = 30.0
# Kept free next to the database and given up when a write finds the disk full, so that what
# must be written after the failure (the task's Failed status) still fits.
RESERVE_BYTES = 512 * 1024


def translated(exc: sqlite3.Error, path: str, lock_timeout_s: float) -> Exception:
    """The domain error for an SQLite failure about the workspace itself, or ``exc`` unchanged."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return CorruptWorkspace(
            f"the workspace database {path} is corrupt ({exc}): restore it from a backup, or move the "
            "workspace folder aside and start a new one",
            {"path": path},
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return WorkspaceLocked(
            f"the workspace database {path} is locked by another process (waited {lock_timeout_s:g} s): "
            "let it finish, or stop it, and try again",
            {"path": path},
        )
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _nearly_full(path)):
        # SQLite reports a full disk as SQLITE_FULL when it extends a file, but as a plain I/O
        # error when it creates or maps its log files: the free space tells which.
        return DiskFull(
            f"disk full: cannot write the workspace database {path}; free some space and run the same command again",
            {"path": path},
        )
    if primary == sqlite3.SQLITE_READONLY:
        return WorkspaceUnavailable(
            f"the workspace database {path} is read-only: make it and its folder writable", {"path": path}
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return WorkspaceUnavailable(
            f"cannot open the workspace database {path}: check that its folder exists and is writable",
            {"path": path},
        )
    if primary == sqlite3.SQLITE_IOERR:
        return WorkspaceUnavailable(
            f"the disk under the workspace database {path} failed a read or write ({exc}): check the disk",
            {"path": path},
        )
    return exc


def _nearly_full(path: str) -> bool:
    try:
        usage = os.statvfs(Path(path).parent)
    except OSError:
        return False
    return usage.f_bavail * usage.f_frsize < RESERVE_BYTES


class SQLiteDatabase:
    """Connections to one database file, shared by the adapters that live in it.

    WAL lets readers (``task status``, the HTTP server) run while a run writes; ``BEGIN
    IMMEDIATE`` takes the write lock up front so two writers queue instead of failing midway.
    """

    def __init__(
        self,
        path: Path | str,
        schema: str = "",
        checkpoint_every_s: float | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        self.path = str(path)
        self.lock_timeout_s = lock_timeout_s
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
        self._reserve = Path(self.path + ".reserve") if self.path != ":memory:" else None
        self._reserve_made = False
        if schema:
            # executescript commits on its own; the schema is idempotent (IF NOT EXISTS).
            with self._translating():
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

    def _keep_reserve(self) -> None:
        """Create the reserve if it is missing and there is room (best effort: a full disk is
        reported by the write that hits it, not here)."""
        if self._reserve is None or self._reserve_made:
            return
        if self._reserve.exists():
            self._reserve_made = True
            return
        try:
            with self._reserve.open("wb") as out:
                out.write(b"\0" * RESERVE_BYTES)  # zeros written, not a sparse file: the blocks are taken
                out.flush()
                os.fsync(out.fileno())
            self._reserve_made = True
        except OSError:
            self._reserve.unlink(missing_ok=True)

    def _release_reserve(self) -> None:
        if self._reserve is not None:
            self._reserve.unlink(missing_ok=True)
            self._reserve_made = False

    @contextmanager
    def _translating(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            error = translated(exc, self.path, self.lock_timeout_s)
            if isinstance(error, DiskFull):
                self._release_reserve()
            if error is exc:
                raise
            raise error from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._release_reserve()
            raise

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            with self._translating():
                connection = self._connect()
            self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self.lock_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(f"PRAGMA busy_timeout={int(self.lock_timeout_s * 1000)}")
            # Checkpoint (and fsync) every ~40 MB of WAL rather than every 4 MB: checkpoints
            # dominated the cost of recording a batch. NORMAL sync in WAL mode stays durable
            # against application crashes; a power cut may lose the last batches, which a
            # resumed run simply processes again.
            connection.execute(f"PRAGMA wal_autocheckpoint={self._autocheckpoint_pages}")
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
        with self._write_lock, self._translating():
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:  # SQLite may have rolled back already (a full disk)
                    connection.execute("ROLLBACK")
                raise
            else:
                try:
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
        # After a write that worked (never on opening a workspace that may be refused): the
        # reserve is re-made once space allows, e.g. after one was given up.
        self._keep_reserve()

    def read(self) -> sqlite3.Connection:
        return self.connection()

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
