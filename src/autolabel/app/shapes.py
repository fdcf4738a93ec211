"""Shapes people draw, fitted to the image they are drawn on (``domain.geometry``'s rule with
the image's real size), for every use case that takes one: review edits and added labels."""

from __future__ import annotations

from autolabel.domain.errors import ValidationError
from autolabel.domain.geometry import fit_to_image
from autolabel.domain.models import Box, Classification, Input, InputKind, Polygon, TextSpan
from autolabel.ports import Backends


def fit_to_input(
    backends: Backends, item: Input, geometry: Classification | Box | Polygon | TextSpan
) -> Classification | Box | Polygon | TextSpan:
    """``geometry`` clipped to the input's upright image, or ValidationError.

    The size comes from the image's header (Pillow, imported here only: the API carries Pillow
    for this and for exports, but not at import time).
    """
    if not isinstance(geometry, Box | Polygon):
        return geometry
    if item.kind != InputKind.IMAGE:
        raise ValidationError(f"input {item.id} is not an image: it takes no {geometry.type}", {"input_id": item.id})
    from autolabel.imaging.decode import ImageDecodeError, image_size

    try:
        width, height = image_size(backends.blobs.get(item.blob_key))
    except ImageDecodeError as exc:
        raise ValidationError(
            f"input {item.id}: its image cannot be read ({exc}), so no shape can be placed on it",
            {"input_id": item.id},
        ) from None
    return fit_to_image(geometry, width, height)
