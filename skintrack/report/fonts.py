"""Fonts for reports and watermarks: DejaVu Sans, as shipped inside matplotlib's wheel.

Reports must print any patient's or clinic's name ("Zoë Ødegård-Łukasz",
"Дмитрий", "Ŝtefan") and the measures' symbols (Δ, °, ≥). The PDF core fonts
(Helvetica, Times) only cover Latin-1, and reportlab's bundled Bitstream Vera
lacks letters such as Ł. DejaVu Sans covers Latin, Greek and Cyrillic in full.
It is licensed under the Bitstream Vera / DejaVu licence (free to use, embed
and redistribute; ``matplotlib/mpl-data/fonts/ttf/LICENSE_DEJAVU``) and ships
inside the matplotlib wheel from PyPI, so nothing is downloaded at run time.
The files are located without importing matplotlib.
"""

from __future__ import annotations

import importlib.util
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
    """The DejaVu fonts could not be found (matplotlib is not installed)."""


@lru_cache(maxsize=None)
def _font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise FontsMissing("Reports need the DejaVu fonts shipped with matplotlib: pip install matplotlib.")
    for location in spec.submodule_search_locations:
        folder = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (folder / _FILES[FONT]).is_file():
            return folder
    raise FontsMissing("matplotlib is installed but its DejaVu fonts are missing (mpl-data/fonts/ttf).")


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
