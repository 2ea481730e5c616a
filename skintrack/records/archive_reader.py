"""Reading a patient archive that may be hostile: limits, structure, ownership and files, before any write.

An archive comes from outside — a backup, or a file someone emailed the
clinic. :func:`read_archive` checks everything it could do before the records
write a byte, and refuses with :class:`~skintrack.records.InvalidInput`
(nothing else escapes):

1. **The zip.** At most :data:`MAX_MEMBERS` members: ``records.json`` and
   ``photos/<sha256>.jpg|png``, each once, not encrypted. Sizes declared in the
   central directory within :data:`MAX_RECORDS_BYTES` (``records.json``),
   :data:`~skintrack.intake.photo.MAX_FILE_BYTES` (a photo) and :data:`MAX_TOTAL_BYTES`
   (all members), and reading stops at those limits whatever the headers claim:
   a zip bomb is refused after reading at most the limit.
2. **The rows.** The archive format; every row has the columns of its table
   with the right types, lengths and characters (the rules of
   :mod:`~skintrack.records.validation`) and known treatments, statuses and
   consent levels.
3. **Ownership.** Every area and session belongs to the archived patient, every
   photo to one of its sessions *and* one of its areas, every score to one of
   its photos, every area's baseline to one of that area's photos; no id twice.
   An archive cannot touch another patient's record.
4. **The photos.** Each one named by a row is in the zip, its bytes hash to its
   name, and it decodes as a photo of the format its name says (the decode
   limits of :func:`~skintrack.intake.photo.load_photo` apply). A photo that still
   carries identifying metadata (an archive made before MPO frames and data
   after the image were stripped) is cleaned — pixels untouched — and renamed
   by its new hash.

File names are only ever built from a hash and a suffix checked against
``^[0-9a-f]{64}\\.(jpg|png)$``, so no name in an archive can reach a path
outside the photo store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import JSON, Date, DateTime, Float, Integer, String, Text

from ..intake.photo import MAX_FILE_BYTES, PhotoError, load_photo
from . import validation
from .db import CONSENT_LEVELS, PHOTO_STATUSES, TREATMENTS, Area, MetricScore, Patient, PhotoRecord, TreatmentSession
from .errors import InvalidInput
from .store import is_stored_name, without_metadata

__all__ = ["ARCHIVE_FORMAT", "MAX_MEMBERS", "MAX_RECORDS_BYTES", "MAX_ROWS", "MAX_TOTAL_BYTES", "Archive", "read_archive"]

ARCHIVE_FORMAT = "skintrack-patient-archive/1"
#: Most members of an archive (one patient's photos, and records.json).
MAX_MEMBERS = 20_000
#: Largest records.json (uncompressed).
MAX_RECORDS_BYTES = 64 * 2**20
#: Most bytes all members may take uncompressed.
MAX_TOTAL_BYTES = 16 * 2**30
#: Most rows (areas, sessions, photos and scores together).
MAX_ROWS = 500_000
#: Longest value of a free-text column in an archive (notes, reasons).
MAX_TEXT = 100_000
#: Largest JSON value of one column (normalisation, alignment, provenance, ...), as JSON text.
MAX_JSON_CHARS = 1_000_000

_TABLES = (("areas", Area), ("sessions", TreatmentSession), ("photos", PhotoRecord), ("scores", MetricScore))
_CHOICES = {("sessions", "treatment"): TREATMENTS, ("photos", "status"): PHOTO_STATUSES, ("photos", "consent"): CONSENT_LEVELS}
_FORMAT_BY_SUFFIX = {".jpg": "JPEG", ".png": "PNG"}
_CHUNK = 2**20


@dataclass
class Archive:
    """A checked archive: rows as column values for each table, and where each photo's bytes are.

    ``photos`` rows already carry the names their files will be stored under
    (renamed when a photo had to be cleaned). Use as a context manager, or
    :meth:`close` it.
    """

    zip: zipfile.ZipFile
    patient: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # sha256 name -> member
    sizes: dict[str, int] = field(default_factory=dict)  # sha256 name -> bytes
    store_names: dict[str, str] = field(default_factory=dict)  # sha256 name -> the store's name (rows carry it)

    def ids(self) -> dict[str, list[str]]:
        """Every id the archive brings, by table."""
        return {"patients": [self.patient["id"]], **{table: [r["id"] for r in rows] for table, rows in self.rows.items()}}

    def photo_bytes(self, stored_name: str) -> bytes:
        """The bytes to store under ``stored_name``, read again and checked against the name again."""
        data = _clean(_read_member(self.zip, self.members[stored_name], MAX_FILE_BYTES), stored_name)
        if hashlib.sha256(data).hexdigest() != stored_name.split(".")[0]:
            raise InvalidInput(f"The photo file {stored_name} changed while it was being restored.")
        return data

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_archive(source: str | os.PathLike | bytes | BinaryIO, *, store_name=None) -> Archive:
    """Open and check a patient archive (see the module docstring); nothing is written.

    ``store_name(data, suffix)`` gives the name the photo store will keep a
    photo under (a keyed hash in an encrypted store); the ``photos`` rows get
    it as their ``file_name``. By default the archive's own sha256 name.

    Raises
    ------
    InvalidInput
        For anything wrong with the archive, with a message saying what.
    """
    archive = _open_zip(source)
    try:
        infos = _check_members(archive)
        payload = _load_records(archive, infos.get("records.json"))
        patient, rows = _check_rows(payload)
        _check_ownership(patient, rows)
        members, sizes, store_names = _check_photos(archive, infos, rows["photos"], store_name)
    except InvalidInput:
        archive.close()
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        archive.close()
        raise InvalidInput(f"The archive is damaged or unreadable ({type(exc).__name__}: {exc}).") from None
    return Archive(archive, patient, rows, members, sizes, store_names)


# --------------------------------------------------------------------------- 1. the zip


def _open_zip(source) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle: Any = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        handle = source if _seekable(source) else io.BytesIO(source.read(MAX_TOTAL_BYTES + 1))
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"No archive at {path}.")
        handle = path
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InvalidInput("This is not a skintrack patient archive (not a zip file).") from None


def _seekable(handle) -> bool:
    try:
        return bool(handle.seekable())
    except Exception:
        return False


def _check_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InvalidInput(f"The archive has {len(infos)} files; at most {MAX_MEMBERS} are allowed.")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if name.endswith("/") and info.file_size == 0:
            continue  # a folder entry
        if name != "records.json" and not (name.startswith("photos/") and is_stored_name(name[7:])):
            raise InvalidInput(f"The archive holds an unexpected file {name[:80]!r}; refused.")
        if name in by_name:
            raise InvalidInput(f"The archive holds {name[:80]!r} twice; refused.")
        if info.flag_bits & 0x1:
            raise InvalidInput("The archive is encrypted; skintrack archives never are.")
        limit = MAX_RECORDS_BYTES if name == "records.json" else MAX_FILE_BYTES
        if info.file_size > limit:
            raise InvalidInput(f"{name[:80]} would unpack to {info.file_size / 2**20:.0f} MiB; the limit is {limit / 2**20:.0f} MiB.")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise InvalidInput(f"The archive would unpack to more than {MAX_TOTAL_BYTES / 2**20:.0f} MiB; refused.")
        by_name[name] = info
    return by_name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, refusing to inflate more than ``limit`` whatever its header says."""
    parts, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise InvalidInput(f"{info.filename[:80]} unpacks to more than {limit / 2**20:.0f} MiB; refused.")
            parts.append(chunk)
    return b"".join(parts)


