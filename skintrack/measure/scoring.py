"""``skintrack.score``: every measure of one photo, with its maps and provenance.

Pipeline (all at a fixed working resolution, default long side 1024 px, so a
12 MP photo and its 0.5x copy are measured alike). Each step is one function or
small class below, in this order, so :func:`score` reads as the list:

1. ``_Yardstick.of``: what the **reference** (baseline) score hands on, its
   thresholds and its scale (:attr:`Score.mm_per_px`), or nothing;
2. ``_the_face``: the face (:func:`skintrack.find_face`), if there is one;
3. the photo at the working size and its CIELAB values (:mod:`skintrack.measure.analysis`:
   computed once per photo and shared with the quality gate and the light correction);
4. ``_Area.of``: the area to measure at the working size: the pixels holding image
   data (``measurable``), the named face ``zone`` and the region of interest (``roi``);
5. ``_Skin.of``: the skin mask (:mod:`skintrack.measure.skin`, the face only when there is one)
   in that area: the skin *measured*, and the skin inside the region;
6. ``_scale``: millimetres per pixel: the reference's (baseline's) scale when there
   is one, else from a colour chart found by :func:`skintrack.normalize`
   (``mm_per_px``), else from the face (pupil distance ≈ 63 mm), else assumed from
   the skin region (``skin_region_mm`` across); spot sizes are set in millimetres with it;
7. ``_measure``: each metric family (:mod:`skintrack.measure.metrics`) on the skin measured,
   with the thresholds of the reference when one is given, else this photo's own from
   all the skin measured; the figures are then kept inside the region of interest: a
   spot or line counts when it lies in the region, so a region gives the same spots
   as the whole photo, kept inside it, and never changes a threshold (a region full of
   spots would otherwise raise its own);
8. ``_Found``: a family that fails gives NaN with the reason in ``provenance["errors"]``;
   so does a zone of a low-confidence face, a zone partly outside the photo, or too
   little skin (nothing is measured then);
9. ``_provenance``: how the figures came about.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from .._version import __version__
from ..intake.photo import Photo, load_photo
from ..jsonsafe import finite
from .analysis import photo_face, photo_skin, working_lab, working_rgb
from .face import ZONES, Face, FaceConfig
from .filters import fill_outside
from .masks import dilate, erode
from .metrics import METRIC_NAMES, NO_SCALE, OVERLAYS
from .metrics.redness import measure_redness, red_excess, red_lesion_threshold, red_threshold, redness_map
from .metrics.spots import detect_spots, local_darkness, spot_threshold, spots_inside
from .metrics.texture import band_pass, detect_lines, line_threshold, ridge_strength, roughness
from .metrics.tone import measure_tone
from .roi import Region, rasterise, roi_hash, roi_kind
from .skin import SkinConfig

__all__ = ["OVERLAYS", "Score", "ScoreConfig", "score", "score_zones"]

#: Threshold names handed from a baseline score to later sessions.
THRESHOLD_NAMES = ("red_a", "spot_delta_L", "line_delta_L", "red_lesion_delta_a")
#: ... of them, those a reference measured by an engine before 0.6.0 lacks: the measures that need one are
#: then NaN with the reason (rescore the baseline), the others are measured as before.
LATER_THRESHOLDS = {"red_lesion_delta_a": ("red_lesion_count", "red_lesion_mean_mm2")}


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of the measurement engine (all recorded in provenance).

    Pixel sizes refer to the working resolution.
    """

    working_size: int = 1024  #: long side of the working image, px
    min_skin_pixels: int = 2000  #: fewer ROI skin pixels -> every metric NaN
    edge_margin: int = 4  #: px of skin edge left out of filter-based measures
    hair_contrast: float = 12.0  #: ΔL* for a thin dark structure to count as hair
    red_sigma: float = 1.5  #: smoothing of a* before thresholding, px
    red_min_delta: float = 4.0  #: T_red is at least this far above normal a*
    red_k: float = 3.0  #: ... or this many robust SDs
    red_lesion_window_mm: float = 15.0  #: the skin around a red lesion it is judged against, mm
    red_lesion_min_delta: float = 4.0  #: T_lesion at least, a* units above the skin around it
    red_lesion_k: float = 3.0  #: ... or this many robust SDs above the median excess
    spot_window_mm: float = 30.0  #: local background window, mm (spots up to ~10 mm are bridged)
    spot_sigma_mm: float = 0.35  #: smoothing of L* before comparing with the background, mm (pores blur away)
    spot_min_delta: float = 4.0  #: T_spot at least, ΔL*
    spot_k: float = 3.0  #: ... or this many robust SDs above the median darkness
    spot_min_diameter_mm: float = 1.0  #: smallest spot, equivalent-circle diameter, mm (pores are 0.1-0.5 mm)
    spot_max_elongation: float = 3.0
    spot_min_width_mm: float = 0.75  #: narrowest spot, mm
    spot_min_px: float = 3.0  #: ... but never narrower than this many working pixels (sensor noise)
    spot_sigma_min_px: float = 3.0  #: ... and never smoothed less than this (sensor noise, JPEG blocks), px
    skin_region_mm: float = 100.0  #: without chart or face, the skin region's equivalent diameter, mm (assumed)
    line_scales: tuple[float, ...] = (1.0, 1.7, 2.9)  #: ridge filter σ, px
    line_min_delta: float = 2.5  #: T_line at least, ΔL*
    line_k: float = 4.0
    line_min_length: int = 15  #: px
    rough_sigma_fine: float = 1.0  #: px
    rough_sigma_coarse: float = 3.0  #: px
    find_faces: bool = True  #: look for a face (zones, face-only skin, pupil-distance scale)
    face: FaceConfig = field(default_factory=FaceConfig)
    skin: SkinConfig = field(default_factory=SkinConfig)

    def __post_init__(self):
        # Settings read back from JSON (provenance, batch tables) hold the nested configs as mappings.
        if isinstance(self.face, Mapping):
            object.__setattr__(self, "face", FaceConfig(**self.face))
        if isinstance(self.skin, Mapping):
            object.__setattr__(self, "skin", SkinConfig(**self.skin))
        object.__setattr__(self, "line_scales", tuple(self.line_scales))

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["line_scales"] = list(self.line_scales)
        return values

    @property
    def settings_hash(self) -> str:
        """Short hash of the settings; equal hashes mean comparable scores."""
        payload = json.dumps({"version": __version__, **self.as_dict()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class Score:
    """The measures of one photo.

    Attributes
    ----------
    metrics : dict[str, float]
        Stable names (see :mod:`skintrack.measure.metrics`); NaN when not computable.
    thresholds : dict[str, float]
        The thresholds used; pass this score as ``reference=`` to measure later
        sessions with the same yardstick.
    provenance : dict
        Engine version, settings and their hash (``score_settings_hash``: of this
        :class:`ScoreConfig`; a score measured by :func:`skintrack.compare` also carries
        ``settings_hash``, the hash of the whole pipeline's :class:`~skintrack.CompareConfig`),
        photo hash, ROI and skin pixel counts, working resolution, where the thresholds
        came from, errors.
    maps : dict[str, ndarray]
        Working-resolution maps: ``skin`` (bool), ``redness`` (a*, float),
        ``red`` (bool), ``darkness`` (ΔL*), ``spots`` (bool), ``line_strength``
        (ΔL*), ``lines`` (bool), ``ita`` (degrees).
    image : ndarray
        The working-resolution RGB image the maps belong to.
    mm_per_px : float
        Millimetres per *working* pixel: the scale spot sizes were set with (``provenance["scale"]``
        says where it came from and gives it per full-resolution pixel). Like the thresholds, a
        later session measured with this score as ``reference=`` uses it. NaN when nothing was measured.
    """

    metrics: dict[str, float]
    thresholds: dict[str, float]
    provenance: dict[str, Any]
    maps: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    image: np.ndarray | None = field(repr=False, default=None)
    mm_per_px: float = math.nan

    def overlay(self, name: str, alpha: float = 0.55) -> np.ndarray:
        """The working image with one map drawn on it (``HxWx3`` uint8 RGB).

        ``name`` is one of :data:`OVERLAYS`: ``skin`` (non-skin dimmed),
        ``redness`` (heat map of a* above normal, red area outlined), ``red_lesions``
        (red lesion outlines, magenta), ``spots`` (spot outlines), ``lines`` (line pixels).
        """
        if name not in OVERLAYS:
            raise ValueError(f"Unknown overlay {name!r}; choose one of {', '.join(OVERLAYS)}.")
        if self.image is None:
            raise ValueError("This score holds no image (it was loaded from a table).")
        base = self.image.astype(np.float32)
        skin = self.maps["skin"]
        out = base.copy()
        if name == "skin":
            out[~skin] *= 0.3
        elif name == "redness":
            a_map = self.maps["redness"]
            normal = self.thresholds["red_a"] - self.provenance["settings"]["red_min_delta"]
            level = np.clip((a_map - normal) / 12.0, 0.0, 1.0)
            heat = cv2.applyColorMap(np.uint8(level * 255), cv2.COLORMAP_INFERNO)[:, :, ::-1].astype(np.float32)
            weight = (alpha * level * skin)[..., None]
            out = base * (1 - weight) + heat * weight
            _draw_outline(out, self.maps["red"], (255, 40, 40))
        elif name == "red_lesions":
            _draw_outline(out, self.maps["red_lesions"], (255, 0, 200))
        elif name == "spots":
            _draw_outline(out, self.maps["spots"], (0, 230, 255))
        elif name == "lines":
            out[self.maps["lines"]] = out[self.maps["lines"]] * (1 - alpha) + np.array([255, 230, 0]) * alpha
        return np.clip(out, 0, 255).astype(np.uint8)

    @property
    def uncertainty(self) -> dict[str, float]:
        """MDC95 of each metric from the shipped noise tables (:mod:`skintrack.noise`), for the
        neutral reference and alignment this photo had (none and the baseline's, for a photo that was
        not normalised or aligned) at its own level.

        A change between two sessions smaller than this is within measurement
        noise. Empty when this score used other settings than the tables.
        """
        from ..comparison.noise import Conditions, mdc95, shipped_table

        own = self.provenance.get("score_settings_hash")
        if own != shipped_table().get("score_settings_hash"):
            return {}
        alignment = self.provenance.get("alignment") or {}
        conditions = Conditions.of(self.provenance.get("normalization"), alignment.get("quality"))
        return {name: mdc95(name, conditions, level=value) for name, value in self.metrics.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable metrics, thresholds and provenance (no maps)."""
        return {
            "metrics": {k: finite(v) for k, v in self.metrics.items()},
            "thresholds": {k: finite(v) for k, v in self.thresholds.items()},
            "mm_per_px": finite(self.mm_per_px),
            "provenance": self.provenance,
        }

    def to_row(self) -> dict[str, Any]:
        """One flat table row: metrics plus the provenance columns needed to reproduce them."""
        prov = self.provenance
        row: dict[str, Any] = {
            "sha256": prov.get("photo_sha256"),
            **self.metrics,
            "engine_version": prov.get("engine_version"),
            "settings_hash": prov.get("settings_hash"),
            "score_settings_hash": prov.get("score_settings_hash"),
            "working_width": prov.get("working_size", [None, None])[0],
            "working_height": prov.get("working_size", [None, None])[1],
            "roi_pixels": prov.get("roi_pixels"),
            "skin_pixels": prov.get("skin_pixels"),
            "thresholds_from": prov.get("thresholds_from"),
            "errors": "; ".join(f"{k}: {v}" for k, v in prov.get("errors", {}).items()) or None,
        }
        return row


def _draw_outline(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> None:
    edge = mask & ~erode(mask, 1)
    edge = dilate(edge, 1) & ~erode(mask, 2) if edge.any() else edge
    image[edge] = colour


def _roi_mask(roi: Any, working_shape: tuple[int, int], original_size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """The region of interest at the working size (:func:`skintrack.measure.roi.rasterise`) and its description."""
    mask = rasterise(roi, working_shape, original_size)
    if mask is None:
        return np.ones(working_shape, bool), "automatic skin mask"
    if isinstance(roi, np.ndarray):
        return mask, f"mask {roi.shape[1]}x{roi.shape[0]}"
    region = Region.of(roi, original_size)
    if region.shape == "rectangle" and not isinstance(roi, (Region, dict)):
        x, y, w, h = roi_kind(roi)[1]
        return mask, f"rectangle x={x:g} y={y:g} w={w:g} h={h:g}"
    return mask, f"outlined {region.shape} {region.digest}"


def _config(config: ScoreConfig | Mapping[str, Any] | None) -> ScoreConfig:
    if config is None:
        return ScoreConfig()
    if isinstance(config, ScoreConfig):
        return config
    fields = {f.name for f in dataclasses.fields(ScoreConfig)}
    unknown = set(config) - fields
    if unknown:
        raise ValueError(f"Unknown score settings: {', '.join(sorted(unknown))}.")
    return ScoreConfig(**dict(config))


_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skintrack-score")
_THREADED = os.environ.get("SKINTRACK_THREADS", "") != "1"


def set_single_threaded(single: bool = True) -> None:
    """Run every score on one thread (OpenCV included), e.g. in each worker of a batch.

    Results are identical either way; a batch with one process per core is
    faster when each process keeps to its own core.
    """
    global _THREADED
    _THREADED = not single
    cv2.setNumThreads(1 if single else cv2.getNumberOfCPUs())


def _executor():
    return _POOL if _THREADED else None


@dataclass
class _Context:
    """What every metric family needs, computed once per photo."""

    cfg: ScoreConfig
    L: np.ndarray
    a: np.ndarray
    b: np.ndarray
    skin: np.ndarray  # the skin the figures are about: measured skin inside the region of interest
    inner: np.ndarray  # ... minus the edge margin of the measured skin
    measured: np.ndarray  # all the skin measured (zone, image data; no region): maps and thresholds
    measured_inner: np.ndarray  # ... minus its edge margin
    region: np.ndarray | None  # the region of interest (None: all the skin measured)
    filled: np.ndarray  # L* with the unmeasured pixels filled smoothly (no edge step for filters)
    outer_edge: np.ndarray  # rim of the measured area (small holes such as hairs are not rims)
    reference: dict[str, float] | None
    mm_per_px: float  # millimetres per working pixel
    scale_measured: bool  # the scale comes from a chart or a face (here or in the baseline), not assumed

    @property
    def n_skin(self) -> int:
        return max(int(self.skin.sum()), 1)

    def px(self, mm: float) -> float:
        """A length in millimetres as working pixels."""
        return mm / self.mm_per_px

    @property
    def spot_sizes_px(self) -> tuple[float, float, float, int]:
        """(smoothing σ, least area, least width, background window) of spots, in working pixels."""
        cfg = self.cfg
        sigma = max(cfg.spot_sigma_min_px, self.px(cfg.spot_sigma_mm))
        min_area = max(cfg.spot_min_px**2, math.pi / 4.0 * self.px(cfg.spot_min_diameter_mm) ** 2)
        min_width = max(cfg.spot_min_px, self.px(cfg.spot_min_width_mm))
        return sigma, min_area, min_width, self.window_px(cfg.spot_window_mm)

    def window_px(self, mm: float) -> int:
        """A background window of ``mm`` millimetres in working pixels: odd, at least 31, at most twice the image."""
        return int(np.clip(round(self.px(mm)), 31, 2 * max(self.L.shape) + 1)) | 1

    def threshold(self, name: str, compute) -> float:
        """The baseline's threshold when there is a reference, else this photo's own."""
        if not self.reference:
            return float(compute())
        if name not in self.reference:
            raise ValueError(f"the baseline was measured by an engine before 0.6.0 (no {name}); rescore it")
        return self.reference[name]

    def mean_mm2(self, sizes_px: list[float]) -> float:
        """Mean area in mm² of blobs given in working pixels (0 when there is none); NaN without a measured scale."""
        if not self.scale_measured:
            return math.nan
        return float(np.mean(sizes_px)) * self.mm_per_px**2 if sizes_px else 0.0


@dataclass
class _Part:
    """What one family contributes to a score; a failure becomes NaN plus a reason."""

    metrics: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    sizes_px: list[float] | None = None  # spot areas, working px

    def fail(self, names: Sequence[str], exc: Exception) -> None:
        for name in names:
            self.metrics[name] = float("nan")
            self.errors[name] = f"{type(exc).__name__}: {exc}"


def _redness(ctx: _Context) -> _Part:
    part, cfg = _Part(), ctx.cfg
    try:
        a_map = redness_map(ctx.a, cfg.red_sigma)
        threshold = ctx.threshold("red_a", lambda: red_threshold(a_map, ctx.measured, cfg.red_min_delta, cfg.red_k))
        red = measure_redness(ctx.a, ctx.skin, threshold, a_map)
        part.thresholds["red_a"] = threshold
        part.metrics.update(redness=red.redness, red_area_pct=red.red_area_pct)
        part.maps.update(redness=red.a_map, red=red.red_mask)
    except Exception as exc:  # a failing family must not sink the others
        part.fail(("redness", "red_area_pct"), exc)
    return part


def _red_lesions(ctx: _Context) -> _Part:
    """Red lesions: local excesses of a* found like dark spots (:mod:`skintrack.measure.metrics.redness`)."""
    part, cfg = _Part(), ctx.cfg
    names = ("red_lesion_count", "red_lesion_mean_mm2")
    part.maps["red_lesions"] = np.zeros(ctx.skin.shape, bool)
    try:
        sigma, min_area, min_width, _ = ctx.spot_sizes_px
        excess = red_excess(ctx.a, ctx.measured, ctx.window_px(cfg.red_lesion_window_mm), sigma)
        part.maps["red_excess"] = excess
        threshold = ctx.threshold(
            "red_lesion_delta_a",
            lambda: red_lesion_threshold(excess, ctx.measured_inner, cfg.red_lesion_min_delta, cfg.red_lesion_k),
        )
        every = detect_spots(
            excess, ctx.measured_inner, threshold, min_area, cfg.spot_max_elongation, outer_edge=ctx.outer_edge,
            min_width=min_width, split_peaks=True,
        )  # fmt: skip
        lesions = every if ctx.region is None else spots_inside(every, excess, ctx.region)
        part.thresholds["red_lesion_delta_a"] = threshold
        part.metrics.update(red_lesion_count=lesions.spot_count, red_lesion_mean_mm2=ctx.mean_mm2(lesions.sizes_px))
        part.maps["red_lesions"] = lesions.mask
        if not ctx.scale_measured:
            part.errors["red_lesion_mean_mm2"] = NO_SCALE
    except Exception as exc:
        part.fail(names, exc)
    return part


def _darkness(ctx: _Context) -> _Part:
    part = _Part()
    try:
        sigma, _, _, window = ctx.spot_sizes_px
        part.maps["darkness"] = local_darkness(ctx.L, ctx.measured, window, sigma, filled_L=ctx.filled)
    except Exception as exc:
        part.fail(("spot_area_pct", "spot_count", "spot_contrast", "spot_mean_mm2"), exc)
    return part


def _spots(ctx: _Context, darkness: np.ndarray | None, strength: np.ndarray | None) -> _Part:
    part, cfg = _Part(), ctx.cfg
    part.maps["spots"] = np.zeros(ctx.skin.shape, bool)
    if darkness is None:
        return part
    try:
        threshold = ctx.threshold(
            "spot_delta_L", lambda: spot_threshold(darkness, ctx.measured_inner, cfg.spot_min_delta, cfg.spot_k)
        )
        _, min_area, min_width, _ = ctx.spot_sizes_px
        every_spot = detect_spots(
            darkness,
            ctx.measured_inner,
            threshold,
            min_area,
            cfg.spot_max_elongation,
            outer_edge=ctx.outer_edge,
            min_width=min_width,
            line_strength=strength,
        )
        # Texture leaves out every spot measured, also those outside the region.
        part.maps["every_spot"] = every_spot.mask
        spots = every_spot if ctx.region is None else spots_inside(every_spot, darkness, ctx.region)
        part.thresholds["spot_delta_L"] = threshold
        part.metrics.update(
            spot_count=spots.spot_count,
            spot_area_pct=100.0 * float(spots.mask.sum()) / ctx.n_skin,
            spot_contrast=spots.spot_contrast,
            spot_mean_mm2=ctx.mean_mm2(spots.sizes_px),
        )
        part.maps["spots"] = spots.mask
        part.sizes_px = spots.sizes_px
        if not ctx.scale_measured:
            part.errors["spot_mean_mm2"] = NO_SCALE
    except Exception as exc:
        part.fail(("spot_area_pct", "spot_count", "spot_contrast", "spot_mean_mm2"), exc)
    return part


def _texture_filters(ctx: _Context) -> _Part:
    """The filter responses texture needs; they do not depend on the spots."""
    part, cfg = _Part(), ctx.cfg
    try:
        part.maps["line_strength"] = ridge_strength(ctx.filled, cfg.line_scales)
    except Exception as exc:
        part.fail(("line_density",), exc)
    try:
        part.maps["texture_band"] = band_pass(ctx.filled, cfg.rough_sigma_fine, cfg.rough_sigma_coarse)
    except Exception as exc:
        part.fail(("texture_roughness",), exc)
    return part


def _texture(ctx: _Context, spots_mask: np.ndarray, strength: np.ndarray | None, band: np.ndarray | None) -> _Part:
    """Lines away from spots, then roughness away from spots and lines."""
    part, cfg = _Part(), ctx.cfg
    lines_mask = np.zeros(ctx.skin.shape, bool)
    if strength is not None:
        try:
            line_region = ctx.measured_inner & ~dilate(spots_mask, 3)
            threshold = ctx.threshold(
                "line_delta_L", lambda: line_threshold(strength, line_region, cfg.line_min_delta, cfg.line_k)
            )
            lines = detect_lines(strength, line_region, threshold, cfg.line_min_length)
            lines_mask = lines.mask
            counted = lines.mask if ctx.region is None else lines.mask & ctx.region
            part.thresholds["line_delta_L"] = threshold
            part.metrics["line_density"] = 100.0 * float(counted.sum()) / ctx.n_skin
            part.maps["lines"] = counted
        except Exception as exc:
            part.fail(("line_density",), exc)
    if band is not None:
        try:
            part.metrics["texture_roughness"] = roughness(band, ctx.inner & ~dilate(spots_mask | lines_mask, 3))
        except Exception as exc:
            part.fail(("texture_roughness",), exc)
    return part


def _measure(ctx: _Context) -> list[_Part]:
    """All families. The red lesions (the slowest family, about half the time) run beside the texture
    filters, the darkness map, redness and tone (OpenCV and NumPy release the GIL, so two threads use
    both cores); spots need the darkness and ridge maps, texture needs the spots."""
    pool = _executor()
    if pool is not None:
        background = pool.submit(_red_lesions, ctx)
        filters = _texture_filters(ctx)
        darkness, redness, tone = _darkness(ctx), _redness(ctx), _tone(ctx)
        lesions = background.result()
    else:
        filters = _texture_filters(ctx)
        darkness, redness, tone, lesions = _darkness(ctx), _redness(ctx), _tone(ctx), _red_lesions(ctx)
    strength = filters.maps.get("line_strength")
    spots = _spots(ctx, darkness.maps.get("darkness"), strength)
    texture = _texture(ctx, spots.maps.pop("every_spot", spots.maps["spots"]), strength, filters.maps.pop("texture_band", None))
    return [darkness, spots, filters, texture, redness, lesions, tone]


def _tone(ctx: _Context) -> _Part:
    part = _Part()
    try:
        tone = measure_tone(ctx.L, ctx.b, ctx.skin, filled_L=ctx.filled)
        part.metrics.update(ita=tone.ita, evenness=tone.evenness)
        part.maps["ita"] = tone.ita_map
    except Exception as exc:
        part.fail(("ita", "evenness"), exc)
    return part


def score(
    photo: Photo | np.ndarray,
    *,
    roi: Any = None,
    zone: str | None = None,
    face: Face | None | str = "auto",
    reference: Score | Mapping[str, float] | None = None,
    config: ScoreConfig | Mapping[str, Any] | None = None,
    measurable: np.ndarray | None = None,
) -> Score:
    """Measure redness, spots, texture and tone on one photo.

    Parameters
    ----------
    photo : Photo or ndarray
        A :class:`~skintrack.Photo` or an ``HxWx3`` uint8 RGB array.
    roi : None, ndarray, Region, (x, y, w, h) or [(x, y), ...]
        Region to measure: ``None`` for the automatic skin mask alone, an HxW
        boolean mask (any resolution; it is resampled, e.g. ``face.zones["left_cheek"]``),
        a :class:`skintrack.measure.roi.Region` (or its dict), a rectangle in the photo's pixel
        coordinates or a polygon in fractions (0-1) of its frame; rasterised at the working
        size by :func:`skintrack.measure.roi.rasterise`. The figures are about the skin inside it,
        but it is not a frame of its own: spots, lines and (without a ``reference``) the
        thresholds are found on all the skin measured and then kept inside the region
        (a spot or line counts when its centre lies in it), so a region gives the same
        spots as the whole photo kept inside the region.
    zone : str, optional
        Measure one face zone (one of :data:`skintrack.measure.face.ZONES`, e.g. ``"left_cheek"``:
        the patient's left). When the photo shows no face, the face was found with low
        confidence or the zone is partly outside the photo, every metric is NaN and
        ``provenance["errors"]`` says why.
    face : Face, None or "auto"
        The face in this photo: ``"auto"`` finds it (when ``config.find_faces``), ``None``
        measures without one, a :class:`~skintrack.measure.face.Face` from :func:`skintrack.find_face`
        on this photo is used as is. With a face only the face is skin.
    reference : Score or mapping, optional
        The baseline score of the same area, or its ``thresholds`` (a mapping, which may
        add ``"mm_per_px"``: the baseline's :attr:`Score.mm_per_px`, and ``"scale_measured": 1``
        when that scale came from a chart or a face, ``provenance["scale"]["measured"]``; without
        it the sizes in mm² are not given). Every threshold
        that decides "red", "spot" or "line" is taken from it, so a real change between
        sessions shows as a change; so is the scale in mm per pixel that sets the spot sizes.
    config : ScoreConfig or mapping, optional
        Engine settings; a mapping overrides individual defaults.
    measurable : ndarray, optional
        HxW boolean mask (any resolution) of the pixels that hold image data, e.g. an
        aligned follow-up's :attr:`skintrack.Alignment.coverage`: nothing outside it is
        measured, and its rim is an edge like the photo's own.

    Returns
    -------
    Score

    Raises
    ------
    PhotoError
        If ``photo`` is not a usable photo.
    ValueError
        If ``roi``, ``zone`` or ``config`` is malformed, or ``reference`` was measured
        with different settings.
    """
    cfg = _config(config)
    photo = load_photo(photo)
    if zone is not None and zone not in ZONES:
        raise ValueError(f"Unknown zone {zone!r}; choose one of {', '.join(ZONES)}.")
    yardstick = _Yardstick.of(reference, cfg)
    face = _the_face(photo, face, cfg)
    rgb, lab = working_rgb(photo, cfg.working_size), working_lab(photo, cfg.working_size)
    area = _Area.of(photo, lab.shape[:2], roi=roi, zone=zone, face=face, measurable=measurable)
    # Only a confident face decides what skin is; a doubtful one is reported (zones NaN) but not used.
    trusted = face if face is not None and face.confident else None
    masks = photo_skin(photo, cfg.working_size, face=trusted, config=cfg.skin, hair_contrast=cfg.hair_contrast, executor=_executor())
    skin = _Skin.of(masks, area, cfg)
    scale = _scale(photo, face, masks.skin, lab.shape[:2], yardstick.mm_per_working_px, cfg, yardstick.scale_measured)
    refusal = area.problem or skin.too_little(cfg)
    found = _Found.refused(refusal) if refusal else _Found.of(_measure(_context(cfg, lab, masks, area, skin, yardstick, scale)))
    found.maps = {"skin": skin.skin, **found.maps}
    found.fill_gaps(lab.shape[:2])
    provenance = _provenance(photo, cfg, lab.shape[:2], area, skin, face, scale, yardstick, found)
    return Score(
        metrics=found.metrics, thresholds=found.thresholds, provenance=provenance, maps=found.maps, image=rgb,
        mm_per_px=scale["mm_per_working_px"] if not refusal else math.nan,
    )  # fmt: skip


# --------------------------------------------------------------------------- the steps of score()


@dataclass
class _Yardstick:
    """What a later session takes from its baseline: the thresholds and the scale (None: this photo's own)."""

    thresholds: dict[str, float] | None = None
    mm_per_working_px: float | None = None
    sha256: str | None = None
    scale_measured: bool = True  # the baseline's scale came from a chart or face (or was given), not assumed

    @classmethod
    def of(cls, reference: Score | Mapping[str, float] | None, cfg: ScoreConfig) -> "_Yardstick":
        if reference is None:
            return cls()
        if isinstance(reference, Score):
            own = reference.provenance.get("score_settings_hash")
            if own and own != cfg.settings_hash:
                raise ValueError(
                    "The reference score was measured with different settings "
                    f"({own} vs {cfg.settings_hash}); rescore the baseline with these settings first."
                )
            given, mm, sha = dict(reference.thresholds), reference.mm_per_px, reference.provenance.get("photo_sha256")
            scale = reference.provenance.get("scale") or {}
            # (A score from before 0.6.0 has no "measured": its source says whether the scale was assumed.)
            measured = scale.get("measured", scale.get("source") != "skin region (assumed)")
        else:
            given, mm, sha = {k: float(v) for k, v in reference.items()}, None, None
            mm = given.pop("mm_per_px", None)
            # A bare mm_per_px may be an assumed scale (Score.mm_per_px always has one): sizes in mm² only
            # when the caller says it was measured.
            measured = bool(given.pop("scale_measured", 0.0))
        mm = given.pop("spot_mm_per_px", mm)  # where thresholds stored before the field existed kept the scale
        missing = [name for name in THRESHOLD_NAMES if name not in given and name not in LATER_THRESHOLDS]
        if missing:
            raise ValueError(f"The reference lacks thresholds: {', '.join(missing)}.")
        finite_mm = mm is not None and math.isfinite(mm)
        # A later threshold the baseline could not set (NaN: its family failed, or it was itself measured
        # against an older baseline) is missing, not a threshold nothing reaches.
        kept = {name: given[name] for name in THRESHOLD_NAMES
                if name in given and (name not in LATER_THRESHOLDS or math.isfinite(given[name]))}  # fmt: skip
        return cls(kept, float(mm) if finite_mm else None, sha, bool(measured) if finite_mm else True)

    @property
    def source(self) -> str:
        return "this photo" if self.thresholds is None else "reference"


def _the_face(photo: Photo, face: Face | None | str, cfg: ScoreConfig) -> Face | None:
    if isinstance(face, str):
        if face != "auto":
            raise ValueError('face must be a Face, None or "auto".')
        return photo_face(photo, cfg.face) if cfg.find_faces else None
    return face


@dataclass
class _Area:
    """Where to measure, at the working size, before the skin mask."""

    image_data: np.ndarray  # pixels with image data, inside the zone when there is one
    roi_mask: np.ndarray  # the region of interest (all True without one)
    region: np.ndarray | None  # the same, None when there is no region of interest
    description: str
    zone: str | None
    problem: str | None  # why nothing can be measured here (a zone without a usable face)
    measurable_shape: tuple[int, int] | None
    roi_sha256: str | None

    @classmethod
    def of(cls, photo: Photo, shape: tuple[int, int], *, roi, zone, face, measurable) -> "_Area":
        roi_mask, description = _roi_mask(roi, shape, photo.size)
        if measurable is not None:
            measurable = np.asarray(measurable)
            if measurable.ndim != 2 or measurable.size == 0:
                raise ValueError("measurable must be an HxW boolean mask (the pixels that hold image data).")
        image_data = np.ones(shape, bool) if measurable is None else rasterise(measurable, shape, photo.size)
        problem = None
        if zone is not None:
            if face is None:
                problem = f"no face found in the photo, so the zone {zone!r} cannot be measured"
            elif zone in face.zone_issues:
                problem = f"zone {zone!r}: {face.zone_issues[zone]}"
            else:
                image_data = image_data & face.zone_mask(zone, shape)
                description = f"zone {zone}" if roi is None else f"zone {zone} and {description}"
        region = None if roi is None else roi_mask
        shape_given = None if measurable is None else measurable.shape
        return cls(image_data, roi_mask, region, description, zone, problem, shape_given, roi_hash(roi))

    @property
    def of_interest(self) -> np.ndarray:
        """The area the figures are about: the measured area inside the region of interest."""
        return self.image_data if self.region is None else self.image_data & self.region


@dataclass
class _Skin:
    """The skin measured (maps and thresholds) and the skin the figures are about (inside the region)."""

    measured: np.ndarray
    measured_inner: np.ndarray  # ... minus the edge margin
    skin: np.ndarray
    inner: np.ndarray
    cover: dict[str, float]  # what covers the area of interest, in %

    @classmethod
    def of(cls, masks, area: _Area, cfg: ScoreConfig) -> "_Skin":
        measured = masks.skin & area.image_data
        measured_inner = erode(measured, cfg.edge_margin)
        skin = measured if area.region is None else measured & area.region
        inner = measured_inner if area.region is None else measured_inner & area.region
        return cls(measured, measured_inner, skin, inner, _area_cover(masks, area.of_interest))

    def too_little(self, cfg: ScoreConfig) -> str | None:
        n_skin = int(self.skin.sum())
        if n_skin >= cfg.min_skin_pixels and int(self.inner.sum()) >= cfg.min_skin_pixels // 4:
            return None
        covered = ", ".join(f"{what[:-4]} {pct:g} %" for what, pct in self.cover.items() if what != "skin_pct" and pct >= 1)
        return f"only {n_skin} skin pixels in the ROI (need {cfg.min_skin_pixels})" + (f"; of the area: {covered}" if covered else "")


def _context(cfg, lab, masks, area: _Area, skin: _Skin, yardstick: _Yardstick, scale) -> _Context:
    # The measured area with its small holes (hairs, glints) closed: its rim is the outer edge.
    closed = (masks.skin | masks.hair | masks.glare) & area.image_data
    L = lab[..., 0]
    return _Context(
        cfg, L, lab[..., 1], lab[..., 2], skin.skin, skin.inner, skin.measured, skin.measured_inner, area.region,
        fill_outside(L, skin.measured), ~erode(closed, cfg.edge_margin + 1), yardstick.thresholds,
        scale["mm_per_working_px"], scale["measured"],
    )  # fmt: skip


@dataclass
class _Found:
    """The families' results put together: metrics, thresholds, maps, reasons for NaN."""

    metrics: dict[str, float]
    thresholds: dict[str, float]
    maps: dict[str, np.ndarray]
    errors: dict[str, str]
    sizes_px: list[float] | None = None

    @classmethod
    def refused(cls, reason: str) -> "_Found":
        nan = float("nan")
        return cls({name: nan for name in METRIC_NAMES}, {name: nan for name in THRESHOLD_NAMES}, {},
                   {name: reason for name in METRIC_NAMES})  # fmt: skip

    @classmethod
    def of(cls, parts: list[_Part]) -> "_Found":
        found = cls.refused("")
        found.errors = {}
        for part in parts:
            found.metrics.update(part.metrics)
            found.thresholds.update(part.thresholds)
            found.maps.update(part.maps)
            found.errors.update(part.errors)
            if part.sizes_px is not None:
                found.sizes_px = part.sizes_px
        return found

    def fill_gaps(self, shape: tuple[int, int]) -> None:
        """A reason for every NaN, and every map (empty where nothing was measured)."""
        for name, value in self.metrics.items():
            if not math.isfinite(value) and name not in self.errors:
                self.errors[name] = "not computable on this photo"
        for optional in ("redness", "red_excess", "darkness", "line_strength", "ita"):
            self.maps.setdefault(optional, np.zeros(shape, np.float32))
        for optional in ("red", "red_lesions", "spots", "lines"):
            self.maps.setdefault(optional, np.zeros(shape, bool))


def _provenance(photo: Photo, cfg: ScoreConfig, shape, area: _Area, skin: _Skin, face, scale, yardstick: _Yardstick,
                found: _Found) -> dict[str, Any]:  # fmt: skip
    """How the figures came about (see :attr:`Score.provenance`)."""
    spot_sizes = None
    if found.sizes_px is not None and scale["measured"]:
        spot_sizes = [round(area_px * scale["mm_per_working_px"] ** 2, 3) for area_px in found.sizes_px]
    n_skin = int(skin.skin.sum())
    provenance: dict[str, Any] = {
        "engine_version": __version__,
        "settings": cfg.as_dict(),
        "score_settings_hash": cfg.settings_hash,
        "photo_sha256": photo.sha256,
        "photo_format": photo.metadata.get("format"),
        "original_size": list(photo.size),
        "working_size": [int(shape[1]), int(shape[0])],
        "roi": area.description,
        "roi_sha256": area.roi_sha256,
        "zone": area.zone,
        "roi_pixels": int((area.roi_mask & area.image_data).sum()),
        "measurable": None if area.measurable_shape is None else f"mask {area.measurable_shape[1]}x{area.measurable_shape[0]}",
        "skin_pixels": n_skin,
        "skin_fraction": round(float(skin.skin.mean()), 4),
        "area_cover": skin.cover,
        "face": face.summary() if face is not None else None,
        "scale": {k: v for k, v in scale.items() if k != "mm_per_working_px"},
        "spot_sizes_mm2": spot_sizes,
        "thresholds_from": yardstick.source,
        "reference_sha256": yardstick.sha256,
        "colour": "CIELAB (D65, 2°) from sRGB, float32",
        "libraries": {"numpy": np.__version__, "opencv": cv2.__version__},
        "errors": found.errors,
    }
    for key in ("normalization", "alignment"):
        if key in photo.metadata:
            provenance[key] = photo.metadata[key]
    return provenance


def _area_cover(masks, area: np.ndarray) -> dict[str, float]:
    """What covers the area to measure (zone, region, image data), in % of it: the skin measured, and what
    kept the rest from being skin (hair, shadow or dark non-skin, shine, other colours). Kept in the
    provenance so a provider can be told why a zone could not be measured ("covered by hair")."""
    n = max(int(area.sum()), 1)

    def pct(mask: np.ndarray) -> float:
        return round(100.0 * float((mask & area).sum()) / n, 1)

    return {
        "skin_pct": pct(masks.skin),
        "hair_pct": pct(masks.hair & ~masks.skin),
        "shadow_pct": pct(masks.dark & ~masks.skin & ~masks.hair),
        "shine_pct": pct(masks.glare & ~masks.skin),
    }


def _scale(
    photo: Photo,
    face: Face | None,
    skin: np.ndarray,
    working_shape: tuple[int, int],
    baseline_mm_per_working_px: float | None,
    cfg: ScoreConfig,
    baseline_measured: bool = True,
) -> dict[str, Any]:
    """Millimetres per pixel and where the figure comes from (baseline, chart, face, assumed)."""
    to_working = photo.size[0] / working_shape[1]  # full-resolution px per working px
    if baseline_mm_per_working_px is not None:
        # The baseline's yardstick, like its thresholds: a follow-up is measured at the same scale.
        return {
            "mm_per_px": round(baseline_mm_per_working_px / to_working, 6),
            "source": "baseline",
            "measured": baseline_measured,
            "mm_per_working_px": baseline_mm_per_working_px,
        }
    chart = (photo.metadata.get("normalization") or {}).get("mm_per_px")
    if chart:
        mm, source = float(chart), "colour chart"
    elif face is not None and face.confident and face.turned_away is not None:
        # A turned head shortens the pupil distance in the photo (by cos(yaw) for a rigid turn): the scale sets
        # the spots' windows as before, but is not a measurement to give sizes in mm² from.
        mm = face.mm_per_px
        source = (f"face turned {abs(face.yaw_deg):.0f}° (more than {face.config.max_yaw_deg:g}°: its pupil "
                  "distance is foreshortened, so the scale is assumed)")  # fmt: skip
        return {"mm_per_px": round(mm, 6), "source": source, "measured": False, "mm_per_working_px": mm * to_working}
    elif face is not None and face.confident:
        mm, source = face.mm_per_px, f"face (pupil distance taken as {face.config.interpupillary_mm:g} mm)"
    else:
        n = max(int(skin.sum()), 1)
        diameter_px = 2.0 * math.sqrt(n / math.pi)
        per_working = cfg.skin_region_mm / diameter_px
        return {
            "mm_per_px": round(per_working / to_working, 6),
            "source": "skin region (assumed)",
            "measured": False,
            "mm_per_working_px": per_working,
        }
    return {"mm_per_px": round(mm, 6), "source": source, "measured": True, "mm_per_working_px": mm * to_working}


def score_zones(
    photo: Photo | np.ndarray,
    *,
    zones: Sequence[str] = ZONES,
    references: Mapping[str, Score | Mapping[str, float]] | None = None,
    config: ScoreConfig | Mapping[str, Any] | None = None,
) -> dict[str, Score]:
    """Score every zone of the face in one photo (the face is found once).

    A zone that cannot be measured (no face, low confidence, partly outside the
    photo, too little skin) gives NaN metrics with the reason in its
    ``provenance["errors"]``; the other zones still come. ``references`` maps a
    zone to its baseline score.
    """
    cfg = _config(config)
    photo = load_photo(photo)
    face = photo_face(photo, cfg.face) if cfg.find_faces else None
    references = references or {}
    return {name: score(photo, zone=name, face=face, reference=references.get(name), config=cfg) for name in zones}
