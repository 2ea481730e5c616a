"""Fonts for reports and watermarks: DejaVu Sans 2.35, shipped in ``skintrack/data/fonts``.

Reports must print any patient's or clinic's name ("Zoë Ødegård-Łukasz",
"Дмитрий", "Ŝtefan") and the measures' symbols (Δ, °, ≥). The PDF core fonts
(Helvetica, Times) only cover Latin-1, and reportlab's bundled Bitstream Vera
lacks letters such as Ł. DejaVu Sans covers Latin, Greek and Cyrillic in full.
It is licensed under the Bitstream Vera / DejaVu licence (free to use, embed
and redistribute with the notice: ``skintrack/data/fonts/LICENSE_DEJAVU``,
shipped beside the files), so nothing is downloaded or installed for it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

__all__ = ["FONT", "FONT_BOLD", "FontsMissing", "font_path", "register_pdf_fonts"]

#: reportlab names of the registered fonts.
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_ITALIC = "DejaVuSans-Oblique"
_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf", FONT_ITALIC: "DejaVuSans-Oblique.ttf"}
_LOCK = threading.Lock()


class FontsMissing(RuntimeError):
    """The DejaVu fonts are missing from the installed package (a broken install)."""


#: Where the fonts (and their licence) are.
FONT_DIR = Path(__file__).resolve().parents[1] / "data" / "fonts"


@lru_cache(maxsize=None)
def _font_dir() -> Path:
    if not all((FONT_DIR / file).is_file() for file in _FILES.values()):
        raise FontsMissing(f"The report fonts are missing from {FONT_DIR}: reinstall skintrack.")
    return FONT_DIR


def font_path(name: str = FONT) -> Path:
    """Path of one of the report fonts (:data:`FONT`, :data:`FONT_BOLD`, :data:`FONT_ITALIC`)."""
    return _font_dir() / _FILES[name]


_REGISTERED = False


def register_pdf_fonts() -> str:
    """Register the DejaVu family with reportlab (once per process); returns the regular font's name."""
    global _REGISTERED
    with _LOCK:
        if not _REGISTERED:
            from reportlab.lib.fonts import addMapping
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            for name in _FILES:
                pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
            addMapping(FONT, 0, 0, FONT)
            addMapping(FONT, 1, 0, FONT_BOLD)
            addMapping(FONT, 0, 1, FONT_ITALIC)
            addMapping(FONT, 1, 1, FONT_BOLD)
            _REGISTERED = True
    return FONT
