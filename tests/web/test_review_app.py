"""The review web app in a real browser, end to end (issue 5 §3), then its bad-input cases.

The tests of this module share one workspace and run in order: the flow creates and runs the
task that the later tests use (a model run is the expensive step; it happens once).
"""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from autolabel import bootstrap
from autolabel.app import tasks
from autolabel.app.models import shipped_models_dir
from autolabel.app.review import MAX_RECEIVES, queue_of
from autolabel.domain.users import Actor
from autolabel.inference.spec import load_package
from tests.web.conftest import (
    Site,
    assert_fits_1280x800,
    assert_keyboard_reaches_every_control,
    cli,
    screenshot,
    sign_in,
)

TASK = "street-e2e"
CONCEPTS = ["person", "cat", "cup", "motorcycle", "airplane", "bicycle", "car", "dog", "tie", "bowl", "spoon"]
pytestmark = pytest.mark.slow
DETECTOR = load_package(shipped_models_dir() / "ssd_mobilenet_v2_coco")
MODEL_LABELER = f"{DETECTOR.id}@{DETECTOR.version}"  # how the model signs its annotations


def row(page: Page) -> Any:
    return page.locator(f'tr[data-task="{TASK}"]')


def decided_by(response: Response) -> list[dict[str, Any]]:
    assert response.ok, response.text()
    return cast(list[dict[str, Any]], response.json()["annotations"])


def rect_width(width: float) -> str:
    """An SVG attribute as Preact writes a number into it."""
    return str(int(width)) if width == int(width) else str(width)


def is_decision(kind: str) -> Any:
    return lambda r: r.request.method == "POST" and r.url.endswith(f"/{kind}") and "/review/items/" in r.url


