"""Texture: fine-scale roughness and fine lines / wrinkles.

Formulas
--------
``texture_roughness``
    Root-mean-square of a band-pass (difference of Gaussians) of L*::

        T = G_σ1(L*) - G_σ2(L*),   σ1 = 1 px, σ2 = 3 px (working resolution)
        texture_roughness = sqrt(mean(T²))   over inner skin, spots and lines excluded

    Units: L*. Rises with bumpy, scarred, porous texture (acne scars, enlarged
    pores); falls as the surface smooths. Spots and lines are measured by their
    own metrics and left out here so the families do not mix.
``line_density``
    ``100 · |lines| / |skin|`` (% of ROI skin on fine lines / wrinkles).
    Lines come from a ridge filter on the Hessian of L* with **fixed scales
    and a fixed normalisation** (no per-image rescaling, unlike scikit-image's
    ``frangi(gamma=None)``, and without its scale-normalisation issue #7711)::

        R_σ = σ² · max(λ1 - |λ2|, 0),      λ1 ≥ λ2 eigenvalues of the Hessian at scale σ
        R   = max over σ ∈ ``scales`` of R_σ / 0.385

    For a dark line with a Gaussian cross-section of depth ΔL* and width w,
    σ²λ1 peaks at σ = √2·w with the value 2/3^1.5·ΔL* = 0.385·ΔL*, so ``R``
    reads directly as the line's depth in ΔL*, whatever its width (tested).
    The three scales (1.0, 1.7, 2.9 px) are a factor 1.7 apart, so for any
    width from 0.55 to 2.7 px the best scale is within a factor 1.3 of the
    ideal one and R is at least 96 % of the depth. Blobs (λ1 ≈ λ2) give R ≈ 0, so pores and spots are not lines.
    A pixel is on a line when ``R > T_line`` with

        T_line = max(min_delta, median(R) + k · robust_sd(R))   on the **baseline** skin,

    in a connected piece of at least ``min_length`` pixels shaped like a line
    (elongated, or long for its width when lines cross or curve:
    :func:`skintrack.measure.masks.line_like`); membership is soft within ±25 % of ``T_line``
    (see :func:`detect_lines`) so lines near the threshold do not flip between
    repeat photos. Units: % of ROI skin. Falls with fewer, shallower or
    shorter lines.

Known limits: deep creases that cast shadows darker than ``hair_contrast`` are
taken for hair by the skin mask; lines along the edge of the ROI are missed.

References
----------
Frangi A. F. et al., "Multiscale vessel enhancement filtering", MICCAI 1998;
Lindeberg T., "Edge detection and ridge detection with automatic scale
selection", IJCV 30 (1998) 117-156 (γ-normalised derivatives, γ = 1 here).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..filters import robust_median, robust_sd
from ..masks import component_shape, line_like

__all__ = ["RIDGE_GAIN", "LineResult", "band_pass", "detect_lines", "hessian", "hessian_eigenvalues", "line_threshold", "ridge_strength", "roughness"]

#: σ²·λ1 of a Gaussian-profile line at its best scale, per unit depth: 2 / 3^1.5.
RIDGE_GAIN = 2.0 / 3.0**1.5


@dataclass
class LineResult:
    line_density: float
    mask: np.ndarray


@lru_cache(maxsize=16)
def _gaussian_kernels(sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampled Gaussian and its first/second derivatives, exactly normalised."""
    radius = max(3, int(np.ceil(4.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    d1 = -x / sigma**2 * g
    d1 /= -(x * d1).sum()  # derivative of x is exactly 1
    d2 = (x**2 / sigma**4 - 1 / sigma**2) * g
    d2 -= d2.mean()  # derivative of a constant is exactly 0
    d2 /= (0.5 * x**2 * d2).sum()  # second derivative of x²/2 is exactly 1
    return g.astype(np.float32), d1.astype(np.float32), d2.astype(np.float32)


def hessian(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-derivative Hessian ``(Lxx, Lyy, Lxy)`` of ``image`` at scale ``sigma``."""
    g, d1, d2 = _gaussian_kernels(float(sigma))
    image = image.astype(np.float32, copy=False)
    lxx = cv2.sepFilter2D(image, cv2.CV_32F, d2, g, borderType=cv2.BORDER_REFLECT)
    lyy = cv2.sepFilter2D(image, cv2.CV_32F, g, d2, borderType=cv2.BORDER_REFLECT)
    lxy = cv2.sepFilter2D(image, cv2.CV_32F, d1, d1, borderType=cv2.BORDER_REFLECT)
    return lxx, lyy, lxy


def hessian_eigenvalues(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (λ1 ≥ λ2) of the Gaussian-derivative Hessian at scale ``sigma``."""
    lxx, lyy, lxy = hessian(image, sigma)
    mean = 0.5 * (lxx + lyy)
    root = np.sqrt(0.25 * (lxx - lyy) ** 2 + lxy**2)
    return mean + root, mean - root


def ridge_strength(L: np.ndarray, scales: tuple[float, ...] = (1.0, 1.7, 2.9)) -> np.ndarray:
    """``R``: dark-line depth in ΔL* (see module docstring).

    With m = (λ1 + λ2)/2 and r = (λ1 - λ2)/2, ``λ1 - |λ2| = 2·min(m, r)``,
    which avoids computing the eigenvalues themselves.
    """
    L = L.astype(np.float32, copy=False)
    height, width = L.shape
    strength = np.zeros(L.shape, np.float32)
    half = None
    for sigma in scales:
        # σ²λ is dimensionless, so a wide scale can be computed on a half-size copy
        # (at σ/2) and interpolated back: the same response at a quarter of the cost.
        coarse = sigma >= 2.5
        if coarse and half is None:
            half = cv2.resize(L, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        lxx, lyy, lxy = hessian(half if coarse else L, sigma / 2 if coarse else sigma)
        mean = cv2.addWeighted(lxx, 0.5, lyy, 0.5, 0.0)
        root = cv2.magnitude(cv2.addWeighted(lxx, 0.5, lyy, -0.5, 0.0), lxy)
        np.minimum(mean, root, out=mean)
        response = mean * np.float32(2.0 * (sigma / 2 if coarse else sigma) ** 2)
        if coarse:
            response = cv2.resize(response, (width, height), interpolation=cv2.INTER_LINEAR)
        np.maximum(strength, response, out=strength)
    return strength * np.float32(1.0 / RIDGE_GAIN)


def line_threshold(strength: np.ndarray, skin: np.ndarray, min_delta: float = 2.5, k: float = 4.0) -> float:
    """``T_line``: the ridge depth (ΔL*) above which skin is on a line (from a baseline)."""
    return float(max(min_delta, robust_median(strength, skin) + k * robust_sd(strength, skin)))


def detect_lines(
    strength: np.ndarray, skin: np.ndarray, threshold: float, min_length: int = 15, min_elongation: float = 3.0
) -> LineResult:
    """Line mask and ``line_density`` from a ridge map and ``T_line``.

    Membership is soft around the threshold: a pixel of a line counts
    ``smoothstep(0.75 T, 1.25 T, R)`` — fully well above ``T``, not at all well
    below — so a line whose depth sits near the threshold does not flip in and
    out of the measure between two photos of the same skin. The mask returned
    holds the pixels counting at least one half.
    """
    candidates = (strength > 0.75 * threshold) & skin
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    n_skin = max(int(skin.sum()), 1)
    if count <= 1:
        return LineResult(0.0, np.zeros_like(skin))
    area, _ = component_shape(labels, count)
    valid = (area >= min_length) & line_like(candidates, labels, count, min_elongation)
    valid[0] = False
    on_line = valid[labels]
    t = np.clip((strength[on_line] - 0.75 * threshold) / (0.5 * threshold), 0.0, 1.0)
    weight = t * t * (3.0 - 2.0 * t)
    mask = on_line & (strength >= threshold)
    return LineResult(100.0 * float(weight.sum()) / n_skin, mask)


def band_pass(L: np.ndarray, sigma_fine: float = 1.0, sigma_coarse: float = 3.0) -> np.ndarray:
    """Difference of Gaussians of L*: the fine texture band."""
    return cv2.GaussianBlur(L, (0, 0), sigma_fine) - cv2.GaussianBlur(L, (0, 0), sigma_coarse)


def roughness(band: np.ndarray, region: np.ndarray) -> float:
    """``texture_roughness``: RMS of the band-passed L* (:func:`band_pass`) over ``region``."""
    values = band[region]
    if values.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(values.astype(np.float64) ** 2)))
