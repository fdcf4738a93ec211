"""Whether an uploaded object may become an input, by its name and size before it is read."""

from __future__ import annotations

import pytest

from autolabel.domain.inputs import MAX_UPLOAD_BYTES, upload_problem


@pytest.mark.parametrize("name", ["cat.jpg", "CAT.JPEG", "scan.tiff", "notes.txt", "x.webp"])
def test_kinds_autolabel_takes_within_the_limit_pass(name: str) -> None:
    assert upload_problem(name, 1) is None
    assert upload_problem(name, MAX_UPLOAD_BYTES) is None


@pytest.mark.parametrize(
    ("name", "size", "problem"),
    [
        ("movie.mp4", 10, "not a kind of file autolabel labels"),
        ("no-extension", 10, "not a kind of file autolabel labels"),
        ("cat.jpg", 0, "is empty"),
        ("cat.jpg", MAX_UPLOAD_BYTES + 1, f"over the upload limit of {MAX_UPLOAD_BYTES:,}"),
    ],
)
def test_what_is_refused_says_why(name: str, size: int, problem: str) -> None:
    found = upload_problem(name, size)
    assert found is not None and problem in found and name in found


def test_the_limit_is_the_caller_s() -> None:
    assert (
        upload_problem("cat.jpg", 2_000, max_bytes=1_000) == "'cat.jpg' is 2,000 bytes, over the upload limit of 1,000"
    )
