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
import math
from typing import Sequence
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .._version import __version__
from ..metrics import METRICS
from ..records import Actor, Records
from ..scoring import OVERLAYS
from .charts import legend, progress_chart
from .clinic import Clinic
from .content import Frame, ReportContent, gather
from .fonts import FONT, FONT_BOLD, register_pdf_fonts
from .wording import (
    format_change,
    format_pct,
    format_settings,
    format_value,
    long_date,
    method,
    patient_sentence,
    plain_measure,
)

__all__ = ["NOT_DIAGNOSTIC", "build_pdf"]

#: Printed on every page.
NOT_DIAGNOSTIC = "Not a diagnostic device: skintrack documents measured change in photographs; it does not diagnose."
NOT_DIAGNOSTIC_PLAIN = "This is not a diagnosis: it shows what was measured in your photos. Your clinic can explain what it means for you."

PAGE = A4
MARGIN = 16 * mm
HEADER = 26 * mm
FOOTER = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN - 12  # the frame's own padding is 6 pt on each side
JPEG_QUALITY = 88

OVERLAY_TITLES = {"skin": "measured skin", "redness": "redness map", "spots": "dark spots outlined", "lines": "fine lines"}
PLAIN_OVERLAY_TITLES = {"skin": "skin that was measured", "redness": "where the skin is red", "spots": "dark spots outlined", "lines": "fine lines marked"}


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
    overlays : sequence of {"skin", "redness", "spots", "lines"}
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
    return render(content)


# --------------------------------------------------------------------------- layout


def _styles() -> dict[str, ParagraphStyle]:
    register_pdf_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=FONT_BOLD, fontSize=7.5, leading=9),
        "caption": ParagraphStyle("caption", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#333333")),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=9, spaceAfter=4,
                             textColor=colors.HexColor("#1f4e79")),  # fmt: skip
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=10, bulletIndent=0, spaceAfter=3),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
    }


def _text(value) -> str:
    """User text made safe for a reportlab paragraph (printed as is, never read as markup)."""
    return escape(str(value if value is not None else ""))


def render(content: ReportContent) -> bytes:
    """Lay out gathered content as a PDF."""
    from reportlab import rl_config

    # Binary image streams, not ASCII85: a fifth smaller, and reportlab's pure-Python
    # ASCII85 encoder took a third of a second per report.
    rl_config.useA85 = 0
    styles = _styles()
    plain = content.audience == "patient"
    story = (_patient_story if plain else _provider_story)(content, styles)
    buffer = io.BytesIO()
    title = "Your skin progress" if plain else "Treatment progress report"
    doc = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + HEADER,
        bottomMargin=MARGIN + FOOTER, title=f"{title} — {content.patient.code} — {content.area.name}",
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


def _jpeg(rgb: np.ndarray) -> io.BytesIO:
    out = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb)).save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    out.seek(0)
    return out


def _image(rgb: np.ndarray, width: float) -> Image:
    height = width * rgb.shape[0] / rgb.shape[1]
    return Image(_jpeg(rgb), width=width, height=height)


def _caption(frame: Frame | None, role: str, plain: bool, styles) -> Paragraph:
    if frame is None:
        return Paragraph("", styles["caption"])
    photo = frame.photo
    if plain:
        text = f"<b>{_text(role)}</b> · {long_date(photo.session_date)}"
    else:
        quality = photo.alignment.get("quality")
        aligned = "" if photo.is_baseline else (
            f" · aligned (quality {quality:.2f})" if frame.comparable and quality is not None else " · <b>not comparable</b>: "
            + _text(photo.status_reason)
        )  # fmt: skip
        text = f"<b>{_text(role)}</b> · {photo.session_date.isoformat()} · {_text(photo.treatment)}{aligned}"
    return Paragraph(text, styles["caption"])


