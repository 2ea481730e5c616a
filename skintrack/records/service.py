"""The records service: every read and write of patient data goes through :class:`Records`.

:class:`Records` is a thin facade. It owns the database engine, the photo store
and the one permission check (:meth:`Records.authorize`), and composes the
classes that do the work; each is given what it uses (the transaction factory
``Records._db``, store, cache) and calls no other method of :class:`Records`
(no permission check happens in them: the public methods check first):

=======================================  ===================================================
``measurement.py`` ``MeasurementCache``  measures photos (baseline, or against it); keeps the
                                         last measured baselines (by file, zone, region) and
                                         measurements (by photo id) in LRU caches under one
                                         lock, and the per-area and per-baseline locks
``filing.py`` ``Filing``                 files one photo into the chosen visit and area:
                                         stale choice, duplicate and capture-date refusals,
                                         store, measure, commit (retries when the baseline moved)
``rescoring.py`` ``Rescorer``            measures an area's photos again, baseline first, in
                                         the caller's transaction; re-picks a corrected area's
                                         baseline
``corrections.py`` ``Corrections``      moves, edits and deletions of photos, visits and areas,
                                         an area's region; in the caller's transaction, with
                                         the areas they affect measured again
``login.py`` ``Login``                   log-in by password (throttled) or identity provider,
                                         re-checking a signed-in account
``files.py`` ``PhotoFiles``              photo files being written (pending writes) and
                                         deleting files no row uses, under one lock
``baseline_files.py`` ``BaselineFiles``  measured baselines kept on disk for every process
=======================================  ===================================================

The public methods live in mixins by concern; each checks the actor, then reads
the rows or delegates to the classes above:

===================  ==========================================================
``patients.py``      patients and their treated areas
``visits.py``        sessions (visits): add, find the one of a day, list
``photos.py``        photos: add (→ ``Filing``), read, list, retake, delete, consent
``measurement.py``   a stored photo's measurement, an area's baseline (→ ``MeasurementCache``)
``rescoring.py``     rescoring after an engine change (→ ``Rescorer``), the scores table
``corrections.py``   moving and deleting photos, editing and deleting visits and
                     areas, an area's region of interest (→ ``Corrections``)
``archive.py``       export and import of one patient as a zip
``deidentify.py``    de-identified teaching / publication sets (consented photos only)
``accounts.py``      accounts, passwords, invitations, demo accounts
``tokens.py``        the REST API's per-account tokens (hashed, revocable)
``interop.py``       the audit line of a FHIR or PACS export
``login.py``         log-in, lockout, the identity provider (→ ``Login``), acting as
                     an account, log-out
``audit.py``         the append-only audit log (``add_line``: one line in a transaction)
``maintenance.py``   ``doctor`` (files vs rows), loading the demo patient
===================  ==========================================================

Shared, stateless: ``mapping.py`` (rows → views, a measurement's outcome → rows),
``validation.py`` (what text, numbers, ids and dates the records accept),
``versions.py`` (record versions; ``get_row``), ``views.py``, ``db.py``, ``errors.py``.

Each public method takes the acting user (:class:`Actor`) first and calls
:meth:`Records.authorize` before touching data. The facade holds every public
method to that: a method that returns without having checked the actor raises
:class:`UncheckedCall` (only the log-in methods in :data:`NO_ACTOR_METHODS`,
which create actors, are exempt). Admins may do everything, providers all
clinical work and their patients' accounts, a patient only read their own
record. A patient asking for another patient's record, or for one that does
not exist, gets the same :class:`PermissionDenied`.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..private_files import make_private_dirs
from .accounts import AccountsMixin, HashKey, normal_username
from .archive import ArchiveMixin
from .audit import AuditMixin
from .baseline_files import BaselineFiles
from .corrections import Corrections, CorrectionsMixin
from .db import Area, Patient, PhotoRecord, TreatmentSession, User, make_engine, migrate
from .deidentify import DeidentifiedExportMixin
from .errors import (
    AccountLocked,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RecordsError,
    StorageFull,
)
from .files import PhotoFiles
from .filing import Filing
from .interop import InteropMixin
from .login import Login, LoginMixin
from .maintenance import MaintenanceMixin
from .measurement import MeasurementCache, MeasurementMixin
from .patients import PatientsMixin
from .photos import PhotosMixin
from .rescoring import Rescorer, RescoringMixin
from .store import PhotoStore
from .tokens import TokensMixin
from .validation import is_id
from .versions import check as _check_version
from .versions import get_row
from .views import (
    ROLES,
    Actor,
    AreaView,
    AuditEntry,
    DoctorReport,
    Invitation,
    Measurement,
    PatientView,
    PhotoView,
    SessionView,
    UserView,
)
from .visits import VisitsMixin

__all__ = [
    "NO_ACTOR_METHODS",
    "AccountLocked",
    "Actor",
    "AreaView",
    "AuditEntry",
    "AuthenticationFailed",
    "DoctorReport",
    "InvalidInput",
    "Invitation",
    "Measurement",
    "NotFound",
    "PatientView",
    "PermissionDenied",
    "PhotoView",
    "Records",
    "RecordsError",
    "SessionView",
    "UncheckedCall",
    "UserView",
    "StorageFull",
]

#: What each role may do. A patient may only "read" their own record and get its report in the
#: patient's words ("patient_report"; both checked against the patient id) and look after their
#: own account. "export" (any report, archive, table) is for providers and up.
PATIENT_ACTIONS = frozenset({"read", "own_account", "patient_report"})
PROVIDER_ACTIONS = frozenset(
    {"read", "own_account", "patient_report", "list", "create", "update", "delete", "export",
     "manage_patient_accounts"}
)  # fmt: skip
#: What a patient may do only to their own record.
_OWN_RECORD_ONLY = frozenset({"read", "patient_report"})
ADMIN_ACTIONS = PROVIDER_ACTIONS | {"manage_accounts", "read_audit", "maintain"}
_PHRASES = {
    "read": "read this record",
    "own_account": "change this account",
    "list": "list patients",
    "create": "create records",
    "update": "change this record",
    "delete": "delete this record",
    "export": "export this record",
    "patient_report": "get this patient's report",
    "manage_patient_accounts": "manage patients' accounts",
    "manage_accounts": "manage accounts",
    "read_audit": "read the audit log",
    "maintain": "run maintenance on the records",
}

#: Public methods that take no actor: they are how an actor is obtained (log-in), or say only
#: whether accounts exist. Every other public method must call :meth:`Records.authorize`.
NO_ACTOR_METHODS = frozenset(
    {"authorize", "close", "authenticate", "authenticate_oidc", "redeem_invitation", "refresh_actor",
     "has_accounts", "demo_accounts", "authenticate_token"}
)  # fmt: skip


class UncheckedCall(RuntimeError):
    """A public :class:`Records` method returned without checking the acting user (a bug in skintrack)."""


@dataclass
class _Call:
    name: str
    checked: bool = False
    audit: list = field(default_factory=list)  # queued audit lines (outermost call only)


_CALLS: contextvars.ContextVar[tuple[_Call, ...]] = contextvars.ContextVar("skintrack_records_calls", default=())


def _checked_method(name: str, method):
    """Wrap a public method: it must call ``authorize``; queued audit lines are written when the
    outermost call ends, whether it succeeded or not."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        outer = _CALLS.get()
        call = _Call(name)
        token = _CALLS.set(outer + (call,))
        try:
            result = method(self, *args, **kwargs)
        except BaseException:
            _CALLS.reset(token)
            if not outer:
                self._write_audit_quietly(call.audit)
            raise
        _CALLS.reset(token)
        if not outer:
            self._write_audit(call.audit)
        if not call.checked:
            raise UncheckedCall(f"Records.{name} returned without checking the acting user.")
        return result

    checked.__skintrack_checked__ = True
    return checked


