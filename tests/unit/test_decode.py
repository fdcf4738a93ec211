"""decode_image / image_size / sniff_kind, on images built in memory with Pillow."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageFile, ImageOps

from autolabel.domain.inputs import sniff_kind
from autolabel.imaging.decode import (
    MAX_PIXELS,
    ImageDecodeError,
    _to_rgb,
    decode_image,
    decode_image_at_least,
    image_size,
)

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def pixels(img: Image.Image) -> list[tuple[int, int, int]]:
    """Row-major RGB pixels, for exact comparisons."""
    assert img.mode == "RGB"
    return [tuple(p) for p in np.asarray(img).reshape(-1, 3).tolist()]


def decode_reason(data: bytes, **kwargs: int) -> str:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, **kwargs)
    assert str(info.value) == info.value.reason
    return info.value.reason


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif


def noise_rgb(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


# PNG chunk surgery: lets tests forge headers and move metadata without a PNG writer.
def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n"]
    for kind, body in chunks:
        out.append(struct.pack(">I", len(body)) + kind + body)
        out.append(struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(out)


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims width x height (CRC fixed, so only size is a lie)."""
    chunks = png_chunks(encode(Image.new("L", (1, 1)), "PNG"))
    kind, body = chunks[0]
    assert kind == b"IHDR"
    chunks[0] = (kind, struct.pack(">II", width, height) + body[8:])
    return png_build(chunks)


# ---------------------------------------------------------------- modes -> RGB


def test_rgb_png_round_trips_exactly() -> None:
    img = Image.new("RGB", (3, 2), (10, 20, 30))
    img.putpixel((2, 1), (200, 100, 50))
    out = decode_image(encode(img, "PNG"))
    assert out.mode == "RGB"
    assert out.size == (3, 2)
    assert pixels(out) == [(10, 20, 30)] * 5 + [(200, 100, 50)]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP"])
def test_grayscale_l_becomes_grey_rgb(fmt: str) -> None:
    img = Image.new("L", (3, 1))
    img.putdata([0, 77, 255])
    assert pixels(decode_image(encode(img, fmt))) == [(0, 0, 0), (77, 77, 77), WHITE]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_one_bit_maps_to_black_and_white(fmt: str) -> None:
    img = Image.new("1", (3, 1))
    img.putpixel((1, 0), 1)
    assert pixels(decode_image(encode(img, fmt))) == [BLACK, WHITE, BLACK]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_la_alpha_is_composited_on_white(fmt: str) -> None:
    img = Image.new("LA", (3, 1))
    img.putdata([(100, 255), (100, 0), (0, 128)])
    out = decode_image(encode(img, fmt))
    # opaque grey stays, fully transparent -> white, half-transparent black -> mid grey
    assert pixels(out) == [(100, 100, 100), WHITE, (127, 127, 127)]


def test_rgba_transparent_pixel_becomes_white() -> None:
    img = Image.new("RGBA", (4, 1))
    img.putdata([(10, 20, 30, 255), (200, 100, 50, 0), (0, 0, 0, 128), (0, 0, 0, 0)])
    out = decode_image(encode(img, "PNG"))
    assert out.mode == "RGB"
    assert pixels(out) == [(10, 20, 30), WHITE, (127, 127, 127), WHITE]


def test_palette_without_transparency_uses_palette_colours() -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255])
    img.putdata([0, 1])
    assert pixels(decode_image(encode(img, "PNG"))) == [RED, (0, 0, 255)]


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparent_index_becomes_white(fmt: str) -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([255, 0, 0, 0, 0, 255, 0, 255, 0])
    img.putdata([0, 1, 2])
    out = decode_image(encode(img, fmt, transparency=1))
    assert pixels(out) == [RED, WHITE, (0, 255, 0)]


def test_png_trns_colour_key_on_rgb_and_l_becomes_white() -> None:
    rgb = Image.new("RGB", (2, 1))
    rgb.putdata([(1, 2, 3), (4, 5, 6)])
    assert pixels(decode_image(encode(rgb, "PNG", transparency=(1, 2, 3)))) == [
        WHITE,
        (4, 5, 6),
    ]
    grey = Image.new("L", (2, 1))
    grey.putdata([7, 8])
    assert pixels(decode_image(encode(grey, "PNG", transparency=7))) == [WHITE, (8, 8, 8)]


