"""De-identified export for teaching and publication: consented photos and their numbers, nothing that names.

A teaching set is a zip with ``teaching-set.json`` and the photos. What it holds
is listed field by field (an allow-list, so a column added to the records later
never leaks by default):

* per case (patient): a random pseudonym, the Fitzpatrick type, the treated
  areas; the sessions as **days since the first session**, treatment and
  settings;
* per photo: day, area, view, consent level, measurement status, normalisation
  method, alignment quality, the scores with engine version and settings hash.

Left out: name, patient code, birth year, every free-text note, session dates,
provider, capture time, camera, who uploaded (``created_by``), database ids and
photo hashes (a hash links a photo back to the original file). Photos are
decoded and re-encoded (sRGB, no EXIF/XMP/ICC/comments), so no file metadata
survives; an optional image step (face anonymisation, watermark) runs on the
pixels first.

Only photos whose consent covers the purpose (``teaching`` or ``publication``,
see :data:`~skintrack.records.db.CONSENT_LEVELS`) and that were not withdrawn
are exported; a patient with none is left out entirely. Such a set cannot be
restored into the records (it is not a backup: use the clinical archive).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np
from sqlalchemy import select

from .._version import __version__
from ..photo import Photo, atomic_write, load_photo, photo_to_bytes
from .db import CONSENT_LEVELS, Area, Patient, PhotoRecord
from .errors import InvalidInput
from .views import Actor

__all__ = ["DEIDENTIFIED_PURPOSES", "TEACHING_FORMAT", "DeidentifiedExportMixin", "ImageStep"]

TEACHING_FORMAT = "skintrack-teaching-set/1"
DEIDENTIFIED_PURPOSES = ("teaching", "publication")
MANIFEST = "teaching-set.json"
#: What a de-identified export may do to each photo's pixels before it is written:
#: ``step(photo) -> HxWx3 uint8 RGB`` (e.g. blur the face, then add a watermark).
ImageStep = Callable[[Photo], np.ndarray]


class DeidentifiedExportMixin:
    """``export_deidentified``: consented photos and numbers of one or more patients, de-identified."""

    def export_deidentified(
        self,
        actor: Actor,
        patient_ids: str | Sequence[str],
        target: str | os.PathLike | BinaryIO,
        *,
        purpose: str = "teaching",
        image_step: ImageStep | None = None,
        description: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write a de-identified teaching / publication set (see the module docstring).

        Parameters
        ----------
        actor : Actor
            Must be allowed to export every patient (providers and admins).
        patient_ids : str or sequence of str
        target : path or writable binary file
        purpose : {"teaching", "publication"}
        image_step : callable, optional
            Applied to each photo's pixels before encoding (:data:`ImageStep`).
        description : dict, optional
            Extra plain values recorded in the manifest (e.g. what the image step did).

        Returns
        -------
        dict
            ``photos`` and ``cases`` written, ``bytes``, ``purpose``, and ``key``:
            the link from pseudonyms back to patient and photo ids, for the
            clinic's own records (e.g. to retract a photo whose consent is
            later withdrawn). The key is never written into the set.
        """
        if purpose not in DEIDENTIFIED_PURPOSES:
            raise InvalidInput(f"purpose must be one of {', '.join(DEIDENTIFIED_PURPOSES)}.")
        ids = [patient_ids] if isinstance(patient_ids, str) else list(dict.fromkeys(patient_ids))
        if not ids:
            raise InvalidInput("Choose at least one patient.")
        for patient_id in ids:
            self.authorize(actor, "export", patient_id)
        needed = CONSENT_LEVELS.index(purpose)
        cases, files, key = [], [], {"cases": {}, "photos": {}}
        used: set[str] = set()
        with self._db() as db:
            for patient_id in ids:
                patient = self._get(db, Patient, patient_id, "patient")
                sessions = sorted(patient.sessions, key=lambda s: (s.date, s.created_at))
                photos = [
                    p
                    for s in sessions
                    for p in sorted(s.photos, key=lambda p: p.created_at)
                    if p.consent_withdrawn_at is None and CONSENT_LEVELS.index(p.consent) >= needed
                ]
                if not photos:
                    continue
                case = _pseudonym(used)
                key["cases"][case] = patient.id
                first = sessions[0].date
                areas = {a.id: a for a in db.scalars(select(Area).where(Area.patient_id == patient.id))}
                entries = []
                for number, photo in enumerate(photos, start=1):
                    session = photo.session
                    day = (session.date - first).days
                    area = areas[photo.area_id]
                    suffix = ".png" if photo.file_name.endswith(".png") else ".jpg"
                    name = f"{case}/{number:02d}_day-{day:04d}{suffix}"
                    key["photos"][name] = photo.id
                    files.append((name, photo.file_name, suffix))
                    entries.append(_photo_entry(name, day, area, photo))
                cases.append(
                    {
                        "case": case,
                        "fitzpatrick": patient.fitzpatrick,
                        "areas": sorted({areas[p.area_id].name for p in photos}),
                        "sessions": [
                            {"day": (s.date - first).days, "treatment": s.treatment, "settings": dict(s.settings or {})}
                            for s in sessions
                        ],
                        "photos": entries,
                    }
                )
        payload = {
            "format": TEACHING_FORMAT,
            "purpose": purpose,
            "engine_version": __version__,
            "exported_on": dt.date.today().isoformat(),
            "days": "days since the case's first session",
            **({"processing": description} if description else {}),
            "cases": cases,
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(payload, indent=1, ensure_ascii=False))
            for name, stored, suffix in files:
                archive.writestr(name, _clean_pixels(self.store.get(stored), suffix, image_step), compress_type=zipfile.ZIP_STORED)
        data = buffer.getvalue()
        if hasattr(target, "write"):
            target.write(data)
        else:
            atomic_write(Path(target), data)
        return {"photos": len(files), "cases": len(cases), "bytes": len(data), "purpose": purpose, "key": key}


def _pseudonym(used: set[str]) -> str:
    """A random case name, unrelated to anything about the patient."""
    while True:
        name = f"case-{secrets.token_hex(3)}"
        if name not in used:
            used.add(name)
            return name


def _photo_entry(name: str, day: int, area: Area, photo: PhotoRecord) -> dict[str, Any]:
    scores = sorted(photo.scores, key=lambda s: s.metric)
    quality = (photo.alignment or {}).get("quality")
    return {
        "file": name,
        "day": day,
        "area": area.name,
        "view": photo.view,
        "consent": photo.consent,
        "status": photo.status,
        "is_baseline": area.baseline_photo_id == photo.id,
        "normalization": (photo.normalization or {}).get("method"),
        "alignment_quality": quality if isinstance(quality, (int, float)) and math.isfinite(quality) else None,
        "scores": {s.metric: s.value for s in scores},
        "engine_version": scores[0].engine_version if scores else None,
        "settings_hash": scores[0].settings_hash if scores else None,
    }


def _clean_pixels(data: bytes, suffix: str, image_step: ImageStep | None) -> bytes:
    """The photo's pixels only (sRGB, no file metadata), after the optional image step."""
    photo = load_photo(data)
    rgb = photo.rgb if image_step is None else np.asarray(image_step(photo))
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidInput("The image step must return an HxWx3 uint8 RGB image.")
    return photo_to_bytes(rgb, "PNG" if suffix == ".png" else "JPEG", quality=95)
