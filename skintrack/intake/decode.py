"""From a decoder's pixels to upright 8-bit sRGB, in bounded memory.

A small file can claim a huge image: a 484 KB PNG holds 120 megapixels of
RGBA, a 38-byte lossless WebP 100 megapixels. Decoding such a "decompression
bomb" naively takes several gigabytes: the decoder's own raster, then float
copies for alpha compositing or 16-bit scaling, then rotated copies. Here

* :func:`decode_cost` estimates, from the header alone, the peak memory of
  decoding a photo at full resolution: the decoder's raster (Pillow keeps 4
  bytes per pixel for every multi-band mode), its working buffers (a
  progressive JPEG's DCT coefficients, a TIFF strip, libwebp's canvas and
  frame copy, libheif's planes) and the 3-byte-per-pixel result; a photo whose
  estimate exceeds :data:`MAX_DECODE_BYTES` is refused before any pixel is
  decoded;
* :func:`to_rgb8` converts the decoded raster strip by strip (about
  :data:`STRIP_PIXELS` at a time) straight into the upright result, so the
  conversion adds no more than one strip of temporaries: alpha is composited
  on white, 16-bit and float data scaled, CMYK and non-sRGB profiles converted
  through the embedded ICC profile, and the EXIF orientation applied by
  writing each strip through a rotated *view* of the result (no rotated
  copy).
"""

from __future__ import annotations

import io
import math
from typing import Callable

import numpy as np
from PIL import Image, ImageCms

__all__ = ["MAX_DECODE_BYTES", "STRIP_PIXELS", "decode_cost", "orientation_view", "to_rgb8", "webp_size"]

#: Most memory one photo may take to decode, in bytes (estimated from its
#: header by :func:`decode_cost`). With the interpreter and libraries a
#: decoding process stays below 1.5 GB (see ``bench/hostile_bench.py``). An
#: 8-bit 120 MP JPEG or PNG needs 0.84 GB; a 120 MP float TIFF or RGBA WebP
#: would need more and is refused with a message saying how much.
MAX_DECODE_BYTES = 1024 * 2**20
#: Pixels converted at a time: temporaries stay below ~16 MB.
STRIP_PIXELS = 1 << 20

#: Bytes per pixel of Pillow's raster for each mode (all other modes: 4).
_RASTER_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_GRAY_INT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


def decode_cost(image: Image.Image, fmt: str, coefficient_bytes: int = 0) -> int:
    """Estimated peak bytes to decode ``image`` at full resolution and convert it to 8-bit RGB.

    Parameters
    ----------
    image : PIL.Image.Image
        Opened (header read), not loaded.
    fmt : str
        Pillow's format name ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "HEIF", "BMP").
    coefficient_bytes : int
        For a progressive or multi-scan JPEG, the bytes of its DCT coefficients
        (:meth:`skintrack.intake.jpeg.JpegHeader.coefficient_bytes`).

    Returns
    -------
    int
        ``raster + persistent + max(working, result)`` where ``raster`` is
        Pillow's image (1, 2 or 4 bytes per pixel by mode), ``result`` the
        ``H x W x 3`` uint8 array, ``working`` what the decoder holds only while
        decoding and ``persistent`` what it keeps until the image is closed.
    """
    width, height = image.size
    pixels = width * height
    raster = pixels * _RASTER_BYTES.get(image.mode, 4)
    result = 3 * pixels
    working = persistent = 0
    if fmt in ("JPEG", "MPO"):
        working = coefficient_bytes
    elif fmt == "WEBP":
        persistent = 8 * pixels  # libwebp's canvas and the frame handed to Pillow, both kept while open
    elif fmt == "TIFF":
        working = _tiff_buffer_bytes(image)
    elif fmt == "HEIF":
        working = 6 * pixels  # libheif's decoded planes and interleaved copy
    return raster + persistent + max(working, result) + 4 * STRIP_PIXELS * 4


def _tiff_buffer_bytes(image: Image.Image) -> int:
    """Bytes of one decoded TIFF strip or tile (libtiff decodes one at a time), as 8-byte samples at most."""
    tags = getattr(image, "tag_v2", {})
    width, height = image.size
    samples = int(tags.get(277, 1) or 1)
    bits = tags.get(258, (8,))
    bits = max(bits) if isinstance(bits, (tuple, list)) else int(bits or 8)
    sample_bytes = max(1, math.ceil(bits / 8))
    if 322 in tags and 323 in tags:  # tiled
        chunk = int(tags[322]) * int(tags[323])
    else:
        rows = int(tags.get(278, height) or height)
        chunk = min(rows, height) * width
    # Some layouts (e.g. JPEG-in-TIFF) are read as RGBA strips: at least 4 bytes per pixel.
    return chunk * max(samples * sample_bytes, 4)


def webp_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a WebP header, or None when ``data`` is not one.

    Read here because Pillow's WebP decoder allocates its whole canvas when the
    file is opened, before any size check can refuse it (RFC 9649, section 2).
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def orientation_view(upright: np.ndarray, orientation: int) -> np.ndarray:
    """A writable view of ``upright`` in the stored orientation: what is written to it lands upright.

    ``orientation`` is the EXIF value (1-8). For 6 (stored rotated 90°
    counter-clockwise; displayed turned clockwise) the view is
    ``np.rot90(upright, 1)``, and so on: each is the inverse of the turn that
    makes the stored image upright.
    """
    views = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),
        7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
        8: lambda a: np.rot90(a, -1),
    }
    return views.get(orientation, views[1])(upright)


