"""The one module that owns ``st.session_state`` and the app's cached resources.

Pages ask this module for the records service, the acting provider, the
selected patient and the results of the last upload; they never touch
``st.session_state`` themselves.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from skintrack.records import Actor, Records

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"

_PATIENT = "selected_patient_id"
_SESSION = "current_session_id"
_UPLOADS = "upload_results"
_USER = "provider_name"


@st.cache_resource(show_spinner=False)
def _records(data_dir: str, db_url: str | None) -> Records:
    return Records(data_dir, db_url=db_url)


def records() -> Records:
    """The records service for ``$SKINTRACK_DATA`` (one per server process)."""
    data_dir = os.environ.get("SKINTRACK_DATA") or "skintrack-data"
    return _records(str(Path(data_dir).resolve()), os.environ.get("SKINTRACK_DB_URL"))


def actor() -> Actor:
    return Actor(st.session_state.get(_USER) or os.environ.get("SKINTRACK_USER") or "provider", role="provider")


def provider_name_widget() -> None:
    st.sidebar.text_input("You are", key=_USER, value=os.environ.get("SKINTRACK_USER") or "provider")


@st.cache_resource(show_spinner="Loading the demo patient…")
def _demo_loaded(data_dir: str) -> bool:
    store = records()
    if os.environ.get("SKINTRACK_NO_DEMO") or store.list_patients(Actor("demo loader")):
        return False
    store.load_demo(Actor("demo loader"), SAMPLES)
    return True


def ensure_demo() -> None:
    """On first start with an empty data folder, load the demo patient (once per server)."""
    _demo_loaded(str(records().data_dir))


def selected_patient_id() -> str | None:
    return st.session_state.get(_PATIENT)


def select_patient(patient_id: str | None) -> None:
    if st.session_state.get(_PATIENT) != patient_id:
        st.session_state[_PATIENT] = patient_id
        st.session_state[_SESSION] = None
        st.session_state[_UPLOADS] = []


def current_session_id() -> str | None:
    return st.session_state.get(_SESSION)


def set_current_session(session_id: str | None) -> None:
    st.session_state[_SESSION] = session_id
    st.session_state[_UPLOADS] = []


def upload_results() -> list[dict[str, Any]]:
    return st.session_state.setdefault(_UPLOADS, [])


def set_upload_results(results: list[dict[str, Any]]) -> None:
    st.session_state[_UPLOADS] = results


_NOTICES = "notices"


def notify(message: str) -> None:
    """A success message to show after the next rerun (st.rerun would wipe it otherwise)."""
    st.session_state.setdefault(_NOTICES, []).append(message)


def show_notices() -> None:
    for message in st.session_state.pop(_NOTICES, []):
        st.success(message)