class Records(
    PatientsMixin, VisitsMixin, PhotosMixin, MeasurementMixin, RescoringMixin, CorrectionsMixin, ArchiveMixin,
    DeidentifiedExportMixin, AccountsMixin, LoginMixin, AuditMixin, MaintenanceMixin, TokensMixin, InteropMixin,
):
    """Patient records in a data folder (or a database URL).

    Parameters
    ----------
    data_dir : path, optional
        Folder holding ``skintrack.db`` and the ``photos/`` store. Default:
        ``$SKINTRACK_DATA`` or ``./skintrack-data``.
    db_url : str, optional
        SQLAlchemy URL; default ``$SKINTRACK_DB_URL`` or SQLite in ``data_dir``.
        PostgreSQL: ``postgresql+psycopg://user:password@host/db``.
    key : str, optional
        Encrypt photo files at rest with this key (see :mod:`skintrack.records.store`);
        default ``$SKINTRACK_KEY``; none: files are stored as they are.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, db_url: str | None = None, *, key: str | None = None):
        self.data_dir = Path(data_dir or os.environ.get("SKINTRACK_DATA") or "skintrack-data")
        make_private_dirs(self.data_dir)
        os.chmod(self.data_dir, 0o700)  # health data: owner only, whatever the umask or an older version made
        url = db_url or os.environ.get("SKINTRACK_DB_URL") or f"sqlite:///{(self.data_dir / 'skintrack.db').resolve()}"
        self.db_url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.store = PhotoStore(self.data_dir / "photos", key=key if key is not None else os.environ.get("SKINTRACK_KEY"))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.baselines = BaselineFiles(self.data_dir / "cache" / "baselines", self.store)  # measured baselines, on disk
        # The concerns, composed: each is given what it uses (no calls back into Records).
        self._files = PhotoFiles(self._db, self.store)  # pending writes, deleting unused files
        self._measurements = MeasurementCache(self.store, self.baselines)  # measuring; the LRU caches and their locks
        self._rescorer = Rescorer(self.store, self._measurements)  # an area measured again
        self._filing = Filing(self._db, self.store, self._measurements, self._files, self._rescorer)  # filing a photo
        self._corrections = Corrections(self._rescorer)  # moves, edits and deletions, in the caller's transaction
        self._hash_key = HashKey()  # keyed hashes of user names and clients (audit, throttling)
        self._login = Login(self._db, self._hash_key)  # passwords, the identity provider, throttling
        self._recent_views: dict = {}
        self._views_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ infrastructure

    @contextmanager
    def _db(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        db = self._sessions()
        try:
            yield db
            db.commit()
        except OperationalError as exc:
            db.rollback()
            if _database_full(exc):
                raise StorageFull("The database's disk is full; nothing was changed. Free some space and try again.") from None
            raise
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def authorize(self, actor: Actor, action: str, patient_id: str | None = None) -> None:
        """The one permission check. Raises :class:`PermissionDenied` (and logs the refusal).

        Parameters
        ----------
        action : str
            ``read``, ``list``, ``create``, ``update``, ``delete``, ``export``, ``patient_report``,
            ``manage_patient_accounts``, ``own_account`` (providers and up, or as listed
            in ``PATIENT_ACTIONS``) or ``manage_accounts``, ``read_audit``, ``maintain`` (admins).
        patient_id : str, optional
            The patient whose record is touched; a patient may only ``read`` their own, and get
            only their own ``patient_report``.
        """
        if action not in ADMIN_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        calls = _CALLS.get()
        if calls:
            calls[-1].checked = True
        if not isinstance(actor, Actor) or not actor.name or actor.role not in ROLES:
            self._deny(actor, action, patient_id, "An identified user is required.")
        allowed = {"admin": ADMIN_ACTIONS, "provider": PROVIDER_ACTIONS, "patient": PATIENT_ACTIONS}[actor.role]
        if action not in allowed or (
            actor.role == "patient" and action in _OWN_RECORD_ONLY and not (patient_id and patient_id == actor.patient_id)
        ):
            self._deny(actor, action, patient_id, f"{actor.name} ({actor.role}) may not {_PHRASES[action]}.")
        if action == "read" and patient_id:
            self._note_view(actor, patient_id)

    def _deny(self, actor, action: str, patient_id: str | None, message: str):
        self._audit_later(actor if isinstance(actor, Actor) else None, "permission_denied",
                          patient_id=patient_id, target=action, detail=message)  # fmt: skip
        raise PermissionDenied(message)

    def _audit_queue(self) -> list | None:
        calls = _CALLS.get()
        return calls[0].audit if calls else None

    def _write_audit_quietly(self, pending: list) -> None:
        """Write queued lines while another error is on its way out: never hide that error."""
        try:
            self._write_audit(pending)
        except Exception:  # pragma: no cover - the database failed as well
            import logging

            logging.getLogger("skintrack.records.audit").exception("could not write %d audit lines", len(pending))

    _get = staticmethod(get_row)  # the row, or NotFound; under versions.expect(): locked, refused when changed meanwhile

    def _owned(self, db: Session, actor: Actor, action: str, model, object_id: str, what: str):
        """The row ``object_id`` of ``model``, after checking ``actor`` may ``action`` its patient's record.

        A missing row is :class:`NotFound` for providers and admins, and the same
        :class:`PermissionDenied` as another patient's row for everyone else (no
        hint which ids exist).
        """
        obj = db.get(model, object_id) if is_id(object_id) else None
        if obj is None:
            if isinstance(actor, Actor) and actor.is_staff and actor.role in ROLES:
                self.authorize(actor, action)
                raise NotFound(f"No {what} with id {object_id!r}.")
            self.authorize(actor, action, None)  # refuses with the same words as for another patient's
            raise NotFound(f"No {what} with id {object_id!r}.")  # pragma: no cover - authorize refused
        self.authorize(actor, action, _patient_of(db, obj))
        return _check_version(db, obj)  # under versions.expect(): locked, and refused when changed meanwhile

    def _managed_account(self, db: Session, actor: Actor, username: str, *, own_ok: bool = False) -> User:
        """The account ``actor`` may manage, after checking: admins any, providers patients'
        accounts only (and with ``own_ok``, everyone their own). A missing account is :class:`NotFound`."""
        name = normal_username(username)
        if own_ok and isinstance(actor, Actor) and actor.username and actor.username == name:
            self.authorize(actor, "own_account")
            user = db.scalar(select(User).where(User.username == name))
            if user is None:
                raise NotFound(f"No account {name!r}.")
            return user
        if isinstance(actor, Actor) and actor.role == "admin":
            self.authorize(actor, "manage_accounts")
        else:
            self.authorize(actor, "manage_patient_accounts")  # refuses patients and the unidentified
        user = db.scalar(select(User).where(User.username == name))
        if user is None:
            raise NotFound(f"No account {name!r}.")
        if actor.role != "admin":
            if user.role != "patient":
                self.authorize(actor, "manage_accounts")  # providers manage patients' accounts only: refused
            self.authorize(actor, "manage_patient_accounts", user.patient_id)
        return user


def _patient_of(db: Session, obj) -> str:
    if isinstance(obj, Patient):
        return obj.id
    if isinstance(obj, (Area, TreatmentSession)):
        return obj.patient_id
    if isinstance(obj, PhotoRecord):
        return db.get(TreatmentSession, obj.session_id).patient_id
    raise TypeError(f"no patient for {type(obj).__name__}")


def _guard_public_methods(cls) -> None:
    for name in dir(cls):
        if name.startswith("_") or name in NO_ACTOR_METHODS:
            continue
        attribute = getattr(cls, name)
        if callable(attribute) and not getattr(attribute, "__skintrack_checked__", False):
            setattr(cls, name, _checked_method(name, attribute))


_guard_public_methods(Records)


def _database_full(exc: OperationalError) -> bool:
    """SQLite's "database or disk is full" or PostgreSQL's disk_full (SQLSTATE 53100)."""
    return "disk is full" in str(exc.orig).lower() or getattr(exc.orig, "sqlstate", None) == "53100"
