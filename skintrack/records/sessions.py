"""Sessions (visits) and their photos: storing them, measuring them, rescoring.

Photos are added through :meth:`SessionsMixin.add_photo`: intake, then the one
comparable-session pipeline (:func:`skintrack.comparison.compare.compare`: quality gate →
normalise → align to the area's baseline → score with the baseline's
yardstick; :func:`~skintrack.comparison.compare.measure_baseline` for the area's first
photo). The photo file (without identifying metadata) is written to the
content-addressed store first, then the photo and score rows are committed in
one transaction: a crash leaves at most a file no row refers to, which
:meth:`~skintrack.records.Records.doctor` finds and removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._version import __version__
from ..comparison.align import prepare_reference
from ..comparison.compare import (
    DEFAULT_CONFIG,
    MEASURE_SIZE,
    Baseline,
    Comparison,
    compare,
    measure_baseline,
    measuring_copy,
    roi_hash,
    zone_of,
)  # fmt: skip
from ..jsonsafe import finite, plain
from ..measure.metrics import METRIC_NAMES
from ..comparison.normalize import find_neutral_references
from ..intake.photo import Photo, _read_source, clean_bytes, load_photo
from ..measure.roi import Region, RegionError
from ..wording import partly_measured_words, unmeasured_words
from .db import CONSENT_LEVELS, TREATMENTS, Area, MetricScore, PhotoRecord, TreatmentSession, Patient, utcnow
from . import validation
from .errors import CaptureDateMismatch, DuplicatePhoto, InvalidInput, NotFound, RecordsError, StaleSelection
from .validation import MAX_NAME, MAX_NOTES, MAX_VIEW
from .views import Actor, Measurement, PhotoView, SessionView

__all__ = ["CAPTURE_DATE_TOLERANCE_DAYS", "MEASURE_SIZE", "SessionsMixin", "area_region", "zone_of"]

#: A photo whose own capture date (EXIF) is more than this many days from its visit's date is filed only
#: when the caller confirms (``allow_date_mismatch=True``): it is probably another visit's photo.
CAPTURE_DATE_TOLERANCE_DAYS = 7
#: What a caller of :meth:`SessionsMixin.add_photo` may say it showed the user (``expect=``).
EXPECT_KEYS = ("session_date", "treatment", "area")


class SessionsMixin:
    """Visits, the photos taken at them, and their measurements."""

    def add_session(
        self,
        actor: Actor,
        patient_id: str,
        date: dt.date | str,
        treatment: str,
        *,
        settings: dict | None = None,
        provider: str = "",
        notes: str = "",
    ) -> SessionView:
        """Record a visit: its date, treatment (one of :data:`TREATMENTS`) and settings
        (e.g. ``{"needle_depth_mm": 1.5}`` or ``{"energy_J_cm2": 12}``)."""
        self.authorize(actor, "update", patient_id)
        date = _parse_date(date)
        if date > dt.date.today():
            raise InvalidInput(f"The session date {date.isoformat()} is in the future.")
        if date.year < 1900:
            raise InvalidInput(f"The session date {date.isoformat()} is before 1900.")
        if treatment not in TREATMENTS:
            raise InvalidInput(f"Unknown treatment {treatment!r}; choose one of {', '.join(TREATMENTS)}.")
        settings = validation.settings(settings)
        provider = validation.text(provider or actor.name, "The provider", max_length=MAX_NAME, required=True)
        notes = validation.text(notes, "Notes", max_length=MAX_NOTES, multiline=True)
        clash = f"A {treatment} session on {date.isoformat()} is already recorded for this patient; add its photos there."
        try:
            with self._db() as db:
                self._get(db, Patient, patient_id, "patient")
                if db.scalar(select(TreatmentSession.id).where(*_visit(patient_id, date, treatment))):
                    raise InvalidInput(clash)
                session = TreatmentSession(
                    patient_id=patient_id,
                    date=date,
                    treatment=treatment,
                    settings=settings,
                    provider=provider,
                    notes=notes,
                )
                db.add(session)
                db.flush()
                self._audit(db, actor, "add_session", patient_id=patient_id, target=session.id,
                            detail=f"{date.isoformat()} {treatment}")  # fmt: skip
                return _session_view(session)
        except IntegrityError:  # the same visit added by someone else meanwhile (unique per date and treatment)
            raise InvalidInput(clash) from None

    def session_on(self, actor: Actor, patient_id: str, date: dt.date | str, treatment: str = "other", **details) -> SessionView:
        """The patient's session on ``date``, added (as ``treatment``, with ``details``) when there is none.

        Any session that day is used, whatever its treatment (the earliest
        recorded). Safe when several imports run at once: one adds the visit,
        the others get it.
        """
        self.authorize(actor, "update", patient_id)
        day = _parse_date(date)
        for _attempt in range(3):
            existing = [s for s in self.list_sessions(actor, patient_id) if s.date == day]
            if existing:
                return existing[0]
            try:
                return self.add_session(actor, patient_id, day, treatment, **details)
            except InvalidInput:
                continue  # added meanwhile by another import: the next look finds it
        raise InvalidInput(f"The session of {day.isoformat()} could not be added; please try again.")

    def list_sessions(self, actor: Actor, patient_id: str) -> list[SessionView]:
        self.authorize(actor, "read", patient_id)
        if not validation.is_id(patient_id):
            return []
        with self._db() as db:
            query = select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)
            sessions = db.scalars(query.order_by(TreatmentSession.date, TreatmentSession.created_at))
            return [_session_view(s) for s in sessions]

    def get_session(self, actor: Actor, session_id: str) -> SessionView:
        """One session (visit) by id."""
        with self._db() as db:
            session = self._owned(db, actor, "read", TreatmentSession, session_id, "session")
            return _session_view(session)

    def add_photo(
        self,
        actor: Actor,
        session_id: str,
        area_id: str,
        source: Any,
        *,
        view: str = "front",
        consent: str = "record",
        expect: dict | None = None,
        allow_duplicate: bool = False,
        allow_date_mismatch: bool = False,
    ) -> PhotoView:
        """Store and measure one photo of an area in a session.

        Runs intake, then :func:`skintrack.comparison.compare.compare` (quality gate → normalise →
        align to the area's baseline → score with the baseline's yardstick). The first photo of an area (in
        its earliest session) becomes the baseline. A photo the quality gate
        blocks is kept with status ``blocked``; one that does not align to the
        baseline with status ``not_comparable`` (and no scores) — both with the
        reason, so the provider can retake it.

        Nothing is filed anywhere the caller did not choose: ``expect`` says what the user was shown
        when they chose the visit and area (``{"session_date": ..., "treatment": ..., "area": ...}``,
        any of them); when the visit or area is gone or no longer matches — deleted, re-dated or
        renamed meanwhile, e.g. in another browser tab — :class:`StaleSelection` is raised and nothing
        is stored. Whether or not ``expect`` is given, the visit and area are checked again in the
        transaction that files the photo, so a change made while it was measured is refused too.

        Two mistakes are stored only when confirmed: the same photo (same sha256, or the same photo
        with other metadata) already filed under another visit — of this or another patient — or
        twice in one area of a visit (:class:`DuplicatePhoto`; confirm with ``allow_duplicate=True``;
        the same face photo for several areas of one visit is not a duplicate), and a photo whose own
        capture date (EXIF) is more than :data:`CAPTURE_DATE_TOLERANCE_DAYS` days from the visit's date
        (:class:`CaptureDateMismatch`; ``allow_date_mismatch=True``). Adding the very same photo to the
        same visit, area and view again stores nothing and returns the stored one (``duplicate``).

        Raises
        ------
        PhotoError
            For a file that is not a usable photo (nothing is stored).
        StaleSelection, DuplicatePhoto, CaptureDateMismatch, NotFound, InvalidInput, PermissionDenied
        """
        if consent not in CONSENT_LEVELS:
            raise InvalidInput(f"Consent must be one of {', '.join(CONSENT_LEVELS)}.")
        view = validation.text(view, "The view", max_length=MAX_VIEW, required=True)
        expected = _expected(expect)
        with self._db() as db:
            target = self._filing_target(db, actor, session_id, area_id, expected)
            area = db.get(Area, area_id)
            session_date = target["session_date"]
            zone, region = zone_of(area.name), area_region(area)
        validation.text(actor.name, "The user name", max_length=MAX_NAME, required=True)
        data = _read_source(source) if not isinstance(source, Photo) else None
        photo = load_photo(data if data is not None else source)
        original_sha = photo.sha256
        existing = self._existing_photo(session_id, area_id, view, original_sha)
        if existing is not None:
            existing.duplicate = True
            return existing
        if not allow_date_mismatch:
            _check_capture_date(photo, session_date)
        clean, suffix = clean_bytes(photo, data)
        reencoded_lossily = suffix != ".png" and not (data is not None and _kept_as_is(photo))
        data = None  # the upload's bytes are no longer needed: a large photo keeps its memory for measuring
        if reencoded_lossily:
            # Re-encoded lossily for storage: measure the stored pixels, so rescoring reproduces every
            # number. (A PNG stores exactly ``photo.rgb``; an upright JPEG its own compressed data.)
            kept = {key: photo.metadata.get(key) for key in ("captured_at", "camera", "sha256", "format")}
            photo = None  # free the full-resolution pixels before decoding the stored copy
            photo = load_photo(clean).with_metadata(**kept)
        original_size = photo.size
        photo = self._measuring_copy(photo)  # all measuring needs: a large photo's full pixels can go
        self.store.check_space(len(clean))  # a full disk is refused before minutes of measuring
        file_name, stored_sha = self.store.name_for(clean, suffix)
        if not allow_duplicate:
            self._refuse_duplicate(target, view, original_sha, stored_sha)
        area_lock = self._area_lock(area_id)
        for attempt in range(5):
            # After a first try lost to a new baseline, measure again holding the area: this process's
            # other uploads to it then wait instead of overtaking this one again and again. (Another
            # process still can, but each time the baseline moves to an earlier session, so this ends.)
            with area_lock if attempt else contextlib.nullcontext():
                baseline = self._current_baseline(area_id)
                becomes_baseline = baseline is None or session_date < baseline["session_date"]
                outcome = self._process(photo, None if becomes_baseline else baseline, zone, region)
                issues = [issue.to_dict() for issue in outcome.quality]
                claims = self._claim([file_name])  # doctor --repair leaves the file alone until its row commits
                try:
                    self.store.put(clean, suffix)
                    stored = self._commit_photo(
                        actor, session_id, area_id, view, photo, issues, outcome, file_name, stored_sha,
                        consent, baseline_used=baseline, becomes_baseline=becomes_baseline, original_size=original_size,
                        claims=claims, target=target,
                    )  # fmt: skip
                except _BaselineChanged:
                    self._release(claims)
                    continue  # another photo became this area's baseline meanwhile: measure again
                except IntegrityError:
                    self._release(claims)
                    existing = self._existing_photo(session_id, area_id, view, original_sha)
                    if existing is None:
                        self._abandon_file(file_name)
                        raise
                    existing.duplicate = True
                    return existing
                except BaseException:
                    self._release(claims)
                    self._abandon_file(file_name)
                    raise
                if outcome.photo is not None:
                    self._remember(stored.id, _measurement(stored, outcome))
                if stored.is_baseline and outcome.scored:
                    # Follow-ups will need the measured baseline (normalised, with its yardstick): keep it.
                    self._keep_baseline(stored.file_name, outcome.baseline)
                return stored
        raise RecordsError("The area's baseline kept changing while this photo was added; please try again.")

    def _existing_photo(self, session_id, area_id, view, original_sha) -> PhotoView | None:
        with self._db() as db:
            record = db.scalar(
                select(PhotoRecord).where(
                    PhotoRecord.session_id == session_id,
                    PhotoRecord.area_id == area_id,
                    PhotoRecord.view == view,
                    PhotoRecord.original_sha256 == original_sha,
                )
            )
            return self._photo_view(db, record) if record else None

    def _filing_target(self, db: Session, actor: Actor, session_id: str, area_id: str, expected: dict) -> dict:
        """Where a photo is to be filed (checked: the actor may, the visit and area exist, belong to one
        patient and are what the user was shown), as a dict :meth:`_commit_photo` checks again."""
        try:
            session = self._owned(db, actor, "update", TreatmentSession, session_id, "session")
        except NotFound:
            if not expected:
                raise
            raise StaleSelection(f"The visit you chose ({_visit_words(expected)}) no longer exists: it was deleted "
                                 "meanwhile. Nothing was filed; choose the visit again.") from None  # fmt: skip
        area = db.get(Area, area_id) if validation.is_id(area_id) else None
        if area is None:
            if not expected:
                raise NotFound(f"No area with id {area_id!r}.")
            raise StaleSelection(f"The area you chose ({expected.get('area', 'unnamed')}) no longer exists: it was "
                                 "deleted meanwhile. Nothing was filed; choose the area again.")  # fmt: skip
        if area.patient_id != session.patient_id:
            raise InvalidInput("The area and the session belong to different patients.")
        target = {"session_id": session.id, "area_id": area.id, "patient_id": session.patient_id,
                  "session_date": session.date, "treatment": session.treatment, "area": area.name}  # fmt: skip
        _check_expected(target, expected)
        return target

    def _refuse_duplicate(self, target: dict, view: str, original_sha: str, stored_sha: str) -> None:
        """:class:`DuplicatePhoto` when this photo is already filed under another visit (of any patient) or
        under another view of the same area and visit."""
        from sqlalchemy import or_

        with self._db() as db:
            rows = db.execute(
                select(PhotoRecord.session_id, PhotoRecord.area_id, PhotoRecord.view, TreatmentSession.date,
                       TreatmentSession.patient_id, Area.name, Patient.code)  # fmt: skip
                .join(TreatmentSession, PhotoRecord.session_id == TreatmentSession.id)
                .join(Area, PhotoRecord.area_id == Area.id)
                .join(Patient, TreatmentSession.patient_id == Patient.id)
                .where(or_(PhotoRecord.original_sha256 == original_sha, PhotoRecord.stored_sha256 == stored_sha))
                .order_by(TreatmentSession.date)
            ).all()
        clashes = [
            row for row in rows
            if row.session_id != target["session_id"] or (row.area_id == target["area_id"] and row.view != view)
        ]  # fmt: skip
        if not clashes:
            return
        places = []
        for row in clashes[:3]:
            whose = "this patient" if row.patient_id == target["patient_id"] else f"patient {row.code}"
            places.append(f"{whose}, {row.name}, visit of {row.date.isoformat()}")
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        raise DuplicatePhoto(
            f"This photo is already in the record ({'; '.join(places)}{more}). Filed again it would be measured "
            "as a new photo and counted as progress. Nothing was stored; add it only if it really belongs here "
            "too (confirm the duplicate).",
            matches=[(row.code, row.name, row.date) for row in clashes],
        )  # fmt: skip

    def _area_lock(self, area_id: str) -> threading.RLock:
        """This process's lock on an area's photos: held to commit one, and by an upload that has to
        measure again because another photo became the baseline meanwhile (see :meth:`add_photo`)."""
        with self._cache_lock:
            return self._area_locks.setdefault(area_id, threading.RLock())

    def _current_baseline(self, area_id: str) -> dict | None:
        with self._db() as db:
            area = self._get(db, Area, area_id, "area")
            if not area.baseline_photo_id:
                return None
            record = db.get(PhotoRecord, area.baseline_photo_id)
            if record is None:
                return None
            return {
                "id": record.id,
                "file_name": record.file_name,
                "thresholds": dict(record.thresholds),
                "session_date": record.session.date,
            }

    @staticmethod
    def _measuring_copy(photo: Photo) -> Photo:
        """The photo at :data:`MEASURE_SIZE` (or as is when smaller), metadata kept."""
        return measuring_copy(photo, DEFAULT_CONFIG.measure_size)

    def _keep_baseline(self, file_name: str, baseline: Baseline, *, on_disk: bool = True) -> None:
        """Keep a measured baseline in memory and (``on_disk``, unless it is there) in the data folder, where
        the next follow-up finds it whichever process measures it (:mod:`~skintrack.records.baseline_files`)."""
        key = (file_name, baseline.zone, roi_hash(baseline.roi))
        with self._cache_lock:
            self._baseline_cache[key] = baseline
        if on_disk and not self.baselines.has(file_name, baseline.zone, baseline.roi, baseline.config):
            self.baselines.save(file_name, baseline)

    def _measured_baseline(self, file_name: str, zone: str | None, region: Any = None) -> Baseline | Comparison:
        """The area's baseline as measured, with what every follow-up needs from it analysed (its
        neutral references to normalise by, its features to align onto), or why it cannot be measured.

        Cached: done once per baseline, zone and region. A caller arriving while it is being done
        (e.g. from :meth:`prepare_baseline` in the background) waits instead of repeating it."""
        key = (file_name, zone, roi_hash(region))
        with self._cache_lock:
            lock = self._baseline_locks.setdefault(key, threading.Lock())
        with lock:
            with self._cache_lock:
                baseline = self._baseline_cache.get(key)
            if baseline is None:
                # Measured before, maybe by another process or server: the same numbers, without the work.
                baseline = self.baselines.load(file_name, zone, region, DEFAULT_CONFIG)
                if baseline is not None:
                    self._keep_baseline(file_name, baseline, on_disk=False)
            if baseline is None:
                measured = measure_baseline(self._measuring_copy(load_photo(self.store.get(file_name))), zone=zone, roi=region)
                if not measured.scored:
                    return measured
                baseline = measured.baseline
                self._keep_baseline(file_name, baseline)
            # Also for a baseline kept when it was added: its analysis for follow-ups may not be done yet.
            self._ready(baseline)
            return baseline

    @staticmethod
    def _ready(baseline: Baseline) -> None:
        """Analyse a measured baseline for follow-ups ahead of time (same numbers, only sooner; each
        part is remembered per photo object, so a second call costs nothing)."""
        find_neutral_references(baseline.photo, baseline.config.normalize)
        prepare_reference(baseline.photo, baseline.config.align)

    def prepare_baseline(self, actor: Actor, area_id: str) -> bool:
        """Analyse the area's baseline ahead of its next follow-up (the app calls this, in the
        background, while the provider picks the photo): the upload then only measures the new photo.
        Returns whether the area has a baseline. Same numbers either way; only sooner."""
        with self._db() as db:
            area = self._owned(db, actor, "read", Area, area_id, "area")
            zone, region = zone_of(area.name), area_region(area)
        baseline = self._current_baseline(area_id)
        if baseline is None:
            return False
        self._measured_baseline(baseline["file_name"], zone, region)
        return True

    def _process(self, photo: Photo, baseline: dict | None, zone: str | None = None, region: Any = None) -> Comparison:
        """Measure a photo through the one pipeline: as the area's baseline, or against it.

        When the area is named after a face zone ("left cheek", "forehead", …) and the photo
        shows a face, only that zone is measured; ``region`` is the area's region of interest,
        drawn on the baseline (follow-ups are aligned onto it, then measured where they cover it)."""
        if baseline is None:
            return measure_baseline(photo, zone=zone, roi=region)
        return compare(self._measured_baseline(baseline["file_name"], zone, region), photo)

    def _commit_photo(
        self, actor, session_id, area_id, view, photo, issues, outcome, file_name, stored_sha, consent,
        *, baseline_used, becomes_baseline, original_size, claims=(), target=None,
    ) -> PhotoView:  # fmt: skip
        with self._area_lock(area_id), self._db() as db:
            # Lock the area row (SQLite's BEGIN IMMEDIATE already holds the write lock), so two
            # photos never both become the baseline or miss the baseline the other set.
            area = db.get(Area, area_id, with_for_update=True)
            if target is not None:  # the visit and area are still the ones chosen (not deleted or changed meanwhile)
                session = db.get(TreatmentSession, session_id)
                now = None if session is None or area is None else {
                    "session_date": session.date, "treatment": session.treatment, "area": area.name}  # fmt: skip
                if now is None or any(now[key] != target[key] for key in EXPECT_KEYS):
                    raise StaleSelection(_changed_words(target, now))
            if area.baseline_photo_id != (baseline_used["id"] if baseline_used else None):
                raise _BaselineChanged()
            if not becomes_baseline and area.baseline_photo_id is None:
                raise _BaselineChanged()
            result = outcome.score
            captured = photo.metadata.get("captured_at")
            record = PhotoRecord(
                session_id=session_id,
                area_id=area_id,
                view=view,
                file_name=file_name,
                stored_sha256=stored_sha,
                original_sha256=photo.sha256,
                captured_at=_parse_datetime(captured),
                width=original_size[0],
                height=original_size[1],
                source_format=str(photo.metadata.get("format")),
                camera=photo.metadata.get("camera"),
                status=outcome.status,
                status_reason=_status_reason(outcome),
                normalization=_normalization_record(outcome),
                alignment=plain(outcome.alignment.summary() if outcome.alignment is not None else {}),
                quality=issues,
                thresholds=plain(result.thresholds) if result is not None else {},
                consent=consent,
                created_by=actor.name,
            )
            db.add(record)
            db.flush()
            if result is not None:
                _add_scores(db, record, result)
            self._audit(db, actor, "upload", patient_id=area.patient_id, target=record.id,
                        detail=f"{area.name}, {outcome.status}")  # fmt: skip
            if becomes_baseline and outcome.scored:
                previous = area.baseline_photo_id
                area.baseline_photo_id = record.id
                db.flush()
                if previous:
                    self._rescore_area(db, area, force=True)
            self._settle_claims(db, list(claims))
            return self._photo_view(db, record)

    def photo_bytes(self, actor: Actor, photo_id: str) -> bytes:
        """The stored file (no identifying metadata)."""
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            file_name = record.file_name
        return self.store.get(file_name)

    def load_photo(self, actor: Actor, photo_id: str) -> Photo:
        """The stored photo, decoded."""
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            file_name = record.file_name
        return load_photo(self.store.get(file_name))

    def measurement(self, actor: Actor, photo_id: str) -> "Measurement":
        """A stored photo as it was measured: normalised, aligned onto the baseline, and its
        :class:`~skintrack.Score` with maps for overlays (the same numbers as stored).

        Kept in memory for the last photos added or asked for; otherwise recomputed.
        """
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            view = self._photo_view(db, record)
        with self._cache_lock:
            cached = self._measured.get(photo_id)
        if cached is not None and cached.photo.measurement_key == view.measurement_key:
            return Measurement(view, cached.image, cached.score, cached.alignment)
        baseline = self._current_baseline(view.area_id)
        photo = self._measuring_copy(load_photo(self.store.get(view.file_name)))
        is_baseline = baseline is None or baseline["id"] == view.id
        with self._db() as db:
            region = area_region(db.get(Area, view.area_id))
        outcome = self._process(photo, None if is_baseline else baseline, zone_of(view.area), region)
        if is_baseline and outcome.scored:
            self._keep_baseline(view.file_name, outcome.baseline)
        result = _measurement(view, outcome)
        self._remember(photo_id, result)
        return result

    def _remember(self, photo_id: str, measured: "Measurement") -> None:
        with self._cache_lock:
            self._measured[photo_id] = measured

    def baseline_photo(self, actor: Actor, area_id: str) -> Photo | None:
        """The area's baseline photo, normalised (what follow-ups are aligned to)."""
        with self._db() as db:
            self._owned(db, actor, "read", Area, area_id, "area")
        baseline = self._current_baseline(area_id)
        if not baseline:
            return None
        with self._db() as db:
            area = db.get(Area, area_id)
            zone, region = zone_of(area.name), area_region(area)
        measured = self._measured_baseline(baseline["file_name"], zone, region)
        return measured.photo if isinstance(measured, Baseline) else None

    def list_photos(self, actor: Actor, patient_id: str, area_id: str | None = None) -> list[PhotoView]:
        """A patient's photos, oldest session first."""
        self.authorize(actor, "read", patient_id)
        if not validation.is_id(patient_id) or (area_id and not validation.is_id(area_id)):
            return []
        with self._db() as db:
            query = (
                select(PhotoRecord)
                .join(TreatmentSession, PhotoRecord.session_id == TreatmentSession.id)
                .where(TreatmentSession.patient_id == patient_id)
            )
            if area_id:
                query = query.where(PhotoRecord.area_id == area_id)
            records = db.scalars(query.order_by(TreatmentSession.date, PhotoRecord.created_at)).all()
            return [self._photo_view(db, r) for r in records]

    def get_photo(self, actor: Actor, photo_id: str) -> PhotoView:
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            return self._photo_view(db, record)

    def delete_photo(self, actor: Actor, photo_id: str) -> None:
        """Remove a photo (e.g. to retake it). If it was the area's baseline, the next
        photo becomes the baseline and the area is measured again against it."""
        with self._db() as db:
            record = self._owned(db, actor, "update", PhotoRecord, photo_id, "photo")
            area = db.get(Area, record.area_id)
            file_name = record.file_name
            was_baseline = area.baseline_photo_id == record.id
            self._audit(db, actor, "delete_photo", patient_id=area.patient_id, target=record.id,
                        detail=area.name + (" (was the baseline)" if was_baseline else ""))  # fmt: skip
            db.delete(record)
            db.flush()
            if was_baseline:
                area.baseline_photo_id = None
                self._rescore_area(db, area, force=True)
        self._discard_files([file_name])  # unless another row (or a photo being added) uses it

    def replace_photo(self, actor: Actor, photo_id: str, source: Any, *, allow_duplicate: bool = False,
                      allow_date_mismatch: bool = False) -> PhotoView:  # fmt: skip
        """Retake: store the new photo for the same session, area and view, then drop the old one.

        The old photo stays until the new one is safely stored and measured; a
        bad new file leaves everything as it was. The retake is checked as :meth:`add_photo` checks a photo
        (the same confirmations for a duplicate or a far-off capture date).
        """
        with self._db() as db:
            self._owned(db, actor, "update", PhotoRecord, photo_id, "photo")
        old = self.get_photo(actor, photo_id)
        new = self.add_photo(actor, old.session_id, old.area_id, source, view=old.view, consent=old.consent,
                             expect={"session_date": old.session_date, "treatment": old.treatment, "area": old.area},
                             allow_duplicate=allow_duplicate, allow_date_mismatch=allow_date_mismatch)  # fmt: skip
        if new.id != old.id:
            self.delete_photo(actor, photo_id)
            new = self.get_photo(actor, new.id)
        return new

    def set_consent(self, actor: Actor, photo_id: str, consent: str | None = None, *, withdrawn: bool | None = None) -> PhotoView:
        """Change a photo's consent level (record / teaching / publication) or withdraw it.

        A withdrawn photo stays in the clinical record but never leaves it: it is
        left out of teaching and publication exports and of the patient portal.
        """
        if consent is not None and consent not in CONSENT_LEVELS:
            raise InvalidInput(f"Consent must be one of {', '.join(CONSENT_LEVELS)}.")
        with self._db() as db:
            record = self._owned(db, actor, "update", PhotoRecord, photo_id, "photo")
            before = (record.consent, record.consent_withdrawn_at is not None)
            if consent is not None:
                record.consent = consent
            if withdrawn is not None:
                record.consent_withdrawn_at = utcnow() if withdrawn else None
            after = (record.consent, record.consent_withdrawn_at is not None)
            if after != before:
                self._audit(db, actor, "consent_change", patient_id=_patient_of_record(db, record), target=record.id,
                            detail=f"{_consent_words(*before)} → {_consent_words(*after)}")  # fmt: skip
            return self._photo_view(db, record)

    def _photo_view(self, db: Session, record: PhotoRecord) -> PhotoView:
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
            measured=_measured_part(scores[0].provenance if scores else None, region),
            unmeasured=unmeasured_words(scores[0].provenance) if any(s.value is None for s in scores) else "",
            partly_measured=partly_measured_words(scores[0].provenance) if scores else "",
        )

    # ------------------------------------------------------------------ scores

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
                count += self._rescore_area(db, db.get(Area, area_id), force=force)
        if count:
            self._audit_later(actor, "rescore", patient_id=patient_id, detail=f"{count} photos measured again")
        return count

    def _rescore_area(self, db: Session, area: Area, *, force: bool) -> int:
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
        with self._cache_lock:
            self._measured.clear()
        # The current baseline first among the photos of its day; earlier photos are tried first.
        records = sorted(records, key=lambda r: (r.session.date, r.id != area.baseline_photo_id))
        zone, region = zone_of(area.name), area_region(area)
        baseline_info = None
        drawn_on = (area.roi or {}).get("photo_id") if region is not None else None
        area.baseline_photo_id = None
        for record in records:
            photo = self._measuring_copy(load_photo(self.store.get(record.file_name)))
            # The region was drawn on one photo: it applies when that photo is (still) the baseline.
            used = region if baseline_info is not None or record.id == drawn_on else None
            outcome = self._process(photo, baseline_info, zone, used)
            for old in list(record.scores):
                db.delete(old)
            db.flush()
            record.status, record.status_reason = outcome.status, _status_reason(outcome)
            record.normalization = _normalization_record(outcome)
            record.alignment = plain(outcome.alignment.summary() if outcome.alignment is not None else {})
            record.quality = [issue.to_dict() for issue in outcome.quality]
            record.thresholds = {}
            if outcome.score is not None:
                _add_scores(db, record, outcome.score)
            if baseline_info is None and outcome.scored:
                record.thresholds = plain(outcome.score.thresholds)
                area.baseline_photo_id = record.id
                self._keep_baseline(record.file_name, outcome.baseline, on_disk=False)  # not inside the transaction
                region = used
                baseline_info = {
                    "id": record.id,
                    "file_name": record.file_name,
                    "thresholds": dict(record.thresholds),
                    "session_date": record.session.date,
                }
        db.flush()
        return len(records)


