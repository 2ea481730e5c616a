"""Patient archives someone may have tampered with (skintrack/records/archive.py, archive_reader.py).

Every hostile archive is built here from a real export: a photo name that walks out of the store, rows
that point into another patient's record, zip bombs, malformed records, photos that are not photos, an
old archive whose photo still carries GPS. None may leave a file outside the data folder, change another
patient's record, leave files behind or end in a traceback. SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from skintrack.records import InvalidInput, Records, archive_reader

from .hostile import zip_bomb, zip_of
from .test_jpeg import _identifying, _mpo
from .test_records import ADMIN, DOCTOR, SAMPLE_FILES, SAMPLES, _row_counts, records  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[dict, dict[str, bytes]]:
    """A real two-photo archive of P-001: (records.json as a dict, {member name: bytes})."""
    source = Records(tmp_path_factory.mktemp("source"))
    person = source.add_patient(DOCTOR, "P-001", "Archived Patient")
    area = source.add_area(DOCTOR, person.id, "left cheek")
    for name, date in zip(SAMPLE_FILES[:2], ("2026-05-04", "2026-05-07")):
        session = source.add_session(DOCTOR, person.id, date, "micro-needling")
        source.add_photo(DOCTOR, session.id, area.id, SAMPLES / name)
    buffer = io.BytesIO()
    source.export_patient_archive(DOCTOR, person.id, buffer)
    source.close()
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("records.json")), members


def _archive(payload: dict, members: dict[str, bytes]) -> bytes:
    return zip_of({"records.json": json.dumps(payload).encode(), **members})


def _nothing_changed(records, before: dict[str, int], data_dir: Path) -> None:
    assert _row_counts(records) == before
    assert records.store.temporary_files(abandoned_only=False) == []
    stored = {p.name for p in (data_dir / "photos").rglob("*") if p.is_file()}
    assert stored == records.store.files() == _referenced(records)


def _referenced(records) -> set[str]:
    return {p.file_name for patient in records.list_patients(DOCTOR) for p in records.list_photos(DOCTOR, patient.id)}


def _files_outside(root: Path, data_dir: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and data_dir not in p.parents}


def test_a_real_archive_still_restores_exactly(records, exported):
    payload, members = exported
    restored = records.import_patient_archive(DOCTOR, _archive(payload, members))
    assert restored.id == payload["patient"]["id"] and restored.code == "P-001"
    photos = records.list_photos(DOCTOR, restored.id)
    assert sorted(p.file_name for p in photos) == sorted(p["file_name"] for p in payload["photos"])
    assert photos[0].is_baseline and photos[1].scores["redness"] == pytest.approx(
        next(s["value"] for s in payload["scores"] if s["photo_id"] == photos[1].id and s["metric"] == "redness")
    )


# --------------------------------------------------------------------------- item 1: paths out of the store


def _traversal_names(victim: Path, content: bytes) -> list[str]:
    digest = hashlib.sha256(content).hexdigest()
    return [
        f"{digest}./../../../../../../../../..{victim}",  # the reported exploit: the digest, then a path
        f"{digest}.jpg/../../../../../../../..{victim}",
        f"../../../../../../../../..{victim}",
        str(victim),
        f"{digest.upper()}.jpg",
        f"{digest}.jpeg",
        f"{digest}.exe",
        f"{digest}.jpg\x00.png",
    ]


@pytest.mark.filterwarnings("ignore:Duplicate name")  # a NUL in a member name truncates it onto a real one
def test_photo_names_that_leave_the_store_are_refused(records, exported, tmp_path):
    payload, members = exported
    data_dir = records.data_dir
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_bytes(b"must survive")
    content = next(iter(members.values()))
    outside_before = _files_outside(tmp_path, data_dir)
    before = _row_counts(records)
    for name in _traversal_names(victim, content):
        hostile = copy.deepcopy(payload)
        hostile["photos"][0]["file_name"] = name
        for member in (f"photos/{name}", f"photos/{Path(name).name}"):
            with pytest.raises(InvalidInput):
                records.import_patient_archive(DOCTOR, _archive(hostile, {**members, member: content}))
            _nothing_changed(records, before, data_dir)
            assert _files_outside(tmp_path, data_dir) == outside_before, name
    # A later delete of another patient never touches the outside file either.
    other = records.add_patient(DOCTOR, "P-OTHER")
    records.delete_patient(DOCTOR, other.id)
    assert victim.read_bytes() == b"must survive"


def test_the_store_turns_no_other_name_into_a_path(records):
    for name in ("../x.jpg", "a" * 64 + "./../../x", "/etc/passwd", "A" * 64 + ".jpg", "a" * 64 + ".gif", None):
        with pytest.raises(ValueError):
            records.store.path(name)
        assert not records.store.exists(name)
        records.store.delete(name)  # a no-op, not a deletion somewhere else
        with pytest.raises(FileNotFoundError):
            records.store.get(name)


# --------------------------------------------------------------------------- item 2: another patient's record


@pytest.fixture
def bystander(records):
    """Another patient already in the records, with a measured photo."""
    person = records.add_patient(DOCTOR, "P-BYSTANDER", "Bystander")
    area = records.add_area(DOCTOR, person.id, "forehead")
    session = records.add_session(DOCTOR, person.id, "2026-04-01", "laser")
    photo = records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[3])
    return person, area, session, photo


def _snapshot(records, person_id) -> str:
    view = {
        "patient": records.get_patient(DOCTOR, person_id),
        "sessions": records.list_sessions(DOCTOR, person_id),
        "areas": records.list_areas(DOCTOR, person_id),
        "photos": records.list_photos(DOCTOR, person_id),
        "table": records.scores_table(DOCTOR, person_id),
    }
    return json.dumps(view, default=str, sort_keys=True)


def _tamperings(bystander):
    person, area, session, photo = bystander
    return {
        "a session of another patient": lambda p: p["sessions"][1].update(patient_id=person.id),
        "an area of another patient": lambda p: p["areas"][0].update(patient_id=person.id),
        "a photo in another patient's session": lambda p: p["photos"][1].update(session_id=session.id),
        "a photo in another patient's area": lambda p: p["photos"][1].update(area_id=area.id),
        "a score of another patient's photo": lambda p: p["scores"].append(
            {**p["scores"][0], "id": "99999999-0000-0000-0000-000000000000", "photo_id": photo.id, "value": 99.0}
        ),
        "a baseline that is another patient's photo": lambda p: p["areas"][0].update(baseline_photo_id=photo.id),
        "an area id already used by another patient": lambda p: _rename_id(p, "areas", p["areas"][0]["id"], area.id),
        "a session id already used by another patient": lambda p: _rename_id(p, "sessions", p["sessions"][1]["id"], session.id),
        "a photo id already used by another patient": lambda p: _rename_id(p, "photos", p["photos"][1]["id"], photo.id),
        "the patient id of another patient": lambda p: _rename_id(p, "patient", p["patient"]["id"], person.id),
    }


def _rename_id(payload, table, old, new) -> None:
    """Give a row a new id everywhere the archive refers to it (so only the clash with the database remains)."""
    text = json.dumps(payload).replace(old, new)
    payload.clear()
    payload.update(json.loads(text))


def test_an_archive_cannot_touch_another_patients_record(records, exported, bystander):
    payload, members = exported
    person = bystander[0]
    before_rows, before_bystander = _row_counts(records), _snapshot(records, person.id)
    for name, tamper in _tamperings(bystander).items():
        hostile = copy.deepcopy(payload)
        tamper(hostile)
        with pytest.raises(InvalidInput, match="patient|archive|already|outside|belongs"):
            records.import_patient_archive(DOCTOR, _archive(hostile, members))
        assert _row_counts(records) == before_rows, name
        assert _snapshot(records, person.id) == before_bystander, name
        _nothing_changed(records, before_rows, records.data_dir)


# --------------------------------------------------------------------------- item 4: zip bombs


def test_zip_bombs_are_refused_from_their_sizes_before_anything_is_written(records, exported, monkeypatch):
    payload, members = exported
    before = _row_counts(records)
    name = payload["photos"][0]["file_name"]
    bombs = {
        "a 256 MiB photo of zeros": _archive(payload, {**members, f"photos/{name}": 256 * 2**20}),
        "a 100 MiB records.json": zip_of({"records.json": 100 * 2**20}),
    }
    for label, bomb in bombs.items():
        assert len(bomb) < 1_000_000, label  # the real photo and a few hundred KB of deflated zeros
        with pytest.raises(InvalidInput, match="MiB"):
            records.import_patient_archive(DOCTOR, bomb)
        _nothing_changed(records, before, records.data_dir)
    monkeypatch.setattr(archive_reader, "MAX_MEMBERS", 5)
    many = {f"photos/{hashlib.sha256(bytes([i])).hexdigest()}.jpg": bytes([i]) for i in range(6)}
    with pytest.raises(InvalidInput, match="at most 5"):
        records.import_patient_archive(DOCTOR, _archive(payload, many))
    monkeypatch.setattr(archive_reader, "MAX_TOTAL_BYTES", 2**18)
    with pytest.raises(InvalidInput, match="would unpack to more than"):
        records.import_patient_archive(DOCTOR, _archive(payload, members))
    _nothing_changed(records, before, records.data_dir)


def _lie_about_size(archive: bytes, member: str, claimed: int) -> bytes:
    """Rewrite a member's uncompressed size in its local header and the central directory."""
    data = bytearray(archive)
    encoded = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = 0
        while (position := data.find(signature, position)) >= 0:
            name_length = struct.unpack("<H", data[position + offset + 4 : position + offset + 6])[0]
            name_at = position + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + name_length] == encoded:
                data[position + offset : position + offset + 4] = struct.pack("<I", claimed)
            position += 4
    return bytes(data)


