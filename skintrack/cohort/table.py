"""The cohort table: one tidy row per patient, area, measure and visit, read through the records service.

Every read goes through :class:`skintrack.records.Records` as the acting user:
the table needs the right to list patients (providers and admins; a patient's
account is refused before anything is read) and each patient's record is then
read with that user's permission check. The change against baseline, its
noise verdict and its label are :func:`skintrack.progress.area_progress`'s —
the numbers the Progress page shows — never computed a second way.

What is left out, and why
-------------------------
* Photos that could not be measured (blocked, not comparable): they have no
  numbers (:func:`skintrack.progress.area_progress` leaves them out too).
* Photos whose consent was **withdrawn**: withdrawn photos stay in the
  clinical record but leave it in no other use, and a cohort analysis is one.
  When an area's baseline photo is withdrawn, the whole area is left out (every
  change is measured against it).
* With ``consent="teaching"`` or ``"publication"`` (a clinic that analyses
  only what patients agreed to share): photos whose consent does not cover the
  purpose; an area whose baseline does not is left out.

The table is built per patient, so it runs in parallel on a Dask cluster
(``scheduler=``): each worker opens the same records (data folder or
database URL) and builds its patients' rows as the same acting user.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .._version import __version__
from ..measure.metrics import METRIC_NAMES, METRICS
from ..progress import INFLAMMATION_DAYS, TREATMENT_KINDS, area_progress
from ..records import CONSENT_LEVELS, Actor, InvalidInput, Records
from .adherence import Protocol, course_adherence
from .adherence import protocols as with_overrides
from .dictionary import AGE_BANDS, ITA_GROUPS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BASE_COLUMNS",
    "DEFAULT_SETTING_BINS",
    "NO_TREATMENT",
    "NOT_RECORDED",
    "build_cohort_table",
    "patient_rows",
    "setting_label",
]

#: The course treatment of an area that had none (only baseline or check-up visits).
NO_TREATMENT = "none"
#: The setting bin of a course whose main setting was not recorded.
NOT_RECORDED = "not recorded"

#: Bin edges of each treatment's main setting (the first of these its sessions recorded), in its unit.
#: A value on an edge belongs to the bin above it. Override with ``setting_bins=``.
DEFAULT_SETTING_BINS: dict[str, tuple[float, ...]] = {
    "needle_depth_mm": (0.5, 1.0, 1.5, 2.0, 2.5),
    "fluence_J_cm2": (5.0, 10.0, 20.0, 40.0),
    "energy_J_cm2": (5.0, 10.0, 20.0, 40.0),
    "energy_mJ": (10.0, 20.0, 40.0, 70.0),
    "concentration_pct": (20.0, 35.0, 50.0, 70.0),
    "passes": (2.0, 3.0, 4.0),
}
#: How a setting's name reads, and its unit.
SETTING_WORDS = {
    "needle_depth_mm": ("needle depth", "mm"),
    "fluence_J_cm2": ("fluence", "J/cm²"),
    "energy_J_cm2": ("energy", "J/cm²"),
    "energy_mJ": ("energy", "mJ"),
    "concentration_pct": ("concentration", "%"),
    "passes": ("passes", ""),
}

BASE_COLUMNS = [
    "patient", "area", "view", "measure", "unit", "better", "visit_date", "visit_number", "days_since_baseline",
    "visit_treatment", "visit_settings", "treatment", "setting_bin", "treatments_before", "session_number",
    "days_since_previous_visit", "days_since_last_treatment", "course_spacing_days", "within_protocol",
    "fitzpatrick", "baseline_ita", "ita_group", "age_band", "value", "baseline_value", "change", "change_pct",
    "improvement", "mdc95", "noise", "beyond_noise", "label", "healing", "consent", "engine_version",
    "settings_hash", "photo_sha256",
]  # fmt: skip


def setting_label(key: str, value: float, edges: Iterable[float] | None) -> str:
    """The bin of ``value`` of setting ``key``: ``"needle depth 1-1.5 mm"``, ``"needle depth < 0.5 mm"``."""
    words, unit = SETTING_WORDS.get(key, (key.replace("_", " "), ""))
    suffix = f" {unit}" if unit else ""
    edges = sorted(edges or ())
    if not edges:
        return f"{words} {value:g}{suffix}"
    if value < edges[0]:
        return f"{words} < {edges[0]:g}{suffix}"
    for low, high in zip(edges, edges[1:]):
        if low <= value < high:
            return f"{words} {low:g}-{high:g}{suffix}"
    return f"{words} ≥ {edges[-1]:g}{suffix}"


def _group(value: float | None, bands) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    for low, name in bands:
        if value >= low:
            return name
    return None  # pragma: no cover - the last band has no lower bound


def _main_kind(kinds: list[tuple[dt.date, str]]) -> str:
    """The treatment given most often (the latest on a tie), as :func:`skintrack.progress.goal_measures` decides."""
    ordered = [kind for _, kind in sorted(kinds)]
    if not ordered:
        return NO_TREATMENT
    counts = {kind: ordered.count(kind) for kind in ordered}
    return max(reversed(ordered), key=lambda kind: counts[kind])


def _numeric_settings(sessions) -> dict[str, float]:
    """Median of each numeric setting over ``sessions`` (booleans and text are not settings to bin)."""
    values: dict[str, list[float]] = {}
    for session in sessions:
        for key, value in (session.settings or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                values.setdefault(key, []).append(float(value))
    return {key: float(statistics.median(v)) for key, v in sorted(values.items())}


def _covers(photo, purpose: str | None) -> bool:
    if photo.consent_withdrawn:
        return False
    if purpose is None:
        return True
    return CONSENT_LEVELS.index(photo.consent) >= CONSENT_LEVELS.index(purpose)


def patient_rows(
    records: Records,
    actor: Actor,
    patient_id: str,
    *,
    consent: str | None = None,
    metrics: Iterable[str] | None = None,
    protocols: Mapping[str, Protocol] | None = None,
    setting_bins: Mapping[str, Iterable[float]] | None = None,
    patient: Any = None,
) -> list[dict[str, Any]]:
    """The cohort rows of one patient (every area, measure and measured visit), read as ``actor``.

    See :func:`build_cohort_table` for the parameters and :mod:`skintrack.cohort.dictionary` for the columns;
    ``patient`` is the patient's view when the caller has just read it (else it is read here).
    """
    protocols = dict(protocols) if protocols is not None else with_overrides()
    bins = {**DEFAULT_SETTING_BINS, **{k: tuple(v) for k, v in (setting_bins or {}).items()}}
    names = list(metrics) if metrics is not None else list(METRIC_NAMES)
    patient = patient if patient is not None else records.get_patient(actor, patient_id)
    sessions = records.list_sessions(actor, patient_id)
    areas = records.list_areas(actor, patient_id)
    # area_progress reads each area's photos (and checks the user again); their views come back with it.
    progresses = {area.id: area_progress(records, actor, patient_id, area.id, metrics=names) for area in areas}
    photos = {pid: view for progress in progresses.values() for pid, view in progress.photos.items()}
    photographed = {p.session_id for p in photos.values()}
    rows: list[dict[str, Any]] = []
    for area in areas:
        progress = progresses[area.id]
        area_sessions = {p.session_id for p in photos.values() if p.area_id == area.id}
        # The sessions that treated this area: those that photographed it, and treatments recorded without photos.
        treated = [s for s in sessions if s.treatment in TREATMENT_KINDS and (s.id in area_sessions or s.id not in photographed)]
        kind = _main_kind([(s.date, s.treatment) for s in treated])
        course = [s for s in treated if s.treatment == kind]
        course_dates = sorted({s.date for s in course})
        settings = _numeric_settings(course)
        main_key = next((key for key in bins if key in settings), None)
        setting_bin = setting_label(main_key, settings[main_key], bins[main_key]) if main_key else NOT_RECORDED
        spacing, within = course_adherence(course_dates, protocols.get(kind))
        session_of_date = {s.date: s for s in course}
        visit_sessions = {s.id: s for s in sessions}
        ita = progress.metrics.get("ita")
        baseline_ita = ita.points[0].value if ita is not None and ita.points else math.nan
        if not math.isfinite(baseline_ita) and "ita" not in names:
            baseline_photo = photos.get(area.baseline_photo_id) if area.baseline_photo_id else None
            baseline_ita = baseline_photo.scores.get("ita", math.nan) if baseline_photo else math.nan
        for name, metric in progress.metrics.items():
            if not metric.points:
                continue
            baseline = photos[metric.points[0].photo_id]
            if not _covers(baseline, consent):
                continue  # every change of this area is measured against a photo the analysis may not use
            base_date = metric.points[0].date
            info = METRICS[name]
            dates = sorted({p.date for p in metric.points})
            for point in metric.points:
                photo = photos[point.photo_id]
                if not _covers(photo, consent):
                    continue
                visit = dates.index(point.date) + 1
                before = [d for d in course_dates if d < point.date]
                previous_visit = dates[visit - 2] if visit > 1 else None
                session = visit_sessions.get(point.session_id)
                given = session_of_date.get(point.date)
                last_any = max((s.date for s in treated if s.date < point.date), default=None)
                last_kind = next((s.treatment for s in treated if s.date == last_any), None)
                healing = last_any is not None and (point.date - last_any).days <= INFLAMMATION_DAYS.get(last_kind, 0)
                improvement = (  # "+ 0.0": no "-0.0" at the baseline
                    -point.change + 0.0 if info.better == "lower" else point.change if info.better == "higher" else math.nan
                )
                row = {
                    "patient": patient.code,
                    "area": area.name,
                    "view": photo.view,
                    "measure": name,
                    "unit": info.unit,
                    "better": info.better or "",
                    "visit_date": point.date,
                    "visit_number": visit,
                    "days_since_baseline": (point.date - base_date).days,
                    "visit_treatment": point.treatment,
                    "visit_settings": json.dumps(session.settings if session else {}, sort_keys=True),
                    "treatment": kind,
                    "setting_bin": setting_bin,
                    "treatments_before": len(before),
                    "session_number": (course_dates.index(given.date) + 1) if given is not None else None,
                    "days_since_previous_visit": (point.date - previous_visit).days if previous_visit else None,
                    "days_since_last_treatment": (point.date - last_any).days if last_any else None,
                    "course_spacing_days": spacing,
                    "within_protocol": within,
                    "fitzpatrick": patient.fitzpatrick,
                    "baseline_ita": baseline_ita,
                    "ita_group": _group(baseline_ita, ITA_GROUPS),
                    "age_band": _group(base_date.year - patient.birth_year, AGE_BANDS) if patient.birth_year else None,
                    "value": point.value,
                    # The baseline over the skin this visit's photo shows too (value - baseline_value == change).
                    "baseline_value": point.compared_with if math.isfinite(point.compared_with) else metric.points[0].value,
                    "change": point.change,
                    "change_pct": point.change_pct if info.unit != "°" else math.nan,
                    "improvement": improvement,
                    "mdc95": point.mdc95,
                    "noise": point.noise,
                    "beyond_noise": bool(point.beyond_noise),
                    "label": point.label,
                    "healing": bool(healing),
                    "consent": photo.consent,
                    "engine_version": photo.engine_version,
                    "settings_hash": photo.settings_hash,
                    "photo_sha256": photo.original_sha256,
                }
                for key, value in settings.items():
                    row[f"setting_{key}"] = value
                rows.append(row)
    return rows


# --------------------------------------------------------------------------- the whole table


class _RowsTask:
    """Picklable: one patient's rows, built on a Dask worker from the same records as the same user."""

    def __init__(self, data_dir: str, db_url: str, actor: Actor, options: dict):
        self.data_dir, self.db_url, self.actor, self.options = data_dir, db_url, actor, options

    def __call__(self, patient_id: str) -> list[dict[str, Any]]:
        records = _worker_records(self.data_dir, self.db_url)
        return patient_rows(records, self.actor, patient_id, **self.options)


