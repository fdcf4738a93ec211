"""Review queue names: distinct reviewers of a task never share a queue, every name is one SQS
accepts (with the DLQ suffix), and tasks created under the first rule keep their queues."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autolabel.domain import ids, names
from autolabel.domain.queues import (
    DEAD_LETTER_SUFFIX,
    MAX_PREFIX,
    MAX_QUEUE_NAME,
    NAMING_FIRST,
    NAMING_HASHED,
    check_prefix,
    legacy_review_queue_name,
    queue_of,
    review_queue_name,
)

SQS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
prefixes = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-", max_size=MAX_PREFIX)
reviewers = st.text(min_size=1, max_size=200)  # stored names may predate today's name rule
people = st.from_regex(names.PERSON.pattern, fullmatch=True)
task_ids = st.builds(lambda _n: ids.new_id("task"), st.integers())


def valid(name: str) -> bool:
    return bool(SQS_NAME.fullmatch(name)) and len(name + DEAD_LETTER_SUFFIX) <= MAX_QUEUE_NAME


@given(prefixes, task_ids, st.lists(reviewers, min_size=2, max_size=8, unique=True))
def test_distinct_reviewers_get_distinct_valid_queues(prefix: str, task_id: str, names_: list[str]) -> None:
    queues = [review_queue_name(prefix, task_id, n) for n in names_]
    assert len(set(queues)) == len(names_)
    assert all(valid(q) and q.startswith(prefix + task_id) for q in queues)


@given(prefixes, task_ids, people, people)
def test_names_that_read_alike_still_differ(prefix: str, task_id: str, a: str, b: str) -> None:
    if a != b:
        assert review_queue_name(prefix, task_id, a) != review_queue_name(prefix, task_id, b)


def test_the_first_rule_collided_and_the_hashed_one_does_not() -> None:
    task = ids.new_id("task")
    assert legacy_review_queue_name("", task, "a.b") == legacy_review_queue_name("", task, "a-b")
    assert review_queue_name("", task, "a.b") != review_queue_name("", task, "a-b")
    long_a, long_b = "x" * 64, "x" * 63 + "y"  # equal after truncation
    assert review_queue_name("al-", task, long_a) != review_queue_name("al-", task, long_b)
    assert review_queue_name("al-", task, "alice").startswith(f"al-{task}-alice-")


def test_the_same_reviewer_of_two_tasks_gets_two_queues() -> None:
    one, two = ids.new_id("task"), ids.new_id("task")
    assert review_queue_name("al-", one, "alice") != review_queue_name("al-", two, "alice")


def test_tasks_keep_the_rule_they_were_created_under() -> None:
    task = ids.new_id("task")
    # The first rule's names, exactly as the adapters made them before: embedded "al-<task>-<name>",
    # AWS with the stack's prefix in front ("al-al-<task>-<name>").
    assert queue_of("", task, NAMING_FIRST, "bo.b") == f"al-{task}-bo-b"
    assert queue_of("al-", task, NAMING_FIRST, "bob") == f"al-al-{task}-bob"
    assert queue_of("al-", task, NAMING_HASHED, "bob") == review_queue_name("al-", task, "bob")


@pytest.mark.parametrize("prefix", ["x" * (MAX_PREFIX + 1), "al.", "al-*", "a/b"])
def test_prefixes_are_checked(prefix: str) -> None:
    with pytest.raises(ValueError, match="queue prefix"):
        check_prefix(prefix)


def test_the_aws_world_refuses_a_prefix_no_queue_name_could_start_with() -> None:
    from pydantic import ValidationError

    from autolabel.aws.settings import Settings

    assert Settings(table="tbl", bucket="bkt", queue_prefix="al-prod-").queue_prefix == "al-prod-"
    with pytest.raises(ValidationError):
        Settings(table="tbl", bucket="bkt", queue_prefix="al.prod")
