"""Hostile inputs built by the tests (and bench/hostile_bench.py): decompression bombs and peak memory.

The bombs are written by hand, streaming, so building a 120-megapixel PNG takes
a few megabytes of memory and under a second: rows of zeros compress to almost
nothing, which is exactly what makes them bombs.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, *, color_type: int = 6, bit_depth: int = 8) -> bytes:
    """A PNG of ``width x height`` zero pixels (colour type 6: RGBA, 2: RGB, 0: gray; depth 8 or 16)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = b"\x00" * (1 + width * channels * bit_depth // 8)  # filter byte + samples
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def tiff_float_bomb(width: int, height: int, rows_per_strip: int = 64) -> bytes:
    """A little-endian 32-bit float grayscale TIFF of zeros, deflate-compressed strips."""
    strips = []
    for top in range(0, height, rows_per_strip):
        rows = min(rows_per_strip, height - top)
        strips.append(zlib.compress(b"\x00" * (width * 4 * rows), 9))
    count = len(strips)
    entries = 11
    ifd_size = 2 + entries * 12 + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * count
    data_at = counts_at + 4 * count
    offsets, position = [], data_at
    for strip in strips:
        offsets.append(position)
        position += len(strip)

    def entry(tag, kind, n, value):
        return struct.pack("<HHI", tag, kind, n) + struct.pack("<I", value)

    ifd = struct.pack("<H", entries) + b"".join(
        [
            entry(256, 4, 1, width),
            entry(257, 4, 1, height),
            entry(258, 3, 1, 32),  # bits per sample
            entry(259, 3, 1, 8),  # deflate
            entry(262, 3, 1, 1),  # black is zero
            entry(273, 4, count, offsets_at if count > 1 else offsets[0]),
            entry(277, 3, 1, 1),  # samples per pixel
            entry(278, 4, 1, rows_per_strip),
            entry(279, 4, count, counts_at if count > 1 else len(strips[0])),
            entry(284, 3, 1, 1),  # chunky
            entry(339, 3, 1, 3),  # IEEE float
        ]
    ) + struct.pack("<I", 0)
    table = struct.pack(f"<{count}I", *offsets) + struct.pack(f"<{count}I", *(len(s) for s in strips))
    return b"II*\x00" + struct.pack("<I", 8) + ifd + table + b"".join(strips)


PEAK_SCRIPT = """
import json, sys
from skintrack.intake.photo import PhotoError, load_photo
results = {}
for path in sys.argv[1:]:
    try:
        photo = load_photo(path)
        results[path] = list(photo.rgb.shape)
        del photo
    except PhotoError as exc:
        results[path] = "refused: " + str(exc)
peak_kib = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])
print(json.dumps({"results": results, "peak_bytes": peak_kib * 1024}))
"""


def decode_in_subprocess(paths: list[Path], script: str = PEAK_SCRIPT) -> dict:
    """Decode each photo in a fresh Python process; returns ``{"results": {path: shape or refusal}, "peak_bytes"}``.

    Peak memory is the process's VmHWM (Linux), measured at its end.
    """
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- archives


def zip_of(members: dict[str, bytes | int], *, compression: int | None = None) -> bytes:
    """A zip holding ``members``: bytes as given, or an int ``n`` for ``n`` zero bytes (streamed, deflated)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED if compression is None else compression) as archive:
        for name, content in members.items():
            if isinstance(content, int):
                with archive.open(name, "w", force_zip64=content >= zipfile.ZIP64_LIMIT) as member:
                    block = b"\x00" * 2**20
                    for start in range(0, content, len(block)):
                        member.write(block[: min(len(block), content - start)])
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def zip_bomb(member_bytes: int) -> bytes:
    """A patient archive whose one photo is ``member_bytes`` of zeros (deflated about 1000:1)."""
    name = "ab" * 32 + ".jpg"
    records = {
        "format": "skintrack-patient-archive/1",
        "patient": {"id": "11111111-1111-1111-1111-111111111111", "code": "BOMB", "display_name": "Bomb"},
        "areas": [],
        "sessions": [],
        "photos": [{"id": "22222222-2222-2222-2222-222222222222", "file_name": name}],
        "scores": [],
    }
    return zip_of({"records.json": json.dumps(records).encode(), f"photos/{name}": member_bytes})


def jpeg_scan_bomb(width: int, height: int, scans: int) -> bytes:
    """A progressive JPEG of one grey ``width x height`` image whose last refinement scan is repeated until it has
    ``scans`` scans: a small file for which a decoder makes one pass over every coefficient per scan."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    last, eoi = data.rindex(b"\xff\xda"), data.rindex(b"\xff\xd9")
    have = data.count(b"\xff\xda")  # entropy-coded data of a flat image holds no 0xFF 0xDA
    return data[:eoi] + data[last:eoi] * max(0, scans - have) + data[eoi:]
