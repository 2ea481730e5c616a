"""Seeded synthetic skin photos with known ground truth.

The generator paints a skin close-up (think "left cheek") in CIELAB, so every
quantity skintrack measures has an exact true value, then photographs it the
way a phone would: camera pose, exposure, white balance, lens vignetting,
sensor noise and JPEG compression.

A :class:`SkinScene` fixes the *layout* (where the skin, pores, lines, dark
spots, red patches, hairs, grey card, backdrop and colour chart are) from a
seed. :meth:`SkinScene.render` then paints a :class:`SkinState` (how strong
each feature is today) through a :class:`Capture` (how it was photographed).
Rendering the same scene with different states gives the sessions of one
patient; the same state with different captures gives re-photographs.

Model
-----
Skin colour ``(L*, a*, b*)`` = base tone + low-frequency mottling + fine
texture (pores, band-limited noise, shallow scars; scaled by ``roughness``)
- dark spots (``ΔL* = spot_contrast``, slightly browner) - fine lines
(Gaussian cross-section, ``ΔL* = line_contrast``) + red patches
(``Δa* = erythema``) + diffuse redness (``Δa* = diffuse_redness``). Hairs and
specular glare are composited on top. Lighting acts on linear RGB:
``rgb_linear * exposure * white_balance * vignette``.

Ground truth (:class:`GroundTruth`) is computed from the painted fields before
lighting and quantisation, in the photo's own pixel grid: the masks (skin,
spots, red patches, lines, hair, glare, backdrop, grey card, chart) and the
values ``redness`` (mean a*), ``red_area_pct``, ``spot_area_pct``,
``spot_count``, ``ita`` (mean ITA°), plus the camera matrix mapping scene
coordinates to photo coordinates.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .comparison.colour_chart import CHART_PATCH_PITCH_MM, REFERENCE_SRGB8
from .measure.colour import lab_to_linear, linear_to_srgb_float

__all__ = [
    "Capture",
    "GroundTruth",
    "SkinScene",
    "SkinState",
    "SyntheticPhoto",
    "demo_course",
    "write_demo",
]

#: L* of an 18 % reflectance grey card.
GREY_CARD_L = 50.0
#: L* of the neutral backdrop.
BACKDROP_L = 72.0


@dataclass(frozen=True)
class SkinState:
    """How strong each skin feature is on the day of the photo.

    Attributes
    ----------
    base_lab : (L*, a*, b*) of normal skin.
    erythema : Δa* of the red patches (0 = none).
    erythema_extent : size factor of the red patches (1 = as laid out).
    diffuse_redness : Δa* added over all skin (post-treatment flush).
    spot_contrast : ΔL* by which dark spots are darker than the skin around them.
    spot_extent : size factor of the dark spots.
    roughness : amplitude factor of fine texture (pores, scars, grain).
    line_contrast : ΔL* depth of fine lines.
    line_fraction : fraction (0-1) of the laid-out lines present.
    """

    base_lab: tuple[float, float, float] = (62.0, 12.0, 17.0)
    erythema: float = 9.0
    erythema_extent: float = 1.0
    diffuse_redness: float = 0.0
    spot_contrast: float = 15.0
    spot_extent: float = 1.0
    roughness: float = 1.0
    line_contrast: float = 6.0
    line_fraction: float = 1.0


@dataclass(frozen=True)
class Capture:
    """How the photo was taken.

    Attributes
    ----------
    size : (width, height) of the photo in pixels.
    rotation_deg, scale, shift : camera pose relative to the scene (shift in pixels).
    exposure : multiplier of linear light (1 = correct).
    white_balance : per-channel gains on linear RGB, e.g. :data:`WARM`.
    vignette : relative light fall-off at the frame corners.
    noise : sensor noise, standard deviation in 8-bit units.
    jpeg_quality : JPEG quality, or None for a lossless PNG-like result.
    seed : seed of the sensor noise.
    """

    size: tuple[int, int] = (1600, 1200)
    rotation_deg: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    exposure: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    vignette: float = 0.04
    noise: float = 1.0
    jpeg_quality: int | None = 92
    seed: int = 0


#: Typical white-balance errors: tungsten-ish warm and shade-ish cool light.
WARM = (1.15, 1.0, 0.82)
COOL = (0.88, 1.0, 1.15)


@dataclass
class GroundTruth:
    """What is really in a synthetic photo, in the photo's pixel grid."""

    masks: dict[str, np.ndarray]
    values: dict[str, float]
    camera: np.ndarray  # 3x3, scene (canonical frame) coordinates -> photo pixels
    mm_per_px: float | None = None


