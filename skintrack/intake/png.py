"""PNG at the chunk level: remove metadata without touching the pixels.

A PNG is a signature and a sequence of chunks (length, type, data, CRC; W3C PNG
specification, 3rd edition, section 5). The image is IHDR, PLTE, the IDAT
chunks and IEND; colour needs tRNS, gAMA, cHRM, sRGB, iCCP, sBIT and cICP.
Text chunks (tEXt, zTXt, iTXt), eXIf, tIME and any other ancillary chunk can
carry identifying metadata, and anything can follow IEND.
"""

from __future__ import annotations

import struct

__all__ = ["PngError", "has_metadata", "strip_metadata"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks :func:`strip_metadata` keeps: the image itself and what colour needs.
KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"cICP"}


class PngError(ValueError):
    """Not a PNG this module can walk."""


def _chunks(data: bytes):
    if not data.startswith(SIGNATURE):
        raise PngError("Not a PNG file.")
    position = len(SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise PngError("Damaged PNG: a chunk runs past the end of the file.")
        yield kind, position, end
        position = end
        if kind == b"IEND":
            return
    raise PngError("Damaged PNG: no end chunk.")


def has_metadata(data: bytes) -> bool:
    """True when ``data`` holds a chunk :func:`strip_metadata` would drop, or bytes after IEND."""
    end = len(SIGNATURE)
    for kind, _, end in _chunks(data):
        if kind not in KEPT:
            return True
    return end != len(data)


def strip_metadata(data: bytes) -> bytes:
    """``data`` with only the image and colour chunks (:data:`KEPT`), nothing after IEND; pixels untouched."""
    out = bytearray(SIGNATURE)
    for kind, start, end in _chunks(data):
        if kind in KEPT:
            out += data[start:end]
    return bytes(out)
