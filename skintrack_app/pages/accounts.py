"""Accounts (admins): who may log in, with which role; add, disable, unlock, reset a password."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skintrack.records import ROLES, RecordsError

from .. import forms, state


def render() -> None:
    me = state.require("admin")
    st.header("Accounts")
    state.show_notices()
    store = state.records()
    users = store.list_users(me)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "user name": u.username,
                    "name": u.display_name,
                    "role": u.role,
                    "patient": u.patient_code or "",
                    "e-mail": u.email or "",
                    "status": u.status,
                    "demo": u.is_demo,
                    "last log-in (UTC)": u.last_login_at,
                }
                for u in users
            ]
        ),
        hide_index=True,
        key="accounts_table",
    )

    with st.expander("Add an account", expanded=not users):
        patients = store.list_patients(me)
        with st.form("add_account_form", clear_on_submit=True):
            cols = st.columns(2)
            cols[0].text_input("User name", key="account_username")
            cols[1].text_input("Name shown", key="account_name")
            cols = st.columns(2)
            cols[0].selectbox("Role", ROLES, index=1, key="account_role")
            cols[1].selectbox("Patient (patient accounts)", [None] + patients, key="account_patient",
                              format_func=lambda p: "—" if p is None else p.code)  # fmt: skip
            st.text_input("E-mail for the identity provider (optional)", key="account_email")
            st.checkbox("Signs in through the identity provider only (no password)", key="account_oidc_only")
            forms.new_password_inputs("account_password", columns=st.columns(2))
            st.form_submit_button("Add account", key="add_account", on_click=_add_account)
        state.show_error("add_account")

    if not users:
        return
    st.subheader("Change an account")
    chosen = st.selectbox("Account", [u.username for u in users], key="account_chosen")
    account = next(u for u in users if u.username == chosen)
    st.text(f"{account.username}: {account.role}, {account.status}")
    cols = st.columns(3)
    action = None
    if account.disabled:
        if cols[0].button("Enable", key="account_enable"):
            action = (store.enable_user, "enabled")
    elif cols[0].button("Disable", key="account_disable"):
        action = (store.disable_user, "disabled")
    if cols[1].button("Unlock", key="account_unlock", disabled=account.status != "locked"):
        action = (store.unlock_user, "unlocked")
    if action:
        try:
            action[0](me, account.username)
        except RecordsError as exc:
            st.error(str(exc))
        else:
            state.notify(f"Account {account.username} {action[1]}.")
            st.rerun()
    with st.form("reset_password_form", clear_on_submit=True):
        forms.new_password_inputs("reset_password", label="New password for this account")
        st.form_submit_button("Reset password", key="reset_password_submit", on_click=_reset_password)
    state.show_error("reset_password")


def _add_account() -> None:
    password, error = forms.take_new_password("account_password")
    oidc_only = state.widget_value("account_oidc_only", False)
    if not oidc_only and error:
        state.report_error("add_account", error)
        return
    role = state.widget_value("account_role", "provider")
    patient = state.widget_value("account_patient", None)
    try:
        created = state.records().add_user(
            state.actor(), state.widget_value("account_username"), None if oidc_only else password, role=role,
            patient_id=patient.id if patient is not None and role == "patient" else None,
            email=state.widget_value("account_email") or None, display_name=state.widget_value("account_name") or None,
        )  # fmt: skip
    except RecordsError as exc:
        state.report_error("add_account", str(exc))
    else:
        state.notify(f"Account {created.username} added.")


def _reset_password() -> None:
    new, error = forms.take_new_password("reset_password")
    username = state.widget_value("account_chosen")
    if error:
        state.report_error("reset_password", error)
        return
    try:
        state.records().reset_password(state.actor(), username, new)
    except RecordsError as exc:
        state.report_error("reset_password", str(exc))
    else:
        state.notify(f"Password of {username} reset; tell them in person or by phone.")