@dataclass
class SyntheticPhoto:
    """A rendered photo: its pixels, encoded bytes and ground truth."""

    rgb: np.ndarray
    encoded: bytes
    truth: GroundTruth
    state: SkinState
    capture: Capture
    format: str = "JPEG"


# --------------------------------------------------------------------------- helpers


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation."""
    if sigma >= 8:  # smooth fields: make them at low resolution, then interpolate
        factor = sigma / 4.0
        small = (max(2, int(shape[0] / factor) + 1), max(2, int(shape[1] / factor) + 1))
        noise = cv2.GaussianBlur(rng.standard_normal(small, dtype=np.float32), (0, 0), 4.0, borderType=cv2.BORDER_REFLECT)
        noise = cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    else:
        noise = rng.standard_normal(shape, dtype=np.float32)
        if sigma > 0:
            noise = cv2.GaussianBlur(noise, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    noise -= noise.mean()
    return noise / max(float(noise.std()), 1e-6)


def _window(shape, cx, cy, radius):
    h, w = shape
    x0, x1 = max(0, int(cx - radius)), min(w, int(cx + radius) + 2)
    y0, y1 = max(0, int(cy - radius)), min(h, int(cy + radius) + 2)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), xs, ys


def _curve(rng, start, angle, length, bend):
    """Points of a gently bending curve."""
    steps = max(4, int(length / 4))
    pts = []
    x, y = start
    for i in range(steps):
        pts.append((x, y))
        angle += bend / steps + rng.normal(0, 0.03)
        x += 4 * math.cos(angle)
        y += 4 * math.sin(angle)
    return np.array(pts, dtype=np.float32)


def _draw_curve_profile(canvas: np.ndarray, pts: np.ndarray, sigma: float) -> None:
    """Max-composite a line with a Gaussian cross-section (peak 1) onto ``canvas``."""
    pad = int(4 * sigma + 4)
    x0, y0 = np.floor(pts.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + pad
    h, w = canvas.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    scale = 4  # draw the centre line supersampled, so its profile is smooth
    sub = np.zeros(((y1 - y0) * scale, (x1 - x0) * scale), np.float32)
    poly = np.round((pts - [x0, y0]) * scale * 16).astype(np.int32)
    cv2.polylines(sub, [poly], False, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=4)
    line = cv2.resize(sub, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA) * scale
    line = cv2.GaussianBlur(line, (0, 0), sigma)
    peak = 1.0 / (math.sqrt(2 * math.pi) * sigma)
    line = np.clip(line / peak, 0.0, 1.0)
    np.maximum(canvas[y0:y1, x0:x1], line, out=canvas[y0:y1, x0:x1])


# --------------------------------------------------------------------------- the scene


class SkinScene:
    """The fixed layout of one synthetic patient's treated area.

    Parameters
    ----------
    seed : int
        Everything random about the layout follows from it.
    size : (width, height)
        Size of the canonical frame in pixels; captures of other sizes scale it.
    grey_card, backdrop, chart : bool
        Which neutral references are in the scene. Without ``backdrop`` the
        skin fills the frame.
    hair_count, glare_count : int
        Hairs crossing the skin and specular highlights on it.
    n_spots, n_lines, n_patches : int
        How many dark spots, fine lines and red patches are laid out.
    mm_per_px : float, optional
        Physical size of one canonical pixel; by default the one that makes the
        chart's patch pitch its real 12.7 mm.
    """

    def __init__(
        self,
        seed: int = 0,
        size: tuple[int, int] = (1600, 1200),
        *,
        grey_card: bool = True,
        backdrop: bool = True,
        chart: bool = False,
        hair_count: int = 0,
        glare_count: int = 0,
        n_spots: int = 12,
        n_lines: int = 10,
        n_patches: int = 4,
        mm_per_px: float | None = None,
    ):
        self.seed = seed
        self.size = size
        self.grey_card = grey_card
        self.backdrop = backdrop
        self.chart = chart
        # The chart's patch pitch is 46 px per 1600 px of frame, so its known size sets the scale.
        self.mm_per_px = CHART_PATCH_PITCH_MM / (46.0 * size[0] / 1600.0) if mm_per_px is None else mm_per_px
        width, height = size
        self.margin = (int(0.25 * width), int(0.25 * height))
        mx, my = self.margin
        self.canvas_shape = (height + 2 * my, width + 2 * mx)
        rng = np.random.default_rng(seed)
        ch, cw = self.canvas_shape
        ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float32)

        # Skin region: an irregular oval (the cheek) with backdrop around it, or everything.
        if backdrop:
            cx, cy = mx + 0.40 * width, my + 0.52 * height
            rx, ry = 0.35 * width, 0.44 * height
            theta = np.arctan2((ys - cy) / ry, (xs - cx) / rx)
            wobble = 1.0 + sum(
                0.035 / k * np.sin(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)
            )
            q = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2) / wobble
            self.skin_cover = _smoothstep(1.0 + 2.0 / rx, 1.0 - 2.0 / rx, q).astype(np.float32)
            self.skin_radius = np.clip(q, 0, 3).astype(np.float32)
            self.skin_centre = (cx, cy)
        else:
            self.skin_cover = np.ones(self.canvas_shape, np.float32)
            cx, cy = mx + 0.5 * width, my + 0.5 * height
            self.skin_radius = np.sqrt(((xs - cx) / (0.6 * width)) ** 2 + ((ys - cy) / (0.6 * height)) ** 2)
            self.skin_centre = (cx, cy)

        # Fields that do not depend on the state.
        self.mottle = np.stack([_smooth_noise(rng, self.canvas_shape, 45.0) for _ in range(3)], axis=-1)
        self.grain = _smooth_noise(rng, self.canvas_shape, 1.0)
        self.grain_a = _smooth_noise(rng, self.canvas_shape, 1.5)
        self.pores = self._paint_pores(rng)
        self.scars = self._paint_scars(rng)
        self.backdrop_texture = _smooth_noise(rng, self.canvas_shape, 2.0)

        def inside(x, y, r_max=0.78):
            return self.skin_radius[int(y), int(x)] < r_max

        def random_point(r_max=0.78, away=(), min_dist=0.0):
            for _ in range(5000):
                x = rng.uniform(mx, mx + width)
                y = rng.uniform(my, my + height)
                if inside(x, y, r_max) and all(math.hypot(x - px, y - py) > min_dist + pr for px, py, pr in away):
                    return x, y
            raise RuntimeError("could not place a feature; scene too crowded")

        scale = width / 1600.0
        # Red patches (erythema): irregular blobs.
        self.patch_specs = []
        for _ in range(n_patches):
            radius = rng.uniform(55, 95) * scale
            x, y = random_point(0.7, [(px, py, pr) for px, py, pr, *_ in self.patch_specs], radius)
            self.patch_specs.append(
                (x, y, radius, rng.uniform(0.75, 1.25), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi, 2))
            )
        # Dark spots: compact ellipses away from the red patches and each other.
        self.spot_specs = []
        taken = [(px, py, pr * 1.15) for px, py, pr, *_ in self.patch_specs]
        for _ in range(n_spots):
            a = rng.uniform(9, 20) * scale
            b = a * rng.uniform(0.65, 1.0)
            x, y = random_point(0.8, taken + [(sx, sy, sa) for sx, sy, sa, *_ in self.spot_specs], a + 12 * scale)
            self.spot_specs.append((x, y, a, b, rng.uniform(0, np.pi), rng.uniform(0.8, 1.2)))
        # Fine lines: gently curved, roughly parallel (like wrinkles), away from spots.
        self.line_specs = []
        base_angle = rng.uniform(-0.5, 0.5)
        avoid = [(sx, sy, sa + 10 * scale) for sx, sy, sa, *_ in self.spot_specs]
        for _ in range(n_lines):
            for _attempt in range(200):
                start = random_point(0.7)
                length = rng.uniform(120, 260) * scale
                pts = _curve(rng, start, base_angle + rng.normal(0, 0.25), length, rng.normal(0, 0.5))
                if all(inside(px, py, 0.85) for px, py in pts[:: max(1, len(pts) // 8)]) and all(
                    min(np.hypot(pts[:, 0] - sx, pts[:, 1] - sy)) > sr for sx, sy, sr in avoid
                ):
                    break
            self.line_specs.append((pts, rng.uniform(1.1, 1.9) * scale, rng.uniform(0.85, 1.15)))
        # Hairs: thin dark curves crossing the skin.
        self.hair_specs = []
        for _ in range(hair_count):
            start = random_point(0.9)
            pts = _curve(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(150, 350) * scale, rng.normal(0, 1.0))
            self.hair_specs.append((pts, rng.uniform(0.9, 1.4) * scale))
        # Specular glare on the skin.
        self.glare_specs = []
        for _ in range(glare_count):
            x, y = random_point(0.75, avoid, 25 * scale)
            self.glare_specs.append((x, y, rng.uniform(10, 22) * scale))

        self.card_box = None
        if grey_card and backdrop:
            self.card_box = (mx + 0.78 * width, my + 0.07 * height, mx + 0.93 * width, my + 0.30 * height)
        self.chart_box = None
        if chart and backdrop:
            pitch = 46.0 * scale
            x0, y0 = mx + 0.76 * width, my + 0.62 * height
            self.chart_pitch_px = pitch
            self.chart_box = (x0, y0, x0 + 6 * pitch + 0.6 * pitch, y0 + 4 * pitch + 0.6 * pitch)

        self._static_masks = self._paint_static_masks()

    # ------------------------------------------------------------------ painting

    def _paint_pores(self, rng) -> np.ndarray:
        """Pores: many tiny dark dots (unit depth), blurred to ~1-2 px."""
        ch, cw = self.canvas_shape
        pores = np.zeros(self.canvas_shape, np.float32)
        count = int(ch * cw / 180)
        ys = rng.integers(0, ch, count)
        xs = rng.integers(0, cw, count)
        pores[ys, xs] = rng.uniform(0.5, 1.0, count).astype(np.float32)
        pores = cv2.GaussianBlur(pores, (0, 0), 1.1)
        return pores / max(float(np.percentile(pores[pores > 0], 99.0)), 1e-6)

    def _paint_scars(self, rng) -> np.ndarray:
        """Shallow scars: small depressions lit from the upper left (zero-mean relief)."""
        ch, cw = self.canvas_shape
        relief = np.zeros(self.canvas_shape, np.float32)
        count = int(ch * cw / 60000)
        for _ in range(count):
            cx, cy = rng.uniform(0, cw), rng.uniform(0, ch)
            rho = rng.uniform(4, 8) * self.size[0] / 1600.0
            sl, xs, ys = _window(self.canvas_shape, cx, cy, 3.5 * rho)
            g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * rho**2))
            shade = -0.6 * g + 1.0 * ((xs - cx) + (ys - cy)) / (rho * 1.414) * g
            relief[sl] += shade.astype(np.float32)
        return relief

    def _paint_static_masks(self) -> dict[str, np.ndarray]:
        ch, cw = self.canvas_shape
        ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float32)
        masks = {}
        hair = np.zeros(self.canvas_shape, np.float32)
        for pts, sigma in self.hair_specs:
            _draw_curve_profile(hair, pts, sigma)
        masks["hair"] = hair * self.skin_cover
        glare = np.zeros(self.canvas_shape, np.float32)
        for x, y, radius in self.glare_specs:
            sl, wx, wy = _window(self.canvas_shape, x, y, 2.5 * radius)
            g = np.exp(-(((wx - x) ** 2 + (wy - y) ** 2) / (2 * (0.6 * radius) ** 2)) ** 1.5)
            glare[sl] = np.maximum(glare[sl], g)
        masks["glare"] = glare * self.skin_cover
        card = np.zeros(self.canvas_shape, np.float32)
        if self.card_box:
            x0, y0, x1, y1 = self.card_box
            card = (_smoothstep(x0 - 1, x0 + 1, xs) * _smoothstep(x1 + 1, x1 - 1, xs)
                    * _smoothstep(y0 - 1, y0 + 1, ys) * _smoothstep(y1 + 1, y1 - 1, ys))  # fmt: skip
        masks["grey_card"] = card.astype(np.float32)
        chart = np.zeros(self.canvas_shape, np.float32)
        if self.chart_box:
            x0, y0, x1, y1 = (int(round(v)) for v in self.chart_box)
            chart[y0:y1, x0:x1] = 1.0
        masks["chart"] = chart
        return masks

    def _state_fields(self, state: SkinState) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Skin Lab field over the canvas plus the state-dependent feature masks."""
        base = np.asarray(state.base_lab, np.float32)
        lab = np.empty(self.canvas_shape + (3,), np.float32)
        lab[:] = base
        # Gentle curvature shading: the cheek is a little darker towards its rim.
        lab[..., 0] -= 4.0 * np.clip(self.skin_radius, 0, 1.2) ** 4
        lab += self.mottle * np.array([1.2, 0.8, 0.8], np.float32)
        # Fine texture, all scaled by roughness.
        r = state.roughness
        lab[..., 0] += r * (0.8 * self.grain - 4.0 * self.pores + 1.5 * self.scars)
        lab[..., 1] += 0.5 * self.grain_a
        masks = {}
        # Red patches.
        red = np.zeros(self.canvas_shape, np.float32)
        red_truth = np.zeros(self.canvas_shape, bool)
        if state.erythema > 0 and state.erythema_extent > 0:
            for x, y, radius, aspect, angle, phases in self.patch_specs:
                radius = radius * state.erythema_extent
                sl, wx, wy = _window(self.canvas_shape, x, y, 1.5 * radius * max(aspect, 1 / aspect) + 6)
                dx, dy = wx - x, wy - y
                u = (dx * math.cos(angle) + dy * math.sin(angle)) / (radius * aspect)
                v = (-dx * math.sin(angle) + dy * math.cos(angle)) / (radius / aspect)
                theta = np.arctan2(v, u)
                q = np.sqrt(u**2 + v**2) / (1 + 0.12 * np.sin(3 * theta + phases[0]) + 0.08 * np.sin(5 * theta + phases[1]))
                edge = 3.0 / radius
                patch = _smoothstep(1 + edge, 1 - edge, q)
                red[sl] = np.maximum(red[sl], patch)
                red_truth[sl] |= q <= 1.0
        lab[..., 1] += state.erythema * red + state.diffuse_redness
        lab[..., 0] -= 0.15 * state.erythema * red
        masks["red"] = red_truth
        # Dark spots.
        spots = np.zeros(self.canvas_shape, np.float32)
        spot_truth = np.zeros(self.canvas_shape, bool)
        if state.spot_extent > 0:
            for x, y, a, b, angle, strength in self.spot_specs:
                a, b = a * state.spot_extent, b * state.spot_extent
                sl, wx, wy = _window(self.canvas_shape, x, y, a + 6)
                dx, dy = wx - x, wy - y
                u = (dx * math.cos(angle) + dy * math.sin(angle)) / a
                v = (-dx * math.sin(angle) + dy * math.cos(angle)) / b
                q = np.sqrt(u**2 + v**2)
                edge = 1.5 / b
                spot = _smoothstep(1 + edge, 1 - edge, q) * strength
                spots[sl] = np.maximum(spots[sl], spot)
                spot_truth[sl] |= q <= 1.0
        lab[..., 0] -= state.spot_contrast * spots
        lab[..., 2] += 0.35 * state.spot_contrast * spots
        lab[..., 1] += 0.08 * state.spot_contrast * spots
        masks["spots"] = spot_truth
        # Fine lines.
        lines = np.zeros(self.canvas_shape, np.float32)
        n_present = int(round(state.line_fraction * len(self.line_specs)))
        for pts, sigma, strength in self.line_specs[:n_present]:
            one = np.zeros(self.canvas_shape, np.float32)
            _draw_curve_profile(one, pts, sigma)
            np.maximum(lines, one * strength, out=lines)
        lab[..., 0] -= state.line_contrast * lines
        masks["lines"] = lines > 0.5
        return lab, masks

    def _reference_lab(self) -> np.ndarray:
        """Backdrop, grey card and chart painted in Lab over the canvas (NaN = none)."""
        ch, cw = self.canvas_shape
        ref = np.full(self.canvas_shape + (3,), np.nan, np.float32)
        if self.backdrop:
            ref[..., 0] = BACKDROP_L + 0.4 * self.backdrop_texture
            ref[..., 1:] = 0.0
        card = self._static_masks["grey_card"]
        if self.card_box:
            ref[..., 0] = np.where(card > 0, card * GREY_CARD_L + (1 - card) * ref[..., 0], ref[..., 0])
        if self.chart_box:
            from .measure.colour import rgb_to_lab

            x0, y0, x1, y1 = self.chart_box
            pitch = self.chart_pitch_px
            ix0, iy0, ix1, iy1 = (int(round(v)) for v in self.chart_box)
            ref[iy0:iy1, ix0:ix1] = (12.0, 0.0, 0.0)  # black chart body
            patch_lab = rgb_to_lab(REFERENCE_SRGB8.reshape(4, 6, 3))  # the chart's published colours
            for row in range(4):
                for col in range(6):
                    px0 = x0 + 0.3 * pitch + col * pitch + 0.12 * pitch
                    py0 = y0 + 0.3 * pitch + row * pitch + 0.12 * pitch
                    px1, py1 = px0 + 0.76 * pitch, py0 + 0.76 * pitch
                    ref[int(round(py0)) : int(round(py1)), int(round(px0)) : int(round(px1))] = patch_lab[row, col]
        return ref

    # ------------------------------------------------------------------ camera

    def camera_matrix(self, capture: Capture) -> np.ndarray:
        """3x3 matrix from canonical frame coordinates to photo pixels."""
        width, height = self.size
        out_w, out_h = capture.size
        cx, cy = width / 2.0, height / 2.0
        angle = math.radians(capture.rotation_deg)
        s = capture.scale * out_w / width
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) * s
        matrix = np.eye(3)
        matrix[:2, :2] = rot
        matrix[:2, 2] = np.array([out_w / 2.0, out_h / 2.0]) + np.asarray(capture.shift) - rot @ [cx, cy]
        return matrix

    def render(self, state: SkinState = SkinState(), capture: Capture = Capture()) -> SyntheticPhoto:
        """Photograph the scene in ``state`` through ``capture``."""
        skin_lab, state_masks = self._state_fields(state)
        ref_lab = self._reference_lab()
        cover = self.skin_cover
        hair = self._static_masks["hair"]
        glare = self._static_masks["glare"]
        if self.backdrop:
            lab = skin_lab * cover[..., None] + np.nan_to_num(ref_lab) * (1 - cover[..., None])
            # Neutral references sit on top of the backdrop, never under the skin.
            refs = (self._static_masks["grey_card"] + self._static_masks["chart"]) > 0
            lab[refs] = ref_lab[refs]
        else:
            lab = skin_lab
        hair_lab = np.array([24.0, 3.0, 6.0], np.float32)
        lab = lab * (1 - hair[..., None]) + hair_lab * hair[..., None]

        # Camera: pose, then light, vignette, noise, encoding.
        mx, my = self.margin
        offset = np.array([[1, 0, -mx], [0, 1, -my], [0, 0, 1]], float)
        camera = self.camera_matrix(capture)
        canvas_to_photo = camera @ offset
        out_w, out_h = capture.size
        warp = lambda img, interp=cv2.INTER_LINEAR: cv2.warpPerspective(  # noqa: E731
            np.ascontiguousarray(img), canvas_to_photo, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REFLECT
        )
        glare_p = warp(glare)
        photo_linear = lab_to_linear(warp(lab))
        photo_linear = photo_linear * (1 - glare_p[..., None]) + 1.6 * glare_p[..., None]  # specular: light-coloured
        gains = capture.exposure * np.asarray(capture.white_balance, np.float32)
        ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
        r2 = ((xs - out_w / 2) ** 2 + (ys - out_h / 2) ** 2) / ((out_w / 2) ** 2 + (out_h / 2) ** 2)
        vignette = (1.0 - capture.vignette * r2)[..., None]
        photo_linear = photo_linear * gains * vignette
        srgb = linear_to_srgb_float(photo_linear) * 255.0
        if capture.noise > 0:
            rng = np.random.default_rng(capture.seed + 7919 * self.seed)
            srgb = srgb + rng.normal(0.0, capture.noise, srgb.shape).astype(np.float32)
        rgb = np.clip(np.rint(srgb), 0, 255).astype(np.uint8)
        if capture.jpeg_quality is not None:
            buffer = io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(capture.jpeg_quality))
            encoded = buffer.getvalue()
            rgb = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))
            fmt = "JPEG"
        else:
            buffer = io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="PNG")
            encoded = buffer.getvalue()
            fmt = "PNG"

        # Ground truth in the photo grid.
        cover_p = warp(cover) > 0.5
        hair_p = warp(hair) > 0.3
        glare_p = glare_p > 0.25
        skin = cover_p & ~hair_p & ~glare_p
        masks = {
            "skin": skin,
            "hair": hair_p,
            "glare": glare_p,
            "spots": (warp(state_masks["spots"].astype(np.float32)) > 0.5) & skin,
            "red": (warp(state_masks["red"].astype(np.float32)) > 0.5) & skin,
            "lines": (warp(state_masks["lines"].astype(np.float32)) > 0.5) & skin,
            "grey_card": warp(self._static_masks["grey_card"]) > 0.5,
            "chart": warp(self._static_masks["chart"]) > 0.5,
        }
        masks["backdrop"] = ~cover_p & ~masks["grey_card"] & ~masks["chart"] if self.backdrop else np.zeros_like(skin)
        true_lab = warp(skin_lab)
        skin_lab_px = true_lab[skin]
        n_skin = max(int(skin.sum()), 1)
        ita = np.degrees(np.arctan2(skin_lab_px[:, 0] - 50.0, skin_lab_px[:, 2]))
        spots_visible = 0
        for x, y, a, *_ in self.spot_specs:
            px, py, pw = canvas_to_photo @ [x, y, 1.0]
            px, py = px / pw, py / pw
            if 0 <= px < out_w and 0 <= py < out_h and skin[int(py), int(px)]:
                spots_visible += 1
        values = {
            "redness": float(skin_lab_px[:, 1].mean()),
            "red_area_pct": 100.0 * float(masks["red"].sum()) / n_skin,
            "spot_area_pct": 100.0 * float(masks["spots"].sum()) / n_skin,
            "spot_count": float(spots_visible if state.spot_extent > 0 else 0),
            "spot_contrast": float(state.spot_contrast),
            "line_area_pct": 100.0 * float(masks["lines"].sum()) / n_skin,
            "ita": float(ita.mean()),
            "skin_L": float(skin_lab_px[:, 0].mean()),
        }
        mm_per_px = self.mm_per_px / (capture.scale * out_w / self.size[0])
        truth = GroundTruth(masks=masks, values=values, camera=camera, mm_per_px=mm_per_px)
        return SyntheticPhoto(rgb=rgb, encoded=encoded, truth=truth, state=state, capture=capture, format=fmt)


