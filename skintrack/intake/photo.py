"""Photo intake: decode any supported photo into an upright sRGB array.

Every photo that enters skintrack goes through :func:`load_photo`. It

* accepts a path, raw bytes, a binary file-like object or an ``HxWx3`` uint8
  RGB array;
* decodes JPEG (incl. MPO), PNG, TIFF, WebP, BMP and HEIC/HEIF (pillow-heif);
* applies the EXIF orientation, so ``Photo.rgb`` is upright;
* converts every mode to 8-bit RGB: grayscale and palette are expanded,
  alpha is **composited on white**, 16-bit data is scaled (``v * 255 / 65535``),
  CMYK is converted through its embedded ICC profile or, without one, with the
  usual ``R = (1 - C)(1 - K)`` formula; an embedded non-sRGB ICC profile
  (e.g. Display P3 from an iPhone) is converted to sRGB;
* records ``captured_at``, ``camera``, ``original_size``, ``format`` and the
  ``sha256`` of the original bytes in ``Photo.metadata``;
* refuses bad input with :class:`PhotoError` (a ``ValueError``) and a message a
  person understands: empty, unreadable, truncated, unsupported, larger than
  :data:`MAX_PIXELS`, needing more than :data:`MAX_DECODE_BYTES` of memory to
  decode (both checked from the header, before any pixel is allocated; see
  :mod:`skintrack.intake.decode`), with hostile JPEG metadata (:mod:`skintrack.intake.jpeg`)
  or smaller than :data:`MIN_SIDE` pixels.

Large JPEGs are validated by a fast reduced-scale decode (libjpeg's DCT
scaling); the full-resolution pixels are decoded the first time
``Photo.rgb`` is read. Measurements work at a reduced "working" resolution
(:meth:`Photo.resized`), so scoring a 12 MP photo never needs them.

:func:`save_photo` / :func:`photo_to_bytes` write a photo *without* any
identifying metadata: no EXIF at all (GPS, serial numbers, maker notes and
capture time are gone), no XMP/IPTC/comments, orientation baked into the pixels.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any, BinaryIO, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..private_files import atomic_write
from . import decode as _decoding
from . import jpeg as _jpeg
from .decode import MAX_DECODE_BYTES

try:  # HEIC/HEIF support (iPhone default format)
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = True
except ImportError:  # pragma: no cover - pillow-heif is a hard dependency
    _HEIF = False

__all__ = [
    "MAX_DECODE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "Photo",
    "PhotoError",
    "load_photo",
    "photo_to_bytes",
    "resize_long_side",
    "clean_bytes",
    "save_photo",
    "strip_jpeg_metadata",
]

#: Largest photo accepted, in pixels (120 megapixels). Checked from the file
#: header before decoding, so a "decompression bomb" never allocates memory.
MAX_PIXELS = 120_000_000
#: Largest encoded file accepted, in bytes (200 MiB).
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Smallest accepted side, in pixels. Smaller images hold too little skin
#: detail for any measurement.
MIN_SIDE = 128
#: Large JPEGs are validated with a reduced-scale decode (libjpeg DCT scaling by
#: 1/2, 1/4 or 1/8) whose long side is at least this many pixels; it serves
#: working-resolution requests up to ~5 % larger (see :meth:`Photo.resized`).
PREVIEW_LONG_SIDE = 1000
#: :meth:`Photo.resized` may upsample the reduced decode by at most this factor.
PREVIEW_MAX_UPSCALE = 1.05
#: Larger JPEGs are written without Huffman optimisation: to optimise, libjpeg
#: keeps every DCT coefficient of the image (6 bytes per pixel at 4:4:4).
JPEG_OPTIMIZE_MAX_PIXELS = 24_000_000

#: Longest camera name kept from EXIF (make and model); no camera's is longer.
MAX_CAMERA_NAME = 120

SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "BMP", "HEIF")

# EXIF tag numbers (see the EXIF 2.32 specification).
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_IFD_EXIF = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, np.ndarray, "Photo"]


class PhotoError(ValueError):
    """A photo could not be used; the message says why in plain words."""


class Photo:
    """An upright 8-bit sRGB photo and what is known about where it came from.

    Parameters
    ----------
    rgb : ndarray
        ``HxWx3`` uint8 RGB pixels (already upright).
    metadata : dict, optional
        Facts about the photo (see :func:`load_photo`). JSON-serialisable.

    Notes
    -----
    Photos are immutable: ``rgb`` is a read-only array. Derived photos (colour
    normalised, aligned) are new ``Photo`` objects made with :meth:`derive`.
    """

    __slots__ = ("_rgb", "_encoded", "_preview", "metadata", "_memo", "__weakref__")

    def __init__(self, rgb: np.ndarray, metadata: dict[str, Any] | None = None):
        rgb = _check_rgb_array(rgb)
        self._rgb: np.ndarray | None = _readonly(rgb)
        self._encoded: bytes | None = None
        self._preview: np.ndarray | None = None
        self._memo: dict[Any, Any] = {}
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.metadata.setdefault("original_size", [rgb.shape[1], rgb.shape[0]])

    @classmethod
    def _deferred(cls, encoded: bytes, preview: np.ndarray, metadata: dict[str, Any]) -> "Photo":
        """A photo whose full-resolution pixels are decoded from ``encoded`` on first use."""
        photo = cls.__new__(cls)
        photo._rgb = None
        photo._encoded = encoded
        photo._preview = _readonly(preview)
        photo._memo = {}
        photo.metadata = metadata
        return photo

    @property
    def rgb(self) -> np.ndarray:
        """Full-resolution ``HxWx3`` uint8 RGB pixels, upright."""
        if self._rgb is None:
            assert self._encoded is not None
            image, _ = _decode(self._encoded, preview_long_side=None)
            self._rgb = _readonly(image)
            self._encoded = None
        return self._rgb

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the full-resolution, upright photo."""
        width, height = self.metadata["original_size"]
        return int(width), int(height)

    @property
    def sha256(self) -> str | None:
        """Hash of the original bytes (or of the array for array input)."""
        return self.metadata.get("sha256")

    def resized(self, long_side: int) -> np.ndarray:
        """The photo resampled so that its long side is ``long_side`` pixels.

        Downscaling uses area averaging (``cv2.INTER_AREA``), upscaling cubic
        interpolation. When the full-resolution pixels have not been decoded
        and the reduced-scale decode is at least ``long_side / 1.05`` pixels
        long, it is used instead (a 4032 px JPEG decodes at 1/4 scale to 1008
        px for a 1024 px working image): libjpeg's DCT scaling is a proper
        low-pass, so this costs at most 5 % of nominal resolution and saves
        the full decode.
        """
        if self._rgb is None and self._preview is not None:
            if max(self._preview.shape[:2]) * PREVIEW_MAX_UPSCALE >= long_side:
                return resize_long_side(self._preview, long_side)
            if long_side / PREVIEW_MAX_UPSCALE <= max(self.size) / 2:
                # A larger reduced-scale decode (e.g. 1/2) still beats decoding everything.
                reduced, _ = _decode(self._encoded, preview_long_side=int(long_side / PREVIEW_MAX_UPSCALE) + 1)
                return resize_long_side(reduced, long_side)
        return resize_long_side(self.rgb, long_side)

    def derive(self, rgb: np.ndarray, **metadata_updates: Any) -> "Photo":
        """A new photo with other pixels and this photo's metadata, updated."""
        metadata = dict(self.metadata)
        metadata.update(metadata_updates)
        metadata["original_size"] = [int(rgb.shape[1]), int(rgb.shape[0])]
        return Photo(rgb, metadata)

    def with_metadata(self, **metadata_updates: Any) -> "Photo":
        """The same pixels (not decoded, not copied) with updated metadata."""
        photo = Photo.__new__(Photo)
        photo._rgb, photo._encoded, photo._preview = self._rgb, self._encoded, self._preview
        photo._memo = self._memo  # the same pixels: what was computed from them still holds
        photo.metadata = {**self.metadata, **metadata_updates}
        return photo

    @property
    def memo(self) -> dict[Any, Any]:
        """What has been computed from these pixels, by key (see :mod:`skintrack.measure.analysis`).

        Shared with :meth:`with_metadata` copies (same pixels), never with :meth:`derive`d
        photos (other pixels); not pickled.
        """
        return self._memo

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__ if name not in ("__weakref__", "_memo")}

    def __setstate__(self, state):
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_memo", {})

    def __repr__(self) -> str:
        width, height = self.size
        return f"Photo({width}x{height}, format={self.metadata.get('format')!r}, sha256={str(self.sha256)[:12]}…)"


