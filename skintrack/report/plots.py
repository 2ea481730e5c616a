"""Progress charts for the PDF report, drawn as vector graphics (reportlab drawings).

One chart per measure: the value at each session (dots coloured by the
engine's verdict, joined by a line), the baseline as a dashed line with the
noise band around it (baseline ± MDC95: changes inside it cannot be told from
re-photographing the same skin), and the treatment dates as thin red marks.
Being vector graphics, the charts print sharp at any size.
"""

from __future__ import annotations

import datetime as dt
import math

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors

from ..measure.metrics import METRICS
from .fonts import FONT, FONT_BOLD
from .phrases import plain_measure

__all__ = ["LABEL_COLOURS", "legend", "progress_chart"]

#: Dot colour per verdict label (the app's palette).
LABEL_COLOURS = {
    "baseline": "#555555",
    "improved": "#2e8b57",
    "within noise": "#999999",
    "could be noise": "#bbbbbb",
    "worse": "#c0392b",
    "expected post-treatment redness": "#e67e22",
    "lighter": "#3498db",
    "darker": "#8e44ad",
}
_LINE = colors.HexColor("#1f77b4")
_TREATMENT = colors.HexColor("#c0392b")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * step:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _month_ticks(start: dt.date, end: dt.date) -> list[dt.date]:
    ticks, day = [], dt.date(start.year, start.month, 1)
    while day <= end:
        if day >= start:
            ticks.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if len(ticks) > 8:  # long courses: every second or third month
        ticks = ticks[:: math.ceil(len(ticks) / 8)]
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:.4g}"


def progress_chart(
    progress,
    treatments: list[tuple[dt.date, str]],
    *,
    width: float,
    height: float,
    plain: bool = False,
) -> Drawing:
    """A chart of one measure over the sessions.

    Parameters
    ----------
    progress : skintrack.progress.MetricProgress
        The measure's series, noise limit and verdicts (from ``area_progress``).
    treatments : list of (date, treatment)
        Treatment sessions, drawn as thin red vertical marks.
    width, height : float
        Size in PDF points (1/72 inch).
    plain : bool
        Patient wording: a plain title and no unit or tick values on the value axis.
    """
    info = METRICS[progress.metric]
    drawing = Drawing(width, height, initialFontName=FONT)
    if plain:
        title = plain_measure(progress.metric).title
    else:
        title = info.label if "(" in info.label else f"{info.label} ({info.unit})"
    drawing.add(String(2, height - 11, title, fontName=FONT_BOLD, fontSize=8.5))
    left, right, bottom, top = (24 if plain else 38), width - 6, 18, height - 18
    points = progress.points
    if not points:
        drawing.add(String(left, (bottom + top) / 2, "no measurement yet", fontName=FONT, fontSize=8, fillColor=colors.grey))
        return drawing

    dates = [p.date for p in points] + [d for d, _ in treatments if points[0].date <= d <= points[-1].date]
    start, end = min(dates), max(dates)
    span = max((end - start).days, 14)
    start, end = start - dt.timedelta(days=round(span * 0.04) + 1), end + dt.timedelta(days=round(span * 0.04) + 1)
    # The axis starts on the first day of the course's first month, so that month is labelled too (a course
    # starting on the 20th showed its second month first).
    start = min(start, dt.date(min(dates).year, min(dates).month, 1))
    values = [p.value for p in points]
    base = points[0].value
    noise = progress.mdc95 if math.isfinite(progress.mdc95) else 0.0
    low, high = min(values + [base - noise]), max(values + [base + noise])
    pad = (high - low) * 0.08 or max(abs(base) * 0.05, 1e-3)
    low, high = low - pad, high + pad

    def x_of(day: dt.date) -> float:
        return left + (right - left) * (day - start).days / max((end - start).days, 1)

    def y_of(value: float) -> float:
        return bottom + (top - bottom) * (value - low) / (high - low)

    frame = Group()
    frame.add(Rect(left, bottom, right - left, top - bottom, fillColor=None, strokeColor=colors.HexColor("#bbbbbb"), strokeWidth=0.5))
    if noise > 0:
        frame.add(Rect(left, y_of(base - noise), right - left, y_of(base + noise) - y_of(base - noise),
                       fillColor=colors.HexColor("#888888"), fillOpacity=0.18, strokeColor=None))  # fmt: skip
    frame.add(Line(left, y_of(base), right, y_of(base), strokeColor=colors.HexColor("#555555"), strokeWidth=0.6, strokeDashArray=[3, 2]))
    for day, _kind in treatments:
        if start <= day <= end:
            frame.add(Line(x_of(day), bottom, x_of(day), bottom + 6, strokeColor=_TREATMENT, strokeWidth=1.2))
            frame.add(Line(x_of(day), bottom, x_of(day), top, strokeColor=_TREATMENT, strokeWidth=0.4, strokeOpacity=0.45))
    for day in _month_ticks(start, end):
        label = _MONTHS[day.month - 1] + (f" {day.year}" if day.month == 1 or day == _month_ticks(start, end)[0] else "")
        frame.add(Line(x_of(day), bottom - 2, x_of(day), bottom, strokeColor=colors.grey, strokeWidth=0.5))
        frame.add(String(x_of(day), bottom - 10, label, fontName=FONT, fontSize=6.5, textAnchor="middle"))
    if plain:  # no numbers for patients: which way is "more"
        frame.add(String(left - 3, top - 7, "more", fontName=FONT, fontSize=6.5, textAnchor="end", fillColor=colors.grey))
        frame.add(String(left - 3, bottom + 1, "less", fontName=FONT, fontSize=6.5, textAnchor="end", fillColor=colors.grey))
    else:
        for tick in _nice_ticks(low, high):
            frame.add(Line(left - 2, y_of(tick), left, y_of(tick), strokeColor=colors.grey, strokeWidth=0.5))
            frame.add(String(left - 3, y_of(tick) - 2.2, _tick_label(tick), fontName=FONT, fontSize=6.5, textAnchor="end"))
    if len(points) > 1:
        coords = [c for p in points for c in (x_of(p.date), y_of(p.value))]
        frame.add(PolyLine(coords, strokeColor=_LINE, strokeWidth=1.1))
    for p in points:
        colour = colors.HexColor(LABEL_COLOURS.get(p.label, "#1f77b4"))
        frame.add(Circle(x_of(p.date), y_of(p.value), 2.6, fillColor=colour, strokeColor=colors.white, strokeWidth=0.5))
    drawing.add(frame)
    return drawing


