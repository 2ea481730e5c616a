"""My account: who I am signed in as, and changing my password."""

from __future__ import annotations

import streamlit as st

from skintrack.records import RecordsError

from .. import forms, state


def render() -> None:
    me = state.require("admin", "provider", "patient")
    st.header("My account")
    state.show_notices()
    st.text(f"User name: {me.username}\nRole: {me.role}\nSigned in through: {me.source}")
    if me.source == "oidc":
        st.info("You sign in through your clinic's identity provider; change your password there.")
        return
    st.subheader("Change my password")
    with st.form("change_password_form", clear_on_submit=True):
        st.text_input("Current password", type="password", key="current_password", autocomplete="current-password")
        forms.new_password_inputs("new_password", label="New password (at least 10 characters)")
        st.form_submit_button("Change password", key="change_password", on_click=_change_password)
    state.show_error("change_password")


def _change_password() -> None:
    current = state.take_secret("current_password")
    new, error = forms.take_new_password("new_password")
    if error:
        state.report_error("change_password", error)
        return
    try:
        state.records().change_password(state.actor(), current, new, client=state.client_address())
    except RecordsError as exc:
        state.report_error("change_password", str(exc))
    else:
        state.notify("Your password was changed.")
