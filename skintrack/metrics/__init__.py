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
        MetricInfo("redness", "a*", "redness", "lower", "Redness", "Mean CIELAB a* over skin."),
        MetricInfo("red_area_pct", "% of skin", "redness", "lower", "Red area", "Share of skin markedly redder than the baseline's normal skin."),
        MetricInfo("spot_area_pct", "% of skin", "spots", "lower", "Dark-spot area", "Share of skin covered by dark spots."),
        MetricInfo("spot_count", "spots", "spots", "lower", "Dark spots", "Number of dark spots."),
        MetricInfo("spot_contrast", "ΔL*", "spots", "lower", "Spot darkness", "How much darker spots are than the skin around them."),
        MetricInfo("texture_roughness", "L*", "texture", "lower", "Roughness", "Fine-scale lightness variation (pores, scars, bumps)."),
        MetricInfo("line_density", "% of skin", "texture", "lower", "Fine lines", "Share of skin on fine lines and wrinkles."),
        MetricInfo("ita", "°", "tone", None, "Skin tone (ITA°)", "Individual typology angle; higher is lighter."),
        MetricInfo("evenness", "L*", "tone", "lower", "Tone spread", "Spread of lightness across the skin; lower is more even."),
    )
}  # fmt: skip

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
