"""Photos in the record: adding one (the :class:`~skintrack.records.filing.Filing` files and measures it),
reading, listing, retaking and deleting them, and their consent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..comparison.compare import zone_of
from ..intake.photo import Photo, load_photo
from . import validation
from .db import CONSENT_LEVELS, Area, PhotoRecord, TreatmentSession, utcnow
from .errors import InvalidInput, NotFound
from .files import PhotoFiles
from .filing import Filing, expected_selection
from .mapping import area_region, photo_view
from .rescoring import Rescorer
from .validation import MAX_NAME, MAX_VIEW
from .views import Actor, PhotoView

__all__ = ["PhotosMixin"]


class PhotosMixin:
    """The records' public photo methods: each checks the actor, then reads or changes the rows itself or
    hands the photo to the filing (``self._filing``)."""

    _filing: Filing
    _rescorer: Rescorer
    _files: PhotoFiles

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
        capture date (EXIF) is more than :data:`~skintrack.records.filing.CAPTURE_DATE_TOLERANCE_DAYS` days from the visit's date
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
        expected = expected_selection(expect)
        with self._db() as db:
            try:
                session = self._owned(db, actor, "update", TreatmentSession, session_id, "session")
            except NotFound:
                if not expected:
                    raise
                session = None  # gone meanwhile: the intake says so in the words of what was chosen
            target = self._filing.target(db, session, area_id, expected)
            area = db.get(Area, area_id)
            zone, region = zone_of(area.name), area_region(area)
        validation.text(actor.name, "The user name", max_length=MAX_NAME, required=True)
        return self._filing.add(actor, target, zone, region, source, view=view, consent=consent,
                                allow_duplicate=allow_duplicate, allow_date_mismatch=allow_date_mismatch)  # fmt: skip

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
            return [photo_view(db, r) for r in records]

    def get_photo(self, actor: Actor, photo_id: str) -> PhotoView:
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            return photo_view(db, record)

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
                self._rescorer.rescore_area(db, area, force=True)
        self._files.discard([file_name])  # unless another row (or a photo being added) uses it

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
            return photo_view(db, record)


def _patient_of_record(db: Session, record: PhotoRecord) -> str:
    return db.get(TreatmentSession, record.session_id).patient_id


def _consent_words(level: str, withdrawn: bool) -> str:
    return f"{level}{' (withdrawn)' if withdrawn else ''}"
