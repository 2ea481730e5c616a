"""De-identified export for teaching and publication: consented photos and their numbers, nothing that names.

A teaching set is a zip with ``teaching-set.json`` and the photos. What it holds
is listed field by field (an allow-list, so a column added to the records later
never leaks by default):

* per case (patient): a random pseudonym, the Fitzpatrick type, the treated
  areas; the sessions as **days since the first session**, treatment and
  settings;
* per photo: day, area, view, consent level, measurement status, normalisation
  method, alignment quality, the scores with engine version and settings hash.

**No free text leaves unreviewed.** Area names are mapped to a fixed vocabulary
of body sites (:func:`body_site`: "cheek, left", "forehead", "other site"),
never copied; views likewise ("front", "left", "right", "oblique", "close-up",
else "other"). Treatment settings keep their numbers and yes/no values; a text
value (the app's "Other settings") is withheld unless the exporter lists that
exact text in ``reviewed_text`` after reading it, and so is a setting whose
*name* is not built of the parameter words of :data:`SETTING_WORDS` (the
session then says how many were withheld).

**Faces are hidden by default** (``hide_faces="blur"``, :func:`skintrack.privacy.face_hiding.hide_faces`):
every face down to about 40 pixels is pixelated; a photo in which a face can
still be found afterwards is left out of the set, and the result says which
and why (``left_out``). ``hide_faces="none"`` must be asked for.

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
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np
from sqlalchemy import select

from .._version import __version__
from ..intake.photo import Photo, load_photo, photo_to_bytes
from ..private_files import atomic_write
from .db import CONSENT_LEVELS, Area, Patient, PhotoRecord
from .errors import InvalidInput
from .views import Actor

__all__ = ["DEIDENTIFIED_PURPOSES", "SETTING_WORDS", "TEACHING_FORMAT", "VIEWS", "DeidentifiedExportMixin", "ImageStep",
           "body_site", "setting_name_allowed"]

TEACHING_FORMAT = "skintrack-teaching-set/1"
DEIDENTIFIED_PURPOSES = ("teaching", "publication")
MANIFEST = "teaching-set.json"
#: What a de-identified export may do to each photo's pixels before it is written:
#: ``step(photo) -> HxWx3 uint8 RGB`` (e.g. blur the face, then add a watermark).
ImageStep = Callable[[Photo], np.ndarray]
#: Views that may leave by name; any other view label is written as "other".
VIEWS = ("front", "left", "right", "oblique", "close-up", "profile")
_SETTING_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")
#: Words a treatment setting's name may be built of (device parameters and units, lower case), e.g. the app's
#: ``needle_depth_mm``, ``energy_J_cm2``, ``other``. Any other name is withheld unless reviewed.
SETTING_WORDS = frozenset("""
    needle needles depth energy fluence pulse pulses width duration delay interval spot size diameter tip
    wavelength passes pass stacks stacking power frequency rate density coverage overlap cooling temperature
    level mode program setting settings handpiece shots shot count number total area speed pressure time
    intensity peel strength concentration layers layer fractional ablative non rf laser ipl led microneedling
    device other mj j cm2 cm mm um nm ns us ms s min w mw hz khz mhz percent pct c ph x
