"""Measuring an area's photos again: when the engine or its settings changed, or the area did.

:class:`Rescorer` re-measures one area inside the caller's transaction (used by
:meth:`~skintrack.records.Records.rescore`, by a new earlier baseline at intake and by
the corrections); :class:`RescoringMixin` holds the public ``rescore`` and
``scores_table``.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .._version import __version__
from ..comparison.compare import DEFAULT_CONFIG, zone_of
from ..intake.photo import load_photo
from ..jsonsafe import plain
from ..measure.metrics import METRIC_NAMES
from .db import Area, MetricScore, PhotoRecord, TreatmentSession
from .mapping import add_scores, area_region, normalization_record, status_reason
from .measurement import MeasurementCache, measuring_copy_of
from .store import PhotoStore
from .views import Actor

__all__ = ["Rescorer", "RescoringMixin"]


class Rescorer:
    """Measures an area's stored photos again, baseline first, inside the caller's transaction.

    Contract: :meth:`rescore_area` rewrites the photos' status, normalisation, alignment, quality,
    thresholds and scores, and the area's ``baseline_photo_id`` (the earliest photo that can be
    measured); it drops the kept measurements (they may change) and keeps the new measured baseline
    in memory only (the transaction may still roll back). It reads files from the store, measures
    through the :class:`~skintrack.records.measurement.MeasurementCache`, checks nobody's
    permission (its callers have) and writes no audit line.
    """

    def __init__(self, store: PhotoStore, measurements: MeasurementCache):
        self.store = store
        self.measurements = measurements

    def rescore_area(self, db: Session, area: Area, *, force: bool) -> int:
        """Re-measure an area's photos inside the caller's transaction (blocked ones too: the quality
        gate is part of the engine); the baseline is the earliest photo that can be measured."""
        current = DEFAULT_CONFIG.settings_hash
        records = db.scalars(
            select(PhotoRecord)
            .join(TreatmentSession, PhotoRecord.session_id == TreatmentSession.id)
            .where(PhotoRecord.area_id == area.id)
            .order_by(TreatmentSession.date, PhotoRecord.created_at)
        ).all()
        if not records or not (force or any(_measured_with(r) != (__version__, current) for r in records)):
            return 0
        self.measurements.forget_measurements()
        # The current baseline first among the photos of its day; earlier photos are tried first.
        records = sorted(records, key=lambda r: (r.session.date, r.id != area.baseline_photo_id))
        zone, region = zone_of(area.name), area_region(area)
        baseline_info = None
        drawn_on = (area.roi or {}).get("photo_id") if region is not None else None
        area.baseline_photo_id = None
        for record in records:
            photo = measuring_copy_of(load_photo(self.store.get(record.file_name)))
            # The region was drawn on one photo: it applies when that photo is (still) the baseline.
            used = region if baseline_info is not None or record.id == drawn_on else None
            outcome = self.measurements.process(photo, baseline_info, zone, used)
            for old in list(record.scores):
                db.delete(old)
            db.flush()
            record.status, record.status_reason = outcome.status, status_reason(outcome)
            record.normalization = normalization_record(outcome)
            record.alignment = plain(outcome.alignment.summary() if outcome.alignment is not None else {})
            record.quality = [issue.to_dict() for issue in outcome.quality]
            record.thresholds = {}
            if outcome.score is not None:
                add_scores(db, record, outcome.score)
            if baseline_info is None and outcome.scored:
                record.thresholds = plain(outcome.score.thresholds)
                area.baseline_photo_id = record.id
                self.measurements.keep_baseline(record.file_name, outcome.baseline, on_disk=False)  # not inside the transaction
                region = used
                baseline_info = {
                    "id": record.id,
                    "file_name": record.file_name,
                    "thresholds": dict(record.thresholds),
                    "session_date": record.session.date,
                }
        db.flush()
        return len(records)

    def settle_area(self, db: Session, area: Area, *, changed: bool) -> None:
        """After a correction: the earliest usable photo is the baseline; measure the area again when the
        baseline changed (or ``changed``: its photos did)."""
        earliest = db.scalars(
            select(PhotoRecord)
            .join(TreatmentSession, PhotoRecord.session_id == TreatmentSession.id)
            .where(PhotoRecord.area_id == area.id, PhotoRecord.status != "blocked")
            .order_by(TreatmentSession.date, PhotoRecord.created_at)
        ).first()
        wanted = earliest.id if earliest is not None else None
        if wanted != area.baseline_photo_id:
            area.baseline_photo_id = wanted
            db.flush()
            changed = True
        if changed:
            self.measurements.forget_measurements()
            if wanted:
                self.rescore_area(db, area, force=True)


class RescoringMixin:
    """The records' public rescoring and scores table (``self._rescorer`` does the measuring)."""

    _rescorer: Rescorer

    def rescore(self, actor: Actor, patient_id: str | None = None, *, force: bool = False) -> int:
        """Measure stored photos again when the engine version or settings changed (or ``force``).

        Returns the number of photos measured again. Each area is redone in one
        transaction, baseline first, so a failure changes nothing.
        """
        if patient_id:
            self.authorize(actor, "update", patient_id)
        else:
            self.authorize(actor, "maintain")
        count = 0
        with self._db() as db:
            query = select(Area)
            if patient_id:
                query = query.where(Area.patient_id == patient_id)
            area_ids = [a.id for a in db.scalars(query)]
        for area_id in area_ids:
            with self._db() as db:
                count += self._rescorer.rescore_area(db, db.get(Area, area_id), force=force)
        if count:
            self._audit_later(actor, "rescore", patient_id=patient_id, detail=f"{count} photos measured again")
        return count

    def scores_table(self, actor: Actor, patient_id: str, *, export: bool = True) -> list[dict[str, Any]]:
        """One row per scored photo: patient, area, session, metrics and their provenance (providers and
        admins). Logged as an export; with ``export=False`` (a table shown on screen, whose download the
        caller logs with :meth:`record_export`) as a read."""
        self.authorize(actor, "export", patient_id)
        if export:
            self.record_export(actor, patient_id, "scores table")
        else:
            self._note_view(actor, patient_id)
        patient = self.get_patient(actor, patient_id)
        rows = []
        with self._db() as db:
            for view in self.list_photos(actor, patient_id):
                record_scores = db.scalars(select(MetricScore).where(MetricScore.photo_id == view.id)).all()
                provenance = record_scores[0].provenance if record_scores else {}
                rows.append(
                    {
                        "patient_code": patient.code,
                        "area": view.area,
                        "session_date": view.session_date.isoformat(),
                        "treatment": view.treatment,
                        "photo_id": view.id,
                        "view": view.view,
                        "status": view.status,
                        "is_baseline": view.is_baseline,
                        **{name: view.scores.get(name, math.nan) for name in METRIC_NAMES},
                        "engine_version": view.engine_version,
                        "settings_hash": view.settings_hash,
                        "photo_sha256": view.original_sha256,
                        "normalization": view.normalization.get("method"),
                        "alignment_quality": view.alignment.get("quality"),
                        "thresholds_from": provenance.get("thresholds_from"),
                        "region": view.measured.get("region"),
                        "region_pct": view.measured.get("region_pct"),
                        "skin_pct": view.measured.get("skin_pct"),
                        "status_reason": view.status_reason,
                    }
                )
        return rows


def _measured_with(record: PhotoRecord) -> tuple[str | None, str | None]:
    """(engine version, settings hash) a stored photo was last measured with."""
    if record.scores:
        return record.scores[0].engine_version, record.scores[0].settings_hash
    engine = (record.normalization or {}).get("engine") or {}
    return engine.get("version"), engine.get("settings_hash")
