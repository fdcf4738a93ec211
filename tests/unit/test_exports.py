"""COCO / YOLO exports, the export writer and previews, on values built in memory.

COCO output is read back with pycocotools, the reference reader, rather than inspected as a
dict, so the tests fail if the document stops being something COCO tools accept.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from pycocotools.coco import COCO

from autolabel.domain.errors import ValidationError
from autolabel.domain.models import (
    Annotation,
    AnnotationStatus,
    Band,
    Box,
    Classification,
    Labeler,
    LabelerKind,
    Polygon,
    Reviewer,
    Task,
    TextSpan,
    Thresholds,
)
from autolabel.exports.formats import ExportImage, _yaml_quote, to_coco, to_yolo
from autolabel.exports.preview import render_preview
from autolabel.exports.writer import write_export

yaml = pytest.importorskip("yaml")

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MODEL = Labeler(kind=LabelerKind.MODEL, id="detr", version="1.2.0")
ALICE = Labeler(kind=LabelerKind.REVIEWER, id="alice")
TASK = Task(
    id="task_1",
    name="street scenes",
    dataset_id="ds_1",
    model_id="detr",
    model_version="1.2.0",
    concepts=["cat", "dog", "dining table"],
    thresholds=Thresholds(upper=0.9, lower=0.5),
    reviewers=[Reviewer(name="alice")],
)
IMG_A = ExportImage("in_a", "a.jpg", 200, 100)
IMG_B = ExportImage("in_b", "photos/b.jpg", 640, 480)
IMG_C = ExportImage("in_c", "a.jpg", 50, 50)  # same file name as A: stems must not collide
IMAGES = [IMG_A, IMG_B, IMG_C]
TRIANGLE = Polygon(points=[(10, 10), (110, 10), (10, 60)])  # area 100 * 50 / 2


def ann(
    id: str,
    input_id: str,
    concept: str,
    geometry: Any,
    status: AnnotationStatus = AnnotationStatus.SUCCESS,
    score: float | None = 0.95,
    labeled_by: Labeler = MODEL,
    task_id: str = "task_1",
) -> Annotation:
    return Annotation(
        id=id,
        task_id=task_id,
        input_id=input_id,
        concept=concept,
        geometry=geometry,
        status=status,
        labeled_by=labeled_by,
        score=score,
        created_at=NOW,
        updated_at=NOW,
    )


ANNOTATIONS = [
    ann("an_1", "in_a", "cat", Box(x=10, y=20, w=30, h=40)),
    ann("an_2", "in_a", "dog", Box(x=100, y=0, w=50, h=50), score=0.91),
    ann("an_3", "in_b", "cat", Box(x=5, y=5, w=10, h=10), AnnotationStatus.AWAITING_REVIEW, 0.7),
    ann("an_4", "in_b", "dog", Box(x=300, y=300, w=20, h=20), AnnotationStatus.REJECTED, 0.3),
    ann("an_5", "in_b", "dining table", TRIANGLE, score=0.93),
    ann("an_6", "in_b", "cat", Classification(), score=0.88),
    ann("an_7", "in_b", "dog", Box(x=400, y=100, w=60, h=80), score=None, labeled_by=ALICE),
    # Never exported: unknown concept, unknown image, another task, text, pending.
    ann("an_8", "in_a", "unicorn", Box(x=1, y=1, w=5, h=5)),
    ann("an_9", "in_zzz", "cat", Box(x=1, y=1, w=5, h=5)),
    ann("an_10", "in_a", "cat", Box(x=1, y=1, w=5, h=5), task_id="task_2"),
    ann("an_11", "in_a", "cat", TextSpan(start=0, end=3)),
    ann("an_12", "in_a", "cat", Box(x=2, y=2, w=5, h=5), AnnotationStatus.PENDING),
]


def load_coco(tmp_path: Path, document: dict[str, Any]) -> COCO:
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(document))
    return COCO(str(path))


def boxes_by_image(coco: COCO) -> dict[int, list[tuple[int, list[float]]]]:
    return {
        image_id: [(a["category_id"], a["bbox"]) for a in coco.loadAnns(coco.getAnnIds([image_id]))]
        for image_id in coco.getImgIds()
    }


# --------------------------------------------------------------------------- COCO


def test_coco_loads_with_pycocotools_and_holds_only_approved_boxes(tmp_path: Path) -> None:
    coco = load_coco(tmp_path, to_coco(TASK, IMAGES, ANNOTATIONS, created_at=NOW))

    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == TASK.concepts
    assert coco.getCatIds(catNms=["dining table"]) == [3]
    images = coco.loadImgs(coco.getImgIds())
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in images] == [
        (1, "a.jpg", 200, 100),
        (2, "photos/b.jpg", 640, 480),
        (3, "a.jpg", 50, 50),
    ]
    assert [i["autolabel_input_id"] for i in images] == ["in_a", "in_b", "in_c"]
    assert boxes_by_image(coco) == {
        1: [(1, [10.0, 20.0, 30.0, 40.0]), (2, [100.0, 0.0, 50.0, 50.0])],
        2: [(2, [400.0, 100.0, 60.0, 80.0]), (3, [10.0, 10.0, 100.0, 50.0])],
        3: [],
    }
    anns = coco.loadAnns(coco.getAnnIds())
    assert [a["id"] for a in anns] == [1, 2, 3, 4]
    assert {a["autolabel_status"] for a in anns} == {"SUCCESS"}
    assert all(a["iscrowd"] == 0 for a in anns)


def test_coco_annotation_fields_carry_provenance(tmp_path: Path) -> None:
    coco = load_coco(tmp_path, to_coco(TASK, IMAGES, ANNOTATIONS, created_at=NOW))
    first, _, by_alice, polygon = coco.loadAnns(coco.getAnnIds())

    assert first["score"] == 0.95
    assert first["area"] == 30 * 40
    assert first["segmentation"] == []
    assert first["autolabel_labeled_by"] == "detr@1.2.0"
    assert "score" not in by_alice  # a person's label has no score
    assert by_alice["autolabel_labeled_by"] == "alice"
    assert polygon["segmentation"] == [[10.0, 10.0, 110.0, 10.0, 10.0, 60.0]]


# pycocotools' own numpy-2 deprecation, not ours.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_coco_polygon_area_is_the_shoelace_area(tmp_path: Path) -> None:
    coco = load_coco(tmp_path, to_coco(TASK, IMAGES, ANNOTATIONS, created_at=NOW))
    [polygon] = coco.loadAnns(coco.getAnnIds(catIds=[3]))

    assert polygon["area"] == pytest.approx(2500.0)
    # pycocotools rasterises the ring to about the same area: the vertices are read correctly.
    assert int(coco.annToMask(polygon).sum()) == pytest.approx(2500, rel=0.05)


def test_coco_review_annotations_only_with_include_review_and_marked(tmp_path: Path) -> None:
    coco = load_coco(tmp_path, to_coco(TASK, IMAGES, ANNOTATIONS, include_review=True))

    anns = coco.loadAnns(coco.getAnnIds(imgIds=[2]))
    assert [(a["category_id"], a["bbox"], a["autolabel_status"]) for a in anns] == [
        (1, [5.0, 5.0, 10.0, 10.0], "AWAITING_REVIEW"),
        (2, [400.0, 100.0, 60.0, 80.0], "SUCCESS"),
        (3, [10.0, 10.0, 100.0, 50.0], "SUCCESS"),
    ]
    assert [a["id"] for a in coco.loadAnns(coco.getAnnIds())] == [1, 2, 3, 4, 5]
    default = to_coco(TASK, IMAGES, ANNOTATIONS)
    assert all(a["autolabel_status"] != "AWAITING_REVIEW" for a in default["annotations"])


def test_coco_never_exports_rejected_annotations() -> None:
    for include_review in (False, True):
        document = to_coco(TASK, IMAGES, ANNOTATIONS, include_review=include_review)
        assert [300.0, 300.0, 20.0, 20.0] not in [a["bbox"] for a in document["annotations"]]
        statuses = {a["autolabel_status"] for a in document["annotations"]}
        assert "REJECTED" not in statuses and "PENDING" not in statuses


def test_coco_classifications_go_to_image_labels_not_annotations() -> None:
    document = to_coco(TASK, IMAGES, ANNOTATIONS)

    assert document["image_labels"] == [
        {
            "image_id": 2,
            "category_id": 1,
            "score": 0.88,
            "status": "SUCCESS",
            "labeled_by": "detr@1.2.0",
        }
    ]
    assert all(a["bbox"] != [0.0, 0.0, 640.0, 480.0] for a in document["annotations"])


def test_coco_info_and_order_are_deterministic() -> None:
    document = to_coco(TASK, IMAGES, ANNOTATIONS, created_at=NOW)
    shuffled = random.Random(7).sample(ANNOTATIONS, len(ANNOTATIONS))

    assert to_coco(TASK, IMAGES, shuffled, created_at=NOW) == document
    assert "street scenes" in document["info"]["description"]
    assert "detr@1.2.0" in document["info"]["description"]
    assert document["info"]["date_created"] == "2024-05-01T12:00:00+00:00"
    assert document["licenses"] == []


def test_coco_clips_boxes_to_the_image() -> None:
    overshoot = ann("an_x", "in_a", "cat", Box(x=190, y=90, w=30, h=30))
    document = to_coco(TASK, [IMG_A], [overshoot])

    assert [(a["bbox"], a["area"]) for a in document["annotations"]] == [([190.0, 90.0, 10.0, 10.0], 100.0)]


@pytest.mark.parametrize("export", [to_coco, to_yolo])
def test_exports_refuse_boxes_outside_the_image_naming_them(export: Any) -> None:
    overshoot = ann("an_x", "in_a", "cat", Box(x=190, y=90, w=30, h=30))
    outside = ann("an_y", "in_a", "cat", Box(x=250, y=10, w=10, h=10))
    with pytest.raises(ValidationError, match=r"1 annotation.*outside their image.*an_y") as refused:
        export(TASK, [IMG_A], [overshoot, outside])
    assert refused.value.details == {"annotation_ids": ["an_y"]}


def test_exports_refuse_an_image_listed_twice() -> None:
    with pytest.raises(ValidationError, match="twice"):
        to_coco(TASK, [IMG_A, IMG_A], ANNOTATIONS)


# --------------------------------------------------------------------------- YOLO


def test_yolo_writes_normalised_center_boxes_per_image() -> None:
    files = to_yolo(TASK, IMAGES, ANNOTATIONS)

    assert sorted(files) == [
        "data.yaml",
        "labels/in_a.txt",
        "labels/in_b.txt",
        "labels/in_c.txt",
        "manifest.csv",
    ]
    assert files["labels/in_a.txt"] == (
        "0 0.125000 0.400000 0.150000 0.400000\n"  # x=10 y=20 w=30 h=40 on 200x100
        "1 0.625000 0.250000 0.250000 0.500000\n"
    )
    # The reviewer's dog box, then the triangle as its bounding box.
    assert files["labels/in_b.txt"] == (
        "1 0.671875 0.291667 0.093750 0.166667\n2 0.093750 0.072917 0.156250 0.104167\n"
    )
    assert files["labels/in_c.txt"] == ""  # a negative example, not a missing file


def test_yolo_puts_review_boxes_in_their_own_folder() -> None:
    plain = to_yolo(TASK, IMAGES, ANNOTATIONS)
    files = to_yolo(TASK, IMAGES, ANNOTATIONS, include_review=True)

    assert not any(path.startswith("labels_review/") for path in plain)
    assert files["labels_review/in_b.txt"] == "0 0.015625 0.020833 0.015625 0.020833\n"
    assert [p for p in files if p.startswith("labels_review/")] == ["labels_review/in_b.txt"]
    # Approved labels are unchanged by include_review: review boxes are never mixed in.
    assert {p: t for p, t in files.items() if p.startswith("labels/")} == {
        p: t for p, t in plain.items() if p.startswith("labels/")
    }
    assert "0.484375 0.645833" not in "".join(files.values())  # the rejected box's center


def test_yolo_data_yaml_parses_with_names_in_concept_order() -> None:
    task = TASK.model_copy(update={"concepts": ["cat", "dining table", "a: b", "#x", 'q"uote']})
    data = yaml.safe_load(to_yolo(task, IMAGES, [])["data.yaml"])

    assert data == {
        "path": ".",
        "train": "images",
        "val": "images",
        "nc": 5,
        "names": ["cat", "dining table", "a: b", "#x", 'q"uote'],
    }


@given(st.text())
def test_yaml_quote_round_trips_any_text(text: str) -> None:
    assert yaml.safe_load(f"name: {_yaml_quote(text)}\n") == {"name": text}


def test_yolo_manifest_maps_stems_to_original_file_names() -> None:
    rows = list(csv.reader(io.StringIO(to_yolo(TASK, IMAGES, ANNOTATIONS)["manifest.csv"])))

    assert rows == [
        ["input_id", "file_name", "width", "height"],
        ["in_a", "a.jpg", "200", "100"],
        ["in_b", "photos/b.jpg", "640", "480"],
        ["in_c", "a.jpg", "50", "50"],
    ]


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "", ".hidden"])
def test_yolo_refuses_input_ids_that_are_not_plain_file_names(bad_id: str) -> None:
    with pytest.raises(ValidationError):
        to_yolo(TASK, [ExportImage(bad_id, "x.jpg", 10, 10)], [])


# --------------------------------------------------------------------------- writer


def test_write_export_writes_text_and_bytes_under_out(tmp_path: Path) -> None:
    out = tmp_path / "export"
    written = write_export({"labels/a.txt": "0 0.5 0.5 1 1\n", "blob.bin": b"\x00\x01"}, out)

    assert written == [out / "labels" / "a.txt", out / "blob.bin"]
    assert (out / "labels" / "a.txt").read_text() == "0 0.5 0.5 1 1\n"
    assert (out / "blob.bin").read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a\\b.txt", "", "a//b", "./a"])
def test_write_export_refuses_paths_escaping_out_and_writes_nothing(tmp_path: Path, name: str) -> None:
    out = tmp_path / "export"
    with pytest.raises(ValidationError):
        write_export({"ok.txt": "fine", name: "bad"}, out)
    assert not (out / "ok.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_write_export_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "export", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "labels").symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(ValidationError, match="escapes"):
        write_export({"labels/a.txt": "x"}, out)
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- preview

GREEN, AMBER, RED = (0x2E, 0xCC, 0x71), (0xF3, 0x9C, 0x12), (0xE7, 0x4C, 0x3C)
BACKGROUND = (40, 60, 80)


def test_preview_draws_the_box_edge_in_the_band_colour() -> None:
    image = Image.new("RGB", (64, 48), BACKGROUND)
    box = Box(x=10, y=10, w=30, h=30)
    # The discarded duplicate is drawn first, so the approved outline ends up on top.
    drawn = [(box, "cat", 0.87, "approved"), (box, "cat", 0.2, Band.DISCARDED.value)]
    out = render_preview(image, drawn)

    assert out.size == image.size and out.mode == "RGB"
    for edge in [(10, 32), (39, 32), (25, 39), (11, 36)]:  # left, right, bottom (below the tag)
        assert out.getpixel(edge) == GREEN, edge
    assert out.getpixel((25, 30)) == BACKGROUND  # inside the box, away from the tag
    assert out.getpixel((60, 5)) == BACKGROUND  # outside everything
    assert image.getpixel((10, 32)) == BACKGROUND  # the input is not drawn on


def test_preview_colours_review_and_discarded_and_skips_whole_image_labels() -> None:
    image = Image.new("L", (64, 48), 0)  # not RGB: the preview converts
    out = render_preview(
        image,
        [
            (Box(x=2, y=20, w=20, h=20), "dog", 0.6, "review"),
            (Polygon(points=[(40, 20), (60, 20), (60, 44)]), "car", None, "discarded"),
            (Classification(), "indoor", 0.99, "approved"),
        ],
    )

    assert out.mode == "RGB"
    assert out.getpixel((2, 35)) == AMBER
    assert out.getpixel((60, 38)) == RED
    assert GREEN not in {c for _, c in out.getcolors(64 * 48) or []}


def test_preview_legend_on_larger_images() -> None:
    out = render_preview(Image.new("RGB", (400, 300), BACKGROUND), [])
    corner = out.crop((0, 200, 200, 300))
    colours = {c for _, c in corner.getcolors(200 * 100) or []}

    assert {GREEN, AMBER, RED} <= colours
    assert render_preview(Image.new("RGB", (400, 300), BACKGROUND), [], legend=False).getcolors(1) == [
        (400 * 300, BACKGROUND)
    ]


def test_preview_refuses_unknown_bands() -> None:
    with pytest.raises(ValueError, match="band"):
        render_preview(Image.new("RGB", (8, 8)), [(Box(x=0, y=0, w=2, h=2), "x", 0.5, "maybe")])
