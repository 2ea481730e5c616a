"""Regions of interest: a region drawn on a photo (:class:`Region`), and any region's stable hash.

The provider outlines the treated area (a scar, a patch) on an area's baseline.
Its points are stored as fractions of the baseline's width and height, so the
region does not depend on the resolution the photo is measured at. Follow-ups
are aligned onto the baseline (:func:`skintrack.align`), so the same region,
rasterised at the baseline's size, selects the same skin in every follow-up:

>>> region = Region.from_dict({"shape": "rectangle", "points": [[0.2, 0.3], [0.6, 0.7]]})
>>> mask = region.mask((1536, 2048))      # boolean, rows x columns of the baseline as measured
>>> score(aligned_follow_up, roi=mask, measurable=alignment.coverage)   # doctest: +SKIP

A region must enclose at least :data:`MIN_AREA` of the photo (a slip of the
finger is not a treated area) and have at most :data:`MAX_POINTS` points.

Whatever the region given to :func:`skintrack.score`, :func:`skintrack.compare` or
the records (``None`` for all the skin, an ``HxW`` boolean mask, a :class:`Region`
or its dict, a rectangle ``(x, y, w, h)`` in the photo's own pixels, or a polygon
``[(x, y), ...]`` in fractions of the frame), :func:`rasterise` is the one place
it becomes pixels: a shape is turned into a :class:`Region` (:meth:`Region.of`)
and filled by :meth:`Region.mask` at the size the photo is measured at, a mask is
resampled. :func:`roi_hash` identifies it in the provenance, so a number can be
traced to the exact region it was measured over.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

__all__ = ["MAX_POINTS", "MIN_AREA", "SHAPES", "Region", "RegionError", "rasterise", "roi_hash", "roi_kind"]

SHAPES = ("rectangle", "polygon")
#: Smallest region accepted, as a share of the photo (0.2 %).
MIN_AREA = 0.002
#: Most polygon points accepted.
MAX_POINTS = 200


class RegionError(ValueError):
    """A region that cannot be used (too few points, outside the photo, too small)."""


@dataclass(frozen=True)
class Region:
    """A rectangle (two opposite corners) or a polygon (three or more corners).

    Attributes
    ----------
    shape : {"rectangle", "polygon"}
    points : tuple of (x, y)
        Fractions of the photo's width (x) and height (y), each in [0, 1].
    """

    shape: str
    points: tuple[tuple[float, float], ...]

    @classmethod
    def from_dict(cls, value: Any) -> "Region":
        """Check and build a region from ``{"shape": ..., "points": [[x, y], ...]}``.

        Raises
        ------
        RegionError
            With a sentence a provider can act on.
        """
        if not isinstance(value, dict):
            raise RegionError("A region needs a shape and its points.")
        shape = value.get("shape")
        if shape not in SHAPES:
            raise RegionError(f"A region is a {' or a '.join(SHAPES)}.")
        raw = value.get("points")
        if not isinstance(raw, (list, tuple)) or len(raw) > MAX_POINTS:
            raise RegionError(f"A region has between 2 and {MAX_POINTS} points.")
        points = []
        for point in raw:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise RegionError("Each point of a region is an (x, y) pair.")
            try:
                x, y = float(point[0]), float(point[1])
            except (TypeError, ValueError):
                raise RegionError("Each point of a region is an (x, y) pair of numbers.") from None
            if not (math.isfinite(x) and math.isfinite(y)):
                raise RegionError("Each point of a region is an (x, y) pair of numbers.")
            points.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))  # a corner just outside is clipped
        if shape == "rectangle":
            if len(points) != 2:
                raise RegionError("A rectangle is given by two opposite corners.")
            (x0, y0), (x1, y1) = points
            points = [(min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))]
        elif len(points) < 3:
            raise RegionError("A polygon needs at least three corners.")
        region = cls(shape, tuple((round(x, 5), round(y, 5)) for x, y in points))
        if region.area < MIN_AREA:
            raise RegionError(f"The region covers {100 * region.area:.2f} % of the photo; outline at least "
                              f"{100 * MIN_AREA:.1f} % (the treated skin).")  # fmt: skip
        return region

    @classmethod
    def of(cls, roi: Any, source_size: tuple[int, int]) -> "Region":
        """The region ``roi`` describes on a photo of ``source_size`` = (width, height) px.

        ``roi`` is a :class:`Region`, its dict (checked as :meth:`from_dict` does: what a provider
        drew), a rectangle ``(x, y, w, h)`` in the photo's own pixels (clipped to the photo), or a
        polygon ``[(x, y), ...]`` in fractions (0-1) of its frame.

        Raises
        ------
        ValueError
            For anything else, a rectangle without width or height, or a polygon outside the frame.
        """
        if isinstance(roi, Region):
            return roi
        if isinstance(roi, dict):
            return cls.from_dict(roi)
        kind, values = roi_kind(roi)
        if kind == "rectangle":
            x, y, w, h = values
            if w <= 0 or h <= 0:
                raise ValueError("roi rectangle needs a positive width and height.")
            width, height = source_size
            clip = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
            return cls("rectangle", ((clip(x / width), clip(y / height)), (clip((x + w) / width), clip((y + h) / height))))
        if min(min(p) for p in values) < 0.0 or max(max(p) for p in values) > 1.0:
            raise ValueError("roi polygon points are fractions of the frame, between 0 and 1.")
        return cls("polygon", tuple((x, y) for x, y in values))

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "points": [list(p) for p in self.points]}

    @property
    def corners(self) -> list[tuple[float, float]]:
        """The outline's corners (a rectangle's four), as fractions."""
        if self.shape == "rectangle":
            (x0, y0), (x1, y1) = self.points
            return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return list(self.points)

    @property
    def area(self) -> float:
        """Share of the photo inside the region (shoelace formula)."""
        xs, ys = zip(*self.corners)
        return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2.0

    @property
    def digest(self) -> str:
        """A short hash of the region (provenance: which region a score used)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def outline(self, size: tuple[int, int]) -> np.ndarray:
        """The corners in pixels of a photo of ``size`` = (width, height), shape (N, 2)."""
        width, height = size
        return np.array([(x * width, y * height) for x, y in self.corners], dtype=np.float64)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The region as a boolean mask of ``shape`` = (rows, columns): its corners, scaled to that size and
        rounded to pixels, filled with their outline (the one rasteriser of every region)."""
        rows, columns = shape[:2]
        mask = np.zeros((rows, columns), np.uint8)
        corners = np.round(self.outline((columns, rows))).astype(np.int32)
        cv2.fillPoly(mask, [corners], 1)
        return mask.astype(bool)

    def draw(self, rgb: np.ndarray, colour: tuple[int, int, int] = (255, 214, 0), thickness: int | None = None) -> np.ndarray:
        """A copy of ``rgb`` with the region's outline drawn on it (for overlays and reports)."""
        out = np.ascontiguousarray(rgb.copy())
        rows, columns = out.shape[:2]
        width = thickness or max(2, round(max(rows, columns) / 300))
        corners = np.round(self.outline((columns, rows))).astype(np.int32)
        cv2.polylines(out, [corners], True, colour, width, lineType=cv2.LINE_AA)
        return out


