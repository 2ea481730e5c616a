"""Patients: list with search, create and edit a patient, treated areas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skintrack.records import RecordsError

from .. import state
from . import patient_access
from ..text import md


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Patients")
    state.show_notices()
    store, me = state.records(), state.actor()
    search = st.text_input("Search by code or name", key="patient_search")
    patients = store.list_patients(me, search)
    if patients:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "code": p.code,
                        "name": p.display_name,
                        "areas": ", ".join(p.areas),
                        "sessions": p.session_count,
                        "treatments": p.treatment_count,
                        "last session": p.last_session,
                    }
                    for p in patients
                ]
            ),
            hide_index=True,
            key="patient_table",
        )
        labels = {p.id: f"{p.code} — {p.display_name}" for p in patients}
        ids = list(labels)
        current = state.selected_patient_id()
        chosen = st.selectbox(
            "Selected patient", ids, index=ids.index(current) if current in ids else 0,
            format_func=labels.get, key="patient_select",
        )  # fmt: skip
        state.select_patient(chosen)
    else:
        st.info("No patient matches." if search else "No patients yet: create the first one below.")

    with st.expander("New patient", expanded=not patients):
        with st.form("new_patient_form", clear_on_submit=True):
            code = st.text_input("Patient code (unique)", key="new_patient_code")
            name = st.text_input("Display name", key="new_patient_name")
            cols = st.columns(2)
            birth_year = cols[0].number_input("Birth year (optional)", min_value=0, max_value=2100, value=0, step=1, key="new_patient_birth_year")
            fitzpatrick = cols[1].selectbox("Fitzpatrick type (optional)", ["—", 1, 2, 3, 4, 5, 6], key="new_patient_fitzpatrick")
            notes = st.text_area("Notes", key="new_patient_notes")
            if st.form_submit_button("Create patient", key="create_patient"):
                try:
                    created = store.add_patient(
                        me, code, name or None,
                        birth_year=int(birth_year) or None,
                        fitzpatrick=None if fitzpatrick == "—" else int(fitzpatrick),
                        notes=notes,
                    )  # fmt: skip
                except RecordsError as exc:
                    st.error(md(exc))
                else:
                    state.select_patient(created.id)
                    state.notify(f"Patient {created.code} created.")  # shown as text by state.show_notices
                    st.rerun()

    patient_id = state.selected_patient_id()
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    st.subheader(f"{md(patient.code)} — {md(patient.display_name)}")
    with st.expander("Edit patient"):
        with st.form("edit_patient_form"):
            name = st.text_input("Display name", value=patient.display_name, key="edit_patient_name")
            cols = st.columns(2)
            birth_year = cols[0].number_input("Birth year", min_value=0, max_value=2100, value=patient.birth_year or 0, step=1, key="edit_patient_birth_year")
            options = ["—", 1, 2, 3, 4, 5, 6]
            fitzpatrick = cols[1].selectbox("Fitzpatrick type", options, index=options.index(patient.fitzpatrick or "—"), key="edit_patient_fitzpatrick")
            notes = st.text_area("Notes", value=patient.notes, key="edit_patient_notes")
            if st.form_submit_button("Save", key="save_patient"):
                try:
                    store.update_patient(
                        me, patient.id, display_name=name, birth_year=int(birth_year) or None,
                        fitzpatrick=None if fitzpatrick == "—" else int(fitzpatrick), notes=notes,
                    )  # fmt: skip
                except RecordsError as exc:
                    st.error(md(exc))
                else:
                    state.notify("Saved.")
                    st.rerun()
    st.markdown("**Treated areas:** " + (", ".join(md(area) for area in patient.areas) or "none yet"))
    with st.form("new_area_form", clear_on_submit=True):
        area_name = st.text_input("Add a treated area (e.g. left cheek, forehead)", key="new_area_name")
        if st.form_submit_button("Add area", key="add_area"):
            try:
                area = store.add_area(me, patient.id, area_name)
            except RecordsError as exc:
                st.error(md(exc))
            else:
                state.notify(f"Area {area.name} added.")
                st.rerun()
    patient_access.render(patient)
