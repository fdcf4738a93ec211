"""Tokens, hashes and the admin rule."""

from __future__ import annotations

import pytest

from autolabel.domain.errors import Forbidden
from autolabel.domain.users import Actor, Role, new_token, require_admin, token_hash


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert token.startswith("al_") and len(token) >= 40
    digest = token_hash(token)
    assert len(digest) == 64 and token not in digest
    assert token_hash(token) == digest and token_hash(token + "x") != digest


def test_only_admins_pass_require_admin() -> None:
    require_admin(Actor(name="root", role=Role.ADMIN), "create tasks")
    with pytest.raises(Forbidden, match="only admins may create tasks"):
        require_admin(Actor.reviewer("alice"), "create tasks")
