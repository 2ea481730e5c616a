"""Words and number formats for reports: clinical for providers, plain for patients.

Verdicts are never decided here: they come from :mod:`skintrack.progress`
(``Point.label``) and are only put into words. The patient's words avoid
colour-science units and abbreviations (:data:`CLINICAL_TERMS`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..measure.metrics import METRICS
from ..wording import format_pct as _format_pct

__all__ = [
    "CLINICAL_TERMS",
    "PLAIN",
    "PlainMeasure",
    "format_change",
    "format_pct",
    "format_settings",
    "format_value",
    "METHODS",
    "long_date",
    "method",
    "patient_sentence",
    "plain_measure",
]

#: Terms a patient report must not contain.
CLINICAL_TERMS = ("a*", "ΔL*", "L*", "ITA", "MDC")


class PlainMeasure:
    """A measure in plain words: a title, and what a lower or a higher value looks like."""

    def __init__(self, title: str, lower: str, higher: str):
        self.title, self.lower, self.higher = title, lower, higher


#: Plain words for each measure (keys are the stable names of :data:`skintrack.measure.metrics.METRICS`).
PLAIN: dict[str, PlainMeasure] = {
    "redness": PlainMeasure("Redness", "less red", "redder"),
    "red_area_pct": PlainMeasure("Red patches", "smaller red patches", "larger red patches"),
    "red_lesion_count": PlainMeasure("Number of red spots", "fewer red spots", "more red spots"),
    "red_lesion_mean_mm2": PlainMeasure("Size of the red spots", "red spots are smaller", "red spots are larger"),
    "spot_area_pct": PlainMeasure("Dark spots (area)", "dark spots cover less skin", "dark spots cover more skin"),
    "spot_count": PlainMeasure("Number of dark spots", "fewer dark spots", "more dark spots"),
    "spot_contrast": PlainMeasure("How dark the spots are", "spots are lighter", "spots are darker"),
    "spot_mean_mm2": PlainMeasure("Size of the dark spots", "dark spots are smaller", "dark spots are larger"),
    "texture_roughness": PlainMeasure("Skin texture", "smoother", "rougher"),
    "line_density": PlainMeasure("Fine lines", "fewer fine lines", "more fine lines"),
    "ita": PlainMeasure("Skin tone", "darker", "lighter"),
    "evenness": PlainMeasure("Evenness of skin tone", "more even", "less even"),
}


#: How each measure is computed, in one or two sentences (the formulas are in the metric modules' docstrings).
METHODS: dict[str, str] = {
    "redness": "Mean CIELAB a* over the measured skin (Takiwaki 1998).",
    "red_area_pct": "Share of skin whose smoothed a* exceeds T_red = median a* + max(minimum step, k robust SD), "
    "set on the baseline's skin and kept for every later session.",
    "red_lesion_count": "Number of red lesions: compact regions whose a* exceeds that of the skin around them "
    "(a 15 mm local background, not the photo's median) by the baseline's threshold; found like dark spots.",
    "red_lesion_mean_mm2": "Mean area of the red lesions in mm² at the photo's measured scale (colour chart or pupil "
    "distance); 0 when there is none, not given without a measured scale.",
    "spot_area_pct": "Share of skin in dark spots: compact regions whose darkness against the local skin background "
    "(ΔL*) peaks above the baseline's threshold; each spot's extent is taken at half its peak darkness.",
    "spot_count": "Number of dark spots (as above; too small, elongated or edge-touching regions, lines and hairs "
    "are not spots).",
    "spot_contrast": "Mean darkness of spot pixels against the skin around them (ΔL*); falls as spots fade even when "
    "their area does not.",
    "spot_mean_mm2": "Mean area of the dark spots in mm² at the photo's measured scale (colour chart or pupil "
    "distance); 0 when there is none, not given without a measured scale.",
    "texture_roughness": "Root mean square of a band-pass (difference of Gaussians) of L* over inner skin, spots and "
    "lines left out.",
    "line_density": "Share of skin on fine lines: ridges of L* from a fixed-scale Hessian ridge filter whose depth "
    "exceeds the baseline's threshold.",
    "ita": "Mean individual typology angle ITA° = atan2(L* − 50, b*) · 180/π over skin (Chardon 1991); higher is "
    "lighter.",
    "evenness": "Standard deviation of L* over skin after removing fine texture and the slow lighting gradient; "
    "lower is more even.",
}


def method(name: str) -> str:
    """How a measure is computed (falls back to the engine's one-line description)."""
    return METHODS.get(name) or METRICS[name].description


def plain_measure(name: str) -> PlainMeasure:
    """The plain words for a measure; a measure added to the engine later gets a neutral fallback."""
    if name in PLAIN:
        return PLAIN[name]
    title = METRICS[name].label.split(" (")[0] if name in METRICS else name.replace("_", " ").capitalize()
    return PlainMeasure(title, "lower", "higher")


def format_value(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits (as the progress summaries), or an en dash."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}"


def format_change(value: float, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}g}"


def format_pct(value: float, name: str | None = None) -> str:
    """A change in % as :func:`skintrack.wording.format_pct` writes it (−99.5 % stays −99.5 %); an en dash
    for a measure whose change has no meaningful % (an angle, ITA°) when its ``name`` is given."""
    from ..wording import pct_applies

    if name is not None and name in METRICS and not pct_applies(name):
        return "–"
    return _format_pct(value)


#: Unit suffixes of treatment setting keys (``needle_depth_mm``) and how to print them.
_SETTING_UNITS = (
    ("_J_cm2", "J/cm²"), ("_mJ", "mJ"), ("_mm", "mm"), ("_um", "µm"), ("_ms", "ms"), ("_ns", "ns"),
    ("_nm", "nm"), ("_W", "W"), ("_Hz", "Hz"), ("_pct", "%"), ("_s", "s"),
)  # fmt: skip


def format_settings(settings: dict[str, Any] | None) -> str:
    """Treatment settings as text: ``{"needle_depth_mm": 1.5}`` → ``needle depth 1.5 mm``."""
    parts = []
    for key, value in (settings or {}).items():
        label, unit = str(key), ""
        for suffix, printed in _SETTING_UNITS:
            if label.endswith(suffix) and len(label) > len(suffix):
                label, unit = label[: -len(suffix)], printed
                break
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{label.replace('_', ' ')} {text}{' ' + unit if unit else ''}")
    return ", ".join(parts)


def long_date(day: dt.date) -> str:
    """``4 May 2026`` (English month names whatever the locale)."""
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
    return f"{day.day} {months[day.month - 1]} {day.year}"


def patient_sentence(progress) -> str:
    """One plain sentence about a measure's latest change (``progress``: a :class:`~skintrack.progress.MetricProgress`).

    The verdict is the engine's (``progress.latest.label``); only the words are chosen here.
    """
    words = plain_measure(progress.metric)
    latest = progress.latest
    if latest is None:
        return f"{words.title}: not measured yet."
    if len(progress.points) == 1:
        return f"{words.title}: measured at your first visit; there is no later photo to compare with yet."
    # The size of the change is said with its verdict, as the chart below shows it (a change of 46 % called
    # "no clear change" without its number read as if nothing had changed).
    from ..wording import pct_applies

    size = ""
    if pct_applies(progress.metric) and math.isfinite(latest.change_pct) and latest.change_pct:
        size = f" ({_format_pct(latest.change_pct, signed=False)} {'lower' if latest.change < 0 else 'higher'})"
    if latest.label == "within noise":
        return (
            f"{words.title}: no clear change since your first visit{size} — the difference is within the normal "
            "variation between two photos of the same skin."
        )
    if latest.label == "could be noise":
        return (
            f"{words.title}: no clear change yet since your first visit{size} — more than usual between two photos, "
            "but it could still be the normal variation between two photos taken this way."
        )
    direction = words.lower if latest.change < 0 else words.higher
    amount = f" ({_format_pct(latest.change_pct, signed=False)} {'less' if latest.change < 0 else 'more'})" if math.isfinite(latest.change_pct) and progress.better else ""
    ending = {
        "improved": " — an improvement, larger than the normal variation between photos.",
        "worse": " — larger than the normal variation between photos; your clinic can explain what this means for you.",
        "expected post-treatment redness": " — this is expected shortly after a treatment and usually settles within days.",
    }.get(latest.label, " — larger than the normal variation between photos.")
    return f"{words.title}: {direction} than at your first visit{amount}{ending}"

