"""Contract of UserStore: every adapter passes these."""

from __future__ import annotations

import pytest

from autolabel.domain.errors import Conflict, NotFound
from autolabel.domain.users import Role, User, new_token, token_hash
from autolabel.ports import UserStore


def make_user(name: str, role: Role = Role.REVIEWER) -> tuple[User, str]:
    token = new_token()
    return User(name=name, role=role, token_sha256=token_hash(token)), token


def test_users_are_found_by_name_and_by_token_hash(users: UserStore) -> None:
    alice, alice_token = make_user("alice")
    root, _ = make_user("root", Role.ADMIN)
    users.add_user(alice)
    users.add_user(root)
    assert users.get_user("alice") == alice
    assert users.find_by_token_hash(token_hash(alice_token)) == alice
    assert users.find_by_token_hash(token_hash("al_not-a-token")) is None
    assert [u.name for u in users.list_users()] == ["alice", "root"]


def test_a_taken_name_conflicts_and_keeps_the_first_user(users: UserStore) -> None:
    first, first_token = make_user("bob")
    second, second_token = make_user("bob", Role.ADMIN)
    users.add_user(first)
    with pytest.raises(Conflict):
        users.add_user(second)
    assert users.get_user("bob") == first
    assert users.find_by_token_hash(token_hash(first_token)) == first
    assert users.find_by_token_hash(token_hash(second_token)) is None


def test_deleting_a_user_revokes_their_token(users: UserStore) -> None:
    carol, token = make_user("carol")
    users.add_user(carol)
    users.delete_user("carol")
    assert users.find_by_token_hash(token_hash(token)) is None
    with pytest.raises(NotFound):
        users.get_user("carol")
    with pytest.raises(NotFound):
        users.delete_user("carol")
