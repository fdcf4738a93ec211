"""Draw annotations on an image so a person can check a task's output at a glance."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from autolabel.domain.models import Box, Classification, Polygon, TextSpan

__all__ = ["BAND_COLOURS", "render_preview"]

BAND_COLOURS = {"approved": "#2ecc71", "review": "#f39c12", "discarded": "#e74c3c"}
# Discarded first and approved last, so what was kept is never hidden under what was dropped.
_DRAW_ORDER = {"discarded": 0, "review": 1, "approved": 2}
# Dark text on the light fills, white on the red one: readable without computing contrast.
_TEXT_COLOURS = {"approved": "#000000", "review": "#000000", "discarded": "#ffffff"}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Drawable = tuple[Box | Polygon | Classification | TextSpan, str, float | None, str]


def render_preview(image: Image.Image, boxes: Sequence[Drawable], *, legend: bool = True) -> Image.Image:
    """A copy of ``image`` (as RGB, same size) with each ``(geometry, concept, score, band)`` drawn.

    ``band`` is ``"approved"``, ``"review"`` or ``"discarded"`` (a ``Band`` works too). Boxes and
    polygons get an outline in the band's colour (thinner for discarded) and a ``concept 0.87``
    tag above them; geometry without a place on the image (classifications, text spans) is
    skipped. Line width and text size follow the image size. ``legend`` adds a key to the
    bottom-left corner when it fits in a quarter of the image.

    Raises:
        ValueError: an unknown band.
    """
    for _, _, _, band in boxes:
        if band not in BAND_COLOURS:
            raise ValueError(f"unknown band {band!r}: expected one of {', '.join(BAND_COLOURS)}")
    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    width, height = canvas.size
    line = max(2, round(max(width, height) / 320))
    font = _font(max(10, min(48, round(min(width, height) / 30))))
    draw = ImageDraw.Draw(canvas)

    shapes: list[tuple[Box | Polygon, str, float | None, str]] = sorted(
        ((g, concept, score, str(band)) for g, concept, score, band in boxes if isinstance(g, Box | Polygon)),
        key=lambda item: _DRAW_ORDER[item[3]],  # sorted() is stable: input order in a band
    )
    # All outlines first, then all tags, so no outline crosses a tag.
    for geometry, _, _, band in shapes:
        colour = BAND_COLOURS[band]
        thickness = max(1, line // 2) if band == "discarded" else line
        if isinstance(geometry, Box):
            x0, y0 = geometry.x, geometry.y
            # Pillow's corners are inclusive pixels: the box covers x .. x + w - 1.
            x1, y1 = max(x0, x0 + geometry.w - 1), max(y0, y0 + geometry.h - 1)
            draw.rectangle([x0, y0, x1, y1], outline=colour, width=thickness)
        else:
            draw.polygon(geometry.points, outline=colour, width=thickness)
    for geometry, concept, score, band in shapes:
        text = concept if score is None else f"{concept} {score:.2f}"
        _tag(draw, canvas.size, _top_left(geometry), text, band, font, line)
    if legend:
        _legend(canvas, font, line)
    return canvas


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or no FreeType: fixed bitmap font
        return ImageFont.load_default()


def _top_left(geometry: Box | Polygon) -> tuple[float, float]:
    if isinstance(geometry, Box):
        return geometry.x, geometry.y
    return min(p[0] for p in geometry.points), min(p[1] for p in geometry.points)


def _tag(
    draw: ImageDraw.ImageDraw,
    size: tuple[int, int],
    anchor: tuple[float, float],
    text: str,
    band: str,
    font: Font,
    line: int,
) -> None:
    """A filled label just above ``anchor``; inside the shape when there is no room above."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(1, line // 2 + 1)
    tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
    x = min(max(anchor[0], 0.0), max(size[0] - tag_w, 0))
    y = anchor[1] - tag_h if anchor[1] >= tag_h else min(max(anchor[1], 0.0), size[1] - tag_h)
    draw.rectangle([x, y, x + tag_w - 1, y + tag_h - 1], fill=BAND_COLOURS[band])
    draw.text((x + pad - left, y + pad - top), text, fill=_TEXT_COLOURS[band], font=font)


def _legend(canvas: Image.Image, font: Font, line: int) -> None:
    draw = ImageDraw.Draw(canvas)
    pad = max(2, line)
    text_h = math.ceil(max(draw.textbbox((0, 0), band, font=font)[3] for band in BAND_COLOURS))
    text_w = math.ceil(max(draw.textlength(band, font=font) for band in BAND_COLOURS))
    swatch = text_h
    box_w = pad * 3 + swatch + text_w
    box_h = pad + len(BAND_COLOURS) * (text_h + pad)
    width, height = canvas.size
    if box_w > width // 2 or box_h > height // 2:
        return  # a legend covering most of a thumbnail would hide what it explains
    region = (0, height - box_h, box_w, height)
    # Darken rather than cover, so the image stays visible under the key.
    shaded = Image.blend(canvas.crop(region), Image.new("RGB", (box_w, box_h)), 0.6)
    canvas.paste(shaded, region[:2])
    y = height - box_h + pad
    for band, colour in BAND_COLOURS.items():
        draw.rectangle([pad, y, pad + swatch - 1, y + swatch - 1], fill=colour)
        draw.text((pad * 2 + swatch, y), band, fill="#ffffff", font=font)
        y += text_h + pad
