"""Decode a huge PNG a strip of rows at a time, each strip shrunk as soon as it is decoded.

Pillow decodes a PNG whole (``draft`` does nothing for PNG): an 81-megapixel RGB image is
324 MB before it can be shrunk. Here the IDAT stream is inflated a strip at a time, and each
strip becomes a small PNG of its own for Pillow to decode — the row before the strip, already
decoded, goes first as an unfiltered row, so the strip's Up/Average/Paeth filters see the same
neighbour as in the whole image, and the pixels are exactly the whole image's. Each strip is
reduced by the same whole factor as ``Image.reduce`` would reduce the whole image (strips are
a multiple of the factor tall, so the blocks line up) and pasted into the result.

Handles 8-bit, non-interlaced greyscale, RGB, palette and alpha PNGs — what cameras, scanners
and screenshots write; anything else returns None and is decoded whole, within the budget.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator

from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
STRIP_ROWS = 128  # 9000 px wide: ~3.5 MB of scanlines a strip; fewer copies alive than rows
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_READ = 1 << 20  # compressed bytes fed to zlib at a time


def strip_pixels(width: int, factor: int) -> int:
    """The pixels one strip holds while it is decoded (what the pixel budget admits)."""
    return width * _strip_rows(factor)


def _strip_rows(factor: int) -> int:
    return factor * max(1, STRIP_ROWS // factor)


def can_decode(data: bytes) -> bool:
    """Whether this PNG's layout is one :func:`decode_reduced` decodes."""
    return _layout(data) is not None


def decode_reduced(
    data: bytes, factor: int, reduce: Callable[[Image.Image, tuple[int, int, int, int]], Image.Image]
) -> Image.Image | None:
    """The PNG reduced by ``factor``, or None when its layout is not handled here: ``reduce``
    turns the box (left, upper, right, lower) of each decoded strip into its RGB reduction.

    Raises what Pillow and zlib raise on corrupt data, and ValueError when the data ends early.
    """
    layout = _layout(data)
    if layout is None:
        return None
    width, height, colour_type, head, idat = layout
    stride = width * _CHANNELS[colour_type] + 1  # a filter-type byte, then the row
    rows = _strip_rows(factor)
    result = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    before: bytes | None = None  # the last row of the previous strip, decoded
    done = 0
    for raw in _strips(data, idat, rows * stride, stride * height):
        count = len(raw) // stride
        if count == 0:
            break  # a partial last row: the data ends early
        led = before is not None
        deflate = zlib.compressobj(0)  # stored blocks: framing for Pillow, no compression work
        body = deflate.compress(b"\x00" + before if before is not None else b"")
        body += deflate.compress(memoryview(raw)[: count * stride])
        body += deflate.flush()
        ihdr = struct.pack(">IIBBBBB", width, count + led, 8, colour_type, 0, 0, 0)
        strip_png = b"".join([SIGNATURE, _chunk(b"IHDR", ihdr), head, _chunk(b"IDAT", body), _chunk(b"IEND", b"")])
        del raw, body
        with Image.open(io.BytesIO(strip_png)) as strip:
            strip.load()
            before = strip.crop((0, strip.height - 1, width, strip.height)).tobytes()
            result.paste(reduce(strip, (0, int(led), width, strip.height)), (0, done // factor))
        done += count
    if done != height:
        raise ValueError(f"PNG data ends after {done} of {height} rows")
    return result


def _layout(data: bytes) -> tuple[int, int, int, bytes, list[tuple[int, int]]] | None:
    """(width, height, colour type, the chunks between IHDR and the first IDAT, IDAT payload
    ranges) of a PNG this module decodes; None for any other."""
    if not data.startswith(SIGNATURE):
        return None
    pos = len(SIGNATURE)
    header: tuple[int, ...] | None = None
    head = bytearray()
    idat: list[tuple[int, int]] = []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[pos + 8 : pos + 21])
        elif kind == b"IDAT":
            idat.append((pos + 8, pos + 8 + length))
        elif kind == b"IEND":
            break
        elif not idat:
            head += data[pos:end]  # palette, transparency, gamma, profile: each strip needs them
        elif kind not in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            return None  # metadata after the pixels that may matter (e.g. eXIf): decode whole
        pos = end
    if header is None or not idat:
        return None
    width, height, depth, colour_type, _compression, _filter, interlace = header
    if depth != 8 or interlace != 0 or colour_type not in _CHANNELS:
        return None
    return width, height, colour_type, bytes(head), idat


def _strips(data: bytes, idat: list[tuple[int, int]], strip_bytes: int, total: int) -> Iterator[bytearray]:
    """The inflated scanlines, ``strip_bytes`` at a time (the last strip shorter), never more
    than one strip in memory: ``max_length`` bounds what one call inflates, since a flat image
    compresses a thousand to one."""
    inflater = zlib.decompressobj()
    pending = bytearray()
    produced = 0
    view = memoryview(data)
    for start, end in idat:
        for begin in range(start, end, _READ):
            piece = bytes(view[begin : min(end, begin + _READ)])
            while piece and produced < total:
                pending += inflater.decompress(piece, strip_bytes - len(pending))
                piece = inflater.unconsumed_tail
                if len(pending) == strip_bytes:
                    produced += strip_bytes
                    yield pending
                    pending = bytearray()
    pending += inflater.flush()
    if pending and produced < total:
        yield pending[: total - produced]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
