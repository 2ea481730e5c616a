"""Record versions (skintrack.records.versions): what If-Match checks, against lost updates.

SQLite always, PostgreSQL when SKINTRACK_TEST_PG_URL is set. The race tests use two Records handles
(as two servers would) on one database.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import create_engine, text

from skintrack.records import Actor, Records
from skintrack.records.versions import PreconditionNotChecked, VersionConflict, expect, version_of

from .conftest import REPO

DOCTOR = Actor("Dr Ada")
PHOTO = REPO / "sample_images" / "2026-05-04_left-cheek.jpg"
PG_URL = os.environ.get("SKINTRACK_TEST_PG_URL")
POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.slow)  # with the long checks, as in test_records


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", POSTGRESQL])
def database(request, tmp_path):
    """(data folder, database URL or None) for two handles to share."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("SKINTRACK_TEST_PG_URL not set (no PostgreSQL server)")
        _reset_postgres(PG_URL)
        return tmp_path / "data", PG_URL
    return tmp_path / "data", None


@pytest.fixture
def records(database):
    folder, url = database
    handle = Records(folder, db_url=url)
    yield handle
    handle.close()


def test_a_version_is_the_same_from_the_row_and_from_the_view_and_changes_with_any_change(records):
    patient = records.add_patient(DOCTOR, "P-1", "Jane")
    from skintrack.records.db import Patient

    with records._db() as db:
        assert version_of(db.get(Patient, patient.id)) == version_of(patient)
    before = version_of(patient)
    changed = records.update_patient(DOCTOR, patient.id, notes="new note")
    assert version_of(changed) != before
    assert version_of(records.get_patient(DOCTOR, patient.id)) == version_of(changed)
    # Derived fields are not part of it: adding a visit does not make an edit of the patient stale.
    records.add_session(DOCTOR, patient.id, "2026-05-04", "laser")
    assert version_of(records.get_patient(DOCTOR, patient.id)) == version_of(changed)


def test_a_stale_version_changes_nothing(records):
    patient = records.add_patient(DOCTOR, "P-1", "Jane")
    stale = version_of(patient)
    records.update_patient(DOCTOR, patient.id, notes="someone else's edit")
    with pytest.raises(VersionConflict) as refused:
        with expect("patient", patient.id, stale):
            records.update_patient(DOCTOR, patient.id, notes="mine")
    assert refused.value.current == version_of(records.get_patient(DOCTOR, patient.id))
    assert records.get_patient(DOCTOR, patient.id).notes == "someone else's edit"
    with expect("patient", patient.id, refused.value.current):
        assert records.update_patient(DOCTOR, patient.id, notes="mine").notes == "mine"


def test_every_kind_of_record_is_checked(records):
    patient = records.add_patient(DOCTOR, "P-1", "Jane")
    area = records.add_area(DOCTOR, patient.id, "left cheek")
    visit = records.add_session(DOCTOR, patient.id, "2026-05-04", "micro-needling")
    photo = records.add_photo(DOCTOR, visit.id, area.id, PHOTO)
    cases = [
        ("area", area.id, lambda: records.update_area(DOCTOR, area.id, "left cheek lower")),
        ("session", visit.id, lambda: records.update_session(DOCTOR, visit.id, notes="corrected")),
        ("photo", photo.id, lambda: records.set_consent(DOCTOR, photo.id, "teaching")),
        ("photo", photo.id, lambda: records.delete_photo(DOCTOR, photo.id)),
        ("session", visit.id, lambda: records.delete_session(DOCTOR, visit.id)),
        ("area", area.id, lambda: records.delete_area(DOCTOR, area.id)),
        ("patient", patient.id, lambda: records.delete_patient(DOCTOR, patient.id)),
    ]
    for kind, record_id, change in cases:
        with pytest.raises(VersionConflict):
            with expect(kind, record_id, "0" * 20):
                change()
    assert records.get_photo(DOCTOR, photo.id).consent == "record"  # nothing was changed
    assert records.list_areas(DOCTOR, patient.id)[0].name == "left cheek"
    with expect("photo", photo.id, version_of(records.get_photo(DOCTOR, photo.id))):
        assert records.set_consent(DOCTOR, photo.id, withdrawn=True).consent_withdrawn


def test_a_call_that_never_reads_the_record_is_a_bug_not_a_pass(records):
    patient = records.add_patient(DOCTOR, "P-1", "Jane")
    other = records.add_patient(DOCTOR, "P-2", "John")
    with pytest.raises(PreconditionNotChecked):
        with expect("patient", patient.id, version_of(patient)):
            records.update_patient(DOCTOR, other.id, notes="the wrong patient")


def test_two_servers_editing_the_same_record_cannot_both_win(database):
    """Both read version v; both send their change with If-Match v at the same moment: one lands, the other
    is refused, and the record holds exactly the winner's change."""
    folder, url = database
    first, second = Records(folder, db_url=url), Records(folder, db_url=url)
    try:
        patient = first.add_patient(DOCTOR, "P-1", "Jane")
        read = version_of(second.get_patient(DOCTOR, patient.id))
        for attempt in range(5):
            barrier = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def edit(handle, note):
                barrier.wait()
                try:
                    with expect("patient", patient.id, read):
                        handle.update_patient(DOCTOR, patient.id, notes=note)
                    outcomes[note] = "saved"
                except VersionConflict:
                    outcomes[note] = "refused"

            notes = (f"first {attempt}", f"second {attempt}")
            threads = [threading.Thread(target=edit, args=(h, n)) for h, n in zip((first, second), notes)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert sorted(outcomes.values()) == ["refused", "saved"]
            winner = next(note for note, outcome in outcomes.items() if outcome == "saved")
            current = first.get_patient(DOCTOR, patient.id)
            assert current.notes == winner
            first.update_patient(DOCTOR, patient.id, notes="")  # back to the version both read
            assert version_of(first.get_patient(DOCTOR, patient.id)) == read
    finally:
        first.close()
        second.close()
