"""Contract of BlobStore: every adapter passes these."""

from __future__ import annotations

import pytest

from autolabel.domain.errors import InvalidKey, NotFound
from autolabel.ports import BlobStore


def test_put_get_roundtrip_and_overwrite(blobs: BlobStore) -> None:
    blobs.put("datasets/a/one.jpg", b"first")
    assert blobs.get("datasets/a/one.jpg") == b"first"
    blobs.put("datasets/a/one.jpg", b"second")
    assert blobs.get("datasets/a/one.jpg") == b"second"
    assert blobs.exists("datasets/a/one.jpg")


def test_missing_key_is_not_found(blobs: BlobStore) -> None:
    assert not blobs.exists("nope/missing.bin")
    with pytest.raises(NotFound):
        blobs.get("nope/missing.bin")
    with pytest.raises(NotFound):
        blobs.local_path("nope/missing.bin")


def test_delete_is_idempotent(blobs: BlobStore) -> None:
    blobs.put("x/y.bin", b"1")
    blobs.delete("x/y.bin")
    blobs.delete("x/y.bin")
    assert not blobs.exists("x/y.bin")


def test_list_by_prefix_is_sorted(blobs: BlobStore) -> None:
    for key in ["b/2", "a/1", "a/3", "a/2", "ab/1"]:
        blobs.put(key, key.encode())
    assert list(blobs.list("a/")) == ["a/1", "a/2", "a/3"]
    assert list(blobs.list("a")) == ["a/1", "a/2", "a/3", "ab/1"]
    assert list(blobs.list("zzz")) == []


def test_empty_blob(blobs: BlobStore) -> None:
    blobs.put("empty", b"")
    assert blobs.get("empty") == b""


def test_local_path_holds_the_bytes(blobs: BlobStore) -> None:
    blobs.put("models/m/model.onnx", b"\x00\x01onnx")
    assert blobs.local_path("models/m/model.onnx").read_bytes() == b"\x00\x01onnx"


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../outside", "a/../../b", "a/./b", "a//b", "a\\b", "trailing/", "nul\x00byte", "x" * 1025],
)
def test_keys_that_could_escape_are_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        blobs.put(key, b"nope")
    with pytest.raises(InvalidKey):
        blobs.get(key)


def test_size_without_reading(blobs: BlobStore) -> None:
    blobs.put("uploads/d/a.png", b"x" * 1234)
    blobs.put("uploads/d/empty.png", b"")
    assert blobs.size("uploads/d/a.png") == 1234
    assert blobs.size("uploads/d/empty.png") == 0
    with pytest.raises(NotFound):
        blobs.size("uploads/d/missing.png")
