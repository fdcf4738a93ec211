"""The CLI as a user runs it: the walk-through of the README, --json output, and every bad
input giving one clear line, a non-zero exit and nothing half-written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml
from typer.testing import CliRunner

from autolabel.cli import app
from tests.conftest import SAMPLES, sample

DETECTOR = "ssd-mobilenet-v2-coco"


class Cli(Protocol):
    """The ``cli`` fixture: runs ``autolabel ARGS``, returns (exit code, stdout, stderr)."""

    def __call__(self, *args: str, ok: bool = True) -> tuple[int, str, str]: ...


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("AUTOLABEL_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def as_json(output: str) -> dict[str, Any]:
    """A --json output that is an object."""
    value = json.loads(output)
    assert isinstance(value, dict), output
    return value


def as_json_list(output: str) -> list[dict[str, Any]]:
    """A --json output that is a list of objects."""
    value = json.loads(output)
    assert isinstance(value, list) and all(isinstance(v, dict) for v in value), output
    return value


def create_task(cli: Cli, name: str = "t", reviewers: str = "alice,bob", *extra: str) -> None:
    cli("dataset", "add", "photos", str(SAMPLES))
    concepts = "cat,cup,motorcycle,person,bowl,tie"
    thresholds = ("--upper", "0.7", "--lower", "0.3", "--threshold", "person=0.8:0.4")
    cli("task", "create", "--name", name, "--dataset", "photos", "--model", DETECTOR, "--concepts", concepts,
        *thresholds, "--reviewers", reviewers, *extra)  # fmt: skip


def test_walk_through_with_json(cli: Cli, tmp_path: Path) -> None:
    _, out, _ = cli("dataset", "add", "photos", str(SAMPLES), "--json")
    assert as_json(out)["added"] == 6
    _, out, _ = cli("dataset", "add", "photos", str(sample("chelsea")), "--json")
    assert as_json(out) | {"dataset": None} == {"dataset": None, "added": 0, "already_present": 1, "skipped": []}
    _, out, _ = cli("models", "--json")
    models = {m["id"]: m for m in as_json_list(out)}
    assert "cat" in models[DETECTOR]["labels"] and len(models["efficientnet-lite0-imagenet"]["labels"]) == 1000
    create_task(cli, "t", "alice,bob", "--weights", "alice=1,bob=1")
    _, out, _ = cli("task", "run", "t", "--json")
    status = as_json(out)["status"]
    assert status["status"] == "Complete" and status["inputs_done"] == 6
    assert status["review_items"] >= 2, "the photos give review items for the walk-through to mean anything"
    _, out, _ = cli("task", "list", "--json")
    assert [t["name"] for t in as_json_list(out)] == ["t"]

    # alice accepts her first item, bob rejects his; alice cannot touch bob's item.
    _, out, _ = cli("review", "next", "--task", "t", "--reviewer", "alice", "--json")
    alice_item = as_json(out)["item_id"]
    _, out, _ = cli("review", "next", "--task", "t", "--reviewer", "bob", "--json")
    bob_view = as_json(out)
    bob_item = bob_view["item_id"]
    assert alice_item and bob_item and alice_item != bob_item
    code, out, err = cli("review", "accept", bob_item, "--reviewer", "alice", ok=False)
    assert code == 1 and "another reviewer" in err and "Traceback" not in err + out
    cli("review", "accept", alice_item, "--reviewer", "alice")
    code, _, err = cli("review", "reject", alice_item, "--reviewer", "alice", ok=False)
    assert code == 1 and "already decided" in err
    flagged = bob_view["item"]["flagged"]
    if flagged[0]["geometry"]["type"] == "box":
        cli(
            "review",
            "edit",
            bob_item,
            "--reviewer",
            "bob",
            "--prediction",
            flagged[0]["prediction_id"],
            "--box",
            "1,2,30,40",
        )
    else:
        cli("review", "reject", bob_item, "--reviewer", "bob")
    _, out, _ = cli("task", "status", "t", "--json")
    status = as_json(out)
    assert status["review_items_decided"] == 2
    assert {"alice", "bob"} <= set(status["labeled_by"])

    coco_path = tmp_path / "out" / "t.json"
    cli("export", "t", "--format", "coco", "--out", str(coco_path))
    coco = json.loads(coco_path.read_text())
    assert len(coco["images"]) == 6 and all(a["autolabel_status"] == "SUCCESS" for a in coco["annotations"])
    yolo = tmp_path / "yolo"
    _, out, _ = cli("export", "t", "--format", "yolo", "--out", str(yolo), "--include-review", "--json")
    data = yaml.safe_load((yolo / "data.yaml").read_text())
    assert data["names"] == ["cat", "cup", "motorcycle", "person", "bowl", "tie"]
    assert len(list((yolo / "labels").glob("*.txt"))) == 6

    _, out, _ = cli("task", "rethreshold", "t", "--upper", "0.95", "--json")
    assert as_json(out)["predictions_approved"] <= status["predictions_approved"]
    cli("task", "delete", "t")
    _, out, _ = cli("task", "list", "--json")
    assert as_json_list(out) == []


def count_rows(home: Path, table: str) -> int:
    with sqlite3.connect(home / "autolabel.sqlite3") as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "nope"], "no dataset named 'nope'"),
        (["--model", "ssd-mobilenet"], "did you mean: ssd-mobilenet-v2-coco"),
        (["--concepts", "cat,motorbike"], "did you mean: motorcycle"),
        (["--upper", "0.3", "--lower", "0.5"], "lower <= upper"),
        (["--upper", "1.5"], "lower <= upper"),
        (["--threshold", "cat=0.2:0.6"], "lower <= upper"),
        (["--threshold", "cat:0.2"], "CONCEPT=UPPER:LOWER"),
        (["--threshold", "dog=0.9:0.5"], "concepts the task does not use"),
        (["--reviewers", "alice,alice"], "only once"),
        (["--reviewers", "al ice"], "invalid name"),
        (["--weights", "carol=2"], "not in --reviewers"),
        (["--weights", "alice=x"], "NAME=INTEGER"),
        (["--name", "t"], "already exists"),
    ],
)
def test_bad_task_input_is_one_clear_line(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    create_task(cli)
    base = {
        "--name": "t2",
        "--dataset": "photos",
        "--model": DETECTOR,
        "--concepts": "cat,cup",
        "--reviewers": "alice,bob",
    }
    flags = dict(base)
    extra: list[str] = []
    for i in range(0, len(args), 2):
        if args[i] in flags:
            flags[args[i]] = args[i + 1]
        else:
            extra += args[i : i + 2]
    argv = [part for pair in flags.items() for part in pair] + extra
    tasks_before = count_rows(tmp_path / "home", "tasks")
    code, out, err = cli("task", "create", *argv, ok=False)
    assert code == 1
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    assert count_rows(tmp_path / "home", "tasks") == tasks_before


def test_unknown_things_and_empty_inputs(cli: Cli, tmp_path: Path) -> None:
    create_task(cli)
    for args, message in [
        (["task", "run", "nope"], "no task named 'nope'"),
        (["task", "status", "tt"], "did you mean: t"),
        (["review", "next", "--task", "t", "--reviewer", "zed"], "'zed' is not a reviewer of task 't'"),
        (["review", "accept", "ri_missing", "--reviewer", "alice"], "no review item"),
        (["export", "t", "--format", "csv", "--out", str(tmp_path / "x")], "unknown export format"),
        (["dataset", "add", "empty", str(tmp_path / "nothing-here")], "no image files"),
    ]:
        if args[0] == "dataset":
            (tmp_path / "nothing-here").mkdir()
        code, out, err = cli(*args, ok=False)
        assert code == 1, args
        assert message in err, (args, err)
        assert "Traceback" not in out + err
    code, out, _ = cli("task", "status", "nope", "--json", ok=False)
    assert code == 1 and as_json(out)["error"] == "not_found"


def test_unreadable_files_are_reported_and_skipped(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(sample("chelsea").read_bytes())
    _, out, _ = cli("dataset", "add", "mixed", str(folder / "cat.jpg"), str(folder / "missing.jpg"), "--json")
    report = as_json(out)
    assert report["added"] == 1
    assert report["skipped"] == [{"path": str(folder / "missing.jpg"), "reason": "no such file or folder"}]


def test_jobs_wait_with_a_progress_bar_and_write_their_results(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_task(cli)
    cli("task", "run", "t")
    monkeypatch.setenv("AUTOLABEL_PROGRESS", "1")  # the bar as on a terminal
    out = tmp_path / "coco.json"
    _, _, err = cli("export", "t", "--format", "coco", "--out", str(out))
    assert "exporting t" in err and "6/6" in err  # the bar's last frame: every input's size
    assert len(json.loads(out.read_text())["images"]) == 6
    _, version, _ = cli("task", "version", "t", "--json")
    assert as_json(version)["number"] == 1
    _, accepted, _ = cli("review", "bulk-accept", "--task", "t", "--reviewer", "alice", "--min-score", "0", "--json")
    assert as_json(accepted)["skipped_decided_meanwhile"] == 0
    _, _, err = cli("task", "delete", "t")
    assert "deleting t" in err
    _, listed, _ = cli("task", "list", "--json")
    assert as_json_list(listed) == []
    code, _, err = cli("task", "delete", "t", ok=False)
    assert code == 1 and "no task" in err.lower()


def test_review_redrive_moves_dead_letters_back(cli: Cli, tmp_path: Path) -> None:
    from autolabel import bootstrap
    from autolabel.app.review import queue_of

    create_task(cli)
    cli("task", "run", "t")
    backends = bootstrap.embedded(tmp_path / "home")
    task = backends.records.find_task("t")
    assert task is not None
    queue = queue_of(backends, task, "alice")
    for _ in range(20):  # every lease lapses at once, until the items are dead-lettered
        if not backends.queues.receive(queue, visibility_s=0, max_messages=10):
            break
    dead = len(backends.queues.dead_letters(queue))
    assert dead > 0
    assert as_json(cli("task", "status", "t", "--json")[1])["dead_letters"]["alice"] == dead
    report = as_json(cli("review", "redrive", "--task", "t", "--json")[1])
    assert report["moved"] == report["by_reviewer"]["alice"] == dead
    assert as_json(cli("task", "status", "t", "--json")[1])["dead_letters"] == {"alice": 0, "bob": 0}
    _, out, _ = cli("review", "redrive", "--task", "t")
    assert "moved 0 item(s)" in out
