"""Turn untrusted image bytes into a fully loaded, upright, 8-bit RGB ``PIL.Image``.

Every failure surfaces as :class:`ImageDecodeError` with a reason a user can act on, so callers
never have to know which of Pillow's many exception types a malformed file happens to raise.
"""

from __future__ import annotations

import ctypes
import functools
import io
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from autolabel.imaging import png_strips

__all__ = [
    "DECODE_BUDGET",
    "MAX_PIXELS",
    "ImageDecodeError",
    "PixelBudget",
    "decode_image",
    "decode_image_at_least",
    "image_size",
]

MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb limit (~ 9459 x 9459)
"""Default decompression-bomb limit (width * height of the first frame)."""

SHRINK_ABOVE_PIXELS = 16_000_000
"""A decode for a smaller consumer (``decode_image_at_least``) of more pixels than this is
shrunk (``Image.reduce``, a box filter by a whole factor) as soon as it is loaded, before it is
converted or rotated, so its full-size buffer lives for as short a time as possible. Smaller
images are left exactly as before, so ordinary photos give the same scores."""


class PixelBudget:
    """Admits decodes by the pixels they will hold, first come first served.

    A decode of ``n`` pixels waits until the pixels of the decodes in progress plus ``n`` fit
    the budget; one larger than the whole budget waits until it can run alone. The memory of a
    process's decoding is then about the budget (3 bytes a pixel, more while a mode converts),
    however many threads decode and however large the images — two workers each holding an
    81-megapixel PNG was the 1.1 GB peak this replaced. PNG and TIFF cannot be decoded at
    reduced scale (JPEG's ``draft`` can), so for them the budget is what bounds memory.
    """

    def __init__(self, pixels: int) -> None:
        if pixels < 1:
            raise ValueError(f"a pixel budget must be positive, got {pixels}")
        self.pixels = pixels
        self.in_use = 0
        self._changed = threading.Condition()
        self._issued = 0  # tickets: decodes are admitted in the order they asked
        self._serving = 0

    @contextmanager
    def admit(self, pixels: int) -> Iterator[None]:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            self._changed.wait_for(
                lambda: self._serving == ticket and (self.in_use == 0 or self.in_use + pixels <= self.pixels)
            )
            self._serving += 1
            self.in_use += pixels
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= pixels
                self._changed.notify_all()


DECODE_BUDGET = PixelBudget(64_000_000)
"""Shared by every decode of the process: about 200 MB of RGB pixels at once. A 12-megapixel
JPEG decoded at reduced scale for a 300x300 model counts its reduced pixels only."""

# Only the formats we accept by extension. Pillow would otherwise also try e.g. EPS, whose
# load() shells out to Ghostscript: a needless attack surface for user uploads.
_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")

# Pillow's decoders raise all of these on malformed input, not just the documented OSError.
# The blocks they guard hold Pillow's open/load/getexif and little of our own code, so our
# bugs do not get reported as corrupt files.
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    ZeroDivisionError,
    zlib.error,
)

# EXIF orientation -> the transpose that makes the pixels upright (same table as
# ImageOps.exif_transpose). Orientations 5-8 are rotated by 90 degrees and swap width/height.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})
# Where Pillow's getexif() finds an orientation (EXIF, PNG text EXIF, XMP).
_ORIENTATION_INFO_KEYS = ("exif", "Raw profile type exif", "xmp", "XML:com.adobe.xmp")

_BOMB_MESSAGE = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA_CHUNKS = frozenset({b"eXIf", b"iTXt", b"tEXt", b"zTXt"})


class ImageDecodeError(Exception):
    """The bytes are not an image we can decode; ``reason`` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``data`` into a fully loaded 8-bit RGB image with EXIF orientation applied.

    Only the first frame of animated or multi-page files is decoded. Images with more than
    ``max_pixels`` pixels are refused before any pixel data is decoded. Pillow's own
    decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``, about 89.5 million by default)
    is enforced as well and is never changed here, so the effective limit is the smaller of
    the two.

    Raises:
        ImageDecodeError: empty, unrecognised, corrupt, truncated or too large input, or a
            pixel mode with no RGB conversion.
        ValueError: ``max_pixels`` is not positive.
    """
    return _decode(data, max_pixels, None)[0]


def decode_image_at_least(
    data: bytes, size: tuple[int, int], max_pixels: int = MAX_PIXELS
) -> tuple[Image.Image, tuple[int, int]]:
    """Like :func:`decode_image`, for a consumer that will shrink the image to ``size`` anyway.

    A JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) when the upright result
    still has at least ``size`` (width, height) pixels: a 12-megapixel photo for a 300x300
    model then costs a small fraction of a full decode. Other formats decode in full.

    Returns the image and the (width, height) of the upright image at full resolution, which
    is what coordinates found on the image must be scaled to.
    """
    return _decode(data, max_pixels, size)