# --------------------------------------------------------------------------- intake


def load_photo(source: Source) -> Photo:
    """Decode a photo into an upright 8-bit sRGB :class:`Photo`.

    Parameters
    ----------
    source : str, path-like, bytes, binary file-like, ndarray or Photo
        The photo. An array must be ``HxWx3`` uint8 RGB.

    Returns
    -------
    Photo
        ``Photo.rgb`` is ``HxWx3`` uint8, EXIF orientation applied.
        ``Photo.metadata`` holds at least ``captured_at`` (ISO 8601 string from
        EXIF ``DateTimeOriginal``, or None), ``camera`` ("Make Model" or None),
        ``original_size`` ([width, height], upright), ``format`` (e.g. "JPEG")
        and ``sha256`` (hex digest of the original bytes), plus ``mode``,
        ``orientation``, ``alpha`` and ``colour_profile`` describing what the
        conversion did.

    Raises
    ------
    PhotoError
        For any input that is not a usable photo. No other exception escapes.
    """
    if isinstance(source, Photo):
        return source
    if isinstance(source, np.ndarray):
        rgb = _check_rgb_array(source)
        digest = hashlib.sha256(f"{rgb.shape}".encode() + np.ascontiguousarray(rgb).tobytes()).hexdigest()
        metadata = {
            "captured_at": None,
            "camera": None,
            "original_size": [int(rgb.shape[1]), int(rgb.shape[0])],
            "format": "array",
            "sha256": digest,
            "mode": "RGB",
            "orientation": 1,
            "alpha": None,
            "colour_profile": "assumed sRGB",
        }
        return Photo(rgb.copy(), metadata)
    data = _read_source(source)
    try:
        preview, metadata = _decode(data, preview_long_side=PREVIEW_LONG_SIDE)
    except PhotoError:
        raise
    except MemoryError:
        raise PhotoError("The photo is too large to decode with the memory available.") from None
    except Exception as exc:  # any decoder failure is the photo's fault, not the caller's
        raise PhotoError(f"The file could not be decoded as a photo ({type(exc).__name__}: {exc}).") from None
    metadata["sha256"] = hashlib.sha256(data).hexdigest()
    if metadata.pop("_reduced"):
        return Photo._deferred(data, preview, metadata)
    photo = Photo(preview, metadata)
    return photo


