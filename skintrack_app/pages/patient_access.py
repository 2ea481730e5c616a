"""A patient's log-in, from their page on Patients: create it, or give them a one-time invitation code."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from skintrack.records import RecordsError

from .. import forms, state


def render(patient) -> None:
    """The "Patient access" section for ``patient`` (providers and admins)."""
    me = state.require("admin", "provider")
    store = state.records()
    with st.expander("Patient access (log-in to their own progress)"):
        accounts = store.patient_accounts(me, patient.id)
        if accounts:
            st.text("\n".join(f"{a.username}: {a.status}" for a in accounts))
        else:
            st.text("This patient has no log-in yet.")
        st.markdown("**Invite them to set their own password** (a code for them to type in on the log-in page)")
        cols = st.columns([1, 2])
        days = cols[0].number_input("Valid for (days)", min_value=1, max_value=30, value=7, step=1, key="invite_days")
        if cols[1].button("Create invitation code", key="create_invitation"):
            try:
                invitation = store.invite_patient(me, patient.id, valid_for=dt.timedelta(days=int(days)))
            except RecordsError as exc:
                st.error(str(exc))
            else:
                st.success(f"Give this code to the patient; it works once, until "
                           f"{invitation.expires_at:%d %b %Y %H:%M} UTC. It is not shown again.")  # fmt: skip
                st.code(invitation.code, language=None)
        _invitations(me, store, patient.id)
        st.markdown("**Or create the log-in now** (tell them the password in person)")
        with st.form("patient_login_form", clear_on_submit=True):
            cols = st.columns(3)
            cols[0].text_input("User name", key="patient_login_username")
            forms.new_password_inputs("patient_login_password", columns=cols[1:])
            st.form_submit_button("Create log-in", key="create_patient_login", on_click=_create_login,
                                  args=(patient.id,))  # fmt: skip
        state.show_error("patient_login")
        if accounts:
            chosen = st.selectbox("Their log-in", [a.username for a in accounts], key="patient_login_chosen")
            account = next(a for a in accounts if a.username == chosen)
            cols = st.columns(2)
            if account.disabled:
                if cols[0].button("Enable this log-in", key="patient_login_enable"):
                    store.enable_user(me, account.username)
                    state.notify(f"Log-in {account.username} enabled.")
                    st.rerun()
            elif cols[0].button("Disable this log-in", key="patient_login_disable"):
                store.disable_user(me, account.username)
                state.notify(f"Log-in {account.username} disabled.")
                st.rerun()


def _invitations(me, store, patient_id: str) -> None:
    """The patient's invitation codes (the codes themselves are never stored) and revoking an open one."""
    invitations = store.list_invitations(me, patient_id)
    if not invitations:
        return
    st.text("\n".join(
        f"{i.created_at:%d %b %Y %H:%M} UTC by {i.created_by}: {i.status}"
        + (f" (used by {i.used_by})" if i.used_by else f", valid until {i.expires_at:%d %b %Y %H:%M} UTC"
           if i.status == "open" else "")
        for i in invitations[:10]
    ))  # fmt: skip
    open_ones = {i.id: i for i in invitations if i.status == "open"}
    if not open_ones:
        return
    cols = st.columns([2, 1])
    chosen = cols[0].selectbox(
        "Open invitation", list(open_ones), key="invitation_to_revoke",
        format_func=lambda i: f"made {open_ones[i].created_at:%d %b %Y %H:%M} UTC by {open_ones[i].created_by}",
    )  # fmt: skip
    if cols[1].button("Revoke this invitation", key="revoke_invitation", help="Its code stops working at once."):
        try:
            store.revoke_invitation(me, chosen)
        except RecordsError as exc:
            st.error(str(exc))
        else:
            st.success("Invitation revoked: its code no longer works.")


def _create_login(patient_id: str) -> None:
    password, error = forms.take_new_password("patient_login_password")
    if error:
        state.report_error("patient_login", error)
        return
    try:
        created = state.records().add_patient_account(
            state.actor(), patient_id, state.widget_value("patient_login_username"), password
        )
    except RecordsError as exc:
        state.report_error("patient_login", str(exc))
    else:
        state.notify(f"Log-in {created.username} created for this patient.")
