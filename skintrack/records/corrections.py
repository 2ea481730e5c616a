"""Correcting the record: move or delete photos, edit or delete visits and areas, the treated region.

Every correction checks the acting user (:meth:`~skintrack.records.Records.authorize`)
and writes its audit line in the same transaction as the change. What a
correction changes about the measurements is redone at once, in that
transaction: an area's baseline is always the photo of its earliest visit
(that is not blocked), and when the baseline, the photos of an area, its name
(a face zone is measured by name) or its region change, the area is measured
again. Photo files are removed only after the change commits, and only when no
other row uses them.

:class:`Corrections` makes the changes; :class:`CorrectionsMixin` holds the
public methods, which check the actor and delete the files.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..comparison.compare import zone_of
from ..measure.roi import Region, RegionError
from . import validation
from .audit import add_line
from .db import TREATMENTS, Area, PhotoRecord, TreatmentSession
from .errors import InvalidInput
from .files import PhotoFiles
from .mapping import photo_view, session_view
from .patients import area_name, area_view
from .rescoring import Rescorer
from .validation import MAX_NAME, MAX_NOTES
from .versions import get_row
from .views import Actor, AreaView, PhotoView, SessionView

__all__ = ["Corrections", "CorrectionsMixin"]


class Corrections:
    """Changes to photos, visits and areas already in the record, with what they change in the measurements.

    Contract: each method changes rows its caller fetched (and checked the actor may change) inside the
    caller's transaction ``db``, writes its audit line there, and has the
    :class:`~skintrack.records.rescoring.Rescorer` re-pick the baselines and measure again what the change
    affects, in the same transaction (so a failure changes nothing). It checks no permission and deletes no
    file: a deletion returns the file names, for the caller to discard once the transaction committed.
    Stateless apart from the rescorer; safe from any thread.
    """

    def __init__(self, rescorer: Rescorer):
        self.rescorer = rescorer

    def move_photo(self, db: Session, actor: Actor, record: PhotoRecord, session_id: str | None,
                   area_id: str | None) -> PhotoView:  # fmt: skip
        """File ``record`` under another visit and/or area of the same patient."""
        old_session = db.get(TreatmentSession, record.session_id)
        old_area = db.get(Area, record.area_id)
        patient_id = old_session.patient_id
        session = get_row(db, TreatmentSession, session_id, "session") if session_id else old_session
        area = get_row(db, Area, area_id, "area") if area_id else old_area
        if session.patient_id != patient_id or area.patient_id != patient_id:
            raise InvalidInput("A photo can only be moved within its own patient's record.")
        if session.id == old_session.id and area.id == old_area.id:
            return photo_view(db, record)
        twin = db.scalar(
            select(PhotoRecord.id).where(
                PhotoRecord.session_id == session.id, PhotoRecord.area_id == area.id,
                PhotoRecord.view == record.view, PhotoRecord.original_sha256 == record.original_sha256,
            )
        )  # fmt: skip
        if twin:
            raise InvalidInput(f"The visit of {session.date.isoformat()} already has this photo of {area.name}.")
        detail = f"{old_session.date.isoformat()} {old_area.name} → {session.date.isoformat()} {area.name}"
        record.session = session
        record.area_id = area.id
        db.flush()
        add_line(db, actor, "move_photo", patient_id=patient_id, target=record.id, detail=detail)
        self.rescorer.settle_area(db, old_area, changed=old_area.id != area.id and old_area.baseline_photo_id == record.id)
        if area.id != old_area.id:
            self.rescorer.settle_area(db, area, changed=True)
        return photo_view(db, record)

    def update_session(self, db: Session, actor: Actor, session: TreatmentSession, changes: dict) -> SessionView:
        """Apply ``changes`` (checked values of the visit's fields) to ``session``."""
        changed = {key: value for key, value in changes.items() if getattr(session, key) != value}
        if not changed:
            return session_view(session)
        day, kind = changed.get("date", session.date), changed.get("treatment", session.treatment)
        clash = db.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == session.patient_id, TreatmentSession.date == day,
                TreatmentSession.treatment == kind, TreatmentSession.id != session.id,
            )
        )  # fmt: skip
        if clash:
            raise InvalidInput(f"A {kind} session on {day.isoformat()} is already recorded for this patient.")
        before = f"{session.date.isoformat()} {session.treatment}"
        old_settings = dict(session.settings or {})
        for key, value in changed.items():
            setattr(session, key, value)
        db.flush()
        what = ", ".join(sorted(changed))
        if "settings" in changed:  # the values too: a corrected needle depth must be traceable
            what += f" ({_settings_words(old_settings)} → {_settings_words(changed['settings'])})"
        add_line(db, actor, "update_session", patient_id=session.patient_id, target=session.id,
                 detail=f"{before}: {what}")  # fmt: skip
        if "date" in changed:
            area_ids = set(db.scalars(select(PhotoRecord.area_id).where(PhotoRecord.session_id == session.id)))
            for area in db.scalars(select(Area).where(Area.id.in_(area_ids))):
                self.rescorer.settle_area(db, area, changed=False)
        return session_view(session)

    def delete_session(self, db: Session, actor: Actor, session: TreatmentSession) -> tuple[int, set[str]]:
        """Delete ``session`` with its photos; returns how many photos went and their files."""
        photos = list(db.scalars(select(PhotoRecord).where(PhotoRecord.session_id == session.id)))
        files = {p.file_name for p in photos}
        area_ids = {p.area_id for p in photos}
        add_line(db, actor, "delete_session", patient_id=session.patient_id, target=session.id,
                 detail=f"{session.date.isoformat()} {session.treatment}, {len(photos)} photos")  # fmt: skip
        db.delete(session)
        db.flush()
        for area in db.scalars(select(Area).where(Area.id.in_(area_ids))):
            self.rescorer.settle_area(db, area, changed=False)
        return len(photos), files

    def rename_area(self, db: Session, actor: Actor, area: Area, name: str) -> AreaView:
        """Rename ``area`` to ``name`` (checked); measured again when that makes it another face zone (or none)."""
        if area.name == name:
            return area_view(area)
        clash = db.scalar(
            select(Area.id).where(Area.patient_id == area.patient_id, func.lower(Area.name) == name.lower(), Area.id != area.id)
        )
        if clash:
            raise InvalidInput(f"This patient already has an area called {name!r}.")
        old = area.name
        area.name = name
        db.flush()
        add_line(db, actor, "update_area", patient_id=area.patient_id, target=area.id, detail=f"{old} → {name}")
        if zone_of(old) != zone_of(name):
            self.rescorer.rescore_area(db, area, force=True)
        return area_view(area)

    def delete_area(self, db: Session, actor: Actor, area: Area) -> tuple[int, set[str]]:
        """Delete ``area`` with its photos; returns how many photos went and their files."""
        photos = list(db.scalars(select(PhotoRecord).where(PhotoRecord.area_id == area.id)))
        files = {p.file_name for p in photos}
        add_line(db, actor, "delete_area", patient_id=area.patient_id, target=area.id,
                 detail=f"{area.name}, {len(photos)} photos")  # fmt: skip
        for photo in photos:
            db.delete(photo)
        db.flush()
        db.delete(area)
        return len(photos), files

    def set_area_roi(self, db: Session, actor: Actor, area: Area, roi: dict | Region | None) -> AreaView:
        """Outline ``roi`` on the area's baseline (``None`` clears it) and measure the area again."""
        if roi is None:
            if area.roi is None:
                return area_view(area)
            area.roi = None
            db.flush()
            add_line(db, actor, "set_roi", patient_id=area.patient_id, target=area.id, detail="cleared: whole area")
            self.rescorer.rescore_area(db, area, force=True)
            return area_view(area)
        try:
            region = roi if isinstance(roi, Region) else Region.from_dict(roi)
        except RegionError as exc:
            raise InvalidInput(str(exc)) from None
        if not area.baseline_photo_id:
            raise InvalidInput("Add the area's first photo (its baseline) before outlining the region on it.")
        area.roi = {**region.to_dict(), "photo_id": area.baseline_photo_id}
        db.flush()
        add_line(db, actor, "set_roi", patient_id=area.patient_id, target=area.id,
                 detail=f"{region.shape}, {100 * region.area:.1f} % of the baseline, {region.digest}")  # fmt: skip
        self.rescorer.rescore_area(db, area, force=True)
        return area_view(area)


