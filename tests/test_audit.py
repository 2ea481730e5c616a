"""The audit log (skintrack/records/audit.py): who did what, when, to which patient; append-only."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from sqlalchemy import text

import skintrack.records.audit as audit
from skintrack.records import Actor, AuthenticationFailed, InvalidInput, PermissionDenied
from skintrack.report import table_bytes

from .test_records import SAMPLE_FILES, SAMPLES, records  # noqa: F401 - the SQLite / PostgreSQL fixture

ADMIN = Actor("Ada Admin", role="admin")
PROVIDER = Actor("Dr Ada", role="provider")
PASSWORD = "correct horse battery"


def _actions(records, **filters) -> list[tuple[str, str | None]]:  # noqa: F811
    """(action, patient code) of every line, oldest first."""
    return [(e.action, e.patient_code) for e in reversed(records.audit_log(ADMIN, **filters))]


def test_every_kind_of_event_is_logged_with_its_patient(records, tmp_path):  # noqa: F811
    patient = records.add_patient(PROVIDER, "P-001", "Test Patient")
    area = records.add_area(PROVIDER, patient.id, "left cheek")
    session = records.add_session(PROVIDER, patient.id, "2026-05-04", "micro-needling")
    photo = records.add_photo(PROVIDER, session.id, area.id, SAMPLES / SAMPLE_FILES[0])
    records.get_patient(PROVIDER, patient.id)
    records.set_consent(PROVIDER, photo.id, "teaching")
    records.set_consent(PROVIDER, photo.id, "teaching")  # no change, no line
    records.export_patient_archive(PROVIDER, patient.id, tmp_path / "p.zip")
    records.scores_table(PROVIDER, patient.id)
    records.add_user(ADMIN, "jane", PASSWORD, role="patient", patient_id=patient.id)
    with pytest.raises(AuthenticationFailed):
        records.authenticate("jane", "wrong password")
    jane = records.authenticate("jane", PASSWORD)
    records.list_photos(jane, patient.id)
    with pytest.raises(PermissionDenied):
        records.add_session(jane, patient.id, "2026-05-05", "laser")
    records.delete_photo(PROVIDER, photo.id)
    records.delete_patient(PROVIDER, patient.id)
    records.import_patient_archive(PROVIDER, tmp_path / "p.zip")
    lines = _actions(records)
    expected = [
        ("create_patient", "P-001"),
        ("add_area", "P-001"),
        ("add_session", "P-001"),
        ("upload", "P-001"),
        ("view_patient", "P-001"),  # the provider read the record (once, however often)
        ("consent_change", "P-001"),
        ("export", "P-001"),  # the archive
        ("export", "P-001"),  # the scores table
        ("account_created", "P-001"),
        ("login_failed", "P-001"),
        ("login", "P-001"),
        ("view_patient", "P-001"),  # the patient read their own record
        ("permission_denied", "P-001"),
        ("delete_photo", "P-001"),
        ("account_deleted", "P-001"),
        ("delete_patient", "P-001"),
        ("import", "P-001"),
    ]
    assert lines == expected
    entries = {e.action: e for e in records.audit_log(ADMIN)}
    assert entries["login"].username == "jane" and entries["login"].actor_role == "patient"
    assert entries["upload"].actor == "Dr Ada" and entries["upload"].target == photo.id
    assert entries["consent_change"].detail == "record → teaching"
    assert entries["permission_denied"].target == "update"
    assert all(e.at <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) for e in records.audit_log(ADMIN))


def test_reading_a_record_again_soon_is_not_logged_again(records, monkeypatch):  # noqa: F811
    now = [1000.0]
    monkeypatch.setattr(audit.time, "monotonic", lambda: now[0])
    patient = records.add_patient(PROVIDER, "P-001")
    for _ in range(5):
        records.get_patient(PROVIDER, patient.id)
        records.list_sessions(PROVIDER, patient.id)
    assert _actions(records, action="view_patient") == [("view_patient", "P-001")]
    now[0] += audit.VIEW_EVENT_SECONDS + 1
    records.list_areas(PROVIDER, patient.id)
    assert len(_actions(records, action="view_patient")) == 2
    records.get_patient(Actor("Dr Bo"), patient.id)  # someone else: logged
    assert len(_actions(records, action="view_patient")) == 3


def test_a_refused_change_leaves_no_line_but_the_refusal(records):  # noqa: F811
    records.add_patient(PROVIDER, "P-001")
    with pytest.raises(InvalidInput):
        records.add_patient(PROVIDER, "P-001")  # the transaction rolled back, and its line with it
    assert _actions(records) == [("create_patient", "P-001")]


def test_the_log_is_append_only(records):  # noqa: F811
    patient = records.add_patient(PROVIDER, "P-001")
    statements = ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"]
    if records.db_url.startswith("postgresql"):
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            with records.engine.begin() as connection:
                connection.execute(text(statement))
    assert [e.actor for e in records.audit_log(ADMIN)] == ["Dr Ada"]
    # Lines outlive the patient they name.
    records.delete_patient(PROVIDER, patient.id)
    assert _actions(records) == [("create_patient", "P-001"), ("delete_patient", "P-001")]


def test_filters_and_a_csv_safe_to_open(records):  # noqa: F811
    hostile = records.add_patient(PROVIDER, "=HYPERLINK(\"http://x\")", "Mallory")
    records.add_patient(Actor("Dr Bo"), "P-002")
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    assert _actions(records, user="dr bo") == [("create_patient", "P-002")]
    assert _actions(records, action="account_created") == [("account_created", None)]
    assert _actions(records, patient_code=hostile.code) == [("create_patient", hostile.code)]
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(records.audit_log(ADMIN, since=today, until=today)) == 3
    assert records.audit_log(ADMIN, until=today - dt.timedelta(days=1)) == []
    assert len(records.audit_log(ADMIN, limit=2)) == 2
    csv = table_bytes(pd.DataFrame(records.audit_table(ADMIN)), "csv").decode()
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv
    table = pd.read_csv(io.StringIO(csv))
    assert list(table.columns) == ["id", "at_utc", "actor", "role", "username", "source", "action", "patient_code",
                                   "target", "detail"]  # fmt: skip
    with pytest.raises(PermissionDenied):
        records.audit_log(PROVIDER)


def test_retention_prunes_only_lines_past_it_and_the_database_refuses_younger_ones(records):  # noqa: F811
    """Issue 22 item 6: audit rows of failed log-ins could never be pruned; retention is now documented and enforced."""
    from skintrack.records.db import utcnow

    now = utcnow()
    with records._db() as db:
        records._audit(db, None, "login_failed", target="(unknown user)", at=now - dt.timedelta(days=audit.NOISE_DAYS + 1))
        records._audit(db, None, "login_failed", target="(unknown user)", at=now - dt.timedelta(days=audit.NOISE_DAYS - 1))
        records._audit(db, PROVIDER, "create_patient", at=now - dt.timedelta(days=audit.NOISE_DAYS + 1))
        records._audit(db, PROVIDER, "create_patient", at=now - dt.timedelta(days=audit.KEEP_DAYS + 1))
    with pytest.raises(Exception, match="append-only"):  # a young line cannot be deleted, whatever asks
        with records.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_log WHERE action = 'create_patient'"))
    assert records.prune_audit(ADMIN) == 2
    left = [(e.action, (now - e.at).days) for e in records.audit_log(ADMIN)]
    assert sorted(a for a, _ in left) == ["audit_pruned", "create_patient", "login_failed"]
    with pytest.raises(PermissionDenied):
        records.prune_audit(PROVIDER)


def test_reading_a_record_a_few_minutes_later_leaves_a_new_line(records, monkeypatch):  # noqa: F811
    """Issue 22 item 4: reads were throttled to one line per 10 minutes, hiding a second look."""
    now = [1000.0]
    monkeypatch.setattr(audit.time, "monotonic", lambda: now[0])
    patient = records.add_patient(PROVIDER, "P-001")
    records.get_patient(PROVIDER, patient.id)
    now[0] += 5 * 60
    records.get_patient(PROVIDER, patient.id)
    assert len(_actions(records, action="view_patient")) == 2
