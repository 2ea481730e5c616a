"""Photo intake: every format, mode and bad input (skintrack/intake/photo.py)."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

import skintrack
from skintrack import PhotoError, load_photo, photo_to_bytes, save_photo
from skintrack.intake import photo as photo_module

from .conftest import REAL_PHOTOS


def _test_image(width=320, height=240, seed=0) -> np.ndarray:
    """A smooth colourful image with an asymmetric marker (top-left red block)."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack(
        [120 + 80 * np.sin(xs / 37.0), 110 + 60 * np.cos(ys / 23.0), 90 + 50 * np.sin((xs + ys) / 51.0)], axis=-1
    )
    rgb[:40, :60] = (230, 20, 20)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _encode(rgb: np.ndarray, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _exif(orientation=None, gps=False, serial=False, maker_note=False, when=None, make=None, model=None):
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    sub = exif.get_ifd(0x8769)
    if when:
        sub[0x9003] = when
    if serial:
        sub[0xA431] = "SN-0012345"
    if maker_note:
        sub[0x927C] = b"secret maker data"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (52.0, 22.0, 12.0)
        gps_ifd[3] = "E"
        gps_ifd[4] = (4.0, 53.0, 28.0)
    return exif


# --------------------------------------------------------------------------- sources and formats


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "HEIF"])
def test_every_format_decodes_to_rgb(fmt):
    rgb = _test_image()
    kwargs = {"quality": 95} if fmt in ("JPEG", "WEBP", "HEIF") else {}
    data = _encode(rgb, fmt, **kwargs)
    photo = load_photo(data)
    assert photo.rgb.shape == rgb.shape and photo.rgb.dtype == np.uint8
    tolerance = 0 if fmt in ("PNG", "TIFF") else 12
    assert np.abs(photo.rgb.astype(int) - rgb).mean() <= max(tolerance, 0.01)
    assert photo.metadata["format"] == ("HEIF" if fmt == "HEIF" else fmt)
    assert photo.metadata["sha256"] == hashlib.sha256(data).hexdigest()
    assert photo.metadata["original_size"] == [320, 240]


