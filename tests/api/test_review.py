"""Review over HTTP: leases, decisions, races, bulk accept, re-review lists."""

from __future__ import annotations

import threading
from collections import Counter

from autolabel.app.input_manager import every_annotation
from autolabel.domain.models import AnnotationStatus, ReviewItem, ReviewState
from autolabel.ports import AnnotationQuery
from tests.api.conftest import Served, World, add_inputs, record_run, seed_task


def test_racing_decisions_one_wins_one_gets_409(world: World, served: Served) -> None:
    """Two decisions on one item sent at the same moment over real connections: one 200, one 409."""
    task, items = seed_task(world, reviewers=("alice",), scores=[[0.5]] * 8)
    token = world.tokens["alice"]
    for item in items:
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def decide(kind: str, item_id: str, barrier: threading.Barrier, statuses: list[int]) -> None:
            barrier.wait()
            statuses.append(served.request("POST", f"/review/items/{item_id}/{kind}", {}, token).status)

        threads = [
            threading.Thread(target=decide, args=(kind, item.id, barrier, statuses)) for kind in ("accept", "reject")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409], statuses
        stored = world.backends.records.get_review_item(item.id)
        assert stored.state == ReviewState.DECIDED and stored.decided_by == "alice"
    decided = every_annotation(world.backends, AnnotationQuery(task_id=task.id, labelers=["alice"]))
    assert len(decided) == len(items)  # one decision's annotations per item, never both


def test_a_second_decision_names_the_first(world: World) -> None:
    _, items = seed_task(world, reviewers=("alice",), scores=[[0.5]])
    alice = world.client("alice")
    assert alice.post(f"/review/items/{items[0].id}/reject").status == 200
    reply = alice.post(f"/review/items/{items[0].id}/accept")
    assert reply.status == 409
    assert reply.body["error"] == "conflict" and reply.body["details"] == {"decision": "reject", "decided_by": "alice"}


