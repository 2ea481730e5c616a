"""Patients: list with search, create, edit and delete a patient; their treated areas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skintrack.records import RecordsError

from .. import forms, state
from ..text import md
from . import patient_access

FITZPATRICK = ["—", 1, 2, 3, 4, 5, 6]


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Patients")
    state.show_notices()
    store, me = state.records(), state.actor()
    state.apply_resets()  # e.g. the search, after a patient was created (so the new one is listed)
    search = st.text_input("Search by code or name", key="patient_search")
    patients = store.list_patients(me, search)
    if patients:
        st.dataframe(
            pd.DataFrame(
                [
                    {"code": p.code, "name": p.display_name, "visits": p.session_count, "last visit": p.last_session}
                    for p in patients
                ]
            ),
            hide_index=True,
            key="patient_table",
            # Narrow enough for a phone (390 px): nothing cut off (the areas are listed under the selected patient).
            column_config={"code": st.column_config.TextColumn(width=80), "name": st.column_config.TextColumn(width=110),
                           "visits": st.column_config.NumberColumn(width=50),
                           "last visit": st.column_config.DateColumn(format="YYYY-MM-DD", width=95)},  # fmt: skip
        )
        labels = {p.id: f"{p.code} — {p.display_name}" for p in patients}
        ids = list(labels)
        state.show("patient_select", state.selected_patient_id(), ids)
        st.selectbox("Selected patient", ids, format_func=labels.get, key="patient_select", on_change=state.patient_chosen)
        state.select_patient(state.widget_value("patient_select"))
    else:
        st.info("No patient matches." if search else "No patients yet: create the first one below.")

    _new_patient(store, me, expanded=not patients)
    patient_id = state.selected_patient_id()
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    st.subheader(f"{md(patient.code)} — {md(patient.display_name)}")
    _edit_patient(store, me, patient)
    _areas(store, me, patient)
    patient_access.render(patient)
    _delete_patient(store, me, patient)


def _new_patient(store, me, *, expanded: bool) -> None:
    with st.expander("New patient", expanded=expanded):
        with st.form("new_patient_form", clear_on_submit=True):
            code = st.text_input("Patient code (unique)", key="new_patient_code")
            name = st.text_input("Display name", key="new_patient_name")
            cols = st.columns(2)
            birth_year = cols[0].number_input("Birth year (optional)", min_value=0, max_value=2100, value=0, step=1, key="new_patient_birth_year")
            fitzpatrick = cols[1].selectbox("Fitzpatrick type (optional)", FITZPATRICK, key="new_patient_fitzpatrick")
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
                    state.select_patient(created.id)  # the select box follows on the next run
                    state.reset_next_run("patient_search", "")
                    state.notify(f"Patient {created.code} created and selected.")  # shown as text by state.show_notices
                    st.rerun()


def _edit_patient(store, me, patient) -> None:
    with st.expander("Edit patient"):
        with st.form("edit_patient_form"):
            name = st.text_input("Display name", value=patient.display_name, key="edit_patient_name")
            cols = st.columns(2)
            birth_year = cols[0].number_input("Birth year", min_value=0, max_value=2100, value=patient.birth_year or 0, step=1, key="edit_patient_birth_year")
            fitzpatrick = cols[1].selectbox("Fitzpatrick type", FITZPATRICK, index=FITZPATRICK.index(patient.fitzpatrick or "—"), key="edit_patient_fitzpatrick")
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


def _areas(store, me, patient) -> None:
    areas = store.list_areas(me, patient.id)
    st.markdown("**Treated areas:** " + (", ".join(md(area.name) for area in areas) or "none yet"))
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
    if not areas:
        return
    with st.expander("Rename or delete an area"):
        names = {a.id: a.name for a in areas}
        state.keep_valid("edit_area_choice", areas[0].id, list(names))
        area_id = st.selectbox("Area", list(names), format_func=names.get, key="edit_area_choice")
        area = next(a for a in areas if a.id == area_id)
        photos = store.list_photos(me, patient.id, area.id)
        cols = st.columns([3, 1])
        new_name = cols[0].text_input("New name", value=area.name, key=f"rename_area_{area.id}")
        if cols[1].button("Rename", key=f"rename_area_button_{area.id}"):
            forms.change_and_rerun(lambda: store.update_area(me, area.id, new_name),
                                   spinner="Renaming (and measuring again if it names another face zone)…",
                                   done=lambda renamed: f"Area renamed to {renamed.name}.")  # fmt: skip
        forms.delete_with_confirmation(
            f"delete_area:{area.id}", ask=f"Delete this area and its {len(photos)} photos…",
            warning=f"Delete the area {md(area.name)} with its {len(photos)} photos and their measurements? "
                    "This cannot be undone (the audit log keeps a line).",
            confirm="Yes, delete the area", delete=lambda: store.delete_area(me, area.id),
            done=f"Area {area.name} deleted.", key=f"area_{area.id}")  # fmt: skip


def _delete_patient(store, me, patient) -> None:
    with st.expander("Delete this patient"):
        st.caption("Deletes the patient with every visit, photo, measurement and their log-in. The audit log keeps "
                   "a line. To confirm, type the patient code.")  # fmt: skip
        typed = st.text_input("Patient code", key=f"delete_patient_code_{patient.id}")
        if st.button("Delete the patient", key=f"delete_patient_{patient.id}", disabled=typed.strip() != patient.code):
            try:
                store.delete_patient(me, patient.id)
            except RecordsError as exc:
                st.error(md(exc))
            else:
                state.select_patient(None)
                state.notify(f"Patient {patient.code} deleted.")
                st.rerun()