def test_a_member_that_inflates_beyond_its_declared_size_is_refused(records, exported):
    payload, members = exported
    name = payload["photos"][0]["file_name"]
    member = f"photos/{name}"
    bomb = _lie_about_size(_archive(payload, {**members, member: 64 * 2**20}), member, 1000)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo(member).file_size == 1000
    before = _row_counts(records)
    with pytest.raises(InvalidInput):
        records.import_patient_archive(DOCTOR, bomb)
    _nothing_changed(records, before, records.data_dir)


def test_a_photo_member_must_be_a_photo(records, exported):
    payload, members = exported
    before = _row_counts(records)
    zeros = b"\x00" * 100_000
    name = hashlib.sha256(zeros).hexdigest() + ".jpg"
    hostile = copy.deepcopy(payload)
    hostile["photos"][1].update(file_name=name, stored_sha256=name[:64])
    with pytest.raises(InvalidInput, match="not a usable photo"):
        records.import_patient_archive(DOCTOR, _archive(hostile, {**members, f"photos/{name}": zeros}))
    png = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 150, 120)).save(png, "PNG")
    name = hashlib.sha256(png.getvalue()).hexdigest() + ".jpg"  # a PNG named .jpg
    hostile["photos"][1].update(file_name=name, stored_sha256=name[:64])
    with pytest.raises(InvalidInput, match="not a JPEG"):
        records.import_patient_archive(DOCTOR, _archive(hostile, {**members, f"photos/{name}": png.getvalue()}))
    _nothing_changed(records, before, records.data_dir)


