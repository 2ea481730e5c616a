"""View mapping: database rows to the views the records hand out, and a measurement's outcome to rows.

Pure functions of their arguments (no records state): what a photo, a visit or a measurement looks
like to callers (:func:`patient_view`, :func:`photo_view`, :func:`session_view`, :func:`measurement_of`), which part of an
area is measured (:func:`area_region`), and what a measurement's outcome stores
(:func:`status_reason`, :func:`normalization_record`, :func:`add_scores`).
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..comparison.compare import Comparison
from ..jsonsafe import finite, plain
from ..measure.roi import Region, RegionError
from ..wording import partly_measured_words, unmeasured_words, unscaled_words
from .db import Area, MetricScore, Patient, PhotoRecord, TreatmentSession
from .views import Measurement, PatientView, PhotoView, SessionView

__all__ = [
    "add_scores", "area_region", "measured_part", "measurement_of", "normalization_record", "patient_view", "photo_view",
    "session_view", "status_reason",
]  # fmt: skip


def patient_view(db: Session, patient: Patient) -> PatientView:
    """A patient as the records hand it out: details, treated areas and a count of visits and treatments."""
    sessions = db.scalars(select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)).all()
    areas = db.scalars(select(Area.name).where(Area.patient_id == patient.id).order_by(Area.name)).all()
    return PatientView(
        id=patient.id,
        code=patient.code,
        display_name=patient.display_name,
        birth_year=patient.birth_year,
        fitzpatrick=patient.fitzpatrick,
        notes=patient.notes,
        areas=list(areas),
        session_count=len(sessions),
        treatment_count=sum(1 for s in sessions if s.treatment not in ("baseline", "other")),
        last_session=max((s.date for s in sessions), default=None),
    )


def photo_view(db: Session, record: PhotoRecord) -> PhotoView:
    """A stored photo as the records hand it out: where it is filed, its status and its scores."""
    area = db.get(Area, record.area_id)
    session = db.get(TreatmentSession, record.session_id)
    scores = db.scalars(select(MetricScore).where(MetricScore.photo_id == record.id)).all()
    return PhotoView(
        id=record.id,
        session_id=record.session_id,
        area_id=record.area_id,
        area=area.name,
        session_date=session.date,
        treatment=session.treatment,
        view=record.view,
        file_name=record.file_name,
        original_sha256=record.original_sha256,
        captured_at=record.captured_at,
        width=record.width,
        height=record.height,
        status=record.status,
        status_reason=record.status_reason,
        is_baseline=area.baseline_photo_id == record.id,
        normalization=dict(record.normalization or {}),
        alignment=dict(record.alignment or {}),
        quality=list(record.quality or []),
        consent=record.consent,
        consent_withdrawn=record.consent_withdrawn_at is not None,
        camera=record.camera,
        scores={s.metric: (math.nan if s.value is None else s.value) for s in scores},
        engine_version=scores[0].engine_version if scores else None,
        settings_hash=scores[0].settings_hash if scores else None,
        baseline_photo_id=area.baseline_photo_id,
        region=region.digest if (region := area_region(area)) is not None else None,
        measured=measured_part(scores[0].provenance if scores else None, region),
        unmeasured=unmeasured_words(scores[0].provenance) if any(s.value is None for s in scores) else "",
        partly_measured=partly_measured_words(scores[0].provenance) if scores else "",
        unscaled=unscaled_words(scores[0].provenance) if scores else "",
        baseline_on_overlap=dict((scores[0].provenance or {}).get("baseline_on_overlap") or {}) if scores else {},
    )


def session_view(session: TreatmentSession) -> SessionView:
    return SessionView(
        session.id, session.patient_id, session.date, session.treatment, dict(session.settings or {}),
        session.provider, session.notes,
    )  # fmt: skip


def area_region(area: Area) -> Region | None:
    """The area's region of interest, when it was drawn on the area's current baseline (else None:
    a region drawn on an earlier baseline is kept for the provider to redraw, but not used); what
    :func:`skintrack.compare` takes as ``roi`` (None: the whole photo, or the face zone the area is
    named after)."""
    roi = area.roi
    if not roi or not area.baseline_photo_id or roi.get("photo_id") != area.baseline_photo_id:
        return None
    try:
        return Region.from_dict(roi)
    except RegionError:
        return None


def measured_part(provenance: dict | None, region: Region | None) -> dict:
    """Which part of a photo its scores measured, from their provenance (see :attr:`PhotoView.measured`)."""
    if not provenance:
        return {}
    size = provenance.get("working_size") or [0, 0]
    pixels = float(size[0]) * float(size[1]) if len(size) == 2 else 0.0
    zone = provenance.get("zone")
    if region is not None:
        where = f"outlined {region.shape}"
    elif zone:
        where = f"face zone: {str(zone).replace('_', ' ')}"
    else:
        where = "whole photo"
    share = lambda count: round(100.0 * float(count) / pixels, 2) if pixels and count is not None else None  # noqa: E731
    return {"region": where, "region_pct": share(provenance.get("roi_pixels")), "skin_pct": share(provenance.get("skin_pixels"))}


def status_reason(outcome: Comparison) -> str:
    if outcome.status != "scored":
        return outcome.reason
    return "baseline of this area" if outcome.role == "baseline" else "measured against the baseline"


def normalization_record(outcome: Comparison) -> dict:
    """What the light correction did, plus the engine that decided (a photo without scores needs it
    too: :meth:`~skintrack.records.Records.rescore` measures again what an older engine blocked or refused)."""
    engine = {"version": outcome.provenance.get("engine_version"), "settings_hash": outcome.provenance.get("settings_hash")}
    return plain({**outcome.normalization, "engine": engine})


def measurement_of(view: PhotoView, outcome: Comparison) -> Measurement:
    return Measurement(view, outcome.photo, outcome.score, outcome.alignment, outcome)


def add_scores(db: Session, record: PhotoRecord, result) -> None:
    provenance = plain(result.provenance)
    for name, value in result.metrics.items():
        db.add(
            MetricScore(
                photo_id=record.id,
                metric=name,
                value=finite(value),
                engine_version=provenance["engine_version"],
                settings_hash=provenance["settings_hash"],
                provenance=provenance,
            )
        )
