"""The clinic a report or export comes from: its name and logo (configurable).

Looked up in this order: an explicit :class:`Clinic`; ``clinic.json`` in the
data folder (``{"name": "...", "logo": "logo.png", "address": "..."}``, the
logo path relative to the data folder); the environment variables
``SKINTRACK_CLINIC_NAME`` / ``SKINTRACK_CLINIC_LOGO``; finally "skintrack"
without a logo.

A logo must be a PNG or JPEG of at most :data:`MAX_LOGO_BYTES` and
:data:`MAX_LOGO_PIXELS`; anything else is refused with a clear message.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Clinic", "ClinicError", "MAX_LOGO_BYTES", "MAX_LOGO_PIXELS", "load_clinic"]

MAX_LOGO_BYTES = 5 * 2**20
MAX_LOGO_PIXELS = 4096 * 4096
CONFIG_FILE = "clinic.json"


class ClinicError(ValueError):
    """The clinic settings or logo cannot be used; the message says why."""


@dataclass(frozen=True)
class Clinic:
    """Who issues the report.

    Attributes
    ----------
    name : str
        Printed in the report header (and as the default watermark).
    logo : bytes or None
        PNG or JPEG bytes, checked by :meth:`logo_png`.
    address : str
        An optional second header line (address, phone, web site).
    """

    name: str = "skintrack"
    logo: bytes | None = None
    address: str = ""

    @classmethod
    def from_files(cls, name: str, logo: str | os.PathLike | None = None, address: str = "") -> "Clinic":
        data = None
        if logo:
            path = Path(logo)
            if not path.is_file():
                raise ClinicError(f"No logo file at {path}.")
            if path.stat().st_size > MAX_LOGO_BYTES:
                raise ClinicError(f"The logo {path.name} is larger than {MAX_LOGO_BYTES // 2**20} MB.")
            data = path.read_bytes()
        clinic = cls(name=(name or "skintrack").strip(), logo=data, address=(address or "").strip())
        clinic.logo_png()  # refuse a bad logo now, not in the middle of a report
        return clinic

    def logo_png(self) -> bytes | None:
        """The logo re-encoded as PNG (transparency kept), or None; :class:`ClinicError` for a bad file."""
        if not self.logo:
            return None
        from PIL import Image, UnidentifiedImageError

        if len(self.logo) > MAX_LOGO_BYTES:
            raise ClinicError(f"The logo is larger than {MAX_LOGO_BYTES // 2**20} MB.")
        try:
            with Image.open(io.BytesIO(self.logo)) as image:
                if image.format not in ("PNG", "JPEG"):
                    raise ClinicError(f"The logo must be a PNG or JPEG file, not {image.format}.")
                if image.width * image.height > MAX_LOGO_PIXELS:
                    raise ClinicError(f"The logo is too large ({image.width}×{image.height} pixels).")
                image.load()
                converted = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise ClinicError(f"The logo is not a readable image ({type(exc).__name__}).") from None
        out = io.BytesIO()
        converted.save(out, "PNG")
        return out.getvalue()


def load_clinic(data_dir: str | os.PathLike | None = None) -> Clinic:
    """The clinic configured for a data folder (see the module docstring)."""
    if data_dir is not None:
        config = Path(data_dir) / CONFIG_FILE
        if config.is_file():
            try:
                settings = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ClinicError(f"{config} is not valid JSON ({exc}).") from None
            if not isinstance(settings, dict):
                raise ClinicError(f"{config} must hold a JSON object with name, logo and address.")
            logo = settings.get("logo")
            return Clinic.from_files(
                str(settings.get("name") or "skintrack"),
                Path(data_dir) / logo if logo else None,
                str(settings.get("address") or ""),
            )
    name = os.environ.get("SKINTRACK_CLINIC_NAME")
    logo = os.environ.get("SKINTRACK_CLINIC_LOGO")
    if name or logo:
        return Clinic.from_files(name or "skintrack", logo or None)
    return Clinic()
