from __future__ import annotations

from pathlib import Path

import pytest

from autolabel.service import Autolabel
from autolabel.workspace import embedded

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "images"


def sample(stem: str) -> Path:
    """A bundled sample photo by its stem (the extension may be .jpg or .png)."""
    found = sorted(SAMPLES.glob(f"{stem}.*"))
    assert found, f"missing sample photo {stem}"
    return found[0]


@pytest.fixture
def svc(tmp_path: Path) -> Autolabel:
    backends = embedded(tmp_path / "home")
    return Autolabel(backends.records, backends.blobs, backends.queues, backends.users)
