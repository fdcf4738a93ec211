"""Who is calling: users, roles and the rules of what each role may do.

Authorization lives here, in the core, so the CLI, ``autolabel serve`` and the Lambda enforce
the same rules; transports only establish *who* the caller is (a token, a verified JWT).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from autolabel.domain.errors import Forbidden
from autolabel.domain.models import Frozen, utcnow
from autolabel.domain.names import UserName

TOKEN_PREFIX = "al_"  # noqa: S105 - a marker, not a secret


class Role(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"


class Actor(Frozen):
    """The authenticated caller of a use case."""

    name: UserName
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @classmethod
    def workspace_owner(cls) -> Actor:
        """Whoever runs the CLI on the workspace folder: they can read the database anyway."""
        return cls(name="owner", role=Role.ADMIN)

    @classmethod
    def system(cls) -> Actor:
        """autolabel itself, acting on an event nobody signed (an upload to a watched prefix)."""
        return cls(name="system", role=Role.ADMIN)

    @classmethod
    def reviewer(cls, name: str) -> Actor:
        return cls(name=name, role=Role.REVIEWER)


class User(Frozen):
    """A person who may call the API. Only a hash of their token is ever stored."""

    # A plain string, so a user stored under an older rule still loads; users.add_user checks it.
    name: str
    role: Role
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime = Field(default_factory=utcnow)

    def actor(self) -> Actor:
        return Actor(name=self.name, role=self.role)


def new_token() -> str:
    """256 random bits, URL-safe; the prefix makes leaked tokens easy to grep for."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of the token.

    A slow KDF (bcrypt, scrypt, argon2) exists to make guessing *low-entropy* passwords from a
    stolen hash expensive. These tokens carry 256 random bits: no dictionary helps, and brute
    force over 2**256 is out of reach at any hash speed, so a fast hash is as safe here — and
    lets every request be checked with one index lookup instead of ~100 ms of KDF work.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def require_admin(actor: Actor, action: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"only admins may {action}", {"role": actor.role.value, "required": Role.ADMIN.value})
