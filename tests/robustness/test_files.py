"""`dataset add` against links, special files and missing paths, and blob ownership: nothing
outside the folder is read, nothing blocks, and deleting one input never removes bytes another
input points at."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from autolabel import bootstrap
from autolabel.app import datasets
from autolabel.domain.errors import Forbidden, ValidationError
from autolabel.domain.users import Actor
from tests.conftest import sample
from tests.robustness.conftest import CliRun, run_process

OWNER = Actor.workspace_owner()
LINK = "link (not followed)"


def photo(folder: Path, name: str = "cat.jpg") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(sample("chelsea").read_bytes())
    return folder / name


def outside_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret" / "passwd.jpg"
    secret.parent.mkdir()
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    return secret


def link_to_outside_file(folder: Path, tmp: Path) -> str:
    (folder / "x.jpg").symlink_to(outside_file(tmp))
    return "x.jpg"


def link_to_outside_folder(folder: Path, tmp: Path) -> str:
    (folder / "more").symlink_to(outside_file(tmp).parent, target_is_directory=True)
    return "more"


def link_to_etc_passwd(folder: Path, tmp: Path) -> str:
    (folder / "passwd.png").symlink_to("/etc/passwd")
    return "passwd.png"


def link_inside_the_folder(folder: Path, tmp: Path) -> str:
    (folder / "again.jpg").symlink_to(folder / "cat.jpg")
    return "again.jpg"


def dangling_link(folder: Path, tmp: Path) -> str:
    (folder / "gone.jpg").symlink_to(tmp / "nowhere.jpg")
    return "gone.jpg"


def fifo(folder: Path, tmp: Path) -> str:
    os.mkfifo(folder / "pipe.jpg")
    return "pipe.jpg"


def unix_socket(folder: Path, tmp: Path) -> str:
    # AF_UNIX paths are limited to ~108 bytes: bind from inside the folder with a short name.
    here = Path.cwd()
    os.chdir(folder)
    try:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind("sock.png")
        listener.close()
    finally:
        os.chdir(here)
    return "sock.png"


# (case, make the odd entry in the folder → its name, the reason reported)
CASES: list[tuple[str, Callable[[Path, Path], str], str]] = [
    ("link to a file outside the folder", link_to_outside_file, LINK),
    ("link to a folder outside the folder", link_to_outside_folder, LINK),
    ("link to /etc/passwd named .png", link_to_etc_passwd, LINK),
    ("link to a file inside the folder", link_inside_the_folder, LINK),
    ("dangling link", dangling_link, LINK),
    ("FIFO named .jpg", fifo, "special file (FIFO), not read"),
    ("socket named .png", unix_socket, "special file (socket), not read"),
]


@pytest.mark.parametrize(("case", "make", "reason"), CASES, ids=[c[0] for c in CASES])
def test_folder_entries_that_are_not_regular_files_are_skipped_and_said(
    case: str, make: Callable[[Path, Path], str], reason: str, tmp_path: Path, home: Path
) -> None:
    folder = tmp_path / "in"
    photo(folder)
    odd = folder / make(folder, tmp_path)
    # A process of its own, with a timeout: reading a FIFO would block forever.
    ran = run_process(home, "dataset", "add", "photos", str(folder), "--json", timeout=60)
    assert ran.code == 0, ran
    report = json.loads(ran.out)
    assert report["added"] == 1
    assert report["skipped"] == [{"path": str(odd), "reason": reason}]
    blobs = bootstrap.embedded(home).blobs
    stored = [blobs.get(key) for key in blobs.list("datasets/")]
    assert stored == [sample("chelsea").read_bytes()]  # only the photo's bytes, nothing from elsewhere


def test_the_cli_prints_one_skipped_line_per_link(cli: CliRun, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photo(folder)
    link_to_etc_passwd(folder, tmp_path)
    ran = cli("dataset", "add", "photos", str(folder))
    assert ran.code == 0 and "1 added" in ran.out
    assert ran.err.strip() == f"skipped: {LINK}: {folder / 'passwd.png'}"


def test_a_device_in_the_folder_is_not_read(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "in"
    photo(folder)
    try:
        os.mknod(folder / "zero.jpg", 0o600 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero
    except PermissionError:
        pytest.skip("creating a device node needs privileges this machine does not give")
    report = datasets.add_files(bootstrap.embedded(home), OWNER, "photos", [folder])
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(folder / "zero.jpg"), "special file (device), not read")
    ]


def test_a_fifo_named_on_the_command_line_is_skipped_not_waited_on(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "in"
    cat = photo(folder)
    os.mkfifo(tmp_path / "named.jpg")
    ran = run_process(home, "dataset", "add", "photos", str(cat), str(tmp_path / "named.jpg"), "--json", timeout=60)
    assert ran.code == 0, ran
    assert json.loads(ran.out)["skipped"] == [
        {"path": str(tmp_path / "named.jpg"), "reason": "special file (FIFO), not read"}
    ]


def test_a_link_named_on_the_command_line_is_the_callers_choice(tmp_path: Path, home: Path) -> None:
    cat = photo(tmp_path / "real")
    (tmp_path / "chosen.jpg").symlink_to(cat)
    report = datasets.add_files(bootstrap.embedded(home), OWNER, "photos", [tmp_path / "chosen.jpg"])
    assert report.added == 1 and report.skipped == []


@pytest.mark.parametrize(
    "paths",
    [["missing"], ["empty-folder"], ["links-only"]],
    ids=["a missing path", "an empty folder", "a folder of links only"],
)
def test_nothing_to_add_is_an_error_and_creates_nothing(
    cli: CliRun, tmp_path: Path, home: Path, paths: list[str]
) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "links-only").mkdir()
    link_to_etc_passwd(tmp_path / "links-only", tmp_path)
    ran = cli("dataset", "add", "photos", *(str(tmp_path / p) for p in paths))
    ran.one_line_error("no image files to add")
    assert cli("dataset", "list", "--json").out.strip() == "[]"


# --------------------------------------------------------------------------- blob ownership


def test_another_dataset_cannot_register_an_uploaded_blob(tmp_path: Path, home: Path) -> None:
    backends = bootstrap.embedded(home)
    first = datasets.add_files(backends, OWNER, "a", [photo(tmp_path / "in")])
    (owned,) = backends.records.list_inputs(first.dataset.id).items
    datasets.create_dataset(backends, OWNER, "b")
    with pytest.raises(Forbidden, match="belongs to another dataset"):
        datasets.register_keys(backends, OWNER, "b", [owned.blob_key])
    with pytest.raises(ValidationError, match="reserved"):  # its own content-addressed copy neither
        datasets.register_keys(backends, OWNER, "a", [owned.blob_key])
    datasets.delete_inputs(backends, OWNER, [owned.id])
    assert not backends.blobs.exists(owned.blob_key)  # an owned blob goes with its input


def test_deleting_an_input_keeps_bytes_it_does_not_own(tmp_path: Path, home: Path) -> None:
    """Two datasets uploading the same bytes each own a copy; one input pointing at a blob it
    did not upload (a record from before ownership) never deletes it."""
    backends = bootstrap.embedded(home)
    a = datasets.add_files(backends, OWNER, "a", [photo(tmp_path / "in")])
    b = datasets.add_files(backends, OWNER, "b", [photo(tmp_path / "in")])
    (in_a,) = backends.records.list_inputs(a.dataset.id).items
    (in_b,) = backends.records.list_inputs(b.dataset.id).items
    assert in_a.blob_key != in_b.blob_key
    datasets.delete_inputs(backends, OWNER, [in_a.id])
    assert backends.blobs.get(in_b.blob_key) == sample("chelsea").read_bytes()
    borrowed = in_b.model_copy(update={"id": "in_borrowed", "blob_key": in_b.blob_key, "dataset_id": a.dataset.id})
    assert not datasets.owns_blob(borrowed)
    assert datasets.owns_blob(in_b)
