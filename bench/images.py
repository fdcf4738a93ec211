"""Benchmark inputs: distinct JPEGs made from the bundled sample photos (crops and mirrors)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "images"


def make_images(folder: Path, count: int, long_side: int | None = None) -> list[Path]:
    """``count`` distinct JPEGs; with ``long_side``, each enlarged so its longer side has that many
    pixels (a phone camera's 4032 gives about 12 megapixels), to measure decoding real photos."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    sources = []
    for photo in photos:
        with Image.open(photo) as opened:
            sources.append(ImageOps.exif_transpose(opened).convert("RGB"))
    paths = []
    for n in range(count):
        image = sources[n % len(sources)]
        variant = n // len(sources)
        if variant % 2:
            image = ImageOps.mirror(image)
        width, height = image.size
        shift = variant // 2
        image = image.crop((shift * 3, shift * 2, width - shift * 2, height - shift * 3))
        if long_side:
            scale = long_side / max(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        path = folder / f"bench{n:04d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths
