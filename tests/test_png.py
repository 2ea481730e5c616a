"""PNG chunks (skintrack/intake/png.py): metadata removed, pixels untouched."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from skintrack.intake import png


def _png_with_metadata() -> tuple[bytes, np.ndarray]:
    rgb = np.random.default_rng(2).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr Secret")
    info.add_itxt("GPS", "52.37 N, 4.89 E", zip=True)
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", pnginfo=info, exif=exif)
    return buffer.getvalue() + b"appended after IEND", rgb


def test_text_exif_and_trailing_data_are_removed_and_pixels_kept():
    data, rgb = _png_with_metadata()
    assert png.has_metadata(data)
    clean = png.strip_metadata(data)
    assert not png.has_metadata(clean)
    for secret in (b"Dr Secret", b"GPS", b"Apple", b"appended"):
        assert secret not in clean
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(clean))), rgb)


def test_a_clean_png_is_left_as_it_is():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buffer, "PNG")
    assert not png.has_metadata(buffer.getvalue())
    assert png.strip_metadata(buffer.getvalue()) == buffer.getvalue()


@pytest.mark.parametrize("bad", [b"not a png", b"\x89PNG\r\n\x1a\n\x00\x00\x10\x00IHDR", b"\x89PNG\r\n\x1a\n"])
def test_damaged_pngs_are_refused(bad):
    with pytest.raises(png.PngError):
        png.strip_metadata(bad)