# --------------------------------------------------------------------------- 2. the rows


def _load_records(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None) -> dict:
    if info is None:
        raise InvalidInput("This is not a skintrack patient archive (no records.json).")
    try:
        payload = json.loads(_read_member(archive, info, MAX_RECORDS_BYTES))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InvalidInput("The archive's records.json is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidInput("The archive's records.json does not hold a patient record.")
    if payload.get("format") != ARCHIVE_FORMAT:
        raise InvalidInput(f"Unknown archive format {str(payload.get('format'))[:80]!r}.")
    return payload


def _check_rows(payload: dict) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    if not isinstance(payload.get("patient"), dict):
        raise InvalidInput("The archive's records.json has no patient.")
    patient = _row_values("patient", Patient, payload["patient"])
    if validation.patient_code(patient.get("code"), "patient.code") != patient.get("code"):
        raise InvalidInput("The archive's patient code is not in its normal form (NFKC, trimmed).")
    this_year = dt.date.today().year
    for key, low, high in (("birth_year", 1900, this_year), ("fitzpatrick", 1, 6)):
        if patient.get(key) is not None:
            validation.integer(patient[key], f"patient.{key}", low, high)
    rows: dict[str, list[dict[str, Any]]] = {}
    count = 0
    for table, model in _TABLES:
        values = payload.get(table, [])
        if not isinstance(values, list):
            raise InvalidInput(f"The archive's {table} are not a list.")
        count += len(values)
        if count > MAX_ROWS:
            raise InvalidInput(f"The archive holds more than {MAX_ROWS} rows; refused.")
        rows[table] = []
        for index, row in enumerate(values):
            if not isinstance(row, dict):
                raise InvalidInput(f"Row {index} of the archive's {table} is not a record.")
            rows[table].append(_row_values(f"{table}[{index}]", model, row))
    return patient, rows


def _row_values(where: str, model, row: dict) -> dict[str, Any]:
    """Column values of ``model`` from an archived row, each checked; dates and times parsed."""
    table = model.__tablename__
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        key = column.key
        if key not in row or row[key] is None:
            if key in row and column.nullable:
                values[key] = None
            elif not column.nullable and column.default is None and not column.primary_key:
                raise InvalidInput(f"{where} lacks {key}.")
            elif column.primary_key:
                raise InvalidInput(f"{where} has no id.")
            continue
        values[key] = _value(f"{where}.{key}", column, row[key])
        choices = _CHOICES.get((table, key))
        if choices and values[key] not in choices:
            raise InvalidInput(f"{where}.{key} is {str(values[key])[:40]!r}, not one of {', '.join(choices)}.")
    return values


def _value(where: str, column, value: Any) -> Any:
    kind = column.type
    if column.primary_key or (column.foreign_keys and isinstance(kind, String)) or column.key.endswith("_id"):
        if not validation.is_id(value):
            raise InvalidInput(f"{where} is not a record id.")
        return value
    if isinstance(kind, (DateTime, Date)):
        parse = dt.datetime.fromisoformat if isinstance(kind, DateTime) else dt.date.fromisoformat
        if not isinstance(value, str) or len(value) > 40:
            raise InvalidInput(f"{where} is not a date.")
        try:
            parsed = parse(value)
        except ValueError:
            raise InvalidInput(f"{where} is not a date.") from None
        if isinstance(parsed, dt.datetime) and parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return parsed
    if isinstance(kind, Text):
        return validation.text(value, where, max_length=MAX_TEXT, multiline=True)
    if isinstance(kind, String):
        return validation.text(value, where, max_length=kind.length or MAX_TEXT)
    if isinstance(kind, Integer):
        return validation.integer(value, where, -(2**31), 2**31 - 1)
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput(f"{where} is not a finite number.")
        return float(value)
    if isinstance(kind, JSON):
        expected = list if column.key == "quality" else dict
        if not isinstance(value, expected):
            raise InvalidInput(f"{where} is not a {'list' if expected is list else 'mapping'}.")
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (ValueError, TypeError, RecursionError):
            raise InvalidInput(f"{where} holds values no database can store.") from None
        if len(encoded) > MAX_JSON_CHARS or "\\u0000" in encoded:
            raise InvalidInput(f"{where} is too large or holds a NUL character.")
        return value
    raise InvalidInput(f"{where} has a type skintrack cannot restore.")  # pragma: no cover - a new column type


# --------------------------------------------------------------------------- 3. ownership


def _unique(where: str, ids: list[str]) -> set[str]:
    found = set(ids)
    if len(found) != len(ids):
        raise InvalidInput(f"The archive's {where} repeat an id; refused.")
    return found


def _check_ownership(patient: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    owner = patient["id"]
    areas = _unique("areas", [r["id"] for r in rows["areas"]])
    sessions = _unique("sessions", [r["id"] for r in rows["sessions"]])
    photos = _unique("photos", [r["id"] for r in rows["photos"]])
    _unique("scores", [r["id"] for r in rows["scores"]])
    if owner in areas | sessions | photos:
        raise InvalidInput("The archive's ids repeat across tables; refused.")
    for table in ("areas", "sessions"):
        for row in rows[table]:
            if row.get("patient_id") != owner:
                raise InvalidInput(f"A row of the archive's {table} belongs to another patient; nothing was imported.")
    photo_area = {}
    for row in rows["photos"]:
        if row.get("session_id") not in sessions or row.get("area_id") not in areas:
            raise InvalidInput("A photo in the archive belongs to a session or area outside it; nothing was imported.")
        photo_area[row["id"]] = row["area_id"]
    for row in rows["scores"]:
        if row.get("photo_id") not in photos:
            raise InvalidInput("A score in the archive belongs to a photo outside it; nothing was imported.")
    for row in rows["areas"]:
        baseline = row.get("baseline_photo_id")
        if baseline is not None and photo_area.get(baseline) != row["id"]:
            raise InvalidInput("An area's baseline in the archive is not one of its photos; nothing was imported.")


# --------------------------------------------------------------------------- 4. the photos


def _check_photos(archive, infos, photo_rows, store_name) -> tuple[dict[str, zipfile.ZipInfo], dict[str, int], dict[str, str]]:
    members: dict[str, zipfile.ZipInfo] = {}
    sizes: dict[str, int] = {}
    renamed: dict[str, str] = {}
    store_names: dict[str, str] = {}
    for row in photo_rows:
        name = row.get("file_name")
        if not is_stored_name(name):
            raise InvalidInput(f"The photo file name {str(name)[:80]!r} is not a sha256 name; refused.")
        if row.get("stored_sha256") != name.split(".")[0]:
            raise InvalidInput(f"The photo {name} does not carry its own hash; refused.")
        if name not in renamed:
            info = infos.get(f"photos/{name}")
            if info is None:
                raise InvalidInput(f"The archive lacks the photo file {name}.")
            data = _read_member(archive, info, MAX_FILE_BYTES)
            if hashlib.sha256(data).hexdigest() != name.split(".")[0]:
                raise InvalidInput(f"The photo file {name} in the archive is damaged (its bytes do not match its name).")
            suffix = "." + name.split(".")[1]
            try:
                photo = load_photo(data)
            except PhotoError as exc:
                raise InvalidInput(f"The photo file {name} in the archive is not a usable photo: {exc}") from None
            if photo.metadata.get("format") != _FORMAT_BY_SUFFIX[suffix]:
                raise InvalidInput(f"The photo file {name} is not a {_FORMAT_BY_SUFFIX[suffix]} file.")
            del photo
            clean = _clean(data, name)
            stored = f"{hashlib.sha256(clean).hexdigest()}{suffix}"
            renamed[name] = stored
            members[stored], sizes[stored] = info, len(clean)
            store_names[stored] = store_name(clean, suffix) if store_name else stored
            if not is_stored_name(store_names[stored]):  # pragma: no cover - a bug in the caller
                raise InvalidInput(f"No stored name for {name}.")
        row["file_name"] = store_names[renamed[name]]
        row["stored_sha256"] = renamed[name].split(".")[0]
    return members, sizes, store_names


def _clean(data: bytes, name: str) -> bytes:
    """The photo without identifying metadata (an archive from before MPO frames were stripped may hold some)."""
    try:
        return without_metadata(data, name)
    except ValueError as exc:
        raise InvalidInput(f"The photo file {name} in the archive is damaged: {exc}") from None
