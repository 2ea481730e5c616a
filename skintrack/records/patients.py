"""Patients and their treated areas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import validation
from .db import Area, Patient, PhotoRecord, User
from .errors import InvalidInput
from .mapping import patient_view
from .validation import MAX_CODE, MAX_NAME, MAX_NOTES
from .views import Actor, AreaView, PatientView

__all__ = ["PatientsMixin", "area_name", "area_view"]


class PatientsMixin:
    """Create, find, edit and delete patients; add and list their treated areas."""

    def add_patient(
        self,
        actor: Actor,
        code: str,
        display_name: str | None = None,
        *,
        birth_year: int | None = None,
        fitzpatrick: int | None = None,
        notes: str = "",
    ) -> PatientView:
        """Create a patient. ``code`` is the clinic's unique patient code."""
        self.authorize(actor, "create")
        code = _code(code)
        display_name = _display_name(display_name) or code
        notes = validation.text(notes, "Notes", max_length=MAX_NOTES, multiline=True)
        birth_year, fitzpatrick = self._check_patient_fields(birth_year, fitzpatrick)
        author = _author(actor)
        try:
            with self._db() as db:
                if db.scalar(select(Patient).where(Patient.code == code)):
                    raise InvalidInput(f"A patient with code {code!r} already exists.")
                patient = Patient(
                    code=code,
                    display_name=display_name,
                    birth_year=birth_year,
                    fitzpatrick=fitzpatrick,
                    notes=notes,
                    created_by=author,
                )
                db.add(patient)
                db.flush()
                self._audit(db, actor, "create_patient", patient_id=patient.id, patient_code=patient.code)
                return patient_view(db, patient)
        except IntegrityError:  # created by someone else meanwhile (the code is unique)
            raise InvalidInput(f"A patient with code {code!r} already exists.") from None

    @staticmethod
    def _check_patient_fields(birth_year, fitzpatrick) -> tuple[int | None, int | None]:
        this_year = dt.date.today().year
        return (
            validation.integer(birth_year, "Birth year", 1900, this_year),
            validation.integer(fitzpatrick, "Fitzpatrick type", 1, 6),
        )

    def update_patient(self, actor: Actor, patient_id: str, **changes: Any) -> PatientView:
        allowed = {"display_name", "birth_year", "fitzpatrick", "notes", "code"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}.")
        self.authorize(actor, "update", patient_id)
        checked = dict(changes)
        years = self._check_patient_fields(changes.get("birth_year"), changes.get("fitzpatrick"))
        for key, value in zip(("birth_year", "fitzpatrick"), years):
            if key in checked:
                checked[key] = value
        if "code" in checked:
            checked["code"] = _code(checked["code"])
        if "display_name" in checked:
            checked["display_name"] = _display_name(checked["display_name"])
            if not checked["display_name"]:
                raise InvalidInput("The display name is required.")
        if "notes" in checked:
            notes = checked["notes"].strip() if isinstance(checked["notes"], str) else checked["notes"]
            checked["notes"] = validation.text(notes, "Notes", max_length=MAX_NOTES, multiline=True)
        try:
            with self._db() as db:
                patient = self._get(db, Patient, patient_id, "patient")
                if "code" in checked:
                    clash = db.scalar(select(Patient).where(Patient.code == checked["code"], Patient.id != patient_id))
                    if clash:
                        raise InvalidInput(f"Patient code {checked['code']!r} is already used.")
                old_code = patient.code
                for key, value in checked.items():
                    setattr(patient, key, value)
                db.flush()
                detail = ", ".join(sorted(checked)) + (f" (code was {old_code})" if patient.code != old_code else "")
                self._audit(db, actor, "update_patient", patient_id=patient.id, patient_code=patient.code, detail=detail)
                return patient_view(db, patient)
        except IntegrityError:
            raise InvalidInput(f"Patient code {checked.get('code')!r} is already used.") from None

    def get_patient(self, actor: Actor, patient_id: str) -> PatientView:
        self.authorize(actor, "read", patient_id)
        with self._db() as db:
            return patient_view(db, self._get(db, Patient, patient_id, "patient"))

    def find_patient(self, actor: Actor, code: str) -> PatientView | None:
        """The patient with this code, or ``None`` (for providers; anyone else gets the same
        :class:`PermissionDenied` for a code that does not exist as for another patient's)."""
        searchable = isinstance(code, str) and len(code) <= 4 * MAX_CODE
        if searchable:
            try:
                code = validation.patient_code(code)  # the form codes are stored in
            except InvalidInput:
                searchable = False  # no stored code can match
        with self._db() as db:
            patient = db.scalar(select(Patient).where(Patient.code == code)) if searchable else None
            if patient is None:
                if isinstance(actor, Actor) and actor.is_staff:
                    self.authorize(actor, "read")
                    return None
                self.authorize(actor, "read", None)  # refused, with the words used for another patient's code
            self.authorize(actor, "read", patient.id)
            return patient_view(db, patient)

    def list_patients(self, actor: Actor, search: str = "") -> list[PatientView]:
        """Patients whose code or name contains ``search`` (case-insensitive), newest activity first."""
        if isinstance(actor, Actor) and actor.role == "patient":
            self.authorize(actor, "read", actor.patient_id)
            return [self.get_patient(actor, actor.patient_id)] if actor.patient_id else []
        self.authorize(actor, "list")
        search = validation.text(search, "The search", max_length=MAX_NAME)
        with self._db() as db:
            query = select(Patient)
            if search:
                pattern = f"%{search.strip().lower()}%"
                query = query.where(func.lower(Patient.code).like(pattern) | func.lower(Patient.display_name).like(pattern))
            views = [patient_view(db, p) for p in db.scalars(query)]
        return sorted(views, key=lambda v: (v.last_session or dt.date.min, v.code), reverse=True)

    def delete_patient(self, actor: Actor, patient_id: str) -> None:
        """Delete a patient with all their sessions, photos and scores, and the photo files
        no other record uses."""
        self.authorize(actor, "delete", patient_id)
        with self._db() as db:
            patient = self._get(db, Patient, patient_id, "patient")
            area_ids = [a.id for a in patient.areas]
            files = set(db.scalars(select(PhotoRecord.file_name).where(PhotoRecord.area_id.in_(area_ids))))
            for username in db.scalars(select(User.username).where(User.patient_id == patient.id)):
                self._audit(db, actor, "account_deleted", patient_id=patient.id, patient_code=patient.code,
                            target=username, detail="with the patient's record")  # fmt: skip
            self._audit(db, actor, "delete_patient", patient_id=patient.id, patient_code=patient.code,
                        detail=f"{len(files)} photo files")  # fmt: skip
            db.delete(patient)
            db.flush()
        self._files.discard(files)  # after the commit (a failed delete never loses a file); shared ones stay

    def add_area(self, actor: Actor, patient_id: str, name: str) -> AreaView:
        """A treated area of a patient (e.g. "left cheek"); returns the existing one of that name."""
        self.authorize(actor, "update", patient_id)
        name = area_name(name)
        for _attempt in range(2):
            try:
                with self._db() as db:
                    self._get(db, Patient, patient_id, "patient")
                    query = select(Area).where(Area.patient_id == patient_id, func.lower(Area.name) == name.lower())
                    area = db.scalar(query)
                    if area is None:
                        area = Area(patient_id=patient_id, name=name)
                        db.add(area)
                        db.flush()
                        self._audit(db, actor, "add_area", patient_id=patient_id, target=name)
                    return area_view(area)
            except IntegrityError:
                continue  # added by someone else meanwhile: the next attempt finds it
        raise InvalidInput(f"The area {name!r} could not be added; please try again.")

    def list_areas(self, actor: Actor, patient_id: str) -> list[AreaView]:
        self.authorize(actor, "read", patient_id)
        if not validation.is_id(patient_id):
            return []
        with self._db() as db:
            areas = db.scalars(select(Area).where(Area.patient_id == patient_id).order_by(Area.name))
            return [area_view(a) for a in areas]


def area_view(area: Area) -> AreaView:
    return AreaView(area.id, area.patient_id, area.name, area.baseline_photo_id, dict(area.roi) if area.roi else None)


def area_name(name: Any) -> str:
    """A treated area's name, checked: one line, spaces collapsed, not empty."""
    name = " ".join(validation.text(name, "The area name", max_length=4 * MAX_NAME, multiline=True).split())
    if not name:
        raise InvalidInput("An area needs a name, e.g. 'left cheek'.")
    return validation.text(name, "The area name", max_length=MAX_NAME)


def _code(code: Any) -> str:
    return validation.patient_code(code)


def _display_name(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else name
    return validation.text(name, "The display name", max_length=MAX_NAME)


def _author(actor: Actor) -> str:
    """The acting user's name as recorded with a change."""
    return validation.text(actor.name, "The user name", max_length=MAX_NAME, required=True)