class CorrectionsMixin:
    """Moves, edits and deletions of photos, visits and areas; the region of interest of an area. Each checks
    the actor on the row it changes, then has ``self._corrections`` change it; files go after the commit."""

    _corrections: Corrections
    _files: PhotoFiles

    # ------------------------------------------------------------------ photos

    def move_photo(self, actor: Actor, photo_id: str, *, session_id: str | None = None, area_id: str | None = None) -> PhotoView:
        """File a photo under another visit and/or area of the same patient (e.g. one filed by mistake).

        The areas it leaves and joins get their baseline re-picked (the earliest visit's photo) and
        are measured again when it changed; a photo joining another area is measured against that
        area's baseline.
        """
        with self._db() as db:
            record = self._owned(db, actor, "update", PhotoRecord, photo_id, "photo")
            return self._corrections.move_photo(db, actor, record, session_id, area_id)

    # ------------------------------------------------------------------ visits

    def update_session(
        self,
        actor: Actor,
        session_id: str,
        *,
        date: dt.date | str | None = None,
        treatment: str | None = None,
        settings: dict | None = None,
        provider: str | None = None,
        notes: str | None = None,
    ) -> SessionView:
        """Correct a visit's date, treatment, settings, provider or notes (``None``: unchanged).

        A new date can make another photo the earliest of an area: its baseline is re-picked and
        the area measured again.
        """
        changes: dict = {}
        if date is not None:
            changes["date"] = validation.parse_date(date)
            if changes["date"] > dt.date.today():
                raise InvalidInput(f"The session date {changes['date'].isoformat()} is in the future.")
            if changes["date"].year < 1900:
                raise InvalidInput(f"The session date {changes['date'].isoformat()} is before 1900.")
        if treatment is not None:
            if treatment not in TREATMENTS:
                raise InvalidInput(f"Unknown treatment {treatment!r}; choose one of {', '.join(TREATMENTS)}.")
            changes["treatment"] = treatment
        if settings is not None:
            changes["settings"] = validation.settings(settings)
        if provider is not None:
            changes["provider"] = validation.text(provider, "The provider", max_length=MAX_NAME, required=True)
        if notes is not None:
            changes["notes"] = validation.text(notes, "Notes", max_length=MAX_NOTES, multiline=True)
        try:
            with self._db() as db:
                session = self._owned(db, actor, "update", TreatmentSession, session_id, "session")
                return self._corrections.update_session(db, actor, session, changes)
        except IntegrityError:
            raise InvalidInput("That visit is already recorded for this patient.") from None

    def delete_session(self, actor: Actor, session_id: str) -> int:
        """Delete a visit with its photos and their scores; returns how many photos went with it.

        Areas whose baseline was among them get the next earliest photo as baseline, measured again.
        """
        with self._db() as db:
            session = self._owned(db, actor, "delete", TreatmentSession, session_id, "session")
            count, files = self._corrections.delete_session(db, actor, session)
        self._files.discard(files)  # after the commit; a file another row uses stays
        return count

    # ------------------------------------------------------------------ areas

    def update_area(self, actor: Actor, area_id: str, name: str) -> AreaView:
        """Rename a treated area. A name that makes it a different face zone (or none) re-measures it."""
        name = area_name(name)
        try:
            with self._db() as db:
                area = self._owned(db, actor, "update", Area, area_id, "area")
                return self._corrections.rename_area(db, actor, area, name)
        except IntegrityError:
            raise InvalidInput(f"This patient already has an area called {name!r}.") from None

    def delete_area(self, actor: Actor, area_id: str) -> int:
        """Delete a treated area with all its photos and their scores; returns how many photos went."""
        with self._db() as db:
            area = self._owned(db, actor, "delete", Area, area_id, "area")
            count, files = self._corrections.delete_area(db, actor, area)
        self._files.discard(files)
        return count

    def set_area_roi(self, actor: Actor, area_id: str, roi: dict | Region | None) -> AreaView:
        """Outline the treated region on the area's baseline (``None`` clears it), and measure the area again.

        ``roi`` is ``{"shape": "rectangle" | "polygon", "points": [[x, y], ...]}`` with ``x, y`` as
        fractions of the baseline's width and height (:class:`skintrack.measure.roi.Region`). Follow-ups
        are aligned onto the baseline, so the region selects the same skin in each of them.
        """
        with self._db() as db:
            area = self._owned(db, actor, "update", Area, area_id, "area")
            return self._corrections.set_area_roi(db, actor, area, roi)


def _settings_words(settings: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(settings.items())) or "none"
