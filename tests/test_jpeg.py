"""JPEG at the marker level (skintrack/intake/jpeg.py): hidden metadata in MPO and trailing data, hostile headers.

Every hostile file is built here: an MPO whose second image carries GPS (phones write these for HDR
gain maps), a JPEG with EXIF appended after its end, segments hidden between progressive scans, and
headers with thousands of EXIF segments.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from skintrack import PhotoError, load_photo
from skintrack.intake import jpeg
from skintrack.intake.photo import clean_bytes, strip_jpeg_metadata

SERIAL = "SN-0012345-HIDDEN"
GPS_LATITUDE = (52.0, 22.0, 12.0)


def _image(width=320, height=240, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)


def _exif_with_gps(make="Apple") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # body serial number
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", GPS_LATITUDE
    return exif.tobytes()


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def _mpo() -> bytes:
    """Two-frame MPO as a phone writes it: each frame with its own EXIF, the second with GPS and a serial."""
    first, second = _image(seed=1), _image(160, 120, seed=2)
    second.encoderinfo = {"exif": _exif_with_gps("Google")}
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=_exif_with_gps())
    return buffer.getvalue()


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _identifying(data: bytes) -> list[str]:
    """What identifying content a JPEG's bytes still hold."""
    found = []
    if SERIAL.encode() in data:
        found.append("serial number")
    if b"Exif\x00\x00" in data:
        found.append("EXIF")
    if b"Apple" in data or b"Google" in data:
        found.append("camera make")
    if b"MPF\x00" in data:
        found.append("MPF index")
    if data.count(b"\xff\xd8") > 1:
        found.append("a second image")
    return found


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_mpo_keeps_only_the_first_image_and_no_exif_of_any_frame():
    data = _mpo()
    assert Image.open(io.BytesIO(data)).format == "MPO" and Image.open(io.BytesIO(data)).n_frames == 2
    assert set(_identifying(data)) >= {"serial number", "EXIF", "a second image", "MPF index"}
    clean = strip_jpeg_metadata(data)
    assert _identifying(clean) == []
    assert Image.open(io.BytesIO(clean)).format == "JPEG"
    assert np.array_equal(_pixels(clean), _pixels(data))  # the first image, bit for bit


def test_data_appended_after_the_image_is_dropped():
    image = _jpeg(_image())
    hidden = _app1(b"Exif\x00\x00" + _exif_with_gps())
    for appended in (hidden, b"\xff\xd8" + hidden + b"\xff\xd9", b"trailing junk " + hidden):
        data = image + appended
        assert "serial number" in _identifying(data)
        clean = strip_jpeg_metadata(data)
        assert _identifying(clean) == [] and clean == image
        assert np.array_equal(_pixels(clean), _pixels(image))


def test_segments_hidden_between_progressive_scans_are_dropped_and_pixels_kept():
    data = _jpeg(_image(), progressive=True, exif=_exif_with_gps())
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    comment = b"\xff\xfe" + struct.pack(">H", len(SERIAL) + 2) + SERIAL.encode()
    hostile = data[:second_scan] + comment + _app1(b"Exif\x00\x00" + _exif_with_gps()) + data[second_scan:]
    assert np.array_equal(_pixels(hostile), _pixels(data))  # decoders skip them...
    clean = strip_jpeg_metadata(hostile)
    assert _identifying(clean) == []  # ...and so does the store
    assert np.array_equal(_pixels(clean), _pixels(data))


def test_restart_markers_fill_bytes_and_colour_segments_survive():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _jpeg(_image(640, 480), restart_marker_blocks=4, icc_profile=profile, exif=_exif_with_gps())
    sos = data.index(b"\xff\xda")
    padded = data[:sos] + b"\xff\xff" + data[sos:]  # a fill byte before a marker is legal
    clean = strip_jpeg_metadata(padded)
    assert _identifying(clean) == []
    assert Image.open(io.BytesIO(clean)).info.get("icc_profile") == profile
    assert np.array_equal(_pixels(clean), _pixels(data))


def test_stored_bytes_of_an_mpo_or_trailing_exif_upload_hold_nothing_identifying():
    for data in (_mpo(), _jpeg(_image()) + _app1(b"Exif\x00\x00" + _exif_with_gps())):
        photo = load_photo(data)
        clean, suffix = clean_bytes(photo, data)
        assert suffix == ".jpg" and _identifying(clean) == []


def test_damaged_jpegs_are_refused_with_a_photo_error():
    image = _jpeg(_image())
    for bad in (b"not a jpeg", image[: image.index(b"\xff\xda")], b"\xff\xd8\xff\xe1\xff\xff"):
        with pytest.raises(PhotoError):
            strip_jpeg_metadata(bad)


# --------------------------------------------------------------------------- hostile headers


def _with_segments(count: int, size: int, payload_prefix: bytes = b"Exif\x00\x00") -> bytes:
    image = _jpeg(_image(256, 256))
    segment = _app1(payload_prefix + b"\x00" * (size - len(payload_prefix)))
    return image[:2] + segment * count + image[2:]


@pytest.mark.parametrize(
    "count, size, prefix, reason",
    [
        (1000, 65_000, b"Exif\x00\x00", "EXIF"),  # 62 MiB of EXIF segments: quadratic in Pillow
        (jpeg.MAX_METADATA_SEGMENTS + 1, 16, b"http://ns.adobe.com/xap/1.0/\x00", "metadata segments"),
        (jpeg.MAX_METADATA_BYTES // 65_000 + 2, 65_000, b"XMP\x00", "MiB of metadata"),
    ],
)
def test_hostile_metadata_is_refused_before_the_decoder_parses_it(count, size, prefix, reason, monkeypatch):
    data = _with_segments(count, size, prefix)
    parsed = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: parsed.append(1))
    with pytest.raises(PhotoError, match=reason):
        load_photo(data)
    assert parsed == []  # refused before Pillow saw it


