"""Progress over a course of treatments, per patient, area and metric.

For each metric: the time series of the area's scored photos, the change
against the baseline (absolute and %), whether it is beyond measurement noise
for the neutral reference and alignment each photo had (:func:`skintrack.comparison.noise.verdict`:
"within noise", "could be noise" where the evidence for those conditions is
thin, or beyond), direction-aware wording ("improved" when redness falls,
"worse" when it rises), and the best and worst session.

**One photo per visit.** A visit may hold several measured photos of an area (a retake kept, two
angles). Each visit counts once, with one photo: the first one stored for that visit (for the baseline's
visit, the baseline itself: the first photo of the first visit, the same rule). The others stay in the
record and on the Photos page, but not in the series, the summary or the charts
(:attr:`AreaProgress.extra_photos`, :data:`ONE_PHOTO_PER_VISIT` says so in words).

Two clinical rules are built in:

* **Treatment spacing**: sessions of the same treatment on the same patient
  closer together than :data:`MIN_SPACING_DAYS` give a warning; the days since
  the last treatment are reported. Micro-needling and RF micro-needling are
  usually repeated every 4-6 weeks so the skin can heal and remodel between
  sessions (Alster T. S., Graham P. M., "Microneedling: a review and practical
  guide", Dermatol Surg 44 (2018) 397-404); fractional laser sessions are
  likewise spaced about 4 weeks apart, superficial peels about 2 weeks.
* **Expected post-treatment redness**: redness rising beyond noise within
  :data:`INFLAMMATION_DAYS` after a treatment is labelled "expected
  post-treatment redness", not "worse" (micro-needling erythema usually
  settles within a few days to a week; after laser it can last up to two).

All defaults can be overridden per call.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from .comparison.noise import Conditions, mdc95
from .comparison.noise import verdict as noise_verdict
from .measure.metrics import METRIC_NAMES, METRICS
from .records import Actor, InvalidInput, Records
from .wording import change_sentence

__all__ = [
    "INFLAMMATION_DAYS",
    "MIN_SPACING_DAYS",
    "PATIENT_MEASURES",
    "PATIENT_VERDICTS",
    "AreaProgress",
    "ExtraPhoto",
    "MetricProgress",
    "ONE_PHOTO_PER_VISIT",
    "PatientMeasure",
    "Point",
    "SpacingWarning",
    "GOAL_MEASURES",
    "PairChange",
    "pair_conditions",
    "compare_pair",
    "area_progress",
    "goal_measures",
    "patient_summary",
]

#: Minimum days between two sessions of the same treatment (see the module docstring).
MIN_SPACING_DAYS = {"micro-needling": 28, "RF": 28, "laser": 28, "peel": 14}
#: Days after a treatment during which a rise in redness is expected inflammation.
INFLAMMATION_DAYS = {"micro-needling": 7, "RF": 7, "laser": 14, "peel": 7}
TREATMENT_KINDS = tuple(MIN_SPACING_DAYS)
REDNESS_METRICS = ("redness", "red_area_pct", "red_lesion_count")

#: The measures each treatment sets out to change, first on screen and in reports: peels and lasers
#: for redness and pigmentation, micro-needling and RF for texture, scars and fine lines.
GOAL_MEASURES = {
    "peel": ("redness", "spot_area_pct", "spot_contrast", "red_area_pct"),
    "laser": ("spot_area_pct", "redness", "spot_contrast", "red_area_pct"),
    "micro-needling": ("texture_roughness", "line_density", "spot_area_pct", "redness"),
    "RF": ("texture_roughness", "line_density", "evenness", "redness"),
}
#: The rule for a visit with several measured photos of one area, in words (shown on Progress and in reports).
ONE_PHOTO_PER_VISIT = (
    "Each visit counts once: when a visit has more than one measured photo of the area, the first one stored is "
    "used (for the first visit, the baseline); the others stay in the record but are not in the summary or charts."
)
#: Without a treatment on record (baseline or "other" only): the measures clinics ask about most.
DEFAULT_GOAL_MEASURES = ("redness", "spot_area_pct", "texture_roughness", "line_density")


def goal_measures(treatments: list[tuple[dt.date, str]] | tuple = ()) -> tuple[str, ...]:
    """The measures that match the goal of the area's treatments, most relevant first.

    ``treatments`` are ``(date, kind)`` pairs (e.g. :attr:`AreaProgress.treatments`); the kind
    given most often (the latest on a tie) decides. Kinds without a known goal give
    :data:`DEFAULT_GOAL_MEASURES`.
    """
    kinds = [kind for _, kind in sorted(treatments) if kind in GOAL_MEASURES]
    if not kinds:
        return DEFAULT_GOAL_MEASURES
    counts = {kind: kinds.count(kind) for kind in kinds}
    main = max(reversed(kinds), key=lambda kind: counts[kind])
    return GOAL_MEASURES[main]


@dataclass
class Point:
    session_id: str
    photo_id: str
    date: dt.date
    treatment: str
    value: float
    change: float  # against the baseline, in the metric's unit
    change_pct: float  # NaN when the baseline is 0
    beyond_noise: bool
    label: str  # "baseline", "improved", "worse", "within noise", "could be noise", "expected post-treatment redness", "lighter", "darker"
    days_since_treatment: int | None
    mdc95: float = math.nan  # the noise band for this photo's conditions (reference, alignment) at its level
    noise: str = ""  # "within noise", "could be noise" or "beyond noise" ("" for the baseline)
    #: The baseline's figure the change is taken from: the baseline over the skin this photo shows too
    #: (:attr:`~skintrack.records.PhotoView.compared_with`), else the whole baseline's value.
    compared_with: float = math.nan
    skin_left_out_pct: float = 0.0  # share of the baseline's measured skin this photo does not show


@dataclass
class MetricProgress:
    metric: str
    unit: str
    label: str
    better: str | None
    mdc95: float  # the band of the latest follow-up (the baseline's conditions when there is none)
    points: list[Point]
    best: Point | None
    worst: Point | None
    summary: str

    @property
    def baseline(self) -> Point | None:
        return self.points[0] if self.points else None

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def partly_compared(self) -> list[Point]:
        """The follow-ups compared with the baseline over only the part of its skin they show (a closer or
        shifted photo): their change starts from :attr:`Point.compared_with`, not from the baseline's value."""
        if self.baseline is None:
            return []
        return [p for p in self.points[1:] if math.isfinite(p.compared_with) and p.compared_with != self.baseline.value]


