"""Review queues through the API: dead-lettered items come back with a redrive (admins only),
reviewers whose names read alike get their own queues, and a task created under the first
naming rule still finds the queues a workspace holds under those names."""

from __future__ import annotations

from autolabel import bootstrap
from autolabel.app.review import queue_of
from autolabel.domain import ids
from autolabel.domain.models import Reviewer, Task, Thresholds
from autolabel.ports import ReviewQueues
from tests.api.conftest import World, add_inputs, record_run, seed_task


def dead_letter_everything(queues: ReviewQueues, queue: str) -> int:
    """Let every lease lapse until the queue's messages sit in its dead-letter queue."""
    for _ in range(20):
        if not queues.receive(queue, visibility_s=0, max_messages=10):
            break
    return len(queues.dead_letters(queue))


def test_redrive_moves_dead_letters_back_to_their_reviewers(world: World) -> None:
    task, items = seed_task(world)
    queue = queue_of(world.backends, task, "alice")
    dead = dead_letter_everything(world.backends.queues, queue)
    assert dead == sum(1 for i in items if i.reviewer == "alice") > 0
    alice = world.client("alice")
    assert alice.post("/tasks/t/review/next").body["item"] is None  # nothing left to lease
    assert alice.post("/tasks/t/review/redrive").status == 403
    reply = world.client("root").post("/tasks/t/review/redrive")
    assert reply.status == 200, reply
    assert reply.body == {"task_id": task.id, "moved": dead, "by_reviewer": {"alice": dead, "bob": 0}}
    assert world.backends.queues.dead_letters(queue) == []
    leased = alice.post("/tasks/t/review/next").body["item"]
    assert leased is not None and leased["item"]["reviewer"] == "alice"
    assert world.client("root").post("/tasks/t/review/redrive").body["moved"] == 0  # nothing left


def test_reviewers_whose_names_read_alike_get_their_own_queues(world: World) -> None:
    from autolabel.app import users
    from autolabel.domain.users import Actor, Role

    for name in ("a.b", "a-b"):
        world.tokens[name] = users.add_user(world.backends, Actor.workspace_owner(), name, Role.REVIEWER).token
    task, items = seed_task(world, reviewers=("a.b", "a-b"))
    assert queue_of(world.backends, task, "a.b") != queue_of(world.backends, task, "a-b")
    for name in ("a.b", "a-b"):
        mine = {i.id for i in items if i.reviewer == name}
        got = set()
        while (leased := world.client(name).post("/tasks/t/review/next").body["item"]) is not None:
            got.add(leased["item"]["id"])
            world.client(name).post(f"/review/items/{leased['item']['id']}/accept", {})
        assert got == mine  # each reviewer leased exactly their own items


def test_a_task_of_the_first_naming_rule_finds_its_existing_queues(world: World) -> None:
    """A workspace written before the hashed names: the task record has no queue_naming and
    its queues are named al-<task id>-<reviewer> — as the previous version created them."""
    backends = world.backends
    inputs = add_inputs(world, "photos", "old", 2)
    task = Task(
        id=ids.new_id("task"),
        name="old",
        dataset_id=inputs[0].dataset_id,
        model_id="ssd-mobilenet-v2-coco",
        model_version="3",
        concepts=["cat"],
        thresholds=Thresholds.of(upper=0.9, lower=0.4),
        reviewers=[Reviewer(name="alice")],
    )
    backends.records.create_task(task)
    assert backends.records.get_task(task.id).queue_naming == 1
    backends.queues.create(f"al-{task.id}-alice")  # the previous version's name
    items = record_run(world, task, inputs, [[0.5], [0.6]])
    assert backends.queues.depth(f"al-{task.id}-alice") == len(items) == 2
    leased = world.client("alice").post("/tasks/old/review/next").body["item"]
    assert leased is not None and leased["item"]["id"] in {i.id for i in items}
    # Reopening the workspace (a new process) reads the same task and names the same queue.
    reopened = bootstrap.embedded(world.home)
    assert queue_of(reopened, reopened.records.get_task(task.id), "alice") == f"al-{task.id}-alice"
