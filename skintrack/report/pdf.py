"""The PDF report of one treated area: for the record (provider) or for the patient, with reportlab.

:func:`build_pdf` gathers the content (:mod:`skintrack.report.content`: the
engine's numbers, verdicts and measured photos) and lays it out on A4:

* **provider**: header with the clinic's name and logo; patient code (the
  name only on request), area, period; before/after pair (baseline vs latest,
  normalised and aligned; optional overlays; optionally every session); the
  per-measure table (baseline, latest, change, % change, noise limit,
  beyond noise, verdict); the treatment log (dates, settings, spacing);
  one vector chart per measure; a methods section (how each measure is
  computed, engine version, settings hash).
* **patient**: the same photos and charts in plain words, without
  colour-science units or abbreviations.

Every page carries the patient code, the page number and the line that
skintrack is not a diagnostic device. Text typed by users (names, codes,
areas, settings, clinic name) is escaped: it is printed, never interpreted
as markup. Fonts: DejaVu Sans (:mod:`skintrack.report.fonts`), embedded.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Sequence

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import SimpleDocTemplate

from .._version import __version__
from ..records import Actor, Records
from .clinic import Clinic
from .content import ReportContent, gather
from .fonts import FONT, FONT_BOLD
from .layout import FOOTER, HEADER, MARGIN, NOT_DIAGNOSTIC, NOT_DIAGNOSTIC_PLAIN, PAGE
from .layout import styles as make_styles
from .patient import patient_story
from .phrases import long_date
from .provider import provider_story

__all__ = ["NOT_DIAGNOSTIC", "build_pdf", "render"]


def build_pdf(
    records: Records,
    actor: Actor,
    patient_id: str,
    area_id: str,
    *,
    audience: str = "provider",
    sessions: str | Sequence[str] | None = None,
    full_name: bool = False,
    overlays: Sequence[str] = (),
    clinic: Clinic | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The PDF report of one patient's treated area.

    Parameters
    ----------
    records, actor
        The records service and who asks. A provider (or admin) may export any
        patient's report; a patient only their own, and only ``audience="patient"``.
    patient_id, area_id : str
        The patient and one of their treated areas.
    audience : {"provider", "patient"}
        The clinical report for the record, or the patient's plain-words version
        (photos whose consent was withdrawn are left out of it).
    sessions : None, "all" or list of session ids
        Besides the baseline/latest pair, show the photo of every session (or of these sessions).
    full_name : bool
        Print the patient's full name; by default only the patient code.
    overlays : sequence of {"skin", "redness", "red_lesions", "spots", "lines"}
        Also show these measurement overlays for the photos shown.
    clinic : Clinic, optional
        Name and logo for the header (default: :func:`~skintrack.report.clinic.load_clinic`).
    today : date, optional
        The report date (default: today).

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    PermissionDenied, NotFound, InvalidInput
        From the records (unknown patient, area of another patient, bad option).
    """
    content = gather(
        records, actor, patient_id, area_id, audience=audience, sessions=sessions, full_name=full_name,
        overlays=overlays, clinic=clinic, today=today,
    )  # fmt: skip
    pdf = render(content)
    records.record_export(actor, patient_id, f"PDF report ({audience})", purpose="clinical" if audience == "provider" else "patient",
                          detail=f"area {area_id}" + ("; full name" if full_name else ""))  # fmt: skip
    return pdf


def render(content: ReportContent) -> bytes:
    """Lay out gathered content as a PDF."""
    from reportlab import rl_config

    # Binary image streams, not ASCII85: a fifth smaller, and reportlab's pure-Python
    # ASCII85 encoder took a third of a second per report.
    rl_config.useA85 = 0
    styles = make_styles()
    plain = content.audience == "patient"
    story = (patient_story if plain else provider_story)(content, styles)
    buffer = io.BytesIO()
    title = "Your skin progress" if plain else "Treatment progress report"
    doc = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + HEADER,
        # The document's metadata holds no free text (no area name, code or name): viewers, mail previews and
        # document stores show and index it without opening the report. The pages say whose report it is.
        bottomMargin=MARGIN + FOOTER, title=f"{title} — {content.generated_on.isoformat()}",
        author=content.clinic.name, subject=title, creator=f"skintrack {__version__}",
        initialFontName=FONT,  # else every page also references Helvetica (Latin-1 only)
    )  # fmt: skip
    doc.build(story, canvasmaker=_canvas_maker(content, title))
    return buffer.getvalue()


def _canvas_maker(content: ReportContent, title: str):
    """A canvas that draws the header and the footer ("page n of N") once all pages are known."""
    logo = content.clinic.logo_png()
    logo_reader = ImageReader(io.BytesIO(logo)) if logo else None
    plain = content.audience == "patient"
    who = content.patient.code + (f" · {content.patient.display_name}" if content.show_name else "")

    class ReportCanvas(pdf_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            width, height = PAGE
            top = height - MARGIN
            x = MARGIN
            if logo_reader is not None:
                logo_w, logo_h = logo_reader.getSize()
                box_h = 15 * mm
                box_w = min(40 * mm, box_h * logo_w / logo_h)
                self.drawImage(logo_reader, x, top - box_h, box_w, box_h, mask="auto", preserveAspectRatio=True, anchor="sw")
                x += box_w + 4 * mm
            self.setFont(FONT_BOLD, 12)
            self.drawString(x, top - 6 * mm, content.clinic.name[:80])
            if content.clinic.address:
                self.setFont(FONT, 8)
                self.drawString(x, top - 10.5 * mm, content.clinic.address[:120])
            self.setFont(FONT_BOLD, 10)
            self.drawRightString(width - MARGIN, top - 6 * mm, title)
            self.setFont(FONT, 8)
            self.drawRightString(width - MARGIN, top - 10.5 * mm, f"{who[:70]} · {content.area.name[:40]}")
            self.drawRightString(width - MARGIN, top - 14.5 * mm, long_date(content.generated_on) if plain else content.generated_on.isoformat())
            self.setStrokeColor(colors.HexColor("#1f4e79"))
            self.setLineWidth(0.8)
            self.line(MARGIN, top - 18 * mm, width - MARGIN, top - 18 * mm)
            self.setStrokeColor(colors.HexColor("#999999"))
            self.setLineWidth(0.4)
            self.line(MARGIN, MARGIN + 7 * mm, width - MARGIN, MARGIN + 7 * mm)
            self.setFont(FONT, 7)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawString(MARGIN, MARGIN + 3 * mm, NOT_DIAGNOSTIC_PLAIN if plain else NOT_DIAGNOSTIC)
            self.drawRightString(width - MARGIN, MARGIN, f"{content.patient.code[:40]} · page {number} of {total}")
            self.drawString(MARGIN, MARGIN, f"skintrack {__version__}")
            self.setFillColor(colors.black)

    return ReportCanvas