def _pair(before: Frame | None, after: Frame | None, overlay: str | None, plain: bool, styles) -> Table:
    column = (WIDTH - 4 * mm) / 2
    cells, captions = [], []
    for frame, role in ((before, "First visit" if plain else "Baseline"), (after, "Latest visit" if plain else "Latest")):
        if frame is None:
            cells.append(Paragraph("no photo" if plain else "no comparable photo yet", styles["caption"]))
            captions.append(Paragraph("", styles["caption"]))
            continue
        rgb = frame.overlays.get(overlay) if overlay else frame.image
        cells.append(_image(rgb, column) if rgb is not None else Paragraph("not measured", styles["caption"]))
        captions.append(_caption(frame, role, plain, styles))
    table = Table([cells, captions], colWidths=[column, column], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))  # fmt: skip
    return table


def _grid(frames: list[Frame], overlay: str | None, plain: bool, styles, columns: int = 3) -> Table:
    column = (WIDTH - (columns - 1) * 3 * mm) / columns
    rows = []
    for start in range(0, len(frames), columns):
        chunk = frames[start : start + columns]
        images, captions = [], []
        for frame in chunk:
            rgb = frame.overlays.get(overlay) if overlay else frame.image
            images.append(_image(rgb, column) if rgb is not None else Paragraph("not measured", styles["caption"]))
            role = ("First visit" if plain else "Baseline") if frame.photo.is_baseline else ("Visit" if plain else "Session")
            captions.append(_caption(frame, role, plain, styles))
        pad = columns - len(chunk)
        rows += [images + [""] * pad, captions + [""] * pad]
    table = Table(rows, colWidths=[column + 3 * mm] * columns, hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))  # fmt: skip
    return table


def _key_values(rows: list[tuple[str, str]], styles) -> Table:
    data = [[Paragraph(f"<b>{_text(k)}</b>", styles["body"]), Paragraph(v, styles["body"])] for k, v in rows]
    table = Table(data, colWidths=[38 * mm, WIDTH - 38 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5), ("TOPPADDING", (0, 0), (-1, -1), 1.5)]))  # fmt: skip
    return table


def _charts(content: ReportContent, plain: bool) -> list:
    treatments = [(e.session.date, e.session.treatment) for e in content.log if e.session.treatment not in ("baseline", "other")]
    width = (WIDTH - 4 * mm) / 2
    drawings = [progress_chart(mp, treatments, width=width, height=112, plain=plain) for mp in content.progress.metrics.values()]
    rows = [drawings[i : i + 2] + [""] * (2 - len(drawings[i : i + 2])) for i in range(0, len(drawings), 2)]
    table = Table(rows, colWidths=[width + 4 * mm, width], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))  # fmt: skip
    return [table, legend(WIDTH, plain=plain)]


def _period(content: ReportContent, plain: bool) -> str:
    dates = [e.session.date for e in content.log]
    if not dates:
        return "no sessions yet"
    first, last = min(dates), max(dates)
    if plain:
        return f"{len(dates)} visit{'s' if len(dates) != 1 else ''}, {long_date(first)} to {long_date(last)}"
    return f"{len(dates)} session{'s' if len(dates) != 1 else ''}, {first.isoformat()} to {last.isoformat()} ({(last - first).days} days)"


# --------------------------------------------------------------------------- provider


