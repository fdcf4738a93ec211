"""Users in SQLite: one row per user, found by name or by the hash of their token."""

from __future__ import annotations

import sqlite3

from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.users import User
from autolabel.embedded.sqlite import SQLiteDatabase
from autolabel.ports import UserStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, body TEXT NOT NULL
);
"""


class SQLiteUserStore(UserStore):
    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = database
        database.connection().executescript(SCHEMA)

    def add_user(self, user: User) -> None:
        with self.database.write() as db:
            try:
                db.execute(
                    "INSERT INTO users(name, token_sha256, body) VALUES (?, ?, ?)",
                    (user.name, user.token_sha256, user.model_dump_json()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a user named '{user.name}' already exists", {"user": user.name}) from None

    def get_user(self, name: str) -> User:
        row = self.database.read().execute("SELECT body FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no user named '{name}'", {"user": name})
        return User.model_validate_json(row[0])

    def find_by_token_hash(self, token_sha256: str) -> User | None:
        row = self.database.read().execute("SELECT body FROM users WHERE token_sha256 = ?", (token_sha256,)).fetchone()
        return None if row is None else User.model_validate_json(row[0])

    def list_users(self) -> list[User]:
        rows = self.database.read().execute("SELECT body FROM users ORDER BY name").fetchall()
        return [User.model_validate_json(r[0]) for r in rows]

    def delete_user(self, name: str) -> None:
        with self.database.write() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no user named '{name}'", {"user": name})
