"""A patient's scores as one tidy table: every photo × measure, with units, change and verdict.

The table is what the app's Export page and ``skintrack export-scores`` hand
out (CSV or Parquet through :mod:`skintrack.report.tables`, the writer batch
scoring uses too). Changes against the baseline, the noise limit (MDC95), the
beyond-noise flag and the verdict come from :func:`skintrack.progress.area_progress`,
so the table says exactly what the app and the PDF report say.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from ..measure.metrics import METRIC_NAMES, METRICS
from ..progress import area_progress

if TYPE_CHECKING:
    import pandas as pd

    from ..records import Actor, Records

__all__ = ["SCORE_COLUMNS", "scores_table"]

#: Columns of :func:`scores_table`, in order.
SCORE_COLUMNS = [
    "patient_code", "area", "session_date", "treatment", "settings", "provider", "photo_id", "view", "status",
    "is_baseline", "metric", "measure", "unit", "value", "baseline_value", "change", "change_pct", "mdc95",
    "beyond_noise", "verdict", "engine_version", "settings_hash", "photo_sha256", "normalization",
    "alignment_quality", "thresholds_from", "region", "region_pct", "skin_pct", "in_summary", "status_reason",
]  # fmt: skip


def scores_table(records: "Records", actor: "Actor", patient_id: str, area_id: str | None = None, *,
                 export: bool = True) -> "pd.DataFrame":  # fmt: skip
    """One row per photo and measure of a patient (or of one area), oldest session first.

    Columns (:data:`SCORE_COLUMNS`): the session's date, treatment, settings
    (JSON) and provider; the photo's id, view and status; the measure's
    stable name, label and unit; its value, the baseline's value, the change
    (in the unit and in % of the baseline), the MDC95 noise limit, whether the
    change is beyond noise and the verdict ("improved", "within noise", ...);
    the engine version, settings hash and photo hash that reproduce it; how
    the photo was normalised and how well it aligned; which part of the photo was
    measured (``region``: "whole photo", "outlined rectangle" / "outlined polygon"
    (the treated region drawn on the baseline) or "face zone: left cheek";
    ``region_pct``: its share of the photo in %, for a follow-up the part lined up
    with the baseline; ``skin_pct``: the share measured as skin); ``in_summary``:
    whether this photo is the one its visit counts with (one photo per visit,
    :data:`skintrack.progress.ONE_PHOTO_PER_VISIT`). Photos that were not
    measured (blocked by the quality gate, not comparable with the baseline)
    have rows with empty values and the reason in ``status_reason``.

    The audit log gets an ``export`` line; a caller that only shows the table passes ``export=False`` (a read)
    and logs the download itself (:meth:`~skintrack.records.Records.record_export`).

    Raises
    ------
    NotFound, PermissionDenied
        From the records (the actor must be allowed to export the patient's record: providers and admins).
    """
    import pandas as pd

    code = records.get_patient(actor, patient_id).code
    sessions = {s.id: s for s in records.list_sessions(actor, patient_id)}
    areas = [a for a in records.list_areas(actor, patient_id) if area_id is None or a.id == area_id]
    provenance = {row["photo_id"]: row for row in records.scores_table(actor, patient_id, export=export)}
    rows = []
    for area in areas:
        progress = area_progress(records, actor, patient_id, area.id)
        points = {(name, p.photo_id): (p, mp) for name, mp in progress.metrics.items() for p in mp.points}
        counted = set(progress.photo_ids)
        for photo in records.list_photos(actor, patient_id, area.id):
            session = sessions[photo.session_id]
            extra = provenance.get(photo.id, {})
            for name in METRIC_NAMES:
                info = METRICS[name]
                point, metric = points.get((name, photo.id), (None, progress.metrics[name]))
                baseline = metric.baseline
                value = photo.scores.get(name, math.nan)
                rows.append(
                    {
                        "patient_code": code,
                        "area": area.name,
                        "session_date": photo.session_date.isoformat(),
                        "treatment": session.treatment,
                        "settings": json.dumps(session.settings, sort_keys=True, ensure_ascii=False) if session.settings else "",
                        "provider": session.provider,
                        "photo_id": photo.id,
                        "view": photo.view,
                        "status": photo.status,
                        "is_baseline": photo.is_baseline,
                        "metric": name,
                        "measure": info.label,
                        "unit": info.unit,
                        "value": value,
                        "baseline_value": baseline.value if baseline is not None and point is not None else math.nan,
                        "change": point.change if point is not None else math.nan,
                        "change_pct": point.change_pct if point is not None else math.nan,
                        "mdc95": metric.mdc95,
                        "beyond_noise": point.beyond_noise if point is not None else None,
                        "verdict": point.label if point is not None else None,
                        "engine_version": photo.engine_version,
                        "settings_hash": photo.settings_hash,
                        "photo_sha256": photo.original_sha256,
                        "normalization": photo.normalization.get("method"),
                        "alignment_quality": photo.alignment.get("quality", math.nan),
                        "thresholds_from": extra.get("thresholds_from"),
                        "region": photo.measured.get("region"),
                        "region_pct": photo.measured.get("region_pct", math.nan),
                        "skin_pct": photo.measured.get("skin_pct", math.nan),
                        "in_summary": photo.id in counted,
                        "status_reason": photo.status_reason,
                    }
                )
    table = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    table["beyond_noise"] = table["beyond_noise"].astype("boolean")
    return table
