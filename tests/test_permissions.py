"""Every public Records method (and every engine function that reads records) checks the acting user.

The list of public methods comes from introspection: a new method that is not in
``CALLS`` below fails ``test_every_public_method_is_listed``, and one that does not
call ``authorize`` fails the refusal tests (it either answers, or the facade
raises ``UncheckedCall`` instead of ``PermissionDenied``).
"""

from __future__ import annotations

import inspect
import io
from types import SimpleNamespace

import pytest

from skintrack.progress import area_progress
from skintrack.records import Actor, NotFound, PermissionDenied, Records, UncheckedCall
from skintrack.records.service import NO_ACTOR_METHODS, _guard_public_methods

from .conftest import REPO

SAMPLES = REPO / "sample_images"
PHOTO = SAMPLES / "2026-05-04_left-cheek.jpg"
PASSWORD = "a-long-password-1"
MISSING = "00000000-0000-0000-0000-000000000000"

PROVIDER = Actor("Dr Ada", role="provider")
ADMIN = Actor("Ada Admin", role="admin")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    records = Records(tmp_path_factory.mktemp("permissions") / "data")
    a = records.add_patient(PROVIDER, "P-A", "Patient A")
    b = records.add_patient(PROVIDER, "P-B", "Patient B")
    area_a = records.add_area(PROVIDER, a.id, "left cheek")
    area_b = records.add_area(PROVIDER, b.id, "left cheek")
    session_a = records.add_session(PROVIDER, a.id, "2026-05-04", "micro-needling")
    session_b = records.add_session(PROVIDER, b.id, "2026-05-04", "micro-needling")
    photo_a = records.add_photo(PROVIDER, session_a.id, area_a.id, PHOTO)
    photo_b = records.add_photo(PROVIDER, session_b.id, area_b.id, PHOTO, allow_duplicate=True)  # the same photo, confirmed
    records.add_user(ADMIN, "boss", PASSWORD, role="admin")
    records.add_user(ADMIN, "pat-a", PASSWORD, role="patient", patient_id=a.id)
    records.add_user(ADMIN, "pat-b", PASSWORD, role="patient", patient_id=b.id)
    actors = {
        "provider": PROVIDER,
        "patient_a": records.authenticate("pat-a", PASSWORD),
        "other_patient": records.authenticate("pat-b", PASSWORD),
    }
    yield SimpleNamespace(
        records=records, a=a, b=b, area_a=area_a, area_b=area_b, session_a=session_a, photo_a=photo_a,
        photo_b=photo_b, actors=actors,
    )  # fmt: skip
    records.close()


