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

Known limits: a* depends on white balance, so photos must be colour-normalised
from a neutral reference first (:func:`skintrack.normalize`); tanned or dark
skin has a higher normal a*, which the baseline-relative threshold absorbs.

References
----------
.. [1] Takiwaki H. et al., "Measurement of skin color: practical application and
   theoretical considerations", J Med Invest 44 (1998) 121-126; Clarys P. et al.,
   "Skin color measurements: comparison between three instruments",
   Skin Res Technol 6 (2000) 230-238.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..filters import robust_median, robust_sd

__all__ = ["RednessResult", "measure_redness", "redness_map", "red_threshold"]


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