@dataclass
class SpacingWarning:
    treatment: str
    previous_date: dt.date
    date: dt.date
    days: int
    minimum_days: int
    message: str


@dataclass
class ExtraPhoto:
    """A measured photo left out of the series: its visit already counts with another photo (the first stored)."""

    photo_id: str
    session_id: str
    date: dt.date
    used_photo_id: str  # the photo of the same visit that counts


@dataclass
class AreaProgress:
    patient_id: str
    area_id: str
    area: str
    metrics: dict[str, MetricProgress]
    spacing_warnings: list[SpacingWarning] = field(default_factory=list)
    last_treatment: tuple[dt.date, str] | None = None
    days_since_last_treatment: int | None = None
    #: Treatments of the sessions that photographed this area (for charts: not other areas' visits).
    treatments: list[tuple[dt.date, str]] = field(default_factory=list)
    #: The area's photos as read (PhotoView by id, every status): their consent and provenance, without reading again.
    photos: dict[str, Any] = field(default_factory=dict)
    #: The photos the series uses, one per visit, oldest first (the baseline first).
    photo_ids: list[str] = field(default_factory=list)
    #: Measured photos not in the series: a second (third, …) photo of a visit (see :data:`ONE_PHOTO_PER_VISIT`).
    extra_photos: list[ExtraPhoto] = field(default_factory=list)

    @property
    def extra_photos_note(self) -> str | None:
        """Which visits have photos that do not count, and the rule, in words (``None`` when there are none)."""
        if not self.extra_photos:
            return None
        per_visit: dict[dt.date, int] = {}
        for extra in self.extra_photos:
            per_visit[extra.date] = per_visit.get(extra.date, 0) + 1
        visits = "; ".join(f"{day.isoformat()}: {count + 1} measured photos, {count} not counted"
                           for day, count in sorted(per_visit.items()))  # fmt: skip
        return f"{ONE_PHOTO_PER_VISIT} Here: {visits}."

    @property
    def goal(self) -> tuple[str, ...]:
        """The measures matching the goal of this area's treatments (:func:`goal_measures`)."""
        return goal_measures(self.treatments)


