"""Measurement noise: how big a change must be to be real, for the conditions a comparison had.

Two photos of unchanged skin never measure the same. How far apart they land
depends on what the comparison had: a **neutral reference** in both photos
(colour chart, grey card, backdrop — or none, so uncorrected phone light), and
how well the follow-up **aligned** onto the baseline. This module owns the
shipped noise tables (``skintrack/data/noise.json``) and every "beyond noise"
verdict: the records, the app, batch tables, progress and the PDF report all
ask :func:`verdict`. The tables are written by the studies in
:mod:`skintrack.comparison.repeatability` (``python -m skintrack.comparison.repeatability --write``),
which this module never imports.

Where the numbers come from
---------------------------
* **Simulated re-captures**, one study per neutral reference: synthetic
  patients photographed six times with pose, exposure, white-balance, JPEG and
  sensor jitter, each shot through :func:`skintrack.comparison.compare.compare` against the
  first. They give the noise the pipeline itself adds (``S_ref``).
* **Real repeat shots**: untreated lesions photographed twice with a phone
  (PAD-UFES-20, ``../shared/real_photos/external/repeats`` and PAT_417), no
  neutral reference, uncontrolled light, through the same pipeline. Each pair the
  tool accepts gives one difference ``d`` per measure; per alignment class the
  re-capture noise is ``R = √(Σd² / 2n)`` (the within-pair SD, Bland & Altman 1996)
  with ``n`` degrees of freedom. For the measures of an *amount* (red area, spot
  area, spot count, line density) the differences are taken relative to the
  pair's mean level (at least :data:`RELATIVE_FLOOR`), so ``R`` is a coefficient
  of variation: real noise in those grows with how much there is. The pairs
  are measured twice: as shot (what a comparison without a neutral reference
  meets) and with the light difference matched out on the skin — only in this
  study, on untreated skin — which is what remains when a chart, card or
  backdrop corrects the light (never more than as shot: matching on the skin's
  median colour is itself imperfect).

The band for a comparison
-------------------------
The real photos add what the simulation lacks (skin that moves, light from
another direction, another focus, a lesion the skin mask loses). For the
neutral reference ``ref`` and the alignment class (good: quality ≥ 0.8, fair:
0.5-0.8) of a comparison, with ``R`` as shot for no reference and light-matched
otherwise::

    SD = √(S_ref² + R²)                       (absolute measures)
    SD = √(S_ref² + (R · max(level, floor))²)  (amounts; level = mean of the two values)

    MDC95 = 1.96 · √2 · SD   (never below one spot for the spot count)

The simulated part is counted in both terms (pose and compression noise are in
the real pairs too), which errs on the wide side. The real pairs are small
(300-839 px) lesion close-ups without a chart: a clinic photographing at full
resolution with a chart is probably better off, and should measure its own
table (:mod:`skintrack.comparison.repeatability`; ``SKINTRACK_NOISE_TABLE``).

Thin evidence
-------------
A band estimated from few photographs is itself uncertain: with ``df`` degrees
of freedom (Welch–Satterthwaite over the two parts) the SD's one-sided upper
90 % confidence limit is ``SD · √(df / χ²₀.₁₀,df)``. A change is

* ``"within noise"`` when smaller than MDC95,
* ``"could be noise"`` when larger than MDC95 but not than MDC95 at that upper
  limit (the evidence for these conditions is too thin to call it real), and
* ``"beyond noise"`` (``beyond=True``) when larger than both.

A change of colour or tone (:data:`LIGHT_DEPENDENT`) larger than MDC95 is only ``"could be noise"`` when
the follow-up's light differed from the baseline's and no neutral reference in both photos corrected
it (:attr:`Conditions.light_differs`): the light alone moves these measures by more than any band
(issue 20: an overexposed repeat shot of untreated skin moved ITA by ~100°).

References
----------
Weir J. P., "Quantifying test-retest reliability using the intraclass correlation coefficient and the
SEM", J Strength Cond Res 19 (2005) 231-240. Bland J. M., Altman D. G., "Measurement error", BMJ 313
(1996) 744. de Vet H. C. W. et al., "Measurement in Medicine", Cambridge UP (2011).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

__all__ = [
    "ALIGNMENT_CLASSES",
    "REFERENCES",
    "RELATIVE_FLOOR",
    "RELATIVE_METRICS",
    "Band",
    "Conditions",
    "NoiseVerdict",
    "band",
    "mdc95",
    "shipped_table",
    "verdict",
    "verdicts",
    "within_noise",
]

DATA_FILE = "noise.json"
#: Neutral references, from the one that corrects light best to none at all.
REFERENCES = ("chart", "grey_card", "backdrop", "none")
#: Alignment classes: the least quality of each (a follow-up below 0.5 is never compared).
ALIGNMENT_CLASSES = {"good": 0.8, "fair": 0.5}
#: Measures of an amount: their real noise is relative to how much there is, above a floor (in the
#: measure's unit) below which it is taken as constant (a relative change of next to nothing means nothing).
RELATIVE_FLOOR = {
    "red_area_pct": 0.5, "red_lesion_count": 2.0, "red_lesion_mean_mm2": 1.0, "spot_area_pct": 0.1, "spot_count": 2.0,
    "spot_mean_mm2": 1.0, "line_density": 0.1,
}  # fmt: skip
RELATIVE_METRICS = tuple(RELATIVE_FLOOR)
#: A change smaller than one unit of a count is not a change, however repeatable the count.
RESOLUTION = {"spot_count": 1.0, "red_lesion_count": 1.0}
#: Environment variable naming a clinic's own table (written by ``python -m skintrack.comparison.repeatability``).
TABLE_ENV = "SKINTRACK_NOISE_TABLE"
Z95 = 1.96
#: Measures of absolute colour or lightness: a difference of light moves them as a change of the skin
#: would. When a follow-up's light differs from the baseline's and no neutral reference in both photos
#: corrected it (:attr:`Conditions.light_differs`), their changes are never called beyond noise.
LIGHT_DEPENDENT = ("redness", "red_area_pct", "ita", "evenness")


@dataclass(frozen=True)
class Conditions:
    """What a comparison had: the neutral reference both photos shared, and the alignment quality.

    Attributes
    ----------
    reference : {"chart", "grey_card", "backdrop", "none"}
        The kind the follow-up's light was matched by (``normalization["method"]``).
    alignment_quality : float or None
        0-1 (:attr:`skintrack.Alignment.quality`); None for the baseline itself.
    light_differs : bool
        The follow-up's skin is much brighter or darker than the baseline's and no neutral reference in
        both photos matched their light (``normalization["light_vs_baseline"]["differs"]``, written by
        :func:`skintrack.compare`; :func:`skintrack.comparison.quality.exposure_change`): the changes of
        :data:`LIGHT_DEPENDENT` measures may be the light.
    """

    reference: str = "none"
    alignment_quality: float | None = None
    light_differs: bool = False

    def __post_init__(self):
        if self.reference not in REFERENCES:
            object.__setattr__(self, "reference", "none")

    @classmethod
    def of(cls, normalization: Mapping[str, Any] | None, alignment_quality: float | None) -> "Conditions":
        """From a photo's ``normalization`` record and its alignment quality."""
        method = (normalization or {}).get("method") or "none"
        quality = None if alignment_quality is None or not math.isfinite(alignment_quality) else float(alignment_quality)
        light = (normalization or {}).get("light_vs_baseline")
        return cls(method, quality, isinstance(light, Mapping) and light.get("differs") is True)

    @classmethod
    def of_photo(cls, photo: Any) -> "Conditions":
        """From a stored photo (a :class:`skintrack.records.PhotoView`: ``normalization``, ``alignment``)."""
        return cls.of(photo.normalization, (photo.alignment or {}).get("quality"))

    def worse(self, other: "Conditions") -> "Conditions":
        """The conditions of a pair of follow-ups: the weaker reference, the poorer alignment."""
        reference = max(self.reference, other.reference, key=REFERENCES.index)
        qualities = [q for q in (self.alignment_quality, other.alignment_quality) if q is not None]
        return Conditions(reference, min(qualities) if qualities else None, self.light_differs or other.light_differs)

    @property
    def alignment(self) -> str:
        """The alignment class ("good" or "fair"); the baseline itself is "good"."""
        quality = 1.0 if self.alignment_quality is None else self.alignment_quality
        return "good" if quality >= ALIGNMENT_CLASSES["good"] else "fair"


