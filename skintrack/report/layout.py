"""Shared pieces of the PDF reports: page geometry, styles, photo pairs and grids, tables, charts.

Text typed by users goes through :func:`text` (escaped): reportlab paragraphs
read markup, and a name like ``<b>Ann</b>`` must be printed as it is.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Image, Paragraph, Spacer, Table, TableStyle

from ..wording import course_processing, pair_processing
from .content import Frame, ReportContent
from .fonts import FONT, FONT_BOLD, register_pdf_fonts
from .phrases import long_date
from .plots import legend, progress_chart

#: Printed on every page.
NOT_DIAGNOSTIC = "Not a diagnostic device: skintrack documents measured change in photographs; it does not diagnose."
NOT_DIAGNOSTIC_PLAIN = "This is not a diagnosis: it shows what was measured in your photos. Your clinic can explain what it means for you."

PAGE = A4
MARGIN = 16 * mm
HEADER = 26 * mm
FOOTER = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN - 12  # the frame's own padding is 6 pt on each side
JPEG_QUALITY = 88

OVERLAY_TITLES = {"skin": "measured skin", "redness": "redness map", "red_lesions": "red lesions outlined",
                  "spots": "dark spots outlined", "lines": "fine lines"}  # fmt: skip
PLAIN_OVERLAY_TITLES = {"skin": "skin that was measured", "redness": "where the skin is red", "red_lesions": "red spots outlined",
                        "spots": "dark spots outlined", "lines": "fine lines marked"}  # fmt: skip



def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of the reports (DejaVu Sans)."""
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


def text(value) -> str:
    """User text made safe for a reportlab paragraph (printed as is, never read as markup)."""
    return escape(str(value if value is not None else ""))


def jpeg(rgb: np.ndarray) -> io.BytesIO:
    out = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb)).save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    out.seek(0)
    return out


def image(rgb: np.ndarray, width: float) -> Image:
    height = width * rgb.shape[0] / rgb.shape[1]
    return Image(jpeg(rgb), width=width, height=height)


def caption(frame: Frame | None, role: str, plain: bool, styles) -> Paragraph:
    if frame is None:
        return Paragraph("", styles["caption"])
    photo = frame.photo
    if plain:
        line = f"<b>{text(role)}</b> · {long_date(photo.session_date)}"
    else:
        quality = photo.alignment.get("quality")
        aligned = "" if photo.is_baseline else (
            f" · aligned (quality {quality:.2f})" if frame.comparable and quality is not None else " · <b>not comparable</b>: "
            + text(photo.status_reason)
        )  # fmt: skip
        line = f"<b>{text(role)}</b> · {photo.session_date.isoformat()} · {text(photo.treatment)}{aligned}"
    return Paragraph(line, styles["caption"])


def pair(before: Frame | None, after: Frame | None, overlay: str | None, plain: bool, styles) -> Table:
    column = (WIDTH - 4 * mm) / 2
    cells, captions = [], []
    for frame, role in ((before, "First visit" if plain else "Baseline"), (after, "Latest visit" if plain else "Latest")):
        if frame is None:
            cells.append(Paragraph("no photo" if plain else "no comparable photo yet", styles["caption"]))
            captions.append(Paragraph("", styles["caption"]))
            continue
        rgb = frame.overlays.get(overlay) if overlay else frame.image
        cells.append(image(rgb, column) if rgb is not None else Paragraph("not measured", styles["caption"]))
        captions.append(caption(frame, role, plain, styles))
    table = Table([cells, captions], colWidths=[column, column], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))  # fmt: skip
    return table


def grid(frames: list[Frame], overlay: str | None, plain: bool, styles, columns: int = 3) -> Table:
    column = (WIDTH - (columns - 1) * 3 * mm) / columns
    rows = []
    for start in range(0, len(frames), columns):
        chunk = frames[start : start + columns]
        images, captions = [], []
        for frame in chunk:
            rgb = frame.overlays.get(overlay) if overlay else frame.image
            images.append(image(rgb, column) if rgb is not None else Paragraph("not measured", styles["caption"]))
            role = ("First visit" if plain else "Baseline") if frame.photo.is_baseline else ("Visit" if plain else "Session")
            captions.append(caption(frame, role, plain, styles))
        pad = columns - len(chunk)
        rows += [images + [""] * pad, captions + [""] * pad]
    table = Table(rows, colWidths=[column + 3 * mm] * columns, hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))  # fmt: skip
    return table


