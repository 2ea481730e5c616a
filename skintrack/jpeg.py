"""JPEG at the marker level: read the header, strip identifying metadata, refuse hostile headers.

A JPEG file is a sequence of marker segments (ITU-T T.81, Annex B): ``SOI``,
then tables, the frame header (``SOF``) and application segments (``APPn``:
EXIF, XMP, ICC profile, MPF, ...), then one or more scans — a ``SOS`` header
followed by entropy-coded data — and ``EOI``. Whatever follows ``EOI`` is not
part of the image: phones append a second image there (MPO / Multi-Picture
Format, e.g. the HDR gain map of Android *Ultra HDR* photos, each with its own
EXIF), and anything can be appended by hand.

:func:`strip_metadata` keeps only the first image and, of the metadata, only
what colour needs; :func:`read_header` reads the frame facts a decoder's memory
depends on and refuses headers no camera writes (:data:`MAX_METADATA_SEGMENTS`,
:data:`MAX_METADATA_BYTES`, :data:`MAX_EXIF_SEGMENTS`) before any decoder sees
them: Pillow concatenates repeated EXIF segments one by one, which is quadratic
in their number.

References
----------
ITU-T Recommendation T.81 (1992), *Digital compression and coding of
continuous-tone still images*, Annex B. CIPA DC-007-2009, *Multi-Picture
Format*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

__all__ = [
    "MAX_EXIF_SEGMENTS",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_SEGMENTS",
    "HostileHeader",
    "JpegError",
    "JpegHeader",
    "read_header",
    "strip_metadata",
]

#: Most application (APPn) and comment segments accepted in one JPEG. Phones
#: write fewer than 20; a portrait photo with an embedded depth map (extended
#: XMP in 64 KB pieces) about 150.
MAX_METADATA_SEGMENTS = 512
#: Most bytes of application and comment segments accepted in one JPEG.
MAX_METADATA_BYTES = 24 * 2**20
#: Most EXIF segments accepted: the EXIF standard allows one.
MAX_EXIF_SEGMENTS = 4

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
#: Markers that stand alone (no length field): RST0-7, SOI, EOI, TEM.
_STANDALONE = {*range(0xD0, 0xD8), _SOI, _EOI, 0x01}
#: Frame headers: every SOFn except DHT (C4), JPG (C8) and DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
#: Within entropy-coded data a 0xFF is followed by 0x00 (stuffing), RSTn or a
#: fill 0xFF; any other byte after it starts a marker.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: Application segments kept by :func:`strip_metadata`, by marker and the
#: identifier their payload starts with: the JFIF header, the ICC colour
#: profile (colour, not identity) and Adobe's colour transform.
_KEEP_APP = {0xE0: (b"JFIF\x00",), 0xE2: (b"ICC_PROFILE\x00",), 0xEE: (b"Adobe",)}


class JpegError(ValueError):
    """The bytes are not a JPEG this module can walk; the message says why."""


class HostileHeader(JpegError):
    """The header is well formed but carries more metadata than any camera writes."""


@dataclass
class JpegHeader:
    """What the header of a JPEG's first image says.

    Attributes
    ----------
    width, height : int
        From the frame header (``SOF``), in stored (not EXIF-rotated) orientation.
    components : list of (int, int, int)
        ``(id, horizontal, vertical)`` sampling factor of each component.
    progressive : bool
        Progressive frame: decoders keep every DCT coefficient of the image.
    multi_scan : bool
        The first scan holds fewer components than the frame, so more scans
        follow and decoders also keep every coefficient.
    metadata_segments, metadata_bytes, exif_segments : int
        Count and size of the application and comment segments.
    """

    width: int = 0
    height: int = 0
    components: list[tuple[int, int, int]] = field(default_factory=list)
    progressive: bool = False
    multi_scan: bool = False
    metadata_segments: int = 0
    metadata_bytes: int = 0
    exif_segments: int = 0

    def coefficient_bytes(self) -> int:
        """Bytes a decoder needs to hold every DCT coefficient (progressive or multi-scan), else 0.

        Each component ``c`` has ``ceil(W * h_c / h_max / 8) * ceil(H * v_c / v_max / 8)``
        blocks of 64 coefficients of 2 bytes (libjpeg's ``JCOEF``).
        """
        if not (self.progressive or self.multi_scan) or not self.components:
            return 0
        h_max = max(h for _, h, _ in self.components) or 1
        v_max = max(v for _, _, v in self.components) or 1
        total = 0
        for _, h, v in self.components:
            blocks_x = -(-self.width * h // (h_max * 8))
            blocks_y = -(-self.height * v // (v_max * 8))
            total += blocks_x * blocks_y * 64 * 2
        return total


def _tokens(data: bytes) -> Iterator[tuple[str, int, int, int]]:
    """Walk the first image: ``(kind, marker, start, end)`` for each marker segment and scan.

    ``kind`` is "segment" (a length-bearing marker segment, ``data[start:end]``
    including its marker), "scan" (entropy-coded data), "standalone" or "eoi".
    Bytes between segments that are not a marker (junk some writers leave) are
    skipped, as decoders do. Stops after ``EOI``; a file that ends without one
    just ends.
    """
    if data[:2] != b"\xff\xd8":
        raise JpegError("Not a JPEG file.")
    position, length = 2, len(data)
    while position < length:
        if data[position] != 0xFF:
            position += 1  # junk between segments
            continue
        if position + 1 >= length:
            return
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == _EOI:
            yield "eoi", marker, position, position + 2
            return
        if marker in _STANDALONE:
            yield "standalone", marker, position, position + 2
            position += 2
            continue
        if position + 4 > length:
            raise JpegError("Damaged JPEG: a segment runs past the end of the file.")
        size = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + size
        if size < 2 or end > length:
            raise JpegError("Damaged JPEG: a segment runs past the end of the file.")
        yield "segment", marker, position, end
        position = end
        if marker == _SOS:
            found = _MARKER_IN_SCAN.search(data, position)
            scan_end = found.start() if found else length
            yield "scan", marker, position, scan_end
            position = scan_end


def _is_metadata(marker: int) -> bool:
    return 0xE0 <= marker <= 0xEF or marker == _COM


def read_header(data: bytes) -> JpegHeader:
    """Read the first image's header (up to its first scan) and refuse hostile ones.

    Raises
    ------
    JpegError
        Not a JPEG, or damaged.
    HostileHeader
        More than :data:`MAX_METADATA_SEGMENTS` application or
        comment segments, more than :data:`MAX_METADATA_BYTES` of them, or
        more than :data:`MAX_EXIF_SEGMENTS` EXIF segments. Checked as the
        header is read, so a hostile file is refused after reading at most the
        allowed amount.
    """
    header = JpegHeader()
    for kind, marker, start, end in _tokens(data):
        if kind != "segment":
            if kind == "eoi":
                break
            continue
        payload = data[start + 4 : end]
        if _is_metadata(marker):
            header.metadata_segments += 1
            header.metadata_bytes += end - start
            if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
                header.exif_segments += 1
            if header.metadata_segments > MAX_METADATA_SEGMENTS:
                raise HostileHeader(
                    f"The JPEG carries more than {MAX_METADATA_SEGMENTS} metadata segments; no camera writes that many."
                )
            if header.metadata_bytes > MAX_METADATA_BYTES:
                raise HostileHeader(
                    f"The JPEG carries more than {MAX_METADATA_BYTES / 2**20:.0f} MiB of metadata; refused."
                )
            if header.exif_segments > MAX_EXIF_SEGMENTS:
                raise HostileHeader(
                    f"The JPEG carries more than {MAX_EXIF_SEGMENTS} EXIF blocks (the standard allows one); refused."
                )
        elif marker in _SOF and len(payload) >= 6:
            header.height = int.from_bytes(payload[1:3], "big")
            header.width = int.from_bytes(payload[3:5], "big")
            count = payload[5]
            header.progressive = marker in _PROGRESSIVE_SOF
            header.components = [
                (payload[6 + 3 * i], payload[7 + 3 * i] >> 4, payload[7 + 3 * i] & 0x0F)
                for i in range(count)
                if 7 + 3 * i < len(payload)
            ]
        elif marker == _SOS:
            if payload and header.components and payload[0] < len(header.components):
                header.multi_scan = True
            break
    return header


def strip_metadata(data: bytes) -> bytes:
    """The first image of a JPEG without identifying metadata, its compressed data untouched.

    Keeps every table, frame and scan of the first image; of the application
    segments only the JFIF header, the ICC profile and Adobe's colour
    transform. Drops EXIF and XMP (GPS, serial numbers, maker notes, capture
    time), MPF, IPTC, comments, any segment hidden between scans, and
    everything after the first image's ``EOI`` (an MPO's further images with
    their own EXIF, appended data). The pixels decode exactly as before.

    Raises
    ------
    JpegError
        If ``data`` is not a well-formed JPEG with image data.
    """
    out = bytearray(b"\xff\xd8")
    scans = 0
    for kind, marker, start, end in _tokens(data):
        if kind == "segment" and _is_metadata(marker):
            identifiers = _KEEP_APP.get(marker, ())
            if not any(data[start + 4 : end].startswith(prefix) for prefix in identifiers):
                continue
        elif kind == "standalone" and marker == _SOI:
            raise JpegError("Damaged JPEG: a second start-of-image marker inside the image.")
        out += data[start:end]
        scans += kind == "scan"
    if not scans:
        raise JpegError("Damaged JPEG: no image data found.")
    if not out.endswith(b"\xff\xd9"):
        out += b"\xff\xd9"
    return bytes(out)