# --------------------------------------------------------------------------- demo course

#: The demo patient's course: a micro-needling series on the left cheek.
DEMO_SESSIONS: list[dict[str, Any]] = [
    {"date": "2026-05-04", "treatment": "micro-needling", "settings": {"needle_depth_mm": 1.0}, "notes": "Micro-needling #1; baseline photo taken before treatment.",
     "state": {"erythema": 9.0, "diffuse_redness": 1.5, "spot_contrast": 16.0, "roughness": 1.6, "line_contrast": 7.0},
     "capture": {"rotation_deg": 0.0, "scale": 1.0, "shift": [0, 0], "exposure": 1.0, "white_balance": [1.0, 1.0, 1.0]}},
    {"date": "2026-05-07", "treatment": "other", "notes": "Check 3 days after micro-needling #1: expected redness.",
     "state": {"erythema": 9.0, "diffuse_redness": 7.0, "spot_contrast": 16.0, "roughness": 1.6, "line_contrast": 7.0},
     "capture": {"rotation_deg": 3.0, "scale": 1.04, "shift": [25, -18], "exposure": 1.08, "white_balance": [1.05, 1.0, 0.94]}},
    {"date": "2026-06-01", "treatment": "micro-needling", "settings": {"needle_depth_mm": 1.5}, "notes": "Micro-needling #2; photo before treatment.",
     "state": {"erythema": 8.0, "diffuse_redness": 1.2, "spot_contrast": 13.0, "roughness": 1.4, "line_contrast": 6.0},
     "capture": {"rotation_deg": -2.5, "scale": 0.97, "shift": [-30, 12], "exposure": 0.93, "white_balance": [0.96, 1.0, 1.05]}},
    {"date": "2026-06-29", "treatment": "micro-needling", "settings": {"needle_depth_mm": 1.5}, "notes": "Micro-needling #3; photo before treatment.",
     "state": {"erythema": 6.0, "diffuse_redness": 0.8, "spot_contrast": 10.0, "roughness": 1.2, "line_contrast": 5.0, "line_fraction": 0.8},
     "capture": {"rotation_deg": 1.5, "scale": 1.02, "shift": [10, 20], "exposure": 1.05, "white_balance": [1.03, 1.0, 0.97]}},
    {"date": "2026-08-03", "treatment": "other", "notes": "Follow-up, 5 weeks after the last session.",
     "state": {"erythema": 4.5, "erythema_extent": 0.85, "diffuse_redness": 0.4, "spot_contrast": 8.0, "roughness": 1.0, "line_contrast": 4.5, "line_fraction": 0.7},
     "capture": {"rotation_deg": -1.0, "scale": 0.99, "shift": [-12, -8], "exposure": 0.97, "white_balance": [0.98, 1.0, 1.02]}},
    {"date": "2026-09-28", "treatment": "other", "notes": "Final follow-up, 3 months after the last session.",
     "state": {"erythema": 3.5, "erythema_extent": 0.75, "spot_contrast": 6.0, "roughness": 0.9, "line_contrast": 4.0, "line_fraction": 0.6},
     "capture": {"rotation_deg": 2.0, "scale": 1.03, "shift": [18, 6], "exposure": 1.02, "white_balance": [1.02, 1.0, 0.98]}},
]  # fmt: skip

