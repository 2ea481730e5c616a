"""Decoding in bounded memory (skintrack/intake/decode.py): strip-wise conversion, the decode budget, bombs.

The bombs are the ones reported in issue 12, built here: a 484 KB RGBA PNG, a 257 KB 16-bit PNG and a
470 KB float TIFF of 120 megapixels each, and a lossless WebP of 100 megapixels. Accepted ones must
decode in a fresh process whose peak memory stays below 1.5 GB; the rest are refused from the header.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from skintrack import PhotoError, load_photo
from skintrack.intake import decode as decoding
from skintrack.intake import photo as photo_module

from .hostile import decode_in_subprocess, png_bomb, tiff_float_bomb

PEAK_LIMIT = 1.5e9


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _sources(rng) -> list[tuple[str, Image.Image, dict]]:
    rgb = rng.integers(0, 256, (150, 210, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (150, 210), dtype=np.uint8)
    gray = rgb[..., 0]
    return [
        ("PNG", Image.fromarray(rgb), {}),
        ("PNG", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), {}),
        ("PNG", Image.fromarray(gray.astype(np.uint16) * 250), {}),
        ("PNG", Image.fromarray(rgb).convert("P"), {"transparency": 3}),
        ("PNG", Image.fromarray(rgb).convert("LA"), {}),
        ("PNG", Image.fromarray(gray), {}),
        ("TIFF", Image.fromarray(gray.astype(np.float32) / 300.0, "F"), {}),
        ("TIFF", Image.fromarray(gray.astype(np.float32) * 3.0, "F"), {}),
        ("TIFF", Image.fromarray(gray.astype(np.int32) * 100, "I"), {}),
        ("JPEG", Image.fromarray(rgb).convert("CMYK"), {}),
        ("WEBP", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), {"lossless": True}),
    ]


def _reference(image: Image.Image, orientation: int) -> np.ndarray:
    """Whole-image conversion with Pillow and numpy, the obvious way (what the strips must equal)."""
    mode = image.mode
    if mode in ("I;16", "I"):
        gray = np.asarray(image).astype(np.float64)
        top = 65535.0 if mode != "I" or gray.max() > 255 else 255.0
        rgb = np.repeat(np.clip(np.rint(gray * (255.0 / top)), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    elif mode == "F":
        gray = np.asarray(image).astype(np.float64)
        top = max(1.0, gray.max())
        rgb = np.repeat(np.clip(np.rint(gray * (255.0 / top)), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    elif mode == "CMYK":
        cmyk = np.asarray(image, dtype=np.float32) / 255.0
        rgb = np.rint(255.0 * (1.0 - cmyk[..., :3]) * (1.0 - cmyk[..., 3:4])).astype(np.uint8)
    else:
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = np.rint(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    turn = {1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
            4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_270],
            7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}[orientation]  # fmt: skip
    upright = Image.fromarray(rgb)
    for op in turn:
        upright = upright.transpose(op)
    return np.asarray(upright)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_strip_by_strip_equals_the_whole_image_conversion(orientation, monkeypatch):
    monkeypatch.setattr(decoding, "STRIP_PIXELS", 3001)  # many strips of 14 rows
    for fmt, image, options in _sources(np.random.default_rng(orientation)):
        buffer = io.BytesIO()
        image.save(buffer, fmt, exif=_exif(orientation), **options)
        photo = load_photo(buffer.getvalue())
        decoded = Image.open(io.BytesIO(buffer.getvalue()))
        expected = _reference(decoded, orientation)
        assert photo.rgb.shape == expected.shape and photo.rgb.flags.c_contiguous, (fmt, image.mode)
        assert np.array_equal(photo.rgb, expected), (fmt, image.mode, orientation)


def test_profile_conversion_is_the_same_in_strips(monkeypatch):
    from .test_photo import _matrix_trc_profile

    p3_d50 = np.array([[0.5151, 0.2920, 0.1571], [0.2412, 0.6922, 0.0666], [-0.0011, 0.0419, 0.7841]])
    profile = _matrix_trc_profile(p3_d50, 2.2, "Test wide-gamut RGB")
    rgb = np.random.default_rng(5).integers(0, 256, (200, 240, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", icc_profile=profile)
    whole = load_photo(buffer.getvalue())
    monkeypatch.setattr(decoding, "STRIP_PIXELS", 1000)
    strips = load_photo(buffer.getvalue())
    assert "converted" in whole.metadata["colour_profile"]
    assert np.array_equal(whole.rgb, strips.rgb)
    assert whole.metadata["colour_profile"] == strips.metadata["colour_profile"]
    untouched = load_photo(rgb.copy())
    assert not np.array_equal(whole.rgb, untouched.rgb)


def test_alpha_note_looks_at_every_strip(monkeypatch):
    rgba = np.full((400, 300, 4), 255, np.uint8)
    rgba[-1, -1, 3] = 0  # one transparent pixel, in the last strip
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    monkeypatch.setattr(decoding, "STRIP_PIXELS", 3000)
    assert load_photo(buffer.getvalue()).metadata["alpha"] == "composited on white"


def test_decode_cost_counts_raster_result_and_decoder_buffers():
    rgba = Image.open(io.BytesIO(png_bomb(1000, 1000)))
    assert decoding.decode_cost(rgba, "PNG") >= (4 + 3) * 10**6  # raster + result
    gray16 = Image.open(io.BytesIO(png_bomb(1000, 1000, color_type=0, bit_depth=16)))
    assert decoding.decode_cost(gray16, "PNG") < decoding.decode_cost(rgba, "PNG")
    one_strip = Image.open(io.BytesIO(tiff_float_bomb(1000, 1000, rows_per_strip=1000)))
    small_strips = Image.open(io.BytesIO(tiff_float_bomb(1000, 1000, rows_per_strip=16)))
    assert decoding.decode_cost(one_strip, "TIFF") > decoding.decode_cost(small_strips, "TIFF")
    assert decoding.decode_cost(rgba, "JPEG", coefficient_bytes=6 * 10**6) > decoding.decode_cost(rgba, "JPEG")


def test_a_photo_over_the_memory_budget_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(photo_module, "MAX_DECODE_BYTES", 40 * 2**20)
    loaded = []
    original_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: loaded.append(1) or original_load(self))
    with pytest.raises(PhotoError, match=r"would take about \d+ MiB of memory; the limit is 40 MiB"):
        load_photo(png_bomb(4000, 4000))
    assert loaded == []
    assert load_photo(png_bomb(1000, 1000, color_type=2)).size == (1000, 1000)


def test_webp_size_is_read_from_the_header():
    for size, options in (((300, 200), {"lossless": True}), ((640, 480), {"quality": 80})):
        buffer = io.BytesIO()
        Image.new("RGB", size, (90, 60, 30)).save(buffer, "WEBP", **options)
        assert decoding.webp_size(buffer.getvalue()) == size
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (90, 60, 30, 100)).save(buffer, "WEBP", lossless=True, exif=_exif(6))
    assert decoding.webp_size(buffer.getvalue()) == (300, 200)  # extended (VP8X) header
    assert decoding.webp_size(b"RIFF....WEBPVP8 junk") is None


_WEBP_BUILDER = """
import io, sys
from PIL import Image
for path, side in zip(sys.argv[1::2], sys.argv[2::2]):
    buffer = io.BytesIO()
    Image.new("RGB", (int(side), int(side)), (120, 80, 60)).save(buffer, "WEBP", lossless=True)
    open(path, "wb").write(buffer.getvalue())