class _BaselineChanged(Exception):
    pass


def _expected(expect: dict | None) -> dict:
    """``expect`` checked: known keys, a date as a date."""
    if not expect:
        return {}
    unknown = set(expect) - set(EXPECT_KEYS)
    if unknown:
        raise InvalidInput(f"expect takes {', '.join(EXPECT_KEYS)}, not {', '.join(sorted(unknown))}.")
    expected = {key: value for key, value in expect.items() if value is not None}
    if "session_date" in expected:
        expected["session_date"] = _parse_date(expected["session_date"])
    return expected


def _visit_words(visit: dict) -> str:
    date = visit.get("session_date")
    words = date.isoformat() if isinstance(date, dt.date) else "unknown date"
    if visit.get("treatment"):
        words += f", {visit['treatment']}"
    if visit.get("area"):
        words += f", {visit['area']}"
    return words


def _check_expected(target: dict, expected: dict) -> None:
    if any(target[key] != value for key, value in expected.items()):
        shown = {key: expected.get(key, target[key]) for key in EXPECT_KEYS}
        raise StaleSelection(_changed_words(shown, target))


def _changed_words(chosen: dict, now: dict | None) -> str:
    if now is None:
        return (f"The visit or area you chose ({_visit_words(chosen)}) was deleted meanwhile. Nothing was filed; "
                "choose where the photo belongs again.")  # fmt: skip
    return (f"The visit you chose ({_visit_words(chosen)}) was changed meanwhile: it is now {_visit_words(now)}. "
            "Nothing was filed; check the visit and add the photo again.")  # fmt: skip


