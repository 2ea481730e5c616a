"""Photos: every photo of the patient by visit — consent, move to another visit or area, delete.

Each change goes through the records service (checked and audited) and is
measured again at once where it changes a measurement (a new baseline, a photo
joining another area). Deleting asks for a confirmation first.
"""

from __future__ import annotations

import streamlit as st

from skintrack.records import CONSENT_LEVELS, RecordsError

from .. import forms, state, widgets
from ..text import md

CONSENT_WORDS = {
    "record": "Clinical record only",
    "teaching": "Record and teaching",
    "publication": "Record, teaching and publication",
}
STATUS_WORDS = {"scored": "measured", "not_comparable": "not comparable with the baseline", "blocked": "blocked by the quality check"}


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Photos")
    state.show_notices()
    store, me = state.records(), state.actor()
    patient = widgets.current_patient()
    if patient is None:
        return
    patient_id = patient.id
    st.caption("Correct where a photo is filed, its consent, or delete it; every change is logged.")
    photos = store.list_photos(me, patient_id)
    if not photos:
        st.info("No photos yet: add them on the New session page.")
        return
    sessions = store.list_sessions(me, patient_id)
    areas = store.list_areas(me, patient_id)
    area_names = {a.id: a.name for a in areas}
    choice = st.selectbox("Show", ["all"] + [a.id for a in areas],
                          format_func=lambda i: "every area" if i == "all" else area_names[i], key="photos_area")  # fmt: skip
    shown = [p for p in photos if choice == "all" or p.area_id == choice]
    for session in reversed(sessions):
        in_visit = [p for p in shown if p.session_id == session.id]
        if not in_visit:
            continue
        st.subheader(f"{session.date.isoformat()} — {md(session.treatment)}")
        for photo in in_visit:
            _photo(store, me, photo, sessions, areas)


def _photo(store, me, photo, sessions, areas) -> None:
    with st.container(border=True):
        cols = st.columns([1, 2])
        cols[0].image(widgets.photo_image(photo.file_name, photo.id), width="stretch")
        with cols[1]:
            st.markdown(f"**{md(photo.area)}** — {STATUS_WORDS.get(photo.status, md(photo.status))}"
                        + (" · baseline" if photo.is_baseline else "")
                        + (" · consent withdrawn" if photo.consent_withdrawn else ""))  # fmt: skip
            if photo.unmeasured:
                st.caption(md(photo.unmeasured))
            with st.expander("Consent"):
                _consent(store, me, photo)
            with st.expander("Move to another visit or area"):
                _move(store, me, photo, sessions, areas)
            _delete(store, me, photo)


def _consent(store, me, photo) -> None:
    with st.form(f"consent_form_{photo.id}"):
        level = st.radio("The patient agreed to use this photo for", list(CONSENT_LEVELS), format_func=CONSENT_WORDS.get,
                         index=CONSENT_LEVELS.index(photo.consent), key=f"consent_level_{photo.id}")  # fmt: skip
        withdrawn = st.checkbox("Consent withdrawn (the photo stays in the record but never leaves it)",
                                value=photo.consent_withdrawn, key=f"consent_withdrawn_{photo.id}")  # fmt: skip
        if st.form_submit_button("Save consent", key=f"save_consent_{photo.id}"):
            try:
                store.set_consent(me, photo.id, level, withdrawn=withdrawn)
            except RecordsError as exc:
                st.error(md(exc))
            else:
                state.notify("Consent saved.")
                st.rerun()


def _move(store, me, photo, sessions, areas) -> None:
    visit_labels = {s.id: f"{s.date.isoformat()} — {s.treatment}" for s in sessions}
    area_labels = {a.id: a.name for a in areas}
    with st.form(f"move_form_{photo.id}"):
        cols = st.columns(2)
        session_ids, area_ids = list(visit_labels), list(area_labels)
        session_id = cols[0].selectbox("Visit", session_ids, index=session_ids.index(photo.session_id),
                                       format_func=visit_labels.get, key=f"move_session_{photo.id}")  # fmt: skip
        area_id = cols[1].selectbox("Area", area_ids, index=area_ids.index(photo.area_id), format_func=area_labels.get,
                                    key=f"move_area_{photo.id}")  # fmt: skip
        if st.form_submit_button("Move the photo", key=f"move_photo_{photo.id}"):
            if (session_id, area_id) == (photo.session_id, photo.area_id):
                st.info("That is where the photo is already.")
                return
            try:
                with st.spinner("Moving, and measuring the areas again where the baseline changes…"):
                    moved = store.move_photo(me, photo.id, session_id=session_id, area_id=area_id)
            except RecordsError as exc:
                st.error(md(exc))
            else:
                state.notify(f"Photo moved to {moved.session_date.isoformat()}, {moved.area}.")
                st.rerun()


def _delete(store, me, photo) -> None:
    warning = "Delete this photo and its measurements? This cannot be undone (the audit log keeps a line)."
    if photo.is_baseline:
        warning += " It is the baseline: the next photo of this area becomes the baseline and is measured again."
    forms.delete_with_confirmation(f"delete_photo:{photo.id}", ask="Delete…", warning=warning,
                                   confirm="Yes, delete the photo", delete=lambda: store.delete_photo(me, photo.id),
                                   done="Photo deleted.", key=f"photo_{photo.id}")  # fmt: skip