def _provider_story(content: ReportContent, styles) -> list:
    patient, progress = content.patient, content.progress
    story: list = [Paragraph("Treatment progress report", styles["title"])]
    identity = [("Patient code", _text(patient.code))]
    if content.show_name:
        identity.append(("Name", _text(patient.display_name)))
    identity += [
        ("Treated area", _text(content.area.name)),
        ("Sessions", _text(_period(content, plain=False))),
        ("Fitzpatrick type", _text(patient.fitzpatrick or "not recorded")),
    ]
    if progress.last_treatment:
        date, kind = progress.last_treatment
        identity.append(("Last treatment", _text(f"{kind} on {date.isoformat()}, {progress.days_since_last_treatment} days before this report")))
    identity.append(("Prepared by", _text(f"{content.prepared_by}, {content.generated_on.isoformat()}")))
    story.append(_key_values(identity, styles))

    story.append(Paragraph("Before and after", styles["h2"]))
    story.append(Paragraph(
        "Both photos colour-normalised on their neutral references; the latest aligned onto the baseline, "
        "so the same skin is compared pixel for pixel.", styles["small"]))  # fmt: skip
    story.append(Spacer(1, 2 * mm))
    story.append(_pair(content.baseline, content.latest, None, False, styles))
    for overlay in content.overlays:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph(f"Overlay: {OVERLAY_TITLES.get(overlay, overlay)}", styles["small"]))
        story.append(_pair(content.baseline, content.latest, overlay, False, styles))

    story.append(CondPageBreak(80 * mm))
    story.append(Paragraph("Measures: baseline against latest", styles["h2"]))
    story.append(_measure_table(content, styles))
    story.append(Spacer(1, 1.5 * mm))
    story.append(Paragraph(
        "<b>Beyond noise</b>: the change exceeds the measure's minimal detectable change (MDC95, ± column) found by "
        "photographing the same skin repeatedly; a smaller change cannot be told apart from re-taking the photo. "
        "Verdicts are the same as in the app.", styles["small"]))  # fmt: skip

    story.append(CondPageBreak(60 * mm))
    story.append(Paragraph("Treatment log", styles["h2"]))
    story.append(_log_table(content, styles))
    warnings = [w for entry in content.log for w in entry.warnings]
    for warning in warnings:
        story.append(Paragraph(f"⚠ {_text(warning)}", styles["small"]))

    story.append(CondPageBreak(120 * mm))
    story.append(Paragraph("Progress per measure", styles["h2"]))
    story += _charts(content, plain=False)

    if content.series:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph("Every session", styles["h2"]))
        story.append(Paragraph("Each session's photo, normalised and aligned onto the baseline.", styles["small"]))
        story.append(_grid(content.series, None, False, styles))
        for overlay in content.overlays:
            story.append(CondPageBreak(70 * mm))
            story.append(Paragraph(f"Every session, overlay: {OVERLAY_TITLES.get(overlay, overlay)}", styles["small"]))
            story.append(_grid(content.series, overlay, False, styles))

    story.append(CondPageBreak(110 * mm))
    story += _methods(content, styles)
    return story


def _measure_table(content: ReportContent, styles) -> Table:
    header = ["Measure", "Unit", "Baseline", "Latest", "Change", "% change", "± noise", "Beyond noise", "Verdict"]
    data = [[Paragraph(f"<b>{h}</b>", styles["cell"]) for h in header]]
    verdict_colours = []
    for row, metric in enumerate(content.progress.metrics.values(), start=1):
        base, latest = metric.baseline, metric.latest
        compared = base is not None and latest is not None and latest is not base
        verdict = latest.label if compared else ("baseline only" if base is not None else "not measured")
        data.append([
            Paragraph(_text(metric.label), styles["cell"]),
            Paragraph(_text(metric.unit), styles["cell"]),
            format_value(base.value) if base else "–",
            format_value(latest.value) if compared else "–",
            format_change(latest.change) if compared else "–",
            format_pct(latest.change_pct) if compared else "–",
            format_value(metric.mdc95, 2),
            ("yes" if latest.beyond_noise else "no") if compared else "–",
            Paragraph(_text(verdict), styles["cell"]),
        ])  # fmt: skip
        colour = {"improved": "#e3f4e8", "worse": "#fbe3e0", "expected post-treatment redness": "#fdebd7"}.get(verdict)
        if colour:
            verdict_colours.append(("BACKGROUND", (8, row), (8, row), colors.HexColor(colour)))
    widths = [27 * mm, 17 * mm, 17 * mm, 15 * mm, 15 * mm, 15 * mm, 14 * mm, 15 * mm]
    widths.append(WIDTH - sum(widths))
    table = Table(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("ALIGN", (2, 1), (7, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f4e79")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *verdict_colours,
    ]))  # fmt: skip
    return table


