"""Backup and restore of one patient: a zip of their rows and photo files."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Date, DateTime, select

from .._version import __version__
from ..photo import atomic_write
from .db import Area, MetricScore, Patient, PhotoRecord, TreatmentSession
from .errors import InvalidInput
from .views import Actor, PatientView

__all__ = ["ARCHIVE_FORMAT", "ArchiveMixin"]

ARCHIVE_FORMAT = "skintrack-patient-archive/1"


class ArchiveMixin:
    """Export a patient's record as a zip, and import one."""

    def export_patient_archive(self, actor: Actor, patient_id: str, target: str | os.PathLike | BinaryIO, *, purpose: str = "clinical") -> dict:
        """Write a zip of a patient's records and photos (the backup of the clinical record).

        ``purpose`` "clinical" exports everything; "teaching" and "publication"
        write a de-identified set instead (:meth:`export_deidentified`: only
        photos with that consent or higher that were not withdrawn, and nothing
        that names the patient). Returns the manifest.
        """
        if purpose not in ("clinical", "teaching", "publication"):
            raise InvalidInput("purpose must be clinical, teaching or publication.")
        if purpose != "clinical":
            return self.export_deidentified(actor, [patient_id], target, purpose=purpose)
        self.authorize(actor, "export", patient_id)
        with self._db() as db:
            patient = self._get(db, Patient, patient_id, "patient")
            areas = list(patient.areas)
            sessions = list(patient.sessions)
            photos = [p for s in sessions for p in s.photos]
            payload = {
                "format": ARCHIVE_FORMAT,
                "engine_version": __version__,
                "purpose": purpose,
                "patient": _row(patient),
                "areas": [_row(a) for a in areas],
                "sessions": [_row(s) for s in sessions],
                "photos": [_row(p) for p in photos],
                "scores": [_row(s) for p in photos for s in p.scores],
            }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("records.json", json.dumps(payload, indent=1, sort_keys=True, default=str))
            for name in sorted({p["file_name"] for p in payload["photos"]}):
                archive.writestr(f"photos/{name}", self.store.get(name), compress_type=zipfile.ZIP_STORED)
        data = buffer.getvalue()
        if hasattr(target, "write"):
            target.write(data)
        else:
            atomic_write(Path(target), data)
        self._audit_later(actor, "export", patient_id=patient_id,
                          detail=f"patient archive, purpose {purpose}, {len(payload['photos'])} photos")  # fmt: skip
        return {"photos": len(payload["photos"]), "bytes": len(data), "purpose": purpose}

    def import_patient_archive(self, actor: Actor, source: str | os.PathLike | bytes | BinaryIO) -> PatientView:
        """Restore a patient from :meth:`export_patient_archive`; ids and values come back exactly."""
        self.authorize(actor, "create")
        data = _read_archive_bytes(source)
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            payload = json.loads(archive.read("records.json"))
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise InvalidInput("This is not a skintrack patient archive.") from None
        if payload.get("format") != ARCHIVE_FORMAT:
            raise InvalidInput(f"Unknown archive format {payload.get('format')!r}.")
        files = {}
        for photo in payload["photos"]:
            name = photo["file_name"]
            try:
                content = archive.read(f"photos/{name}")
            except KeyError:
                raise InvalidInput(f"The archive lacks the photo file {name}.") from None
            files[name] = content
        for name, content in files.items():
            stored, _ = self.store.put(content, "." + name.split(".", 1)[1])
            if stored != name:
                raise InvalidInput(f"The photo file {name} in the archive is damaged.")
        with self._db() as db:
            if db.get(Patient, payload["patient"]["id"]) or db.scalar(
                select(Patient).where(Patient.code == payload["patient"]["code"])
            ):
                raise InvalidInput(f"Patient {payload['patient']['code']!r} already exists here.")
            db.add(Patient(**_unrow(Patient, payload["patient"])))
            db.flush()
            for row in payload["areas"]:
                db.add(Area(**_unrow(Area, row)))
            for row in payload["sessions"]:
                db.add(TreatmentSession(**_unrow(TreatmentSession, row)))
            db.flush()
            for row in payload["photos"]:
                db.add(PhotoRecord(**_unrow(PhotoRecord, row)))
            db.flush()
            for row in payload["scores"]:
                db.add(MetricScore(**_unrow(MetricScore, row)))
            db.flush()
            self._audit(db, actor, "import", patient_id=payload["patient"]["id"],
                        detail=f"patient archive, {len(payload['photos'])} photos")  # fmt: skip
            return self._patient_view(db, db.get(Patient, payload["patient"]["id"]))


def _row(obj) -> dict[str, Any]:
    out = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        out[column.key] = value
    return out


def _unrow(model, row: dict[str, Any]) -> dict[str, Any]:
    """Column values from an exported row, dates and times parsed back."""
    values = {}
    for column in model.__table__.columns:
        if column.key not in row:
            continue
        value = row[column.key]
        if value is not None and isinstance(column.type, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, Date):
            value = dt.date.fromisoformat(value)
        values[column.key] = value
    return values


def _read_archive_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    path = Path(source)
    if not path.is_file():
        raise InvalidInput(f"No archive at {path}.")
    return path.read_bytes()
