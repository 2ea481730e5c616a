"""Light and colour normalisation from neutral references in frame — never from the skin.

:func:`normalize` corrects exposure and white balance with one gain per
channel on linear RGB (a von Kries correction), measured on a neutral
reference in this order of preference:

1. ``chart``: the six neutral patches of an X-Rite ColorChecker Classic 24 /
   Passport (:mod:`skintrack.comparison.colour_chart`); also gives the physical scale (mm per
   pixel) from the chart's known patch pitch;
2. ``grey_card``: a uniform, rectangular, neutral card fully in frame;
3. ``backdrop``: the neutral background around the subject.

Neutral regions are found by :func:`skintrack.measure.skin.skin_mask` (regions nearer
the light's own colour than the skin's), so a colour cast does not hide them;
a region mostly enclosed by skin (specular glare) is never a reference.

Targets:

* with ``reference`` (the baseline photo): the follow-up's neutral is mapped
  to the baseline's neutral of the same kind, exposure included, so both
  sessions see the same light;
* without: the neutral is mapped to true neutral (R = G = B, a* = b* = 0) at
  its known lightness (chart patches: their published values; grey card:
  ``card_reflectance``, 18 % by default) or, for a backdrop of unknown
  reflectance, at its original luminance.

**The skin itself is never equalised** (no histogram matching, no grey world):
that would erase the very change being measured. When no neutral reference
is found the photo is returned pixel for pixel unchanged with method
``none``. The gains are applied through per-channel lookup tables, exactly
``encode(gain * decode(v))``, so a 12 MP photo costs a few milliseconds.

The returned photo's ``metadata["normalization"]`` records the method, the
gains, the measured and target neutral, a confidence (0-1), the reference's
hash and, with a chart, ``mm_per_px``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from ..intake.photo import Photo, load_photo
from ..measure.analysis import photo_skin, working_lab, working_rgb
from ..measure.colour import linear_to_srgb8, luminance, srgb8_to_linear
from ..measure.filters import sample
from ..measure.masks import dilate, erode
from .colour_chart import CHART_PATCH_PITCH_MM, NEUTRALS, REFERENCE_LINEAR, find_chart

__all__ = ["NeutralReference", "NormalizeConfig", "apply_gains", "find_neutral_references", "normalize", "remember_neutral_references"]

#: Kinds of neutral reference, in order of preference.
METHODS = ("chart", "grey_card", "backdrop")


@dataclass(frozen=True)
class NormalizeConfig:
    """Settings of :func:`normalize` (all part of a comparison's settings hash, :mod:`skintrack.compare`)."""

    working_size: int = 1024  #: long side at which neutral references are looked for, px
    card_reflectance: float | None = 0.18  #: reflectance of the grey card (None: keep its measured luminance)
    chart_pitch_mm: float = CHART_PATCH_PITCH_MM  #: the chart's centre-to-centre patch distance, mm
    edge_delta_L: float = 4.0  #: lightness edges that split the neutral area (a card on a backdrop), L* per px
    min_region_fraction: float = 0.003  #: smallest neutral region considered, share of the frame
    card_min_rectangularity: float = 0.85  #: a grey card fills this share of its bounding rectangle
    card_max_fraction: float = 0.2  #: ... and covers at most this share of the frame
    backdrop_min_fraction: float = 0.02  #: a backdrop touches the border and covers at least this share
    backdrop_trust: float = 0.8  #: a backdrop's confidence relative to a card's (uneven light, maybe not neutral)


DEFAULT_CONFIG = NormalizeConfig()
_FROM_CONFIG = object()  # normalize(card_reflectance=...) not given: the config's


@dataclass
class NeutralReference:
    """A neutral reference found in a photo (colours are linear RGB)."""

    method: str
    neutral: np.ndarray  # measured linear RGB (3,), or 6x3 for the chart's neutral row
    confidence: float
    fraction: float  # share of the frame it covers
    mm_per_px: float | None = None
    details: dict[str, Any] | None = None


def _robust_colour(linear: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Trimmed mean linear RGB of a region without clipped pixels; its L* spread; clipped share.

    A mean, not a median: 8-bit values of a flat patch sit on a few levels, and
    a median snaps to one of them; the 10 % darkest and lightest are trimmed.
    """
    # An evenly strided sample is plenty for a region's colour (and keeps big backdrops cheap).
    pixels = linear.reshape(-1, 3)[sample(np.arange(mask.size), mask.ravel(), max_count=40_000)]
    clipped = (pixels >= 0.98).any(axis=1) | (pixels <= 0.002).any(axis=1)
    good = pixels[~clipped]
    if len(good) < 50:
        return np.full(3, np.nan), np.inf, float(clipped.mean()) if len(pixels) else 1.0
    lightness = 116.0 * np.cbrt(np.clip(luminance(good), 1e-6, None)) - 16.0
    low, high = np.percentile(lightness, [10, 90])
    kept = good[(lightness >= low) & (lightness <= high)]
    return kept.mean(axis=0), float(np.std(lightness)), float(clipped.mean())


_FOUND: "weakref.WeakKeyDictionary[Photo, dict]" = weakref.WeakKeyDictionary()


def find_neutral_references(photo: Photo | np.ndarray, config: NormalizeConfig | None = None) -> dict[str, NeutralReference]:
    """All neutral references found in a photo, by method (chart, grey_card, backdrop).

    Remembered per Photo object (and settings), so a baseline used as
    ``reference`` for many follow-ups is analysed once.
    """
    photo = load_photo(photo)
    cfg = config or DEFAULT_CONFIG
    cached = _FOUND.setdefault(photo, {})
    if cfg not in cached:
        cached[cfg] = _find_neutral_references(photo, cfg)
    return cached[cfg]


def remember_neutral_references(photo: Photo, config: NormalizeConfig, found: dict[str, NeutralReference]) -> None:
    """Remember ``found`` as what :func:`find_neutral_references` finds in ``photo`` with ``config``
    (references found earlier in the same pixels, e.g. a stored baseline's: see
    :mod:`skintrack.records.baseline_files`)."""
    _FOUND.setdefault(photo, {})[config] = found


def _find_neutral_references(photo: Photo, cfg: NormalizeConfig) -> dict[str, NeutralReference]:
    rgb = working_rgb(photo, cfg.working_size)
    linear = srgb8_to_linear(rgb)
    height, width = rgb.shape[:2]
    area = height * width
    scale_to_full = photo.size[0] / width
    found: dict[str, NeutralReference] = {}

    chart = find_chart(rgb)
    chart_mask = np.zeros((height, width), bool)
    if chart is not None:
        cv2.fillConvexPoly(chart_mask.view(np.uint8), chart.outline.astype(np.int32), 1)
        chart_mask = dilate(chart_mask, 3)
        found["chart"] = NeutralReference(
            "chart",
            chart.patches_linear[NEUTRALS],
            chart.confidence,
            float(chart_mask.mean()),
            mm_per_px=chart.mm_per_px() / scale_to_full,
            details={"residual": round(chart.residual, 4), "pitch_px": round(chart.pitch_px * scale_to_full, 2)},
        )

    lab = working_lab(photo, cfg.working_size)
    masks = photo_skin(photo, cfg.working_size)
    # Split the neutral area at strong lightness edges (a card on a backdrop).
    L = cv2.GaussianBlur(lab[..., 0], (0, 0), 1.0)
    edges = cv2.magnitude(cv2.Sobel(L, cv2.CV_32F, 1, 0), cv2.Sobel(L, cv2.CV_32F, 0, 1)) > cfg.edge_delta_L
    neutral = masks.neutral & ~dilate(edges, 2) & ~chart_mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(neutral.astype(np.uint8), connectivity=4)
    skin = masks.skin
    card_candidates, backdrop_parts = [], []
    for label in range(1, count):
        x, y, w, h, size = stats[label]
        if size < cfg.min_region_fraction * area:
            continue
        region = labels == label
        ring = dilate(region, 4) & ~region
        if ring.any() and (skin[ring].mean() > 0.5):
            continue  # enclosed by skin: glare or a pale patch of skin, never a reference
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        contour = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0][0]
        (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
        rectangularity = size / max(rw * rh, 1.0)
        if not touches_border and rectangularity > cfg.card_min_rectangularity and size <= cfg.card_max_fraction * area:
            card_candidates.append((rectangularity * size, region))
        elif touches_border and size >= cfg.backdrop_min_fraction * area:
            backdrop_parts.append(region)
    if card_candidates:
        _, region = max(card_candidates, key=lambda c: c[0])
        colour, spread, clipped = _robust_colour(linear, erode(region, 3))
        if np.all(np.isfinite(colour)):
            fraction = float(region.mean())
            confidence = min(1.0, fraction / 0.01) * float(np.exp(-spread / 3.0)) * (1.0 - clipped)
            found["grey_card"] = NeutralReference(
                "grey_card", colour, confidence, fraction, details={"lightness_sd": round(spread, 3)}
            )
    if backdrop_parts:
        region = np.logical_or.reduce(backdrop_parts)
        colour, spread, clipped = _robust_colour(linear, erode(region, 3))
        if np.all(np.isfinite(colour)):
            fraction = float(region.mean())
            # A backdrop is less trustworthy than a card: it is lit unevenly and may not be neutral.
            confidence = cfg.backdrop_trust * min(1.0, fraction / 0.1) * float(np.exp(-spread / 6.0)) * (1.0 - clipped)
            found["backdrop"] = NeutralReference(
                "backdrop", colour, confidence, fraction, details={"lightness_sd": round(spread, 3)}
            )
    return found


def _gains(measured: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-channel gains g minimising |g * measured - target|² (rows = neutral samples)."""
    measured = np.atleast_2d(measured)
    target = np.atleast_2d(target)
    usable = np.all((measured > 0.002) & (measured < 0.98), axis=1)  # skip clipped patches
    if not usable.any():
        usable[:] = True
    m, t = measured[usable], target[usable]
    return (m * t).sum(axis=0) / np.maximum((m * m).sum(axis=0), 1e-12)


def apply_gains(photo: Photo, gains: np.ndarray) -> np.ndarray:
    """The photo's pixels with one gain per channel on linear RGB (``encode(gain * decode(v))``, by lookup table)."""
    levels = srgb8_to_linear(np.arange(256, dtype=np.uint8)[:, None, None].repeat(3, axis=2))[:, 0, :]
    tables = linear_to_srgb8(levels * gains[None, :])  # 256 x 3
    lut = np.ascontiguousarray(tables.reshape(256, 1, 3))
    return cv2.LUT(np.ascontiguousarray(photo.rgb), lut)


def normalize(
    photo: Photo | np.ndarray,
    reference: Photo | np.ndarray | None = None,
    *,
    card_reflectance: float | None | object = _FROM_CONFIG,
    chart_pitch_mm: float | None = None,
    config: NormalizeConfig | None = None,
) -> Photo:
    """Correct exposure and white balance from a neutral reference in frame.

    Parameters
    ----------
    photo : Photo or ndarray
        The photo to correct.
    reference : Photo or ndarray, optional
        The baseline photo of the same area: the follow-up's neutral is mapped
        to the baseline's (exposure included).
    card_reflectance : float or None, optional
        Known reflectance of the grey card (0.18 for a standard 18 % card);
        None keeps the card's measured luminance.
    chart_pitch_mm : float
        Centre-to-centre patch distance of the chart, for ``mm_per_px``
        (12.7 mm: ColorChecker Classic Mini / Passport; measure yours).
    config : NormalizeConfig, optional
        All settings (``card_reflectance`` and ``chart_pitch_mm``, when given, override it).

    Returns
    -------
    Photo
        Corrected pixels; ``metadata["normalization"]`` says what was done.
    """
    cfg = config or DEFAULT_CONFIG
    if card_reflectance is not _FROM_CONFIG:
        cfg = replace(cfg, card_reflectance=card_reflectance)
    if chart_pitch_mm is not None:
        cfg = replace(cfg, chart_pitch_mm=float(chart_pitch_mm))
    card_reflectance, chart_pitch_mm = cfg.card_reflectance, cfg.chart_pitch_mm
    photo = load_photo(photo)
    own = find_neutral_references(photo, cfg)
    info: dict[str, Any] = {"found": sorted(own)}
    # Gains from every usable reference: method -> (gains, measured, target, confidence).
    candidates: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]] = {}
    if reference is not None:
        reference = load_photo(reference)
        theirs = find_neutral_references(reference, cfg)
        info["reference_sha256"] = reference.sha256
        info["reference_found"] = sorted(theirs)
        info["target"] = "the baseline's neutral of the same kind"
        for name in METHODS:
            if name in own and name in theirs:
                measured, target = own[name].neutral, theirs[name].neutral
                confidence = min(own[name].confidence, theirs[name].confidence)
                candidates[name] = (_gains(measured, target), measured, target, confidence)
    else:
        for name in METHODS:
            if name not in own:
                continue
            measured = own[name].neutral
            if name == "chart":
                target = REFERENCE_LINEAR[NEUTRALS].mean(axis=1, keepdims=True).repeat(3, axis=1)
            elif name == "grey_card" and card_reflectance is not None:
                target = np.full(3, float(card_reflectance))
            else:
                target = np.full(3, float(luminance(np.asarray(measured, np.float32))))
            candidates[name] = (_gains(measured, target), measured, target, own[name].confidence)
        info["target"] = {
            "chart": "the chart's published neutral patches",
            "grey_card": f"neutral grey of {card_reflectance:.0%} reflectance" if card_reflectance else "neutral at the card's own luminance",
            "backdrop": "neutral at the backdrop's own luminance",
        }.get(next(iter(candidates), ""), None)
    candidates = {k: v for k, v in candidates.items() if np.all(np.isfinite(v[0])) and np.all(v[0] > 0)}
    gains = None
    if candidates:
        method = next(iter(candidates))  # the preferred kind sets the exposure
        preferred, measured, target, confidence = candidates[method]
        # White balance (the ratios between channels) from every neutral reference found,
        # weighted by confidence: more neutral pixels, less noise; exposure from the best kind.
        weights = np.array([max(c[3], 1e-3) for c in candidates.values()])
        log_chroma = np.array([np.log(c[0]) - np.log(c[0][1]) for c in candidates.values()])
        chroma = np.exp((weights[:, None] * log_chroma).sum(axis=0) / weights.sum())
        gains = chroma * preferred[1]
        info["white_balance_from"] = list(candidates)
    if gains is None or not np.all(np.isfinite(gains)) or np.any(gains <= 0):
        info.update(method="none", gains=[1.0, 1.0, 1.0], confidence=0.0, reason="no neutral reference (chart, grey card or backdrop) found; photo unchanged")
        return photo.with_metadata(normalization=info)
    corrected = apply_gains(photo, gains)
    info.update(
        method=method,
        gains=[round(float(g), 5) for g in gains],
        exposure=round(float(luminance(gains.astype(np.float32))), 5),
        measured_neutral=np.round(np.atleast_2d(measured), 5).tolist(),
        target_neutral=np.round(np.atleast_2d(target), 5).tolist(),
        confidence=round(float(confidence), 3),
        clipped_fraction=round(float((corrected == 255).any(axis=2).mean()), 5),
        reason=f"corrected from the {method.replace('_', ' ')}",
    )
    if "chart" in own:
        info["mm_per_px"] = round(own["chart"].mm_per_px * chart_pitch_mm / CHART_PATCH_PITCH_MM, 5)
    return photo.derive(corrected, normalization=info)