def test_end_to_end_flow(browser: BrowserContext, site: Site) -> None:
    # ---- admin signs in and fills the New Labeling Task form
    admin = browser.new_page()
    admin.goto(site.url)
    screenshot(admin, "01-sign-in")
    sign_in(admin, site, "root")
    expect(admin.get_by_role("heading", name="Labeling Tasks")).to_be_visible()
    admin.get_by_role("link", name="New Labeling Task").first.click()
    expect(admin.get_by_role("heading", name="New Labeling Task")).to_be_visible()
    problems = admin.get_by_test_id("form-problems")
    create = admin.get_by_role("button", name="Create")

    admin.get_by_label("Task name").fill(TASK)
    admin.locator('select[name="dataset"]').select_option("samples")
    admin.locator('select[name="model"]').select_option("ssd-mobilenet-v2-coco")
    # No concept yet: the form says so and cannot be submitted.
    expect(problems).to_contain_text("Pick at least one concept.")
    expect(create).to_be_disabled()
    finder = admin.get_by_label("Find a concept")
    for concept in CONCEPTS:
        finder.fill(concept)
        admin.get_by_role("checkbox", name=concept, exact=True).check()
    finder.fill("")
    expect(problems).not_to_contain_text("Pick at least one concept.")
    # lower > upper: refused with the reason, typed values and slider alike.
    admin.locator('input[name="global-upper"]').fill("0.9")
    admin.locator('input[name="global-lower"]').fill("0.95")
    expect(problems).to_contain_text("lower (0.95) is above upper (0.9)")
    expect(create).to_be_disabled()
    screenshot(admin, "02-new-task-invalid")
    admin.locator('input[name="global-lower"]').fill("0.1")
    expect(problems).not_to_contain_text("above upper")
    admin.get_by_role("button", name="Per-concept thresholds…").click()
    dialog = admin.get_by_role("dialog", name="Per-concept thresholds")
    expect(dialog).to_be_visible()
    screenshot(admin, "03-per-concept-dialog")
    admin.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    admin.locator('input[name="reviewer-0"]').fill("alice")
    admin.locator('input[name="weight-0"]').fill("3")
    admin.get_by_role("button", name="Add reviewer").click()
    admin.locator('input[name="reviewer-1"]').fill("bob")
    expect(problems).to_have_count(0)
    screenshot(admin, "04-new-task-filled")
    assert_keyboard_reaches_every_control(admin)
    assert_fits_1280x800(admin)
    create.click()

    # ---- the task is listed; run it and watch it reach Complete
    expect(row(admin)).to_be_visible()
    expect(row(admin).get_by_test_id("status")).to_have_text("Pending")
    row(admin).get_by_role("button", name="Run").click()
    expect(row(admin).get_by_test_id("status")).to_have_text("In progress")
    screenshot(admin, "05-tasks-running")
    expect(row(admin).get_by_test_id("status")).to_have_text("Complete", timeout=240_000)
    expect(row(admin).get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row(admin).get_by_test_id("reviewed")).to_have_text("0.0%")
    expect(row(admin).locator('[data-labeler="alice"]')).to_have_count(0)
    screenshot(admin, "06-tasks-complete")
    assert_keyboard_reaches_every_control(admin)
    assert_fits_1280x800(admin)
    task = cast(dict[str, Any], site.api("GET", f"/tasks/{TASK}", "root"))
    items = task["summary"]["review_items"]
    progress = cast(dict[str, Any], site.api("GET", f"/tasks/{TASK}/review/progress", "alice"))
    assert progress["total"] >= 3, f"alice needs three items to review, the run gave her {progress}"

    # ---- alice reviews: accept one input (a), reject another (r), edit a box by dragging (e)
    alice = browser.new_page()
    sign_in(alice, site, "alice")
    review_button = row(alice).get_by_role("button", name=re.compile(r"^Review"))
    expect(review_button).to_be_enabled()
    screenshot(alice, "07-tasks-as-reviewer")
    review_button.click()
    total = progress["total"]
    queue = alice.get_by_test_id("queue")
    expect(queue).to_have_text(f"{total} of {total} left in your queue")
    alice.locator("svg.overlay g.shape").first.wait_for()
    screenshot(alice, "08-review")
    assert_keyboard_reaches_every_control(alice)
    assert_fits_1280x800(alice)
    decide = alice.get_by_role("button", name=re.compile(r"^Accept input")).bounding_box()
    assert decide is not None and decide["y"] + decide["height"] <= 800, "the decision buttons need no scrolling"
    decided: list[dict[str, Any]] = []

    with alice.expect_response(is_decision("accept")) as accepted:
        alice.keyboard.press("a")
    decided += decided_by(accepted.value)
    assert {a["status"] for a in decided} == {"SUCCESS"}
    expect(queue).to_have_text(f"{total - 1} of {total} left in your queue")
    alice.locator("svg.overlay g.shape").first.wait_for()

    with alice.expect_response(is_decision("reject")) as rejected:
        alice.keyboard.press("r")
    decided += decided_by(rejected.value)
    expect(queue).to_have_text(f"{total - 2} of {total} left in your queue")
    alice.locator("svg.overlay g.shape").first.wait_for()

    alice.keyboard.press("e")
    handle = alice.locator('circle.handle[data-corner="br"]')
    expect(handle).to_be_visible()
    edited_id = alice.locator("ul.predictions li.selected").get_attribute("data-prediction")
    rect = alice.locator(f'g[data-shape="{edited_id}"] rect')
    before = {k: float(rect.get_attribute(k) or 0) for k in ("x", "y", "width", "height")}
    at = handle.bounding_box()
    assert at is not None
    alice.mouse.move(at["x"] + at["width"] / 2, at["y"] + at["height"] / 2)
    alice.mouse.down()
    alice.mouse.move(at["x"] - 30, at["y"] - 20, steps=8)
    alice.mouse.up()
    after = {k: float(rect.get_attribute(k) or 0) for k in ("x", "y", "width", "height")}
    assert after["x"] == before["x"] and after["y"] == before["y"]
    assert after["width"] < before["width"] and after["height"] < before["height"], (before, after)
    expect(alice.locator("ul.predictions li.selected .badge")).to_have_text("edited")
    # The same by keyboard: a focused corner moves 10 px with Shift+arrow.
    handle.focus()
    alice.keyboard.press("Shift+ArrowLeft")
    dragged = after
    expect(rect).not_to_have_attribute("width", rect_width(dragged["width"]))
    after = {k: float(rect.get_attribute(k) or 0) for k in ("x", "y", "width", "height")}
    assert after == {**dragged, "width": pytest.approx(dragged["width"] - 10)}
    screenshot(alice, "09-review-editing")
    assert_keyboard_reaches_every_control(alice)  # the corner handles and the concept picker too
    with alice.expect_response(is_decision("edit")) as edit:
        alice.get_by_role("button", name=re.compile(r"^Save decision")).click()
    edited = decided_by(edit.value)
    decided += edited
    box = next(a["geometry"] for a in edited if a["prediction_id"] == edited_id)
    assert (box["x"], box["y"]) == (pytest.approx(after["x"]), pytest.approx(after["y"]))
    assert (box["w"], box["h"]) == (pytest.approx(after["width"]), pytest.approx(after["height"]))

    for _ in range(total - 3):  # any further items of hers: accept, so her queue ends empty
        alice.locator("svg.overlay g.shape").first.wait_for()
        with alice.expect_response(is_decision("accept")) as more:
            alice.keyboard.press("a")
        decided += decided_by(more.value)
    expect(alice.get_by_test_id("empty-state")).to_contain_text("Nothing left in your queue")
    expect(queue).to_have_text(f"0 of {total} left in your queue")
    screenshot(alice, "10-review-done")
    alice.goto(site.url + "#/tasks")
    expect(row(alice).get_by_role("button", name=re.compile(r"^Review"))).to_be_disabled()

    # ---- the admin sees % reviewed and labeled-by change accordingly
    admin.reload()
    reviewed = round(100 * total / items, 1)
    expect(row(admin).get_by_test_id("reviewed")).to_have_text(f"{reviewed:.1f}%")
    successes = sum(1 for a in decided if a["status"] == "SUCCESS")
    expect(row(admin).locator('[data-labeler="alice"] .count')).to_have_text(str(successes))
    screenshot(admin, "11-tasks-reviewed")

    # ---- the input manager filtered by alice shows exactly her annotations
    admin.get_by_role("link", name="Input Manager").click()
    admin.locator('select[name="task"]').select_option(label=TASK)
    admin.get_by_role("checkbox", name="alice", exact=True).check()
    apply_filters(admin)
    listed = admin.locator("ul.gallery [data-annotation-id]")
    expect(listed).to_have_count(len(decided))
    assert {listed.nth(i).get_attribute("data-annotation-id") for i in range(listed.count())} == {
        a["id"] for a in decided
    }
    expect(admin.locator("ul.gallery [data-input]")).to_have_count(len({a["input_id"] for a in decided}))
    admin.locator("ul.gallery svg.overlay").first.wait_for()
    screenshot(admin, "12-input-manager")
    assert_keyboard_reaches_every_control(admin)
    assert_fits_1280x800(admin)
    admin.get_by_label(re.compile("Object Mode")).check()
    expect(admin.locator("ul.gallery.objects li[data-annotation-id]")).to_have_count(len(decided))
    admin.locator("ul.gallery.objects svg").first.wait_for()
    screenshot(admin, "13-input-manager-objects")


