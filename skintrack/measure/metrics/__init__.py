"""The measures skintrack reports, one module per family.

=================  ==========  ===========  =====================================
name               unit        better when  family / module
=================  ==========  ===========  =====================================
redness            a*          lower        redness (``redness.py``)
red_area_pct       % of skin   lower        redness
spot_area_pct      % of skin   lower        spots (``spots.py``)
spot_count         count       lower        spots
spot_contrast      ΔL*         lower        spots
texture_roughness  L*          lower        texture (``texture.py``)
line_density       % of skin   lower        texture
ita                degrees     (none)       tone (``tone.py``)
evenness           L*          lower        tone
=================  ==========  ===========  =====================================

These names are stable: they are column names in exports and keys in the
database. ``ita`` has no "better" direction: a rise means lighter skin.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "METRIC_NAMES", "MetricInfo"]


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
        MetricInfo("spot_area_pct", "% of skin", "spots", "lower", "Dark-spot area", "Share of the skin covered by dark spots."),
        MetricInfo("spot_count", "spots", "spots", "lower", "Dark spots", "Number of dark spots."),
        MetricInfo("spot_contrast", "ΔL*", "spots", "lower", "Spot darkness", "How much darker the spots are than the skin around them."),
        MetricInfo("texture_roughness", "L*", "texture", "lower", "Roughness", "Fine unevenness of the skin's surface: pores, scars and bumps."),
        MetricInfo("line_density", "% of skin", "texture", "lower", "Fine lines", "Share of the skin on fine lines and wrinkles."),
        MetricInfo("ita", "°", "tone", None, "Skin tone (ITA°)", "Skin tone as an angle (the individual typology angle, ITA)."),
        MetricInfo("evenness", "L*", "tone", "lower", "Tone spread", "How much the lightness varies across the skin (lower is more even)."),
    )
}  # fmt: skip

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
