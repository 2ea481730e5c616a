"""Accounts and log-in (skintrack/records/accounts.py, login.py): argon2id passwords, lockout, password
changes, invitations, OIDC.

SQLite always, PostgreSQL when SKINTRACK_TEST_PG_URL is set (the ``records`` fixture of test_records).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import text

import skintrack.records.accounts as accounts
import skintrack.records.login as login
from skintrack.records import AccountLocked, Actor, AuthenticationFailed, InvalidInput, PermissionDenied, Records

from .test_records import records  # noqa: F401 - the SQLite / PostgreSQL fixture

ADMIN = Actor("Ada Admin", role="admin")
PROVIDER = Actor("Dr Ada", role="provider")
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long password"


@pytest.fixture
def clock(monkeypatch):
    """Control the accounts' clock: ``clock.now`` is returned; move it with ``clock.advance(minutes=…)``."""

    class Clock:
        now = dt.datetime(2026, 11, 30, 9, 0, 0)

        def advance(self, **delta):
            self.now += dt.timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(accounts, "clock", lambda: c.now)
    return c


@pytest.fixture
def patient(records):  # noqa: F811
    return records.add_patient(PROVIDER, "P-001", "Test Patient")


def _all_text(records) -> str:
    """Every value of every row of the account and audit tables, as text."""
    with records.engine.connect() as connection:
        rows = []
        for table in ("users", "invitations", "audit_log", "patients"):
            rows += [repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(rows)


@pytest.mark.real_password_hashing
def test_passwords_are_stored_as_argon2id_hashes_and_nowhere_in_plain(records, patient, caplog, tmp_path):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    records.add_user(ADMIN, "Dr.Bea", PASSWORD, role="provider", email="Bea@Clinic.example")
    records.add_user(ADMIN, "pat", NEW_PASSWORD, role="patient", patient_id=patient.id)
    for attempt in (PASSWORD, "wrong password one", NEW_PASSWORD):
        try:
            records.authenticate("dr.bea", attempt)
        except AuthenticationFailed:
            pass
    records.authenticate("pat", NEW_PASSWORD)
    with records.engine.connect() as connection:
        hashes = dict(connection.execute(text("SELECT username, password_hash FROM users")).all())
    assert set(hashes) == {"dr.bea", "pat"}  # user names are stored lower case
    for username, stored in hashes.items():
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    everything = _all_text(records)
    for secret in (PASSWORD, NEW_PASSWORD, "wrong password one"):
        assert secret not in everything
        assert all(secret not in record.getMessage() for record in caplog.records)
    if records.db_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in records.data_dir.glob("skintrack.db*"))
        assert PASSWORD.encode() not in raw and NEW_PASSWORD.encode() not in raw
        assert b"$argon2id$" in raw


def test_log_in_and_the_same_answer_for_an_unknown_name_and_a_wrong_password(records, patient):  # noqa: F811
    records.add_user(ADMIN, "bea", PASSWORD, role="provider", display_name="Dr Bea")
    actor = records.authenticate(" BEA ", PASSWORD)
    assert (actor.name, actor.role, actor.username, actor.source, actor.patient_id) == ("Dr Bea", "provider", "bea", "password", None)
    with pytest.raises(AuthenticationFailed) as wrong:
        records.authenticate("bea", "not the password")
    with pytest.raises(AuthenticationFailed) as unknown:
        records.authenticate("nobody", "not the password")
    assert str(wrong.value) == str(unknown.value) == login.WRONG_CREDENTIALS
    assert not isinstance(unknown.value, AccountLocked)
    for bad in (None, "", 42):
        with pytest.raises(AuthenticationFailed):
            records.authenticate("bea", bad)
    actions = [e.action for e in records.audit_log(ADMIN)]
    assert actions.count("login") == 1 and actions.count("login_failed") == 5


