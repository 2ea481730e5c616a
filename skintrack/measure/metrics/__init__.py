"""The measures skintrack reports, one module per family.

===================  =========  ===========  =====================================
name                 unit       better when  family / module
===================  =========  ===========  =====================================
redness              a*         lower        redness (``redness.py``)
red_area_pct         % of skin  lower        redness
red_lesion_count     count      lower        redness
red_lesion_mean_mm2  mm²        lower        redness
spot_area_pct        % of skin  lower        spots (``spots.py``)
spot_count           count      lower        spots
spot_contrast        ΔL*        lower        spots
spot_mean_mm2        mm²        lower        spots
texture_roughness    L*         lower        texture (``texture.py``)
line_density         % of skin  lower        texture
ita                  degrees    (none)       tone (``tone.py``)
evenness             L*         lower        tone
===================  =========  ===========  =====================================

These names are stable: they are column names in exports and keys in the
database. ``ita`` has no "better" direction: a rise means lighter skin. The mean
sizes (``*_mean_mm2``) are NaN, with the reason, when the photo (or its baseline)
has no measured scale: no colour chart and no face to take it from.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "METRIC_NAMES", "NO_SCALE", "OVERLAYS", "MetricInfo"]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    family: str
    better: str | None  # "lower", "higher" or None (no judgement)
    label: str
    description: str


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("redness", "a*", "redness", "lower", "Redness", "How red the skin looks on average."),
        MetricInfo("red_area_pct", "% of skin", "redness", "lower", "Red area", "Share of the skin that is markedly redder than normal skin at the first visit."),
        MetricInfo("red_lesion_count", "lesions", "redness", "lower", "Red lesions", "Number of red lesions: spots clearly redder than the skin around them (inflamed acne, red marks)."),
        MetricInfo("red_lesion_mean_mm2", "mm²", "redness", "lower", "Red lesion size", "Mean size of the red lesions (0 when there is none)."),
        MetricInfo("spot_area_pct", "% of skin", "spots", "lower", "Dark-spot area", "Share of the skin covered by dark spots."),
        MetricInfo("spot_count", "spots", "spots", "lower", "Dark spots", "Number of dark spots."),
        MetricInfo("spot_contrast", "ΔL*", "spots", "lower", "Spot darkness", "How much darker the spots are than the skin around them."),
        MetricInfo("spot_mean_mm2", "mm²", "spots", "lower", "Dark spot size", "Mean size of the dark spots (0 when there is none)."),
        MetricInfo("texture_roughness", "L*", "texture", "lower", "Roughness", "Fine unevenness of the skin's surface: pores, scars and bumps."),
        MetricInfo("line_density", "% of skin", "texture", "lower", "Fine lines", "Share of the skin on fine lines and wrinkles."),
        MetricInfo("ita", "°", "tone", None, "Skin tone (ITA°)", "Skin tone as an angle (the individual typology angle, ITA)."),
        MetricInfo("evenness", "L*", "tone", "lower", "Tone spread", "How much the lightness varies across the skin (lower is more even)."),
    )
}  # fmt: skip

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)

#: The maps :meth:`skintrack.Score.overlay` draws on the photo (names used by the app, the reports and the CLI).
OVERLAYS = ("skin", "redness", "red_lesions", "spots", "lines")

#: Why a size in mm² is missing: it needs a scale that was measured (colour chart, pupils), not assumed.
NO_SCALE = (
    "sizes in mm² need a measured scale: there is no colour chart in the photo and no face whose pupils give one "
    "(in the photo or its baseline)"
)
