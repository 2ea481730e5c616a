"""Dark spots: compact regions clearly darker than the skin around them.

Formulas
--------
Local darkness (ΔL*, positive = darker than the surroundings)::

    D = B - G_σ(L*),     B = G(median_W(L*))

where ``median_W`` is a running median over a ``window`` × ``window`` pixel
square (computed at half resolution) and ``G`` a Gaussian smoothing: the
*local* background, so a lighting gradient across the face never reads as a
spot, and a spot smaller than half the window does not pull its own background
down. ``G_σ`` (σ = 1 px) removes sensor noise.

Detection (hysteresis + half maximum):

1. candidate regions: ``D > T_spot / 2`` on skin;
2. a region is a spot if its peak ``D`` reaches ``T_spot`` where
   ``T_spot = max(min_delta, k · robust_sd(D))`` over the **baseline** skin;
3. its extent is where ``D`` is at least half its peak (full width at half
   maximum), so the measured area does not shrink as a spot fades;
4. it must cover ``min_area`` pixels and be compact (ratio of principal axes
   ≤ ``max_elongation``): lines, wrinkles and hairs are not spots;
5. it must not touch the outer edge of the measured skin, where its
   surroundings are unknown (the skin's own darkening towards its rim would
   read as spots); small holes such as a hair crossing a spot do not count as
   an edge.

Metrics
-------
``spot_count``
    number of spots.
``spot_area_pct``
    ``100 · |spots| / |skin|`` (% of ROI skin).
``spot_contrast``
    mean ``D`` over spot pixels, in ΔL* (positive = darker). It falls as spots
    fade even when their area does not; 0.0 when there is no spot.

All rise with pigmentation (lentigines, post-inflammatory hyperpigmentation,
acne marks, moles) and fall as it fades. Known limits: darkening that spans
more than a few windows (``window`` px at the working resolution, default 201
px ≈ 20 % of the frame's long side) is background tone, not spots (see
``evenness``); raised lesions that are not darker are not counted.

References
----------
Otsu-free local thresholding of pigmented spots follows the idea of
background-subtracted lesion detection in e.g. Kikuchi K. et al., "Automatic
evaluation of facial hyperpigmentation", Skin Res Technol (2019); the
half-maximum extent is the usual FWHM convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..imaging import component_shape, fill_outside, gaussian, masked_gaussian, remove_small, robust_median, robust_sd

__all__ = ["SpotResult", "detect_spots", "local_darkness", "spot_threshold"]


@dataclass
class SpotResult:
    spot_count: float
    spot_area_pct: float
    spot_contrast: float
    mask: np.ndarray


def local_darkness(
    L: np.ndarray,
    skin: np.ndarray,
    window: int = 201,
    sigma: float = 2.0,
    filled_L: np.ndarray | None = None,
    exclude_delta: float = 2.0,
) -> np.ndarray:
    """``D``: how much darker (ΔL*) each pixel is than its local skin background.

    The background starts as a running median over ``window`` pixels (robust to
    spots smaller than half the window) and is then refined twice as a Gaussian
    average (σ = window / 6) over the skin pixels that are *not* more than
    ``exclude_delta`` darker than the current background, so large or crowded
    spots are bridged from the skin around them rather than averaged in.
    ``filled_L`` is L* with the non-skin pixels filled, if the caller has it.
    """
    filled = fill_outside(L, skin) if filled_L is None else filled_L
    smoothed = cv2.GaussianBlur(filled, (0, 0), sigma)
    height, width = L.shape
    quarter = cv2.resize(filled, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    # Running median on 8-bit data (OpenCV's O(1) algorithm) in 0.4 L* steps.
    quantised = np.clip(np.rint(quarter * 2.5), 0, 255).astype(np.uint8)
    background = cv2.medianBlur(quantised, max(3, (window // 4) | 1)).astype(np.float32) / 2.5
    background = cv2.resize(gaussian(background, 2.0), (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(2):
        clear_skin = skin & (background - smoothed < exclude_delta)
        if not clear_skin.any():
            break
        background = masked_gaussian(smoothed, clear_skin, window / 6.0)
    return background - smoothed


def spot_threshold(darkness: np.ndarray, skin: np.ndarray, min_delta: float = 4.0, k: float = 3.0) -> float:
    """``T_spot``: the peak darkness (ΔL*) a spot must reach (from a baseline)."""
    values = darkness[skin]
    return float(max(min_delta, robust_median(values) + k * robust_sd(values)))


def detect_spots(
    darkness: np.ndarray,
    skin: np.ndarray,
    threshold: float,
    min_area: int = 12,
    max_elongation: float = 3.0,
) -> SpotResult:
    """Find dark spots in a darkness map ``D`` given ``T_spot``; see the module docstring."""
    candidates = (darkness > 0.5 * threshold) & skin
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    n_skin = max(int(skin.sum()), 1)
    empty = SpotResult(0.0, 0.0, 0.0, np.zeros_like(skin))
    # A spot lies inside one candidate region, so regions below the minimum area can go now.
    big = stats[:, cv2.CC_STAT_AREA] >= min_area
    big[0] = False
    if not big.any():
        return empty
    inside = big[labels]
    peak = np.zeros(count)
    np.maximum.at(peak, labels[inside], darkness[inside])
    strong = big & (peak >= threshold)
    region = strong[labels] & (darkness >= 0.5 * peak[labels])
    count, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    if count <= 1:
        return empty
    area, elongation = component_shape(labels, count)
    valid = (area >= min_area) & (elongation <= max_elongation)
    # A region touching the outer edge of the measured skin has unknown surroundings: not
    # counted. Small holes in the skin (a hair across a spot, a glint) do not make an edge.
    outside = remove_small(~skin, max(min_area, int(0.002 * skin.size)))
    edge = skin & cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    valid[np.unique(labels[edge])] = False
    valid[0] = False
    mask = valid[labels]
    n_spots = int(valid.sum())
    if n_spots == 0:
        return empty
    return SpotResult(
        spot_count=float(n_spots),
        spot_area_pct=100.0 * float(mask.sum()) / n_skin,
        spot_contrast=float(darkness[mask].mean()),
        mask=mask,
    )
