"""Model v3 of the SSD detector (the v2 graph with its post-processing loop cut off, see
models/ssd_mobilenet_v2_coco/cut.py) finds what v2 found on the sample photos.

``ssd_v2_reference.json`` holds v2's detections, written by cut.py from the v2 file through
autolabel's v2 decoder (``tf-detection``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from autolabel.app import datasets, tasks
from autolabel.app.access import find_task
from autolabel.app.models import shipped_models_dir
from autolabel.app.runs.local import run_task
from autolabel.domain.models import Box, Reviewer, Thresholds
from autolabel.domain.users import Actor
from autolabel.imaging.decode import decode_image, decode_image_at_least
from autolabel.inference.processing import Prepared, RawPrediction, prepare
from autolabel.inference.runtime import ModelRunner
from autolabel.inference.spec import SelectedDetectionDecoder, load_package
from autolabel.ports import Backends
from tests.conftest import SAMPLES

OWNER = Actor.workspace_owner()
REFERENCE = json.loads((Path(__file__).parent / "ssd_v2_reference.json").read_text())
MODEL_DIR = shipped_models_dir() / "ssd_mobilenet_v2_coco"


def iou(a: Box, b: Box) -> float:
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    inter = max(0.0, width) * max(0.0, height)
    return inter / (a.w * a.h + b.w * b.h - inter)


@pytest.fixture(scope="module")
def runner() -> ModelRunner:
    package = load_package(MODEL_DIR)
    assert package.version == "3" and isinstance(package.decoder, SelectedDetectionDecoder)
    return ModelRunner(package, MODEL_DIR / package.file, intra_op_threads=1)


@pytest.fixture(scope="module")
def photos(runner: ModelRunner) -> dict[str, Prepared]:
    return {name: prepare(decode_image((SAMPLES / name).read_bytes()), runner.package.input) for name in REFERENCE}


def assert_same_detections(name: str, new: list[RawPrediction]) -> None:
    old = REFERENCE[name]
    assert len(new) == len(old), name
    unmatched = list(new)
    for reference in old:
        box = Box(**reference["box"])
        match = next(
            (
                p
                for p in unmatched
                if p.concept == reference["concept"]
                and isinstance(p.geometry, Box)
                and iou(p.geometry, box) >= 0.9
                and abs(p.score - reference["score"]) <= 0.01
            ),
            None,
        )
        assert match is not None, f"{name}: v3 lost {reference}"
        unmatched.remove(match)


def test_the_reference_covers_every_sample_photo() -> None:
    photos = {p.name for p in SAMPLES.iterdir() if p.suffix in {".jpg", ".png"}}
    assert set(REFERENCE) == photos
    assert sum(len(found) for found in REFERENCE.values()) > 50


def test_v3_in_one_batch_matches_v2(runner: ModelRunner, photos: dict[str, Prepared]) -> None:
    # All six photos share one batch, so this also checks that batch rows do not mix.
    assert runner.batch_size >= len(photos)
    for name, found in zip(photos, runner.run(list(photos.values())), strict=True):
        assert_same_detections(name, found)


def test_v3_one_image_at_a_time_matches_v2(runner: ModelRunner, photos: dict[str, Prepared]) -> None:
    for name, prepared in photos.items():
        assert_same_detections(name, runner.run([prepared])[0])


def test_the_obvious_objects_stay_on_top(runner: ModelRunner, photos: dict[str, Prepared]) -> None:
    found = dict(zip(photos, runner.run(list(photos.values())), strict=True))
    assert (found["chelsea.png"][0].concept, found["coffee.png"][0].concept) == ("cat", "cup")
    assert found["motorcycle_left.png"][0].concept == "motorcycle"
    assert all(p.score >= 0.05 for detections in found.values() for p in detections)


def test_a_big_rotated_jpeg_is_decoded_small_and_boxed_in_full_size_pixels(backends: Backends, tmp_path: Path) -> None:
    """A 12-megapixel-class photo is decoded at 1/4 scale (JPEG DCT scaling); its boxes still
    come out in pixels of the full, upright photo and match the full decode's."""
    upright = Image.open(SAMPLES / "chelsea.png").convert("RGB").resize((1804, 1200), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored turned a quarter left; viewers turn it back
    photo = tmp_path / "photos" / "big_cat.jpg"
    photo.parent.mkdir()
    upright.transpose(Image.Transpose.ROTATE_90).save(photo, quality=92, exif=exif)

    data = photo.read_bytes()
    package = load_package(MODEL_DIR)
    small, full_size = decode_image_at_least(data, (300, 300))
    assert full_size == (1804, 1200) and small.size == (451, 300)

    datasets.add_files(backends, OWNER, "big", [photo.parent])
    tasks.create_task(
        backends,
        OWNER,
        name="big",
        dataset="big",
        model=package.id,
        concepts=["cat"],
        thresholds=Thresholds.of(upper=0.7, lower=0.3),
        reviewers=[Reviewer(name="alice")],
    )
    run_task(backends, OWNER, "big")
    task = find_task(backends, "big")
    cat = max(backends.records.predictions(task.id), key=lambda p: p.score)
    assert cat.concept == "cat" and cat.score >= 0.8
    assert isinstance(cat.geometry, Box)

    runner = ModelRunner(package, MODEL_DIR / package.file, intra_op_threads=1)
    full = runner.run([prepare(decode_image(data), package.input)])[0][0]
    assert full.concept == "cat" and isinstance(full.geometry, Box)
    assert iou(cat.geometry, full.geometry) >= 0.9
    assert abs(cat.score - full.score) <= 0.05
    # ... and where v2 put the cat in the small original, scaled 4x.
    reference = Box(**{k: v * 4 for k, v in REFERENCE["chelsea.png"][0]["box"].items()})
    assert iou(cat.geometry, reference) >= 0.9
