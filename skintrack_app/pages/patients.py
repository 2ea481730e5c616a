"""Patients: list with search, create, edit and delete a patient; their treated areas."""

from __future__ import annotations

import datetime as dt

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
                    # A patient without visits has no last visit: a dash, never "None".
                    {"code": p.code, "name": p.display_name, "visits": p.session_count,
                     "last visit": p.last_session.isoformat() if p.last_session else "–"}  # fmt: skip
                    for p in patients
                ]
            ),
            hide_index=True,
            key="patient_table",
            # Narrow enough for a phone (390 px): nothing cut off (the areas are listed under the selected patient).
            column_config={"code": st.column_config.TextColumn(width=80), "name": st.column_config.TextColumn(width=110),
                           "visits": st.column_config.NumberColumn(width=50),
                           "last visit": st.column_config.TextColumn(width=95)},  # fmt: skip
        )
        labels = {p.id: f"{p.code} — {p.display_name}" for p in patients}
        ids = list(labels)
        state.show("patient_select", state.selected_patient_id(), ids)
        st.selectbox("Selected patient", ids, format_func=labels.get, key="patient_select", on_change=state.patient_chosen)
        state.select_patient(state.widget_value("patient_select"))
    else:
        st.info("No patients yet: create the first one below." if not search else "No patient matches.")

    _new_patient(expanded=not patients)
    patient_id = state.selected_patient_id()
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    st.subheader(f"{md(patient.code)} — {md(patient.display_name)}")
    _edit_patient(store, me, patient)
    _areas(store, me, patient)
    patient_access.render(patient)
    _delete_patient(store, me, patient)


def _birth_year_input(column, label: str, value: int | None, key: str):
    """A birth year between 1900 and this year, empty when not recorded (it started at 0)."""
    this_year = dt.date.today().year
    return column.number_input(label, min_value=1900, max_value=this_year, value=value, step=1, key=key,
                               placeholder="not recorded", format="%d")  # fmt: skip


_NEW_PATIENT_FIELDS = ("new_patient_code", "new_patient_name", "new_patient_birth_year", "new_patient_fitzpatrick",
                       "new_patient_notes")  # fmt: skip


def _new_patient(*, expanded: bool) -> None:
    # Handled in the button's callback (before the page runs, with this submission's values) and cleared
    # only once the patient is created: a double click neither loses what was typed nor reports the emptied
    # form as an error, and a refused code keeps the form filled in for correcting.
    with st.expander("New patient", expanded=expanded):
        with st.form("new_patient_form", clear_on_submit=False):
            st.text_input("Patient code (unique)", key="new_patient_code")
            st.text_input("Display name", key="new_patient_name")
            cols = st.columns(2)
            _birth_year_input(cols[0], "Birth year (optional)", None, "new_patient_birth_year")
            cols[1].selectbox("Fitzpatrick type (optional)", FITZPATRICK, key="new_patient_fitzpatrick")
            st.text_area("Notes", key="new_patient_notes")
            st.form_submit_button("Create patient", key="create_patient", on_click=_create_patient,
                                  args=(state.form_generation("new_patient_form"),))
        state.show_error("new_patient_form")


def _create_patient(generation: int) -> None:
    """The Create patient button's callback (for the form drawn as ``generation``)."""
    values = tuple(state.widget_value(key) for key in _NEW_PATIENT_FIELDS)
    code, name, birth_year, fitzpatrick, notes = values
    me = state.callback_actor()
    if me is None or state.repeated_submit("new_patient_form", generation, (code,)):
        return
    selected_before = state.selected_patient_id()
    try:
        created = state.records().add_patient(
            me, code, name or None,
            birth_year=None if birth_year is None else int(birth_year),
            fitzpatrick=None if fitzpatrick in (None, "—") else int(fitzpatrick),
            notes=notes or "",
        )  # fmt: skip
    except RecordsError as exc:
        state.report_error("new_patient_form", str(exc))  # the form keeps what was typed
        return

    def effects() -> None:
        state.report_error("new_patient_form", None)
        state.clear_fields(_NEW_PATIENT_FIELDS, {"new_patient_birth_year": None, "new_patient_fitzpatrick": "—"})
        state.select_patient(created.id)  # the select box follows in this run
        st.session_state["patient_search"] = ""  # so the new patient is listed
        state.notify(f"Patient {created.code} created and selected.")  # shown as text by state.show_notices

    state.carried_out("new_patient_form", (code,), effects, replaces=selected_before)


def _edit_patient(store, me, patient) -> None:
    with st.expander("Edit patient"):
        with st.form("edit_patient_form"):
            name = st.text_input("Display name", value=patient.display_name, key="edit_patient_name")
            cols = st.columns(2)
            birth_year = _birth_year_input(cols[0], "Birth year", patient.birth_year, "edit_patient_birth_year")
            fitzpatrick = cols[1].selectbox("Fitzpatrick type", FITZPATRICK, index=FITZPATRICK.index(patient.fitzpatrick or "—"), key="edit_patient_fitzpatrick")
            notes = st.text_area("Notes", value=patient.notes, key="edit_patient_notes")
            if st.form_submit_button("Save", key="save_patient"):
                try:
                    store.update_patient(
                        me, patient.id, display_name=name, birth_year=None if birth_year is None else int(birth_year),
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
    with st.form("new_area_form", clear_on_submit=False):  # double-click safe: see _new_patient
        st.text_input("Add a treated area (e.g. left cheek, forehead)", key="new_area_name")
        st.form_submit_button("Add area", key="add_area", on_click=_add_area,
                              args=(patient.id, state.form_generation(f"new_area_form:{patient.id}")))
    state.show_error("new_area_form")
    if not areas:
        return
    with st.expander("Rename or delete an area", key=f"edit_areas_{patient.id}", on_change="rerun"):  # see new_session
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


def _add_area(patient_id: str, generation: int) -> None:
    """The Add area button's callback (for the patient shown when it was pressed, its form as drawn)."""
    values = (state.widget_value("new_area_name"),)
    me = state.callback_actor()
    if me is None or state.repeated_submit(f"new_area_form:{patient_id}", generation, values):
        return
    try:
        area = state.records().add_area(me, patient_id, values[0])
    except RecordsError as exc:
        state.report_error("new_area_form", str(exc))
        return

    def effects() -> None:
        state.report_error("new_area_form", None)
        state.clear_fields(("new_area_name",))
        state.notify(f"Area {area.name} added.")

    state.carried_out(f"new_area_form:{patient_id}", values, effects)


def _delete_patient(store, me, patient) -> None:
    with st.expander("Delete this patient", key=f"delete_patient_box_{patient.id}", on_change="rerun"):  # see new_session
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
