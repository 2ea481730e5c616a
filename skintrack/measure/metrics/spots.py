"""Dark spots: compact regions clearly darker than the skin around them.

Formulas
--------
Local darkness (ΔL*, positive = darker than the surroundings)::

    D = B - G_σ(L*)

All sizes are physical: :func:`skintrack.score` converts ``spot_window_mm``,
``spot_sigma_mm``, ``spot_min_diameter_mm`` and ``spot_min_width_mm`` to pixels
with the photo's scale (chart, else pupil distance, else the skin region), so
pores (0.1-0.5 mm) are never spots whatever the framing.

``B`` is the *local* skin background, so a lighting gradient across the face
never reads as a spot: a running median over a ``window`` × ``window`` square,
refined five times as a Gaussian average (σ = window / 6) over the skin that is
not more than 2 ΔL* darker than the background, so large or crowded spots are
bridged from the skin around them instead of darkening their own background
(computed on a quarter-size copy: it is smooth). ``G_σ``
(σ = 0.35 mm) removes sensor noise and pores, which are texture, not spots.
Nothing global enters ``D``: a spot in one place does not change ``D``, nor the
spots found, more than about one window away.

Detection (hysteresis + half maximum):

1. candidate regions: ``D > T_spot / 2`` on skin;
2. a region is a spot if its peak ``D`` reaches ``T_spot`` where
   ``T_spot = max(min_delta, median(D) + k · robust_sd(D))`` over the
   **baseline** skin without its own spots, rounded up to 0.25 ΔL*
   (:func:`spot_threshold`);
3. its extent is where ``D`` is at least half its typical darkness (the upper
   quartile of ``D`` over the part reaching ``T_spot``): for a flat spot its
   full width at half maximum, so the measured area does not shrink as a spot
   fades; a lesion with a very dark core keeps its lighter body;
4. it must cover ``min_area`` pixels, be at least ``min_width`` pixels wide
   (twice its largest inner distance to its outside) and be compact (ratio of
   principal axes ≤ ``max_elongation``), and its darkness must not be that of
   a line (mean ridge depth below 0.85 × its mean darkness, see :func:`detect_spots`):
   lines, wrinkles, hairs and pieces of them are not spots; and it must be a
   blob, at least 40 % of its convex hull (a ring of shading is not a spot);
5. it must not touch the outer edge of the measured skin, where its
   surroundings are unknown (the skin's own darkening towards its rim would
   read as spots); small holes such as a hair crossing a spot do not count as
   an edge.

6. inside a region of interest (:func:`spots_inside`): the spots found on all
   the skin measured whose centre lies in the region, so a region never changes
   the background, the threshold or the edge a spot is judged by.

Metrics
-------
``spot_count``
    number of spots.
``spot_area_pct``
    ``100 · |spots| / |skin|`` (% of ROI skin, edge margin included: the caller,
    :mod:`skintrack.measure.scoring`, divides ``mask`` by the skin it measured; ``skin``
    here is that skin minus its edge margin).
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
Background subtraction before thresholding follows the rolling-ball idea of
Sternberg S. R., "Biomedical image processing", IEEE Computer 16 (1983) 22-34,
with a robust (median, then outlier-excluding) background instead of a ball;
the half-maximum extent is the usual FWHM convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..filters import local_background, robust_median, robust_sd
from ..masks import component_shape, remove_small

__all__ = ["SpotResult", "detect_spots", "local_darkness", "spot_threshold", "spots_inside"]


@dataclass
class SpotResult:
    spot_count: float
    spot_contrast: float
    mask: np.ndarray
    sizes_px: list[float] = field(default_factory=list)  #: area of each spot, px (largest first)


def local_darkness(
    L: np.ndarray,
    skin: np.ndarray,
    window: int = 201,
    sigma: float = 2.5,
    filled_L: np.ndarray | None = None,
    exclude_delta: float = 2.0,
) -> np.ndarray:
    """``D``: how much darker (ΔL*) each pixel is than its local skin background.

    ``D = B - G_σ(L*)`` with ``B`` the robust local background of
    :func:`skintrack.measure.filters.local_background`: a running median over ``window``
    pixels refined five times over the skin within ``exclude_delta`` of it, so large or
    crowded spots are bridged from the skin around them rather than averaged in. It
    depends only on the skin within about one window, so a spot in one place never
    changes ``D`` (or the spots found) farther away. ``filled_L`` is L* with the
    non-skin pixels filled, if the caller has it.
    """
    smoothed, background = local_background(L, skin, window, sigma, filled=filled_L, exclude_delta=exclude_delta)
    return background - smoothed


def spot_threshold(darkness: np.ndarray, skin: np.ndarray, min_delta: float = 4.0, k: float = 3.0) -> float:
    """``T_spot``: the peak darkness (ΔL*) a spot must reach (from a baseline).

    ``max(min_delta, median + k · robust_sd)`` of ``D`` over the skin, the statistics taken again
    without the pixels beyond the first estimate (the spots themselves do not raise it) and the
    result rounded up to 0.25 ΔL*, so a few spots more or less in a photo leave it unchanged.
    """
    first = robust_median(darkness, skin) + k * robust_sd(darkness, skin)
    typical = skin & (darkness < first)
    if typical.any():
        first = robust_median(darkness, typical) + k * robust_sd(darkness, typical)
    return float(max(min_delta, math.ceil(first * 4.0) / 4.0))


def detect_spots(
    darkness: np.ndarray,
    skin: np.ndarray,
    threshold: float,
    min_area: float = 40,
    max_elongation: float = 3.0,
    outer_edge: np.ndarray | None = None,
    min_width: float = 5.0,
    line_strength: np.ndarray | None = None,
    max_line_ratio: float = 0.85,
    min_solidity: float = 0.4,
    split_peaks: bool = False,
) -> SpotResult:
    """Find dark spots in a darkness map ``D`` given ``T_spot``; see the module docstring.

    ``outer_edge`` marks the rim of the measured area (spots touching it are
    not counted); by default it is where ``skin`` meets a large non-skin region.
    ``line_strength`` is the ridge map of :func:`skintrack.measure.metrics.texture.ridge_strength`
    (ΔL* of line depth): a region whose mean ridge depth is at least
    ``max_line_ratio`` times its mean darkness is the darkest stretch of a line,
    not a spot (inside a round spot the ridge response is near zero).
    ``split_peaks`` cuts a candidate region holding several peaks above the threshold (at least
    ``2 · min_width`` apart) between two of them where the values dip by at least a quarter of the lower
    peak (:func:`_split_at_peaks`), so lesions in a chain of mottled skin are judged one by one (used for
    red lesions).
    """
    candidates = (darkness > 0.5 * threshold) & skin
    if split_peaks:
        candidates &= ~_split_at_peaks(darkness, candidates, threshold, min_width)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    if outer_edge is None:
        # Small holes in the skin (a hair across a spot, a glint) do not make an edge.
        outside = remove_small(~skin, max(min_area, int(0.002 * skin.size)))
        outer_edge = cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    mask = np.zeros(skin.shape, bool)
    n_spots = 0
    sizes: list[float] = []
    # A spot lies inside one candidate region: only regions of at least min_area pixels
    # matter, and each is handled inside its own bounding box.
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_area):
        if label == 0:
            continue
        x, y, w, h = stats[label, :4]
        box = (slice(y, y + h), slice(x, x + w))
        member = labels[box] == label
        values = darkness[box]
        peak = float(values[member].max())
        if peak < threshold:
            continue
        # Half of the spot's typical darkness (the upper quartile of D over the part reaching T_spot): for a
        # flat spot the usual half maximum; a lesion with a very dark core keeps its lighter body.
        inside = values[member]
        # Pixels weigh in smoothly from T_spot / 2 (none) to T_spot (full): no pixel flips the figure.
        weights = np.clip((inside - 0.5 * threshold) / (0.5 * threshold), 0.0, 1.0)
        order = np.argsort(inside)
        cumulative = np.cumsum(weights[order])
        body = float(inside[order][np.searchsorted(cumulative, 0.75 * cumulative[-1])])
        region = member & (values >= 0.5 * body)
        parts, part_labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
        area, elongation = component_shape(part_labels, parts)
        # Width: twice the largest distance from inside the region to its outside.
        distance = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        half_width = np.zeros(parts, np.float32)
        np.maximum.at(half_width, part_labels[region], distance[region])
        valid = (area >= min_area) & (elongation <= max_elongation) & (2.0 * half_width >= min_width)
        if line_strength is not None:
            ids = part_labels[region]
            mean_ridge = np.bincount(ids, line_strength[box][region], parts) / np.maximum(area, 1)
            mean_dark = np.bincount(ids, values[region], parts) / np.maximum(area, 1)
            valid &= mean_ridge < max_line_ratio * mean_dark
        # Touching the outer edge of the measured area: surroundings unknown, not counted.
        valid[np.unique(part_labels[outer_edge[box] & region])] = False
        valid[0] = False
        # A spot is a blob: mostly convex (a ring of shading along a rim is not).
        for part in np.flatnonzero(valid):
            contours, _ = cv2.findContours((part_labels == part).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            hull_area = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
            if area[part] < min_solidity * max(hull_area, 1.0):
                valid[part] = False
        if valid.any():
            mask[box] |= valid[part_labels]
            n_spots += int(valid.sum())
            sizes.extend(float(a) for a in area[valid])
    if n_spots == 0:
        return SpotResult(0.0, 0.0, mask)
    return SpotResult(
        spot_count=float(n_spots),
        spot_contrast=float(darkness[mask].mean()),
        mask=mask,
        sizes_px=sorted(sizes, reverse=True),
    )


def _split_at_peaks(values: np.ndarray, candidates: np.ndarray, threshold: float, min_width: float) -> np.ndarray:
    """The cuts between distinct peaks of ``values`` inside each candidate region.

    A peak is a local maximum reaching ``threshold`` (the highest within ``2 · min_width`` pixels). In a
    candidate region holding several peaks, each pixel goes to its nearest peak of that region; two
    neighbouring peaks stay one lesion unless the highest value on the border of their cells is below three
    quarters of the lower peak (the values dip by a quarter between them), so a lesion whose top is merely
    uneven is not cut in two. The pixels on the remaining borders are returned (two pixels thick, so the
    cells are apart in 8-connectivity).
    """
    radius = max(2, int(round(2.0 * min_width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    values = values.astype(np.float32)
    peaks = candidates & (values >= threshold) & (values >= cv2.dilate(values, kernel))
    border = np.zeros_like(candidates)
    if not peaks.any():
        return border
    _, regions, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    held, counts = np.unique(regions[peaks], return_counts=True)
    for region in held[counts > 1]:
        x, y, w, h = stats[region, :4]
        box = (slice(y, y + h), slice(x, x + w))
        member = regions[box] == region
        cut = _cuts_in_region(values[box], member, peaks[box] & member)
        border[box] |= cut & member
    return border


def _cuts_in_region(values: np.ndarray, member: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """The borders between the cells of ``peaks`` in one region (see :func:`_split_at_peaks`)."""
    n_peaks = cv2.connectedComponents(peaks.astype(np.uint8), connectivity=8)[0] - 1
    if n_peaks < 2:
        return np.zeros_like(member)
    _, cells = cv2.distanceTransformWithLabels((~peaks).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
    size = int(cells.max()) + 1
    height = np.zeros(size, np.float32)
    np.maximum.at(height, cells[peaks], values[peaks])
    codes, tops = [], []
    for a, b, va, vb, inside in (
        (cells[1:], cells[:-1], values[1:], values[:-1], member[1:] & member[:-1]),
        (cells[:, 1:], cells[:, :-1], values[:, 1:], values[:, :-1], member[:, 1:] & member[:, :-1]),
    ):
        differs = (a != b) & inside
        low, high = np.minimum(a[differs], b[differs]), np.maximum(a[differs], b[differs])
        codes.append(low.astype(np.int64) * size + high)
        tops.append(np.maximum(va[differs], vb[differs]))
    codes, tops = np.concatenate(codes), np.concatenate(tops)
    root = np.arange(size)

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    unique, inverse = np.unique(codes, return_inverse=True)
    border_top = np.full(len(unique), -np.inf, np.float32)
    np.maximum.at(border_top, inverse, tops)
    for code, top in zip(unique, border_top):
        a, b = divmod(int(code), size)
        if top >= 0.75 * min(height[a], height[b]):  # hardly a dip between them: one lesion
            root[find(a)] = find(b)
    lesion = np.array([find(i) for i in range(size)])[cells]
    cut = np.zeros_like(member)
    vertical, horizontal = np.diff(lesion, axis=0) != 0, np.diff(lesion, axis=1) != 0
    cut[1:] |= vertical
    cut[:-1] |= vertical
    cut[:, 1:] |= horizontal
    cut[:, :-1] |= horizontal
    return cut


def spots_inside(spots: SpotResult, darkness: np.ndarray, region: np.ndarray) -> SpotResult:
    """The spots of ``spots`` (found on all the skin measured) whose centre lies in ``region``.

    A spot straddling the region's outline counts when its centre (centroid) is inside;
    its pixels outside the region are left out of the mask (so of ``spot_area_pct`` and
    ``spot_contrast``), its size stays the whole spot's. Spots are 8-connected components
    of the mask, as :func:`detect_spots` builds it (each spot is one component).
    """
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(spots.mask.astype(np.uint8), connectivity=8)
    height, width = region.shape
    keep = np.zeros(count, bool)
    for label in range(1, count):
        x, y = centroids[label]
        keep[label] = bool(region[min(int(round(y)), height - 1), min(int(round(x)), width - 1)])
    keep &= np.bincount(labels[region], minlength=count) > 0  # and some of it is in the region
    mask = keep[labels] & region
    if not mask.any():
        return SpotResult(0.0, 0.0, mask)
    sizes = sorted((float(stats[label, cv2.CC_STAT_AREA]) for label in np.flatnonzero(keep)), reverse=True)
    return SpotResult(spot_count=float(keep.sum()), spot_contrast=float(darkness[mask].mean()), mask=mask, sizes_px=sizes)