# method -> (call, the actor who must be refused). "other_patient" is patient B acting on A's record;
# "patient_a" is A's own patient account (for what patients may not do even to their own record);
# "provider" for what only admins may do; "anonymous" when every identified user may call it.
CALLS = {
    "add_patient": (lambda r, a, w: r.add_patient(a, "P-NEW"), "other_patient"),
    "update_patient": (lambda r, a, w: r.update_patient(a, w.a.id, notes="changed"), "patient_a"),
    "get_patient": (lambda r, a, w: r.get_patient(a, w.a.id), "other_patient"),
    "find_patient": (lambda r, a, w: r.find_patient(a, "P-A"), "other_patient"),
    "list_patients": (lambda r, a, w: r.list_patients(a), "anonymous"),
    "delete_patient": (lambda r, a, w: r.delete_patient(a, w.a.id), "patient_a"),
    "add_area": (lambda r, a, w: r.add_area(a, w.a.id, "forehead"), "patient_a"),
    "list_areas": (lambda r, a, w: r.list_areas(a, w.a.id), "other_patient"),
    "add_session": (lambda r, a, w: r.add_session(a, w.a.id, "2026-06-01", "laser"), "patient_a"),
    "list_sessions": (lambda r, a, w: r.list_sessions(a, w.a.id), "other_patient"),
    "get_session": (lambda r, a, w: r.get_session(a, w.session_a.id), "other_patient"),
    "session_on": (lambda r, a, w: r.session_on(a, w.a.id, "2026-06-02"), "patient_a"),
    "add_photo": (lambda r, a, w: r.add_photo(a, w.session_a.id, w.area_a.id, PHOTO), "patient_a"),
    "photo_bytes": (lambda r, a, w: r.photo_bytes(a, w.photo_a.id), "other_patient"),
    "load_photo": (lambda r, a, w: r.load_photo(a, w.photo_a.id), "other_patient"),
    "measurement": (lambda r, a, w: r.measurement(a, w.photo_a.id), "other_patient"),
    "baseline_photo": (lambda r, a, w: r.baseline_photo(a, w.area_a.id), "other_patient"),
    "prepare_baseline": (lambda r, a, w: r.prepare_baseline(a, w.area_a.id), "other_patient"),
    "list_photos": (lambda r, a, w: r.list_photos(a, w.a.id), "other_patient"),
    "get_photo": (lambda r, a, w: r.get_photo(a, w.photo_a.id), "other_patient"),
    "delete_photo": (lambda r, a, w: r.delete_photo(a, w.photo_a.id), "patient_a"),
    "replace_photo": (lambda r, a, w: r.replace_photo(a, w.photo_a.id, PHOTO), "patient_a"),
    "set_consent": (lambda r, a, w: r.set_consent(a, w.photo_a.id, withdrawn=True), "patient_a"),
    "move_photo": (lambda r, a, w: r.move_photo(a, w.photo_a.id, area_id=w.area_a.id), "patient_a"),
    "update_session": (lambda r, a, w: r.update_session(a, w.session_a.id, notes="corrected"), "patient_a"),
    "delete_session": (lambda r, a, w: r.delete_session(a, w.session_a.id), "patient_a"),
    "update_area": (lambda r, a, w: r.update_area(a, w.area_a.id, "left cheek (lower)"), "patient_a"),
    "delete_area": (lambda r, a, w: r.delete_area(a, w.area_a.id), "patient_a"),
    "set_area_roi": (lambda r, a, w: r.set_area_roi(a, w.area_a.id, None), "patient_a"),
    "scores_table": (lambda r, a, w: r.scores_table(a, w.a.id), "patient_a"),
    "rescore": (lambda r, a, w: r.rescore(a, w.a.id), "patient_a"),
    "export_patient_archive": (lambda r, a, w: r.export_patient_archive(a, w.a.id, io.BytesIO()), "patient_a"),
    "export_deidentified": (lambda r, a, w: r.export_deidentified(a, w.a.id, io.BytesIO()), "patient_a"),
    "import_patient_archive": (lambda r, a, w: r.import_patient_archive(a, b"refused before it is read"), "patient_a"),
    "doctor": (lambda r, a, w: r.doctor(a), "provider"),
    "load_demo": (lambda r, a, w: r.load_demo(a, SAMPLES), "patient_a"),
    "add_user": (lambda r, a, w: r.add_user(a, "newcomer", PASSWORD, role="provider"), "provider"),
    "add_patient_account": (lambda r, a, w: r.add_patient_account(a, w.a.id, "pat-a2", PASSWORD), "patient_a"),
    "list_users": (lambda r, a, w: r.list_users(a), "provider"),
    "patient_accounts": (lambda r, a, w: r.patient_accounts(a, w.a.id), "patient_a"),
    "get_user": (lambda r, a, w: r.get_user(a, "pat-a"), "other_patient"),
    "disable_user": (lambda r, a, w: r.disable_user(a, "boss"), "provider"),
    "enable_user": (lambda r, a, w: r.enable_user(a, "boss"), "provider"),
    "unlock_user": (lambda r, a, w: r.unlock_user(a, "boss"), "provider"),
    "reset_password": (lambda r, a, w: r.reset_password(a, "boss", "another-password-2"), "provider"),
    "change_password": (lambda r, a, w: r.change_password(a, PASSWORD, "another-password-2"), "anonymous"),
    "invite_patient": (lambda r, a, w: r.invite_patient(a, w.a.id), "patient_a"),
    "act_as": (lambda r, a, w: r.act_as(a, "pat-a"), "provider"),
    "logged_out": (lambda r, a, w: r.logged_out(a), "anonymous"),
    "create_demo_accounts": (lambda r, a, w: r.create_demo_accounts(a, w.a.id), "provider"),
    "audit_log": (lambda r, a, w: r.audit_log(a), "provider"),
    "audit_table": (lambda r, a, w: r.audit_table(a), "provider"),
    "create_api_token": (lambda r, a, w: r.create_api_token(a, "pat-a", name="EMR bridge"), "other_patient"),
    "list_api_tokens": (lambda r, a, w: r.list_api_tokens(a, "pat-a"), "other_patient"),
    "revoke_api_token": (lambda r, a, w: r.revoke_api_token(a, _token_of_patient_a(r)), "other_patient"),
    "note_export": (lambda r, a, w: r.note_export(a, w.a.id, "FHIR bundle"), "patient_a"),
    "record_export": (lambda r, a, w: r.record_export(a, w.a.id, "PDF report"), "other_patient"),
    "prune_audit": (lambda r, a, w: r.prune_audit(a), "provider"),
    "list_invitations": (lambda r, a, w: r.list_invitations(a, w.a.id), "patient_a"),
    "revoke_invitations": (lambda r, a, w: r.revoke_invitations(a, w.a.id), "patient_a"),
    "revoke_invitation": (lambda r, a, w: r.revoke_invitation(a, _invitation_of_patient_a(r, w)), "patient_a"),
}