@dataclass(frozen=True)
class Band:
    """The noise band of one measure under some conditions (a row of the shipped table).

    Attributes
    ----------
    metric : str
    sd : float
        Absolute within-subject SD (unit of the measure).
    cv : float
        Relative part (fraction of the level), for the amounts in :data:`RELATIVE_METRICS`.
    df : float
        Degrees of freedom of the estimate (``inf``: not limited by the data).
    upper_factor : float
        SD's one-sided upper 90 % confidence limit over the SD.
    sources : tuple of str
        What it was estimated from.
    """

    metric: str
    sd: float
    cv: float
    df: float
    upper_factor: float
    sources: tuple[str, ...]

    def sd_at(self, level: float | None = None) -> float:
        level = 0.0 if level is None or not math.isfinite(level) else abs(level)
        return math.hypot(self.sd, self.cv * level)

    def mdc95(self, level: float | None = None) -> float:
        """``1.96 · √2 · SD`` at ``level`` (never below the measure's resolution)."""
        return max(Z95 * math.sqrt(2.0) * self.sd_at(level), RESOLUTION.get(self.metric, 0.0))

    def limit(self, level: float | None = None) -> float:
        """MDC95 with the SD at its upper confidence limit: beyond this a change is beyond noise."""
        return max(Z95 * math.sqrt(2.0) * self.sd_at(level) * self.upper_factor, RESOLUTION.get(self.metric, 0.0))

    @property
    def thin(self) -> bool:
        """True when the estimate rests on few photographs (fewer than 10 degrees of freedom)."""
        return self.df < 10