def _decode(
    data: bytes, max_pixels: int, at_least: tuple[int, int] | None, budget: PixelBudget | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    with _opened(data, max_pixels) as opened:
        full_width, full_height = opened.size
        if at_least is not None and opened.format == "JPEG":
            # A JPEG's EXIF sits in its header, so the orientation is known before decoding;
            # the reduced size is asked for in stored (not yet rotated) orientation.
            swapped = _orientation(opened) in _SWAPS_AXES
            opened.draft(None, (at_least[1], at_least[0]) if swapped else at_least)
        pixels = opened.width * opened.height  # what load() will hold (after draft's reduction)
        if at_least is not None and pixels > SHRINK_ABOVE_PIXELS and opened.format == "PNG":
            orientation = _orientation(opened)  # a PNG's eXIf before its pixels is read with the header
            factor = _factor(opened.size, at_least, orientation in _SWAPS_AXES)
            if factor >= 2 and png_strips.can_decode(data):
                with (budget or DECODE_BUDGET).admit(png_strips.strip_pixels(opened.width, factor)):
                    reduced = png_strips.decode_reduced(
                        data, factor, lambda strip, box: _to_rgb(_reduced(strip, factor, box))
                    )
                if reduced is not None:
                    return _finish(reduced, orientation, (full_width, full_height))
        with (budget or DECODE_BUDGET).admit(pixels):
            opened.load()  # decodes everything; the pixels stay usable once the block closes the file
            orientation = _orientation(opened)
            img: Image.Image = opened
            if at_least is not None and pixels > SHRINK_ABOVE_PIXELS:
                img = _shrunk(opened, at_least, orientation in _SWAPS_AXES)
                if img is not opened:
                    opened.close()  # frees the full-size pixels before the next decode is admitted
                    _return_freed_memory()
    return _finish(img, orientation, (full_width, full_height))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # glibc
    except (AttributeError, OSError):
        return None
    return trim


def _return_freed_memory() -> None:
    """Give freed memory back to the system now (glibc only; elsewhere nothing to do).

    glibc keeps what a thread frees in that thread's arena for its next allocation: after each
    of two workers had decoded one 81-megapixel image, both arenas kept ~300 MB though only one
    image was ever decoded at a time, and the budget bounded nothing. ``malloc_trim`` returns
    the free pages of every arena to the system (measured: 637 → 401 MB peak for two threads).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _factor(size: tuple[int, int], at_least: tuple[int, int], swapped: bool) -> int:
    """The largest whole factor an image of ``size`` (as stored) can be reduced by and keep
    ``at_least`` pixels once upright."""
    need_width, need_height = (at_least[1], at_least[0]) if swapped else at_least
    return min(size[0] // max(1, need_width), size[1] // max(1, need_height))


def _shrunk(img: Image.Image, at_least: tuple[int, int], swapped: bool) -> Image.Image:
    """``img`` reduced by the largest whole factor that keeps ``at_least`` (upright) pixels."""
    factor = _factor(img.size, at_least, swapped)
    return img if factor < 2 else _reduced(img, factor)


def _reduced(img: Image.Image, factor: int, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """``img`` (or its ``box``) reduced by ``factor`` (a box filter), converted first where
    averaging its values would be wrong (palette indices, bits, high depths)."""
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        try:
            img = _to_rgb(img)
        except ValueError as exc:
            raise ImageDecodeError(f"unsupported image mode: {img.mode}") from exc
    return img.reduce(factor, box)


def _finish(img: Image.Image, orientation: int, stored_size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded image as upright 8-bit RGB, and the upright size at full resolution."""
    full_width, full_height = stored_size
    try:
        rgb = _to_rgb(img)
    except ValueError as exc:  # a mode Pillow can decode but not convert
        raise ImageDecodeError(f"unsupported image mode: {img.mode}") from exc
    full_size = (full_height, full_width) if orientation in _SWAPS_AXES else (full_width, full_height)
    method = _TRANSPOSE.get(orientation)
    if method is None:
        return rgb, full_size
    # Transposing ourselves rather than via ImageOps.exif_transpose avoids its full copy of
    # upright images and shares one orientation reading with image_size().
    upright = rgb.transpose(method)
    # The copied metadata still says "rotate me": drop it so nothing rotates twice.
    for key in _ORIENTATION_INFO_KEYS:
        upright.info.pop(key, None)
    return upright, full_size


def image_size(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Return the (width, height) that :func:`decode_image` would produce, cheaply.

    Reads only the header unless a PNG keeps metadata after its pixel data, where Pillow can
    only see a possible orientation by decoding the image.

    Raises:
        ImageDecodeError: as for :func:`decode_image`, minus errors only a full decode finds.
    """
    with _opened(data, max_pixels) as img:
        if img.format == "PNG" and _png_has_trailing_metadata(data):
            return decode_image(data, max_pixels).size
        width, height = img.size
        orientation = _orientation(img)
    return (height, width) if orientation in _SWAPS_AXES else (width, height)


@contextmanager
def _opened(data: bytes, max_pixels: int) -> Iterator[ImageFile.ImageFile]:
    """Open ``data`` lazily, refusing oversized images before their pixels are decoded.

    Every Pillow error raised inside the block, including by the caller's load(), is
    translated to ImageDecodeError.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    if not data:
        raise ImageDecodeError("empty file")
    # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; make the warning fatal too,
    # scoped to this block, instead of touching the process-wide MAX_IMAGE_PIXELS. (Before
    # Python 3.14 catch_warnings is not thread-safe: overlapping calls can leave this filter
    # on or drop it early, which is harmless as the header check below still applies.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_FORMATS) as img:
                # The header is already parsed, so this costs nothing and runs before load().
                pixels = img.width * img.height
                if pixels > max_pixels:
                    raise ImageDecodeError(f"image too large: {pixels} pixels > limit {max_pixels}")
                yield img
        except UnidentifiedImageError:
            raise ImageDecodeError("not an image (unrecognised format)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageDecodeError(_bomb_reason(exc)) from exc
        except _DECODE_ERRORS as exc:
            raise ImageDecodeError(f"corrupt or truncated image: {exc}") from exc


def _bomb_reason(exc: Exception) -> str:
    # Reword Pillow's message into the same shape as our own limit's, keeping it if it changes.
    match = _BOMB_MESSAGE.search(str(exc))
    if match is None:
        return f"image too large: {exc}"
    return f"image too large: {match[1]} pixels > limit {match[2]}"


def _orientation(img: Image.Image) -> int:
    """EXIF orientation 1-8, or 1 when absent or unreadable."""
    try:
        # The base-class method reads only what the header parse has put in img.info; the PNG
        # override would decode the whole image first (image_size() deals with that case).
        value = Image.Image.getexif(img).get(ExifTags.Base.Orientation, 1)
    except _DECODE_ERRORS:
        # Broken metadata must not cost us the pixels: treat it as "no rotation".
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB."""
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_gray(img).convert("RGB")
    # Also true for P, L and RGB images whose tRNS/GIF header marks a colour as transparent.
    if img.has_transparency_data:
        # Models are trained on opaque photos; flattening onto white (not black, Pillow's
        # default when alpha is dropped) matches how a viewer shows the image, e.g. logos
        # and scans with transparent margins.
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode == "RGB":
        return img
    # 1, L, P, CMYK, YCbCr, RGBX, LAB, HSV: Pillow's own conversion is the right one.
    return img.convert("RGB")


def _high_depth_to_gray(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer or float grayscale to 8-bit ``L`` by its range, not by clipping.

    Pillow's own convert("L") clips such data at 255, turning most of a 16-bit image white.
    """
    # Here, not at the top: image_size() (exports, in the API) needs Pillow alone.
    import numpy as np

    arr = np.asarray(img)
    is_16bit = img.mode.startswith("I;16") or (img.mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535)
    if is_16bit:
        # 16-bit data (also what Pillow loads 16-bit PPM and some TIFFs as, in mode "I"):
        # round(v / 257) maps 0..65535 onto 0..255 exactly.
        gray = (arr.astype(np.uint32) + 128) // 257
    elif img.mode == "F" and arr.size and np.nanmin(arr) >= 0.0 and np.nanmax(arr) <= 1.0:
        # Floats in [0, 1] are the usual normalised-intensity convention.
        gray = np.rint(np.nan_to_num(arr) * 255.0)
    else:
        # Wider ints or arbitrary floats carry no fixed scale: stretch the actual range.
        values = np.nan_to_num(arr.astype(np.float64), posinf=0.0, neginf=0.0)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        span = hi - lo
        gray = np.rint((values - lo) * (255.0 / span)) if span > 0 else np.zeros_like(values)
    out = Image.fromarray(gray.astype(np.uint8))
    transparent = img.info.get("transparency")
    if isinstance(transparent, int):
        # A 16-bit PNG's tRNS names one grey level as transparent: flatten it onto white too.
        out.paste(255, mask=Image.fromarray(((arr == transparent) * 255).astype(np.uint8)))
    return out


def _png_has_trailing_metadata(data: bytes) -> bool:
    """True if a metadata chunk (which may hold orientation) follows the PNG pixel data."""
    if not data.startswith(_PNG_SIGNATURE):
        return False
    pos, seen_idat = len(_PNG_SIGNATURE), False
    # Walks chunk headers only, skipping their payloads: cheap even for huge images.
    while pos + 8 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[pos : pos + 8])
        if chunk_type == b"IDAT":
            seen_idat = True
        elif chunk_type == b"IEND":
            return False
        elif seen_idat and chunk_type in _PNG_METADATA_CHUNKS:
            return True
        pos += 12 + length  # length + type + payload + CRC
    return False