def _photo_note(entry) -> str:
    photo = entry.photo
    if photo is None:
        return "no photo of this area"
    if photo.status == "scored":
        if photo.is_baseline:
            return "baseline photo"
        quality = photo.alignment.get("quality")
        return f"measured, alignment {quality:.2f}" if quality is not None else "measured"
    return f"{photo.status.replace('_', ' ')}: {photo.status_reason}"


def _log_table(content: ReportContent, styles) -> Table:
    header = ["Date", "Day", "Treatment", "Settings", "Interval", "Provider", "Photo"]
    data = [[Paragraph(f"<b>{h}</b>", styles["cell"]) for h in header]]
    first = content.log[0].session.date if content.log else None
    flagged = []
    for row, entry in enumerate(content.log, start=1):
        session = entry.session
        data.append([
            session.date.isoformat(),
            str((session.date - first).days),
            Paragraph(_text(session.treatment), styles["cell"]),
            Paragraph(_text(format_settings(session.settings)) or "–", styles["cell"]),
            f"{entry.days_since_previous} days" if entry.days_since_previous is not None else "–",
            Paragraph(_text(session.provider or "–"), styles["cell"]),
            Paragraph(_text(_photo_note(entry)), styles["cell"]),
        ])  # fmt: skip
        if entry.warnings:
            flagged.append(("BACKGROUND", (4, row), (4, row), colors.HexColor("#fdebd7")))
    widths = [18 * mm, 9 * mm, 25 * mm, 34 * mm, 18 * mm, 24 * mm]
    widths.append(WIDTH - sum(widths))
    table = Table(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("ALIGN", (1, 1), (1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f4e79")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *flagged,
    ]))  # fmt: skip
    return table