def rasterise(roi: Any, shape: tuple[int, int], source_size: tuple[int, int]) -> np.ndarray | None:
    """The region of interest ``roi`` as a boolean mask of ``shape`` = (rows, columns), the size the photo is
    measured at; ``source_size`` = (width, height) is the photo's own size, which a rectangle's pixels refer to.

    None stays None (no region); a mask (any resolution) is resampled (nearest); any shape is filled by
    :meth:`Region.mask` (see :meth:`Region.of`).

    Raises
    ------
    ValueError
        For a malformed region, or one that covers no pixel of the photo.
    """
    if roi is None:
        return None
    rows, columns = shape[:2]
    if isinstance(roi, np.ndarray):
        if roi.ndim != 2 or roi.size == 0:
            raise ValueError("roi mask must be a 2-D boolean array.")
        return cv2.resize(roi.astype(np.uint8), (columns, rows), interpolation=cv2.INTER_NEAREST).astype(bool)
    mask = Region.of(roi, source_size).mask((rows, columns))
    if not mask.any():
        raise ValueError("The region of interest covers no pixel of the photo.")
    return mask


def roi_kind(roi: Any) -> tuple[str, list]:
    """``("rectangle", [x, y, w, h])`` or ``("polygon", [[x, y], ...])``, numbers rounded to 1e-6.

    A :class:`Region` (or its dict) is the polygon of its corners (fractions of the frame), as the records
    hand it on.

    Raises
    ------
    ValueError
        For anything else (masks are handled by :func:`roi_hash` itself).
    """
    if isinstance(roi, dict):
        roi = Region.from_dict(roi)
    if isinstance(roi, Region):
        roi = [list(point) for point in roi.corners]
    if isinstance(roi, Sequence) and len(roi) == 4 and all(isinstance(v, (int, float, np.number)) for v in roi):
        return "rectangle", [round(float(v), 6) for v in roi]
    if isinstance(roi, Sequence) and len(roi) >= 3 and all(isinstance(p, Sequence) and len(p) == 2 for p in roi):
        return "polygon", [[round(float(x), 6), round(float(y), 6)] for x, y in roi]
    raise ValueError(
        "roi must be None, an HxW boolean mask, an (x, y, w, h) rectangle in the baseline's pixels "
        "or a polygon [(x, y), ...] in fractions (0-1) of the baseline's frame."
    )


def roi_hash(roi: Any) -> str | None:
    """A stable sha256 of a region of interest (None for none).

    A mask is hashed as its shape and packed bits; a rectangle or polygon as its
    numbers rounded to 1e-6 (JSON). The same region always gives the same hash.
    """
    if roi is None:
        return None
    if isinstance(roi, np.ndarray):
        mask = np.ascontiguousarray(roi.astype(bool))
        if mask.ndim != 2:
            raise ValueError("roi mask must be a 2-D boolean array.")
        digest = hashlib.sha256(f"mask:{mask.shape[0]}x{mask.shape[1]}:".encode())
        digest.update(np.packbits(mask).tobytes())
        return digest.hexdigest()
    kind, values = roi_kind(roi)
    payload = json.dumps({"kind": kind, "values": values}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