def test_path_bytes_filelike_and_array_agree(tmp_path):
    rgb = _test_image()
    data = _encode(rgb, "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    from_path = load_photo(path)
    from_str = load_photo(str(path))
    from_bytes = load_photo(data)
    from_file = load_photo(io.BytesIO(data))
    with open(path, "rb") as handle:
        from_handle = load_photo(handle)
    from_array = load_photo(rgb)
    for photo in (from_str, from_bytes, from_file, from_handle, from_array):
        assert np.array_equal(photo.rgb, from_path.rgb)
    assert from_path.sha256 == from_bytes.sha256 == from_file.sha256
    assert from_array.metadata["format"] == "array" and len(from_array.sha256) == 64


def test_photo_pixels_are_read_only():
    photo = load_photo(_test_image())
    with pytest.raises(ValueError):
        photo.rgb[0, 0, 0] = 1


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_applied(orientation):
    upright = _test_image(320, 240)
    # Store the pixels the way a camera would for this orientation: inverse op.
    stored = {
        1: upright,
        2: upright[:, ::-1],
        3: upright[::-1, ::-1],
        4: upright[::-1],
        5: upright.transpose(1, 0, 2),
        6: np.rot90(upright, 1),
        7: np.rot90(upright, 2).transpose(1, 0, 2),
        8: np.rot90(upright, -1),
    }[orientation]
    data = _encode(np.ascontiguousarray(stored), "PNG", exif=_exif(orientation=orientation))
    photo = load_photo(data)
    assert photo.rgb.shape == upright.shape
    assert np.array_equal(photo.rgb, upright)
    assert photo.metadata["orientation"] == orientation
    assert photo.metadata["original_size"] == [320, 240]


def test_metadata_from_exif():
    data = _encode(_test_image(), "JPEG", exif=_exif(when="2026:05:04 10:31:02", make="Apple", model="iPhone 15 Pro"))
    photo = load_photo(data)
    assert photo.metadata["captured_at"] == "2026-05-04T10:31:02"
    assert photo.metadata["camera"] == "Apple iPhone 15 Pro"
    bare = load_photo(_encode(_test_image(), "JPEG"))
    assert bare.metadata["captured_at"] is None and bare.metadata["camera"] is None


# --------------------------------------------------------------------------- modes


def test_grayscale_and_palette():
    gray = _test_image()[:, :, 1]
    photo = load_photo(_encode(gray, "PNG"))
    assert np.array_equal(photo.rgb[:, :, 0], gray) and np.array_equal(photo.rgb[:, :, 2], gray)
    palette = Image.fromarray(_test_image()).quantize(64)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    photo = load_photo(buffer.getvalue())
    assert np.array_equal(photo.rgb, np.asarray(palette.convert("RGB")))


def test_alpha_is_composited_on_white():
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., :3] = (200, 40, 40)
    rgba[..., 3] = 255
    rgba[:, 100:, 3] = 0  # right half transparent
    rgba[:50, :100, 3] = 128  # half transparent
    photo = load_photo(_encode(rgba, "PNG"))
    assert photo.metadata["alpha"] == "composited on white"
    assert tuple(photo.rgb[150, 50]) == (200, 40, 40)
    assert tuple(photo.rgb[150, 150]) == (255, 255, 255)
    assert np.allclose(photo.rgb[20, 50], [(200 + 255) / 2, (40 + 255) / 2, (40 + 255) / 2], atol=1.5)
    la = Image.fromarray(rgba).convert("LA")
    buffer = io.BytesIO()
    la.save(buffer, format="PNG")
    photo = load_photo(buffer.getvalue())
    assert tuple(photo.rgb[150, 150]) == (255, 255, 255)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    import cv2

    ramp = np.linspace(0, 65535, 256 * 200).reshape(200, 256).astype(np.uint16)
    gray_path = tmp_path / "g16.png"
    assert cv2.imwrite(str(gray_path), ramp)
    gray = load_photo(gray_path).rgb[:, :, 0].astype(int)
    expected = np.rint(ramp / 257.0)
    assert np.abs(gray - expected).max() <= 1
    assert gray.min() == 0 and gray.max() == 255 and len(np.unique(gray)) > 200
    colour16 = np.stack([ramp, ramp[::-1], np.full_like(ramp, 32896)], axis=-1)
    for suffix in (".png", ".tif"):
        path = tmp_path / f"c16{suffix}"
        assert cv2.imwrite(str(path), colour16[:, :, ::-1])
        rgb = load_photo(path).rgb.astype(int)
        assert np.abs(rgb - np.rint(colour16 / 257.0)).max() <= 1
        assert rgb[..., 0].max() == 255 and rgb[..., 0].min() == 0