def apply_filters(page: Page) -> None:
    """Apply the input manager's filters and wait for their results: until they arrive the gallery
    still shows the previous ones (marked aria-busy), which a test must not act on."""
    with page.expect_response(lambda r: "/annotations?" in r.url):
        page.get_by_role("button", name="Apply filters").click()
    page.locator('ul.gallery[aria-busy="false"]').wait_for()


def item_of(site: Site, reviewer: str, pending: bool) -> dict[str, Any]:
    """One review item of ``reviewer`` (read as admin), pending or decided."""
    page = cast(dict[str, Any], site.api("GET", f"/tasks/{TASK}/review/items?labeler={MODEL_LABELER}", "root"))
    everyone: list[dict[str, Any]] = [
        *page["items"],
        *cast(dict[str, Any], site.api("GET", f"/tasks/{TASK}/review/items?labeler={reviewer}", "root"))["items"],
    ]
    for item in everyone:
        if item["reviewer"] == reviewer and (item["state"] == "PENDING") == pending:
            return item
    pytest.fail(f"no {'pending' if pending else 'decided'} item of {reviewer} in {everyone}")


def test_another_reviewers_item_is_a_403_page(browser: BrowserContext, site: Site) -> None:
    item = item_of(site, "alice", pending=False)
    bob = browser.new_page()
    sign_in(bob, site, "bob")
    bob.goto(f"{site.url}#/review/items/{item['id']}")
    forbidden = bob.get_by_test_id("forbidden")
    expect(forbidden).to_contain_text("403")
    expect(forbidden).to_contain_text("belongs to another reviewer's partition")
    expect(bob.locator("svg.overlay")).to_have_count(0)
    screenshot(bob, "14-forbidden-item")


