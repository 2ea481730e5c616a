"""Teaching and publication sets: de-identified photos and numbers, optionally anonymised and watermarked.

:func:`export_teaching_set` asks the records for a de-identified set
(:meth:`Records.export_deidentified <skintrack.records.deidentify.DeidentifiedExportMixin.export_deidentified>`:
consented, non-withdrawn photos only; no name, code, birth year, notes, dates,
capture time, camera or uploader) and runs two optional steps on each photo's
pixels, in this order:

1. ``anonymise``: hides who the person is. ``"blur"`` (the default) pixelates
   every face (:func:`skintrack.privacy.face_hiding.hide_faces`: faces down to ~40 pixels;
   a photo in which a face can still be found afterwards is left out, with the
   reason, in ``left_out``), ``"eye-bar"`` covers eyes and brows, ``"none"``
   leaves photos as taken, or any callable ``Photo -> HxWx3 uint8`` of the
   clinic's own (which then replaces skintrack's face hiding).
2. ``watermark``: the clinic's name in the lower right corner
   (:func:`add_watermark`), so a published photo says where it came from.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from ..intake.photo import Photo
from ..records import Actor, Records
from ..report.fonts import FONT_BOLD, font_path

__all__ = ["add_watermark", "export_teaching_set"]


@lru_cache(maxsize=16)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(FONT_BOLD)), size)


def add_watermark(rgb: np.ndarray, text: str, *, opacity: float = 0.6) -> np.ndarray:
    """``rgb`` with ``text`` in its lower right corner: white letters with a dark outline.

    The letters are about 3.5 % of the image's short side high, so they stay
    readable on a print yet cover little skin. Returns a new ``HxWx3`` uint8 array.
    """
    from PIL import Image, ImageDraw

    text = " ".join(str(text).split())
    if not text:
        return np.array(rgb, copy=True)
    base = Image.fromarray(np.ascontiguousarray(rgb)).convert("RGBA")
    height, width = rgb.shape[:2]
    size = max(10, round(min(height, width) * 0.035))
    font = _font(size)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    outline = max(1, size // 12)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=outline)
    margin = max(4, size // 2)
    x = max(margin, width - margin - (right - left)) - left
    y = height - margin - (bottom - top) - top
    alpha = int(round(255 * min(max(opacity, 0.0), 1.0)))
    draw.text((x, y), text, font=font, fill=(255, 255, 255, alpha), stroke_width=outline, stroke_fill=(0, 0, 0, alpha))
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def export_teaching_set(
    records: Records,
    actor: Actor,
    patient_ids: str | Sequence[str],
    target: str | os.PathLike | BinaryIO,
    *,
    purpose: str = "teaching",
    watermark: str | None = None,
    anonymise: str | Callable[[Photo], np.ndarray] | None = "blur",
    reviewed_text: Sequence[str] = (),
) -> dict[str, Any]:
    """Write a de-identified teaching or publication set of one or more patients.

    Parameters
    ----------
    records, actor
        The records and who exports (a provider or admin).
    patient_ids : str or sequence of str
    target : path or writable binary file
        The zip to write.
    purpose : {"teaching", "publication"}
        Only photos whose consent covers this purpose and that were not withdrawn.
    watermark : str, optional
        Text for the lower right corner of every photo, e.g. the clinic's name.
    anonymise : {"blur", "eye-bar", "none"} or callable
        Hides the person's identity before the watermark is added (default
        ``"blur"``; ``None`` means the default too: hiding nothing must be asked
        for with ``"none"``), or a ``Photo -> HxWx3 uint8`` callable.
    reviewed_text : sequence of str
        Setting texts the exporter has reviewed and allows out word for word.

    Returns
    -------
    dict
        As :meth:`Records.export_deidentified`: counts, size and the key from
        pseudonyms back to patient and photo ids (kept by the caller, never written).
    """
    from .face_hiding import ANONYMISERS

    steps = []
    hide = "blur"
    if anonymise is None:
        anonymise = "blur"
    if isinstance(anonymise, str):
        if anonymise != "none" and anonymise not in ANONYMISERS:
            raise ValueError(f"anonymise must be one of {', '.join(ANONYMISERS)} or none, not {anonymise!r}")
        hide = anonymise
        if anonymise != "none":
            steps.append(("anonymised", ANONYMISERS[anonymise].__name__))
        anonymise = None
    else:
        hide = "none"  # the clinic's own step replaces skintrack's
        steps.append(("anonymised", getattr(anonymise, "__name__", type(anonymise).__name__)))
    if watermark and watermark.strip():
        steps.append(("watermark", watermark.strip()))

    def step(photo: Photo) -> np.ndarray:
        rgb = photo.rgb
        if anonymise is not None:
            rgb = np.asarray(anonymise(photo))
        if watermark and watermark.strip():
            rgb = add_watermark(rgb, watermark)
        return rgb

    return records.export_deidentified(
        actor, patient_ids, target, purpose=purpose, image_step=step if (anonymise is not None or watermark) else None,
        description=dict(steps) or None, hide_faces=hide, reviewed_text=reviewed_text,
    )  # fmt: skip