def test_ordinary_phone_metadata_is_accepted():
    # EXIF + XMP + a 4-piece ICC profile + 150 pieces of extended XMP (a portrait photo's depth map).
    data = _with_segments(150, 60_000, b"http://ns.adobe.com/xmp/extension/\x00")
    image = Image.open(io.BytesIO(data))
    assert image.size == (256, 256)
    header = jpeg.read_header(data)
    assert header.metadata_segments >= 150 and (header.width, header.height) == (256, 256)
    assert load_photo(data).size == (256, 256)


def test_header_facts_for_decoder_memory():
    baseline = jpeg.read_header(_jpeg(_image(640, 480), subsampling=2))
    assert not baseline.progressive and baseline.coefficient_bytes() == 0
    progressive = jpeg.read_header(_jpeg(_image(640, 480), progressive=True, subsampling=0))
    assert progressive.progressive and [c[1:] for c in progressive.components] == [(1, 1)] * 3
    assert progressive.coefficient_bytes() == 3 * (640 // 8) * (480 // 8) * 64 * 2
    subsampled = jpeg.read_header(_jpeg(_image(640, 480), progressive=True, subsampling=2))
    assert subsampled.coefficient_bytes() == progressive.coefficient_bytes() // 2


# --------------------------------------------------------------------------- issue 22: kept segments, scans

HIDDEN = b"Zoe Secretname, 12 Elm Street"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def test_bytes_appended_inside_kept_colour_segments_do_not_survive():
    """JFIF, Adobe and ICC segments are kept for colour, but rebuilt from their fields: what was appended
    inside them (or between an ICC profile's tags) is gone from the store, archives and DICOM."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _jpeg(_image(640, 480), icc_profile=profile)
    # JFIF with a thumbnail claim and text after its fields; Adobe with text after its 12 bytes.
    app0 = data.index(b"\xff\xe0")
    jfif_payload = data[app0 + 4 : app0 + 4 + 14] + HIDDEN
    adobe = _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + HIDDEN)
    # The ICC chunk with text after the profile's declared end.
    app2 = data.index(b"\xff\xe2")
    length = struct.unpack(">H", data[app2 + 2 : app2 + 4])[0]
    icc_payload = data[app2 + 4 : app2 + 2 + length] + HIDDEN
    hostile = (data[:app0] + _segment(0xE0, jfif_payload) + adobe + data[app0 + 18 : app2]
               + _segment(0xE2, icc_payload) + data[app2 + 2 + length :])  # fmt: skip
    assert hostile.count(HIDDEN) == 3 and np.array_equal(_pixels(hostile), _pixels(data))
    clean = strip_jpeg_metadata(hostile)
    assert HIDDEN not in clean
    image = Image.open(io.BytesIO(clean))
    assert image.info.get("icc_profile") == profile  # the colour facts are all still there
    assert image.info.get("adobe") is not None and image.info.get("jfif_density") == (1, 1)
    assert np.array_equal(_pixels(clean), _pixels(hostile))


def test_bytes_hidden_between_an_icc_profiles_tags_are_dropped():
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile = bytearray(source)
    count = struct.unpack(">I", profile[128:132])[0]
    # Move every tag's data back by len(HIDDEN) and put the text in the gap before them.
    table_end = 132 + 12 * count
    for i in range(count):
        at = 132 + 12 * i + 4
        offset = struct.unpack(">I", profile[at : at + 4])[0]
        profile[at : at + 4] = struct.pack(">I", offset + 32)
    padded = HIDDEN + bytes(32 - len(HIDDEN))
    hidden = bytes(profile[:table_end]) + padded + bytes(profile[table_end:])
    hidden = struct.pack(">I", len(hidden)) + hidden[4:]
    ImageCms.ImageCmsProfile(io.BytesIO(hidden))  # still a valid profile
    rebuilt = jpeg.rebuild_icc(hidden)
    assert HIDDEN not in rebuilt
    assert rebuilt == source  # exactly the profile before the text was hidden in it
    original = ImageCms.ImageCmsProfile(io.BytesIO(source))
    again = ImageCms.ImageCmsProfile(io.BytesIO(rebuilt))
    assert ImageCms.getProfileDescription(again) == ImageCms.getProfileDescription(original)
    clean = strip_jpeg_metadata(_jpeg(_image(), icc_profile=hidden))
    assert HIDDEN not in clean


def _many_scans(scans: int, width=64, height=48) -> bytes:
    """A progressive JPEG whose last refinement scan is repeated: decoders make a pass for each."""
    data = _jpeg(_image(width, height), progressive=True)
    last = data.rindex(b"\xff\xda")
    eoi = data.rindex(b"\xff\xd9")
    scan = data[last:eoi]
    return data[:eoi] + scan * (scans - jpeg.read_header(data).scans) + data[eoi:]


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding(tmp_path):
    """Issue 22 item 7: a small file with thousands of scans decoded for minutes and was stored."""
    import time

    ordinary = _jpeg(_image(640, 480), progressive=True)
    assert 1 < jpeg.read_header(ordinary).scans <= 20
    load_photo(ordinary)  # an ordinary progressive JPEG is fine
    assert jpeg.read_header(_many_scans(jpeg.MAX_SCANS)).scans == jpeg.MAX_SCANS
    hostile = _many_scans(5000)
    started = time.perf_counter()
    with pytest.raises(PhotoError, match="scans"):
        load_photo(hostile)
    assert time.perf_counter() - started < 2.0
    with pytest.raises(jpeg.HostileHeader):
        jpeg.read_header(hostile)
