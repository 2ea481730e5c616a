"""Hardening of the records (issue 12): field rules, file modes, disk full, concurrent imports, doctor.

Each test runs on SQLite and, when SKINTRACK_TEST_PG_URL is set, on PostgreSQL: both must accept and
refuse exactly the same values, with an InvalidInput and nothing changed.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text

from skintrack.records import Actor, InvalidInput, NotFound, StorageFull

from .conftest import REPO
from .test_records import ADMIN, DOCTOR, POSTGRESQL, SAMPLE_FILES, SAMPLES, _row_counts, patient, records  # noqa: F401 (fixtures)

NUL = "\x00"
SURROGATE = "\ud800"


# --------------------------------------------------------------------------- item 15: field lengths


def _bad_values(records, person, area, session):
    long_code = "P" * 65
    return {
        "code over 64 characters": lambda: records.add_patient(DOCTOR, long_code),
        "code of 5,002 characters": lambda: records.add_patient(DOCTOR, "C" * 5002),
        "NUL in a code": lambda: records.add_patient(DOCTOR, f"P{NUL}9"),
        "NUL in a name": lambda: records.add_patient(DOCTOR, "P-50", f"Ann{NUL}Smith"),
        "lone surrogate in a name": lambda: records.add_patient(DOCTOR, "P-51", f"Ann{SURROGATE}"),
        "newline in a code": lambda: records.add_patient(DOCTOR, "P-52\nP-53"),
        "name over 200 characters": lambda: records.add_patient(DOCTOR, "P-54", "N" * 201),
        "notes over the limit": lambda: records.add_patient(DOCTOR, "P-55", notes="n" * 20_001),
        "NUL in notes": lambda: records.add_patient(DOCTOR, "P-56", notes=f"a{NUL}b"),
        "birth year not a number": lambda: records.add_patient(DOCTOR, "P-57", birth_year="nineteen"),
        "birth year too large for a column": lambda: records.add_patient(DOCTOR, "P-58", birth_year=10**20),
        "Fitzpatrick not a number": lambda: records.add_patient(DOCTOR, "P-59", fitzpatrick="IV"),
        "user name over 200 characters": lambda: records.add_patient(Actor("u" * 201), "P-60"),
        "code changed to 65 characters": lambda: records.update_patient(DOCTOR, person.id, code=long_code),
        "name changed to NUL": lambda: records.update_patient(DOCTOR, person.id, display_name=NUL),
        "NUL in an area": lambda: records.add_area(DOCTOR, person.id, f"left{NUL}cheek"),
        "area over 200 characters": lambda: records.add_area(DOCTOR, person.id, "a" * 201),
        "NUL in a provider": lambda: records.add_session(DOCTOR, person.id, "2026-05-05", "laser", provider=f"Dr{NUL}"),
        "NUL in session notes": lambda: records.add_session(DOCTOR, person.id, "2026-05-05", "laser", notes=NUL),
        "NUL in a setting": lambda: records.add_session(DOCTOR, person.id, "2026-05-05", "laser", settings={"x": NUL}),
        "NaN setting": lambda: records.add_session(DOCTOR, person.id, "2026-05-05", "laser", settings={"x": float("nan")}),
        "setting name over 64": lambda: records.add_session(DOCTOR, person.id, "2026-05-05", "laser", settings={"k" * 65: 1}),
        "year 1 session": lambda: records.add_session(DOCTOR, person.id, "0001-01-01", "laser"),
        "NUL in a view": lambda: records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0], view=NUL),
        "view over 64": lambda: records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0], view="v" * 65),
        "NUL in a search": lambda: records.list_patients(DOCTOR, f"P{NUL}"),
    }


def test_lengths_and_characters_are_checked_the_same_way_on_both_databases(records, patient):
    person, area = patient
    session = records.add_session(DOCTOR, person.id, "2026-05-04", "micro-needling")
    before = _row_counts(records)
    for name, call in _bad_values(records, person, area, session).items():
        with pytest.raises(InvalidInput) as info:
            call()
        assert len(str(info.value)) > 15, name
    assert _row_counts(records) == before
    unchanged = records.get_patient(DOCTOR, person.id)
    assert unchanged.code == "P-001" and unchanged.display_name == "Test Patient"


def test_ids_and_codes_that_cannot_exist_are_simply_not_found(records, patient):
    person, _ = patient
    assert records.find_patient(DOCTOR, f"P-001{NUL}") is None
    assert records.find_patient(DOCTOR, "P" * 5000) is None
    for bad_id in (f"{person.id}{NUL}", "x" * 500, SURROGATE, 12):
        with pytest.raises(NotFound):
            records.get_patient(DOCTOR, bad_id)
        assert records.list_sessions(DOCTOR, bad_id) == []
        assert records.list_photos(DOCTOR, bad_id) == []
        assert records.list_areas(DOCTOR, bad_id) == []


def test_the_longest_allowed_values_are_stored_on_both_databases(records):
    code, name = "C" * 64, "Ñ" * 200  # characters, not bytes, are counted (as PostgreSQL does)
    person = records.add_patient(DOCTOR, code, name, notes="line one\nline two\ttabbed", birth_year=1900)
    assert records.get_patient(DOCTOR, person.id).display_name == name
    area = records.add_area(DOCTOR, person.id, "a" * 200)
    session = records.add_session(DOCTOR, person.id, dt.date(1900, 1, 1), "other", provider="p" * 200,
                                  settings={"k" * 64: "v" * 200, "depth": 1.5, "done": True})  # fmt: skip
    assert records.list_sessions(DOCTOR, person.id)[0].settings["depth"] == 1.5
    assert area.name == "a" * 200 and session.provider == "p" * 200


# --------------------------------------------------------------------------- item 7: doctor --repair while a photo is added


class _PausedAdd:
    """``add_photo`` in a thread, stopped after its file is written and before its row commits."""

    def __init__(self, records, *args, **kwargs):
        self.records, self.written, self.go_on = records, threading.Event(), threading.Event()
        self.result, self.error = None, None
        original = records._filing.commit

        def paused(*a, **k):
            self.written.set()
            assert self.go_on.wait(120), "the test never let the commit go on"
            return original(*a, **k)

        records._filing.commit = paused
        self.thread = threading.Thread(target=self._run, args=args, kwargs=kwargs)
        self.thread.start()
        assert self.written.wait(120), "add_photo never reached its commit"

    def _run(self, *args, **kwargs):
        try:
            self.result = self.records.add_photo(*args, **kwargs)
        except Exception as exc:  # pragma: no cover - reported by finish()
            self.error = exc

    def finish(self):
        self.go_on.set()
        self.thread.join(120)
        del self.records._filing.commit
        assert self.error is None, self.error
        return self.result


def test_doctor_repair_never_deletes_a_photo_being_added(records, patient):
    person, area = patient
    session = records.add_session(DOCTOR, person.id, "2026-05-04", "micro-needling")
    adding = _PausedAdd(records, DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0])
    try:
        report = records.doctor(ADMIN, repair=True)  # the file is in the store, its row not yet committed
        assert report.orphan_files == [] and report.temporary_files == []
    finally:
        view = adding.finish()
    assert records.photo_bytes(DOCTOR, view.id)  # the file is still there
    assert records.doctor(ADMIN).healthy


def test_doctor_repair_spares_an_old_orphan_that_a_new_photo_is_claiming(records, patient):
    person, area = patient
    data = (SAMPLES / SAMPLE_FILES[0]).read_bytes()
    first = records.add_photo(DOCTOR, records.add_session(DOCTOR, person.id, "2026-05-04", "laser").id, area.id, data)
    name = first.file_name
    with records.engine.begin() as connection:  # the row goes, the file stays: an orphan from long ago
        for statement in ("DELETE FROM scores", "DELETE FROM photos", "UPDATE areas SET baseline_photo_id = NULL"):
            connection.execute(text(statement))
    assert records.doctor(ADMIN).orphan_files == [name]
    adding = _PausedAdd(records, DOCTOR, records.add_session(DOCTOR, person.id, "2026-06-01", "laser").id, area.id, data)
    try:
        assert records.doctor(ADMIN, repair=True).orphan_files == []  # claimed again: no longer an orphan
        assert records.store.exists(name)
    finally:
        view = adding.finish()
    assert view.file_name == name and records.photo_bytes(DOCTOR, view.id)


def test_deleting_a_photo_keeps_a_file_another_photo_is_being_added_with(records, patient):
    person, area = patient
    data = (SAMPLES / SAMPLE_FILES[0]).read_bytes()
    first = records.add_photo(DOCTOR, records.add_session(DOCTOR, person.id, "2026-05-04", "laser").id, area.id, data)
    other_area = records.add_area(DOCTOR, person.id, "right cheek")  # its own baseline: no re-measuring retry
    later = records.add_session(DOCTOR, person.id, "2026-06-01", "laser")
    adding = _PausedAdd(records, DOCTOR, later.id, other_area.id, data, allow_duplicate=True)  # one file, two rows
    try:
        records.delete_photo(DOCTOR, first.id)
    finally:
        view = adding.finish()
    assert records.store.exists(view.file_name) and records.photo_bytes(DOCTOR, view.id)
    assert records.doctor(ADMIN).healthy


def test_an_abandoned_pending_write_protects_nothing(records, patient):
    from skintrack.records.db import PendingFile
    from skintrack.records.store import ABANDONED_AFTER_S

    name = records.store.put(b"an orphan", ".png")[0]
    other = records.store.put(b"another orphan", ".png")[0]
    long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=ABANDONED_AFTER_S + 60)
    with records._db() as db:
        db.add(PendingFile(file_name=name, writer="0badc0de-1", created_at=long_ago))  # another machine, long ago
        db.add(PendingFile(file_name=other, writer="0badc0de-1"))  # another machine, just now: in progress
    assert records.doctor(ADMIN).orphan_files == [name]
    records.doctor(ADMIN, repair=True)
    assert not records.store.exists(name) and records.store.exists(other)
    with records._db() as db:
        assert [p.file_name for p in db.scalars(select(PendingFile))] == [other]


# --------------------------------------------------------------------------- item 12: one session per visit


def test_the_same_visit_cannot_be_recorded_twice(records, patient):
    person, _ = patient
    records.add_session(DOCTOR, person.id, "2026-05-04", "laser")
    with pytest.raises(InvalidInput, match="already recorded"):
        records.add_session(DOCTOR, person.id, "2026-05-04", "laser", notes="double click")
    records.add_session(DOCTOR, person.id, "2026-05-04", "peel")  # another treatment that day is another visit
    assert len(records.list_sessions(DOCTOR, person.id)) == 2


def test_two_imports_racing_for_one_visit_share_it(records, patient):
    person, _ = patient
    barrier, calls = threading.Barrier(2), []
    looked_up = records.list_sessions

    def both_look_before_either_adds(actor, patient_id):
        found = looked_up(actor, patient_id)
        calls.append(1)
        if len(calls) <= 2:  # the first look of each import: neither has added the visit yet
            barrier.wait(30)
        return found

    records.list_sessions = both_look_before_either_adds
    results, errors = [], []

    def run():
        try:
            results.append(records.session_on(DOCTOR, person.id, "2026-05-04", "other", notes="imported"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    del records.list_sessions
    assert errors == [] and len(results) == 2
    assert results[0].id == results[1].id
    assert len(records.list_sessions(DOCTOR, person.id)) == 1


def _database_at_0001(request, tmp_path):
    from alembic import command
    from alembic.config import Config

    from skintrack.records.db import make_engine

    if request.param == "postgresql":
        from .test_records import PG_URL, _reset_postgres

        if not PG_URL:
            pytest.skip("SKINTRACK_TEST_PG_URL not set (no PostgreSQL server)")
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(REPO / "skintrack" / "records" / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    return engine, url


@pytest.fixture(params=["sqlite", POSTGRESQL])
def old_database(request, tmp_path):
    engine, url = _database_at_0001(request, tmp_path)
    yield engine, url
    engine.dispose()


def test_upgrading_merges_sessions_recorded_twice(old_database, tmp_path):
    engine, url = old_database
    now = dt.datetime(2026, 5, 4, 9, 0)
    rows = {
        "patients": [dict(id="p1", code="P-1", display_name="P", notes="", created_at=now, created_by="t")],
        "areas": [dict(id="a1", patient_id="p1", name="cheek", baseline_photo_id="ph3")],
        "sessions": [
            dict(id="s1", patient_id="p1", date=dt.date(2026, 5, 4), treatment="laser", settings='{"energy_J_cm2": 12}',
                 provider="A", notes="first", created_at=now),
            dict(id="s2", patient_id="p1", date=dt.date(2026, 5, 4), treatment="laser", settings='{"energy_J_cm2": 14}',
                 provider="A", notes="second", created_at=now + dt.timedelta(minutes=1)),
            dict(id="s3", patient_id="p1", date=dt.date(2026, 6, 1), treatment="laser", settings="{}", provider="A",
                 notes="", created_at=now),
        ],  # fmt: skip
        "photos": [
            _photo_row("ph1", "s1", "sha-a", now), _photo_row("ph2", "s2", "sha-b", now),
            _photo_row("ph3", "s2", "sha-a", now),  # the same photo as ph1, and the area's baseline
        ],  # fmt: skip
        "scores": [dict(id="sc3", photo_id="ph3", metric="redness", value=1.0, engine_version="x", settings_hash="y",
                        provenance="{}", created_at=now)],  # fmt: skip
    }
    with engine.begin() as connection:
        for table, table_rows in rows.items():
            for row in table_rows:
                columns = ", ".join(row)
                connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + k for k in row)})"), row)
    engine.dispose()
    from skintrack.records import Records

    records = Records(tmp_path / "data", db_url=url)  # migrates to the newest revision
    try:
        sessions = records.list_sessions(DOCTOR, "p1")
        assert [s.id for s in sessions] == ["s1", "s3"]
        assert sessions[0].notes.startswith("first\nsecond") and '"energy_J_cm2": 14' in sessions[0].notes
        assert sessions[0].settings == {"energy_J_cm2": 12}
        photos = {p.id: p for p in records.list_photos(DOCTOR, "p1")}
        assert set(photos) == {"ph1", "ph2"} and {p.session_id for p in photos.values()} == {"s1"}
        assert photos["ph1"].is_baseline  # the twin took over the baseline role
        with pytest.raises(InvalidInput):
            records.add_session(DOCTOR, "p1", "2026-05-04", "laser")
    finally:
        records.close()


def _photo_row(photo_id, session_id, sha, now):
    return dict(
        id=photo_id, session_id=session_id, area_id="a1", view="front", file_name=f"{sha}.jpg", stored_sha256=sha,
        original_sha256=sha, width=100, height=100, source_format="JPEG", status="scored", status_reason="",
        normalization="{}", alignment="{}", quality="[]", thresholds="{}", consent="record", created_at=now,
        created_by="t",
    )  # fmt: skip


# --------------------------------------------------------------------------- item 14: disk full


def _no_trace_left(records, before):
    from skintrack.records.db import PendingFile

    assert _row_counts(records) == before
    assert records.store.files() == set() and records.store.temporary_files(abandoned_only=False) == []
    with records._db() as db:
        assert db.scalars(select(PendingFile)).all() == []


def test_a_nearly_full_disk_is_refused_before_measuring(records, patient, monkeypatch):
    import collections

    import skintrack.records.store as store_module

    person, area = patient
    session = records.add_session(DOCTOR, person.id, "2026-05-04", "laser")
    before = _row_counts(records)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(store_module.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    measured = []
    monkeypatch.setattr(records._measurements, "process", lambda *a, **k: measured.append(1))
    with pytest.raises(StorageFull, match="full"):
        records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0])
    assert measured == []
    _no_trace_left(records, before)


def test_no_space_while_writing_a_photo_is_a_clean_error(records, patient, monkeypatch):
    import errno

    import skintrack.intake.photo as photo_module

    person, area = patient
    session = records.add_session(DOCTOR, person.id, "2026-05-04", "laser")
    before = _row_counts(records)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(photo_module.os, "fsync", full)
    with pytest.raises(StorageFull, match="nothing was stored"):
        records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0])
    _no_trace_left(records, before)
    monkeypatch.undo()
    assert records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0]).status == "scored"


def test_a_full_sqlite_database_is_a_clean_error(tmp_path):
    from sqlalchemy import event

    from skintrack.records import Records

    records = Records(tmp_path / "data")
    person = records.add_patient(DOCTOR, "P-1")
    with records.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    records.engine.dispose()
    event.listen(records.engine, "connect", lambda connection, _: connection.execute(f"PRAGMA max_page_count={pages + 2}"))
    with pytest.raises(StorageFull, match="disk is full"):
        for number in range(200):
            records.add_patient(DOCTOR, f"P-{number + 2}", notes="n" * 19_000)
    assert records.get_patient(DOCTOR, person.id).code == "P-1"  # what was committed is intact
    records.close()


# --------------------------------------------------------------------------- item 8: file modes


def _modes(folder):
    return {str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in [folder, *folder.rglob("*")]}


def test_data_folder_is_private_whatever_the_umask(tmp_path):
    import os

    from skintrack.records import Records

    data = tmp_path / "clinic" / "data"
    previous = os.umask(0)  # the most permissive umask: everything would be world-readable
    try:
        records = Records(data)
        person = records.add_patient(DOCTOR, "P-1")
        area = records.add_area(DOCTOR, person.id, "cheek")
        session = records.add_session(DOCTOR, person.id, "2026-05-04", "laser")
        records.add_photo(DOCTOR, session.id, area.id, SAMPLES / SAMPLE_FILES[0])
        records.export_patient_archive(DOCTOR, person.id, data / "exports" / "p1.zip")
        modes = _modes(data)
        records.close()
    finally:
        os.umask(previous)
    assert {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm", "exports/p1.zip"} <= set(modes)
    assert len([name for name in modes if name.startswith("photos/") and name.endswith(".jpg")]) == 1
    for name, mode in modes.items():
        is_folder = (data / name).is_dir()
        assert mode == (0o700 if is_folder else 0o600), f"{name}: {oct(mode)}"
    assert (tmp_path / "clinic").stat().st_mode & 0o077 == 0  # created by skintrack: private too


def test_a_data_folder_left_readable_by_an_older_version_is_tightened(tmp_path):
    import os

    from skintrack.records import Records

    data = tmp_path / "data"
    Records(data).close()
    (data / "photos" / "ab").mkdir()
    for path, mode in ((data, 0o755), (data / "photos", 0o755), (data / "photos" / "ab", 0o755), (data / "skintrack.db", 0o644)):
        os.chmod(path, mode)
    Records(data).close()
    for name, mode in _modes(data).items():
        assert mode & 0o077 == 0, f"{name}: {oct(mode)}"


# --------------------------------------------------------------------------- item 3: hidden metadata in stored photos


def _phone_upload_with_hidden_gps() -> list[bytes]:
    """A sample photo as phones hide GPS: as an MPO whose second frame has it, and with EXIF appended."""
    import io

    from PIL import Image

    from .test_jpeg import _app1, _exif_with_gps

    image = Image.open(SAMPLES / SAMPLE_FILES[0])
    second = image.resize((400, 300))
    second.encoderinfo = {"exif": _exif_with_gps("Google")}
    mpo = io.BytesIO()
    image.save(mpo, "MPO", save_all=True, append_images=[second], exif=_exif_with_gps(), quality=95)
    plain = io.BytesIO()
    image.save(plain, "JPEG", quality=95)
    return [mpo.getvalue(), plain.getvalue() + _app1(b"Exif\x00\x00" + _exif_with_gps())]


def test_no_frame_or_trailing_data_carries_gps_into_the_store_or_archives(records, patient):
    import io
    import zipfile

    from .test_jpeg import _identifying

    person, area = patient
    uploads = _phone_upload_with_hidden_gps()
    for index, upload in enumerate(uploads):
        assert "serial number" in _identifying(upload)
        session = records.add_session(DOCTOR, person.id, f"2026-05-0{index + 4}", "laser")
        # Two uploads of one photo (as phones hide GPS two ways): confirmed as the same photo in two visits.
        view = records.add_photo(DOCTOR, session.id, area.id, upload, consent="publication", allow_duplicate=True)
        assert _identifying(records.photo_bytes(DOCTOR, view.id)) == []
    for purpose in ("clinical", "publication"):
        buffer = io.BytesIO()
        records.export_patient_archive(DOCTOR, person.id, buffer, purpose=purpose)
        archive = zipfile.ZipFile(buffer)
        photos = [name for name in archive.namelist() if name.lower().endswith((".jpg", ".jpeg", ".png"))]
        assert photos and all(_identifying(archive.read(name)) == [] for name in photos), purpose
    assert records.doctor(ADMIN).healthy


def test_doctor_finds_and_cleans_photos_an_older_version_stored_with_gps(records, patient):
    import hashlib

    from .test_jpeg import _identifying

    person, area = patient
    view = records.add_photo(DOCTOR, records.add_session(DOCTOR, person.id, "2026-05-04", "laser").id, area.id,
                             SAMPLES / SAMPLE_FILES[0])  # fmt: skip
    before = records.get_photo(DOCTOR, view.id).scores
    # What the old strip kept of an MPO upload: the first image and everything after it.
    old = records.store.get(view.file_name) + _phone_upload_with_hidden_gps()[0][2:]
    old_name = records.store.put(old, ".jpg")[0]
    with records.engine.begin() as connection:
        connection.execute(text("UPDATE photos SET file_name = :n, stored_sha256 = :h"), {"n": old_name, "h": old_name[:64]})
    records.store.delete(view.file_name)
    report = records.doctor(ADMIN)
    assert report.identifying_files == [old_name] and not report.healthy
    records.doctor(ADMIN, repair=True)
    cleaned = records.get_photo(DOCTOR, view.id)
    stored = records.photo_bytes(DOCTOR, view.id)
    assert _identifying(stored) == [] and cleaned.file_name == hashlib.sha256(stored).hexdigest() + ".jpg"
    assert not records.store.exists(old_name) and records.doctor(ADMIN).healthy
    assert cleaned.scores == before
    assert records.measurement(DOCTOR, view.id).score.metrics["redness"] == pytest.approx(before["redness"])


# --------------------------------------------------------------------------- issue 22, item 13


@pytest.mark.parametrize("hidden", ["\u200b", "\u200e", "\u202e", "\u2066", "\u00ad", "\ufeff", "\u2028", "\ue000", "\u2060", "\u034f", "\ufe0f"])
def test_a_code_with_an_invisible_or_bidi_character_is_refused(records, patient, hidden):  # noqa: F811
    """``DEMO-001\\u200b`` beside ``DEMO-001`` would be two patients that read the same."""
    before = _row_counts(records)
    with pytest.raises(InvalidInput, match="invisible"):
        records.add_patient(DOCTOR, f"P-0{hidden}03")
    person, _ = patient
    with pytest.raises(InvalidInput, match="invisible"):
        records.update_patient(DOCTOR, person.id, code=f"P-0{hidden}01")
    assert _row_counts(records) == before
    # At either end it is refused too, or (a space-like character) trimmed: never stored.
    for code in (f"P-001{hidden}", f"{hidden}P-002"):
        try:
            created = records.add_patient(DOCTOR, code)
        except InvalidInput:
            continue
        assert created.code == "P-002" and created.code.isascii()


def test_codes_are_nfkc_normalised_so_look_alikes_are_one_patient(records, patient):  # noqa: F811
    person, _ = patient
    with pytest.raises(InvalidInput, match="already exists"):
        records.add_patient(DOCTOR, "Ｐ－００１")  # full-width: reads as P-001
    assert records.find_patient(DOCTOR, "Ｐ－００１").id == person.id
    assert records.find_patient(DOCTOR, "P-001\u00a0").id == person.id  # a non-breaking space is a space, trimmed
    created = records.add_patient(DOCTOR, "ﬁ-7")  # the ligature is two letters
    assert created.code == "fi-7"


def test_sqlite_overwrites_deleted_rows(records):  # noqa: F811
    if not records.db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no secure_delete: deleted rows go with VACUUM (README)")
    raw_connection = records.engine.raw_connection()
    try:
        assert raw_connection.cursor().execute("PRAGMA secure_delete").fetchone()[0] == 1
        gone = records.add_patient(DOCTOR, "P-GONE", "Quintessa Forgettable")
        records.delete_patient(DOCTOR, gone.id)
        raw_connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw_connection.close()
    raw = b"".join(p.read_bytes() for p in records.data_dir.glob("skintrack.db*"))
    assert b"Quintessa Forgettable" not in raw