_IMPORT_PEAK = """
import sys
from skintrack.records import Actor, Records, RecordsError
try:
    Records(sys.argv[2]).import_patient_archive(Actor("t"), sys.argv[1])
    print("imported")
except RecordsError as exc:
    print("refused:", exc)
print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])
"""


@pytest.mark.slow
def test_the_reported_zip_bomb_is_refused_in_little_memory(tmp_path):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(zip_bomb(2 * 2**30))  # the reported one: a 2.1 MB zip, a 2 GiB member of zeros
    assert bomb.stat().st_size < 2.2e6
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_PEAK, str(bomb), str(tmp_path / "data")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    outcome, peak_kib = run.stdout.strip().splitlines()
    assert outcome.startswith("refused:") and "MiB" in outcome
    assert int(peak_kib) * 1024 < 1.5e9
    assert not any((tmp_path / "data" / "photos").rglob("*.jpg"))


# --------------------------------------------------------------------------- item 11: malformed archives


def _malformed(payload: dict, members: dict[str, bytes]) -> dict[str, bytes]:
    def edit(change) -> bytes:
        hostile = copy.deepcopy(payload)
        change(hostile)
        return _archive(hostile, members)

    name = payload["photos"][0]["file_name"]
    encrypted = bytearray(_archive(payload, members))
    first = encrypted.find(b"PK\x01\x02")
    encrypted[first + 8] |= 1  # the "encrypted" flag in the central directory
    return {
        "not a zip": b"PK\x03\x04 not really",
        "records.json is not JSON": zip_of({"records.json": b"{not json", **members}),
        "records.json is a list": zip_of({"records.json": b"[]"}),
        "nested 100000 deep": zip_of({"records.json": b"[" * 100_000 + b"]" * 100_000}),
        "a 5000-digit number": zip_of(
            {"records.json": json.dumps(payload).replace('"birth_year": null', '"birth_year": ' + "9" * 5000).encode()}
        ),
        "no records.json": zip_of(dict(members)),
        "wrong format": edit(lambda p: p.update(format="other/1")),
        "no patient": edit(lambda p: p.pop("patient")),
        "patient is a string": edit(lambda p: p.update(patient="P-001")),
        "areas not a list": edit(lambda p: p.update(areas={"a": 1})),
        "a row that is a number": edit(lambda p: p["sessions"].append(7)),
        "a photo without a status": edit(lambda p: p["photos"][0].pop("status")),
        "a photo without an id": edit(lambda p: p["photos"][0].pop("id")),
        "a width that is text": edit(lambda p: p["photos"][0].update(width="wide")),
        "a date that is not one": edit(lambda p: p["sessions"][0].update(date="yesterday")),
        "settings that are a list": edit(lambda p: p["sessions"][0].update(settings=[1, 2])),
        "a score of NaN": edit(lambda p: p["scores"][0].update(value="NaN")),
        "an unknown treatment": edit(lambda p: p["sessions"][0].update(treatment="magic")),
        "an unknown consent": edit(lambda p: p["photos"][0].update(consent="everyone")),
        "a NUL in a code": edit(lambda p: p["patient"].update(code="P\x00")),
        "a code of 5000 characters": edit(lambda p: p["patient"].update(code="C" * 5000)),
        "an id with a path": edit(lambda p: p["areas"][0].update(id="../../etc")),
        "an id twice": edit(lambda p: p["photos"][1].update(id=p["photos"][0]["id"])),
        "Fitzpatrick type 9": edit(lambda p: p["patient"].update(fitzpatrick=9)),
        "two sessions for one visit": edit(lambda p: p["sessions"][1].update(date=p["sessions"][0]["date"])),
        "a photo file missing": zip_of({"records.json": json.dumps(payload).encode()}),
        "a photo whose bytes do not match": _archive(payload, {**members, f"photos/{name}": b"\xff\xd8 other bytes"}),
        "an unexpected member": _archive(payload, {**members, "photos/../evil.sh": b"rm -rf /"}),
        "an encrypted member": bytes(encrypted),
        "a stored hash that is not the name's": edit(lambda p: p["photos"][0].update(stored_sha256="0" * 64)),
    }