def legend(width: float, *, plain: bool = False, labels: set[str] | None = None) -> Drawing:
    """The key shared by all charts of a report: the verdict colours that appear (``labels``; all when
    ``None``), the noise band, the baseline line and the treatment mark, wrapped over as few lines as fit."""
    if plain:
        words = {"baseline": "first visit", "improved": "better", "within noise": "no clear change",
                 "could be noise": "no clear change yet", "worse": "worse",
                 "expected post-treatment redness": "expected redness after treatment", "lighter": "lighter skin",
                 "darker": "darker skin"}  # fmt: skip
        band = "normal variation between photos"
    else:
        words = {label: label for label in LABEL_COLOURS}
        band = "baseline ± MDC95 (noise)"
    items: list[tuple[str, str]] = [("dot:" + label, words[label]) for label in LABEL_COLOURS
                                    if labels is None or label in labels]  # fmt: skip
    items += [("band", band), ("dash", "first visit" if plain else "baseline"), ("treatment", "treatment")]
    line_height, font_size = 11, 7
    placed, x, row = [], 2.0, 0
    for kind, text in items:
        advance = 18 + len(text) * 3.9 + 8
        if x > 2 and x + advance > width:
            x, row = 2.0, row + 1
        placed.append((kind, text, x, row))
        x += advance
    rows = row + 1
    drawing = Drawing(width, rows * line_height + 4, initialFontName=FONT)
    for kind, text, x, row in placed:
        y = (rows - 1 - row) * line_height + 4
        if kind.startswith("dot:"):
            drawing.add(Circle(x + 3, y + 2.5, 2.6, fillColor=colors.HexColor(LABEL_COLOURS[kind[4:]]), strokeColor=None))
            drawing.add(String(x + 9, y, text, fontName=FONT, fontSize=font_size))
        elif kind == "band":
            drawing.add(Rect(x, y, 14, 6, fillColor=colors.HexColor("#888888"), fillOpacity=0.25, strokeColor=None))
            drawing.add(String(x + 18, y, text, fontName=FONT, fontSize=font_size))
        elif kind == "dash":
            drawing.add(Line(x, y + 3, x + 14, y + 3, strokeColor=colors.HexColor("#555555"), strokeDashArray=[3, 2]))
            drawing.add(String(x + 18, y, text, fontName=FONT, fontSize=font_size))
        else:
            drawing.add(Line(x + 7, y - 1, x + 7, y + 7, strokeColor=_TREATMENT, strokeWidth=1.2))
            drawing.add(String(x + 14, y, text, fontName=FONT, fontSize=font_size))
    return drawing
