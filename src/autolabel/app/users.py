"""People who may call the API: adding and removing them, and who a bearer token belongs to."""

from __future__ import annotations

from pydantic import BaseModel

from autolabel.domain import names
from autolabel.domain.errors import Unauthorized
from autolabel.domain.users import Actor, Role, User, new_token, require_admin, token_hash
from autolabel.ports import Backends, UserStore


class NewUser(BaseModel):
    """A user just created, with their token: shown once, never stored (only its hash is)."""

    user: User
    token: str


def _store(backends: Backends) -> UserStore:
    if backends.users is None:
        raise Unauthorized("this deployment identifies callers by JWT; it keeps no user tokens")
    return backends.users


def add_user(backends: Backends, actor: Actor, name: str, role: Role) -> NewUser:
    require_admin(actor, "add users")
    token = new_token()
    user = User(name=names.PERSON.check(name), role=role, token_sha256=token_hash(token))
    _store(backends).add_user(user)
    return NewUser(user=user, token=token)


def list_users(backends: Backends, actor: Actor) -> list[User]:
    require_admin(actor, "list users")
    return _store(backends).list_users()


def remove_user(backends: Backends, actor: Actor, name: str) -> None:
    """The user's token stops working at once."""
    require_admin(actor, "remove users")
    _store(backends).delete_user(name)


def authenticate(backends: Backends, token: str | None) -> Actor:
    if not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    user = _store(backends).find_by_token_hash(token_hash(token))
    if user is None:
        raise Unauthorized("unknown or revoked token")
    return user.actor()
