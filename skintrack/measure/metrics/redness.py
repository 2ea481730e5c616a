"""Redness: mean a* and the share of markedly red skin.

Formulas
--------
``redness``
    Mean CIELAB a* (D65) over ROI skin:  ``redness = mean(a*)``.
    Units: a* units. Rises with erythema (inflammation, flushing, post-treatment
    redness) and with visible vessels; falls as they recede. A change of about
    2.5 a* units is visible to the eye [1]_.
``red_area_pct``
    ``100 · |{a*_s > T_red} ∩ skin| / |skin|`` where ``a*_s`` is a* smoothed with
    a Gaussian (σ = ``sigma`` px, removes sensor and JPEG chroma noise) and

        T_red = median(a*_s) + max(min_delta, k · robust_sd(a*_s))

    measured on the **baseline** session's skin (``reference=`` in
    :func:`skintrack.score`), so later sessions are judged against the same
    yardstick. Units: % of ROI skin.

``red_lesion_count``, ``red_lesion_mean_mm2``
    Red lesions (inflamed acne papules and pustules, post-inflammatory redness, a
    vessel's blush) are local excesses of a* against the skin **around** them, not
    against the photo's median, so a cheek full of inflammation still shows each
    lesion in it::

        E = G_σ(a*) - B(a*)

    with ``B`` the robust local background of
    :func:`skintrack.measure.filters.local_background` (window ``red_lesion_window_mm``,
    15 mm: narrower than the dark spots' because inflamed skin changes over
    centimetres). Lesions are found in ``E`` as dark spots are found in the
    darkness map (:func:`skintrack.measure.metrics.spots.detect_spots`: peak above
    ``T_lesion``, extent at half its typical excess, at least 1 mm across, compact,
    not touching the rim of the measured skin), except that a region of raised
    ``E`` holding several peaks at least twice the least lesion width apart (1.5 mm,
    never under 6 px) is first cut between two of them where ``E`` dips by at least
    a quarter of the lower peak (``split_peaks``): papules along a band of mottled
    redness are counted one by one, as a dermatologist counts them, instead of the
    band failing the shape tests, while a lesion whose top is merely uneven stays whole; with

        T_lesion = max(min_delta, median(E) + k · robust_sd(E))

    over the **baseline** skin without its own lesions, rounded up to 0.25 a* units
    (:func:`red_lesion_threshold`). ``red_lesion_count`` is their number,
    ``red_lesion_mean_mm2`` their mean area in mm² (0 when there is none).

Known limits: a* depends on white balance, so photos must be colour-normalised
from a neutral reference first (:func:`skintrack.normalize`); tanned or dark
skin has a higher normal a*, which the baseline-relative threshold absorbs.

References
----------
.. [1] Takiwaki H. et al., "Measurement of skin color: practical application and
   theoretical considerations", J Med Invest 44 (1998) 121-126; Clarys P. et al.,
   "Skin color measurements: comparison between three instruments",
   Skin Res Technol 6 (2000) 230-238.
.. [2] Tsumura N. et al., "Image-based skin color and texture analysis/synthesis by
   extracting hemoglobin and melanin information in the skin", ACM Trans Graph 22
   (2003) 770-779 (haemoglobin, hence a*, judged against the skin around a lesion).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..filters import local_background, robust_median, robust_sd
from .spots import spot_threshold

__all__ = ["RednessResult", "measure_redness", "red_excess", "red_lesion_threshold", "redness_map", "red_threshold"]

#: a* + A_OFFSET lies in 0-102 for skin (a* of skin is about -10 to 45), as the 8-bit running median needs.
A_OFFSET = 40.0


@dataclass
class RednessResult:
    redness: float
    red_area_pct: float
    red_mask: np.ndarray
    a_map: np.ndarray


def redness_map(a: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """a* smoothed with a Gaussian of ``sigma`` pixels."""
    return cv2.GaussianBlur(a.astype(np.float32), (0, 0), sigma)


def red_threshold(a_map: np.ndarray, skin: np.ndarray, min_delta: float = 4.0, k: float = 3.0) -> float:
    """``T_red``: the a* above which skin counts as markedly red (from a baseline)."""
    return float(robust_median(a_map, skin) + max(min_delta, k * robust_sd(a_map, skin)))


def measure_redness(a: np.ndarray, skin: np.ndarray, threshold: float, a_map: np.ndarray) -> RednessResult:
    """Measure ``redness`` and ``red_area_pct`` over ``skin`` given ``T_red`` and the smoothed a* map."""
    red = (a_map > threshold) & skin
    n_skin = int(skin.sum())
    return RednessResult(
        redness=float(a[skin].mean()),
        red_area_pct=100.0 * float(red.sum()) / n_skin,
        red_mask=red,
        a_map=a_map,
    )


def red_excess(
    a: np.ndarray, skin: np.ndarray, window: int, sigma: float, filled_a: np.ndarray | None = None
) -> np.ndarray:
    """``E``: how much redder (a* units) each pixel is than the skin around it (``G_σ(a*) - B``).

    ``B`` is :func:`skintrack.measure.filters.local_background` over ``skin`` with a window of
    ``window`` pixels; ``filled_a`` is a* with the non-skin pixels filled, if the caller has it.
    """
    smoothed, background = local_background(a.astype(np.float32), skin, window, sigma, filled=filled_a, offset=A_OFFSET)
    return smoothed - background


def red_lesion_threshold(excess: np.ndarray, skin: np.ndarray, min_delta: float = 4.0, k: float = 3.0) -> float:
    """``T_lesion``: the peak excess of a* a red lesion must reach (from a baseline).

    The same rule as the dark spots' threshold (:func:`skintrack.measure.metrics.spots.spot_threshold`):
    ``max(min_delta, median + k · robust_sd)`` of ``E`` over the skin, taken again without the pixels
    beyond the first estimate, rounded up to 0.25.
    """
    return spot_threshold(excess, skin, min_delta, k)
