"""The audit log: who did what, when, to which patient. Append-only.

Every change is logged in the same transaction as the change itself, so there
is no change without its line. Reads ("view a patient": a read by the same
person of the same patient within :data:`VIEW_EVENT_SECONDS` of a logged one
shares its line, so every read is within a minute of a line), refused requests
and failed log-ins are logged when the call ends. Every export (PDF report,
DICOM, teaching or publication set, patient archive, scores table, the audit
log itself) writes its own ``export`` line: who, what, which patient, for which
purpose (:meth:`AuditMixin.record_export`). The database refuses ``UPDATE`` on
the table and ``DELETE`` of any line younger than the retention period
(:data:`KEEP_DAYS`; :data:`NOISE_DAYS` for failed log-ins); only
:meth:`AuditMixin.prune_audit` (``skintrack audit prune``) deletes older ones.

Actions logged (``AuditEntry.action``):

=========================  ====================================================
log-in                     ``login``, ``login_failed``, ``lockout``, ``logout``
patients                   ``view_patient``, ``create_patient``, ``update_patient``,
                           ``delete_patient``, ``add_area``, ``add_session``,
                           ``update_session``, ``delete_session``, ``update_area``,
                           ``delete_area``, ``set_roi``
photos                     ``upload``, ``delete_photo``, ``move_photo``,
                           ``consent_change``, ``rescore``
exports                    ``export`` (PDF, DICOM, teaching set, archive, scores
                           table, audit log), ``import``
accounts                   ``account_created``, ``account_disabled``,
                           ``account_enabled``, ``account_unlocked``,
                           ``account_deleted``, ``password_changed``,
                           ``password_reset``, ``invitation_issued``,
                           ``invitation_redeemed``, ``invitation_failed``,
                           ``invitation_revoked``
API tokens                 ``token_created``, ``token_revoked`` (a refused token
                           is a ``login_failed``)
refusals and maintenance   ``permission_denied``, ``doctor``, ``audit_pruned``
=========================  ====================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import AuditRecord, Patient, utcnow
from .views import Actor, AuditEntry

__all__ = ["AUDIT_ACTIONS", "KEEP_DAYS", "NOISE_DAYS", "VIEW_EVENT_SECONDS", "AuditMixin", "add_line"]

log = logging.getLogger("skintrack.records.audit")

AUDIT_ACTIONS = (
    "login", "login_failed", "lockout", "logout",
    "view_patient", "create_patient", "update_patient", "delete_patient", "add_area", "add_session",
    "update_session", "delete_session", "update_area", "delete_area", "set_roi",
    "upload", "delete_photo", "move_photo", "consent_change", "rescore",
    "export", "import",
    "account_created", "account_disabled", "account_enabled", "account_unlocked", "account_deleted",
    "password_changed", "password_reset", "invitation_issued", "invitation_redeemed", "invitation_failed",
    "invitation_revoked", "permission_denied", "doctor", "audit_pruned",
    "token_created", "token_revoked",
)  # fmt: skip

#: A user reading the same patient again within this many seconds of a logged read shares its line.
VIEW_EVENT_SECONDS = 60
#: Audit lines are kept at least this many days (6 years); the database refuses to delete younger ones.
KEEP_DAYS = 2190
#: Failed log-ins and invitation codes (no patient's data) are kept at least this many days.
NOISE_DAYS = 90
_NOISE_ACTIONS = ("login_failed", "invitation_failed")


@dataclass
class _Pending:
    actor: Actor | None
    action: str
    patient_id: str | None
    target: str
    detail: str
    at: dt.datetime


def add_line(
    db: Session,
    actor: Actor | None,
    action: str,
    *,
    patient_id: str | None = None,
    patient_code: str | None = None,
    target: str = "",
    detail: str = "",
    at: dt.datetime | None = None,
) -> None:
    """Add an audit line inside ``db``'s transaction: it commits (or rolls back) with the change."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if patient_id and patient_code is None:
        patient = db.get(Patient, patient_id)
        patient_code = patient.code if patient is not None else None
    is_actor = isinstance(actor, Actor)
    db.add(
        AuditRecord(
            at=at or utcnow(),
            actor=_clip(actor.name if is_actor else "(unidentified)", 200) or "(unidentified)",
            actor_role=_clip(actor.role if is_actor else "", 16),
            username=_clip(actor.username, 64) if is_actor else None,
            source=_clip(actor.source if is_actor else "unknown", 16),
            action=action,
            patient_id=_clip(patient_id, 36),
            patient_code=_clip(patient_code, 64),
            target=_clip(target or "", 200),
            detail=detail or "",
        )
    )