@dataclass(frozen=True)
class NoiseVerdict:
    """Is one change beyond measurement noise?

    Attributes
    ----------
    metric : str
    change : float
    mdc95 : float
        The band (at the pair's level): smaller changes are within noise.
    limit : float
        The band at the upper confidence limit of its estimate: larger changes are beyond noise.
    beyond : bool
        ``abs(change) >= limit`` (for the spot count: more than ``limit``).
    wording : {"within noise", "could be noise", "beyond noise"}
    conditions : Conditions
    thin : bool
        The band rests on thin evidence (see :attr:`Band.thin`).
    """

    metric: str
    change: float
    mdc95: float
    limit: float
    beyond: bool
    wording: str
    conditions: Conditions
    thin: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "conditions": asdict(self.conditions)}


@lru_cache(maxsize=4)
def _load(path: str | None) -> dict[str, Any]:
    if path:
        return json.loads(Path(path).read_text())
    return json.loads(resources.files("skintrack").joinpath("data", DATA_FILE).read_text())


def shipped_table() -> dict[str, Any]:
    """The noise table in use: a clinic's own when ``SKINTRACK_NOISE_TABLE`` names one, else the shipped one."""
    return _load(os.environ.get(TABLE_ENV) or None)


def band(metric: str, conditions: Conditions | None = None) -> Band:
    """The noise band of ``metric`` for ``conditions`` (default: no reference, the baseline's alignment).

    Raises
    ------
    KeyError
        For an unknown metric.
    """
    conditions = conditions or Conditions()
    row = shipped_table()["bands"][conditions.reference][conditions.alignment][metric]
    df = float(row["df"]) if row["df"] is not None else math.inf
    return Band(metric, float(row["sd"]), float(row.get("cv", 0.0)), df, float(row["upper_factor"]), tuple(row["sources"]))


def _level(metric: str, level: float | None, before: float | None, after: float | None) -> float | None:
    if metric not in RELATIVE_METRICS:
        return None
    if level is None or not math.isfinite(level):
        values = [abs(v) for v in (before, after) if v is not None and math.isfinite(v)]
        level = sum(values) / len(values) if values else 0.0
    return max(abs(level), RELATIVE_FLOOR[metric])


def mdc95(metric: str, conditions: Conditions | None = None, level: float | None = None) -> float:
    """Minimal detectable change (95 %) of ``metric`` for ``conditions`` at ``level`` (amounts only)."""
    return band(metric, conditions).mdc95(_level(metric, level, None, None))


def within_noise(metric: str, change: float, conditions: Conditions | None = None, level: float | None = None) -> bool:
    """True when ``abs(change)`` is smaller than MDC95 (for the spot count: at most MDC95)."""
    limit = mdc95(metric, conditions, level)
    return abs(change) <= limit if metric in RESOLUTION else abs(change) < limit


def verdict(
    metric: str,
    change: float,
    conditions: Conditions | None = None,
    *,
    level: float | None = None,
    before: float | None = None,
    after: float | None = None,
) -> NoiseVerdict:
    """Judge one change against the noise band for ``conditions`` (see the module docstring).

    ``level`` is the amount the relative part applies to; for the amounts in
    :data:`RELATIVE_METRICS` it defaults to the mean of ``before`` and ``after``.
    """
    conditions = conditions or Conditions()
    noise = band(metric, conditions)
    level = _level(metric, level, before, after)
    mdc, limit = noise.mdc95(level), noise.limit(level)
    size = abs(change)
    if metric in RESOLUTION:
        within, beyond = size <= mdc, size > limit
    else:
        within, beyond = size < mdc, size >= limit
    if conditions.light_differs and metric in LIGHT_DEPENDENT:
        beyond = False  # the light moved too, and nothing in both photos tells it from the skin
    wording = "within noise" if within else ("beyond noise" if beyond else "could be noise")
    return NoiseVerdict(metric, float(change), mdc, limit, beyond and not within, wording, conditions, noise.thin)


def verdicts(
    before: Mapping[str, float], after: Mapping[str, float], conditions: Conditions | None = None
) -> dict[str, NoiseVerdict]:
    """A verdict per measure both score sets have a finite value for (what the app's Compare table shows)."""
    found = {}
    for name in before:
        a, b = before.get(name, math.nan), after.get(name, math.nan)
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        found[name] = verdict(name, b - a, conditions, before=a, after=b)
    return found
