"""Password fields for forms, taking their values out of the session safely, and showing form errors.

A form with a password is handled in its submit button's callback (which runs
before the page): :func:`take_new_password` reads both fields and blanks them in
the session at once, so no password outlives the click.
"""

from __future__ import annotations

import streamlit as st

from . import state


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