def _read_source(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise PhotoError(f"No file at {path}.")
        if not path.is_file():
            raise PhotoError(f"{path} is not a file.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PhotoError(f"{path.name} is {size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MiB.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PhotoError(f"{path} could not be read: {exc.strerror or exc}.") from None
    elif hasattr(source, "read"):
        try:
            data = source.read(MAX_FILE_BYTES + 1)
        except Exception as exc:
            raise PhotoError(f"The upload could not be read ({exc}).") from None
        if not isinstance(data, (bytes, bytearray)):
            raise PhotoError("The file object must be opened in binary mode ('rb').")
        data = bytes(data)
    else:
        raise PhotoError(
            f"Cannot read a photo from {type(source).__name__}; give a path, bytes, a binary file or an RGB array."
        )
    if len(data) == 0:
        raise PhotoError("The file is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise PhotoError(f"The file is larger than the {MAX_FILE_BYTES / 2**20:.0f} MiB limit.")
    return data


def _decode(data: bytes, preview_long_side: int | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode ``data``; with ``preview_long_side`` large JPEGs decode at reduced scale.

    Everything that could make decoding hostile is checked from the header
    first: JPEG metadata (:func:`skintrack.intake.jpeg.read_header`), the pixel count
    (:data:`MAX_PIXELS`) and the memory the full decode would take
    (:func:`skintrack.intake.decode.decode_cost` against :data:`MAX_DECODE_BYTES`).
    """
    coefficient_bytes = 0
    if data[:2] == b"\xff\xd8":
        try:
            coefficient_bytes = _jpeg.read_header(data).coefficient_bytes()  # refuse hostile metadata first
        except _jpeg.HostileHeader as exc:
            raise PhotoError(str(exc)) from None
        except _jpeg.JpegError:
            pass  # damaged: Pillow's own message says how
    webp = _decoding.webp_size(data)
    if webp is not None:  # Pillow allocates a WebP's canvas on opening it: check the size first
        _check_size(*webp)
    with warnings.catch_warnings():
        # Our own MAX_PIXELS check below replaces Pillow's bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise PhotoError(f"The image header claims more than {MAX_PIXELS / 1e6:.0f} megapixels; refused.") from None
        except UnidentifiedImageError:
            raise PhotoError(
                "This is not a photo skintrack can read (unrecognised or damaged file). "
                "Supported formats: JPEG, PNG, TIFF, WebP, HEIC."
            ) from None
        with image:
            fmt = image.format or "unknown"
            if fmt not in SUPPORTED_FORMATS:
                raise PhotoError(f"{fmt} files are not supported; use JPEG, PNG, TIFF, WebP or HEIC.")
            width, height = image.size
            _check_size(width, height)
            cost = _decoding.decode_cost(image, fmt, coefficient_bytes)
            if cost > MAX_DECODE_BYTES:
                raise PhotoError(
                    f"Decoding this {width}x{height} {fmt} image ({image.mode}) would take about "
                    f"{cost / 2**20:.0f} MiB of memory; the limit is {MAX_DECODE_BYTES / 2**20:.0f} MiB. "
                    "Save it smaller or as an 8-bit JPEG."
                )
            exif = image.getexif()
            orientation = int(exif.get(_TAG_ORIENTATION, 1) or 1)
            if orientation not in range(1, 9):
                orientation = 1
            icc = image.info.get("icc_profile")
            mode = image.mode
            reduced = False
            if (
                preview_long_side
                and fmt in ("JPEG", "MPO")
                and mode in ("RGB", "L")
                and max(width, height) >= 2 * preview_long_side
            ):
                scale = preview_long_side / max(width, height)
                image.draft(mode, (int(width * scale) + 1, int(height * scale) + 1))
                reduced = image.size != (width, height)
            try:
                image.load()
            except OSError as exc:
                if "truncated" in str(exc).lower():
                    raise PhotoError("The file is truncated (incomplete download or copy?).") from None
                raise
            rgb, alpha_note, profile_note = _decoding.to_rgb8(image, icc, orientation)
    upright = (width, height) if orientation <= 4 else (height, width)
    metadata = {
        "captured_at": _captured_at(exif),
        "camera": _camera(exif),
        "original_size": [int(upright[0]), int(upright[1])],
        "format": "HEIF" if fmt == "HEIF" else ("JPEG" if fmt == "MPO" else fmt),
        "mode": mode,
        "orientation": orientation,
        "alpha": alpha_note,
        "colour_profile": profile_note,
        "_reduced": reduced,
    }
    return rgb, metadata


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise PhotoError(
            f"The image claims {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP."
        )
    if min(width, height) < MIN_SIDE:
        raise PhotoError(
            f"The image is only {width}x{height} pixels; at least {MIN_SIDE} pixels on each side are needed."
        )


def _captured_at(exif: Image.Exif) -> str | None:
    try:
        sub = exif.get_ifd(_IFD_EXIF)
    except Exception:
        sub = {}
    raw = sub.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    if not raw:
        return None
    try:
        when = _dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    if offset:
        try:
            when = _dt.datetime.fromisoformat(when.isoformat() + str(offset).strip("\x00 "))
        except ValueError:
            pass
    return when.isoformat()


def _camera(exif: Image.Exif) -> str | None:
    make = str(exif.get(_TAG_MAKE, "") or "").strip("\x00 ")
    model = str(exif.get(_TAG_MODEL, "") or "").strip("\x00 ")
    if model.lower().startswith(make.lower()):
        make = ""
    camera = " ".join(part for part in (make, model) if part)
    camera = "".join(c for c in camera if c.isprintable())[:MAX_CAMERA_NAME]  # EXIF text is untrusted
    return camera or None


def _check_rgb_array(rgb: Any) -> np.ndarray:
    if not isinstance(rgb, np.ndarray):
        raise PhotoError(f"Expected an RGB array, got {type(rgb).__name__}.")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise PhotoError(f"Expected an HxWx3 RGB array, got shape {rgb.shape}.")
    if rgb.dtype != np.uint8:
        raise PhotoError(f"Expected a uint8 RGB array, got dtype {rgb.dtype}.")
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise PhotoError(
            f"The image is only {rgb.shape[1]}x{rgb.shape[0]} pixels; at least {MIN_SIDE} pixels on each side are needed."
        )
    if rgb.shape[0] * rgb.shape[1] > MAX_PIXELS:
        raise PhotoError(f"The image has more than {MAX_PIXELS / 1e6:.0f} megapixels; refused.")
    return rgb


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- helpers


def resize_long_side(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Resample an image so its long side is ``long_side`` pixels (aspect kept)."""
    height, width = rgb.shape[:2]
    scale = long_side / max(height, width)
    if abs(scale - 1.0) < 1e-9:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=interpolation)


# --------------------------------------------------------------------------- output

_FORMATS_BY_SUFFIX = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def photo_to_bytes(photo: Photo | np.ndarray, format: str = "JPEG", quality: int = 95) -> bytes:
    """Encode a photo without identifying metadata.

    The output holds pixels only: no EXIF (so no GPS, serial numbers, maker
    notes or capture time), no XMP/IPTC/comments and no ICC profile (pixels are
    sRGB). Orientation is baked into the pixels.

    Parameters
    ----------
    photo : Photo or ndarray
    format : {"JPEG", "PNG", "TIFF", "WEBP"}
    quality : int
        JPEG/WebP quality (1-100). JPEG is written with 4:4:4 chroma so colour
        measurements are not blurred by chroma subsampling, and with optimised
        Huffman tables up to :data:`JPEG_OPTIMIZE_MAX_PIXELS` (same pixels,
        smaller file).
    """
    rgb = photo.rgb if isinstance(photo, Photo) else _check_rgb_array(photo)
    fmt = format.upper()
    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    buffer = io.BytesIO()
    if fmt == "JPEG":
        optimize = rgb.shape[0] * rgb.shape[1] <= JPEG_OPTIMIZE_MAX_PIXELS
        image.save(buffer, format="JPEG", quality=int(quality), subsampling=0, optimize=optimize)
    elif fmt == "WEBP":
        image.save(buffer, format="WEBP", quality=int(quality))
    elif fmt == "PNG":
        image.save(buffer, format="PNG", optimize=False)
    elif fmt == "TIFF":
        image.save(buffer, format="TIFF", compression="tiff_deflate")
    else:
        raise PhotoError(f"Cannot write {format}; choose JPEG, PNG, TIFF or WEBP.")
    image.close()  # the 4-byte-per-pixel raster goes before the encoded bytes are copied out
    del image
    return buffer.getvalue()


def strip_jpeg_metadata(data: bytes) -> bytes:
    """Remove identifying metadata from a JPEG without re-encoding it.

    Keeps only the first image (an MPO's further images and anything appended
    after the image are dropped, with their EXIF) and, of its metadata, only
    the JFIF header, the ICC profile and Adobe's colour transform: EXIF/XMP
    (GPS, serial numbers, maker notes, capture time), MPF, IPTC and comments
    are removed (see :func:`skintrack.intake.jpeg.strip_metadata`). The image data is
    copied byte for byte, so pixels are unchanged. Only valid for a JPEG whose
    EXIF orientation is 1 (upright): removing EXIF removes orientation.

    Raises
    ------
    PhotoError
        If ``data`` is not a well-formed JPEG.
    """
    try:
        return _jpeg.strip_metadata(data)
    except _jpeg.JpegError as exc:
        raise PhotoError(str(exc)) from None


def clean_bytes(photo: Photo, original: bytes | None = None) -> tuple[bytes, str]:
    """The bytes to keep for a photo, without identifying metadata, and their file suffix.

    An upright JPEG keeps its compressed data untouched (metadata segments
    removed); anything else is re-encoded upright — lossless sources as PNG
    (the stored pixels are exactly ``photo.rgb``), lossy ones (HEIC, WebP,
    rotated JPEG) as JPEG quality 95, 4:4:4.
    """
    fmt = photo.metadata.get("format")
    if original is not None and fmt == "JPEG" and photo.metadata.get("orientation", 1) == 1:
        return strip_jpeg_metadata(original), ".jpg"
    if fmt in ("PNG", "TIFF", "BMP", "array"):
        return photo_to_bytes(photo, "PNG"), ".png"
    return photo_to_bytes(photo, "JPEG", quality=95), ".jpg"


def save_photo(photo: Photo | np.ndarray, path: str | os.PathLike, quality: int = 95) -> Path:
    """Write a photo to ``path`` without identifying metadata (see :func:`photo_to_bytes`).

    The format follows the suffix (.jpg/.jpeg, .png, .tif/.tiff, .webp). The
    file is written atomically: a temporary file is renamed into place, so a
    crash never leaves half a photo behind.
    """
    path = Path(path)
    fmt = _FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise PhotoError(f"Cannot tell the format from '{path.suffix}'; use .jpg, .png, .tif or .webp.")
    data = photo_to_bytes(photo, fmt, quality)
    atomic_write(path, data)
    return path
