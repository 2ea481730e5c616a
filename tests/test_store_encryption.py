"""Encryption of stored photos at rest (skintrack/records/store.py, SKINTRACK_KEY)."""

from __future__ import annotations

import hashlib
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
    # Same bytes back, same numbers; the names are keyed hashes, not the plain store's sha256 names.
    assert not {p.file_name for p in photos} & {p.file_name for p in plain_photos}
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
        members = [n for n in bundle.namelist() if n.startswith("photos/")]
        for member in members:  # portable names: the sha256 of the photo, whatever the store's key
            Image.open(io.BytesIO(bundle.read(member))).verify()
            assert member == f"photos/{hashlib.sha256(bundle.read(member)).hexdigest()}.jpg"
    # It restores into a store with the same key, another key, and no key.
    for folder, other_key in (("same", key), ("other", generate_key()), ("unencrypted", "")):
        other = Records(tmp_path / folder, key=other_key)
        restored = other.import_patient_archive(DOCTOR, archive)
        assert all(p.read_bytes().startswith(MAGIC) == bool(other_key) for p in other.store.root.glob("*/*"))
        first = other.list_photos(DOCTOR, restored.id)[0]
        assert other.photo_bytes(DOCTOR, first.id) == plain.photo_bytes(DOCTOR, plain_photos[0].id)
        assert other.doctor(ADMIN).healthy, folder


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
    stored_plain = plain.photo_bytes(DOCTOR, photos[0].id)
    session = records.add_session(DOCTOR, area.patient_id, "2026-07-01", "laser")
    added = records.add_photo(DOCTOR, session.id, area.id, SAMPLES / "2026-09-28_left-cheek.jpg")
    assert records.store.path(added.file_name).read_bytes().startswith(MAGIC)
    # doctor says which files still wait to be encrypted under keyed names, and --repair does it.
    report = records.doctor(ADMIN)
    assert sorted(report.unkeyed_files) == sorted(p.file_name for p in photos) and not report.healthy
    records.doctor(ADMIN, repair=True)
    assert records.doctor(ADMIN).healthy
    assert all(p.read_bytes().startswith(MAGIC) for p in records.store.root.glob("*/*"))
    assert records.photo_bytes(DOCTOR, photos[0].id) == stored_plain


# --------------------------------------------------------------------------- issue 22 item 13: names and reads


def _sha256_names(records, ids) -> set[str]:
    return {hashlib.sha256(records.photo_bytes(DOCTOR, i)).hexdigest() for i in ids}


def test_encrypted_files_are_named_by_a_keyed_hash_not_the_photos_sha256(tmp_path):
    """The plain sha256 as a file name confirmed to anyone holding a photo that it is stored here."""
    key = generate_key()
    records = Records(tmp_path / "data", key=key)
    patient, area, photos = _course(records)
    on_disk = {p.name.split(".")[0] for p in records.store.root.glob("*/*")}
    assert len(on_disk) == 2 and not on_disk & _sha256_names(records, [p.id for p in photos])
    # The same photo is still stored once (the name depends only on the photo and the key) ...
    chin = records.add_area(DOCTOR, patient.id, "chin")
    again = records.add_photo(DOCTOR, photos[0].session_id, chin.id, SAMPLES / FILES[0])
    assert again.file_name == photos[0].file_name and len(list(records.store.root.glob("*/*"))) == 2
    # ... and another key names it differently: the name says nothing to someone without the key.
    other = Records(tmp_path / "other", key=generate_key())
    _, _, theirs = _course(other)
    assert not {p.file_name for p in theirs} & {p.file_name for p in photos}
    same_key = Records(tmp_path / "same", key=key)
    _, _, same = _course(same_key)
    assert [p.file_name for p in same] == [p.file_name for p in photos]
    assert records.doctor(ADMIN).healthy


def test_a_plain_file_written_over_an_encrypted_one_is_refused(tmp_path):
    key = generate_key()
    records = Records(tmp_path / "data", key=key)
    _, _, photos = _course(records)
    first, second = (records.store.path(p.file_name) for p in photos)
    for plain in (records.photo_bytes(DOCTOR, photos[1].id), records.photo_bytes(DOCTOR, photos[0].id)):
        first.write_bytes(plain)  # another photo, or even this photo's own bytes, without the encryption
        with pytest.raises(RecordsError, match="not the photo stored under that name"):
            records.photo_bytes(DOCTOR, photos[0].id)
        with pytest.raises(RecordsError, match="not the photo stored under that name"):
            Records(tmp_path / "data", key=key).measurement(DOCTOR, photos[0].id)  # nothing measured from it
        assert records.doctor(ADMIN).corrupt_files == [photos[0].file_name]
    assert records.photo_bytes(DOCTOR, photos[1].id)[:3] == b"\xff\xd8\xff"  # the others are served


