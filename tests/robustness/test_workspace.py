"""The workspace and the machine failing under the CLI: each a one-line error with a non-zero
exit and no traceback, and nothing half-written. Add a row to CASES for a new kind."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autolabel import bootstrap
from tests.api.conftest import World, seed_task
from tests.robustness.conftest import CliRun, run_process


def database(home: Path) -> Path:
    return home / "autolabel.sqlite3"


def make_workspace(home: Path) -> None:
    bootstrap.embedded(home).records.list_datasets()


def home_is_a_file(home: Path) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")


def home_below_a_file(home: Path) -> None:
    home.parent.parent.mkdir(parents=True, exist_ok=True)
    home.parent.write_text("a file where a folder should be")


def random_bytes_database(home: Path) -> None:
    home.mkdir(parents=True)
    database(home).write_bytes(bytes(range(256)) * 40)


def truncated_database(home: Path) -> None:
    make_workspace(home)
    connection = sqlite3.connect(database(home))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    whole = database(home).read_bytes()
    for extra in home.glob("autolabel.sqlite3-*"):
        extra.unlink()
    database(home).write_bytes(whole[: len(whole) // 2])


def newer_database(home: Path) -> None:
    make_workspace(home)
    connection = sqlite3.connect(database(home))
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()


# (case, how the workspace is broken, the command, fragments of the one-line error)
CASES: list[tuple[str, Callable[[Path], None], tuple[str, ...], tuple[str, ...]]] = [
    ("AUTOLABEL_HOME is a file", home_is_a_file, ("dataset", "list"), ("is a file, not a folder", "AUTOLABEL_HOME")),
    ("AUTOLABEL_HOME below a file", home_below_a_file, ("task", "list"),
     ("cannot create the workspace folder",)),
    ("database of random bytes", random_bytes_database, ("dataset", "list"),
     ("is corrupt", "restore it from a backup")),
    ("truncated database", truncated_database, ("task", "list"), ("is corrupt", "start a new one")),
    ("database of a newer version", newer_database, ("dataset", "list"), ("newer autolabel", "upgrade autolabel")),
]  # fmt: skip


@pytest.mark.parametrize(("case", "break_it", "command", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_workspace_is_named_with_what_to_do(
    cli: CliRun,
    tmp_path: Path,
    case: str,
    break_it: Callable[[Path], None],
    command: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    home = tmp_path / "broken" / "file" / "home"
    break_it(home)
    before = sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "-wal" not in p.name)
    cli(*command, env={"AUTOLABEL_HOME": str(home)}).one_line_error(*fragments)
    # Nothing added to a workspace it could not use (SQLite may fold its log into the file).
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "-wal" not in p.name) == before
    if database(home).is_file() and case == "database of a newer version":
        assert sqlite3.connect(database(home)).execute("PRAGMA user_version").fetchone()[0] == 99


@pytest.fixture
def locked(home: Path) -> Iterator[None]:
    """Another process's connection holding the write lock (an exclusive transaction)."""
    make_workspace(home)
    holder = sqlite3.connect(database(home), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    yield
    holder.execute("ROLLBACK")
    holder.close()


def test_a_locked_database_is_waited_on_for_a_bounded_time_then_named(locked: None, home: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    ran = run_process(home, "user", "add", "zoe", "--role", "admin", env={"AUTOLABEL_LOCK_TIMEOUT_S": "1"})
    ran.one_line_error("is locked by another process (waited 1 s)", "try again")
    assert time.monotonic() - started < 30


def test_a_lock_released_within_the_wait_is_not_an_error(home: Path) -> None:
    make_workspace(home)
    holder = sqlite3.connect(database(home), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(1.0, lambda: holder.execute("ROLLBACK")).start()
    ran = run_process(home, "user", "add", "zoe", "--role", "admin", env={"AUTOLABEL_LOCK_TIMEOUT_S": "20"})
    holder.close()
    assert ran.code == 0, ran


# --------------------------------------------------------------------------- serve


def test_serve_on_a_busy_port(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = run_process(home, "serve", "--port", str(port), timeout=60)
    ran.one_line_error(f"port {port} on 127.0.0.1 is already in use", "--port 0")


@pytest.mark.parametrize(
    ("host", "fragment"),
    [("192.0.2.77", "this machine has no address 192.0.2.77"), ("no-such-host.invalid", "cannot resolve --host")],
    ids=["an address the machine lacks", "a name nothing resolves"],
)
def test_serve_on_an_address_it_cannot_have(home: Path, host: str, fragment: str) -> None:
    ran = run_process(home, "serve", "--host", host, "--port", "0", timeout=60)
    assert ran.code != 0 and "Traceback" not in ran.err, ran
    errors = [line for line in ran.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], ran  # after the warning about a non-loopback host


# --------------------------------------------------------------------------- export --out


def existing_folder(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    return tmp / "out"


def existing_file(tmp: Path) -> Path:
    (tmp / "out.txt").write_text("keep me")
    return tmp / "out.txt"


def below_a_file(tmp: Path) -> Path:
    (tmp / "plain").write_text("keep me")
    return tmp / "plain" / "deeper" / "coco.json"


EXPORTS: list[tuple[str, str, Callable[[Path], Path], str]] = [
    ("coco to an existing folder", "coco", existing_folder, "is a folder; a COCO export is one file"),
    ("yolo to an existing file", "yolo", existing_file, "is a file; a YOLO export is a folder"),
    ("coco below a file", "coco", below_a_file, "which is a file, not a folder"),
    ("yolo below a file", "yolo", below_a_file, "which is a file, not a folder"),
]


@pytest.mark.parametrize(("case", "fmt", "make", "fragment"), EXPORTS, ids=[c[0] for c in EXPORTS])
def test_export_out_that_cannot_be_written(
    world: World, cli: CliRun, tmp_path: Path, case: str, fmt: str, make: Callable[[Path], Path], fragment: str
) -> None:
    seed_task(world)
    out = make(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*") if "home" not in p.parts)
    cli("export", "t", "--format", fmt, "--out", str(out)).one_line_error(fragment)
    assert sorted(str(p) for p in tmp_path.rglob("*") if "home" not in p.parts) == before


def test_coco_export_over_an_existing_file_replaces_it(world: World, cli: CliRun, tmp_path: Path) -> None:
    seed_task(world)
    out = existing_file(tmp_path)
    assert cli("export", "t", "--format", "coco", "--out", str(out)).code == 0
    assert out.read_text().startswith("{")


# --------------------------------------------------------------------------- geometry from the CLI


@pytest.mark.parametrize(
    ("box", "fragment"),
    [
        ("0,0,inf,inf", "--box '0,0,inf,inf'"),
        ("0,0,nan,5", "--box '0,0,nan,5'"),
        ("0,0,1e308,1e308", "past the image's edge"),
        ("5000,10,20,20", "outside the image"),
        ("10,20", "--box '10,20'"),
    ],
    ids=["infinite", "NaN", "1e308", "wholly outside", "two numbers"],
)
def test_review_edit_box_refused_in_one_line(world: World, cli: CliRun, box: str, fragment: str) -> None:
    _, items = seed_task(world, reviewers=("alice",))
    item = items[0]
    ran = cli("review", "edit", item.id, "--reviewer", "alice", "--prediction", item.prediction_ids[0], "--box", box)
    ran.one_line_error(fragment)
    assert world.backends.records.get_review_item(item.id).state.value == "PENDING"


def test_review_edit_box_a_few_pixels_out_is_clipped(world: World, cli: CliRun) -> None:
    _, items = seed_task(world, reviewers=("alice",))
    item = items[0]
    ran = cli("review", "edit", item.id, "--reviewer", "alice", "--prediction", item.prediction_ids[0],
              "--box", "600,10,44,10", "--json")  # fmt: skip
    assert ran.code == 0, ran
    (edited,) = [a for a in json.loads(ran.out)["annotations"] if a["prediction_id"] == item.prediction_ids[0]]
    assert edited["geometry"] == {"type": "box", "x": 600.0, "y": 10.0, "w": 40.0, "h": 10.0}