def test_palette_with_alpha_tiff_pa() -> None:
    img = Image.new("PA", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255])
    img.putdata([(0, 255), (1, 0)])
    assert pixels(decode_image(encode(img, "TIFF"))) == [RED, WHITE]


def test_cmyk_tiff_converts_exactly() -> None:
    img = Image.new("CMYK", (3, 1))
    img.putdata([(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255)])
    out = decode_image(encode(img, "TIFF"))
    assert pixels(out) == [WHITE, (0, 255, 255), BLACK]


def test_cmyk_jpeg_converts_to_rgb() -> None:
    # Adobe CMYK JPEGs are stored inverted; Pillow must undo that, or white comes out black.
    img = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    out = decode_image(encode(img, "JPEG", quality=95))
    assert out.mode == "RGB"
    assert out.size == (16, 16)
    assert all(min(p) >= 250 for p in pixels(out))


def test_ycbcr_tiff_converts_to_rgb() -> None:
    img = Image.new("YCbCr", (1, 1), (128, 128, 128))
    assert Image.open(io.BytesIO(encode(img, "TIFF"))).mode == "YCbCr"
    assert pixels(decode_image(encode(img, "TIFF"))) == [(128, 128, 128)]


def test_lab_tiff_is_not_mistaken_for_alpha() -> None:
    # "LAB" contains an "A": it must take the colour conversion, not the alpha path.
    img = Image.new("LAB", (1, 1), (255, 128, 128))
    (p,) = pixels(decode_image(encode(img, "TIFF")))
    assert all(abs(c - 255) <= 2 for c in p)


@pytest.mark.parametrize("mode", ["RGBX", "HSV"])
def test_modes_without_a_writer_convert(mode: str) -> None:
    # Pillow cannot write these, so feed the converter directly.
    colour = (255, 0, 0, 0) if mode == "RGBX" else (0, 255, 255)
    assert pixels(_to_rgb(Image.new(mode, (1, 1), colour))) == [RED]