@dataclass
class PairChange:
    """One measure between two photos of an area (Compare): the engine's numbers and verdict."""

    metric: str
    before: float
    after: float
    change: float  # after - before, in the measure's unit
    change_pct: float  # NaN when ``before`` is 0 or not finite
    mdc95: float
    beyond_noise: bool
    label: str  # as Point.label, without the post-treatment rule: "improved", "worse", "within noise", ...
    noise: str = "within noise"  # "within noise", "could be noise" or "beyond noise"


def pair_conditions(before: Any, after: Any) -> Conditions:
    """What a comparison of two stored photos (PhotoViews) had: against the baseline, the follow-up's
    neutral reference and alignment; between two follow-ups, the weaker of the two."""
    if before.is_baseline:
        return Conditions.of_photo(after)
    if after.is_baseline:
        return Conditions.of_photo(before)
    return Conditions.of_photo(before).worse(Conditions.of_photo(after))


def compare_pair(before: Any, after: Any, conditions: Conditions | None = None) -> dict[str, PairChange]:
    """Every measure between two scored photos, with the same noise verdicts (:func:`skintrack.comparison.noise.verdict`)
    and direction-aware labels as :func:`area_progress`.

    ``before`` and ``after`` are stored photos (:class:`~skintrack.records.PhotoView`: their
    conditions are used, :func:`pair_conditions`) or plain ``{measure: value}`` dicts, judged with
    ``conditions`` (default: no neutral reference, the most cautious band).
    """
    if hasattr(before, "scores") and hasattr(after, "scores"):
        conditions = conditions or pair_conditions(before, after)
        # A follow-up against its own baseline: the baseline over the skin both show (when that differs).
        if getattr(before, "is_baseline", False) and getattr(after, "baseline_photo_id", None) == before.id:
            overlap = {k: v for k, v in after.compared_with.items() if math.isfinite(v)}
            before, after = {**before.scores, **overlap}, after.scores
        else:
            before, after = before.scores, after.scores
    changes = {}
    for name in METRIC_NAMES:
        a, b = before.get(name, math.nan), after.get(name, math.nan)
        change = b - a
        pct = 100.0 * change / abs(a) if a and math.isfinite(a) and math.isfinite(b) else math.nan
        if math.isfinite(change):
            judged = noise_verdict(name, change, conditions, before=a, after=b)
            label = _label(name, change, judged.wording, False)
            changes[name] = PairChange(name, a, b, change, pct, judged.mdc95, judged.beyond, label, judged.wording)
        else:
            changes[name] = PairChange(name, a, b, change, pct, math.nan, False, "not measured", "not measured")
    return changes


def _compared_with(photo: Any, metric: str, base_value: float, baseline: Any) -> float:
    """What ``photo``'s change in ``metric`` is taken from: the baseline measured over the skin both photos
    show, when the follow-up was measured against this very baseline and left part of it out; else the whole
    baseline's value (issue 20: measure only the overlap)."""
    if baseline is None or getattr(photo, "baseline_photo_id", None) != baseline.id:
        return base_value
    value = photo.compared_with.get(metric, math.nan) if hasattr(photo, "compared_with") else math.nan
    return value if math.isfinite(value) else base_value


