"""Versions of records against lost updates: what the REST API sends as ``ETag`` and checks on ``If-Match``.

A record's *version* is a short hash of the fields a change can overwrite
(:data:`VERSIONED_FIELDS`), computed the same way from a database row and from
the view the records hand out. Any change by any door (the app, the command
line, another API server) changes it; nothing has to remember to bump a
counter.

A caller that read version ``v`` and wants to change the record only if it is
still ``v`` wraps the change in :func:`expect`::

    with expect("patient", patient_id, v):
        records.update_patient(actor, patient_id, notes="...")

The check is made inside the change's own transaction, on the row locked for
update (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already holds the write lock), so two servers that both read ``v`` cannot both
write: the second gets :class:`VersionConflict` and nothing is changed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .db import Area, Patient, PhotoRecord, TreatmentSession
from .errors import NotFound, RecordsError
from .validation import is_id

__all__ = ["VERSIONED_FIELDS", "PreconditionNotChecked", "VersionConflict", "check", "expect", "get_row", "version_of"]

#: Per kind of record, the fields a change can overwrite (and so the version covers).
VERSIONED_FIELDS: dict[str, tuple[str, ...]] = {
    "patient": ("code", "display_name", "birth_year", "fitzpatrick", "notes"),
    "area": ("patient_id", "name", "baseline_photo_id", "roi"),
    "session": ("patient_id", "date", "treatment", "settings", "provider", "notes"),
    "photo": ("session_id", "area_id", "view", "status", "consent", "consent_withdrawn"),
}
_MODELS = {"patient": Patient, "area": Area, "session": TreatmentSession, "photo": PhotoRecord}


class VersionConflict(RecordsError):
    """The record changed since the caller read it (its version is not the one expected). Nothing was changed."""

    def __init__(self, message: str, current: str | None = None):
        super().__init__(message)
        self.current = current


class PreconditionNotChecked(RuntimeError):
    """A call made under :func:`expect` never read the record it names (a bug in the caller)."""


def _kind_of(obj: Any) -> str:
    for kind, model in _MODELS.items():
        if isinstance(obj, model):
            return kind
    name = type(obj).__name__
    kinds = {"PatientView": "patient", "AreaView": "area", "SessionView": "session", "PhotoView": "photo"}
    if name in kinds:
        return kinds[name]
    raise TypeError(f"no version for {name}")


def _value(obj: Any, field: str) -> Any:
    if field == "consent_withdrawn" and hasattr(obj, "consent_withdrawn_at"):
        return obj.consent_withdrawn_at is not None
    value = getattr(obj, field)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def version_of(obj: Any) -> str:
    """The version of a record (a row, or a ``PatientView``/``AreaView``/``SessionView``/``PhotoView``): 20 hex digits."""
    kind = _kind_of(obj)
    values = [kind] + [_value(obj, field) for field in VERSIONED_FIELDS[kind]]
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class _Expected:
    kind: str
    object_id: str
    versions: tuple[str, ...]
    checked: bool = False


_EXPECTED: contextvars.ContextVar[_Expected | None] = contextvars.ContextVar("skintrack_expected_version", default=None)


@contextmanager
def expect(kind: str, object_id: str, version: str | tuple[str, ...]) -> Iterator[None]:
    """Changes made inside succeed only while the record ``kind``/``object_id`` still has ``version``
    (or one of several).

    Raises
    ------
    VersionConflict
        From the change, when the record has another version now (nothing changed).
    PreconditionNotChecked
        When the block ended without any records call reading that record.
    """
    if kind not in VERSIONED_FIELDS:
        raise ValueError(f"unknown kind {kind!r}")
    versions = (version,) if isinstance(version, str) else tuple(str(v) for v in version)
    expected = _Expected(kind, object_id, versions)
    token = _EXPECTED.set(expected)
    try:
        yield
    finally:
        _EXPECTED.reset(token)
    if not expected.checked:
        raise PreconditionNotChecked(f"nothing read the {kind} {object_id!r} whose version was expected")


def get_row(db, model, object_id: str, what: str):
    """The row ``object_id`` of ``model`` (:class:`NotFound` when there is none), checked by :func:`check`."""
    obj = db.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise NotFound(f"No {what} with id {object_id!r}.")
    return check(db, obj)  # under expect(): locked, and refused when changed meanwhile


def check(db, obj):
    """Called by the records when they fetch a row to change it: under :func:`expect` for this row, lock it
    and compare its version (raises :class:`VersionConflict`). Returns the row."""
    expected = _EXPECTED.get()
    if expected is None or expected.checked or obj is None:
        return obj
    model = _MODELS[expected.kind]
    if not isinstance(obj, model) or obj.id != expected.object_id:
        return obj
    db.refresh(obj, with_for_update=True)
    expected.checked = True
    current = version_of(obj)
    if current not in expected.versions:
        raise VersionConflict(
            f"This {expected.kind} was changed by someone else since you read it; read it again and redo your change.",
            current,
        )
    return obj