def _check_capture_date(photo: Photo, visit_date: dt.date) -> None:
    """:class:`CaptureDateMismatch` when the photo's own capture date is far from the visit's date."""
    captured = photo.metadata.get("captured_at")
    if not captured:
        return
    try:
        day = dt.datetime.fromisoformat(str(captured)).date()  # the camera's local day, as it wrote it
    except ValueError:
        return
    days = abs((day - visit_date).days)
    if days > CAPTURE_DATE_TOLERANCE_DAYS:
        raise CaptureDateMismatch(
            f"This photo was taken on {day.isoformat()} (its own date), {days} days from the visit of "
            f"{visit_date.isoformat()}: it may belong to another visit. Nothing was stored; add it to this visit "
            "only if it belongs here (confirm the date), e.g. when the camera's clock is wrong.",
            captured_on=day, visit_date=visit_date,
        )  # fmt: skip


def _kept_as_is(photo: Photo) -> bool:
    """True when storage keeps the photo's own compressed data (an upright JPEG, metadata removed)."""
    return photo.metadata.get("format") == "JPEG" and photo.metadata.get("orientation", 1) == 1


# --------------------------------------------------------------------------- helpers


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


def _measured_part(provenance: dict | None, region: Region | None) -> dict:
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


def _status_reason(outcome: Comparison) -> str:
    if outcome.status != "scored":
        return outcome.reason
    return "baseline of this area" if outcome.role == "baseline" else "measured against the baseline"