class AuditMixin:
    """Write audit lines (in the caller's transaction, or queued to the end of the call) and read them."""

    _recent_views: dict
    _views_lock: threading.Lock

    # ------------------------------------------------------------------ writing

    _audit = staticmethod(add_line)  # an audit line in the caller's transaction

    def _audit_later(self, actor: Actor | None, action: str, *, patient_id: str | None = None, target: str = "", detail: str = "") -> None:
        """Log when the current call ends (reads and refusals, which have no transaction of their own)."""
        pending = _Pending(actor, action, patient_id, target, detail, utcnow())
        queue = self._audit_queue()
        if queue is None:  # outside any Records call: write now
            self._write_audit([pending])
        else:
            queue.append(pending)

    def _write_audit(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        with self._db() as db:
            for item in pending:
                self._audit(db, item.actor, item.action, patient_id=item.patient_id, target=item.target,
                            detail=item.detail, at=item.at)  # fmt: skip

    def record_export(self, actor: Actor, patient_id: str | None, what: str, *, purpose: str = "clinical",
                      detail: str = "") -> None:  # fmt: skip
        """Write the ``export`` line of something that leaves the records: who, what, which patient, what for.

        Called by every export (the PDF report, DICOM, teaching sets, archives,
        scores tables) once it is made; never coalesced. A patient may record the
        export of their own report; everyone else needs the right to export.
        """
        if isinstance(actor, Actor) and actor.role == "patient":
            self.authorize(actor, "read", patient_id)
        elif patient_id is None:
            self.authorize(actor, "read_audit")
        else:
            self.authorize(actor, "export", patient_id)
        text = f"{what}; purpose {purpose}" + (f"; {detail}" if detail else "")
        with self._db() as db:
            self._audit(db, actor, "export", patient_id=patient_id, target=what[:200], detail=text)

    def prune_audit(self, actor: Actor, *, now: dt.datetime | None = None) -> int:
        """Delete audit lines past their retention (admins): failed log-ins after :data:`NOISE_DAYS`,
        everything after :data:`KEEP_DAYS`, and stale log-in throttling rows. Logged; returns lines deleted.

        The database itself refuses to delete a younger line, whatever asks.
        """
        from sqlalchemy import delete

        from . import throttle

        self.authorize(actor, "maintain")
        now = now or utcnow()
        with self._db() as db:
            old = delete(AuditRecord).where(
                (AuditRecord.at < now - dt.timedelta(days=KEEP_DAYS))
                | (AuditRecord.action.in_(_NOISE_ACTIONS) & (AuditRecord.at < now - dt.timedelta(days=NOISE_DAYS)))
            )
            count = db.execute(old).rowcount or 0
            throttle.prune(db, now)
            self._audit(db, actor, "audit_pruned", detail=f"{count} lines past retention deleted "
                        f"(failed log-ins after {NOISE_DAYS} days, everything after {KEEP_DAYS} days)")  # fmt: skip
        return count

    def _note_view(self, actor: Actor, patient_id: str, *, action: str = "view_patient", detail: str = "") -> None:
        """A read of a patient's record: one line per user and patient per VIEW_EVENT_SECONDS (a page reads the
        record several times per click), so every read is within a minute of a line."""
        key = (actor.name, actor.username, actor.role, actor.source, patient_id, action)
        now = time.monotonic()
        with self._views_lock:
            last = self._recent_views.get(key)
            if last is not None and now - last < VIEW_EVENT_SECONDS:
                return
            self._recent_views[key] = now
            if len(self._recent_views) > 10_000:
                self._recent_views.clear()
        self._audit_later(actor, action, patient_id=patient_id, detail=detail)

    # ------------------------------------------------------------------ reading

    def audit_log(
        self,
        actor: Actor,
        *,
        since: dt.datetime | dt.date | None = None,
        until: dt.datetime | dt.date | None = None,
        user: str | None = None,
        action: str | None = None,
        patient_code: str | None = None,
        limit: int = 10_000,
    ) -> list[AuditEntry]:
        """Audit lines, newest first (admins only).

        Parameters
        ----------
        since, until : datetime or date, optional
            UTC bounds; a date means the whole day (``until`` inclusive).
        user : str, optional
            Part of the actor's name or user name (case-insensitive).
        action : str, optional
            One of :data:`AUDIT_ACTIONS`.
        patient_code : str, optional
            Exact patient code.
        limit : int
            At most this many lines.
        """
        self.authorize(actor, "read_audit")
        query = select(AuditRecord)
        if since is not None:
            query = query.where(AuditRecord.at >= _as_datetime(since))
        if until is not None:
            end = _as_datetime(until)
            if not isinstance(until, dt.datetime):
                end += dt.timedelta(days=1)
                query = query.where(AuditRecord.at < end)
            else:
                query = query.where(AuditRecord.at <= end)
        if user:
            pattern = f"%{user.strip().lower()}%"
            query = query.where(func.lower(AuditRecord.actor).like(pattern) | func.lower(AuditRecord.username).like(pattern))
        if action:
            query = query.where(AuditRecord.action == action)
        if patient_code:
            query = query.where(AuditRecord.patient_code == patient_code.strip())
        query = query.order_by(AuditRecord.id.desc()).limit(max(1, int(limit)))
        with self._db() as db:
            return [_entry(row) for row in db.scalars(query)]

    def audit_table(self, actor: Actor, *, export: bool = True, **filters: Any) -> list[dict[str, Any]]:
        """:meth:`audit_log` as table rows (for CSV export through :mod:`skintrack.report.tables`); the export
        is itself logged, unless ``export=False`` (a table shown on screen, whose download the caller logs
        with :meth:`record_export`)."""
        self.authorize(actor, "read_audit")
        rows = [
            {
                "id": e.id,
                "at_utc": e.at.isoformat(sep=" ", timespec="seconds"),
                "actor": e.actor,
                "role": e.actor_role,
                "username": e.username or "",
                "source": e.source,
                "action": e.action,
                "patient_code": e.patient_code or "",
                "target": e.target,
                "detail": e.detail,
            }
            for e in self.audit_log(actor, **filters)
        ]
        if export:
            self.record_export(actor, None, "audit log table", purpose="audit", detail=audit_filters(filters, len(rows)))
        return rows


def audit_filters(filters: dict[str, Any], lines: int) -> str:
    """How an exported audit table was chosen, for its own ``export`` line."""
    chosen = {k: v for k, v in filters.items() if v is not None}
    return f"{lines} lines; filters {sorted(chosen.items()) if chosen else 'none'}"


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=row.id, at=row.at, actor=row.actor, actor_role=row.actor_role, username=row.username, source=row.source,
        action=row.action, patient_id=row.patient_id, patient_code=row.patient_code, target=row.target,
        detail=row.detail,
    )  # fmt: skip


def _as_datetime(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return dt.datetime(value.year, value.month, value.day)


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else str(value)[:length]