def to_rgb8(image: Image.Image, icc: bytes | None, orientation: int = 1) -> tuple[np.ndarray, str | None, str]:
    """Convert a loaded image of any mode to upright ``H x W x 3`` uint8 sRGB, strip by strip.

    Conversions: grayscale and palette expanded; alpha composited on white
    (``rgb * a + 255 * (1 - a)``); 16-bit integers scaled by ``255 / 65535``
    (or ``255 / 255`` for 32-bit integers that stay below 256); float data by
    ``255 / max(1, max value)``; CMYK through its embedded profile or, without
    one, ``R = 255 (1 - C)(1 - K)``; an embedded non-sRGB RGB profile converted
    to sRGB (relative colorimetric).

    Returns
    -------
    rgb : ndarray
        Upright, C-contiguous uint8 array.
    alpha_note : str or None
        What was done with an alpha channel.
    profile_note : str
        What was done about colour profiles.
    """
    width, height = image.size
    shape = (height, width, 3) if orientation <= 4 else (width, height, 3)
    upright = np.empty(shape, np.uint8)
    target = orientation_view(upright, orientation)
    converter = _Converter(image, icc)
    rows = max(1, STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        target[top:bottom] = converter(image.crop((0, top, width, bottom)))
    return upright, converter.alpha_note, converter.profile_note


class _Converter:
    """Converts strips of one image; remembers what it did for the notes."""

    def __init__(self, image: Image.Image, icc: bytes | None):
        self.mode = image.mode
        self.alpha_note: str | None = None
        self.profile_note = "assumed sRGB"
        self._opaque = True
        self._scale = 1.0
        self._icc_transform: Callable[[np.ndarray], np.ndarray] | None = None
        self._cmyk_transform = None
        if self.mode in _GRAY_INT:
            self._scale = 255.0 / (65535.0 if self.mode != "I" or _max_value(image) > 255 else 255.0)
        elif self.mode == "F":
            top = _max_value(image)
            self._scale = 255.0 / (top if math.isfinite(top) and top > 1.0 else 1.0)
        elif self.mode == "CMYK":
            if icc:
                self._cmyk_transform = _build_transform(icc, "CMYK")
                if self._cmyk_transform is not None:
                    self.profile_note = "converted from embedded CMYK profile to sRGB"
            if self._cmyk_transform is None:
                self.profile_note = "CMYK converted with R=(1-C)(1-K) (no profile)"
        else:
            self._icc_transform, self.profile_note = _rgb_profile_plan(icc, self.profile_note)
        self._palette_target = "RGBA" if "transparency" in image.info else "RGB"

    def __call__(self, strip: Image.Image) -> np.ndarray:
        mode = self.mode
        if mode in _GRAY_INT or mode == "F":
            gray = np.asarray(strip).astype(np.float64)
            gray8 = np.clip(np.rint(gray * self._scale), 0, 255).astype(np.uint8)
            return np.repeat(gray8[:, :, None], 3, axis=2)
        if mode == "CMYK":
            if self._cmyk_transform is not None:
                try:
                    return np.asarray(ImageCms.applyTransform(strip, self._cmyk_transform))
                except Exception:  # a profile that builds but cannot convert: the formula, for all strips
                    self._cmyk_transform = None
                    self.profile_note = "CMYK converted with R=(1-C)(1-K) (no profile)"
            cmyk = np.asarray(strip, dtype=np.float32) / 255.0
            return np.rint(255.0 * (1.0 - cmyk[:, :, :3]) * (1.0 - cmyk[:, :, 3:4])).astype(np.uint8)
        if mode == "P":
            strip = strip.convert(self._palette_target)
            mode = strip.mode
        if mode in _ALPHA:
            rgba = np.asarray(strip.convert("RGBA"), dtype=np.float32)
            alpha = rgba[:, :, 3:4] / 255.0
            if alpha.size and float(alpha.min()) < 1.0:
                self._opaque = False
            self.alpha_note = "fully opaque alpha dropped" if self._opaque else "composited on white"
            rgb = np.rint(rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        else:
            if mode not in ("RGB", "L"):
                strip = strip.convert("RGB")
            rgb = np.asarray(strip)
            if rgb.ndim == 2:
                rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        return self._icc_transform(rgb) if self._icc_transform is not None else rgb


def _max_value(image: Image.Image) -> float:
    """Largest sample of a one-band image, read strip by strip (NaN ignored)."""
    width, height = image.size
    rows = max(1, STRIP_PIXELS // max(1, width))
    top = -math.inf
    for start in range(0, height, rows):
        values = np.asarray(image.crop((0, start, width, min(height, start + rows))))
        if values.size:
            top = max(top, float(np.nanmax(values)) if values.dtype.kind == "f" else float(values.max()))
    return top


def _rgb_profile_plan(icc: bytes | None, default_note: str):
    """How to bring RGB pixels with embedded profile ``icc`` to sRGB: ``(transform or None, note)``."""
    if not icc:
        return None, default_note
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(profile) or "").strip()
    except Exception:
        return None, "embedded profile unreadable; assumed sRGB"
    if "srgb" in description.lower() or "iec61966" in description.lower():
        return None, f"embedded sRGB ({description})"
    if getattr(profile.profile, "xcolor_space", "RGB ").strip() != "RGB":
        return None, f"embedded profile '{description}' is not RGB; assumed sRGB"
    transform = _build_transform(icc, "RGB")
    if transform is None:
        return None, "embedded profile unreadable; assumed sRGB"

    def convert(rgb: np.ndarray) -> np.ndarray:
        return np.asarray(ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), transform))

    return convert, f"converted from '{description}' to sRGB"


def _build_transform(icc: bytes, in_mode: str):
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        return ImageCms.buildTransform(
            source, target, in_mode, "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
        )
    except Exception:
        return None