""".split())
_WITHHELD = "(free text withheld: not reviewed)"


def body_site(area_name: str) -> str:
    """The fixed-vocabulary body site of an area's free-text name: the DICOM body part and side, or "other site".

    "left cheek (Zoë's wedding)" → "cheek, left"; "chest" → "chest"; "scar from the 2019 accident" → "other site".
    """
    from ..report.dicom import anatomy_of

    anatomy = anatomy_of(area_name)
    if not anatomy.body_part:
        return "other site"
    site = anatomy.body_part.lower()
    side = {"L": "left", "R": "right", "B": "both sides"}.get(anatomy.laterality or "")
    return f"{site}, {side}" if side else site


def _view(view: str) -> str:
    label = " ".join(str(view or "").lower().split())
    return label if label in VIEWS else "other"


def setting_name_allowed(name: object, reviewed: frozenset[str] = frozenset()) -> bool:
    """Whether a treatment setting's *name* may leave: reviewed word for word, or built only of the words of
    :data:`SETTING_WORDS` joined by ``_`` ("needle_depth_mm", "fluence_J_cm2"; not "Secretname_wedding_day")."""
    if not isinstance(name, str):
        return False
    if name in reviewed:
        return True
    return bool(_SETTING_NAME.match(name)) and all(part.lower() in SETTING_WORDS for part in name.split("_"))


def _settings(values: dict | None, reviewed: frozenset[str]) -> tuple[dict, int]:
    """Numbers and yes/no values of settings with allowed names; text only when reviewed word for word.
    Also returns how many settings were withheld for their name (a setting name typed freely is free text)."""
    out, withheld = {}, 0
    for name, value in (values or {}).items():
        if not setting_name_allowed(name, reviewed):
            withheld += 1
            continue
        if isinstance(value, str):
            out[name] = value if value in reviewed else _WITHHELD
        elif value is None or isinstance(value, (bool, int, float)):
            out[name] = value
    return out, withheld


def _session(session, first: dt.date, reviewed: frozenset[str]) -> dict:
    settings, withheld = _settings(session.settings, reviewed)
    entry = {"day": (session.date - first).days, "treatment": session.treatment, "settings": settings}
    if withheld:
        entry["settings_withheld"] = withheld
    return entry


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
        hide_faces: str = "blur",
        reviewed_text: Sequence[str] = (),
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
        hide_faces : {"blur", "eye-bar", "none"}
            How faces are hidden before the image step (default ``blur``: every face;
            see :func:`skintrack.privacy.face_hiding.hide_faces`). ``none`` leaves faces as taken.
        reviewed_text : sequence of str
            Setting texts the exporter has read and allows out word for word; every
            other text value is withheld.

        Returns
        -------
        dict
            ``photos`` and ``cases`` written, ``bytes``, ``purpose``, ``left_out``
            (``[{"photo_id", "reason"}]``: photos not exported, e.g. a face still
            visible), and ``key``:
            the link from pseudonyms back to patient and photo ids, for the
            clinic's own records (e.g. to retract a photo whose consent is
            later withdrawn). The key is never written into the set.
        """
        if purpose not in DEIDENTIFIED_PURPOSES:
            raise InvalidInput(f"purpose must be one of {', '.join(DEIDENTIFIED_PURPOSES)}.")
        if hide_faces not in ("blur", "eye-bar", "none"):
            raise InvalidInput(f"hide_faces must be blur, eye-bar or none, not {hide_faces!r}.")
        reviewed = frozenset(t for t in reviewed_text if isinstance(t, str))
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
                    files.append((name, photo.file_name, suffix, case, photo.id))
                    entries.append(_photo_entry(name, day, area, photo))
                cases.append(
                    {
                        "case": case,
                        "fitzpatrick": patient.fitzpatrick,
                        "areas": sorted({body_site(areas[p.area_id].name) for p in photos}),
                        "sessions": [_session(s, first, reviewed) for s in sessions],
                        "photos": entries,
                    }
                )
        payload = {
            "format": TEACHING_FORMAT,
            "purpose": purpose,
            "engine_version": __version__,
            "exported_on": dt.date.today().isoformat(),
            "days": "days since the case's first session",
            "processing": {
                **({} if hide_faces == "none" and "anonymised" in (description or {}) else  # the caller's own step
                   {"faces": {"blur": "every face hidden", "eye-bar": "eyes barred", "none": "not hidden"}[hide_faces]}),
                **(description or {}),
            },
            "cases": cases,
        }
        from ..privacy.face_hiding import FaceStillVisible

        images, left_out = {}, []
        for name, stored, suffix, case, photo_id in files:
            try:
                images[name] = _clean_pixels(self.store.get(stored), suffix, image_step, hide_faces)
            except FaceStillVisible as exc:
                left_out.append({"photo_id": photo_id, "case": case, "reason": str(exc)})
        if left_out:
            gone = {item["photo_id"] for item in left_out}
            for case in cases:
                case["photos"] = [e for e in case["photos"] if key["photos"].get(e["file"]) not in gone]
            payload["left_out"] = [{"case": item["case"], "reason": item["reason"]} for item in left_out]
            for name in [n for n, pid in key["photos"].items() if pid in gone]:
                del key["photos"][name]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(payload, indent=1, ensure_ascii=False))
            for name, data in images.items():
                archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        data = buffer.getvalue()
        if hasattr(target, "write"):
            target.write(data)
        else:
            atomic_write(Path(target), data)
        for patient_id in {v for v in key["cases"].values()}:
            count = sum(1 for n in images if key["cases"].get(n.split("/")[0]) == patient_id)
            self.record_export(actor, patient_id, f"{purpose} set", purpose=purpose,
                               detail=f"{count} photos, faces {hide_faces}" + (f", {len(left_out)} left out" if left_out else ""))  # fmt: skip
        return {"photos": len(images), "cases": len(cases), "bytes": len(data), "purpose": purpose, "key": key,
                "left_out": left_out}  # fmt: skip


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
        "area": body_site(area.name),
        "view": _view(photo.view),
        "consent": photo.consent,
        "status": photo.status,
        "is_baseline": area.baseline_photo_id == photo.id,
        "normalization": (photo.normalization or {}).get("method"),
        "alignment_quality": quality if isinstance(quality, (int, float)) and math.isfinite(quality) else None,
        "scores": {s.metric: s.value for s in scores},
        "engine_version": scores[0].engine_version if scores else None,
        "settings_hash": scores[0].settings_hash if scores else None,
    }


def _clean_pixels(data: bytes, suffix: str, image_step: ImageStep | None, hide_faces: str = "blur") -> bytes:
    """The photo's pixels only (sRGB, no file metadata), faces hidden, after the optional image step."""
    photo = load_photo(data)
    if hide_faces != "none":
        from ..privacy.face_hiding import hide_faces as hide

        hidden, _ = hide(photo, hide_faces)
        photo = load_photo(hidden)
    rgb = photo.rgb if image_step is None else np.asarray(image_step(photo))
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidInput("The image step must return an HxWx3 uint8 RGB image.")
    return photo_to_bytes(rgb, "PNG" if suffix == ".png" else "JPEG", quality=95)