DEMO_SEED = 2026
DEMO_PATIENT = {"code": "DEMO-001", "display_name": "Demo patient", "area": "left cheek", "fitzpatrick": 3}


def demo_course(seed: int = DEMO_SEED, size: tuple[int, int] = (1600, 1200)) -> list[tuple[dict[str, Any], SyntheticPhoto]]:
    """Render the demo patient's sessions: ``[(session, SyntheticPhoto), ...]``."""
    scene = SkinScene(seed=seed, size=size, grey_card=True, backdrop=True)
    out = []
    for i, session in enumerate(DEMO_SESSIONS):
        state = SkinState(**session["state"])
        cap = dict(session["capture"])
        cap["shift"] = tuple(cap["shift"])
        cap["white_balance"] = tuple(cap["white_balance"])
        capture = Capture(size=size, jpeg_quality=90, seed=seed + i, **cap)
        out.append((session, scene.render(state, capture)))
    return out


def write_demo(folder: str | Path, seed: int = DEMO_SEED, course_layout: bool = False) -> Path:
    """Write the demo course's JPEGs and ``manifest.json`` into ``folder``.

    The manifest lists, per session, the date, treatment, notes, file name,
    the skin state and capture used, and the true values, so anyone can check
    what changed between sessions. With ``course_layout`` the photos go in the
    batch folder convention ``PATIENT/AREA/YYYY-MM-DD/photo.jpg`` (see
    :func:`skintrack.score_course`) instead of ``YYYY-MM-DD_area.jpg``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sessions = []
    area = DEMO_PATIENT["area"].replace(" ", "-")
    for session, photo in demo_course(seed):
        if course_layout:
            name = f"{DEMO_PATIENT['code']}/{area}/{session['date']}/photo.jpg"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
        else:
            name = f"{session['date']}_{area}.jpg"
        (folder / name).write_bytes(photo.encoded)
        sessions.append(
            {
                **manifest_session(session, name),
                "state": asdict(photo.state),
                "capture": asdict(photo.capture),
                "truth": {k: round(v, 3) for k, v in photo.truth.values.items()},
            }
        )
    manifest = {
        "generator": "skintrack.synthetic.write_demo",
        "seed": seed,
        "patient": DEMO_PATIENT,
        "description": (
            "Synthetic micro-needling course on the left cheek: a baseline, a redness spike 3 days after the first "
            "session that recedes, dark spots fading, fine texture and lines improving. Framing and lighting differ "
            "slightly between sessions; a neutral grey backdrop and an 18% grey card are in frame."
        ),
        "sessions": sessions,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def manifest_session(session: dict[str, Any], file_name: str) -> dict[str, Any]:
    """The part of a demo manifest's session entry that every demo shares (what ``load_demo`` reads)."""
    return {
        "date": session["date"],
        "treatment": session["treatment"],
        "settings": session.get("settings", {}),
        "notes": session["notes"],
        "file": file_name,
    }


def with_changes(state: SkinState, **changes: Any) -> SkinState:
    """A copy of ``state`` with some fields changed (convenience for tests)."""
    return replace(state, **changes)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(write_demo(sys.argv[1] if len(sys.argv) > 1 else "sample_images"))
