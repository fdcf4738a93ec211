"""Memory bounded by design: decodes are admitted by a pixel budget shared by the process, and
a huge image is shrunk as soon as it is loaded (bench/huge_images.py measures the peak)."""

from __future__ import annotations

import io
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PIL import Image

from autolabel.imaging import decode, png_strips
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


@pytest.mark.parametrize("in_strips", [True, False], ids=["PNG in strips", "decoded whole"])
def test_huge_decodes_stay_within_the_budget(huge_png: bytes, monkeypatch: pytest.MonkeyPatch, in_strips: bool) -> None:
    budget = RecordingBudget(20_000_000)
    monkeypatch.setattr(decode, "DECODE_BUDGET", budget)
    if not in_strips:  # e.g. a TIFF, or an interlaced PNG
        monkeypatch.setattr(png_strips, "can_decode", lambda data: False)
    threads = [threading.Thread(target=decode_image_at_least, args=(huge_png, (300, 300))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    strip = png_strips.strip_pixels(4100, 13)
    # In strips, three decode at once, a strip each; whole, one at a time.
    assert budget.peak == (3 * strip if in_strips else 4100 * 4000)
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


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _busy(mode: str, size: tuple[int, int]) -> Image.Image:
    """An image whose rows differ in every way PNG's filters care about (noise and gradients)."""
    base = Image.effect_noise(size, 60).convert("L")
    gradient = Image.linear_gradient("L").resize(size)
    if mode == "L":
        return base
    if mode == "LA":
        return Image.merge("LA", (base, gradient))
    rgb = Image.merge(
        "RGB", (base, gradient, Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size))
    )
    if mode == "RGBA":
        return Image.merge("RGBA", (*rgb.split(), base))
    if mode == "P":
        return rgb.quantize(64)
    return rgb


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_a_huge_png_decoded_in_strips_equals_the_whole_decode(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pixel for pixel the result of decoding whole then reducing (odd sizes: partial blocks)."""
    data = _png(_busy(mode, (1301, 1103)))
    monkeypatch.setattr(decode, "SHRINK_ABOVE_PIXELS", 1_000)
    monkeypatch.setattr(png_strips, "STRIP_ROWS", 64)
    in_strips, size = decode_image_at_least(data, (300, 300))
    monkeypatch.setattr(png_strips, "can_decode", lambda data: False)  # the whole-image path
    whole, _ = decode_image_at_least(data, (300, 300))
    assert size == (1301, 1103) and in_strips.size == whole.size == (434, 368)  # reduced 3 times
    assert in_strips.tobytes() == whole.tobytes()


def test_a_truncated_huge_png_is_a_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png(_busy("RGB", (1301, 1103)))
    monkeypatch.setattr(decode, "SHRINK_ABOVE_PIXELS", 1_000)
    with pytest.raises(decode.ImageDecodeError, match="corrupt or truncated"):
        decode_image_at_least(data[: len(data) // 2], (300, 300))


def test_the_strip_decoder_leaves_other_pngs_to_the_whole_decode() -> None:
    plain = _png(Image.new("RGB", (64, 64)))
    interlaced_header = png_strips._chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 1))
    interlaced = plain[:8] + interlaced_header + plain[8 + len(interlaced_header) :]
    deep = _png(Image.new("I;16", (64, 64)))
    assert png_strips.decode_reduced(plain, 2, lambda image, box: image.reduce(2, box)) is not None
    assert png_strips.decode_reduced(interlaced, 2, lambda image, box: image) is None
    assert png_strips.decode_reduced(deep, 2, lambda image, box: image) is None