def _invitation_of_patient_a(records, world) -> str:
    """The id of a fresh invitation for patient A (made by an admin)."""
    records.invite_patient(ADMIN, world.a.id)
    return records.list_invitations(ADMIN, world.a.id)[0].id


def _token_of_patient_a(records) -> str:
    """The id of a fresh API token of patient A's account (made by an admin)."""
    return records.create_api_token(ADMIN, "pat-a", name="to revoke").view.id

ANONYMOUS = [None, Actor(""), Actor("someone", role="superuser"), "Dr Ada"]


def _public_methods() -> set[str]:
    return {name for name, member in inspect.getmembers(Records) if callable(member) and not name.startswith("_")}


def test_every_public_method_is_listed():
    """A new public method must be added to CALLS (and so to every test here) or be a log-in method."""
    unlisted = _public_methods() - NO_ACTOR_METHODS - set(CALLS)
    assert not unlisted, f"add {sorted(unlisted)} to CALLS with a call that must be refused"
    assert set(CALLS) <= _public_methods()
    # The exempt ones create actors (log-in) or say whether accounts exist; nothing else.
    assert NO_ACTOR_METHODS == {"authorize", "close", "authenticate", "authenticate_oidc", "redeem_invitation",
                                "refresh_actor", "has_accounts", "demo_accounts", "authenticate_token"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_public_method_refuses_an_unidentified_user(world, name):
    call, _ = CALLS[name]
    for actor in ANONYMOUS:
        with pytest.raises(PermissionDenied):
            call(world.records, actor, world)


@pytest.mark.parametrize("name", sorted(name for name, (_, who) in CALLS.items() if who != "anonymous"))
def test_every_public_method_refuses_who_may_not(world, name):
    call, who = CALLS[name]
    before = len(world.records.audit_log(ADMIN, action="permission_denied"))
    with pytest.raises(PermissionDenied):
        call(world.records, world.actors[who], world)
    assert len(world.records.audit_log(ADMIN, action="permission_denied")) == before + 1  # and it was logged


def test_every_public_method_works_for_an_administrator(tmp_path):
    """The check passes for someone allowed: no method refuses everyone or trips the facade's guard
    (e.g. by only delegating to another checked method)."""
    from skintrack.records import RecordsError

    records = Records(tmp_path / "data")
    world = SimpleNamespace(records=records)
    world.a = records.add_patient(PROVIDER, "P-A")
    world.b = records.add_patient(PROVIDER, "P-B")
    world.area_a = records.add_area(PROVIDER, world.a.id, "left cheek")
    world.session_a = records.add_session(PROVIDER, world.a.id, "2026-05-04", "micro-needling")
    world.photo_a = records.add_photo(PROVIDER, world.session_a.id, world.area_a.id, PHOTO)
    records.add_user(ADMIN, "pat-a", PASSWORD, role="patient", patient_id=world.a.id)
    records.add_user(ADMIN, "boss", PASSWORD, role="admin")
    admin = records.authenticate("boss", PASSWORD)
    last = ["delete_photo", "delete_session", "delete_area", "delete_patient"]
    for name in [n for n in CALLS if n not in last] + last:
        call, _ = CALLS[name]
        try:
            call(records, admin, world)
        except PermissionDenied:
            pytest.fail(f"{name} refused an administrator")
        except RecordsError:
            pass  # refused for what was asked (e.g. not an archive), after the check
    records.close()


def test_a_patient_sees_only_their_own_record(world):
    me = world.actors["patient_a"]
    assert [p.code for p in world.records.list_patients(me)] == ["P-A"]
    assert world.records.get_patient(me, world.a.id).code == "P-A"
    assert world.records.photo_bytes(me, world.photo_a.id)[:2] == b"\xff\xd8"
    assert [p.id for p in world.records.list_photos(me, world.a.id)] == [world.photo_a.id]
    me.username and world.records.get_user(me, "pat-a")  # their own account


def test_which_report_a_patient_may_get_is_decided_by_authorize(world):
    """Issue 23, item 5: the report's role rule lives in the one permission check, which logs every refusal."""
    from skintrack.report.content import check_access

    me, r = world.actors["patient_a"], world.records
    r.authorize(me, "patient_report", world.a.id)  # their own report, in their words
    r.authorize(PROVIDER, "patient_report", world.a.id)
    for action, patient_id in (("patient_report", world.b.id), ("patient_report", None), ("export", world.a.id)):
        with pytest.raises(PermissionDenied):
            r.authorize(me, action, patient_id)
    with pytest.raises(PermissionDenied, match=r"may not export"):
        check_access(r, me, world.a.id, "provider")  # the provider's report, even of their own record
    check_access(r, me, world.a.id, "patient")
    refusals = [e for e in r.audit_log(ADMIN, action="permission_denied") if e.target == "export"]
    assert refusals and refusals[0].patient_id == world.a.id


def test_a_missing_record_and_another_patients_get_the_same_refusal(world):
    """Issue 12, item 16: a patient cannot tell which codes, ids or photos exist."""
    me, r = world.actors["patient_a"], world.records
    pairs = [
        (lambda: r.find_patient(me, "NOPE"), lambda: r.find_patient(me, "P-B")),
        (lambda: r.get_patient(me, MISSING), lambda: r.get_patient(me, world.b.id)),
        (lambda: r.photo_bytes(me, MISSING), lambda: r.photo_bytes(me, world.photo_b.id)),
        (lambda: r.get_photo(me, MISSING), lambda: r.get_photo(me, world.photo_b.id)),
        (lambda: r.load_photo(me, MISSING), lambda: r.load_photo(me, world.photo_b.id)),
        (lambda: r.measurement(me, MISSING), lambda: r.measurement(me, world.photo_b.id)),
        (lambda: r.baseline_photo(me, MISSING), lambda: r.baseline_photo(me, world.area_b.id)),
        (lambda: r.prepare_baseline(me, MISSING), lambda: r.prepare_baseline(me, world.area_b.id)),
        (lambda: r.list_photos(me, MISSING), lambda: r.list_photos(me, world.b.id)),
        (lambda: r.list_sessions(me, MISSING), lambda: r.list_sessions(me, world.b.id)),
    ]
    for missing, others in pairs:
        with pytest.raises(PermissionDenied) as first:
            missing()
        with pytest.raises(PermissionDenied) as second:
            others()
        assert str(first.value) == str(second.value)
    # Providers may know what exists: a missing photo is simply not found.
    with pytest.raises(NotFound):
        r.photo_bytes(PROVIDER, MISSING)
    assert r.find_patient(PROVIDER, "NOPE") is None


def test_engine_functions_that_read_records_check_the_actor(world):
    with pytest.raises(PermissionDenied):
        area_progress(world.records, world.actors["other_patient"], world.a.id, world.area_a.id)
    with pytest.raises(PermissionDenied):
        area_progress(world.records, None, world.a.id, world.area_a.id)
    own = area_progress(world.records, world.actors["patient_a"], world.a.id, world.area_a.id)
    assert own.metrics["redness"].points


def test_a_method_that_forgets_the_check_is_refused_by_the_facade(tmp_path):
    class Careless(Records):
        def peek(self, actor, patient_id):
            with self._db() as db:
                from skintrack.records.db import Patient

                return db.get(Patient, patient_id).code

    _guard_public_methods(Careless)
    records = Careless(tmp_path / "data")
    patient = records.add_patient(PROVIDER, "P-1")
    with pytest.raises(UncheckedCall):
        records.peek(PROVIDER, patient.id)


def test_the_doctor_needs_an_admin(world):
    with pytest.raises(TypeError):
        world.records.doctor()  # noqa - no actor at all
    assert world.records.doctor(ADMIN).healthy
