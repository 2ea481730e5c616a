"""Log-in, roles, the patient portal, accounts and audit pages of the app, through Streamlit's AppTest."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from skintrack.records import Actor, Records

from .conftest import REPO, copy_of_demo
from .test_app import PASSWORD, SAMPLES, TIMEOUT, _elements, _page, _staff, log_in

ADMIN = Actor("test set-up", role="admin")
PATIENT_PASSWORD = "patient-password"


@pytest.fixture(scope="module")
def clinic(demo_folder, tmp_path_factory):
    """The demo patient (with a log-in ``pat-demo``) and another patient nobody else may see."""
    folder = copy_of_demo(demo_folder, tmp_path_factory.mktemp("app-accounts") / "data")
    records = _staff(folder)
    demo = records.find_patient(ADMIN, "DEMO-001")
    other = records.add_patient(ADMIN, "P-SECRET", "Zelda Secret", notes="private note")
    area = records.add_area(ADMIN, other.id, "forehead")
    session = records.add_session(ADMIN, other.id, "2026-05-04", "laser")
    records.add_photo(ADMIN, session.id, area.id, SAMPLES / "2026-05-04_left-cheek.jpg", allow_duplicate=True)  # confirmed
    records.add_user(ADMIN, "pat-demo", PATIENT_PASSWORD, role="patient", patient_id=demo.id, display_name="Demo Person")
    records.close()
    return folder, demo.id, other.id


def _app(folder, monkeypatch, **env) -> AppTest:
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)


def _everything_shown(at: AppTest) -> str:
    """All text the app put on the page (main and sidebar), dataframes and charts included."""
    parts = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            parts.append(str(proto) if proto is not None else "")
            for attribute in ("value", "label", "body", "options"):
                try:
                    parts.append(str(getattr(child, attribute)))
                except Exception:
                    pass
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(parts)


def _no_secret_in_session(at: AppTest, *secrets: str) -> None:
    values = at.session_state.to_dict()  # the user's state and every keyed widget's value
    for key, value in values.items():
        for secret in secrets:
            assert secret not in repr(value), key


def test_nothing_about_any_patient_is_shown_before_log_in(clinic, monkeypatch):
    folder, demo_id, other_id = clinic
    at = _app(folder, monkeypatch).run()
    assert not at.exception
    shown = _everything_shown(at)
    assert "Log in" in shown
    for secret in ("DEMO-001", "P-SECRET", "Zelda", "Demo Person", demo_id, other_id, "left cheek"):
        assert secret not in shown
    assert not at.dataframe and not _elements(at, "vega_lite_chart") and not _elements(at, "image")
    # A page run without anyone signed in (as a URL would) asks for a log-in and shows nothing.
    script = AppTest.from_function(_bare_page, args=("patients",), default_timeout=TIMEOUT).run()
    assert not script.dataframe and any("log in" in w.value for w in script.warning)


def _bare_page(page):
    import importlib

    importlib.import_module(f"skintrack_app.pages.{page}").render()


def test_wrong_password_then_lockout_then_no_password_kept(clinic, monkeypatch):
    folder, _, _ = clinic
    at = _app(folder, monkeypatch).run()
    log_in(at, "dr-test", "not the password")
    assert any("Wrong user name or password" in e.value for e in at.error)
    assert not at.dataframe
    _no_secret_in_session(at, "not the password")  # the form forgets what was typed
    at = _app(folder, monkeypatch).run()
    log_in(at, "dr-test")
    assert at.header[0].value == "Patients"
    _no_secret_in_session(at, PASSWORD, "not the password")
    assert "Dr Provider (provider)" in _everything_shown(at)
    # Log out: back to the log-in page, nothing of the patients left.
    at.button(key="logout").click().run()
    assert not at.exception and not at.dataframe and "You are signed out" in at.info[0].value


def test_a_patient_sees_only_their_own_progress(clinic, monkeypatch):
    folder, demo_id, other_id = clinic
    at = _app(folder, monkeypatch).run()
    log_in(at, "pat-demo", PATIENT_PASSWORD)
    assert not at.exception
    assert at.header[0].value == "Your skin progress"
    assert len(_elements(at, "vega_lite_chart")) == 5  # one per measure a patient sees
    # their before/after slider, and the charts' legend (a component of its own since issue 21)
    assert sorted(e.key for e in _elements(at, "bidi_component")) == ["portal_legend", "portal_slider"]
    shown = _everything_shown(at)
    assert "Demo patient" in shown or "Demo" in shown
    for secret in ("P-SECRET", "Zelda", "private note", other_id, "Patients", "New session", "Export"):
        assert secret not in shown
    summary = " ".join(m.value for m in at.markdown)
    assert "Redness" in summary and "first visit" in summary
    for jargon in ("a*", "ΔL*", "ITA", "MDC", "L*"):
        assert jargon not in summary
    _no_secret_in_session(at, PATIENT_PASSWORD)
    # Session state pointing at another patient changes nothing: the portal reads the account.
    at.session_state["selected_patient_id"] = other_id
    at.run()
    assert "P-SECRET" not in _everything_shown(at) and at.header[0].value == "Your skin progress"


def test_a_patient_prepares_and_downloads_their_own_report(clinic, monkeypatch):
    folder, demo_id, other_id = clinic
    at = _app(folder, monkeypatch).run()
    log_in(at, "pat-demo", PATIENT_PASSWORD)
    assert not _elements(at, "download_button")  # built only when asked for
    at.button(key="portal_build_report").click().run()
    assert not at.exception and not at.error
    downloads = _elements(at, "download_button")
    assert len(downloads) == 1 and "report" in downloads[0].proto.label.lower()
    assert "P-SECRET" not in _everything_shown(at)


@pytest.mark.parametrize("page", ["patients", "new_session", "compare", "progress_page", "export", "accounts", "audit"])
def test_provider_and_admin_pages_refuse_a_patient(clinic, monkeypatch, page):
    folder, demo_id, other_id = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page(page, other_id, username="pat-demo", password=PATIENT_PASSWORD).run()
    assert not at.exception
    assert any("not available to you" in e.value for e in at.error)
    assert not at.dataframe and not _elements(at, "vega_lite_chart")
    assert "P-SECRET" not in _everything_shown(at)


def test_admins_get_accounts_and_audit(clinic, monkeypatch):
    folder, demo_id, _ = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("accounts", None, username="admin-test").run()
    assert not at.exception
    assert {"dr-test", "admin-test", "pat-demo"} <= set(at.dataframe[0].value["user name"])
    at.text_input(key="account_username").input("dr-new")
    at.text_input(key="account_password").input("new-provider-pw")
    at.text_input(key="account_password_again").input("new-provider-pw")
    at.button(key="add_account").click().run()
    assert not at.exception and "dr-new" in set(at.dataframe[0].value["user name"])
    # What someone typed comes back as text, not as Markdown (no image fetched from elsewhere).
    at.text_input(key="account_username").input("dr-mail")
    at.text_input(key="account_email").input("![x](http://tracker.example/x.png)@a.example")
    at.checkbox(key="account_oidc_only").check()
    at.button(key="add_account").click().run()
    errors = [e.value for e in at.error]
    assert any("not an e-mail address" in e.replace("\\", "") for e in errors)  # shown escaped, as typed
    assert all("![x](" not in e for e in errors) and any("\\!\\[x\\]\\(" in e for e in errors)
    at = _page("audit", None, username="admin-test").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"login", "account_created", "view_patient"} <= set(table["action"])
    assert "DEMO-001" in set(table["patient_code"])
    at.selectbox(key="audit_action").select("account_created").run()
    assert set(at.dataframe[0].value["action"]) == {"account_created"}
    # Providers do not get them.
    at = _page("audit", None).run()
    assert any("not available to you" in e.value for e in at.error) and not at.dataframe


def test_reading_the_audit_page_is_not_an_export_but_downloading_its_csv_is(clinic, monkeypatch):
    """Review of issue 22: every run of the Audit page wrote an "export: audit log table" line into the log it
    was showing, so each filter change added a line for an export that never happened."""
    folder, _, _ = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))

    def exports():
        return [e for e in Records(folder).audit_log(ADMIN, action="export") if e.target == "audit log table"]

    before = len(exports())
    at = _page("audit", None, username="admin-test").run()
    at.selectbox(key="audit_action").select("login").run()
    assert not at.exception and len(exports()) == before
    next(d for d in _elements(at, "download_button") if d.key == "audit_csv").click().run()
    lines = exports()
    assert len(lines) == before + 1 and lines[0].username == "admin-test" and "login" in lines[0].detail


def test_idle_timeout_and_a_disabled_account_sign_out(clinic, monkeypatch):
    folder, _, _ = clinic
    at = _app(folder, monkeypatch, SKINTRACK_IDLE_MINUTES="30").run()
    log_in(at, "dr-test")
    assert at.header[0].value == "Patients"
    at.session_state["last_activity"] = time.time() - 31 * 60
    at.run()
    assert not at.dataframe and any("30 minutes without activity" in i.value for i in at.info)
    records = Records(folder)
    records.add_user(ADMIN, "dr-leaving", PASSWORD, role="provider")
    at = _app(folder, monkeypatch).run()
    log_in(at, "dr-leaving")
    assert at.header[0].value == "Patients"
    records.disable_user(ADMIN, "dr-leaving")
    at.run()
    assert not at.dataframe and any("no longer enabled" in i.value for i in at.info)
    assert "logout" in {e.action for e in records.audit_log(ADMIN, user="dr-test")}


def test_a_provider_invites_a_patient_who_sets_their_own_password(clinic, monkeypatch):
    folder, demo_id, _ = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("patients", demo_id).run()
    at.button(key="create_invitation").click().run()
    assert not at.exception
    code = _elements(at, "code")[0].value
    at = _app(folder, monkeypatch).run()
    at.text_input(key="invite_code").input(code)
    at.text_input(key="invite_username").input("demo-person")
    at.text_input(key="invite_password").input("my-own-password")
    at.text_input(key="invite_password_again").input("my-own-password")
    at.button(key="invite_submit").click().run()
    assert not at.exception
    assert at.header[0].value == "Your skin progress"
    assert Records(folder).authenticate("demo-person", "my-own-password").patient_id == demo_id


def test_a_provider_revokes_an_invitation_where_it_was_made(clinic, monkeypatch):
    """Issue 22 item 11: a code handed out by mistake (or to the wrong person) could not be taken back."""
    from skintrack.records import AuthenticationFailed

    folder, demo_id, _ = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("patients", demo_id).run()
    at.button(key="create_invitation").click().run()
    code = _elements(at, "code")[0].value
    at = _page("patients", demo_id).run()
    open_ones = at.selectbox(key="invitation_to_revoke")
    assert open_ones.options and "open" in _everything_shown(at)
    newest = Records(folder).list_invitations(ADMIN, demo_id)[0]
    assert newest.status == "open" and open_ones.value == newest.id  # the newest open one first
    at.button(key="revoke_invitation").click().run()
    assert not at.exception
    assert any("revoked" in s.value for s in at.success)
    records = Records(folder)
    assert records.list_invitations(ADMIN, demo_id)[0].status == "revoked"
    with pytest.raises(AuthenticationFailed):
        records.redeem_invitation(code, "too-late", "a long enough test password 7")
    (line,) = [e for e in records.audit_log(ADMIN, action="invitation_revoked") if e.target == newest.id]
    assert line.username == "dr-test" and line.patient_id == demo_id


def test_production_refuses_to_start_with_a_demo_account(tmp_path, monkeypatch):
    records = Records(tmp_path)
    patient = records.add_patient(ADMIN, "DEMO-001")
    records.create_demo_accounts(ADMIN, patient.id)
    at = _app(tmp_path, monkeypatch, SKINTRACK_ENV="production").run()
    assert any("does not start in production" in e.value for e in at.error)
    assert not at.text_input  # not even the log-in form
    records.disable_user(ADMIN, "demo-provider")
    records.disable_user(ADMIN, "demo-patient")
    at = _app(tmp_path, monkeypatch, SKINTRACK_ENV="production").run()
    assert not at.error and at.text_input(key="login_username")


def test_a_provider_creates_a_patient_log_in_and_the_patient_changes_the_password(clinic, monkeypatch):
    folder, demo_id, _ = clinic
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("patients", demo_id).run()
    for again in ("other-password", "first-password"):  # a typo in the second field first
        at.text_input(key="patient_login_username").input("demo-two")
        at.text_input(key="patient_login_password").input("first-password")
        at.text_input(key="patient_login_password_again").input(again)
        at.button(key="create_patient_login").click().run()
        if again != "first-password":
            assert any("differ" in e.value for e in at.error)
    assert not at.exception and any("demo-two created" in s.value.replace("\\", "") for s in at.success)
    _no_secret_in_session(at, "first-password", "other-password")
    at = _page("my_account", None, username="demo-two", password="first-password").run()
    at.text_input(key="current_password").input("first-password")
    at.text_input(key="new_password").input("second-password")
    at.text_input(key="new_password_again").input("second-password")
    at.button(key="change_password").click().run()
    assert not at.exception and any("changed" in s.value for s in at.success)
    _no_secret_in_session(at, "first-password", "second-password")
    records = Records(folder)
    assert records.authenticate("demo-two", "second-password").patient_id == demo_id


def test_behind_a_proxy_the_client_is_the_address_the_proxy_saw_not_one_the_browser_wrote(monkeypatch):
    """Review of issue 22: the first X-Forwarded-For entry is whatever the browser sends, so a guesser rotating it
    escaped the per-client log-in limit; the proxy's own entry (the last) is the one to trust."""
    from types import SimpleNamespace

    from skintrack_app import state

    context = SimpleNamespace(headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}, ip_address="10.0.0.2")
    monkeypatch.setattr(state, "st", SimpleNamespace(context=context))
    monkeypatch.delenv("SKINTRACK_TRUST_PROXY", raising=False)
    assert state.client_address() == "10.0.0.2"  # no proxy trusted: the connection's own address
    monkeypatch.setenv("SKINTRACK_TRUST_PROXY", "1")
    assert state.client_address() == "203.0.113.7"
    context.headers["X-Forwarded-For"] = "7.7.7.7, 6.6.6.6, 203.0.113.7"  # the browser added two of its own
    assert state.client_address() == "203.0.113.7"
    monkeypatch.setenv("SKINTRACK_TRUST_PROXY", "2")  # two proxies: the outer one's view
    assert state.client_address() == "6.6.6.6"
