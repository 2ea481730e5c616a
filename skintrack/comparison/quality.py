"""Quality gate: is this photo fit to be measured and compared?

:func:`check_quality` returns a list of :class:`Issue` (empty when the photo is
fine). Each has a stable ``code``, a ``severity`` — ``"warn"`` (measure, but
say so) or ``"block"`` (do not measure or compare) — a message a provider
understands, and the measured ``value`` with the ``limit`` it broke.

All checks run at the fixed working resolution (long side 1024 px), on the
automatic skin mask, so they do not depend on the camera's pixel count:

=================  =====================================================  ==========  ==========
code               measure                                                warn        block
=================  =====================================================  ==========  ==========
``low_resolution`` long side of the original photo, px                    < 1000      —
``blurred``        sharpness: variance of the Laplacian of L* on skin     < 5.0       < 1.5
``underexposed``   median L* of skin                                      < 35        < 22
``overexposed``    median L* of skin                                      > 82        > 90
``clipped``        share of skin pixels with a channel at 255, %          > 2         > 10
``glare``          specular glare as a share of skin + glare, %           > 3         > 10
``little_skin``    skin share of the frame, %                             < 10        < 3
``exposure``       follow-up only, without a neutral reference in both:   ±8          —
                   its skin's median L* minus the baseline's (ΔL*)
=================  =====================================================  ==========  ==========

The sharpness limits were set on the synthetic skin: a sharp photo scores ~35,
a Gaussian blur of σ = 1 px (at 1024 px) ~4.4, σ = 2 px ~0.9. Smooth skin with
little texture scores lower when sharp too, so "blurred" is judged together
with the photo itself.

A photo smaller than the working resolution is judged for blur at its **own**
resolution, never upscaled: interpolation spreads each pixel over several, so a
sharp 300 px photo upscaled to 1024 px scores ~3 and would be called blurred.
That is a resolution issue, reported as ``low_resolution``; blur is detail lost
below the photo's own pixel grid. (On the 60 real 300 px repeat shots in
``../shared/real_photos/external/repeats``: upscaled, a median of 3.5 and 25 of
the 60 "blocked"; at their own resolution a median of 113 and a minimum of 8,
while the same photos blurred with σ = 3 of their pixels score a median of 0.9
and 84 % are blocked, every one at least warned.)

**Exposure against the baseline** (:func:`exposure_change`, issue 20). A follow-up whose light was
corrected from a neutral reference shared with the baseline (chart, grey card, backdrop) has the
baseline's exposure. Without one in both photos nothing can tell light from skin: a follow-up whose
skin is more than 8 L* units brighter or darker than the baseline's is warned, and its changes in
colour and tone are never called beyond noise (they may be the light). It is still compared: texture,
spots and red lesions are judged against the skin around them and keep their verdicts. On the 31
untreated real repeat pairs (``../shared/real_photos/external/repeats`` + PAT_417, phone light, no
reference) the two shots' skin differ by ΔL* 0.3-27 (median 7.3; 14 of 31 above 8), all of it light.
The skin is judged on each photo's own skin mask; this withholds a verdict, it never corrects a photo
from its skin (rule 1).

Every limit is a field of :class:`QualityConfig`, part of a comparison's
settings hash (:mod:`skintrack.compare`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..intake.photo import Photo, load_photo
from ..measure.analysis import photo_face, photo_skin, working_lab, working_rgb
from ..measure.colour import rgb_to_lab
from ..measure.masks import erode

__all__ = ["Issue", "QualityConfig", "check_quality", "exposure_change", "exposure_check", "exposure_difference", "sharpness"]


@dataclass(frozen=True)
class QualityConfig:
    """Limits of the quality gate (see the module docstring's table)."""

    working_size: int = 1024  #: long side at which the checks run, px (smaller photos: blur at their own size)
    min_resolution: int = 1000  #: long side of the original photo below which it warns, px
    blur_warn: float = 5.0  #: sharpness (variance of the Laplacian of L*) below which it warns
    blur_block: float = 1.5  #: ... and blocks
    sharpness_margin_px: int = 4  #: skin edge left out of the sharpness, working px
    dark_warn: float = 35.0  #: median skin L* below which it warns
    dark_block: float = 22.0
    bright_warn: float = 82.0  #: median skin L* above which it warns
    bright_block: float = 90.0
    clipped_warn: float = 2.0  #: % of skin with a channel at 255
    clipped_block: float = 10.0
    glare_warn: float = 3.0  #: % of skin + glare that is glare
    glare_block: float = 10.0
    skin_warn: float = 10.0  #: % of the frame that is skin
    skin_block: float = 3.0
    exposure_warn: float = 8.0  #: |ΔL*| of a follow-up's skin against the baseline's, no shared neutral reference


DEFAULT_CONFIG = QualityConfig()


@dataclass(frozen=True)
class Issue:
    code: str
    severity: str  # "warn" or "block"
    message: str
    value: float
    limit: float

    def to_dict(self) -> dict:
        return asdict(self)


def sharpness(L: np.ndarray, region: np.ndarray) -> float:
    """Variance of the Laplacian of L* over ``region`` (higher = sharper)."""
    laplacian = cv2.Laplacian(L.astype(np.float32), cv2.CV_32F, ksize=3)
    values = laplacian[region]
    return float(values.var()) if values.size else float("nan")


def _grade(code, value, warn, block, higher_is_worse, warn_text, block_text):
    worse = (lambda v, lim: v > lim) if higher_is_worse else (lambda v, lim: v < lim)
    if block is not None and worse(value, block):
        return Issue(code, "block", block_text, round(float(value), 3), block)
    if worse(value, warn):
        return Issue(code, "warn", warn_text, round(float(value), 3), warn)
    return None


def check_quality(photo: Photo | np.ndarray, config: QualityConfig | None = None) -> list[Issue]:
    """Check a photo before measuring it; see the module docstring for the limits.

    A reduced copy made for measuring (:func:`skintrack.comparison.compare.measuring_copy`) is
    judged by its source's resolution (``metadata["source_size"]``).
    """
    cfg = config or DEFAULT_CONFIG
    photo = load_photo(photo)
    rgb, lab = working_rgb(photo, cfg.working_size), working_lab(photo, cfg.working_size)
    masks = _skin_masks(photo, cfg)
    skin = masks.skin
    issues: list[Issue | None] = []
    long_side = max(photo.metadata.get("source_size") or photo.size)
    issues.append(
        _grade("low_resolution", long_side, cfg.min_resolution, None, False,
               f"Low resolution ({long_side} px on the long side): fine texture and lines are measured less "
               "reliably; use the camera's full resolution.", "")
    )  # fmt: skip
    skin_pct = 100.0 * float(skin.mean())
    issues.append(
        _grade("little_skin", skin_pct, cfg.skin_warn, cfg.skin_block, False,
               f"Only {skin_pct:.0f}% of the frame is skin; frame the treated area more closely.",
               f"Hardly any skin found ({skin_pct:.1f}% of the frame); nothing reliable can be measured.")
    )  # fmt: skip
    if skin.sum() >= 500:
        inner = erode(skin, cfg.sharpness_margin_px)
        sharp = _own_resolution_sharpness(photo, lab, inner if inner.sum() >= 500 else skin, cfg)
        issues.append(
            _grade("blurred", sharp, cfg.blur_warn, cfg.blur_block, False,
                   "The photo looks slightly blurred; hold still and tap to focus on the skin.",
                   "The photo is blurred; texture and line measures would be wrong. Please retake it in focus.")
        )  # fmt: skip
        median_L = float(np.median(lab[..., 0][skin]))
        issues.append(
            _grade("underexposed", median_L, cfg.dark_warn, cfg.dark_block, False,
                   "The skin is dark in this photo; add light.",
                   "The photo is far too dark to measure; retake it with more light.")
        )  # fmt: skip
        issues.append(
            _grade("overexposed", median_L, cfg.bright_warn, cfg.bright_block, True,
                   "The skin is very bright in this photo; reduce the light or exposure.",
                   "The photo is overexposed; colours on the skin are lost. Retake it with less light.")
        )  # fmt: skip
        clipped_pct = 100.0 * float((rgb[skin] >= 255).any(axis=1).mean())
        issues.append(
            _grade("clipped", clipped_pct, cfg.clipped_warn, cfg.clipped_block, True,
                   f"{clipped_pct:.1f}% of the skin is clipped to pure white in a colour channel.",
                   f"{clipped_pct:.0f}% of the skin is clipped; redness and tone cannot be measured there.")
        )  # fmt: skip
    glare_pct = 100.0 * float(masks.glare.sum()) / max(float((skin | masks.glare).sum()), 1.0)
    issues.append(
        _grade("glare", glare_pct, cfg.glare_warn, cfg.glare_block, True,
               f"Shine on the skin covers {glare_pct:.1f}%; use diffuse light or a cross-polarised flash.",
               f"Shine covers {glare_pct:.0f}% of the skin; retake with diffuse light.")
    )  # fmt: skip
    return [issue for issue in issues if issue is not None]


def _skin_masks(photo: Photo, cfg: QualityConfig):
    # With a face in frame only the face is skin (glare and exposure are judged on it, not on the wall).
    face = photo_face(photo)
    return photo_skin(photo, cfg.working_size, face=face if face is not None and face.confident else None)


def _skin_lightness(photo: Photo, cfg: QualityConfig) -> float:
    """Median L* of the photo's own skin at the working size (NaN with too little skin)."""
    skin = _skin_masks(photo, cfg).skin
    if skin.sum() < 500:
        return float("nan")
    return float(np.median(working_lab(photo, cfg.working_size)[..., 0][skin]))


def _shared_reference(follow_up: Photo, baseline: Photo) -> bool:
    """True when the follow-up's light was corrected from a neutral reference the baseline had too."""
    own = (follow_up.metadata.get("normalization") or {}).get("method") or "none"
    base = (baseline.metadata.get("normalization") or {}).get("method") or "none"
    return own != "none" and base != "none"


def exposure_check(follow_up: Photo, baseline: Photo, config: QualityConfig | None = None) -> tuple[float, Issue | None] | None:
    """``(ΔL*, warning or None)`` of :func:`exposure_difference` and :func:`exposure_change`, each skin measured
    once (what :func:`skintrack.compare` records); None when there is nothing to judge."""
    cfg = config or DEFAULT_CONFIG
    if _shared_reference(follow_up, baseline):
        return None
    after, before = _skin_lightness(follow_up, cfg), _skin_lightness(baseline, cfg)
    delta = after - before
    if not np.isfinite(delta):
        return None
    if abs(delta) <= cfg.exposure_warn:
        return float(delta), None
    how = "brighter" if delta > 0 else "darker"
    return float(delta), Issue(
        "exposure", "warn",
        f"The skin is {how} than in the baseline (median L* {after:.0f} against {before:.0f}) and no grey "
        "card or colour chart in both photos corrected the light, so changes in colour and tone (skin tone, "
        "redness, red area, tone spread) may be the light and are not called real. A grey card beside the skin "
        "in both photos lets them be measured.",
        round(float(delta), 3), cfg.exposure_warn,
    )  # fmt: skip


def exposure_difference(follow_up: Photo, baseline: Photo, config: QualityConfig | None = None) -> float | None:
    """``ΔL* = median L*(follow-up skin) − median L*(baseline skin)``, each on its own skin mask (after
    :func:`skintrack.normalize`); None when both photos were corrected from a neutral reference (their
    exposure then matches) or either has too little skin (the other checks say so)."""
    checked = exposure_check(follow_up, baseline, config)
    return None if checked is None else checked[0]


def exposure_change(follow_up: Photo, baseline: Photo, config: QualityConfig | None = None) -> Issue | None:
    """A follow-up much brighter or darker than its baseline when no shared neutral reference corrected it.

    A warning (code ``"exposure"``, ``value`` the signed ΔL* of :func:`exposure_difference`) when
    ``|ΔL*| > exposure_warn``. Such a comparison's changes in colour and tone are never called beyond
    noise (:data:`skintrack.comparison.noise.LIGHT_DEPENDENT`): :func:`skintrack.compare` records the
    difference in the follow-up's ``normalization["light_vs_baseline"]``, which the verdicts read. See the
    module docstring for why the skin may be *judged* here though it never corrects the light.
    """
    checked = exposure_check(follow_up, baseline, config)
    return None if checked is None else checked[1]


def _own_resolution_sharpness(photo: Photo, lab: np.ndarray, region: np.ndarray, cfg: QualityConfig) -> float:
    """Sharpness at the working resolution, or at the photo's own when it is smaller (never upscaled)."""
    width, height = photo.size
    if max(width, height) >= cfg.working_size:
        return sharpness(lab[..., 0], region)
    own_L = rgb_to_lab(photo.rgb)[..., 0]
    own_region = cv2.resize(region.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    return sharpness(own_L, own_region if own_region.sum() >= 100 else np.ones_like(own_region))
