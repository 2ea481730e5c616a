"""A record a clinic can trust (issue 21): nothing filed where the provider did not choose, SQLite's locks
kept whatever else opens the data folder, duplicates and far-off capture dates confirmed, one photo per
visit in the summary.

Each test would fail on the code before issue 21; each checks the database, not only what a call returned.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import textwrap
import threading

import pytest
from PIL import Image
from sqlalchemy import text

from skintrack.records import InvalidInput, NotFound, Records
from skintrack.records.errors import CaptureDateMismatch, DuplicatePhoto, StaleSelection

from .conftest import REPO
from .test_records import DOCTOR, SAMPLE_FILES, SAMPLES, _row_counts, patient, records  # noqa: F401 (fixtures)

# --------------------------------------------------------------------------- item 2: SQLite's locks


def _database_files(data) -> set[str]:
    return {p.name for p in data.iterdir() if p.name.startswith("skintrack.db")}


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)  # fmt: skip


def test_a_second_handle_in_one_process_keeps_sqlite_locks_from_other_processes(tmp_path):
    """Opening the data folder twice in one process (a notebook, a helper thread) must not drop the first
    handle's locks: another process would then think it is alone and delete the WAL under it."""
    data = tmp_path / "data"
    first = Records(data)
    first.add_patient(DOCTOR, "P-FIRST")
    second = Records(data)
    assert [p.code for p in second.list_patients(DOCTOR)] == ["P-FIRST"]
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}

    # The command line opens and closes the database in another process, as a clinic's cron job would.
    listed = subprocess.run([sys.executable, "-m", "skintrack", "users", "list", "--data", str(data)],
                            capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}  # still there

    # A second process writes rows while both handles of this process write too: nothing is lost.
    writer = """
        import sys
        from skintrack.records import Actor, Records
        records = Records(sys.argv[1])
        for i in range(15):
            records.add_patient(Actor("other process"), f"P-PROC-{i:02d}")
        records.close()
    """
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(writer), str(data)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def write(handle, prefix):
        for i in range(15):
            handle.add_patient(DOCTOR, f"{prefix}-{i:02d}")

    threads = [threading.Thread(target=write, args=(first, "P-ONE")), threading.Thread(target=write, args=(second, "P-TWO"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors
    third = Records(data)  # and one more handle opened and closed on the way
    third.close()
    expected = {"P-FIRST"} | {f"{p}-{i:02d}" for p in ("P-ONE", "P-TWO", "P-PROC") for i in range(15)}
    assert {p.code for p in first.list_patients(DOCTOR)} == expected
    assert {p.code for p in second.list_patients(DOCTOR)} == expected
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}
    with first.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    first.close()
    second.close()
    # After every handle is closed the database is whole (the WAL checkpointed into it).
    check = _run("""
        import sys
        from skintrack.records import Actor, Records
        print(len(Records(sys.argv[1]).list_patients(Actor("check"))))
    """, str(data))  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(len(expected))


def test_the_database_file_is_created_private_without_python_opening_it(tmp_path, monkeypatch):
    """The database file is made 0600 before SQLite first opens it; an existing one is never opened (or
    closed) by Python, only tightened by its path."""
    import os

    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    data = tmp_path / "data"
    previous = os.umask(0)
    try:
        monkeypatch.setattr(os, "open", spy)
        Records(data).close()
        assert (data / "skintrack.db").stat().st_mode & 0o777 == 0o600
        opened.clear()
        os.chmod(data / "skintrack.db", 0o644)  # left readable by an older version
        records = Records(data)
    finally:
        os.umask(previous)
        monkeypatch.undo()
    assert not [p for p in opened if p.endswith("skintrack.db")]
    assert (data / "skintrack.db").stat().st_mode & 0o777 == 0o600
    records.close()


# --------------------------------------------------------------------------- item 1: a stale selection fails loudly


def _visit(records, patient_id, date, treatment="micro-needling"):
    return records.add_session(DOCTOR, patient_id, date, treatment)


def _nothing_stored(records, before_counts, before_files):
    assert _row_counts(records) == before_counts
    assert len(records.store.files()) == before_files


def test_a_photo_for_a_deleted_visit_is_refused_not_filed_elsewhere(records, patient):
    person, area = patient
    kept = _visit(records, person.id, "2026-06-04")
    chosen = _visit(records, person.id, "2026-07-02")
    shown = {"session_date": "2026-07-02", "treatment": "micro-needling", "area": "left cheek"}
    records.delete_session(DOCTOR, chosen.id)  # in another tab, after this one showed the visit
    counts, files = _row_counts(records), len(records.store.files())
    with pytest.raises(StaleSelection, match="2026-07-02.*no longer exists.*Nothing was filed"):
        records.add_photo(DOCTOR, chosen.id, area.id, SAMPLES / SAMPLE_FILES[0], expect=shown)
    _nothing_stored(records, counts, files)
    assert records.list_photos(DOCTOR, person.id) == [] and kept.id  # nothing under the visit left over


def test_a_photo_for_a_visit_changed_since_it_was_shown_is_refused(records, patient):
    person, area = patient
    chosen = _visit(records, person.id, "2026-07-02")
    records.update_session(DOCTOR, chosen.id, date="2026-07-09")  # corrected in another tab
    counts, files = _row_counts(records), len(records.store.files())
    with pytest.raises(StaleSelection, match="2026-07-02.*now 2026-07-09"):
        records.add_photo(DOCTOR, chosen.id, area.id, SAMPLES / SAMPLE_FILES[0],
                          expect={"session_date": dt.date(2026, 7, 2), "treatment": "micro-needling"})  # fmt: skip
    records.update_area(DOCTOR, area.id, "right cheek")
    with pytest.raises(StaleSelection, match="left cheek.*now 2026-07-09, micro-needling, right cheek"):
        records.add_photo(DOCTOR, chosen.id, area.id, SAMPLES / SAMPLE_FILES[0], expect={"area": "left cheek"})
    _nothing_stored(records, counts, files)
    # What is shown now is accepted.
    added = records.add_photo(DOCTOR, chosen.id, area.id, SAMPLES / SAMPLE_FILES[0],
                              expect={"session_date": "2026-07-09", "treatment": "micro-needling", "area": "right cheek"})  # fmt: skip
    assert added.session_id == chosen.id and added.session_date == dt.date(2026, 7, 9)


def test_a_visit_or_area_deleted_while_the_photo_is_measured_is_refused_at_commit(records, patient, monkeypatch):
    person, area = patient
    chosen = _visit(records, person.id, "2026-07-02")
    _visit(records, person.id, "2026-06-04")
    counts, files = _row_counts(records), len(records.store.files())
    measure = type(records._measurements).process

    def delete_meanwhile(self, *args, **kwargs):
        outcome = measure(self, *args, **kwargs)
        if any(s.id == chosen.id for s in records.list_sessions(DOCTOR, person.id)):
            records.delete_session(DOCTOR, chosen.id)  # e.g. another tab, while this photo was measured
        return outcome

    monkeypatch.setattr(type(records._measurements), "process", delete_meanwhile)
    with pytest.raises(StaleSelection, match="deleted meanwhile"):
        records.add_photo(DOCTOR, chosen.id, area.id, SAMPLES / SAMPLE_FILES[0])  # even without expect
    counts["sessions"] -= 1
    _nothing_stored(records, counts, files)
    assert records.list_photos(DOCTOR, person.id) == []


def test_a_deleted_area_is_a_stale_selection_and_unknown_expectations_are_refused(records, patient):
    person, area = patient
    visit = _visit(records, person.id, "2026-07-02")
    records.delete_area(DOCTOR, area.id)
    with pytest.raises(StaleSelection, match="left cheek.*no longer exists"):
        records.add_photo(DOCTOR, visit.id, area.id, SAMPLES / SAMPLE_FILES[0], expect={"area": "left cheek"})
    with pytest.raises(NotFound):
        records.add_photo(DOCTOR, visit.id, area.id, SAMPLES / SAMPLE_FILES[0])  # no expectation: plain not found
    with pytest.raises(InvalidInput, match="expect takes"):
        records.add_photo(DOCTOR, visit.id, area.id, SAMPLES / SAMPLE_FILES[0], expect={"patient": "P-001"})


# --------------------------------------------------------------------------- item 3: duplicates and far-off dates


def _jpeg(path=SAMPLES / SAMPLE_FILES[0], *, taken: str | None = None, quality: int = 95) -> bytes:
    image = Image.open(path)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif.tobytes() if taken else b"")
    return buffer.getvalue()


def _with_exif_date(jpeg: bytes, taken: str) -> bytes:
    """The same compressed photo with an EXIF segment carrying a capture date (another export of one photo)."""
    import struct

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    payload = b"Exif\x00\x00" + exif.tobytes()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_the_same_photo_in_another_visit_is_refused_until_confirmed(records, patient):
    person, area = patient
    first, second = _visit(records, person.id, "2026-05-04"), _visit(records, person.id, "2026-06-01")
    photo = (SAMPLES / SAMPLE_FILES[0]).read_bytes()
    records.add_photo(DOCTOR, first.id, area.id, photo)
    counts, files = _row_counts(records), len(records.store.files())
    with pytest.raises(DuplicatePhoto, match="already in the record \\(this patient, left cheek, visit of 2026-05-04\\)") as refused:
        records.add_photo(DOCTOR, second.id, area.id, photo)
    assert refused.value.confirm_with == "allow_duplicate"
    _nothing_stored(records, counts, files)
    # The same photo with other metadata (another export of it) is the same photo.
    with pytest.raises(DuplicatePhoto):
        records.add_photo(DOCTOR, second.id, area.id, _with_exif_date(photo, "2026:06:01 10:00:00"))
    _nothing_stored(records, counts, files)
    # Confirmed: stored (the file once), and measured as a follow-up.
    added = records.add_photo(DOCTOR, second.id, area.id, photo, allow_duplicate=True)
    assert added.session_id == second.id and not added.duplicate
    assert len(records.list_photos(DOCTOR, person.id)) == 2 and len(records.store.files()) == files
    # The very same photo to the same visit and area again: nothing added, the stored one returned.
    again = records.add_photo(DOCTOR, second.id, area.id, photo)
    assert again.duplicate and again.id == added.id


def test_the_same_photo_for_another_patient_names_them_and_zones_of_one_visit_are_not_duplicates(records, patient):
    person, area = patient
    records.add_photo(DOCTOR, _visit(records, person.id, "2026-05-04").id, area.id, SAMPLES / SAMPLE_FILES[0])
    other = records.add_patient(DOCTOR, "P-OTHER")
    other_area = records.add_area(DOCTOR, other.id, "forehead")
    other_visit = _visit(records, other.id, "2026-05-04")
    with pytest.raises(DuplicatePhoto, match="patient P-001, left cheek, visit of 2026-05-04") as refused:
        records.add_photo(DOCTOR, other_visit.id, other_area.id, SAMPLES / SAMPLE_FILES[0])
    assert refused.value.matches == [("P-001", "left cheek", dt.date(2026, 5, 4))]
    assert records.list_photos(DOCTOR, other.id) == []
    # One face photo measured for several zones of the same visit is how zones work: no confirmation.
    face = records.add_photo(DOCTOR, other_visit.id, other_area.id, SAMPLES / SAMPLE_FILES[2])
    chin = records.add_area(DOCTOR, other.id, "chin")
    assert records.add_photo(DOCTOR, other_visit.id, chin.id, SAMPLES / SAMPLE_FILES[2]).id != face.id
    # ...but the same photo as a second view of the same area in one visit is a duplicate.
    with pytest.raises(DuplicatePhoto):
        records.add_photo(DOCTOR, other_visit.id, other_area.id, SAMPLES / SAMPLE_FILES[2], view="left")


def test_a_photo_taken_weeks_from_its_visit_is_refused_until_confirmed(records, patient):
    person, area = patient
    visit = _visit(records, person.id, "2026-05-04")
    far = _jpeg(taken="2026:03:30 10:15:00")
    counts, files = _row_counts(records), len(records.store.files())
    with pytest.raises(CaptureDateMismatch, match="taken on 2026-03-30.*35 days from the visit of 2026-05-04") as refused:
        records.add_photo(DOCTOR, visit.id, area.id, far)
    assert refused.value.confirm_with == "allow_date_mismatch"
    _nothing_stored(records, counts, files)
    added = records.add_photo(DOCTOR, visit.id, area.id, far, allow_date_mismatch=True)
    assert added.captured_at.date() == dt.date(2026, 3, 30)
    # A few days off (a photo taken at the consultation before) needs no confirmation.
    later = _visit(records, person.id, "2026-06-01")
    near = _jpeg(SAMPLES / SAMPLE_FILES[2], taken="2026:05:29 17:40:00")
    assert records.add_photo(DOCTOR, later.id, area.id, near).status == "scored"
