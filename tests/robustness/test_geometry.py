"""Geometry people enter: finite, positive, inside the image (clipped within the tolerance,
refused beyond it or wholly outside) — the domain rule, and the CLI using it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from autolabel.domain.errors import ValidationError
from autolabel.domain.geometry import fit_to_image, tolerance
from autolabel.domain.models import Box, Classification, Polygon

W, H = 640, 480  # tolerance: 6.4 px across, 4.8 px down

# (case, geometry, fitted result, or the error fragment)
FITS: list[tuple[str, Box | Polygon | Classification, Box | Polygon | Classification | str]] = [
    ("inside", Box(x=10, y=10, w=100, h=50), Box(x=10, y=10, w=100, h=50)),
    ("the whole image", Box(x=0, y=0, w=W, h=H), Box(x=0, y=0, w=W, h=H)),
    ("a few pixels past the right edge: clipped", Box(x=600, y=10, w=45, h=10), Box(x=600, y=10, w=40, h=10)),
    ("a few pixels past the bottom: clipped", Box(x=0, y=470, w=10, h=14), Box(x=0, y=470, w=10, h=10)),
    ("past the right edge by more than the tolerance", Box(x=600, y=10, w=50, h=10), "past the image's edge"),
    ("starting right of the image", Box(x=W, y=10, w=5, h=5), "outside the image"),
    ("below the image", Box(x=10, y=H + 100, w=5, h=5), "outside the image"),
    ("1e308 wide", Box(x=0, y=0, w=1e308, h=1e308), "past the image's edge"),
    ("polygon within the tolerance: clamped", Polygon(points=[(0, 0), (644, 0), (644, 10)]),
     Polygon(points=[(0, 0), (640, 0), (640, 10)])),
    ("polygon wholly outside", Polygon(points=[(700, 1), (800, 1), (750, 50)]), "outside the image"),
    ("polygon far past the edge", Polygon(points=[(0, 0), (900, 0), (10, 10)]), "past the image's edge"),
    ("a classification has no place to be checked", Classification(), Classification()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "geometry", "expected"), FITS, ids=[c[0] for c in FITS])
def test_fit_to_image(case: str, geometry: Box | Polygon | Classification, expected: object) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValidationError, match=expected):
            fit_to_image(geometry, W, H)
    else:
        assert fit_to_image(geometry, W, H) == expected


def test_the_tolerance_is_one_percent_of_the_side_and_at_least_four_pixels() -> None:
    assert (tolerance(100), tolerance(640), tolerance(4000)) == (4.0, 6.4, 40.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"x": 0, "y": 0, "w": float("inf"), "h": 1},
        {"x": float("nan"), "y": 0, "w": 1, "h": 1},
        {"x": 0, "y": 0, "w": 0, "h": 1},
        {"x": 0, "y": 0, "w": 1, "h": -1},
        {"x": -1, "y": 0, "w": 1, "h": 1},
    ],
    ids=["infinite width", "NaN x", "zero width", "negative height", "negative x"],
)
def test_boxes_are_finite_with_a_positive_size(fields: dict[str, float]) -> None:
    with pytest.raises(PydanticValidationError):
        Box.model_validate(fields)


def test_polygon_points_are_finite() -> None:
    with pytest.raises(PydanticValidationError):
        Polygon(points=[(0, 0), (float("inf"), 0), (1, 1)])