def test_next_leases_and_the_lease_hides_the_item(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",), scores=[[0.5], [0.6]])
    alice = world.client("alice")
    first = alice.post(f"/tasks/{task.id}/review/next").body["item"]
    second = alice.post(f"/tasks/{task.id}/review/next").body["item"]
    assert {first["item"]["id"], second["item"]["id"]} == {i.id for i in items}
    assert first["lease_expires_at"] and first["input"]["id"] == first["item"]["input_id"]
    assert first["remaining"] == 2  # both still to decide: one leased, one waiting
    assert [a["status"] for a in first["flagged"]] == ["AWAITING_REVIEW"]
    assert alice.post(f"/tasks/{task.id}/review/next").body == {"item": None}
    assert alice.post(f"/review/items/{first['item']['id']}/accept").status == 200
    assert alice.get(f"/review/items/{second['item']['id']}").body["remaining"] == 1


def test_accept_some_and_edit(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",), scores=[[0.5, 0.6, 0.7], [0.5, 0.6]])
    alice = world.client("alice")
    first, second = items
    reply = alice.post(f"/review/items/{first.id}/accept", {"prediction_ids": [first.prediction_ids[0]]})
    assert reply.status == 200
    by_prediction = {a["prediction_id"]: a["status"] for a in reply.body["annotations"]}
    assert by_prediction == {
        first.prediction_ids[0]: "SUCCESS",
        first.prediction_ids[1]: "REJECTED",
        first.prediction_ids[2]: "REJECTED",
    }
    edit = {"prediction_id": second.prediction_ids[0], "concept": "dog", "box": {"x": 1, "y": 1, "w": 5, "h": 6}}
    reply = alice.post(f"/review/items/{second.id}/edit", {"edits": [edit]})
    assert reply.status == 200
    edited = next(a for a in reply.body["annotations"] if a["prediction_id"] == second.prediction_ids[0])
    assert edited["concept"] == "dog" and edited["geometry"] == {"type": "box", "x": 1.0, "y": 1.0, "w": 5.0, "h": 6.0}
    assert edited["labeled_by"] == {"kind": "reviewer", "id": "alice", "version": None}
    assert world.client("root").get(f"/tasks/{task.id}").body["summary"]["percent_reviewed"] == 100.0


def test_bulk_accept_takes_only_the_callers_items_at_or_above_the_score(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice", "bob"), scores=[[0.8], [0.8], [0.5], [0.85], [0.8, 0.45]])
    alice = world.client("alice")
    job = alice.finished(alice.post(f"/tasks/{task.id}/review/bulk-accept", {"min_score": 0.8}))
    alices = [i for i in items if i.reviewer == "alice"]
    expected = [i.id for i in alices if min(_scores(world, i)) >= 0.8]
    accepted = [i.id for i in alices if world.backends.records.get_review_item(i.id).state == ReviewState.DECIDED]
    assert sorted(accepted) == sorted(expected) and expected
    assert job["result"]["accepted"] == len(expected)
    assert job["result"]["skipped_below_score"] == len(alices) - len(expected)
    for item in items:
        state = world.backends.records.get_review_item(item.id).state
        assert state == (ReviewState.DECIDED if item.id in expected else ReviewState.PENDING)


def _scores(world: World, item: ReviewItem) -> list[float]:
    predictions = world.backends.records.predictions(item.task_id, item.input_id)
    return [p.score for p in predictions if p.id in item.prediction_ids]


def test_items_by_labeler_for_re_review(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice", "bob"))
    for item in items:
        assert world.client(item.reviewer).post(f"/review/items/{item.id}/accept").status == 200
    by_alice = sorted(i.id for i in items if i.reviewer == "alice")
    root_view = world.client("root").get(f"/tasks/{task.id}/review/items?labeler=alice").body
    assert sorted(i["id"] for i in root_view["items"]) == by_alice
    # bob asking about alice's labels gets nothing of alice's partition.
    assert world.client("bob").get(f"/tasks/{task.id}/review/items?labeler=alice").body["items"] == []
    model = f"{task.model_id}@{task.model_version}"
    mine = world.client("bob").get(f"/tasks/{task.id}/review/items?labeler={model}&limit=1")
    assert mine.status == 200 and all(i["reviewer"] == "bob" for i in mine.body["items"])


def test_changing_reviewers_keeps_assignments_and_spreads_new_items_evenly(world: World) -> None:
    task, first = seed_task(world, reviewers=("alice", "bob"), scores=[[0.5]] * 3)
    root = world.client("root")
    reply = root.patch(f"/tasks/{task.id}", {"reviewers": [{"name": "bob"}, {"name": "eve"}]})
    assert reply.status == 200 and reply.body["reviewers_from_sequence"] == 3
    # More inputs need review after the change (a resumed run, a rethreshold...).
    extra = add_inputs(world, "photos", "more", 6)
    # The runner holds the task as it was when the run started: the stored reviewers win.
    created = record_run(world, task, extra, [[0.5]] * 6)
    assert [i.reviewer for i in created] == ["bob", "eve"] * 3
    assert Counter(i.reviewer for i in created) == Counter({"bob": 3, "eve": 3})
    # Items assigned before the change stay put, alice's included, and alice may still finish them.
    assert [world.backends.records.get_review_item(i.id).reviewer for i in first] == [i.reviewer for i in first]
    alices = next(i for i in first if i.reviewer == "alice")
    leased = world.client("alice").post(f"/tasks/{task.id}/review/next").body["item"]["item"]
    assert leased["reviewer"] == "alice" and leased["sequence"] < 3
    assert world.client("alice").post(f"/review/items/{alices.id}/accept").status == 200
    newcomers = world.client("eve").post(f"/tasks/{task.id}/review/next").body["item"]["item"]
    assert newcomers["reviewer"] == "eve" and newcomers["sequence"] >= 3
    assert world.client("eve").post(f"/review/items/{alices.id}/accept").status == 403


def test_rethreshold_over_http_keeps_decisions(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",), scores=[[0.5], [0.6]])
    world.client("alice").post(f"/review/items/{items[0].id}/reject")
    root = world.client("root")
    job = root.finished(root.post(f"/tasks/{task.id}/rethreshold", {"thresholds": {"upper": 0.55, "lower": 0.3}}))
    assert job["state"] == "succeeded" and job["result"]["thresholds"] == {"upper": 0.55, "lower": 0.3}
    assert root.get(f"/tasks/{task.id}").body["task"]["thresholds"] == {"upper": 0.55, "lower": 0.3}
    statuses = {a.input_id: a.status for a in every_annotation(world.backends, AnnotationQuery(task_id=task.id))}
    assert statuses[items[0].input_id] == AnnotationStatus.REJECTED  # alice's decision stands
    assert statuses[items[1].input_id] == AnnotationStatus.SUCCESS  # 0.6 >= new upper
