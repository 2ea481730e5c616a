"""Log in: user name and password, the clinic's identity provider (st.login), or a patient's invitation code.

Nothing about any patient is shown here.
"""

from __future__ import annotations

import streamlit as st

from .. import forms, state
from ..text import md


def render() -> None:
    st.title("skintrack")
    st.caption("Before/after skin measurements. Not a medical device; not for diagnosis.")
    reason = state.signed_out_reason()
    if reason:
        st.info(reason)
    store = state.records()
    if not store.has_accounts():
        st.warning("There are no accounts yet. On the server, create the first administrator with "
                   "`skintrack users add NAME --role admin`.")  # fmt: skip
    demo = store.demo_accounts()
    if demo:
        st.info("This is a demonstration installation. Log in as demo-provider (password demo-provider-pw) "
                "or demo-patient (password demo-patient-pw); see the README. Disable the demo accounts "
                "before real use.")  # fmt: skip

    st.subheader("Log in")
    with st.form("login_form", clear_on_submit=True):
        st.text_input("User name", key="login_username", autocomplete="username")
        st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
        st.form_submit_button("Log in", type="primary", key="login_submit", on_click=_log_in)
    state.show_error("login")

    providers = state.oidc_providers()
    refused = state.oidc_refusal()
    if refused:
        st.error(md(refused))
        st.button("Sign out of the identity provider", key="oidc_logout", on_click=st.logout)
    elif providers:
        for provider in providers:
            label = "Log in with your clinic account" if provider == "default" else f"Log in with {provider}"
            st.button(label, key=f"oidc_login_{provider}", on_click=st.login,
                      args=() if provider == "default" else (provider,))  # fmt: skip

    with st.expander("I am a patient and have an invitation code"):
        with st.form("invitation_form", clear_on_submit=True):
            st.text_input("Invitation code", key="invite_code", placeholder="ABCD-EFGH-JKLM-NPQR")
            st.text_input("Choose a user name", key="invite_username", autocomplete="username")
            forms.new_password_inputs("invite_password", label="Choose a password (at least 10 characters)")
            st.form_submit_button("Create my account", key="invite_submit", on_click=_redeem)
        state.show_error("invitation")


def _log_in() -> None:
    """The form's callback: runs before the page, so a signed-in user gets their pages straight away."""
    username = state.widget_value("login_username")
    password = state.take_secret("login_password")
    state.report_error("login", state.sign_in(username, password))


def _redeem() -> None:
    code = state.widget_value("invite_code")
    username = state.widget_value("invite_username")
    password, error = forms.take_new_password("invite_password")
    state.report_error("invitation", error or state.redeem_invitation(code, username, password))
