"""The embedded world's signed blob links: the signature covers method, key and expiry."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from autolabel.domain.errors import Forbidden, InvalidKey
from autolabel.embedded.signed_urls import BlobUrlSigner
from autolabel.ports import BLOB_PATH


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(split.query).items()}
    return unquote(split.path[len(BLOB_PATH) :]), query["expires"], query["sig"]


def test_a_link_is_checked_for_method_key_signature_and_time(tmp_path: Path) -> None:
    now = [1_000_000.0]
    signer = BlobUrlSigner(tmp_path / "secret", clock=lambda: now[0])
    key, expires, sig = parts(signer.url("GET", "datasets/d/a b.jpg", 60))
    assert signer.check("GET", key, expires, sig) == "datasets/d/a b.jpg"
    with pytest.raises(Forbidden):
        signer.check("PUT", key, expires, sig)  # a read link is not a write link
    with pytest.raises(Forbidden):
        signer.check("GET", "datasets/d/other.jpg", expires, sig)
    with pytest.raises(Forbidden):
        signer.check("GET", key, str(int(expires) + 3600), sig)  # a longer life is not signed
    with pytest.raises(Forbidden):
        signer.check("GET", key, "soon", sig)
    with pytest.raises(InvalidKey):
        signer.check("GET", "../escape", expires, sig)
    now[0] += 61
    with pytest.raises(Forbidden, match="expired"):
        signer.check("GET", key, expires, sig)


def test_the_secret_is_the_workspaces_own_and_private(tmp_path: Path) -> None:
    first = BlobUrlSigner(tmp_path / "secret", clock=lambda: 0.0)
    url = first.url("GET", "k.jpg", 60)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    # Another process on the same workspace accepts it; another workspace does not.
    assert BlobUrlSigner(tmp_path / "secret", clock=lambda: 0.0).check("GET", *parts(url))
    with pytest.raises(Forbidden):
        BlobUrlSigner(tmp_path / "other", clock=lambda: 0.0).check("GET", *parts(url))
