"""Backup and restore of one patient: a zip of their rows and photo files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .._version import __version__
from ..private_files import atomic_write
from .archive_reader import ARCHIVE_FORMAT, read_archive
from .db import Area, MetricScore, Patient, PhotoRecord, TreatmentSession
from .errors import InvalidInput, RecordsError
from .mapping import patient_view
from .views import Actor, PatientView

__all__ = ["ARCHIVE_FORMAT", "ArchiveMixin"]


class ArchiveMixin:
    """Export a patient's record as a zip, and import one."""

    def export_patient_archive(self, actor: Actor, patient_id: str, target: str | os.PathLike | BinaryIO, *, purpose: str = "clinical") -> dict:
        """Write a zip of a patient's records and photos (the backup of the clinical record).

        Photos are written as they are (decrypted), named by their sha256.

        ``purpose`` "clinical" exports everything; "teaching" and "publication"
        write a de-identified set instead (:meth:`export_deidentified`: only
        photos with that consent or higher that were not withdrawn, and nothing
        that names the patient). Returns the manifest.
        """
        self.authorize(actor, "export", patient_id)
        if purpose not in ("clinical", "teaching", "publication"):
            raise InvalidInput("purpose must be clinical, teaching or publication.")
        if purpose != "clinical":
            return self.export_deidentified(actor, [patient_id], target, purpose=purpose)
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
        # An archive names each photo by its plain sha256 (portable: the store it goes to may have another key,
        # or none); the store's own name may be a keyed hash.
        portable = {}
        for row in payload["photos"]:
            portable[row["file_name"]] = row["file_name"] = f"{row['stored_sha256']}.{row['file_name'].split('.')[1]}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("records.json", json.dumps(payload, indent=1, sort_keys=True, default=str))
            for stored_name, name in sorted(portable.items(), key=lambda item: item[1]):
                data = self.store.get(stored_name)
                if hashlib.sha256(data).hexdigest() != name.split(".")[0]:
                    raise RecordsError(f"The photo file {stored_name} does not match its row's sha256; "
                                       "run `skintrack doctor`. Nothing was exported.")  # fmt: skip
                archive.writestr(f"photos/{name}", data, compress_type=zipfile.ZIP_STORED)
        data = buffer.getvalue()
        if hasattr(target, "write"):
            target.write(data)
        else:
            atomic_write(Path(target), data)
        self.record_export(actor, patient_id, "patient archive", purpose=purpose,
                           detail=f"{len(payload['photos'])} photos, unencrypted")  # fmt: skip
        return {"photos": len(payload["photos"]), "bytes": len(data), "purpose": purpose}

    def import_patient_archive(self, actor: Actor, source: str | os.PathLike | bytes | BinaryIO) -> PatientView:
        """Restore a patient from :meth:`export_patient_archive`; ids and values come back exactly.

        The archive is checked whole before anything is written
        (:func:`~skintrack.records.archive_reader.read_archive`: limits against
        zip bombs, every row's fields, that every row belongs to this patient,
        every photo's hash and that it is a photo). Then the photo files are
        written and the rows committed in one transaction; when anything fails,
        the files this import wrote are removed again and the error is an
        :class:`InvalidInput` (or :class:`StorageFull`) — never a traceback.
        """
        self.authorize(actor, "create")
        with read_archive(source, store_name=lambda data, suffix: self.store.name_for(data, suffix)[0]) as archive:
            with self._db() as db:
                self._refuse_clashes(db, archive)
            self.store.check_space(sum(archive.sizes.values()))
            names = list(archive.members)
            claims = self._files.claim(archive.store_names[name] for name in names)
            written: list[str] = []
            try:
                for name in names:
                    data = archive.photo_bytes(name)
                    target = archive.store_names[name]
                    if not self.store.exists(target):
                        if self.store.put(data, "." + name.split(".")[1])[0] != target:  # pragma: no cover - a bug
                            raise RecordsError(f"The photo {name} would be stored under another name than checked.")
                        written.append(target)
                    del data
                with self._db() as db:
                    self._refuse_clashes(db, archive)
                    db.add(Patient(**archive.patient))
                    db.flush()
                    for table, model in _MODELS:
                        for row in archive.rows[table]:
                            db.add(model(**row))
                        db.flush()
                    self._files.settle(db, claims)
                    self._audit(db, actor, "import", patient_id=archive.patient["id"],
                                detail=f"patient archive, {len(archive.rows['photos'])} photos")  # fmt: skip
                    return patient_view(db, db.get(Patient, archive.patient["id"]))
            except BaseException as exc:
                self._files.release(claims)
                self._files.abandon_all(written)  # the files this import wrote, unless someone else uses them meanwhile
                if isinstance(exc, IntegrityError):  # the same patient restored by someone else meanwhile
                    raise InvalidInput(
                        f"Patient {archive.patient['code']!r} (or some of its records) already exists here; "
                        "nothing was imported."
                    ) from None
                raise

    @staticmethod
    def _refuse_clashes(db, archive) -> None:
        code = archive.patient["code"]
        if db.get(Patient, archive.patient["id"]) or db.scalar(select(Patient.id).where(Patient.code == code)):
            raise InvalidInput(f"Patient {code!r} already exists here.")
        for table, model in (("patients", Patient), *_MODELS):
            ids = archive.ids()[table]
            for start in range(0, len(ids), 500):
                if db.scalar(select(model.id).where(model.id.in_(ids[start : start + 500])).limit(1)):
                    raise InvalidInput(
                        f"The archive's {table} reuse ids of records already here (of another patient?); nothing was imported."
                    )


_MODELS = (("areas", Area), ("sessions", TreatmentSession), ("photos", PhotoRecord), ("scores", MetricScore))


def _row(obj) -> dict[str, Any]:
    out = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        out[column.key] = value
    return out