def test_a_decision_that_lost_the_race_says_409(browser: BrowserContext, site: Site) -> None:
    item = item_of(site, "bob", pending=True)
    bob = browser.new_page()
    sign_in(bob, site, "bob")
    bob.goto(f"{site.url}#/review/items/{item['id']}")
    bob.locator("svg.overlay g.shape").first.wait_for()
    # Another request (another tab, a script) decides the item first.
    site.api("POST", f"/review/items/{item['id']}/reject", "bob", {})
    with bob.expect_response(is_decision("accept")) as lost:
        bob.keyboard.press("a")
    assert lost.value.status == 409
    alert = bob.get_by_role("alert")
    expect(alert).to_contain_text("Conflict")
    expect(alert).to_contain_text("already decided")
    screenshot(bob, "15-conflict")
    # n goes on to the next item: bob's queue is now empty.
    bob.keyboard.press("n")
    expect(bob.get_by_test_id("empty-state")).to_be_visible()


def test_invalid_and_revoked_tokens_say_so(browser: BrowserContext, site: Site) -> None:
    page = browser.new_page()
    page.goto(site.url)
    page.get_by_label("Access token").wait_for()
    assert_keyboard_reaches_every_control(page)
    page.get_by_label("Access token").fill("al_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signin-message")).to_contain_text("expired or the token is not valid")
    screenshot(page, "16-invalid-token")

    sign_in(page, site, "carol")
    cli(site.home, "user", "remove", "carol")  # revoked while signed in, like an expired session
    page.get_by_role("button", name="Sign out").wait_for()
    page.reload()
    expect(page.get_by_test_id("signin-message")).to_contain_text("expired or the token is not valid")
    expect(page.get_by_label("Access token")).to_be_visible()


def test_input_manager_adds_concepts_removes_annotations_and_deletes_inputs(
    browser: BrowserContext, site: Site
) -> None:
    admin = browser.new_page()
    sign_in(admin, site, "root")
    admin.goto(site.url + "#/inputs")
    admin.locator('select[name="task"]').select_option(label=TASK)
    admin.get_by_role("checkbox", name="alice", exact=True).check()
    apply_filters(admin)
    cards = admin.locator("ul.gallery li[data-input]")
    cards.first.wait_for()
    chosen = cards.first.get_attribute("data-input")

    # Add Concepts: a whole-input 'cat' label by the admin on the selected input.
    cards.first.get_by_role("checkbox").check()
    admin.get_by_role("button", name="Add Concepts").click()
    dialog = admin.get_by_role("dialog", name="Add a concept to the selected inputs")
    dialog.locator("select").select_option("cat")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text("Added 'cat' to 1 input(s)")
    added = cast(dict[str, Any], site.api("GET", f"/annotations?task={TASK}&labeler=root", "root"))["items"]
    assert [(a["input_id"], a["concept"], a["status"]) for a in added] == [(chosen, "cat", "SUCCESS")]

    # Remove Annotations, in Object Mode: exactly the selected object goes.
    admin.get_by_role("checkbox", name="alice", exact=True).uncheck()
    admin.get_by_role("checkbox", name="root", exact=True).check()
    apply_filters(admin)
    admin.get_by_label(re.compile("Object Mode")).check()
    objects = admin.locator("ul.gallery.objects li[data-annotation-id]")
    expect(objects).to_have_count(1)
    objects.first.get_by_role("checkbox").check()
    screenshot(admin, "17-input-manager-selected")
    admin.get_by_role("button", name="Remove Annotations").click()
    expect(admin.get_by_role("status")).to_contain_text("Removed 1 annotation(s)")
    expect(objects).to_have_count(0)
    assert cast(dict[str, Any], site.api("GET", f"/annotations?task={TASK}&labeler=root", "root"))["items"] == []

    # Delete Input, after confirming.
    admin.get_by_label(re.compile("Object Mode")).uncheck()
    admin.get_by_role("checkbox", name="root", exact=True).uncheck()
    admin.get_by_role("checkbox", name="alice", exact=True).check()
    apply_filters(admin)
    admin.locator(f'ul.gallery li[data-input="{chosen}"]').get_by_role("checkbox").check()
    admin.get_by_role("button", name="Delete Input").click()
    admin.get_by_role("dialog", name="Delete 1 input(s)?").get_by_role("button", name="Delete").click()
    expect(admin.get_by_role("status")).to_contain_text("Deleted 1 input(s)")
    expect(admin.locator(f'ul.gallery li[data-input="{chosen}"]')).to_have_count(0)
    assert site.served.request("GET", f"/inputs/{chosen}/content", token=site.tokens["root"]).status == 404