def test_an_unencrypted_store_serves_only_the_bytes_its_name_promises(tmp_path):
    """Without a key the names stay the plain sha256 (nothing to hide from whoever can read the files), and a
    read checks the bytes against it: another photo written over a file is refused, not shown as this one."""
    records = Records(tmp_path / "data", key="")
    _, _, photos = _course(records)
    assert {p.file_name.split(".")[0] for p in photos} == _sha256_names(records, [p.id for p in photos])
    first, second = (records.store.path(p.file_name) for p in photos)
    first.write_bytes(second.read_bytes())
    with pytest.raises(RecordsError, match="not the photo stored under that name"):
        records.photo_bytes(DOCTOR, photos[0].id)
    assert records.doctor(ADMIN).corrupt_files == [photos[0].file_name]


LEGACY_KEY = "c2tpbnRyYWNrLXRlc3Qta2V5LW5vdC1hLXNlY3JldCE="  # the public test key of the fixture


def _legacy_store(tmp_path):
    """The data folder skintrack 0.3.0 wrote (tests/data/legacy_store/make_fixture.py): one file stored before
    the key was set, two after, named by the plain sha256; the database at migration 0004."""
    with zipfile.ZipFile(REPO / "tests" / "data" / "legacy_store" / "store-0.3.0.zip") as bundle:
        assert bundle.read("VERSION") == b"0.3.0"
        bundle.extractall(tmp_path)
    return tmp_path / "data"


def test_a_store_made_by_0_3_0_stays_readable_and_doctor_repair_moves_it_to_keyed_names(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from skintrack.cli import main

    data = _legacy_store(tmp_path)
    old_names = {p.name for p in (data / "photos").glob("*/*")}
    records = Records(data, key=LEGACY_KEY)  # the database migrates; the files stay where they are
    patient = records.find_patient(DOCTOR, "P-LEGACY")
    photos = records.list_photos(DOCTOR, patient.id)
    assert len(photos) == 4 and {p.file_name for p in photos} == old_names
    before = {p.id: records.photo_bytes(DOCTOR, p.id) for p in photos}  # every old file still reads
    assert {p.id: p.scores for p in photos} == {p.id: p.scores for p in records.list_photos(DOCTOR, patient.id)}
    report = records.doctor(ADMIN)
    assert sorted(report.unkeyed_files) == sorted(old_names) and not report.healthy
    assert report.corrupt_files == [] and report.missing_files == []
    # What this engine on this machine measures in the old files (0.3.0's stored numbers can differ in the
    # last float32 digits on another CPU): the moved files must give exactly these numbers.
    assert records.rescore(DOCTOR, patient.id, force=True) == 4
    measured_before = {p.id: p.scores for p in records.list_photos(DOCTOR, patient.id)}
    records.close()

    # The documented command: SKINTRACK_KEY set, `skintrack doctor --repair`.
    monkeypatch.setenv("SKINTRACK_KEY", LEGACY_KEY)
    result = CliRunner().invoke(main, ["doctor", "--data", str(data)])
    assert result.exit_code == 1 and "not yet under keyed names: 3" in result.output
    result = CliRunner().invoke(main, ["doctor", "--data", str(data), "--repair"])
    assert result.exit_code == 0, result.output

    records = Records(data, key=LEGACY_KEY)
    after = records.list_photos(DOCTOR, patient.id)
    on_disk = {p.name for p in (data / "photos").glob("*/*")}
    assert len(on_disk) == 3 and not on_disk & old_names  # renamed, nothing left under the old names
    assert {p.file_name for p in after} == on_disk  # the rows followed (two areas still share one file)
    assert all(p.read_bytes().startswith(MAGIC) for p in (data / "photos").glob("*/*"))  # the plain one encrypted
    assert not {n.split(".")[0] for n in on_disk} & _sha256_names(records, before)
    assert {p.id: records.photo_bytes(DOCTOR, p.id) for p in after} == before  # nothing lost
    assert records.doctor(ADMIN).healthy
    assert {p.id: p.scores for p in after} == measured_before  # the rows moved with their numbers
    assert records.rescore(DOCTOR, patient.id, force=True) == 4
    assert {p.id: p.scores for p in records.list_photos(DOCTOR, patient.id)} == measured_before
    # The keyed names are the ones a new upload of the same photo gets (still stored once).
    baseline = next(p for p in after if p.area == "left cheek" and p.is_baseline)
    chin = next(a for a in records.list_areas(DOCTOR, patient.id) if a.name == "chin")
    again = records.add_photo(DOCTOR, baseline.session_id, chin.id, before[baseline.id])
    assert again.file_name == baseline.file_name and len(list((data / "photos").glob("*/*"))) == 3
    assert records.measurement(DOCTOR, after[-1].id) is not None
