"""Find an X-Rite ColorChecker Classic 24 (or Passport / Mini) in a photo.

OpenCV's ``cv2.mcc.CCheckerDetector`` (contrib 5.0.0.93, the version pinned)
was tried first: on clean synthetic charts (patch pitch 40-70 px) it found the
chart in only some runs, and its result changed from run to run with
OpenCV's thread count. A measurement tool must give the same answer twice, so
this module detects the chart itself, deterministically:

1. square-ish bright quadrilaterals (the patches) are found in adaptive
   thresholds of the grey image at three window sizes;
2. the largest group of squares of similar size, neighbouring each other,
   is taken as the chart's patches;
3. their centres are put on a lattice (the chart's pitch and rotation from
   the squares themselves), and a homography from lattice to image is fitted;
4. of the ways the found patches can sit in the 6 x 4 grid (position and
   orientation), the one whose sampled colours best match the chart's known
   colours up to a per-channel gain is kept; a poor best match means "no chart".

The result gives the 24 patch colours (linear RGB, the six neutrals last),
their centres, the patch pitch in pixels (hence mm per pixel from the chart's
known pitch) and a residual saying how well the colours fit.

Reference data
--------------
The chart's colours are X-Rite's published CIELAB values (D50, 2°) of the
edition named in :data:`CHART_EDITION` (charts made from November 2014 on),
kept in ``skintrack/data/colorchecker_classic.json``. They are converted here to
sRGB (D65) with the Bradford chromatic adaptation (Lindbloom's matrices)::

    XYZ_D50 = Lab⁻¹(L*, a*, b*; white D50)
    XYZ_D65 = M_B⁻¹ · diag(ρ_D65 / ρ_D50) · M_B · XYZ_D50
    lin     = M_XYZ→sRGB · XYZ_D65, clipped to [0, 1]

(the cyan patch lies just outside sRGB and loses a little red). The synthetic
photo generator paints its chart from these values; the tests check them
against colour-science's ColorChecker data.

References
----------
X-Rite, "New color specifications for ColorChecker SG and Classic Charts" (2014);
Lindbloom B., "Chromatic Adaptation" (brucelindbloom.com).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from ..measure.colour import _XYZ_TO_RGB, D65_WHITE, linear_to_srgb8, srgb8_to_linear

__all__ = [
    "CHART_EDITION",
    "CHART_PATCH_PITCH_MM",
    "ChartDetection",
    "PATCH_NAMES",
    "REFERENCE_LAB_D50",
    "REFERENCE_LINEAR",
    "REFERENCE_SRGB8",
    "find_chart",
]

_DATA = json.loads(resources.files("skintrack").joinpath("data", "colorchecker_classic.json").read_text())
#: Which chart and printing the reference colours belong to.
CHART_EDITION: str = f"{_DATA['chart']}, {_DATA['edition']}"
#: Patch names, row by row ("dark skin" ... "black 2"); the last six are the neutral row.
PATCH_NAMES: tuple[str, ...] = tuple(p["name"] for p in _DATA["patches"])
#: X-Rite's published CIELAB (D50, 2°) of the 24 patches, 24x3.
REFERENCE_LAB_D50 = np.array([p["lab_d50"] for p in _DATA["patches"]], np.float64)
#: Centre-to-centre patch distance of the ColorChecker Classic Mini / Passport, mm.
CHART_PATCH_PITCH_MM: float = float(_DATA["patch_pitch_mm"])
#: D50 white (CIE 1931 2°, Y = 1) of the published values.
D50_WHITE = np.array([0.96422, 1.0, 0.82521])
#: Bradford cone response matrix (Lindbloom).
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _lab_d50_to_linear_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D50) to linear sRGB (D65) by Bradford adaptation, clipped to [0, 1]; see the module docstring."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f**3, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * D50_WHITE
    cone = np.diag((_BRADFORD @ D65_WHITE) / (_BRADFORD @ D50_WHITE))
    adapt = np.linalg.inv(_BRADFORD) @ cone @ _BRADFORD
    return np.clip(xyz @ (_XYZ_TO_RGB @ adapt).T, 0.0, 1.0)


#: The chart's 24 patches in linear sRGB (D65), row by row, neutral row last.
REFERENCE_LINEAR = _lab_d50_to_linear_srgb(REFERENCE_LAB_D50)
#: ... and as 8-bit sRGB (what a perfect camera would record), for painting synthetic charts.
REFERENCE_SRGB8 = linear_to_srgb8(REFERENCE_LINEAR.astype(np.float32))
NEUTRALS = slice(18, 24)
#: Largest accepted mean |log| colour mismatch (after per-channel gains).
MAX_RESIDUAL = 0.25


@dataclass
class ChartDetection:
    patches_linear: np.ndarray  # 24x3 measured linear RGB, chart order
    centres: np.ndarray  # 24x2 patch centres, pixels of the analysed image
    pitch_px: float  # centre-to-centre patch distance, pixels of the analysed image
    residual: float  # mean |log(gain * measured / reference)| over patches and channels
    found_patches: int  # squares actually seen (the rest were predicted by the grid)
    outline: np.ndarray  # 4x2 corners of the patch area

    @property
    def confidence(self) -> float:
        """0-1: how well the colours fit the chart, and how much of it was seen."""
        return float(np.clip(1.0 - self.residual / MAX_RESIDUAL, 0.0, 1.0) * min(1.0, self.found_patches / 12.0))

    def mm_per_px(self, pitch_mm: float = CHART_PATCH_PITCH_MM) -> float:
        return pitch_mm / self.pitch_px


def _squares(grey: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Candidate patches: (x, y, side, angle) of convex, square-ish quadrilaterals."""
    height, width = grey.shape
    area = height * width
    found: list[tuple[float, float, float, float]] = []
    for block in (21, 51):
        for constant in (-3, 3):
            binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, constant)
            contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                contour_area = cv2.contourArea(contour)
                if not 0.00008 * area <= contour_area <= 0.01 * area:
                    continue
                approx = cv2.approxPolyDP(contour, 0.08 * cv2.arcLength(contour, True), True)
                if len(approx) != 4 or not cv2.isContourConvex(approx):
                    continue
                (cx, cy), (w, h), angle = cv2.minAreaRect(approx)
                if min(w, h) <= 0 or max(w, h) / min(w, h) > 1.4:
                    continue
                if contour_area < 0.8 * w * h:
                    continue
                found.append((cx, cy, float(np.sqrt(contour_area)), angle % 90.0))
    # Merge the same square seen at several thresholds.
    merged: list[tuple[float, float, float, float]] = []
    for square in sorted(found, key=lambda s: -s[2]):
        if all(np.hypot(square[0] - m[0], square[1] - m[1]) > 0.4 * m[2] for m in merged):
            merged.append(square)
    return merged


