"""Hostile names and file names through the CLI: a bad name is refused by the one rule every
entry point shares (domain.names, checked in the use cases), and any user-supplied text the CLI
prints is shown as it is — control characters as escapes, square brackets as brackets — never
acted on by the terminal or read as Rich markup. Names stored before a rule tightened still load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autolabel import bootstrap
from autolabel.app import datasets, tasks
from autolabel.domain import ids, names
from autolabel.domain.errors import ValidationError
from autolabel.domain.models import Dataset, Reviewer, Thresholds
from autolabel.domain.users import Actor
from tests.conftest import sample
from tests.robustness.conftest import CliRun

OWNER = Actor.workspace_owner()
DETECTOR = "ssd-mobilenet-v2-coco"

# (case, text a user supplies, how the CLI shows it)
SHOWN: list[tuple[str, str, str]] = [
    ("square brackets", "[draft]", "[draft]"),
    ("markup tag", "[bold red]x", "[bold red]x"),
    ("colour escape sequence", "\x1b[31mred", "\\x1b[31mred"),
    ("clear-screen sequence", "\x1b[2J", "\\x1b[2J"),
    ("carriage return", "a\rb", "a\\rb"),
    ("newline", "a\nb", "a\\nb"),
    ("bell", "ding\x07", "ding\\x07"),
    ("C1 control sequence introducer", "\x9b31m", "\\x9b31m"),
    ("emoji code", ":cat:", ":cat:"),
    ("backslash before a bracket", "x\\[y]", "x\\[y]"),
    ("200 characters", "n" * 200, "n" * 200),
]
SHOWN_IDS = [case for case, _, _ in SHOWN]


def printed(text: str) -> str:
    """The output as a terminal would receive it: nothing may be raw."""
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text and "\x9b" not in text, repr(text)
    return text


@pytest.mark.parametrize(("case", "text", "shown"), SHOWN, ids=SHOWN_IDS)
def test_a_name_quoted_in_an_error_is_shown_escaped(cli: CliRun, case: str, text: str, shown: str) -> None:
    printed(cli("task", "status", text).one_line_error(f"no task named '{shown}'"))
    printed(cli("user", "remove", text).one_line_error(f"no user named '{shown}'"))
    printed(cli("dataset", "add", text, str(sample("chelsea"))).one_line_error(names.DATASET.message))


@pytest.mark.parametrize(("case", "text", "shown"), SHOWN, ids=SHOWN_IDS)
def test_a_skipped_file_is_named_escaped(cli: CliRun, tmp_path: Path, case: str, text: str, shown: str) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(sample("chelsea").read_bytes())
    (folder / f"{text}.jpg").symlink_to(folder / "cat.jpg")
    ran = cli("dataset", "add", "photos", str(folder))
    assert ran.code == 0, ran
    assert printed(ran.out).startswith("dataset photos: 1 added")
    assert printed(ran.err).splitlines() == [f"skipped: link (not followed): {folder}/{shown}.jpg"]


def test_failed_inputs_and_review_items_are_named_escaped(cli: CliRun, tmp_path: Path) -> None:
    """One run over files named by every case: each is a failed input (not an image), shown
    escaped by `task status`; a real photo so named is shown escaped by `review next`."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for _, text, _ in SHOWN:
        (folder / f"{text}.jpg").write_bytes(b"not an image: " + text.encode())  # distinct bytes, inputs
    (folder / "[draft] \x1b[1mcat.jpg").write_bytes(sample("chelsea").read_bytes())
    assert cli("dataset", "add", "photos", str(folder)).code == 0
    created = cli("task", "create", "--name", "t", "--dataset", "photos", "--model", DETECTOR, "--concepts", "cat",
                  "--reviewers", "alice", "--upper", "0.99", "--lower", "0.01")  # fmt: skip
    assert created.code == 0, created
    ran = cli("task", "run", "t")
    assert ran.code == 0, ran
    status = cli("task", "status", "t")
    failed = [line for line in printed(status.err).splitlines() if line.startswith("failed ")]
    assert len(failed) == len(SHOWN), status.err
    for case, _, shown in SHOWN:
        assert any(line.startswith(f"failed {folder}/{shown}.jpg: ") for line in failed), (case, failed)
    view = cli("review", "next", "--task", "t", "--reviewer", "alice")
    assert view.code == 0, view
    assert f"input {folder}/[draft] \\x1b[1mcat.jpg" in printed(view.out), view.out


