"""Password fields for forms, taking their values out of the session safely; deletions that ask first.

A form with a password is handled in its submit button's callback (which runs
before the page): :func:`take_new_password` reads both fields and blanks them in
the session at once, so no password outlives the click.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from skintrack.records import RecordsError

from . import state
from .text import md


def new_password_inputs(key: str, *, label: str = "Password (at least 10 characters)", columns=None) -> None:
    """Two password fields to choose a password: ``key`` and ``key + "_again"``."""
    first, second = columns if columns is not None else (st, st)
    first.text_input(label, type="password", key=key, autocomplete="new-password")
    second.text_input("The password again", type="password", key=f"{key}_again", autocomplete="new-password")


def take_new_password(key: str) -> tuple[str, str | None]:
    """The chosen password and ``None``, or ``""`` and the error to show when the two fields differ."""
    password, again = state.take_secret(key), state.take_secret(f"{key}_again")
    if password != again:
        return "", "The two passwords differ."
    return password, None


def change_and_rerun(change: Callable[[], object], *, spinner: str, done: str | Callable[[object], str]) -> None:
    """Run a change to the record under ``spinner``; a refusal is shown (nothing else happens), otherwise
    the page runs again with the notice ``done`` (or ``done(result)``)."""
    try:
        with st.spinner(spinner):
            result = change()
    except RecordsError as exc:
        st.error(md(exc))
        return
    state.notify(done(result) if callable(done) else done)
    st.rerun()


def delete_with_confirmation(action: str, *, ask: str, warning: str, confirm: str, delete: Callable[[], object],
                             done: str, key: str, spinner: str = "Deleting…",
                             after: Callable[[], object] | None = None) -> None:  # fmt: skip
    """A delete button that asks first: ``ask`` opens ``warning`` with ``confirm`` and *Cancel*; confirming
    runs ``delete()`` (a refusal is shown, nothing else happens), then ``after()`` (e.g. forget a selection
    that pointed at it) and reruns with the notice ``done``.

    ``action`` names what is being confirmed (one at a time per session); the buttons' keys end in ``key``."""
    if not state.confirming(action):
        if st.button(ask, key=f"delete_{key}"):
            state.ask_to_confirm(action)
            st.rerun()
        return
    st.warning(warning)
    cols = st.columns(2)
    if cols[0].button(confirm, type="primary", key=f"confirm_delete_{key}"):
        state.confirmed()
        try:
            with st.spinner(spinner):
                delete()
        except RecordsError as exc:
            st.error(md(exc))
            return
        if after is not None:
            after()
        state.notify(done)
        st.rerun()
    if cols[1].button("Cancel", key=f"cancel_delete_{key}"):
        state.confirmed()
        st.rerun()
