"""JPEG at the marker level: read the header, strip identifying metadata, refuse hostile headers.

A JPEG file is a sequence of marker segments (ITU-T T.81, Annex B): ``SOI``,
then tables, the frame header (``SOF``) and application segments (``APPn``:
EXIF, XMP, ICC profile, MPF, ...), then one or more scans — a ``SOS`` header
followed by entropy-coded data — and ``EOI``. Whatever follows ``EOI`` is not
part of the image: phones append a second image there (MPO / Multi-Picture
Format, e.g. the HDR gain map of Android *Ultra HDR* photos, each with its own
EXIF), and anything can be appended by hand.

:func:`strip_metadata` keeps only the first image and, of the metadata, only
what colour needs, rebuilt from its parsed fields (:func:`rebuild_icc`), so
nothing appended inside a kept segment survives; :func:`read_header` reads the
frame facts a decoder's memory depends on and refuses headers no camera writes
(:data:`MAX_METADATA_SEGMENTS`, :data:`MAX_METADATA_BYTES`,
:data:`MAX_EXIF_SEGMENTS`, :data:`MAX_SCANS`) before any decoder sees them:
Pillow concatenates repeated EXIF segments one by one, which is quadratic in
their number, and libjpeg makes a pass over every DCT coefficient of the image
for each scan of a progressive JPEG.

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
    "MAX_SCANS",
    "HostileHeader",
    "JpegError",
    "JpegHeader",
    "read_header",
    "rebuild_icc",
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
#: Most scans accepted in one image. Cameras write one (baseline); progressive encoders
#: write about 10 (libjpeg's default script) and at most a few dozen with custom scripts.
#: Each scan costs the decoder a pass over all of the image's coefficients: a 586 KiB
#: 8000 x 8000 file with thousands of scans took 72 s to decode.
MAX_SCANS = 100

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
#: Markers that stand alone (no length field): RST0-7, SOI, EOI, TEM.
_STANDALONE = {*range(0xD0, 0xD8), _SOI, _EOI, 0x01}
#: Frame headers: every SOFn except DHT (C4), JPG (C8) and DAC (CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
#: Within entropy-coded data a 0xFF is followed by 0x00 (stuffing), RSTn or a
#: fill 0xFF; any other byte after it starts a marker.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Application segments :func:`strip_metadata` keeps, each rebuilt from its fields (see _rebuild_app): the JFIF
# header, the ICC colour profile (colour, not identity) and Adobe's colour transform.


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
    scans : int
        Scans (``SOS`` segments) of the first image.
    """

    width: int = 0
    height: int = 0
    components: list[tuple[int, int, int]] = field(default_factory=list)
    progressive: bool = False
    multi_scan: bool = False
    metadata_segments: int = 0
    metadata_bytes: int = 0
    exif_segments: int = 0
    scans: int = 0

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
    """Read the first image's header, count its scans, and refuse hostile ones.

    Raises
    ------
    JpegError
        Not a JPEG, or damaged.
    HostileHeader
        More than :data:`MAX_METADATA_SEGMENTS` application or
        comment segments, more than :data:`MAX_METADATA_BYTES` of them, or
        more than :data:`MAX_EXIF_SEGMENTS` EXIF segments, or more than
        :data:`MAX_SCANS` scans. Checked as the file is walked, so a hostile
        file is refused after reading at most the allowed amount.
    """
    header = JpegHeader()
    first_scan = True
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
            header.scans += 1
            if header.scans > MAX_SCANS:
                raise HostileHeader(
                    f"The JPEG has more than {MAX_SCANS} scans (progressive passes); no camera or editor writes "
                    "that many, and each one costs a pass over the whole image. Save it again as an ordinary JPEG."
                )
            if first_scan and payload and header.components and payload[0] < len(header.components):
                header.multi_scan = True
            first_scan = False
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
    icc_chunks: list[bytes] = []
    icc_at = None
    for kind, marker, start, end in _tokens(data):
        if kind == "segment" and _is_metadata(marker):
            payload = data[start + 4 : end]
            if marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
                if icc_at is None:
                    icc_at = len(out)  # the profile goes back where its first chunk was
                icc_chunks.append(payload)
                continue
            rebuilt = _rebuild_app(marker, payload)
            if rebuilt is not None:
                out += rebuilt
            continue
        if kind == "standalone" and marker == _SOI:
            raise JpegError("Damaged JPEG: a second start-of-image marker inside the image.")
        out += data[start:end]
        scans += kind == "scan"
    if icc_chunks:
        profile = rebuild_icc(_join_icc(icc_chunks))
        if profile is not None:
            out[icc_at:icc_at] = _icc_segments(profile)
    if not scans:
        raise JpegError("Damaged JPEG: no image data found.")
    if not out.endswith(b"\xff\xd9"):
        out += b"\xff\xd9"
    return bytes(out)