# (case, the command; {photo} is a sample photo) — each refused by the name rule, nothing created.
REFUSED: list[tuple[str, list[str], names.NameRule]] = [
    ("empty dataset name", ["dataset", "add", "", "{photo}"], names.DATASET),
    ("dataset name of 100,000 characters", ["dataset", "add", "d" * 100_000, "{photo}"], names.DATASET),
    ("dataset name with an escape sequence", ["dataset", "add", "d\x1b[31m", "{photo}"], names.DATASET),
    ("dataset name with markup", ["dataset", "add", "[draft]", "{photo}"], names.DATASET),
    ("dataset name with a carriage return", ["dataset", "add", "d\rx", "{photo}"], names.DATASET),
    ("empty task name", ["task", "create", "--name", ""], names.TASK),
    ("task name of 100,000 characters", ["task", "create", "--name", "t" * 100_000], names.TASK),
    ("task name with an escape sequence", ["task", "create", "--name", "t\x1b]0;owned\x07"], names.TASK),
    ("reviewer with an escape sequence", ["task", "create", "--reviewers", "al\x1b[8mice"], names.PERSON),
    ("reviewer of 65 characters", ["task", "create", "--reviewers", "r" * 65], names.PERSON),
    ("concept with a control character", ["task", "create", "--concepts", "cat\x1b[0m"], names.CONCEPT),
    ("user name with an escape sequence", ["user", "add", "bob\x1b[2J", "--role", "admin"], names.PERSON),
    ("user name of 100,000 characters", ["user", "add", "u" * 100_000, "--role", "admin"], names.PERSON),
    ("empty user name", ["user", "add", "", "--role", "reviewer"], names.PERSON),
]
TASK_DEFAULTS = {"--name": "t", "--dataset": "photos", "--model": DETECTOR, "--concepts": "cat", "--reviewers": "alice"}


def everything(cli: CliRun) -> tuple[object, ...]:
    listings = (["dataset", "list"], ["task", "list"], ["user", "list"])
    return tuple(json.loads(cli(*args, "--json").out) for args in listings)


@pytest.mark.parametrize(("case", "args", "rule"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_name_is_refused_by_the_rule_and_creates_nothing(
    cli: CliRun, case: str, args: list[str], rule: names.NameRule
) -> None:
    assert cli("dataset", "add", "photos", str(sample("chelsea"))).code == 0
    before = everything(cli)
    if args[:2] == ["task", "create"]:
        given = {**TASK_DEFAULTS, **dict(zip(args[2::2], args[3::2], strict=True))}
        args = ["task", "create", *[part for pair in given.items() for part in pair]]
    line = cli(*[a.replace("{photo}", str(sample("chelsea"))) for a in args]).one_line_error(rule.message)
    printed(line)
    assert len(line) < 400  # the rule, not the 100,000 characters back
    assert everything(cli) == before


def test_every_use_case_that_sets_a_name_checks_it(tmp_path: Path) -> None:
    """The rule sits in the use cases, so an entry point that builds domain objects itself (an
    import, a script) is held to it too — also when renaming or changing reviewers."""
    backends = bootstrap.embedded(tmp_path / "home")
    datasets.add_files(backends, OWNER, "photos", [sample("chelsea")])
    tasks.create_task(backends, OWNER, name="t", dataset="photos", model=DETECTOR, concepts=["cat"],
                      thresholds=Thresholds.of(0.9, 0.5), reviewers=[Reviewer(name="alice")])  # fmt: skip
    with pytest.raises(ValidationError, match="invalid name"):
        tasks.update_task(backends, OWNER, "t", name="t\x1b[31m")
    with pytest.raises(ValidationError, match="reviewer 'al ice'"):
        tasks.update_task(backends, OWNER, "t", reviewers=[Reviewer(name="al ice")])
    with pytest.raises(ValidationError, match="reviewer '\\\\x1b'"):
        tasks.create_task(backends, OWNER, name="u", dataset="photos", model=DETECTOR, concepts=["cat"],
                          thresholds=Thresholds.of(0.9, 0.5), reviewers=[Reviewer(name="\x1b")])  # fmt: skip
    assert [r.name for r in tasks.get_task(backends, OWNER, "t").reviewers] == ["alice"]


def test_names_stored_under_an_older_rule_still_load_and_print_escaped(cli: CliRun, home: Path) -> None:
    """Validated where set, not where read: a workspace holding names today's rule refuses opens."""
    assert cli("dataset", "add", "photos", str(sample("chelsea"))).code == 0
    assert cli("task", "create", *[p for pair in TASK_DEFAULTS.items() for p in pair]).code == 0
    backends = bootstrap.embedded(home)
    odd = "[old] \x1b[31mset"
    backends.records.put_dataset(Dataset(id=ids.dataset_id(odd), name=odd))
    task = tasks.get_task(backends, OWNER, "t")
    backends.records.change_reviewers(task.id, [Reviewer(name="Bob Smith"), Reviewer(name="[b]\x1b[0m")])

    listing = cli("dataset", "list")
    assert listing.code == 0 and "[old] \\x1b[31mset" in printed(listing.out), listing
    status = cli("task", "status", "t")
    assert status.code == 0, status
    assert "Bob Smith: 0" in printed(status.out) and "[b]\\x1b[0m: 0" in status.out, status.out
    assert cli("task", "list").code == 0
    assert json.loads(cli("task", "list", "--json").out)[0]["queue_depth"] == {"Bob Smith": 0, "[b]\x1b[0m": 0}


@pytest.mark.parametrize(
    "args",
    [["[b]\x1b[31mX"], ["task", "run", "t", "--batch-size", "\x1b[2J8"], ["dataset", "add", "--\x1b[8m"]],
    ids=["an unknown command", "a bad option value", "an unknown option"],
)
def test_typer_s_own_usage_errors_show_no_raw_control_character(cli: CliRun, args: list[str]) -> None:
    ran = cli(*args)
    assert ran.code == 2, ran
    printed(ran.out + ran.err)
