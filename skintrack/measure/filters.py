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