def _largest_group(squares: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """The largest set of similar-sized squares that neighbour each other."""
    n = len(squares)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            si, sj = squares[i][2], squares[j][2]
            if max(si, sj) > 1.3 * min(si, sj):
                continue
            distance = np.hypot(squares[i][0] - squares[j][0], squares[i][1] - squares[j][1])
            if distance < 2.0 * max(si, sj):
                parent[root(i)] = root(j)
    groups: dict[int, list] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(squares[i])
    return max(groups.values(), key=len) if groups else []


def _sample(linear: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    height, width = linear.shape[:2]
    r = max(1, int(radius))
    values = np.full((len(centres), 3), np.nan)
    for k, (x, y) in enumerate(centres):
        x0, x1 = int(round(x)) - r, int(round(x)) + r + 1
        y0, y1 = int(round(y)) - r, int(round(y)) + r + 1
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            continue
        values[k] = np.median(linear[y0:y1, x0:x1].reshape(-1, 3), axis=0)
    return values


def _residual(measured: np.ndarray) -> float:
    """Mean |log| mismatch with the chart after the best per-channel gain (in log space)."""
    valid = np.all(np.isfinite(measured), axis=1) & np.all(measured > 1e-4, axis=1)
    if valid.sum() < 12:
        return np.inf
    logs = np.log(REFERENCE_LINEAR[valid] + 1e-4) - np.log(measured[valid] + 1e-4)
    logs -= np.median(logs, axis=0)  # the best per-channel gain, robustly
    return float(np.abs(logs).mean())


def find_chart(rgb: np.ndarray) -> ChartDetection | None:
    """Detect a ColorChecker 24 in an ``HxWx3`` uint8 RGB image, or return None."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    group = _largest_group(_squares(grey))
    if len(group) < 8:
        return None
    points = np.array([(s[0], s[1]) for s in group])
    side = float(np.median([s[2] for s in group]))
    angle = np.radians(float(np.median([s[3] for s in group])))
    # Pitch: median distance to the nearest neighbour.
    distances = np.hypot(points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1])
    np.fill_diagonal(distances, np.inf)
    pitch = float(np.median(distances.min(axis=1)))
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    local = (points - points.mean(axis=0)) @ rotation.T / pitch
    indices = np.rint(local - local.min(axis=0)).astype(int)
    span = indices.max(axis=0) + 1
    if max(span) > 6 or min(span) > 4 or len(np.unique(indices, axis=0)) < len(indices) * 0.9:
        return None
    linear = srgb8_to_linear(rgb)
    best = None
    # Every way the seen patches can sit in the 6 x 4 chart: 4 orientations x offsets.
    for turn in range(4):
        cols, rows = (6, 4) if turn % 2 == 0 else (4, 6)
        for dx in range(cols - span[0] + 1):
            for dy in range(rows - span[1] + 1):
                grid = indices + [dx, dy]
                chart_cr = _to_chart(grid, turn, cols, rows)
                if chart_cr is None:
                    continue
                homography, _ = cv2.findHomography(chart_cr.astype(np.float32), points.astype(np.float32), 0)
                if homography is None:
                    continue
                all_cr = np.array([(c, r) for r in range(4) for c in range(6)], np.float32)
                centres = cv2.perspectiveTransform(all_cr[None], homography)[0]
                measured = _sample(linear, centres, 0.2 * side)
                residual = _residual(measured)
                if best is None or residual < best[0]:
                    best = (residual, measured, centres, homography)
    if best is None or best[0] > MAX_RESIDUAL:
        return None
    residual, measured, centres, homography = best
    corners = cv2.perspectiveTransform(np.float32([[[-0.5, -0.5], [5.5, -0.5], [5.5, 3.5], [-0.5, 3.5]]]), homography)[0]
    chart_pitch = float(np.mean([np.hypot(*(centres[1] - centres[0])), np.hypot(*(centres[6] - centres[0]))]))
    return ChartDetection(measured, centres, chart_pitch, residual, len(group), corners)


def _to_chart(grid: np.ndarray, turn: int, cols: int, rows: int) -> np.ndarray | None:
    """Map lattice (i, j) in the seen orientation to chart (column, row) for one of 4 turns."""
    i, j = grid[:, 0], grid[:, 1]
    if turn == 0:
        c, r = i, j
    elif turn == 1:  # seen 4 wide x 6 tall, chart rotated 90°
        c, r = j, cols - 1 - i
    elif turn == 2:
        c, r = cols - 1 - i, rows - 1 - j
    else:
        c, r = rows - 1 - j, i
    if c.min() < 0 or r.min() < 0 or c.max() > 5 or r.max() > 3:
        return None
    return np.stack([c, r], axis=1)