def test_16bit_png_scales_by_bit_depth_not_clipping() -> None:
    values = [0, 257, 1000, 32768, 65535]
    img = Image.fromarray(np.array([values], dtype=np.uint16))
    data = encode(img, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = decode_image(data)
    # round(v / 257): 1000 -> 3.89 -> 4; 32768 -> 127.5... -> 128; 65535 -> 255
    assert [p[0] for p in pixels(out)] == [0, 1, 4, 128, 255]
    assert all(r == g == b for r, g, b in pixels(out))


def test_16bit_big_endian_tiff_scales_the_same() -> None:
    # Built from raw bytes: Pillow's convert("I;16B") would clip to 255 on the way.
    img = Image.frombytes("I;16B", (3, 1), np.array([0, 32768, 65535], dtype=">u2").tobytes())
    data = encode(img, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I;16B"
    assert [p[0] for p in pixels(decode_image(data))] == [0, 128, 255]


def test_16bit_png_transparent_grey_level_becomes_white() -> None:
    img = Image.fromarray(np.array([[0, 32768, 1000]], dtype=np.uint16))
    out = decode_image(encode(img, "PNG", transparency=32768))
    assert [p[0] for p in pixels(out)] == [0, 255, 4]


def test_32bit_int_within_16bit_range_scales_as_16bit() -> None:
    img = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32))
    data = encode(img, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I"
    assert [p[0] for p in pixels(decode_image(data))] == [0, 128, 255]


def test_32bit_int_beyond_16bit_range_stretches() -> None:
    img = Image.fromarray(np.array([[-65536, 0, 131072]], dtype=np.int32))
    # span 196608: 0 sits a third of the way up -> 85
    assert [p[0] for p in pixels(decode_image(encode(img, "TIFF")))] == [0, 85, 255]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 0.5, 1.0], [0, 128, 255]),  # normalised floats scale by 255
        ([-1.0, 1.0, 3.0], [0, 128, 255]),  # anything else stretches its range
        ([float("nan"), 0.0, 1.0], [0, 0, 255]),  # NaN must not crash or poison the range
    ],
)
def test_float_tiff(values: list[float], expected: list[int]) -> None:
    img = Image.fromarray(np.array([values], dtype=np.float32))
    data = encode(img, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    assert [p[0] for p in pixels(decode_image(data))] == expected


def test_animated_gif_decodes_first_frame() -> None:
    frames = [Image.new("RGB", (4, 4), RED), Image.new("RGB", (4, 4), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert set(pixels(decode_image(data))) == {RED}


def test_lossless_webp_round_trips() -> None:
    img = noise_rgb(5, 3)
    assert pixels(decode_image(encode(img, "WEBP", lossless=True))) == pixels(img)


# ---------------------------------------------------------------- EXIF orientation

# Where the stored top-left pixel of a 4x2 image ends up after each orientation.
ORIENTED_CORNER = {
    1: ((4, 2), (0, 0)),
    2: ((4, 2), (3, 0)),
    3: ((4, 2), (3, 1)),
    4: ((4, 2), (0, 1)),
    5: ((2, 4), (0, 0)),
    6: ((2, 4), (1, 0)),
    7: ((2, 4), (1, 3)),
    8: ((2, 4), (0, 3)),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTED_CORNER))
def test_every_orientation_moves_the_marked_corner_exactly(orientation: int) -> None:
    img = Image.new("RGB", (4, 2), BLACK)
    img.putpixel((0, 0), RED)
    data = encode(img, "PNG", exif=exif_with_orientation(orientation))
    size, corner = ORIENTED_CORNER[orientation]
    out = decode_image(data)
    assert out.size == size
    assert image_size(data) == size
    assert [xy for xy in np.ndindex(*size) if out.getpixel(xy) == RED] == [corner]
    # Same answer as Pillow's reference implementation.
    assert pixels(out) == pixels(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))


def jpeg_with_red_corner(orientation: int) -> bytes:
    """64x32 black JPEG, 16x16 red block at the stored top-left (block-aligned: stays crisp)."""
    img = Image.new("RGB", (64, 32), BLACK)
    img.paste(RED, (0, 0, 16, 16))
    return encode(img, "JPEG", quality=95, exif=exif_with_orientation(orientation))


def rgb_at(img: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    r, g, b = np.asarray(img)[xy[1], xy[0]].tolist()
    return r, g, b


def is_red(p: tuple[int, int, int]) -> bool:
    return p[0] > 200 and p[1] < 60 and p[2] < 60


@pytest.mark.parametrize(
    ("orientation", "red_at", "black_at"),
    [
        # rotate 90 clockwise for display: top-left goes to the top-right
        (6, (24, 8), [(8, 8), (8, 56), (24, 56)]),
        # rotate 90 counter-clockwise: top-left goes to the bottom-left
        (8, (8, 56), [(8, 8), (24, 8), (24, 56)]),
    ],
)
def test_jpeg_exif_rotation_swaps_size_and_moves_corner(
    orientation: int, red_at: tuple[int, int], black_at: list[tuple[int, int]]
) -> None:
    data = jpeg_with_red_corner(orientation)
    assert Image.open(io.BytesIO(data)).size == (64, 32)
    out = decode_image(data)
    assert out.size == (32, 64)
    assert image_size(data) == (32, 64)
    assert is_red(rgb_at(out, red_at))
    for xy in black_at:
        assert max(rgb_at(out, xy)) < 40, xy


# ---------------------------------------------------------------- reduced-scale JPEG decoding


def big_jpeg(orientation: int = 1) -> bytes:
    """1600x1200 JPEG: red left half, blue right half, stored unrotated."""
    img = Image.new("RGB", (1600, 1200), (0, 0, 255))
    img.paste(RED, (0, 0, 800, 1200))
    return encode(img, "JPEG", quality=90, exif=exif_with_orientation(orientation))


@pytest.mark.parametrize(
    ("at_least", "decoded"),
    [
        ((300, 300), (400, 300)),
        ((150, 150), (200, 150)),
        ((800, 600), (800, 600)),
        ((800, 700), (1600, 1200)),
        ((1000, 300), (1600, 1200)),
    ],
)
def test_a_jpeg_decodes_at_the_smallest_dct_scale_still_large_enough(
    at_least: tuple[int, int], decoded: tuple[int, int]
) -> None:
    image, full_size = decode_image_at_least(big_jpeg(), at_least)
    assert image.size == decoded and image.mode == "RGB"
    assert full_size == (1600, 1200)
    assert is_red(rgb_at(image, (10, 10))) and rgb_at(image, (decoded[0] - 10, 10))[2] > 200


@pytest.mark.parametrize(("orientation", "red_at_top"), [(6, True), (8, False)])
def test_reduced_decoding_of_a_rotated_jpeg_is_upright_and_reports_the_full_upright_size(
    orientation: int, red_at_top: bool
) -> None:
    image, full_size = decode_image_at_least(big_jpeg(orientation), (300, 300))
    assert full_size == (1200, 1600)
    # Asked in upright terms, so the rotated photo still keeps >= 300 on its short side.
    assert image.size == (300, 400)
    top, bottom = rgb_at(image, (150, 10)), rgb_at(image, (150, 390))
    assert is_red(top) == red_at_top and is_red(bottom) != red_at_top
    full = decode_image(big_jpeg(orientation)).resize(image.size, Image.Resampling.BILINEAR)
    assert np.abs(np.asarray(full, np.int16) - np.asarray(image, np.int16)).mean() < 3


def test_other_formats_decode_in_full() -> None:
    img = noise_rgb(800, 600)
    image, full_size = decode_image_at_least(encode(img, "PNG"), (100, 100))
    assert image.size == full_size == (800, 600)
    assert pixels(image) == pixels(img)


def test_rotated_output_carries_no_orientation_so_it_is_never_rotated_twice() -> None:
    out = decode_image(jpeg_with_red_corner(6))
    assert ExifTags.Base.Orientation not in out.getexif()
    assert ImageOps.exif_transpose(out).size == out.size == (32, 64)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow complains about the bad EXIF
@pytest.mark.parametrize(
    ("fmt", "exif"),
    [
        # orientation stored as ASCII "abc" instead of a SHORT
        (
            "JPEG",
            b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x02\x00\x00\x00\x04abc\x00",
        ),
        ("JPEG", b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),  # IFD offset far past the end
        ("JPEG", b"Exif\x00\x00garbage-not-tiff"),
        ("PNG", b"garbage-not-tiff"),  # Pillow parses this one only when asked, and raises
    ],
)
def test_broken_exif_keeps_pixels_upright(fmt: str, exif: bytes) -> None:
    data = encode(Image.new("RGB", (16, 8), (0, 0, 255)), fmt, exif=exif)
    assert decode_image(data).size == (16, 8)
    assert image_size(data) == (16, 8)


# ---------------------------------------------------------------- image_size


@pytest.mark.parametrize(
    ("fmt", "orientation", "size"),
    [
        ("JPEG", 6, (320, 640)),
        ("PNG", 6, (320, 640)),
        ("PNG", None, (640, 320)),
    ],
)
def test_image_size_reads_only_the_header(fmt: str, orientation: int | None, size: tuple[int, int]) -> None:
    # The pixel data is cut off, yet the (rotated) size is known: nothing was decoded.
    params = {} if orientation is None else {"exif": exif_with_orientation(orientation)}
    data = encode(noise_rgb(640, 320), fmt, **params)
    header_only = data[: len(data) // 2]
    assert image_size(header_only) == size
    assert decode_reason(header_only).startswith("corrupt or truncated image: ")


@pytest.mark.parametrize(
    ("fmt", "orientation", "size"),
    [
        ("JPEG", 8, (20, 30)),
        ("JPEG", None, (30, 20)),
        ("PNG", 8, (20, 30)),
        # No EXIF at all: Pillow's PNG getexif() would decode the file just to look for it.
        ("PNG", None, (30, 20)),
        ("TIFF", None, (30, 20)),
        ("GIF", None, (30, 20)),
        ("BMP", None, (30, 20)),
    ],
)
def test_image_size_never_decodes_pixels(
    fmt: str, orientation: int | None, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {} if orientation is None else {"exif": exif_with_orientation(orientation)}
    data = encode(noise_rgb(30, 20), fmt, **params)

    def no_load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("image_size decoded the pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    assert image_size(data) == size


def test_image_size_sees_png_orientation_stored_after_the_pixels() -> None:
    img = Image.new("RGB", (4, 2), BLACK)
    data = encode(img, "PNG", exif=exif_with_orientation(6))
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds.index(b"eXIf") < kinds.index(b"IDAT")
    exif_chunk = chunks.pop(kinds.index(b"eXIf"))
    chunks.insert(len(chunks) - 1, exif_chunk)  # just before IEND
    trailing = png_build(chunks)
    assert decode_image(trailing).size == (2, 4)
    assert image_size(trailing) == (2, 4)


def test_image_size_plain() -> None:
    assert image_size(encode(Image.new("L", (7, 3)), "PNG")) == (7, 3)
    assert image_size(encode(Image.new("RGB", (5, 9)), "JPEG")) == (5, 9)


# ---------------------------------------------------------------- bad input


def test_empty_bytes() -> None:
    assert decode_reason(b"") == "empty file"
    with pytest.raises(ImageDecodeError, match=r"^empty file$"):
        image_size(b"")


def test_random_bytes_are_not_an_image() -> None:
    data = random.Random(0).randbytes(4096)
    assert decode_reason(data) == "not an image (unrecognised format)"


def test_text_file_bytes_are_not_an_image() -> None:
    data = b"a caption\nwith two lines, not pixels\n"
    assert decode_reason(data) == "not an image (unrecognised format)"
    with pytest.raises(ImageDecodeError, match=r"^not an image \(unrecognised format\)$"):
        image_size(data)


def test_formats_outside_the_allowlist_are_refused() -> None:
    # Pillow reads ICO fine; we do not accept it, like any extension sniff_kind rejects.
    data = encode(Image.new("RGB", (16, 16)), "ICO")
    assert Image.open(io.BytesIO(data)).format == "ICO"
    assert decode_reason(data) == "not an image (unrecognised format)"


def test_truncated_jpeg_is_reported_as_corrupt_or_truncated() -> None:
    data = encode(noise_rgb(256, 256), "JPEG", quality=90)
    reason = decode_reason(data[: len(data) // 2])
    assert reason.startswith("corrupt or truncated image: ")
    assert "truncated" in reason.removeprefix("corrupt or truncated image: ")


def test_truncated_png_is_reported_as_corrupt_or_truncated() -> None:
    data = encode(noise_rgb(64, 64), "PNG")
    assert decode_reason(data[: len(data) // 2]).startswith("corrupt or truncated image: ")


def test_mode_without_rgb_conversion_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # No decoder we allow yields such a mode today; this pins the error if one ever does.
    with pytest.raises(ValueError, match="La"):
        _to_rgb(Image.new("La", (1, 1)))

    def to_rgb_of_la(img: Image.Image) -> Image.Image:
        return _to_rgb(Image.new("La", img.size))

    monkeypatch.setattr("autolabel.imaging.decode._to_rgb", to_rgb_of_la)
    reason = decode_reason(encode(Image.new("L", (1, 1)), "PNG"))
    assert reason == "unsupported image mode: L"


def test_non_positive_max_pixels_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        decode_image(encode(Image.new("L", (1, 1)), "PNG"), max_pixels=0)


# ---------------------------------------------------------------- decompression bombs


def test_pixel_limit_is_inclusive() -> None:
    data = encode(Image.new("RGB", (10, 10)), "PNG")
    assert decode_image(data, max_pixels=100).size == (10, 10)
    assert decode_reason(data, max_pixels=99) == "image too large: 100 pixels > limit 99"
    with pytest.raises(ImageDecodeError, match=r"^image too large: 100 pixels > limit 99$"):
        image_size(data, max_pixels=99)


def test_header_size_is_checked_before_any_pixel_is_decoded() -> None:
    # 9000x9000 is under Pillow's own limit; the pixel data is a single byte.
    data = png_claiming_size(9000, 9000)
    assert decode_reason(data, max_pixels=50_000_000) == ("image too large: 81000000 pixels > limit 50000000")
    # Within the limit, the lie is found only when decoding.
    assert decode_reason(data).startswith("corrupt or truncated image: ")


def test_pillow_bomb_warning_is_an_error() -> None:
    # Between Pillow's limit and twice it, Pillow only warns; we refuse.
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    width = 10_000
    height = limit // width + 1
    assert limit < width * height < 2 * limit
    data = png_claiming_size(width, height)
    expected = f"image too large: {width * height} pixels > limit {limit}"
    assert decode_reason(data, max_pixels=10 * MAX_PIXELS) == expected


def test_pillow_bomb_error_is_reported() -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    data = png_claiming_size(100_000, 100_000)
    expected = f"image too large: 10000000000 pixels > limit {2 * limit}"
    assert decode_reason(data) == expected
    with pytest.raises(ImageDecodeError) as info:
        image_size(data)
    assert info.value.reason == expected


@pytest.fixture(scope="module")
def huge_one_bit_png() -> bytes:
    # 400 megapixels that compress to ~50 KB: the classic bomb shape.
    return encode(Image.new("1", (20_000, 20_000)), "PNG")


def test_real_huge_one_bit_png_is_refused(huge_one_bit_png: bytes) -> None:
    assert len(huge_one_bit_png) < 200_000
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    expected = f"image too large: 400000000 pixels > limit {2 * limit}"
    assert decode_reason(huge_one_bit_png) == expected
    with pytest.raises(ImageDecodeError) as info:
        image_size(huge_one_bit_png)
    assert info.value.reason == expected


def test_bomb_guards_leave_global_state_alone(huge_one_bit_png: bytes) -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)
    for data in (huge_one_bit_png, png_claiming_size(10_000, 9_000)):
        with pytest.raises(ImageDecodeError):
            decode_image(data)
    decode_image(encode(Image.new("RGB", (2, 2)), "PNG"))
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert list(warnings.filters) == filters_before


# ---------------------------------------------------------------- fuzz


REASON_PREFIXES = (
    "empty file",
    "not an image (unrecognised format)",
    "corrupt or truncated image: ",
    "image too large: ",
)

SEEDS = [
    encode(noise_rgb(24, 16), "PNG"),
    encode(noise_rgb(24, 16), "JPEG", exif=exif_with_orientation(6)),
    encode(noise_rgb(24, 16).convert("P"), "GIF"),
    encode(noise_rgb(24, 16), "BMP"),
    encode(noise_rgb(24, 16), "TIFF"),
    encode(noise_rgb(24, 16), "WEBP"),
    encode(Image.fromarray(np.arange(96, dtype=np.uint16).reshape(8, 12) * 600), "PNG"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on the damaged metadata
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000) | st.none(),
)
def test_damaged_images_either_decode_or_raise_image_decode_error(
    seed: bytes, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(seed)
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    outcome: Image.Image | ImageDecodeError
    try:
        outcome = decode_image(bytes(data), max_pixels=1_000_000)
    except ImageDecodeError as exc:
        outcome = exc
    if isinstance(outcome, ImageDecodeError):
        assert outcome.reason.startswith(REASON_PREFIXES), outcome.reason
    else:
        assert outcome.mode == "RGB"
        assert outcome.width * outcome.height <= 1_000_000


# ---------------------------------------------------------------- sniff_kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.jpg", "image"),
        ("a.JPEG", "image"),
        ("dir/b.png", "image"),
        ("s3://bucket/x/c.GIF", "image"),
        ("d.bmp", "image"),
        ("e.tif", "image"),
        ("f.TIFF", "image"),
        ("g.webp", "image"),
        (r"C:\data\h.Png", "image"),
        ("notes.txt", "text"),
        ("NOTES.TXT", "text"),
        ("archive.tar.gz", None),
        ("photo.jpg.zip", None),
        ("picture.heic", None),
        ("README", None),
        (".png", None),  # a dotfile named ".png" has no extension
        ("dir.png/file", None),
        ("", None),
    ],
)
def test_sniff_kind(name: str, kind: str | None) -> None:
    assert sniff_kind(name) == kind
