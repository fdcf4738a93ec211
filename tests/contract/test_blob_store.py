"""Contract of BlobStore: every adapter passes these."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from autolabel.domain.errors import InvalidKey, NotFound
from autolabel.ports import BLOB_PATH, BlobStore


def follow(blobs: BlobStore, method: str, url: str, headers: dict[str, str], data: bytes = b"") -> bytes:
    """Use a link the way a browser or client does: with no credential but the link itself.
    The embedded world's links are paths `autolabel serve` answers by checking the signature
    (tests/api covers the server); S3's are presigned URLs moto answers."""
    if url.startswith(BLOB_PATH):
        from autolabel.embedded.blobs import FileBlobStore

        assert isinstance(blobs, FileBlobStore)
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        key = blobs.signer.check(method, unquote(parts.path[len(BLOB_PATH) :]), query["expires"], query["sig"])
        if method == "PUT":
            blobs.put(key, data, headers.get("Content-Type"))
            return b""
        return blobs.get(key)
    response = requests.request(method, url, headers=headers, data=data, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_a_read_link_gives_the_bytes_without_credentials(blobs: BlobStore) -> None:
    blobs.put("datasets/d/photo one.jpg", b"\xff\xd8 bytes")
    assert follow(blobs, "GET", blobs.url("datasets/d/photo one.jpg", 60), {}) == b"\xff\xd8 bytes"


def test_an_upload_link_stores_what_is_put(blobs: BlobStore) -> None:
    target = blobs.upload_url("datasets/d/uploads/new.png", "image/png", 60)
    assert target.method == "PUT" and target.headers == {"Content-Type": "image/png"}
    follow(blobs, "PUT", target.url, target.headers, b"\x89PNG data")
    assert blobs.get("datasets/d/uploads/new.png") == b"\x89PNG data"


def test_links_refuse_keys_that_escape(blobs: BlobStore) -> None:
    with pytest.raises(InvalidKey):
        blobs.url("../secret", 60)
    with pytest.raises(InvalidKey):
        blobs.upload_url("a/../../b.png", "image/png", 60)


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