def before_after(content: ReportContent, styles, *, plain: bool) -> list:
    """The baseline / latest pair, then the same pair with each overlay asked for."""
    # What was done to these two photos, from their stored provenance (never what usually happens).
    if content.baseline is not None and content.latest is not None:
        intro = pair_processing(content.baseline.photo, content.latest.photo, plain=plain)
    elif content.baseline is not None:
        intro = course_processing([content.baseline.photo], plain=plain) + (
            " There is no later photo to compare with yet." if plain else " No comparable follow-up yet.")  # fmt: skip
    else:
        intro = "No photo to compare yet." if plain else "No measured photo of this area yet."
    if content.area_region is not None:
        region_words = (f"Only the outlined skin ({100 * content.area_region.area:.0f} % of the photo) was measured."
                        if plain else f"Yellow outline: the treated region drawn on the baseline "
                        f"({content.area_region.shape}, {100 * content.area_region.area:.1f} % of the photo); only the "
                        "skin inside it was measured, in every session.")  # fmt: skip
        intro += " " + region_words
    story = [Paragraph("Before and after", styles["h2"]), Paragraph(intro, styles["small"]), Spacer(1, 2 * mm),
             pair(content.baseline, content.latest, None, plain, styles)]  # fmt: skip
    for overlay in content.overlays:
        title = f"Marked: {PLAIN_OVERLAY_TITLES.get(overlay, overlay)}" if plain else f"Overlay: {OVERLAY_TITLES.get(overlay, overlay)}"
        story += [CondPageBreak(90 * mm), Paragraph(title, styles["small"]), pair(content.baseline, content.latest, overlay, plain, styles)]
    return story


def measured_part(content: ReportContent, plain: bool = False) -> str:
    """Which skin of the photos was measured, from the area's region in use and the photos' provenance
    (:attr:`~skintrack.records.PhotoView.measured`): the outlined region, a face zone, or the whole photo."""
    region = content.area_region
    if region is not None:
        if plain:
            return f"only the outlined skin, {100 * region.area:.0f} % of the photo"
        return f"only the outlined {region.shape}, {100 * region.area:.1f} % of the photo"
    kinds = sorted({p.measured.get("region") for p in content.measured_photos if p.measured.get("region")})
    if not kinds or kinds == ["whole photo"]:
        return "the whole photo"
    return "; ".join(f"{kind} ({sum(p.measured.get('region') == kind for p in content.measured_photos)} photos)"
                     for kind in kinds)  # fmt: skip


def key_values(rows: list[tuple[str, str]], styles) -> Table:
    data = [[Paragraph(f"<b>{text(k)}</b>", styles["body"]), Paragraph(v, styles["body"])] for k, v in rows]
    table = Table(data, colWidths=[38 * mm, WIDTH - 38 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5), ("TOPPADDING", (0, 0), (-1, -1), 1.5)]))  # fmt: skip
    return table


def charts(content: ReportContent, plain: bool) -> list:
    treatments = [(e.session.date, e.session.treatment) for e in content.log if e.session.treatment not in ("baseline", "other")]
    width = (WIDTH - 4 * mm) / 2
    drawings = [progress_chart(mp, treatments, width=width, height=104, plain=plain) for mp in content.progress.metrics.values()]
    rows = [drawings[i : i + 2] + [""] * (2 - len(drawings[i : i + 2])) for i in range(0, len(drawings), 2)]
    # The legend is the table's header row: repeated at the top of every page the charts run onto, so it is
    # always beside its charts (it used to follow the last row and could land alone on the next page).
    labels = {p.label for mp in content.progress.metrics.values() for p in mp.points}
    table = Table([[legend(WIDTH, plain=plain, labels=labels), ""], *rows], colWidths=[width + 4 * mm, width],
                  hAlign="LEFT", repeatRows=1)  # fmt: skip
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 4), ("SPAN", (0, 0), (1, 0))]))  # fmt: skip
    return [table]


def period(content: ReportContent, plain: bool) -> str:
    dates = [e.session.date for e in content.log]
    if not dates:
        return "no sessions yet"
    first, last = min(dates), max(dates)
    if plain:
        return f"{len(dates)} visit{'s' if len(dates) != 1 else ''}, {long_date(first)} to {long_date(last)}"
    return f"{len(dates)} session{'s' if len(dates) != 1 else ''}, {first.isoformat()} to {last.isoformat()} ({(last - first).days} days)"



def ruled_table(data: list, widths: list[float], *styles) -> Table:
    """A table with a header rule and thin row rules; the last column takes the remaining width."""
    table = Table(data, colWidths=[*widths, WIDTH - sum(widths)], hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1f4e79")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *styles,
    ]))  # fmt: skip
    return table