def _label(metric: str, change: float, noise: str, expected_flush: bool) -> str:
    better = METRICS[metric].better
    if noise != "beyond noise":
        return noise
    if better is None:
        return "lighter" if change > 0 else "darker"
    improved = change < 0 if better == "lower" else change > 0
    if not improved and expected_flush:
        return "expected post-treatment redness"
    return "improved" if improved else "worse"


def _summary(progress: MetricProgress) -> str:
    return change_sentence(progress)


def area_progress(
    records: Records,
    actor: Actor,
    patient_id: str,
    area_id: str,
    *,
    metrics: list[str] | tuple[str, ...] | None = None,
    today: dt.date | None = None,
    min_spacing_days: dict[str, int] | None = None,
    inflammation_days: dict[str, int] | None = None,
) -> AreaProgress:
    """Progress of one treated area: per-metric series, spacing warnings, days since treatment.

    Raises
    ------
    InvalidInput
        For an unknown metric name (or an area of another patient).
    NotFound, PermissionDenied
        From the records layer: ``actor`` must be allowed to read the patient's record.
    """
    records.authorize(actor, "read", patient_id)
    names = list(metrics) if metrics is not None else list(METRIC_NAMES)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise InvalidInput(f"Unknown metric {', '.join(unknown)}; choose from {', '.join(METRIC_NAMES)}.")
    spacing = {**MIN_SPACING_DAYS, **(min_spacing_days or {})}
    flush_days = {**INFLAMMATION_DAYS, **(inflammation_days or {})}
    today = today or dt.date.today()
    areas = {a.id: a for a in records.list_areas(actor, patient_id)}
    if area_id not in areas:
        raise InvalidInput("That area does not belong to this patient.")
    sessions = records.list_sessions(actor, patient_id)
    treatments = [(s.date, s.treatment) for s in sessions if s.treatment in TREATMENT_KINDS]
    area_photos = records.list_photos(actor, patient_id, area_id)
    area_sessions = {p.session_id for p in area_photos}
    area_treatments = sorted({(s.date, s.treatment) for s in sessions if s.id in area_sessions and s.treatment in TREATMENT_KINDS})
    photos = [p for p in area_photos if p.status == "scored"]
    baseline = next((p for p in photos if p.is_baseline), photos[0] if photos else None)
    if baseline is not None:
        photos = [baseline] + [p for p in photos if p.id != baseline.id and p.session_date >= baseline.session_date]
    photos, extras = _one_photo_per_visit(photos)

    def last_treatment_before(date: dt.date) -> tuple[dt.date, str] | None:
        earlier = [t for t in treatments if t[0] < date]
        return max(earlier) if earlier else None

    result: dict[str, MetricProgress] = {}
    for name in names:
        info = METRICS[name]
        points: list[Point] = []
        base_value = None
        base_conditions = Conditions()
        for photo in photos:
            value = photo.scores.get(name, math.nan)
            if not math.isfinite(value):
                continue
            previous = last_treatment_before(photo.session_date)
            days = (photo.session_date - previous[0]).days if previous else None
            if base_value is None:
                base_value = value
                base_conditions = Conditions.of(photo.normalization, None)
                points.append(Point(photo.session_id, photo.id, photo.session_date, photo.treatment, value, 0.0, 0.0,
                                    False, "baseline", days, mdc95(name, base_conditions, level=value), "", value))  # fmt: skip
                continue
            before = _compared_with(photo, name, base_value, baseline)
            change = value - before
            change_pct = 100.0 * change / abs(before) if before else math.nan
            judged = noise_verdict(name, change, Conditions.of_photo(photo), before=before, after=value)
            expected = (
                name in REDNESS_METRICS
                and previous is not None
                and days is not None
                and days <= flush_days.get(previous[1], 0)
            )
            points.append(
                Point(photo.session_id, photo.id, photo.session_date, photo.treatment, value, change, change_pct,
                      judged.beyond, _label(name, change, judged.wording, expected), days, judged.mdc95, judged.wording,
                      before, float((photo.baseline_on_overlap or {}).get("skin_left_out_pct") or 0.0))
            )  # fmt: skip
        best = worst = None
        if points and info.better is not None:
            ranked = sorted(points, key=lambda p: p.value, reverse=info.better == "higher")
            candidates = [p for p in ranked if p.label != "expected post-treatment redness"] or ranked
            best, worst = candidates[0], candidates[-1]
        limit = points[-1].mdc95 if points else mdc95(name, base_conditions)
        progress = MetricProgress(name, info.unit, info.label, info.better, limit, points, best, worst, "")
        progress.summary = _summary(progress)
        result[name] = progress

    warnings = []
    by_kind: dict[str, list[dt.date]] = {}
    for date, kind in sorted(treatments):
        by_kind.setdefault(kind, []).append(date)
    for kind, dates in by_kind.items():
        for previous, date in zip(dates, dates[1:]):
            days = (date - previous).days
            minimum = spacing.get(kind)
            if minimum and days < minimum:
                warnings.append(
                    SpacingWarning(
                        kind, previous, date, days, minimum,
                        f"{kind} on {date.isoformat()} came {days} days after the one on {previous.isoformat()}; "
                        f"at least {minimum} days are recommended so the skin can heal between sessions.",
                    )  # fmt: skip
                )
    last = max(treatments) if treatments else None
    return AreaProgress(
        patient_id=patient_id,
        area_id=area_id,
        area=areas[area_id].name,
        metrics=result,
        spacing_warnings=warnings,
        last_treatment=last,
        days_since_last_treatment=(today - last[0]).days if last else None,
        treatments=area_treatments,
        photos={p.id: p for p in area_photos},
        photo_ids=[p.id for p in photos],
        extra_photos=extras,
    )