def test_cmyk_jpeg_converts_to_correct_rgb():
    rgb = _test_image().astype(np.float64) / 255.0
    k = 1.0 - rgb.max(axis=-1, keepdims=True)  # full grey-component replacement: K > 0
    cmy = (1.0 - rgb - k) / np.maximum(1.0 - k, 1e-6)
    cmyk = np.rint(np.concatenate([cmy, k], axis=-1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(cmyk, mode="CMYK").save(buffer, format="JPEG", quality=98)
    photo = load_photo(buffer.getvalue())
    assert photo.metadata["mode"] == "CMYK"
    error = np.abs(photo.rgb.astype(float) - rgb * 255.0)
    assert error.mean() < 3.0 and np.percentile(error, 99) < 12


def _matrix_trc_profile(primaries_xyz: np.ndarray, gamma: float, description: str) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma TRC), for tests."""

    def s15(v):
        return struct.pack(">i", int(round(v * 65536)))

    def xyz_tag(xyz):
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in xyz)

    def curve(g):
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(round(g * 256)))

    def desc(text):
        raw = text.encode("ascii") + b"\0"
        return b"desc" + b"\0" * 4 + struct.pack(">I", len(raw)) + raw + b"\0" * 12 + b"\0" * 67

    tags = [
        (b"desc", desc(description)),
        (b"wtpt", xyz_tag([0.9642, 1.0, 0.8249])),
        (b"rXYZ", xyz_tag(primaries_xyz[:, 0])),
        (b"gXYZ", xyz_tag(primaries_xyz[:, 1])),
        (b"bXYZ", xyz_tag(primaries_xyz[:, 2])),
        (b"rTRC", curve(gamma)),
        (b"gTRC", curve(gamma)),
        (b"bTRC", curve(gamma)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while len(body) % 4:
            body += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
    header += b"acspAPPL" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
    header += s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4
    header = header.ljust(128, b"\0")
    return header + struct.pack(">I", len(tags)) + table + data


def test_non_srgb_profile_is_converted_to_srgb():
    # A wide-gamut profile (Display-P3-like primaries, D50-adapted) embedded in a JPEG.
    p3_d50 = np.array(
        [[0.5151, 0.2920, 0.1571], [0.2412, 0.6922, 0.0666], [-0.0011, 0.0419, 0.7841]]
    )
    profile = _matrix_trc_profile(p3_d50, 2.2, "Test wide-gamut RGB")
    saturated = np.zeros((200, 200, 3), np.uint8)
    saturated[..., 1] = 200  # pure P3 green is outside sRGB: red must go negative -> clipped
    saturated[..., 0] = 60
    tagged = load_photo(_encode(saturated, "JPEG", quality=100, icc_profile=profile))
    untagged = load_photo(_encode(saturated, "JPEG", quality=100))
    assert "converted" in tagged.metadata["colour_profile"]
    assert untagged.metadata["colour_profile"] == "assumed sRGB"
    assert abs(int(tagged.rgb[100, 100, 0]) - int(untagged.rgb[100, 100, 0])) > 20
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    same = load_photo(_encode(saturated, "JPEG", quality=100, icc_profile=srgb))
    assert np.array_equal(same.rgb, untagged.rgb)


# --------------------------------------------------------------------------- bad input


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def _bad_inputs(tmp_path):
    good_jpeg = _encode(_test_image(640, 480), "JPEG", quality=90)
    big_jpeg = _encode(np.ascontiguousarray(np.tile(_test_image(640, 480), (5, 6, 1))), "JPEG", quality=90)
    text = tmp_path / "notes.jpg"
    text.write_text("Patient notes: not a photo at all.\n" * 20)
    return {
        "zero bytes": b"",
        "random bytes": np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "truncated jpeg": good_jpeg[: len(good_jpeg) * 6 // 10],
        "truncated large jpeg": big_jpeg[: len(big_jpeg) // 2],
        "truncated png": _encode(_test_image(), "PNG")[:3000],
        "text named .jpg": text,
        "bomb beyond our limit": _png_header_only(12_000, 12_000),
        "bomb beyond pillow's limit": _png_header_only(100_000, 100_000),
        "too small": _encode(_test_image(100, 60), "PNG"),
        "gif": _encode(_test_image(), "GIF"),
        "missing file": tmp_path / "nope.jpg",
        "a directory": tmp_path,
        "wrong array dtype": np.zeros((300, 300, 3), np.float32),
        "wrong array shape": np.zeros((300, 300), np.uint8),
        "tiny array": np.zeros((20, 300, 3), np.uint8),
        "not a source": 12345,
        "text file object": io.StringIO("abc"),
    }


def test_bad_inputs_raise_photoerror_quickly(tmp_path):
    for name, source in _bad_inputs(tmp_path).items():
        started = time.perf_counter()
        with pytest.raises(PhotoError) as info:
            load_photo(source)
        elapsed = time.perf_counter() - started
        assert type(info.value) is PhotoError, name
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        assert len(message) > 15 and "Traceback" not in message, (name, message)
        assert elapsed < 0.5, f"{name} took {elapsed:.2f}s"


def test_bomb_message_names_the_limit():
    with pytest.raises(PhotoError, match="limit is 120 MP"):
        load_photo(_png_header_only(12_000, 12_000))


def test_too_small_message_names_the_minimum():
    with pytest.raises(PhotoError, match=f"at least {photo_module.MIN_SIDE} pixels"):
        load_photo(_encode(_test_image(100, 60), "PNG"))


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(_encode(_test_image(), "PNG"))
    monkeypatch.setattr(photo_module, "MAX_FILE_BYTES", 1000)
    with pytest.raises(PhotoError, match="limit"):
        load_photo(path)
    with pytest.raises(PhotoError, match="limit"):
        load_photo(path.read_bytes())


# --------------------------------------------------------------------------- large JPEGs


def test_large_jpeg_decodes_lazily_and_exactly():
    big = np.ascontiguousarray(np.tile(_test_image(640, 480), (7, 6, 1)))  # 3840 x 3360
    data = _encode(big, "JPEG", quality=92, exif=_exif(orientation=6))
    photo = load_photo(data)
    assert photo.size == (3360, 3840)  # orientation 6 swaps width and height
    working = photo.resized(1024)
    assert max(working.shape[:2]) == 1024
    full = photo.rgb
    reference = np.rot90(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), -1)
    assert np.array_equal(full, reference)
    # The working image from the reduced decode matches the one from full pixels.
    from_full = photo_module.resize_long_side(full, 1024)
    assert np.abs(working.astype(int) - from_full).mean() < 1.5


def test_photo_survives_pickling():
    import pickle

    big = np.ascontiguousarray(np.tile(_test_image(640, 480), (7, 6, 1)))
    photo = load_photo(_encode(big, "JPEG", quality=90))
    clone = pickle.loads(pickle.dumps(photo))
    assert clone.sha256 == photo.sha256
    assert np.array_equal(clone.rgb, photo.rgb)


# --------------------------------------------------------------------------- saving


def test_save_photo_strips_identifying_metadata(tmp_path):
    upright = _test_image(320, 240)
    stored = np.ascontiguousarray(np.rot90(upright, 1))
    source = tmp_path / "from_phone.jpg"
    Image.fromarray(stored).save(
        source,
        format="JPEG",
        quality=95,
        exif=_exif(orientation=6, gps=True, serial=True, maker_note=True, when="2026:05:04 10:31:02", make="Apple"),
    )
    original = Image.open(source).getexif()
    assert original.get_ifd(0x8825), "the test photo must carry GPS to begin with"
    photo = load_photo(source)
    out = save_photo(photo, tmp_path / "clean.jpg")
    written = Image.open(out)
    exif = written.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(0x8825)
    assert b"SN-0012345" not in out.read_bytes()
    assert b"secret maker data" not in out.read_bytes()
    assert b"Exif" not in out.read_bytes()[:200]
    assert "icc_profile" not in written.info
    reread = load_photo(out)
    assert reread.size == (320, 240)  # orientation baked in
    assert reread.metadata["orientation"] == 1
    assert np.abs(reread.rgb.astype(int) - photo.rgb).mean() < 3
    for suffix in (".png", ".tif", ".webp"):
        path = save_photo(photo, tmp_path / f"clean{suffix}")
        tags = Image.open(path).getexif()
        # TIFF keeps its structural tags (size, compression); nothing identifying.
        assert not {0x010F, 0x0110, 0x8769, 0x8825, 0x0132} & set(tags), suffix
    assert photo_to_bytes(photo, "PNG")[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(PhotoError):
        save_photo(photo, tmp_path / "clean.gif")


def test_save_photo_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"previous content")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(photo_module.os, "replace", boom)
    with pytest.raises(OSError):
        save_photo(_test_image(), target)
    assert target.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


# --------------------------------------------------------------------------- real photos


def test_every_real_photo_loads(real_photos_dir):
    paths = sorted(real_photos_dir.rglob("*.png"))
    assert len(paths) >= 20
    for path in paths:
        photo = load_photo(path)
        assert photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
        assert photo.metadata["format"] == "PNG"
        if Image.open(path).mode == "RGBA":
            assert photo.metadata["alpha"] in ("composited on white", "fully opaque alpha dropped")


def test_public_api():
    assert skintrack.load_photo is load_photo
    assert issubclass(skintrack.PhotoError, ValueError)
    assert skintrack.__version__
    assert REAL_PHOTOS.name == "real_photos"


def test_atomic_write_syncs_the_file_before_the_rename_and_then_its_folder(tmp_path, monkeypatch):
    """A crash right after atomic_write must find either the old file or the whole new one: the bytes
    are fsynced before the rename, and the folder after it (so the rename itself is durable)."""
    import os

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        info = os.fstat(fd)
        events.append(("fsync", "dir" if os.path.stat.S_ISDIR(info.st_mode) else "file", info.st_ino))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.stat(src).st_ino))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "sub" / "scores.csv"
    photo_module.atomic_write(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    file_inode, folder_inode = target.stat().st_ino, target.parent.stat().st_ino
    assert events == [("fsync", "file", file_inode), ("replace", file_inode), ("fsync", "dir", folder_inode)]
