"""The comparable-session pipeline: one function from two photos to a verdict.

Every door — the records service (and through it the app), batch scoring,
the repeatability study — measures a photo of a treated area through
:func:`compare` (or :func:`measure_baseline` for the area's first photo), so
the same photos give the same numbers whichever way they came in.

For a follow-up against its baseline::

    follow-up ─> measuring copy (MEASURE_SIZE long side)
              ─> quality gate ──────────────────────────── "blocked" (with the reasons)
              ─> normalise to the baseline's neutral reference
              ─> without one in both: exposure against the baseline's (a warning;
                 colour and tone verdicts withheld when it differs)
              ─> align onto the baseline ───────────────── "not_comparable" (with the reason)
              ─> score on the baseline's area of interest ∩ the overlap, with the
                 baseline's thresholds and scale (its yardstick), over the named face
                 zone when the photo shows a face
              ─> changes against the baseline and their noise verdicts
                 (:mod:`skintrack.noise`, for the neutral reference and alignment this
                 pair really had)                            "scored"

The baseline goes through the same steps without the alignment, and sets the
yardstick. Every setting that changes a number — of this module, the quality
gate, normalisation, alignment, scoring (with skin and face), the colour
chart's reference values and the face models — is in :class:`CompareConfig`
and its :attr:`~CompareConfig.settings_hash`, recorded with every score.

Region of interest
------------------
``roi`` is drawn on the **baseline** (a follow-up is aligned onto it first):
``None`` (all the skin, or the named face zone), an ``HxW`` boolean mask of the
baseline's frame at any resolution, a :class:`skintrack.measure.roi.Region` (what a
provider draws, resolution-free; the records pass the area's), a rectangle
``(x, y, w, h)`` in the baseline photo's own pixels, or a polygon
``[(x, y), ...]`` in fractions of the baseline's frame (0-1). It becomes pixels
in one place, :func:`skintrack.measure.roi.rasterise`. Its hash (:func:`roi_hash`) is
recorded in the provenance.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any, Mapping

import cv2
import numpy as np

from .._version import __version__
from ..intake.photo import Photo, load_photo
from ..measure.analysis import photo_face
from ..measure.face import ZONES
from ..measure.metrics import METRIC_NAMES
from ..measure.roi import rasterise, roi_hash
from ..measure.roi import roi_kind as _roi_kind
from ..measure.scoring import Score, ScoreConfig, score
from ..measure.scoring import _config as _score_config
from .align import AlignConfig, Alignment, align
from .colour_chart import CHART_EDITION, REFERENCE_LAB_D50
from .noise import Conditions, NoiseVerdict
from .noise import verdicts as noise_verdicts
from .normalize import NormalizeConfig, normalize
from .quality import Issue, QualityConfig, check_quality, exposure_check

__all__ = [
    "MEASURE_SIZE",
    "Baseline",
    "CompareConfig",
    "Comparison",
    "compare",
    "measure_baseline",
    "measuring_copy",
    "roi_hash",
    "zone_of",
]

#: Photos are normalised, aligned and measured at this long side (px): twice the scoring
#: resolution, so warping keeps its detail, without decoding or warping all 12 MP.
MEASURE_SIZE = 2048
STATUSES = ("scored", "blocked", "not_comparable")


@dataclass(frozen=True)
class CompareConfig:
    """Every setting of the pipeline; its hash says whether two numbers are comparable.

    Attributes
    ----------
    measure_size : int
        Long side (px) of the measuring copy every step works on.
    check_quality : bool
        Run the quality gate (a ``block`` issue stops the photo).
    align_model : {"similarity", "homography"}
    score, normalize, align, quality
        The settings of each step (:class:`~skintrack.ScoreConfig` with its skin and
        face settings, :class:`~skintrack.comparison.normalize.NormalizeConfig`,
        :class:`~skintrack.comparison.align.AlignConfig`, :class:`~skintrack.comparison.quality.QualityConfig`).
    """

    measure_size: int = MEASURE_SIZE
    check_quality: bool = True
    align_model: str = "similarity"
    score: ScoreConfig = field(default_factory=ScoreConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def __post_init__(self):
        for name, kind in (("normalize", NormalizeConfig), ("align", AlignConfig), ("quality", QualityConfig)):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, kind(**value))
        object.__setattr__(self, "score", _score_config(self.score))

    @classmethod
    def of(cls, config: "CompareConfig | ScoreConfig | Mapping[str, Any] | None") -> "CompareConfig":
        """A config from ``None`` (defaults), a :class:`CompareConfig`, a :class:`ScoreConfig`, or a
        mapping: its keys are this class's fields, and any other key is a :class:`ScoreConfig` override
        (``{"red_k": 2.5, "align": {"min_quality": 0.6}}``)."""
        if config is None:
            return DEFAULT_CONFIG
        if isinstance(config, CompareConfig):
            return config
        if isinstance(config, ScoreConfig):
            return cls(score=config)
        own = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in config.items() if k in own}
        score_overrides = {k: v for k, v in config.items() if k not in own}
        if score_overrides:
            base = values.get("score") or {}
            base = dataclasses.asdict(base) if isinstance(base, ScoreConfig) else dict(base)
            values["score"] = {**base, **score_overrides}
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON types (the score's with its nested skin and face settings)."""
        return {
            "measure_size": self.measure_size,
            "check_quality": self.check_quality,
            "align_model": self.align_model,
            "score": self.score.as_dict(),
            "normalize": dataclasses.asdict(self.normalize),
            "align": dataclasses.asdict(self.align),
            "quality": dataclasses.asdict(self.quality),
        }

    @property
    def settings_hash(self) -> str:
        """Short hash of the engine version, every setting, the chart's reference values and the face
        models; equal hashes mean comparable numbers."""
        payload = json.dumps({"version": __version__, **self.as_dict(), "data": _data_fingerprint()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


DEFAULT_CONFIG = CompareConfig()


@lru_cache(maxsize=1)
def _data_fingerprint() -> dict[str, Any]:
    """Reference data and module constants that change numbers: the chart's values (edition, accepted
    residual), the face models' hashes, the face zones' landmark outlines and the robust-SD, ridge and
    near-black (skin mask with a face) constants. Constants inside functions are covered by the engine version in the hash, which the
    demo-score guard test (``tests/test_provenance.py``) forces to move when a number moves."""
    from ..measure import face, filters, skin
    from ..measure.metrics import texture
    from . import colour_chart

    models = json.loads(resources.files("skintrack").joinpath("data", "models", "models.json").read_text())
    lab = hashlib.sha256(np.ascontiguousarray(REFERENCE_LAB_D50).tobytes()).hexdigest()[:16]
    outlines = {name: getattr(face, name) for name in ("FACE_OVAL", "RIGHT_EYE", "LEFT_EYE", "RIGHT_BROW", "LEFT_BROW",
                                                        "LIPS", "RIGHT_NOSTRIL", "ZONE_LANDMARKS", "ZONES")}  # fmt: skip
    zones = hashlib.sha256(json.dumps(outlines, sort_keys=True, default=list).encode()).hexdigest()[:16]
    return {
        "chart": {"edition": CHART_EDITION, "lab_d50_sha256": lab, "max_residual": colour_chart.MAX_RESIDUAL},
        # models that only hide faces (teaching sets) never touch a number: they do not enter the hash
        "face_models": {name: entry["sha256"] for name, entry in sorted(models["files"].items())
                        if not entry.get("purpose", "").startswith("privacy")},
        "face_zones_sha256": zones,
        "constants": {"mad_to_sd": filters.MAD_TO_SD, "ridge_gain": texture.RIDGE_GAIN, "skin_dark_fraction": skin.DARK_FRACTION},
    }


# --------------------------------------------------------------------------- photos and regions


def zone_of(area_name: str | None) -> str | None:
    """The face zone an area is named after ("Left cheek", "left-cheek" -> "left_cheek"), or None."""
    key = "_".join((area_name or "").lower().replace("-", " ").replace("_", " ").split())
    return key if key in ZONES else None


def measuring_copy(photo: Photo, size: int = MEASURE_SIZE) -> Photo:
    """The photo at ``size`` long side (or as is when smaller), metadata kept.

    The source's size is kept as ``metadata["source_size"]`` (the quality gate judges resolution by it).
    """
    if max(photo.size) <= size:
        return photo
    return photo.derive(photo.resized(size), source_size=list(photo.metadata.get("source_size") or photo.size))


def roi_mask(roi: Any, source_size: tuple[int, int], measured_size: tuple[int, int]) -> np.ndarray | None:
    """The region of interest as a boolean mask of the measured baseline (``measured_size`` = (w, h));
    ``source_size`` is the baseline photo's own size, which a rectangle's pixels refer to
    (:func:`skintrack.measure.roi.rasterise`)."""
    return rasterise(roi, (measured_size[1], measured_size[0]), source_size)


# --------------------------------------------------------------------------- results


@dataclass
class Baseline:
    """A measured baseline, ready to measure follow-ups against (see :func:`measure_baseline`).

    Attributes
    ----------
    photo : Photo
        The baseline's measuring copy, normalised: follow-ups are normalised to it and aligned onto it.
    score : Score
        Its measures; its thresholds and scale are the yardstick of every follow-up.
    zone : str or None
        The face zone measured (follow-ups measure the same one).
    roi : any
        The region of interest as given (in the baseline's frame), and ``roi_mask`` as measured.
    config : CompareConfig
    """

    photo: Photo
    score: Score
    zone: str | None
    roi: Any
    roi_mask: np.ndarray | None
    config: CompareConfig

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.score.thresholds)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.score.metrics)


