"""Morphology of boolean masks (erode, dilate, small parts, line-like parts), shared by the skin mask and
the metrics."""

from __future__ import annotations

import cv2
import numpy as np


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    kernel = disk(radius)
    return cv2.erode(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    kernel = disk(radius)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def component_shape(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Area and elongation (ratio of principal axes) of each labelled component."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    n = np.bincount(ids, minlength=count).astype(np.float64)
    safe = np.maximum(n, 1.0)
    mean_x = np.bincount(ids, xs, count) / safe
    mean_y = np.bincount(ids, ys, count) / safe
    dx, dy = xs - mean_x[ids], ys - mean_y[ids]
    sxx = np.bincount(ids, dx * dx, count) / safe + 1.0 / 12.0
    syy = np.bincount(ids, dy * dy, count) / safe + 1.0 / 12.0
    sxy = np.bincount(ids, dx * dy, count) / safe
    half_trace = (sxx + syy) / 2.0
    root = np.sqrt(((sxx - syy) / 2.0) ** 2 + sxy**2)
    elongation = np.sqrt((half_trace + root) / np.maximum(half_trace - root, 1e-9))
    return n, elongation


def disk(radius: int) -> np.ndarray:
    """Elliptical structuring element of the given radius."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """``mask`` without its connected components smaller than ``min_area`` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


def line_like(mask: np.ndarray, labels: np.ndarray, count: int, min_elongation: float = 3.0) -> np.ndarray:
    """Per component of ``labels``: is it shaped like a line (or several crossing lines)?

    True when it is elongated (principal axes at least ``min_elongation`` : 1)
    or long for its width: area at least 20 times the square of its width
    (twice its largest inner distance to the outside). The second test keeps
    curved and crossing lines, whose axes ratio can be low, and rejects round blobs.
    """
    _, elongation = component_shape(labels, count)
    distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    inside = labels > 0
    half_width = np.zeros(count, np.float32)
    np.maximum.at(half_width, labels[inside], distance[inside])
    area = np.bincount(labels[inside], minlength=count)
    return (elongation >= min_elongation) | (area >= 20.0 * (2.0 * half_width) ** 2)
