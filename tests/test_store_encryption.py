"""Encryption of stored photos at rest (skintrack/records/store.py, SKINTRACK_KEY)."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image, UnidentifiedImageError

from skintrack.records import Actor, Records, RecordsError
from skintrack.records.store import MAGIC, generate_key

from .conftest import REPO

SAMPLES = REPO / "sample_images"
FILES = ["2026-05-04_left-cheek.jpg", "2026-06-01_left-cheek.jpg"]
DOCTOR = Actor("Dr Ada")
ADMIN = Actor("Ada Admin", role="admin")


def _course(records):
    patient = records.add_patient(DOCTOR, "P-001")
    area = records.add_area(DOCTOR, patient.id, "left cheek")
    photos = []
    for name in FILES:
        session = records.add_session(DOCTOR, patient.id, name[:10], "micro-needling")
        photos.append(records.add_photo(DOCTOR, session.id, area.id, SAMPLES / name))
    return patient, area, photos


def test_files_on_disk_are_not_images_and_everything_still_works(tmp_path, monkeypatch):
    key = generate_key()
    monkeypatch.setenv("SKINTRACK_KEY", key)
    records = Records(tmp_path / "data")
    assert records.store.encrypted
    patient, area, photos = _course(records)
    plain = Records(tmp_path / "plain", key="")
    _, _, plain_photos = _course(plain)

    files = sorted(records.store.root.glob("*/*"))
    assert len(files) == 2
    for path in files:
        raw = path.read_bytes()
        assert raw.startswith(MAGIC) and b"\xff\xd8\xff" not in raw[:64]
        with pytest.raises(UnidentifiedImageError):
            Image.open(io.BytesIO(raw))
    # Same names (sha256 of the plain photo), same bytes back, same numbers.
    assert [p.file_name for p in photos] == [p.file_name for p in plain_photos]
    for mine, theirs in zip(photos, plain_photos):
        assert records.photo_bytes(DOCTOR, mine.id) == plain.photo_bytes(DOCTOR, theirs.id)
        assert mine.scores == theirs.scores
    assert records.measurement(DOCTOR, photos[1].id).score is not None
    assert records.doctor(ADMIN).healthy
    assert records.rescore(DOCTOR, patient.id, force=True) == 2
    # An archive holds plain photos (it is the readable backup); importing it encrypts them again.
    archive = tmp_path / "p.zip"
    records.export_patient_archive(DOCTOR, patient.id, archive)
    with zipfile.ZipFile(archive) as bundle:
        member = next(n for n in bundle.namelist() if n.startswith("photos/"))
        Image.open(io.BytesIO(bundle.read(member))).verify()
    other = Records(tmp_path / "other", key=key)
    restored = other.import_patient_archive(DOCTOR, archive)
    assert all(p.read_bytes().startswith(MAGIC) for p in other.store.root.glob("*/*"))
    first = other.list_photos(DOCTOR, restored.id)[0]
    assert other.photo_bytes(DOCTOR, first.id) == plain.photo_bytes(DOCTOR, plain_photos[0].id)


def test_without_the_key_or_with_another_the_error_says_so(tmp_path):
    key = generate_key()
    records = Records(tmp_path / "data", key=key)
    _, _, photos = _course(records)
    without = Records(tmp_path / "data", key="")
    with pytest.raises(RecordsError, match="set SKINTRACK_KEY"):
        without.photo_bytes(DOCTOR, photos[0].id)
    wrong = Records(tmp_path / "data", key=generate_key())
    with pytest.raises(RecordsError, match="not the key"):
        wrong.photo_bytes(DOCTOR, photos[0].id)
    assert len(wrong.doctor(ADMIN).corrupt_files) == 2  # reported, never deleted
    assert records.doctor(ADMIN).healthy
    for bad in ("too-short", "x" * 44):
        with pytest.raises(RecordsError, match="keygen"):
            Records(tmp_path / "data", key=bad)


def test_a_file_swapped_or_damaged_on_disk_is_refused(tmp_path):
    records = Records(tmp_path / "data", key=generate_key())
    _, _, photos = _course(records)
    first, second = (records.store.path(p.file_name) for p in photos)
    first.write_bytes(second.read_bytes())  # a valid ciphertext, under another name
    with pytest.raises(RecordsError, match="Cannot decrypt"):
        records.photo_bytes(DOCTOR, photos[0].id)
    assert records.doctor(ADMIN).corrupt_files == [photos[0].file_name]


def test_photos_stored_before_the_key_was_set_stay_readable(tmp_path):
    plain = Records(tmp_path / "data", key="")
    _, area, photos = _course(plain)
    records = Records(tmp_path / "data", key=generate_key())
    assert records.photo_bytes(DOCTOR, photos[0].id)[:3] == b"\xff\xd8\xff"
    session = records.add_session(DOCTOR, area.patient_id, "2026-07-01", "laser")
    added = records.add_photo(DOCTOR, session.id, area.id, SAMPLES / "2026-09-28_left-cheek.jpg")
    assert records.store.path(added.file_name).read_bytes().startswith(MAGIC)
    assert records.doctor(ADMIN).healthy