def _methods(content: ReportContent, styles) -> list:
    from ..repeatability import DEFAULT_STUDY

    story = [Paragraph("Methods", styles["h2"])]
    normalised = ", ".join(content.normalizations) or "none"
    story.append(Paragraph(
        "Each photo is colour-normalised from neutral references in the frame (grey card, colour chart or grey "
        f"backdrop; here: {_text(normalised)}), never from the skin. Follow-up photos are aligned onto the "
        "baseline by feature matching, and photos that do not align are refused rather than compared. Every photo "
        "is measured at the same working resolution, on skin pixels only, with the thresholds of the baseline "
        "session, in CIELAB (D65, 2°) converted from sRGB in floating point.", styles["small"]))  # fmt: skip
    story.append(Spacer(1, 1.5 * mm))
    rows = [[Paragraph("<b>Measure</b>", styles["cell"]), Paragraph("<b>How it is computed</b>", styles["cell"]),
             Paragraph("<b>Better</b>", styles["cell"]), Paragraph("<b>MDC95</b>", styles["cell"])]]  # fmt: skip
    for metric in content.progress.metrics.values():
        info = METRICS[metric.metric]
        rows.append([
            Paragraph(f"{_text(info.label)}<br/><font size=6.5 color='#666666'>{_text(info.name)}, {_text(info.unit)}</font>", styles["cell"]),
            Paragraph(_text(method(info.name)), styles["cell"]),
            Paragraph(_text(info.better or "no direction"), styles["cell"]),
            f"{format_value(metric.mdc95, 2)} {info.unit}",
        ])  # fmt: skip
    table = Table(rows, colWidths=[38 * mm, WIDTH - 38 * mm - 22 * mm - 24 * mm, 22 * mm, 24 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f4e79")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))  # fmt: skip
    story.append(table)
    story.append(Spacer(1, 1.5 * mm))
    study = f"{DEFAULT_STUDY['n_subjects']} subjects × {DEFAULT_STUDY['n_repeats']} repeat photographs"
    story.append(Paragraph(
        "Measurement noise: MDC95 = 1.96 · √2 · SD<sub>within</sub>, the smallest change distinguishable from "
        f"re-photographing the same skin, from skintrack's repeatability study ({study}; Weir 2005). "
        "A change counts as beyond noise when it is at least this large (for the spot count: more than one spot).",
        styles["small"]))  # fmt: skip
    hashes = ", ".join(content.settings_hashes) or "–"
    versions = ", ".join(content.engine_versions)
    mixed = " <b>Measured with more than one engine setting: run <i>skintrack rescore</i>.</b>" if len(content.settings_hashes) > 1 else ""
    story.append(Paragraph(
        f"Engine version {_text(versions)} · settings hash {_text(hashes)} · report by skintrack {__version__}.{mixed}",
        styles["small"]))  # fmt: skip
    story.append(Paragraph(f"<b>{_text(NOT_DIAGNOSTIC)}</b> Results need a clinician's judgement.", styles["small"]))
    return story


# --------------------------------------------------------------------------- patient


def _patient_story(content: ReportContent, styles) -> list:
    patient, progress = content.patient, content.progress
    story: list = [Paragraph("Your skin progress", styles["title"])]
    identity = [("For", _text(patient.display_name if content.show_name else f"patient {patient.code}"))]
    identity += [("Treated area", _text(content.area.name)), ("Your visits", _text(_period(content, plain=True)))]
    story.append(_key_values(identity, styles))

    story.append(Paragraph("Before and after", styles["h2"]))
    story.append(Paragraph(
        "Both photos were colour-corrected the same way and lined up so the same patch of skin is compared.",
        styles["small"]))  # fmt: skip
    story.append(Spacer(1, 2 * mm))
    story.append(_pair(content.baseline, content.latest, None, True, styles))
    for overlay in content.overlays:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph(f"Marked: {PLAIN_OVERLAY_TITLES.get(overlay, overlay)}", styles["small"]))
        story.append(_pair(content.baseline, content.latest, overlay, True, styles))
    if content.withheld_photos:
        story.append(Paragraph(f"{content.withheld_photos} photo(s) are not shown because you withdrew your consent for them.", styles["small"]))

    story.append(CondPageBreak(70 * mm))
    story.append(Paragraph("What changed", styles["h2"]))
    for metric in progress.metrics.values():
        story.append(Paragraph(_text(patient_sentence(metric)), styles["bullet"], bulletText="•"))

    if content.log:
        story.append(CondPageBreak(40 * mm))
        story.append(Paragraph("Your visits", styles["h2"]))
        for entry in content.log:
            kind = entry.session.treatment
            words = {"baseline": "first photos", "other": "check-up"}.get(kind, f"{kind} treatment")
            story.append(Paragraph(f"{long_date(entry.session.date)}: {_text(words)}", styles["bullet"], bulletText="•"))

    story.append(CondPageBreak(120 * mm))
    story.append(Paragraph("Your progress, measure by measure", styles["h2"]))
    story.append(Paragraph(
        "Each dot is one visit. The grey band shows how much two photos of the same skin can differ: "
        "changes inside it are not clear changes.", styles["small"]))  # fmt: skip
    story += _charts(content, plain=True)

    if content.series:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph("Every visit", styles["h2"]))
        story.append(_grid(content.series, None, True, styles))

    story.append(CondPageBreak(40 * mm))
    story.append(Paragraph("About these measurements", styles["h2"]))
    story.append(KeepTogether([
        Paragraph(
            "Your photos were taken with a grey reference card in view, which lets the software correct the colours "
            "of every photo the same way. Later photos were lined up with your first photo so that the same skin is "
            "compared. Even two photos of the same skin taken minutes apart differ a little; a change is only called "
            "real when it is larger than that normal variation.", styles["small"]),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{_text(NOT_DIAGNOSTIC_PLAIN)}</b>", styles["small"]),
    ]))  # fmt: skip
    return story