def test_malformed_archives_are_clean_refusals_that_leave_nothing_behind(records, exported):
    payload, members = exported
    before = _row_counts(records)
    for label, archive in _malformed(payload, members).items():
        try:
            records.import_patient_archive(DOCTOR, archive)
        except InvalidInput as exc:
            assert len(str(exc)) > 15, label
        else:  # pragma: no cover - the failure message names the archive
            pytest.fail(f"{label}: imported")
        _nothing_changed(records, before, records.data_dir)
    assert records.import_patient_archive(DOCTOR, _archive(payload, members)).code == "P-001"  # the real one still does


def test_cli_archive_import_of_a_hostile_archive_has_no_traceback(tmp_path, exported):
    from skintrack.cli import main

    payload, members = exported
    runner = CliRunner()
    for label, archive in list(_malformed(payload, members).items())[:8]:
        path = tmp_path / "hostile.zip"
        path.write_bytes(archive)
        result = runner.invoke(main, ["archive", "import", str(path), "--data", str(tmp_path / "data")])
        assert result.exit_code == 1, (label, result.output)
        assert "Traceback" not in result.output and "Error:" in result.output, label
        assert result.exception is None or isinstance(result.exception, SystemExit), label


# --------------------------------------------------------------------------- item 3: GPS from an old archive


def test_a_photo_that_still_carries_gps_is_cleaned_on_import(records, exported):
    payload, members = exported
    mpo = _mpo()  # stored by an old version: MPO frames and their EXIF kept
    assert "serial number" in _identifying(mpo)
    old_name = hashlib.sha256(mpo).hexdigest() + ".jpg"
    hostile = copy.deepcopy(payload)
    hostile["photos"][1].update(file_name=old_name, stored_sha256=old_name[:64])
    restored = records.import_patient_archive(DOCTOR, _archive(hostile, {**members, f"photos/{old_name}": mpo}))
    photo = next(p for p in records.list_photos(DOCTOR, restored.id) if p.id == hostile["photos"][1]["id"])
    stored = records.photo_bytes(DOCTOR, photo.id)
    assert _identifying(stored) == [] and photo.file_name == hashlib.sha256(stored).hexdigest() + ".jpg"
    assert photo.file_name != old_name and records.doctor(ADMIN).healthy
