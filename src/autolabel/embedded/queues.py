"""Review queues in SQLite with the semantics of SQS standard queues plus a redrive policy."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

from autolabel.domain.errors import NotFound
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.ports import QueueMessage, ReviewQueues

SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    max_receives INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0  -- messages ever sent: the next message's order
);
CREATE TABLE IF NOT EXISTS queue_messages (
    queue TEXT NOT NULL REFERENCES queues(name) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_seq INTEGER NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, message_id)
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages(queue, dead, sent_seq);
CREATE INDEX IF NOT EXISTS queue_messages_receipt ON queue_messages(receipt);
"""


class SQLiteReviewQueues(ReviewQueues):
    def __init__(self, database: SQLiteDatabase, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        database.connection().executescript(SCHEMA)
        self.clock = clock

    def create(self, queue: str, max_receives: int = 5) -> None:
        with self.database.write() as db:
            db.execute("INSERT OR IGNORE INTO queues(name, max_receives) VALUES (?, ?)", (queue, max_receives))

    def delete_queue(self, queue: str) -> None:
        with self.database.write() as db:
            db.execute("DELETE FROM queue_messages WHERE queue = ?", (queue,))
            db.execute("DELETE FROM queues WHERE name = ?", (queue,))

    def exists(self, queue: str) -> bool:
        row = self.database.read().execute("SELECT 1 FROM queues WHERE name = ?", (queue,)).fetchone()
        return row is not None

    def _require(self, queue: str) -> int:
        row = self.database.read().execute("SELECT max_receives FROM queues WHERE name = ?", (queue,)).fetchone()
        if row is None:
            raise NotFound(f"no queue {queue!r}")
        return int(row[0])

    def send(self, queue: str, messages: Sequence[tuple[str, str]]) -> None:
        with self.database.write() as db:
            row = db.execute("SELECT sent FROM queues WHERE name = ?", (queue,)).fetchone()
            if row is None:
                raise NotFound(f"no queue {queue!r}")
            base = int(row[0])
            now = self.clock()
            # A message id already in the queue is kept as it is: re-sending after a crash
            # does not reset a reviewer's lease or receive count.
            db.executemany(
                "INSERT OR IGNORE INTO queue_messages(queue, message_id, body, sent_seq, visible_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(queue, mid, body, base + i + 1, now) for i, (mid, body) in enumerate(messages)],
            )
            db.execute("UPDATE queues SET sent = ? WHERE name = ?", (base + len(messages), queue))

    def receive(self, queue: str, visibility_s: int = 300, max_messages: int = 1) -> list[QueueMessage]:
        received: list[QueueMessage] = []
        with self.database.write() as db:
            max_receives = self._require(queue)
            now = self.clock()
            while len(received) < max_messages:
                row = db.execute(
                    "SELECT message_id, body, receive_count FROM queue_messages"
                    " WHERE queue = ? AND dead = 0 AND visible_at <= ? ORDER BY sent_seq LIMIT 1",
                    (queue, now),
                ).fetchone()
                if row is None:
                    break
                if row["receive_count"] >= max_receives:
                    # Redrive: SQS moves a message to the DLQ when it would exceed maxReceiveCount.
                    db.execute(
                        "UPDATE queue_messages SET dead = 1, receipt = NULL WHERE queue = ? AND message_id = ?",
                        (queue, row["message_id"]),
                    )
                    continue
                receipt = uuid.uuid4().hex
                count = row["receive_count"] + 1
                db.execute(
                    "UPDATE queue_messages SET receive_count = ?, visible_at = ?, receipt = ?"
                    " WHERE queue = ? AND message_id = ?",
                    (count, now + visibility_s, receipt, queue, row["message_id"]),
                )
                received.append(QueueMessage(row["message_id"], row["body"], receipt, count))
        return received

    def delete(self, queue: str, receipt: str) -> None:
        with self.database.write() as db:
            db.execute("DELETE FROM queue_messages WHERE queue = ? AND receipt = ?", (queue, receipt))

    def depth(self, queue: str) -> int:
        self._require(queue)
        row = (
            self.database.read()
            .execute("SELECT COUNT(*) FROM queue_messages WHERE queue = ? AND dead = 0", (queue,))
            .fetchone()
        )
        return int(row[0])

    def dead_letters(self, queue: str) -> list[QueueMessage]:
        self._require(queue)
        rows = (
            self.database.read()
            .execute(
                "SELECT message_id, body, receive_count FROM queue_messages"
                " WHERE queue = ? AND dead = 1 ORDER BY sent_seq",
                (queue,),
            )
            .fetchall()
        )
        return [QueueMessage(r["message_id"], r["body"], "", r["receive_count"]) for r in rows]

    def redrive(self, queue: str) -> int:
        with self.database.write() as db:
            if db.execute("SELECT 1 FROM queues WHERE name = ?", (queue,)).fetchone() is None:
                raise NotFound(f"no queue {queue!r}")
            moved = db.execute(
                "UPDATE queue_messages SET dead = 0, receive_count = 0, receipt = NULL, visible_at = ?"
                " WHERE queue = ? AND dead = 1",
                (self.clock(), queue),
            )
            return moved.rowcount
