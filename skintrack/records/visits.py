"""Visits (treatment sessions): recording one, finding the one of a day, listing a patient's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import validation
from .db import TREATMENTS, Patient, TreatmentSession
from .errors import InvalidInput
from .mapping import session_view
from .validation import MAX_NAME, MAX_NOTES
from .views import Actor, SessionView

__all__ = ["VisitsMixin"]


class VisitsMixin:
    """Visits (treatment sessions): adding, finding and listing them."""

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
        date = validation.parse_date(date)
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
                return session_view(session)
        except IntegrityError:  # the same visit added by someone else meanwhile (unique per date and treatment)
            raise InvalidInput(clash) from None

    def session_on(self, actor: Actor, patient_id: str, date: dt.date | str, treatment: str = "other", **details) -> SessionView:
        """The patient's session on ``date``, added (as ``treatment``, with ``details``) when there is none.

        Any session that day is used, whatever its treatment (the earliest
        recorded). Safe when several imports run at once: one adds the visit,
        the others get it.
        """
        self.authorize(actor, "update", patient_id)
        day = validation.parse_date(date)
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
            return [session_view(s) for s in sessions]

    def get_session(self, actor: Actor, session_id: str) -> SessionView:
        """One session (visit) by id."""
        with self._db() as db:
            session = self._owned(db, actor, "read", TreatmentSession, session_id, "session")
            return session_view(session)


def _visit(patient_id: str, date: dt.date, treatment: str) -> tuple:
    return (
        TreatmentSession.patient_id == patient_id,
        TreatmentSession.date == date,
        TreatmentSession.treatment == treatment,
    )