"""


@pytest.mark.slow
def test_decompression_bombs_decode_in_bounded_memory_or_are_refused(tmp_path):
    side = 10_954  # 120 MP, the pixel limit
    files = {
        "rgba_png": png_bomb(side, side),
        "png16": png_bomb(side, side, color_type=0, bit_depth=16),
        "float_tiff": tiff_float_bomb(side, side),
        "float_tiff_one_strip": tiff_float_bomb(side, side, rows_per_strip=side),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.bin"
        paths[name].write_bytes(data)
    assert len(files["rgba_png"]) < 500_000 and len(files["png16"]) < 260_000
    paths["webp_100mp"], paths["webp_64mp"] = tmp_path / "big.webp", tmp_path / "ok.webp"
    subprocess.run(
        [sys.executable, "-c", _WEBP_BUILDER, str(paths["webp_100mp"]), "10000", str(paths["webp_64mp"]), "8000"],
        check=True,
    )
    run = decode_in_subprocess(list(paths.values()))
    results = {name: run["results"][str(path)] for name, path in paths.items()}
    for accepted in ("rgba_png", "png16", "float_tiff", "float_tiff_one_strip"):
        assert results[accepted] == [side, side, 3], (accepted, results[accepted])
    assert results["webp_64mp"] == [8000, 8000, 3]
    assert str(results["webp_100mp"]).startswith("refused: Decoding this"), results["webp_100mp"]
    assert run["peak_bytes"] < PEAK_LIMIT, f"peak {run['peak_bytes'] / 1e9:.2f} GB"
