"""Robust statistics and smoothing of images, shared by the skin mask and the metrics (morphology of
masks is :mod:`skintrack.measure.masks`)."""

from __future__ import annotations

import cv2
import numpy as np

#: MAD -> standard deviation for normally distributed data.
MAD_TO_SD = 1.4826


def sample(values: np.ndarray, mask: np.ndarray | None = None, max_count: int = 60_000) -> np.ndarray:
    """A deterministic, evenly strided subsample (of the pixels in ``mask``) for robust statistics.

    Striding happens before masking, so a large image is never copied whole.
    """
    values = np.asarray(values).ravel()
    if mask is None:
        return values[:: max(1, values.size // max_count)]
    mask = np.asarray(mask).ravel()
    step = max(1, int(np.count_nonzero(mask)) // max_count)
    return values[::step][mask[::step]]


def robust_sd(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Standard deviation estimated from the median absolute deviation.

    Computed on an evenly strided subsample of at most ~60 000 values (the
    median of a large image region does not need every pixel).
    """
    values = sample(values, mask).astype(np.float64)
    if values.size == 0:
        return float("nan")
    return float(MAD_TO_SD * np.median(np.abs(values - np.median(values))))


def robust_median(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Median of an evenly strided subsample (see :func:`robust_sd`)."""
    values = sample(values, mask)
    return float(np.median(values)) if values.size else float("nan")


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing; wide kernels run on a reduced copy (the result is smooth anyway)."""
    image = image.astype(np.float32, copy=False)
    if sigma < 6.0:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    height, width = image.shape[:2]
    factor = int(sigma // 2)  # the reduced blur keeps σ >= 2 px, well sampled
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def masked_gaussian(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian average of ``image`` over the pixels in ``mask`` only (normalised convolution).

    ``G*(image·mask) / G*mask``: a smooth field that ignores the pixels outside
    ``mask`` and bridges holes in it. Where no masked pixel is within reach the
    median of the masked pixels is used.
    """
    weights = mask.astype(np.float32)
    numerator = gaussian(image.astype(np.float32) * weights, sigma)
    denominator = gaussian(weights, sigma)
    fallback = robust_median(image, mask) if mask.any() else robust_median(image)
    return np.where(denominator > 1e-3, numerator / np.maximum(denominator, 1e-3), fallback).astype(np.float32)


def fill_outside(image: np.ndarray, mask: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """Replace pixels outside ``mask`` by a smooth extension of the values inside.

    Normalised convolution: ``G*(image·mask) / G*mask``, so filters applied
    afterwards see no step at the edge of the skin (a backdrop edge would
    otherwise read as a line, a spot or texture).
    """
    if not mask.any():
        return image.astype(np.float32, copy=True)
    return np.where(mask, image, masked_gaussian(image, mask, sigma)).astype(np.float32)


def local_background(
    values: np.ndarray,
    mask: np.ndarray,
    window: int,
    sigma: float,
    *,
    filled: np.ndarray | None = None,
    exclude_delta: float = 2.0,
    offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(G_σ(values), B)``: the smoothed values and their robust local background over ``mask``.

    ``B`` starts as a running median over ``window`` pixels (OpenCV's O(1) algorithm on 8-bit
    data in steps of 0.4 units of ``values + offset``, which must lie in 0-102: L* with no
    offset, a* with ``offset=40``) and is then refined five times as a Gaussian average
    (σ = window / 24, bridged from a coarser average where a hole is wider, see :func:`_bridged`)
    over the pixels of ``mask`` within ``exclude_delta`` of the current background. Leaving out
    as much above as below keeps ``B`` unbiased, and each pass bridges a large lesion further
    inwards from the skin around it, so ``B`` depends only on the skin within about one window.
    The background is smooth, so it is estimated on a quarter-size copy. ``filled`` is
    ``values`` with the pixels outside ``mask`` already filled (:func:`fill_outside`), if the
    caller has it.

    Used for dark spots (``B - G(L*)``, :func:`skintrack.measure.metrics.spots.local_darkness`)
    and red lesions (``G(a*) - B``, :func:`skintrack.measure.metrics.redness.red_excess`).
    """
    filled = fill_outside(values, mask) if filled is None else filled
    smoothed = cv2.GaussianBlur(filled, (0, 0), sigma)
    height, width = values.shape
    small = (max(1, width // 4), max(1, height // 4))
    smoothed_q = cv2.resize(smoothed, small, interpolation=cv2.INTER_AREA)
    mask_q = cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0.5
    quantised = np.clip(np.rint((smoothed_q + offset) * 2.5), 0, 255).astype(np.uint8)
    background = gaussian(cv2.medianBlur(quantised, max(3, (window // 4) | 1)).astype(np.float32) / 2.5 - offset, 2.0)
    for _ in range(5):
        clear = mask_q & (np.abs(background - smoothed_q) < exclude_delta)
        if not clear.any():
            break
        background = _bridged(smoothed_q, clear, window / 24.0)
    return smoothed, cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)


def _bridged(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian average of ``values`` over ``mask`` (σ = ``sigma``); where ``mask`` has a hole wider than
    the kernel reaches (the inside of a large lesion) it is bridged from a coarser average (σ × 4), so
    the background there comes from the skin around the lesion rather than from one global median."""
    weights = mask.astype(np.float32)
    out = None
    for factor in (1.0, 4.0):
        numerator = gaussian(values * weights, sigma * factor)
        denominator = gaussian(weights, sigma * factor)
        estimate = numerator / np.maximum(denominator, 1e-6)
        if out is None:
            out, reach = estimate, denominator
        else:
            # Blend in the coarser estimate where the finer one had little skin to average.
            blend = np.clip(reach / 0.05, 0.0, 1.0)
            out = blend * out + (1.0 - blend) * estimate
            reach = np.maximum(reach, denominator)
    fallback = robust_median(values, mask)
    return np.where(reach > 1e-3, out, fallback).astype(np.float32)