def _one_photo_per_visit(photos: list) -> tuple[list, list[ExtraPhoto]]:
    """The first photo of each visit (``photos`` come baseline first, then oldest visit and first stored
    first: :meth:`~skintrack.records.Records.list_photos`), and the others (:data:`ONE_PHOTO_PER_VISIT`)."""
    used: dict[str, Any] = {}
    extras = []
    for photo in photos:
        if photo.session_id in used:
            extras.append(ExtraPhoto(photo.id, photo.session_id, photo.session_date, used[photo.session_id].id))
        else:
            used[photo.session_id] = photo
    return list(used.values()), extras


# --------------------------------------------------------------------------- words for patients

#: The measures a patient sees, in plain words: title, then what "better" and "worse" look like.
PATIENT_MEASURES = {
    "redness": ("Redness", "less red", "redder"),
    "spot_area_pct": ("Dark spots", "less of the skin has dark spots", "more of the skin has dark spots"),
    "texture_roughness": ("Skin texture", "smoother", "rougher"),
    "line_density": ("Fine lines", "fewer fine lines", "more fine lines"),
    "evenness": ("Evenness of skin tone", "more even", "less even"),
}


#: A point's verdict (:attr:`Point.label`) in the patient's words (the portal's chart colours and its legend).
PATIENT_VERDICTS = {
    "baseline": "first visit",
    "improved": "better",
    "worse": "worse",
    "within noise": "no clear change",
    "could be noise": "no clear change yet",
    "expected post-treatment redness": "expected after treatment",
    "lighter": "changed",
    "darker": "changed",
}