# --------------------------------------------------------------------------- kept segments, rebuilt


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _rebuild_app(marker: int, payload: bytes) -> bytes | None:
    """A kept application segment written anew from its fields (None: not one to keep).

    JFIF (APP0): version, density unit and densities; the optional thumbnail
    and anything after the fields are dropped. Adobe (APP14): version, the two
    flag words and the colour transform, nothing after them.
    """
    if marker == 0xE0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        return _segment(marker, payload[:12] + b"\x00\x00")  # JFIF\0, version, unit, x/y density; no thumbnail
    if marker == 0xEE and payload.startswith(b"Adobe") and len(payload) >= 12:
        return _segment(marker, payload[:12])  # "Adobe", version, flags0, flags1, transform
    return None


def _join_icc(chunks: list[bytes]) -> bytes:
    """The ICC profile from its APP2 chunks (``ICC_PROFILE\\0``, sequence number, count, data), in sequence order."""
    numbered = []
    for chunk in chunks:
        if len(chunk) < 14:
            continue
        numbered.append((chunk[12], chunk[14:]))
    return b"".join(part for _, part in sorted(numbered, key=lambda item: item[0]))


_ICC_CHUNK = 65519  # 65533 bytes of segment payload less the 14-byte chunk header


def _icc_segments(profile: bytes) -> bytes:
    parts = [profile[i : i + _ICC_CHUNK] for i in range(0, len(profile), _ICC_CHUNK)]
    if len(parts) > 255:
        return b""
    return b"".join(
        _segment(0xE2, b"ICC_PROFILE\x00" + bytes((number, len(parts))) + part)
        for number, part in enumerate(parts, start=1)
    )


def rebuild_icc(profile: bytes) -> bytes | None:
    """An ICC profile rebuilt from its header and tag table: only the bytes its tags point at survive.

    The 128-byte header keeps its fields (its reserved bytes are zeroed and its
    size set anew), then the tag table and each tag's data, 4-byte aligned with
    zero padding, in the order the data had; tags that shared data still share
    it. Bytes after the declared size, in gaps between tags or in padding are
    dropped. The profile ID (an MD5 of the profile) is kept when the result is
    the original byte for byte, and zeroed ("not computed", ICC.1:2022 7.2.18)
    otherwise. Returns None for a profile whose structure cannot be read.

    References
    ----------
    International Color Consortium, ICC.1:2022 (profile version 4.4), sections 7.2-7.3.
    """
    if len(profile) < 132:
        return None
    declared = int.from_bytes(profile[0:4], "big")
    if declared < 132 or declared > len(profile):
        return None
    profile = profile[:declared]
    count = int.from_bytes(profile[128:132], "big")
    table_end = 132 + 12 * count
    if count > 1000 or table_end > declared:
        return None
    entries = []
    for i in range(count):
        at = 132 + 12 * i
        signature = profile[at : at + 4]
        offset = int.from_bytes(profile[at + 4 : at + 8], "big")
        size = int.from_bytes(profile[at + 8 : at + 12], "big")
        if offset < table_end or size < 8 or offset + size > declared:
            return None
        entries.append((signature, offset, size))
    header = bytearray(profile[:128])
    header[100:128] = bytes(28)  # reserved: zero by the standard
    body = bytearray()
    placed: dict[tuple[int, int], int] = {}
    for _, offset, size in sorted(entries, key=lambda e: (e[1], e[2])):
        if (offset, size) in placed:
            continue
        placed[(offset, size)] = table_end + len(body)
        body += profile[offset : offset + size]
        body += bytes(-len(body) % 4)
    table = bytearray(count.to_bytes(4, "big"))
    for signature, offset, size in entries:
        table += signature + placed[(offset, size)].to_bytes(4, "big") + size.to_bytes(4, "big")
    rebuilt = header + table + body
    if bytes(rebuilt) != profile:
        rebuilt[84:100] = bytes(16)  # the profile ID no longer matches
    rebuilt[0:4] = len(rebuilt).to_bytes(4, "big")
    if bytes(rebuilt) == profile:
        return profile
    return bytes(rebuilt)
