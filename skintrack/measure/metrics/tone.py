"""Skin tone: individual typology angle (ITA°) and evenness.

Formulas
--------
``ita``
    Mean over ROI skin of the individual typology angle, in degrees [1]_::

        ITA° = atan2(L* - 50, b*) · 180 / π

    computed per pixel on L* and b* smoothed with a Gaussian (σ = 1.5 px) so
    sensor noise does not bias the mean. Higher = lighter skin (> 55° "very
    light", 41-55 light, 28-41 intermediate, 10-28 tan, -30-10 brown, < -30
    dark, per Chardon et al.). Rises as pigmentation lightens, falls with tanning
    or hyperpigmentation.
``evenness``
    Spread of tone: standard deviation of L* over ROI skin after removing
    fine texture (Gaussian, σ = 2 px) and the slow lighting gradient across the
    area (subtracting a Gaussian of σ = long side / 16)::

        evenness = sd( G_2(L*) - G_big(L*) )    over skin

    Units: L*. **Lower is more even**: it falls as blotches, spots and
    discolouration fade. Known limit: discolouration larger than about a
    quarter of the frame is taken for lighting and not counted.

References
----------
.. [1] Chardon A., Cretois I., Hourseau C., "Skin colour typology and suntanning
   pathways", Int J Cosmet Sci 13 (1991) 191-208; Del Bino S., Bernerd F.,
   "Variations in skin colour and the biological consequences of ultraviolet
   radiation exposure", Br J Dermatol 169 (2013) 33-40.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..filters import fill_outside, gaussian

__all__ = ["ToneResult", "ita_map", "measure_tone"]


@dataclass
class ToneResult:
    ita: float
    evenness: float
    ita_map: np.ndarray


def ita_map(L: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Per-pixel ITA° in (-180, 180] from L* and b* smoothed with a Gaussian of ``sigma`` px."""
    L_s = cv2.GaussianBlur(L.astype(np.float32), (0, 0), sigma)
    b_s = cv2.GaussianBlur(b.astype(np.float32), (0, 0), sigma)
    angle = cv2.phase(b_s, L_s - 50.0, angleInDegrees=True)  # atan2(L* - 50, b*) in [0, 360)
    angle[angle > 180.0] -= 360.0
    return angle


def measure_tone(L: np.ndarray, b: np.ndarray, skin: np.ndarray, filled_L: np.ndarray | None = None) -> ToneResult:
    """``ita`` and ``evenness`` over ``skin``; see the module docstring.

    Both are smooth measures, so they are computed on a half-size copy (area
    averaging is itself a smoothing of σ ≈ 1 px; the remaining smoothing is
    done at half scale). ``filled_L`` is L* with the non-skin pixels filled
    (:func:`fill_outside`), if the caller has it already.
    """
    height, width = L.shape
    half = (max(1, width // 2), max(1, height // 2))
    L_half = cv2.resize(L.astype(np.float32), half, interpolation=cv2.INTER_AREA)
    b_half = cv2.resize(b.astype(np.float32), half, interpolation=cv2.INTER_AREA)
    skin_half = cv2.resize(skin.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST).astype(bool)
    ita = ita_map(L_half, b_half, sigma=0.75)
    filled = fill_outside(L, skin) if filled_L is None else filled_L
    filled_half = cv2.resize(filled, half, interpolation=cv2.INTER_AREA)
    detail = cv2.GaussianBlur(filled_half, (0, 0), 1.0) - gaussian(filled_half, max(half) / 16.0)
    ita_full = cv2.resize(ita, (width, height), interpolation=cv2.INTER_LINEAR)
    return ToneResult(
        ita=float(ita[skin_half].mean()), evenness=float(detail[skin_half].std()), ita_map=ita_full
    )