@dataclass
class PatientMeasure:
    """One measure as a patient sees it: plain words and the change since the first visit in %.

    The sentence, the chart and its colours come from the same numbers: the sentence's % is the last
    point's, its verdict the last point's (:attr:`Point.label`, in the patient's words).

    Attributes
    ----------
    metric : str
        The engine's metric name (for the program, not shown).
    title : str
        Its plain name, e.g. "Redness".
    sentence : str
        One sentence for the patient, without units or technical terms, with the latest change in %.
    verdict : str
        ``"better"``, ``"worse"``, ``"no clear change"`` (within noise), ``"no clear change yet"`` (a change
        that could still be noise), ``"expected after treatment"`` or ``"first visit only"``.
    points : list of (date, float)
        Change against the first visit in % at each visit (0 at the first).
    noise_pct : float
        The normal difference between two photos of unchanged skin, in % of the first visit's value
        (the latest visit's MDC95); changes inside ± this are not counted as real.
    verdicts : list of str
        Each point's verdict in the patient's words (:data:`PATIENT_VERDICTS`), as the chart colours them.
    change_pct : float
        The latest change in % (``points[-1][1]``), as the sentence says it.
    """

    metric: str
    title: str
    sentence: str
    verdict: str
    points: list[tuple[dt.date, float]]
    noise_pct: float
    verdicts: list[str] = field(default_factory=list)
    change_pct: float = 0.0


def patient_summary(progress: AreaProgress) -> list[PatientMeasure]:
    """The area's progress in words for the patient: no units, no a*, ΔL*, ITA or MDC.

    Only the measures in :data:`PATIENT_MEASURES` with a finite, non-zero first
    value are included (a change in % needs one). A change is called real only
    when the engine's verdict says it is beyond the normal difference between two photos of the same
    skin (the measure's MDC95: the grey band of the chart), and redness right after a treatment is
    called expected rather than worse. Every sentence gives the latest change in % — the number the
    chart shows for the latest visit — with that visit's verdict, so the headline and the chart can
    never disagree.
    """
    from .wording import format_pct

    lines = []
    for name, (title, better_words, worse_words) in PATIENT_MEASURES.items():
        metric = progress.metrics.get(name)
        if metric is None or not metric.points or not metric.points[0].value:
            continue
        base = abs(metric.points[0].value)
        points = [(p.date, 100.0 * (p.value - metric.points[0].value) / base) for p in metric.points]
        noise_pct = 100.0 * metric.mdc95 / base
        verdicts = [PATIENT_VERDICTS.get(p.label, p.label) for p in metric.points]
        last = metric.points[-1]
        change = points[-1][1]
        amount = format_pct(change, signed=False)
        way = "lower" if change < 0 else "higher"
        band = f"the normal difference between two photos is up to {format_pct(noise_pct, signed=False)}"
        if len(metric.points) == 1:
            verdict = "first visit only"
            sentence = f"{title}: measured at your first visit; your next visits will show how it changes."
        elif last.label == "improved":
            verdict = "better"
            sentence = f"{title}: {better_words} than at your first visit ({amount} change), a real change."
        elif last.label == "worse":
            verdict = "worse"
            sentence = (f"{title}: {worse_words} than at your first visit ({amount} change), a real change. "
                        "Your provider can talk it through with you.")  # fmt: skip
        elif last.label == "expected post-treatment redness":
            verdict = "expected after treatment"
            sentence = (f"{title}: {amount} higher than at your first visit, as expected in the days after a "
                        "treatment; it usually settles within one to two weeks.")  # fmt: skip
        elif last.label == "could be noise":
            verdict = "no clear change yet"
            sentence = (f"{title}: {amount} {way} than at your first visit — more than usual between two photos "
                        f"({band}), but too little evidence yet to be sure the change is real.")  # fmt: skip
        elif change == 0:
            verdict = "no clear change"
            sentence = f"{title}: the same as at your first visit."
        else:
            verdict = "no clear change"
            sentence = (f"{title}: {amount} {way} than at your first visit, within the normal difference between "
                        f"two photos of the same skin (up to {format_pct(noise_pct, signed=False)}), so not a clear "
                        "change.")  # fmt: skip
        lines.append(PatientMeasure(name, title, sentence, verdict, points, noise_pct, verdicts, change))
    return lines
