"""Contract of ReviewQueues: SQS standard-queue semantics with a redrive policy."""

from __future__ import annotations

import time

import pytest

from autolabel.domain.errors import NotFound
from autolabel.ports import ReviewQueues


def test_send_receive_delete(queues: ReviewQueues) -> None:
    queues.create("q-alice")
    queues.send("q-alice", [("m1", "item-1"), ("m2", "item-2")])
    assert queues.depth("q-alice") == 2
    first = queues.receive("q-alice", visibility_s=30)
    assert len(first) == 1 and first[0].body in {"item-1", "item-2"}
    assert first[0].receive_count == 1
    queues.delete("q-alice", first[0].receipt)
    assert queues.depth("q-alice") == 1
    second = queues.receive("q-alice", visibility_s=30)
    assert [m.body for m in second] == [({"item-1", "item-2"} - {first[0].body}).pop()]
    queues.delete("q-alice", second[0].receipt)
    assert queues.receive("q-alice", visibility_s=30) == []
    assert queues.depth("q-alice") == 0


def test_in_flight_message_is_invisible_until_its_lease_expires(queues: ReviewQueues) -> None:
    queues.create("q-lease")
    queues.send("q-lease", [("m1", "item-1")])
    leased = queues.receive("q-lease", visibility_s=1)
    assert len(leased) == 1
    assert queues.receive("q-lease", visibility_s=1) == []  # another reviewer session sees nothing
    assert queues.depth("q-lease") == 1  # in flight still counts
    time.sleep(1.3)
    again = queues.receive("q-lease", visibility_s=30)
    assert [m.body for m in again] == ["item-1"]
    assert again[0].receive_count == 2
    assert again[0].receipt != leased[0].receipt


def test_stale_receipt_is_ignored(queues: ReviewQueues) -> None:
    queues.create("q-stale")
    queues.send("q-stale", [("m1", "item-1")])
    old = queues.receive("q-stale", visibility_s=1)[0]
    time.sleep(1.3)
    new = queues.receive("q-stale", visibility_s=30)[0]
    queues.delete("q-stale", old.receipt)  # must not delete the message now leased to `new`
    assert queues.depth("q-stale") == 1
    queues.delete("q-stale", new.receipt)
    assert queues.depth("q-stale") == 0


def test_dead_letter_after_max_receives(queues: ReviewQueues) -> None:
    queues.create("q-dlq", max_receives=2)
    queues.send("q-dlq", [("m1", "poison"), ("m2", "fine")])
    seen: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        batch = queues.receive("q-dlq", visibility_s=1, max_messages=1)
        for message in batch:
            seen.append(message.body)
            if message.body == "fine":
                queues.delete("q-dlq", message.receipt)
        if not batch:
            if [m.body for m in queues.dead_letters("q-dlq")] == ["poison"]:
                break
            time.sleep(0.5)
    assert seen.count("poison") == 2
    assert [m.body for m in queues.dead_letters("q-dlq")] == ["poison"]
    assert queues.depth("q-dlq") == 0


def test_queues_are_independent(queues: ReviewQueues) -> None:
    queues.create("q-a")
    queues.create("q-b")
    queues.send("q-a", [("m1", "for-a")])
    assert queues.receive("q-b", visibility_s=30) == []
    assert [m.body for m in queues.receive("q-a", visibility_s=30)] == ["for-a"]


def test_create_is_idempotent_and_delete_removes(queues: ReviewQueues) -> None:
    queues.create("q-x")
    queues.send("q-x", [("m1", "keep")])
    queues.create("q-x")
    assert queues.depth("q-x") == 1
    queues.delete_queue("q-x")
    assert not queues.exists("q-x")
    with pytest.raises(NotFound):
        queues.send("q-x", [("m2", "lost")])


def test_missing_queue_is_not_found(queues: ReviewQueues) -> None:
    with pytest.raises(NotFound):
        queues.receive("q-missing", visibility_s=30)
    with pytest.raises(NotFound):
        queues.depth("q-missing")


def test_batch_send_of_many(queues: ReviewQueues) -> None:
    queues.create("q-many")
    queues.send("q-many", [(f"m{i}", f"item-{i}") for i in range(25)])
    bodies: set[str] = set()
    for _ in range(40):
        for message in queues.receive("q-many", visibility_s=30, max_messages=10):
            bodies.add(message.body)
            queues.delete("q-many", message.receipt)
        if len(bodies) == 25:
            break
    assert bodies == {f"item-{i}" for i in range(25)}


def test_redrive_moves_dead_letters_back_as_new_messages(queues: ReviewQueues) -> None:
    queues.create("q-redrive", max_receives=1)
    queues.send("q-redrive", [("ri_1", "item-1"), ("ri_2", "item-2"), ("ri_3", "item-3")])
    deadline = time.monotonic() + 15
    while len(queues.dead_letters("q-redrive")) < 3 and time.monotonic() < deadline:
        queues.receive("q-redrive", visibility_s=0, max_messages=10)  # leases that lapse at once
    assert sorted(m.body for m in queues.dead_letters("q-redrive")) == ["item-1", "item-2", "item-3"]
    assert queues.redrive("q-redrive") == 3
    assert queues.dead_letters("q-redrive") == []
    back = queues.receive("q-redrive", visibility_s=30, max_messages=10)
    deadline = time.monotonic() + 5
    while len(back) < 3 and time.monotonic() < deadline:
        back += queues.receive("q-redrive", visibility_s=30, max_messages=10)
    assert sorted((m.message_id, m.body, m.receive_count) for m in back) == [
        ("ri_1", "item-1", 1),
        ("ri_2", "item-2", 1),
        ("ri_3", "item-3", 1),
    ]
    assert queues.redrive("q-redrive") == 0


def test_redrive_of_a_missing_queue_is_not_found(queues: ReviewQueues) -> None:
    with pytest.raises(NotFound):
        queues.redrive("q-nowhere")
