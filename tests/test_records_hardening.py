"""Hardening of the records (issue 12): field rules, file modes, disk full, concurrent imports, doctor.

Each test runs on SQLite and, when SKINTRACK_TEST_PG_URL is set, on PostgreSQL: both must accept and
refuse exactly the same values, with an InvalidInput and nothing changed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from skintrack.records import Actor, InvalidInput, NotFound

from .test_records import DOCTOR, SAMPLE_FILES, SAMPLES, _row_counts, patient, records  # noqa: F401 (fixtures)

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