def _normalization_record(outcome: Comparison) -> dict:
    """What the light correction did, plus the engine that decided (a photo without scores needs it
    too: :meth:`SessionsMixin.rescore` measures again what an older engine blocked or refused)."""
    engine = {"version": outcome.provenance.get("engine_version"), "settings_hash": outcome.provenance.get("settings_hash")}
    return plain({**outcome.normalization, "engine": engine})


def _measured_with(record: PhotoRecord) -> tuple[str | None, str | None]:
    """(engine version, settings hash) a stored photo was last measured with."""
    if record.scores:
        return record.scores[0].engine_version, record.scores[0].settings_hash
    engine = (record.normalization or {}).get("engine") or {}
    return engine.get("version"), engine.get("settings_hash")


def _measurement(view: PhotoView, outcome: Comparison) -> Measurement:
    return Measurement(view, outcome.photo, outcome.score, outcome.alignment, outcome)


def _add_scores(db: Session, record: PhotoRecord, result) -> None:
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


def _visit(patient_id: str, date: dt.date, treatment: str) -> tuple:
    return (
        TreatmentSession.patient_id == patient_id,
        TreatmentSession.date == date,
        TreatmentSession.treatment == treatment,
    )


def _parse_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD).") from None


def _parse_datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def _patient_of_record(db: Session, record: PhotoRecord) -> str:
    return db.get(TreatmentSession, record.session_id).patient_id


def _consent_words(level: str, withdrawn: bool) -> str:
    return f"{level}{' (withdrawn)' if withdrawn else ''}"


def _session_view(session: TreatmentSession) -> SessionView:
    return SessionView(
        session.id, session.patient_id, session.date, session.treatment, dict(session.settings or {}),
        session.provider, session.notes,
    )  # fmt: skip