@dataclass
class Comparison:
    """What :func:`compare` (or :func:`measure_baseline`) found.

    Attributes
    ----------
    status : {"scored", "blocked", "not_comparable"}
        ``blocked``: the quality gate stopped the photo; ``not_comparable``: it could
        not be aligned to the baseline (or the baseline could not be measured).
    reasons : list of str
        Why, in words a provider understands (empty when scored without remarks).
    role : {"baseline", "follow-up"}
    photo : Photo or None
        The measured photo: normalised, and for a follow-up aligned onto the baseline
        (its measuring copy; None when blocked).
    normalized : Photo or None
        The follow-up normalised but not yet aligned (what a ghost overlay shows).
    score : Score or None
        Its measures (None unless scored).
    baseline_score : Score or None
        The baseline's measures (the yardstick).
    alignment : Alignment or None
    quality : list of Issue
        The quality gate's findings (warnings included).
    compared_with : Score or None
        What a follow-up's changes are measured from: the baseline's measures over the skin both photos
        show (the baseline measured again over the overlap when the follow-up leaves out more than 1 % of
        its measured skin; else ``baseline_score`` itself). None for a baseline.
    changes : dict[str, float]
        Follow-up minus ``compared_with`` per measure (NaN when either is not computable).
    verdicts : dict[str, NoiseVerdict]
        Per measure: is the change beyond re-capture noise for these conditions
        (:func:`skintrack.comparison.noise.verdict`).
    conditions : Conditions
        The neutral reference and alignment quality the noise band was chosen for.
    provenance : dict
        Engine version, settings hash and settings, photo hashes, zone and region of
        interest (with its hash).
    """

    status: str
    reasons: list[str]
    role: str
    photo: Photo | None = field(default=None, repr=False)
    normalized: Photo | None = field(default=None, repr=False)
    score: Score | None = field(default=None, repr=False)
    baseline_score: Score | None = field(default=None, repr=False)
    alignment: Alignment | None = field(default=None, repr=False)
    quality: list[Issue] = field(default_factory=list)
    compared_with: Score | None = field(default=None, repr=False)
    changes: dict[str, float] = field(default_factory=dict)
    conditions: Conditions | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    _baseline: Baseline | None = field(default=None, repr=False)

    @cached_property
    def verdicts(self) -> dict[str, NoiseVerdict]:
        """Per measure with a finite change: is it beyond re-capture noise for these conditions
        (:func:`skintrack.comparison.noise.verdict`; empty for a baseline or when not scored)."""
        if self.role != "follow-up" or self.score is None or self.baseline_score is None:
            return {}
        return noise_verdicts((self.compared_with or self.baseline_score).metrics, self.score.metrics, self.conditions)

    @property
    def scored(self) -> bool:
        return self.status == "scored"

    @property
    def reason(self) -> str:
        """The reasons as one sentence ("" when there are none)."""
        return "; ".join(self.reasons)

    @property
    def normalization(self) -> dict[str, Any]:
        """What the light correction did (``{}`` when blocked)."""
        photo = self.normalized if self.normalized is not None else self.photo
        return dict(photo.metadata.get("normalization", {})) if photo is not None else {}

    @property
    def baseline(self) -> Baseline:
        """This measured baseline, for :func:`compare` (only for a scored baseline)."""
        if self._baseline is None:
            raise ValueError(f"Only a scored baseline can be compared against (this is a {self.status} {self.role}).")
        return self._baseline

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable: status, reasons, metrics, changes, verdicts, conditions, provenance."""
        def number(value):
            return None if value is None or not math.isfinite(value) else float(value)

        return {
            "status": self.status,
            "role": self.role,
            "reasons": list(self.reasons),
            "metrics": {k: number(v) for k, v in (self.score.metrics if self.score else {}).items()},
            "baseline_metrics": {k: number(v) for k, v in (self.baseline_score.metrics if self.baseline_score else {}).items()},
            "compared_with_metrics": {k: number(v) for k, v in (self.compared_with.metrics if self.compared_with else {}).items()},
            "changes": {k: number(v) for k, v in self.changes.items()},
            "verdicts": {k: v.to_dict() for k, v in self.verdicts.items()},
            "conditions": dataclasses.asdict(self.conditions) if self.conditions else None,
            "quality": [issue.to_dict() for issue in self.quality],
            "normalization": self.normalization,
            "alignment": self.alignment.summary() if self.alignment is not None else {},
            "provenance": self.provenance,
        }


# --------------------------------------------------------------------------- the pipeline


def measure_baseline(
    photo: Any,
    *,
    config: CompareConfig | ScoreConfig | Mapping[str, Any] | None = None,
    zone: str | None = None,
    roi: Any = None,
) -> Comparison:
    """Measure an area's first photo: quality gate, normalise, score with its own thresholds.

    Parameters
    ----------
    photo : Photo, path, bytes or ndarray
    config : CompareConfig, ScoreConfig or mapping, optional
        See :meth:`CompareConfig.of`.
    zone : str, optional
        A face zone (:data:`skintrack.measure.face.ZONES`): measured over that zone when the photo
        shows a face, else the whole photo (a close-up of that area).
    roi : optional
        Region of interest in this photo's frame (see the module docstring).

    Returns
    -------
    Comparison
        ``role="baseline"``; when scored, ``comparison.baseline`` is what :func:`compare` takes.
    """
    cfg = CompareConfig.of(config)
    source = load_photo(photo)
    measured = measuring_copy(source, cfg.measure_size)
    issues = check_quality(measured, cfg.quality) if cfg.check_quality else []
    provenance = _provenance(cfg, zone, roi, baseline_sha=None, photo_sha=source.sha256)
    blocked = _blocked(issues)
    if blocked:
        return Comparison("blocked", blocked, "baseline", quality=issues, provenance=provenance)
    mask = roi_mask(roi, source.size, measured.size)
    corrected = normalize(measured, config=cfg.normalize)
    result = _score_area(corrected, zone, cfg, roi=mask)
    conditions = Conditions.of(corrected.metadata.get("normalization"), None)
    baseline = Baseline(corrected, result, zone, roi, mask, cfg)
    reasons = _warnings(issues)
    return Comparison(
        "scored", reasons, "baseline", photo=corrected, score=result, baseline_score=result, quality=issues,
        changes={name: 0.0 if math.isfinite(result.metrics[name]) else math.nan for name in METRIC_NAMES},
        conditions=conditions, provenance=provenance, _baseline=baseline,
    )  # fmt: skip


def compare(
    baseline: Baseline | Comparison | Any,
    follow_up: Any,
    *,
    config: CompareConfig | ScoreConfig | Mapping[str, Any] | None = None,
    zone: str | None = None,
    roi: Any = None,
) -> Comparison:
    """Measure a follow-up photo against its baseline: the one comparable-session pipeline.

    Parameters
    ----------
    baseline : Baseline, Comparison, or a photo (Photo, path, bytes, ndarray)
        The area's baseline: measured (``measure_baseline(...).baseline``, reused for
        every follow-up) or a photo, measured here first with the same settings.
    follow_up : Photo, path, bytes or ndarray
    config : CompareConfig, ScoreConfig or mapping, optional
        See :meth:`CompareConfig.of`; a measured baseline brings its own (passing a
        different one is an error: the yardstick would not be comparable).
    zone, roi : optional
        As for :func:`measure_baseline`; a measured baseline brings its own.

    Returns
    -------
    Comparison
        ``status`` is ``scored``, ``blocked`` (the quality gate stopped the follow-up) or
        ``not_comparable`` (no trustworthy alignment, or the baseline itself could not be
        measured), with ``reasons``; when scored, both scores, the changes and their noise verdicts.

    Raises
    ------
    PhotoError
        For a file that is not a usable photo.
    ValueError
        For a malformed ``roi``, ``zone`` or ``config``, or one that contradicts a measured baseline's.

    Examples
    --------
    >>> first = measure_baseline("2026-05-04_cheek.jpg")            # doctest: +SKIP
    >>> later = compare(first, "2026-06-01_cheek.jpg")              # doctest: +SKIP
    >>> later.status, later.verdicts["redness"].wording             # doctest: +SKIP
    ('scored', 'beyond noise')
    """
    base = _as_baseline(baseline, config, zone, roi)
    if isinstance(base, Comparison):  # the baseline photo itself could not be measured
        reasons = [f"the baseline cannot be measured: {base.reason}"]
        return Comparison("not_comparable", reasons, "follow-up", quality=[], provenance=base.provenance)
    cfg = base.config
    source = load_photo(follow_up)
    measured = measuring_copy(source, cfg.measure_size)
    issues = check_quality(measured, cfg.quality) if cfg.check_quality else []
    provenance = _provenance(cfg, base.zone, base.roi, baseline_sha=base.score.provenance.get("photo_sha256"), photo_sha=source.sha256)
    blocked = _blocked(issues)
    common = dict(role="follow-up", baseline_score=base.score, quality=issues, provenance=provenance)
    if blocked:
        return Comparison("blocked", blocked, **common)
    corrected = normalize(measured, reference=base.photo, config=cfg.normalize)
    if cfg.check_quality:
        corrected = _light_vs_baseline(corrected, base.photo, cfg.quality, issues)
    alignment = align(corrected, base.photo, model=cfg.align_model, config=cfg.align)
    if not alignment.ok:
        reasons = [f"Not comparable with the baseline: {alignment.reason}."]
        return Comparison("not_comparable", reasons, photo=corrected, normalized=corrected, alignment=alignment, **common)
    aligned = alignment.photo()
    result = _score_area(aligned, base.zone, cfg, roi=base.roi_mask, measurable=alignment.coverage, reference=base.score)
    compared_with = _baseline_on_overlap(base, alignment.coverage, result, cfg)
    conditions = Conditions.of(corrected.metadata.get("normalization"), alignment.quality)
    changes = {name: result.metrics[name] - compared_with.metrics[name] for name in METRIC_NAMES}
    return Comparison(
        "scored", _warnings(issues), photo=aligned, normalized=corrected, score=result, alignment=alignment,
        changes=changes, conditions=conditions, compared_with=compared_with, **common,
    )  # fmt: skip


def _light_vs_baseline(corrected: Photo, baseline: Photo, cfg: QualityConfig, issues: list[Issue]) -> Photo:
    """Record in the follow-up's ``normalization["light_vs_baseline"]`` how far its skin's lightness is from
    the baseline's when no neutral reference in both photos matched their light (``delta_L``, ``limit``,
    ``differs``), and warn when it differs: :class:`~skintrack.comparison.noise.Conditions` reads the
    record, so no door calls a change of colour or tone beyond noise that may be the light."""
    checked = exposure_check(corrected, baseline, cfg)
    if checked is None:
        return corrected
    delta, warning = checked
    if warning is not None:
        issues.append(warning)
    record = {"delta_L": round(delta, 3), "limit": cfg.exposure_warn, "differs": warning is not None}
    return corrected.with_metadata(normalization={**corrected.metadata.get("normalization", {}), "light_vs_baseline": record})


#: A follow-up that leaves out more than this share of the baseline's measured skin is compared with the
#: baseline measured again over the overlap only (less: the whole baseline; the difference is below noise).
OVERLAP_LEFT_OUT_MAX = 0.01


def _baseline_on_overlap(base: Baseline, coverage: np.ndarray, follow_up: Score, cfg: CompareConfig) -> Score:
    """The baseline's measures over the skin the follow-up shows too (issue 20: measure only the overlap).

    A follow-up framed closer, or shifted, shows only part of the baseline's skin; measured there, its lesion
    share (spot and red area) and spot count differ from the whole baseline's without any change of the skin.
    When the follow-up leaves out more than :data:`OVERLAP_LEFT_OUT_MAX` of the baseline's measured skin, the
    baseline is measured again over the overlap, with its own yardstick (thresholds and scale), and the
    changes are taken against that. The share left out and, when measured, the baseline's figures over the
    overlap are recorded in the follow-up's provenance (``baseline_on_overlap``), so stored scores keep
    what they were compared with.
    """
    skin = base.score.maps.get("skin")
    left_out = 0.0
    if skin is not None and skin.any():
        covered = cv2.resize(coverage.astype(np.uint8), (skin.shape[1], skin.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        left_out = float((skin & ~covered).sum() / skin.sum())
    record: dict[str, Any] = {"skin_left_out_pct": round(100.0 * left_out, 2), "metrics": None}
    compared_with = base.score
    if left_out > OVERLAP_LEFT_OUT_MAX:
        compared_with = _score_area(base.photo, base.zone, cfg, roi=base.roi_mask, measurable=coverage, reference=base.score)
        record["metrics"] = {name: (float(v) if math.isfinite(v) else None) for name, v in compared_with.metrics.items()}
    follow_up.provenance["baseline_on_overlap"] = record
    return compared_with


def _as_baseline(baseline, config, zone, roi) -> Baseline | Comparison:
    if isinstance(baseline, Comparison):
        if baseline.role != "baseline":
            raise ValueError("compare() needs the baseline's measurement (from measure_baseline), not a follow-up's.")
        if not baseline.scored:
            return baseline
        baseline = baseline.baseline
    if isinstance(baseline, Baseline):
        given = CompareConfig.of(config) if config is not None else baseline.config
        if given.settings_hash != baseline.config.settings_hash:
            raise ValueError("The baseline was measured with other settings; measure it again with these.")
        if zone is not None and zone != baseline.zone:
            raise ValueError(f"The baseline was measured over {baseline.zone or 'the whole photo'}, not {zone}.")
        if roi is not None and roi_hash(roi) != roi_hash(baseline.roi):
            raise ValueError("The baseline was measured over another region of interest.")
        return baseline
    measured = measure_baseline(baseline, config=config, zone=zone, roi=roi)
    return measured.baseline if measured.scored else measured


def _score_area(photo: Photo, zone: str | None, cfg: CompareConfig, **kwargs) -> Score:
    """Score the named face zone when the photo shows a face (the zone follows the face found in this
    very photo), else the whole photo (a close-up of that area); provenance gets the pipeline's hash
    (``settings_hash``, beside the scoring settings' own ``score_settings_hash``)."""
    face: Any = "auto"
    if zone is not None:
        face = photo_face(photo, cfg.score.face) if cfg.score.find_faces else None
        if face is None:
            zone = None
    result = score(photo, zone=zone, face=face, config=cfg.score, **kwargs)
    result.provenance["settings_hash"] = cfg.settings_hash
    result.provenance["pipeline"] = {k: v for k, v in cfg.as_dict().items() if k != "score"}
    return result


def _blocked(issues: list[Issue]) -> list[str]:
    return [issue.message for issue in issues if issue.severity == "block"]


def _warnings(issues: list[Issue]) -> list[str]:
    return [issue.message for issue in issues if issue.severity == "warn"]


def _provenance(cfg: CompareConfig, zone, roi, *, baseline_sha, photo_sha) -> dict[str, Any]:
    kind = None if roi is None else ("mask" if isinstance(roi, np.ndarray) else _roi_kind(roi)[0])
    return {
        "engine_version": __version__,
        "settings_hash": cfg.settings_hash,
        "photo_sha256": photo_sha,
        "baseline_sha256": baseline_sha,
        "zone": zone,
        "roi": None if roi is None else {"kind": kind, "sha256": roi_hash(roi)},
    }