_WORKER_RECORDS: dict[tuple[str, str], Records] = {}


def _worker_records(data_dir: str, db_url: str) -> Records:
    """One records service per worker process and database (opened on first use, kept for the next patient)."""
    key = (data_dir, db_url)
    if key not in _WORKER_RECORDS:
        _WORKER_RECORDS[key] = Records(data_dir, db_url=db_url)
    return _WORKER_RECORDS[key]


def build_cohort_table(
    records: Records,
    actor: Actor,
    *,
    patients: Iterable[str] | None = None,
    consent: str | None = None,
    metrics: Iterable[str] | None = None,
    protocols: Mapping[str, Protocol | tuple[int, int]] | None = None,
    setting_bins: Mapping[str, Iterable[float]] | None = None,
    scheduler: str | None = None,
) -> "pd.DataFrame":
    """The cohort table: one row per patient, area, measure and measured visit.

    Parameters
    ----------
    records : Records
        The records service; every read is made as ``actor`` and checked.
    actor : Actor
        Must be allowed to list patients (providers, admins): a patient's account
        gets :class:`~skintrack.records.PermissionDenied` before anything is read.
    patients : iterable of str, optional
        Patient codes to include (default: every patient the user may list).
    consent : {None, "teaching", "publication"}
        Only photos whose consent covers this purpose (see the module docstring).
        Photos whose consent was withdrawn are always left out.
    metrics : iterable of str, optional
        Measures to include (default: all of :data:`skintrack.measure.metrics.METRIC_NAMES`).
    protocols : mapping, optional
        Spacing protocols that differ from :data:`skintrack.cohort.PROTOCOLS`,
        ``{treatment: (min_days, max_days)}``.
    setting_bins : mapping, optional
        Bin edges per setting that differ from :data:`DEFAULT_SETTING_BINS`.
    scheduler : str, optional
        A ``dask.distributed`` scheduler address (``tcp://host:8786``): patients are
        built in parallel on its workers, which open the same records.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BASE_COLUMNS` then ``setting_<name>`` (see
        :func:`skintrack.cohort.data_dictionary`), sorted by patient, area, measure,
        visit. ``table.attrs`` holds the provenance: engine version, when and for
        whom it was built, the consent filter and the protocols.
    """
    import pandas as pd

    records.authorize(actor, "list")  # staff only: a patient's account sees none of the cohort
    if consent is not None and consent not in CONSENT_LEVELS[1:]:
        raise InvalidInput(f"consent must be one of {', '.join(CONSENT_LEVELS[1:])} (or none for every record).")
    names = list(metrics) if metrics is not None else list(METRIC_NAMES)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise InvalidInput(f"Unknown measure {', '.join(unknown)}; choose from {', '.join(METRIC_NAMES)}.")
    chosen = with_overrides(protocols)
    listed = records.list_patients(actor)
    if patients is not None:
        wanted = set(patients)
        missing = wanted - {p.code for p in listed}
        if missing:
            raise InvalidInput(f"No patient with code {', '.join(sorted(missing))}.")
        listed = [p for p in listed if p.code in wanted]
    listed = sorted(listed, key=lambda p: p.code)
    ids = [p.id for p in listed]
    options = {"consent": consent, "metrics": names, "protocols": chosen, "setting_bins": dict(setting_bins or {})}
    if scheduler:
        from dask.distributed import Client

        from ..batch import DASK_CONNECT_TIMEOUT_S

        try:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        task = _RowsTask(str(records.data_dir.resolve()), records.db_url, actor, options)
        with client:
            per_patient = client.gather(client.map(task, ids, pure=False))
    else:
        per_patient = [patient_rows(records, actor, p.id, patient=p, **options) for p in listed]
    rows = [row for chunk in per_patient for row in chunk]
    table = pd.DataFrame(rows)
    settings_columns = sorted(c for c in table.columns if c.startswith("setting_") and c != "setting_bin")
    table = table.reindex(columns=BASE_COLUMNS + settings_columns)
    if len(table):
        table = table.sort_values(["patient", "area", "view", "measure", "visit_date"], kind="stable", ignore_index=True)
    for column in ("visit_number", "days_since_baseline", "treatments_before"):
        table[column] = table[column].astype("int64")
    for column in ("session_number", "days_since_previous_visit", "days_since_last_treatment", "fitzpatrick"):
        table[column] = pd.array(table[column], dtype="Int64")
    table["visit_date"] = pd.to_datetime(table["visit_date"])
    table["within_protocol"] = pd.array(table["within_protocol"], dtype="boolean")
    table.attrs = {
        "engine_version": __version__,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "built_by": actor.name,
        "consent": consent or "record",
        "protocols": {k: [p.min_days, p.max_days] for k, p in chosen.items()},
        "patients": len(ids),
    }
    return table