def test_dead_letters_show_on_the_task_row_with_a_redrive(browser: BrowserContext, site: Site) -> None:
    backends = bootstrap.embedded(site.home)
    task = tasks.get_task(backends, Actor.workspace_owner(), TASK)
    queue = queue_of(backends, task, "alice")
    backends.queues.send(queue, [("ri_lapsed", "ri_lapsed")])
    for _ in range(MAX_RECEIVES + 1):  # leases that lapse at once, until the queue gives up on it
        backends.queues.receive(queue, visibility_s=0, max_messages=10)
    assert backends.queues.dead_letter_count(queue) == 1
    admin = browser.new_page()
    sign_in(admin, site, "root")
    dead = row(admin).get_by_test_id("dead-letters")
    expect(dead).to_contain_text("1 review item(s) dead-lettered (alice: 1)")
    screenshot(admin, "17b-dead-letters")
    dead.get_by_role("button", name="Redrive").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Moved 1 item(s) of '{TASK}' back")
    expect(row(admin).get_by_test_id("dead-letters")).to_have_count(0)
    assert backends.queues.dead_letter_count(queue) == 0
    # The hand-made message was never a real item: take it off alice's queue again.
    for message in backends.queues.receive(queue, visibility_s=0, max_messages=10):
        if message.message_id == "ri_lapsed":
            backends.queues.delete(queue, message.receipt)


def test_task_row_actions_version_copy_edit_delete(browser: BrowserContext, site: Site) -> None:
    admin = browser.new_page()
    sign_in(admin, site, "root")
    task = cast(dict[str, Any], site.api("GET", f"/tasks/{TASK}", "root"))["task"]
    successes = cast(dict[str, Any], site.api("GET", f"/annotations?task={TASK}&status=SUCCESS", "root"))["items"]

    row(admin).get_by_role("button", name="Create version").click()
    expect(admin.get_by_role("status")).to_contain_text(f"Dataset version 1 of '{TASK}': {len(successes)} annotations")
    row(admin).get_by_role("button", name="Export COCO").click()
    expect(admin.get_by_role("status").first).to_contain_text(f"Export of '{TASK}': {len(successes)} annotations")
    expect(admin.get_by_role("link", name="Download coco.json")).to_be_visible()
    row(admin).get_by_role("button", name="Copy id").click()
    expect(admin.get_by_role("status")).to_contain_text(task["id"])

    row(admin).get_by_role("link", name="Edit").click()
    admin.get_by_label("Task name").fill("street-renamed")
    admin.get_by_role("button", name="Save").click()
    renamed = admin.locator('tr[data-task="street-renamed"]')
    expect(renamed).to_be_visible()
    screenshot(admin, "18-tasks-after-edit")

    renamed.get_by_role("button", name="Delete").click()
    dialog = admin.get_by_role("dialog", name="Delete task 'street-renamed'?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice is the default
    dialog.get_by_role("button", name="Delete").click()
    expect(admin.get_by_role("status")).to_contain_text("Task 'street-renamed' deleted.")
    expect(renamed).to_have_count(0)
    assert cast(dict[str, Any], site.api("GET", "/tasks", "root"))["items"] == []
