"""Partitioned review: balance, determinism and stability of reviewer assignment."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autolabel.domain import errors
from autolabel.domain.models import Reviewer
from autolabel.domain.partition import assign, reviewer_for

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def equal(n: int) -> list[Reviewer]:
    return [Reviewer(name=name) for name in NAMES[:n]]


equal_reviewers = st.integers(min_value=1, max_value=8).map(equal)
weighted_reviewers = st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=8).map(
    lambda weights: [Reviewer(name=NAMES[i], weight=w) for i, w in enumerate(weights)]
)
any_reviewers = st.one_of(equal_reviewers, weighted_reviewers)
counts = st.integers(min_value=0, max_value=500)


# --------------------------------------------------------------------------- balance


@given(reviewers=equal_reviewers, n=counts)
def test_equal_weights_counts_differ_by_at_most_one(reviewers: list[Reviewer], n: int) -> None:
    result = assign(n, reviewers)
    assert len(result) == n
    tally = Counter(result)
    per_reviewer = [tally.get(r.name, 0) for r in reviewers]
    assert sum(per_reviewer) == n
    assert max(per_reviewer) - min(per_reviewer) <= 1


@given(reviewers=equal_reviewers, n=counts)
def test_equal_weights_every_prefix_balanced(reviewers: list[Reviewer], n: int) -> None:
    result = assign(n, reviewers)
    tally = dict.fromkeys((r.name for r in reviewers), 0)
    for name in result:
        tally[name] += 1
        assert max(tally.values()) - min(tally.values()) <= 1


@settings(max_examples=200)
@given(reviewers=weighted_reviewers, n=counts)
def test_weighted_every_prefix_within_one_of_share(reviewers: list[Reviewer], n: int) -> None:
    total = sum(r.weight for r in reviewers)
    result = assign(n, reviewers)
    tally = dict.fromkeys((r.name for r in reviewers), 0)
    for m, name in enumerate(result, start=1):
        tally[name] += 1
        for r in reviewers:
            assert abs(tally[r.name] - Fraction(m * r.weight, total)) <= 1, (m, r, tally)


@given(reviewers=weighted_reviewers)
def test_weighted_full_cycle_is_exact(reviewers: list[Reviewer]) -> None:
    total = sum(r.weight for r in reviewers)
    tally = Counter(assign(3 * total, reviewers))
    assert {r.name: tally[r.name] for r in reviewers} == {r.name: 3 * r.weight for r in reviewers}


def test_weighted_example() -> None:
    reviewers = [Reviewer(name="alice", weight=3), Reviewer(name="bob", weight=1)]
    result = assign(8, reviewers)
    assert Counter(result) == {"alice": 6, "bob": 2}
    # Smooth: bob is not starved to the end of the cycle.
    assert "bob" in result[:4]


# --------------------------------------------------------------------------- determinism and stability


@given(reviewers=any_reviewers, n=counts)
def test_deterministic(reviewers: list[Reviewer], n: int) -> None:
    assert assign(n, reviewers) == assign(n, reviewers)
    # A fresh but equal reviewer list gives the same answer too.
    copy = [Reviewer(name=r.name, weight=r.weight) for r in reviewers]
    assert assign(n, copy) == assign(n, reviewers)


@given(reviewers=any_reviewers, n=counts, k=st.integers(min_value=0, max_value=200))
def test_later_batch_never_moves_earlier_items(reviewers: list[Reviewer], n: int, k: int) -> None:
    assert assign(n + k, reviewers)[:n] == assign(n, reviewers)


@given(reviewers=any_reviewers, s=counts, k=st.integers(min_value=0, max_value=200))
def test_start_offset_equals_slice(reviewers: list[Reviewer], s: int, k: int) -> None:
    assert assign(k, reviewers, start=s) == assign(s + k, reviewers)[s : s + k]


@given(reviewers=any_reviewers, seq=st.integers(min_value=0, max_value=10_000))
def test_reviewer_for_matches_assign(reviewers: list[Reviewer], seq: int) -> None:
    assert reviewer_for(seq, reviewers) == assign(1, reviewers, start=seq)[0]


@given(reviewers=any_reviewers, n=counts)
def test_one_reviewer_per_item_from_the_list(reviewers: list[Reviewer], n: int) -> None:
    names = {r.name for r in reviewers}
    result = assign(n, reviewers)
    assert len(result) == n
    assert all(isinstance(name, str) and name in names for name in result)


@given(reviewers=any_reviewers)
def test_every_reviewer_gets_work_within_a_cycle(reviewers: list[Reviewer]) -> None:
    total = sum(r.weight for r in reviewers)
    assert set(assign(total, reviewers)) == {r.name for r in reviewers}


# --------------------------------------------------------------------------- edges


def test_empty_reviewer_list_raises_validation_error() -> None:
    with pytest.raises(errors.ValidationError):
        assign(1, [])
    with pytest.raises(errors.ValidationError):
        reviewer_for(0, [])


def test_zero_items_need_no_reviewer() -> None:
    assert assign(0, equal(3)) == []


def test_negative_sequence_rejected() -> None:
    with pytest.raises(ValueError, match="sequence"):
        reviewer_for(-1, equal(2))


def test_single_reviewer_gets_everything() -> None:
    assert assign(5, [Reviewer(name="solo", weight=7)]) == ["solo"] * 5


def test_tie_break_first_listed_gets_item_zero() -> None:
    # Documented: ties go to the reviewer listed first.
    assert reviewer_for(0, [Reviewer(name="zed"), Reviewer(name="amy")]) == "zed"
    assert reviewer_for(0, [Reviewer(name="amy"), Reviewer(name="zed")]) == "amy"
    assert assign(4, [Reviewer(name="zed"), Reviewer(name="amy")]) == ["zed", "amy", "zed", "amy"]
    assert assign(3, equal(3)) == ["alice", "bob", "carol"]


def test_tie_break_with_equal_non_unit_weights() -> None:
    reviewers = [Reviewer(name="zed", weight=2), Reviewer(name="amy", weight=2)]
    assert assign(4, reviewers) == ["zed", "amy", "zed", "amy"]


def test_heavier_reviewer_goes_first_over_list_order() -> None:
    assert reviewer_for(0, [Reviewer(name="light", weight=1), Reviewer(name="heavy", weight=2)]) == "heavy"


def test_list_order_matters_for_assignment() -> None:
    ab = assign(10, [Reviewer(name="a"), Reviewer(name="b")])
    ba = assign(10, [Reviewer(name="b"), Reviewer(name="a")])
    assert ab != ba


def test_a_changed_reviewer_set_is_balanced_from_its_first_item() -> None:
    from autolabel.domain.models import Task, Thresholds
    from autolabel.domain.partition import reviewer_for_task

    task = Task(
        id="task_1", name="t", dataset_id="ds", model_id="m", model_version="1", concepts=["cat"],
        thresholds=Thresholds(upper=0.8, lower=0.4),
        reviewers=[Reviewer(name="carol"), Reviewer(name="dave", weight=2)], reviewers_from_sequence=7,
    )  # fmt: skip
    # Starting at 7 as if it were 0: without the offset, 7 % 3 would start mid-pattern.
    assert [reviewer_for_task(task, n) for n in range(7, 13)] == assign(6, task.reviewers)
    with pytest.raises(ValueError):
        reviewer_for_task(task, 6)
