"""API tokens (skintrack.records.tokens): hashed, revocable, expiring, tied to an enabled account, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3

import pytest
from sqlalchemy import text

from skintrack.records import Actor, AuthenticationFailed, InvalidInput, NotFound, PermissionDenied, Records
from skintrack.records import tokens as tokens_module

PASSWORD = "a-long-password-1"
OPERATOR = Actor("op (local operator)", role="admin", source="cli")


@pytest.fixture
def records(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(OPERATOR, "P-1", "Jane Roe")
    other = records.add_patient(OPERATOR, "P-2", "John Roe")
    records.add_user(OPERATOR, "dr-ana", PASSWORD, role="provider")
    records.add_user(OPERATOR, "dr-bo", PASSWORD, role="provider")
    records.add_user(OPERATOR, "jane", PASSWORD, role="patient", patient_id=patient.id)
    records.add_user(OPERATOR, "john", PASSWORD, role="patient", patient_id=other.id)
    records.patient, records.other = patient, other
    yield records
    records.close()


def test_a_token_acts_as_its_account_with_its_role(records):
    made = records.create_api_token(OPERATOR, "jane", name="phone app")
    assert made.token.startswith("skt_") and len(made.token) >= 40
    actor = records.authenticate_token(made.token)
    assert (actor.username, actor.role, actor.patient_id, actor.source) == ("jane", "patient", records.patient.id, "api")
    assert records.get_patient(actor, records.patient.id).code == "P-1"
    with pytest.raises(PermissionDenied):  # a patient's token reads only that patient
        records.get_patient(actor, records.other.id)
    provider = records.authenticate_token(records.create_api_token(OPERATOR, "dr-ana", name="EMR").token)
    assert provider.role == "provider" and records.get_patient(provider, records.other.id).code == "P-2"


def test_only_the_hash_is_stored(records, tmp_path):
    made = records.create_api_token(OPERATOR, "dr-ana", name="EMR bridge")
    dump = b""
    for name in os.listdir(tmp_path / "data"):
        if name.startswith("skintrack.db"):
            dump += (tmp_path / "data" / name).read_bytes()
    assert made.token.encode() not in dump
    with sqlite3.connect(tmp_path / "data" / "skintrack.db") as db:
        (digest,) = db.execute("SELECT token_sha256 FROM api_tokens").fetchone()
    assert digest == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.view.shown == made.token[:12] and "token" not in vars(made.view)


def test_revoked_expired_disabled_and_unknown_tokens_are_refused_and_logged(records, monkeypatch):
    revoked = records.create_api_token(OPERATOR, "dr-ana", name="old laptop")
    records.revoke_api_token(OPERATOR, revoked.view.id)
    expiring = records.create_api_token(OPERATOR, "dr-ana", name="short", valid_days=1)
    disabled = records.create_api_token(OPERATOR, "dr-bo", name="bo's")
    records.disable_user(OPERATOR, "dr-bo")
    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=2)
    for token in (revoked.token, disabled.token, "skt_" + "x" * 43, "not-a-token", "", "skt_" + "é" * 300):
        with pytest.raises(AuthenticationFailed):
            records.authenticate_token(token)
    assert records.authenticate_token(expiring.token).username == "dr-ana"
    monkeypatch.setattr(tokens_module, "utcnow", lambda: later)
    with pytest.raises(AuthenticationFailed):
        records.authenticate_token(expiring.token)
    failures = records.audit_log(OPERATOR, action="login_failed")
    details = " | ".join(f.detail for f in failures)
    assert "revoked token" in details and "account disabled token" in details and "expired token" in details
    assert "unknown token" in details and "not a skintrack API token" in details
    assert all(t.token not in details for t in (revoked, expiring, disabled))  # never the secret
    records.enable_user(OPERATOR, "dr-bo")
    assert records.authenticate_token(disabled.token).username == "dr-bo"  # enabled again: works again


def test_making_and_revoking_tokens_is_audited_and_listed(records):
    ana = records.authenticate("dr-ana", PASSWORD)
    made = records.create_api_token(ana, name="my script")  # one's own account
    assert records.audit_log(OPERATOR, action="token_created")[0].target == "dr-ana"
    listed = records.list_api_tokens(ana)
    assert [(t.id, t.status, t.name) for t in listed] == [(made.view.id, "active", "my script")]
    records.revoke_api_token(ana, made.view.id)
    assert records.list_api_tokens(ana)[0].status == "revoked"
    assert records.audit_log(OPERATOR, action="token_revoked")[0].detail.startswith(made.view.shown)
    records.revoke_api_token(ana, made.view.id)  # again: nothing more happens
    assert len(records.audit_log(OPERATOR, action="token_revoked")) == 1
    everyone = records.list_api_tokens(OPERATOR, "*")
    assert [t.username for t in everyone] == ["dr-ana"]


def test_who_may_manage_whose_tokens(records):
    ana = records.authenticate("dr-ana", PASSWORD)
    jane = records.authenticate("jane", PASSWORD)
    assert records.create_api_token(ana, "jane", name="portal").view.username == "jane"  # providers: patients' accounts
    with pytest.raises(PermissionDenied):
        records.create_api_token(ana, "dr-bo", name="colleague's")  # not other staff's
    with pytest.raises(PermissionDenied):
        records.create_api_token(jane, "john", name="someone else's")
    own = records.create_api_token(jane, name="my phone")
    with pytest.raises(PermissionDenied):
        records.list_api_tokens(jane, "*")
    john = records.authenticate("john", PASSWORD)
    with pytest.raises(PermissionDenied):
        records.revoke_api_token(john, own.view.id)
    with pytest.raises(NotFound):
        records.revoke_api_token(jane, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(InvalidInput):
        records.create_api_token(OPERATOR, name="the operator has no account")
    with pytest.raises(InvalidInput):
        records.create_api_token(OPERATOR, "jane", name="  ")
    with pytest.raises(InvalidInput):
        records.create_api_token(OPERATOR, "jane", name="forever", valid_days=100 * 365)
    records.disable_user(OPERATOR, "john")
    with pytest.raises(InvalidInput):
        records.create_api_token(OPERATOR, "john", name="disabled account")


def test_deleting_the_patient_deletes_the_tokens_of_its_accounts(records):
    made = records.create_api_token(OPERATOR, "jane", name="portal")
    records.delete_patient(OPERATOR, records.patient.id)
    with pytest.raises(AuthenticationFailed):
        records.authenticate_token(made.token)
    with records.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM api_tokens")).scalar() == 0


def test_last_use_is_written_at_most_once_a_minute(records, monkeypatch):
    made = records.create_api_token(OPERATOR, "dr-ana", name="EMR")
    day = dt.date.today() + dt.timedelta(days=10)
    start = dt.datetime(day.year, day.month, day.day, 12, 0, 30)
    monkeypatch.setattr(tokens_module, "utcnow", lambda: start)
    records.authenticate_token(made.token)
    first = records.list_api_tokens(OPERATOR, "dr-ana")[0].last_used_at
    assert first == start.replace(second=0)
    monkeypatch.setattr(tokens_module, "utcnow", lambda: start + dt.timedelta(seconds=20))
    records.authenticate_token(made.token)
    assert records.list_api_tokens(OPERATOR, "dr-ana")[0].last_used_at == first
    monkeypatch.setattr(tokens_module, "utcnow", lambda: start + dt.timedelta(minutes=3))
    records.authenticate_token(made.token)
    assert records.list_api_tokens(OPERATOR, "dr-ana")[0].last_used_at == start.replace(minute=3, second=0)
