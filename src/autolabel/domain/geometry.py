"""Where a shape a person draws may lie: inside its image.

Every shape that enters from outside the model (a reviewer's edit, a label added in the input
manager — from the CLI, the API or the web app alike) goes through :func:`fit_to_image` with the
image's upright size. Finite numbers and a positive size are the models' own rule (``Box`` and
``Polygon`` refuse NaN, infinities and empty boxes when they are built).

The tolerance: a shape may stick out past an edge by up to :func:`tolerance` pixels — 1% of that
side, at least 4 pixels — and is clipped to the image (a hand dragging a corner to the border
overshoots it by that much). Further out it is refused rather than cut down to whatever is left,
which would store a shape nobody drew; wholly outside it is refused too.
"""

from __future__ import annotations

from autolabel.domain.errors import ValidationError
from autolabel.domain.models import Box, Classification, Polygon, TextSpan

MIN_TOLERANCE_PX = 4.0
TOLERANCE_FRACTION = 0.01


def tolerance(side: int) -> float:
    """How many pixels past an edge of this length a shape may reach and still be clipped."""
    return max(MIN_TOLERANCE_PX, TOLERANCE_FRACTION * side)


def fit_to_image(
    geometry: Classification | Box | Polygon | TextSpan, width: int, height: int
) -> Classification | Box | Polygon | TextSpan:
    """The shape clipped to a ``width`` × ``height`` image, or ValidationError saying why not."""
    if isinstance(geometry, Box):
        return _fit_box(geometry, width, height)
    if isinstance(geometry, Polygon):
        return _fit_polygon(geometry, width, height)
    return geometry


def _fit_box(box: Box, width: int, height: int) -> Box:
    _check_reach(box.x, box.y, box.x + box.w, box.y + box.h, width, height)
    clipped = box.clipped(width, height)
    if clipped is None:
        raise _outside(width, height)
    return clipped


def _fit_polygon(polygon: Polygon, width: int, height: int) -> Polygon:
    xs = [x for x, _ in polygon.points]
    ys = [y for _, y in polygon.points]
    _check_reach(min(xs), min(ys), max(xs), max(ys), width, height)
    clamped = [(min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))) for x, y in polygon.points]
    cx, cy = [x for x, _ in clamped], [y for _, y in clamped]
    if max(cx) - min(cx) <= 0 or max(cy) - min(cy) <= 0:
        raise _outside(width, height)
    return Polygon(points=clamped)


def _check_reach(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> None:
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise _outside(width, height)
    dx, dy = tolerance(width), tolerance(height)
    if x0 < -dx or y0 < -dy or x1 > width + dx or y1 > height + dy:
        raise ValidationError(
            f"the shape reaches past the image's edge by more than {dx:g} × {dy:g} pixels "
            f"(the image is {width}×{height}); draw it inside the image",
            {"width": width, "height": height},
        )


def _outside(width: int, height: int) -> ValidationError:
    return ValidationError(
        f"the shape lies outside the image (the image is {width}×{height})", {"width": width, "height": height}
    )
