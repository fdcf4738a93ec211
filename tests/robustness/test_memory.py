"""Memory bounded by design: decodes are admitted by a pixel budget shared by the process, and
a huge image is shrunk as soon as it is loaded (bench/huge_images.py measures the peak)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PIL import Image

from autolabel.imaging import decode
from autolabel.imaging.decode import PixelBudget, decode_image_at_least


class RecordingBudget(PixelBudget):
    def __init__(self, pixels: int) -> None:
        super().__init__(pixels)
        self.peak = 0

    @contextmanager
    def admit(self, pixels: int) -> Iterator[None]:
        with super().admit(pixels):
            self.peak = max(self.peak, self.in_use)
            time.sleep(0.05)  # hold it, so overlapping decodes would show
            yield


def test_the_budget_admits_what_fits_and_a_larger_one_alone() -> None:
    budget = PixelBudget(100)
    order: list[str] = []

    def second() -> None:
        with budget.admit(60):
            order.append("second")

    with budget.admit(60):
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.2)
        assert order == [] and budget.in_use == 60  # 60 + 60 > 100: it waits
    waiting.join(5)
    assert order == ["second"]
    with pytest.raises(ValueError, match="positive"):
        PixelBudget(0)


def test_an_image_larger_than_the_budget_runs_alone() -> None:
    budget = PixelBudget(10)
    with budget.admit(1_000):
        assert budget.in_use == 1_000


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """4100 x 4000 (16.4 megapixels, above the shrinking threshold)."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((4100, 4000)).convert("RGB").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_huge_decodes_run_one_at_a_time_within_the_budget(huge_png: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    budget = RecordingBudget(20_000_000)
    monkeypatch.setattr(decode, "DECODE_BUDGET", budget)
    threads = [threading.Thread(target=decode_image_at_least, args=(huge_png, (300, 300))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert budget.peak == 4100 * 4000  # never two at once
    assert budget.in_use == 0


def test_a_huge_image_is_shrunk_on_load_and_keeps_its_full_size_for_boxes(huge_png: bytes) -> None:
    image, full_size = decode_image_at_least(huge_png, (300, 300))
    assert full_size == (4100, 4000)
    assert image.size == (316, 308) and image.mode == "RGB"  # reduced 13 times (ceiling), still ≥ 300


def test_ordinary_images_are_not_shrunk() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 20, 30)).save(buffer, "PNG")
    image, full_size = decode_image_at_least(buffer.getvalue(), (300, 300))
    assert image.size == full_size == (1200, 900)