def test_five_wrong_passwords_lock_the_account_with_a_growing_delay(records, patient, clock, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="skintrack.records.accounts")
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    for attempt in range(4):
        with pytest.raises(AuthenticationFailed) as info:
            records.authenticate("bea", f"wrong {attempt}")
        assert not isinstance(info.value, AccountLocked)
    with pytest.raises(AccountLocked) as fifth:
        records.authenticate("bea", "wrong 4")
    assert isinstance(fifth.value, AuthenticationFailed)
    assert fifth.value.locked_until == clock.now + dt.timedelta(minutes=1)
    # Locked: even the right password is refused, with the same words as any failure (issue 22 item 8).
    with pytest.raises(AccountLocked) as refused:
        records.authenticate("bea", PASSWORD)
    assert str(refused.value) == str(fifth.value) == login.WRONG_CREDENTIALS
    assert any("locked" in r.getMessage() for r in caplog.records)  # the lock is logged
    lockouts = records.audit_log(ADMIN, action="lockout")
    assert len(lockouts) == 1 and lockouts[0].target == "bea"
    assert records.get_user(ADMIN, "bea").status == "locked"
    # After the lock the client has five fresh guesses (one wrong guess does not lock it again), and the
    # next lock is twice as long, then 4 minutes.
    for minutes in (2, 4):
        clock.advance(minutes=minutes // 2, seconds=1)
        for attempt in range(4):
            with pytest.raises(AuthenticationFailed) as info:
                records.authenticate("bea", f"wrong again {attempt}")
            assert not isinstance(info.value, AccountLocked)
        with pytest.raises(AccountLocked) as again:
            records.authenticate("bea", "wrong again 4")
        assert again.value.locked_until - clock.now == dt.timedelta(minutes=minutes)
    # The delay stops growing at an hour.
    assert login._lock_for(40) == login.LOCK_MAX == dt.timedelta(hours=1)
    # Once the lock ends the right password works and the count starts again.
    clock.advance(minutes=5)
    assert records.authenticate("bea", PASSWORD).username == "bea"
    view = records.get_user(ADMIN, "bea")
    assert view.failed_attempts == 0 and view.locked_until is None
    with pytest.raises(AuthenticationFailed) as again:
        records.authenticate("bea", "wrong again")
    assert not isinstance(again.value, AccountLocked)


def test_an_administrator_unlocks_and_resets(records, patient, clock):  # noqa: F811
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            records.authenticate("bea", f"wrong {attempt}")
    records.unlock_user(ADMIN, "bea")
    assert records.authenticate("bea", PASSWORD).username == "bea"
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            records.authenticate("bea", f"wrong {attempt}")
    records.reset_password(ADMIN, "bea", NEW_PASSWORD)  # also ends the lock
    assert records.authenticate("bea", NEW_PASSWORD).username == "bea"
    with pytest.raises(AuthenticationFailed):
        records.authenticate("bea", PASSWORD)


def test_change_password_needs_the_current_one(records, patient):  # noqa: F811
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    me = records.authenticate("bea", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        records.change_password(me, "not my password", NEW_PASSWORD)
    with pytest.raises(InvalidInput, match="at least 10"):
        records.change_password(me, PASSWORD, "short")
    records.change_password(me, PASSWORD, NEW_PASSWORD)
    assert records.authenticate("bea", NEW_PASSWORD).username == "bea"
    with pytest.raises(AuthenticationFailed):
        records.authenticate("bea", PASSWORD)
    assert [e.target for e in records.audit_log(ADMIN, action="password_changed")] == ["bea"]


def test_a_disabled_account_cannot_log_in_and_its_open_session_ends(records, patient):  # noqa: F811
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    me = records.authenticate("bea", PASSWORD)
    assert records.refresh_actor(me) == me
    records.disable_user(ADMIN, "bea")
    with pytest.raises(AuthenticationFailed) as disabled:
        records.authenticate("bea", PASSWORD)
    assert str(disabled.value) == login.WRONG_CREDENTIALS  # the right password is not confirmed (issue 22 item 10)
    with pytest.raises(AuthenticationFailed):
        records.refresh_actor(me)
    records.enable_user(ADMIN, "bea")
    assert records.authenticate("bea", PASSWORD).username == "bea"
    assert [e.action for e in records.audit_log(ADMIN) if e.target == "bea"][:3] == ["login", "account_enabled", "login_failed"]


def test_bad_account_input_is_refused_clearly(records, patient):  # noqa: F811
    cases = [
        dict(username="x", password=PASSWORD, role="provider"),  # too short a name
        dict(username="bad name", password=PASSWORD, role="provider"),
        dict(username="bea", password="short", role="provider"),
        dict(username="bea", password="bea", role="provider"),
        dict(username="bea", password=PASSWORD, role="owner"),
        dict(username="bea", password=PASSWORD, role="patient"),  # no patient
        dict(username="bea", password=PASSWORD, role="provider", patient_id=patient.id),
        dict(username="bea", password=None, role="provider"),  # neither password nor e-mail
        dict(username="bea", password=PASSWORD, role="provider", email="not-an-address"),
    ]
    for case in cases:
        with pytest.raises(InvalidInput):
            records.add_user(ADMIN, case.pop("username"), case.pop("password"), **case)
    records.add_user(ADMIN, "bea", PASSWORD, role="provider", email="bea@clinic.example")
    with pytest.raises(InvalidInput, match="taken"):
        records.add_user(ADMIN, "BEA", PASSWORD, role="provider")
    with pytest.raises(InvalidInput, match="already uses"):
        records.add_user(ADMIN, "bea2", PASSWORD, role="provider", email="BEA@clinic.example")
    assert [u.username for u in records.list_users(ADMIN)] == ["bea"]


def test_providers_manage_patients_accounts_only(records, patient):  # noqa: F811
    records.add_user(ADMIN, "boss", PASSWORD, role="admin")
    created = records.add_patient_account(PROVIDER, patient.id, "jane", PASSWORD)
    assert (created.role, created.patient_id, created.patient_code) == ("patient", patient.id, "P-001")
    assert [u.username for u in records.patient_accounts(PROVIDER, patient.id)] == ["jane"]
    records.reset_password(PROVIDER, "jane", NEW_PASSWORD)
    records.disable_user(PROVIDER, "jane")
    for forbidden in (
        lambda: records.reset_password(PROVIDER, "boss", NEW_PASSWORD),
        lambda: records.disable_user(PROVIDER, "boss"),
        lambda: records.add_user(PROVIDER, "dr-two", PASSWORD, role="provider"),
        lambda: records.list_users(PROVIDER),
    ):
        with pytest.raises(PermissionDenied):
            forbidden()
    with pytest.raises(InvalidInput, match="your own"):
        records.disable_user(records.authenticate("boss", PASSWORD), "boss")


def test_a_patient_account_logs_in_to_their_own_record_only(records, patient):  # noqa: F811
    other = records.add_patient(PROVIDER, "P-002")
    records.add_user(ADMIN, "jane", PASSWORD, role="patient", patient_id=patient.id)
    me = records.authenticate("jane", PASSWORD)
    assert (me.role, me.patient_id) == ("patient", patient.id)
    assert [p.code for p in records.list_patients(me)] == ["P-001"]
    with pytest.raises(PermissionDenied):
        records.get_patient(me, other.id)
    # Deleting the patient deletes their log-in, and says so in the audit log.
    records.delete_patient(PROVIDER, patient.id)
    with pytest.raises(AuthenticationFailed):
        records.authenticate("jane", PASSWORD)
    assert [e.target for e in records.audit_log(ADMIN, action="account_deleted")] == ["jane"]


def test_invitation_codes_are_single_use_and_expire(records, patient, clock):  # noqa: F811
    invitation = records.invite_patient(PROVIDER, patient.id)
    assert invitation.expires_at == clock.now + dt.timedelta(days=7)
    assert len(invitation.code) == 19 and invitation.code.count("-") == 3
    assert invitation.code.replace("-", "") not in _all_text(records)  # only its hash is stored
    # A taken user name or a short password leaves the code valid.
    records.add_user(ADMIN, "taken", PASSWORD, role="provider")
    with pytest.raises(InvalidInput):
        records.redeem_invitation(invitation.code, "taken", PASSWORD)
    with pytest.raises(InvalidInput):
        records.redeem_invitation(invitation.code, "jane", "short")
    me = records.redeem_invitation(invitation.code.lower().replace("-", " "), "jane", PASSWORD)  # typed loosely
    assert (me.role, me.patient_id, me.username, me.source) == ("patient", patient.id, "jane", "invitation")
    assert records.authenticate("jane", PASSWORD).patient_id == patient.id
    with pytest.raises(AuthenticationFailed, match="not valid"):
        records.redeem_invitation(invitation.code, "jane2", PASSWORD)  # used
    late = records.invite_patient(PROVIDER, patient.id, valid_for=dt.timedelta(hours=1))
    clock.advance(hours=1, seconds=1)
    with pytest.raises(AuthenticationFailed, match="expired"):
        records.redeem_invitation(late.code, "jane3", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        records.redeem_invitation("AAAA-BBBB-CCCC-DDDD", "jane4", PASSWORD)
    actions = [e.action for e in records.audit_log(ADMIN)]
    assert actions.count("invitation_issued") == 2 and actions.count("invitation_redeemed") == 1
    assert actions.count("invitation_failed") == 3
    with pytest.raises(PermissionDenied):
        records.invite_patient(me, patient.id)  # patients do not invite


def test_identity_provider_sign_in_maps_the_email_to_an_account(records, patient):  # noqa: F811
    records.add_user(ADMIN, "bea", None, role="provider", email="Bea@Clinic.example")  # identity provider only
    records.add_user(ADMIN, "cy@clinic.example", PASSWORD, role="provider")  # the user name is the address
    me = records.authenticate_oidc("bea@clinic.EXAMPLE", email_verified=True)
    assert (me.username, me.role, me.source) == ("bea", "provider", "oidc")
    # No fallback to a user name that looks like the address, and no log-in without a verified e-mail
    # (issue 22): anyone may register an unverified address at some identity providers.
    for verified in (True, None, False):
        with pytest.raises(AuthenticationFailed):
            records.authenticate_oidc("cy@clinic.example", email_verified=verified)
    with pytest.raises(AuthenticationFailed):
        records.authenticate_oidc("bea@clinic.example")  # email_verified missing
    with pytest.raises(AuthenticationFailed):
        records.authenticate("bea", "")  # no password to log in with
    for email, verified in (("nobody@clinic.example", True), ("bea@clinic.example", False), ("", None)):
        with pytest.raises(AuthenticationFailed):
            records.authenticate_oidc(email, email_verified=verified)
    records.disable_user(ADMIN, "bea")
    with pytest.raises(AuthenticationFailed):
        records.authenticate_oidc("bea@clinic.example", email_verified=True)
    with pytest.raises(InvalidInput, match="identity provider"):
        records.change_password(me, "", NEW_PASSWORD)


def test_demo_accounts(records, patient):  # noqa: F811
    assert records.demo_accounts() == [] and not records.has_accounts()
    credentials = records.create_demo_accounts(ADMIN, patient.id)
    assert set(credentials) == {"demo-provider", "demo-patient"}
    assert records.create_demo_accounts(ADMIN, patient.id) == credentials  # idempotent
    assert records.demo_accounts() == ["demo-patient", "demo-provider"] and records.has_accounts()
    assert records.authenticate("demo-patient", credentials["demo-patient"]).patient_id == patient.id
    assert all(u.is_demo for u in records.list_users(ADMIN))
    records.disable_user(ADMIN, "demo-provider")
    assert records.demo_accounts() == ["demo-patient"]


def test_acting_as_an_account_takes_its_rights(records, patient):  # noqa: F811
    records.add_user(ADMIN, "jane", PASSWORD, role="patient", patient_id=patient.id)
    jane = records.act_as(ADMIN, "jane")
    assert (jane.role, jane.patient_id) == ("patient", patient.id)
    with pytest.raises(PermissionDenied):
        records.add_session(jane, patient.id, "2026-05-04", "laser")


def test_two_records_objects_share_the_lock(tmp_path, clock):
    """The lock lives in the database, not in one process: another server process sees it."""
    first = Records(tmp_path / "data")
    first.add_user(ADMIN, "bea", PASSWORD, role="provider")
    second = Records(tmp_path / "data")
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            (first if attempt % 2 else second).authenticate("bea", f"wrong {attempt}")
    with pytest.raises(AccountLocked):
        first.authenticate("bea", PASSWORD)


def test_a_provider_cannot_manage_another_providers_account_and_an_admin_can(records, patient, clock):  # noqa: F811
    """Providers manage patients' log-ins only: another provider's account (a colleague, not an admin) is
    out of their reach for every change; an administrator makes each of them."""
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    records.add_user(ADMIN, "cal", PASSWORD, role="provider")
    bea = records.authenticate("bea", PASSWORD)
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            records.authenticate("cal", f"wrong {attempt}")
    for forbidden in (
        lambda: records.reset_password(bea, "cal", NEW_PASSWORD),
        lambda: records.disable_user(bea, "cal"),
        lambda: records.enable_user(bea, "cal"),
        lambda: records.unlock_user(bea, "cal"),
        lambda: records.get_user(bea, "cal"),
        lambda: records.reset_password(PROVIDER, "cal", NEW_PASSWORD),
        lambda: records.disable_user(PROVIDER, "cal"),
    ):
        with pytest.raises(PermissionDenied):
            forbidden()
    view = records.get_user(ADMIN, "cal")
    assert view.status == "locked" and not view.disabled  # nothing was changed by the refused calls
    with pytest.raises(AuthenticationFailed):
        records.authenticate("cal", NEW_PASSWORD)
    assert not records.audit_log(ADMIN, action="password_reset")
    assert not records.audit_log(ADMIN, action="account_disabled")
    # An administrator can do each of them.
    assert records.unlock_user(ADMIN, "cal").status == "active"
    records.reset_password(ADMIN, "cal", NEW_PASSWORD)
    assert records.authenticate("cal", NEW_PASSWORD).username == "cal"
    assert records.disable_user(ADMIN, "cal").disabled
    assert not records.enable_user(ADMIN, "cal").disabled


def test_unlock_forgets_the_wrong_guesses_so_the_next_one_does_not_lock_again(records, patient, clock):  # noqa: F811
    """After an administrator's unlock the owner has a full set of guesses again: the wrong guesses before
    the unlock (locked or not yet) are forgotten, and the next lock is the first one's length again."""
    records.add_user(ADMIN, "bea", PASSWORD, role="provider")
    for attempt in range(4):  # one short of a lock
        with pytest.raises(AuthenticationFailed):
            records.authenticate("bea", f"wrong {attempt}")
    assert records.get_user(ADMIN, "bea").failed_attempts > 0
    view = records.unlock_user(ADMIN, "bea")
    assert view.failed_attempts == 0 and view.status == "active" and view.locked_until is None
    for attempt in range(4):  # four more wrong guesses are still not a lock
        with pytest.raises(AuthenticationFailed) as info:
            records.authenticate("bea", f"again {attempt}")
        assert not isinstance(info.value, AccountLocked)
    with pytest.raises(AccountLocked) as first:
        records.authenticate("bea", "again 4")
    first_lock = first.value.locked_until - clock.now
    records.unlock_user(ADMIN, "bea")
    for attempt in range(4):  # unlocked after a lock: again a full set of guesses, not one
        with pytest.raises(AuthenticationFailed) as info:
            records.authenticate("bea", f"third {attempt}")
        assert not isinstance(info.value, AccountLocked)
    with pytest.raises(AccountLocked) as second:
        records.authenticate("bea", "third 4")
    assert second.value.locked_until - clock.now == first_lock  # the lock history went with the unlock
    assert records.unlock_user(ADMIN, "bea").failed_attempts == 0
    assert records.authenticate("bea", PASSWORD).username == "bea"
