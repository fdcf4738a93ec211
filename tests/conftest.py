from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from autolabel import bootstrap
from autolabel.ports import Backends

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "images"

# Property tests check correctness, not speed: on a loaded 2-core CI machine a single example can
# exceed hypothesis' default 200 ms deadline, which would make them flaky for no product reason.
settings.register_profile("autolabel", deadline=None)
settings.load_profile("autolabel")


def sample(stem: str) -> Path:
    """A bundled sample photo by its stem (the extension may be .jpg or .png)."""
    found = sorted(SAMPLES.glob(f"{stem}.*"))
    assert found, f"missing sample photo {stem}"
    return found[0]


@pytest.fixture
def backends(tmp_path: Path) -> Backends:
    """A fresh embedded workspace."""
    return bootstrap.embedded(tmp_path / "home")
