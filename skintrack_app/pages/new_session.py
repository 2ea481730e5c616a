"""New session: record a visit, upload its photos, see each photo's checks and scores."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

from skintrack import PhotoError
from skintrack.metrics import METRICS
from skintrack.records import TREATMENTS, RecordsError

from .. import state, views
from ..text import md

PHOTO_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "tif", "tiff", "webp"]


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("New session")
    store, me = state.records(), state.actor()
    patient_id = views.chosen_patient_id("Select or create a patient on the Patients page first.")
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    st.caption(f"Patient {md(patient.code)} — {md(patient.display_name)}")

    with st.form("new_session_form"):
        cols = st.columns(3)
        date = cols[0].date_input("Date", value=dt.date.today(), max_value=dt.date.today(), key="session_date")
        treatment = cols[1].selectbox("Treatment", TREATMENTS, index=1, key="session_treatment")
        provider = cols[2].text_input("Provider", value=me.name, key="session_provider")
        cols = st.columns(3)
        depth = cols[0].number_input("Needle depth (mm)", min_value=0.0, max_value=5.0, value=0.0, step=0.25, key="session_depth")
        energy = cols[1].number_input("Energy (J/cm²)", min_value=0.0, max_value=500.0, value=0.0, step=1.0, key="session_energy")
        other = cols[2].text_input("Other settings", key="session_other_settings")
        notes = st.text_area("Notes", key="session_notes")
        if st.form_submit_button("Create session", key="create_session"):
            settings = {k: v for k, v in {"needle_depth_mm": depth, "energy_J_cm2": energy}.items() if v}
            if other.strip():
                settings["other"] = other.strip()
            try:
                session = store.add_session(me, patient_id, date, treatment, settings=settings, provider=provider, notes=notes)
            except RecordsError as exc:
                st.error(md(exc))
            else:
                state.set_current_session(session.id)
                st.success(f"Session of {session.date.isoformat()} created: now add its photos.")

    sessions = store.list_sessions(me, patient_id)
    if not sessions:
        return
    labels = {s.id: f"{s.date.isoformat()} — {s.treatment}" for s in sessions}
    ids = list(labels)[::-1]
    current = state.current_session_id()
    session_id = st.selectbox(
        "Session", ids, index=ids.index(current) if current in ids else 0, format_func=labels.get, key="upload_session"
    )
    if session_id != current:
        state.set_current_session(session_id)
    areas = store.list_areas(me, patient_id)
    area_names = [a.name for a in areas]
    cols = st.columns([2, 2])
    area_choice = cols[0].selectbox("Area", area_names + ["+ new area…"], key="upload_area")
    new_area = cols[1].text_input("New area name", key="upload_new_area", disabled=area_choice != "+ new area…")
    uploads = st.file_uploader("Photos (JPEG, PNG, HEIC, …)", type=PHOTO_TYPES, accept_multiple_files=True, key="upload_files")
    camera = None
    if st.toggle("Take a photo with the camera instead", key="use_camera"):
        camera = st.camera_input("Camera", key="camera_photo")
    if st.button("Add photos", type="primary", key="add_photos"):
        try:
            area = store.add_area(me, patient_id, new_area) if area_choice == "+ new area…" else areas[area_names.index(area_choice)]
        except RecordsError as exc:
            st.error(md(exc))
            return
        files = list(uploads or []) + ([camera] if camera is not None else [])
        if not files:
            st.warning("Choose at least one photo.")
        else:
            state.set_upload_results(_add_all(store, me, session_id, area.id, files))
    for result in state.upload_results():
        _show_result(store, me, result)


def _add_all(store, me, session_id, area_id, files) -> list[dict]:
    """Add each file; a bad one gets its error and the others go on."""
    results = []
    bar = st.progress(0.0, text="Measuring photos…")
    for index, upload in enumerate(files):
        bar.progress(index / len(files), text=f"Measuring {md(upload.name)} ({index + 1} of {len(files)})…")
        try:
            view = store.add_photo(me, session_id, area_id, upload.getvalue())
            results.append({"name": upload.name, "photo_id": view.id, "error": None})
        except (PhotoError, RecordsError) as exc:
            results.append({"name": upload.name, "photo_id": None, "error": str(exc)})
    bar.progress(1.0, text="Done.")
    return results


def _show_result(store, me, result: dict) -> None:
    st.divider()
    if result["error"]:
        st.error(f"**{md(result['name'])}**: {md(result['error'])} Nothing was stored for this file.")
        return
    photo = store.get_photo(me, result["photo_id"])
    title = f"**{md(result['name'])}** — {md(photo.area)}, {photo.session_date.isoformat()}"
    cols = st.columns([3, 2])
    with cols[0]:
        st.markdown(title)
        st.image(views.photo_image(photo.file_name, photo.id), caption="As stored (upright, no metadata)", width="stretch")
    with cols[1]:
        issues = [issue for issue in photo.quality if isinstance(issue, dict)]
        for issue in issues:
            (st.error if issue.get("severity") == "block" else st.warning)(md(issue.get("message", "")))
        if not issues:
            st.success("Quality check passed.")
        norm = photo.normalization
        if norm:
            confidence = norm.get("confidence")
            st.markdown(
                f"**Light:** {md(str(norm.get('method', '—')).replace('_', ' '))}"
                + (f" (confidence {confidence:.2f})" if isinstance(confidence, (int, float)) and confidence else "")
            )
        if photo.is_baseline:
            st.info("This is the baseline of this area: later photos are measured against it.")
        elif photo.status == "not_comparable":
            st.error(md(photo.status_reason) + " Retake the photo framed like the baseline (see the ghost on Compare).")
        elif photo.status == "blocked":
            st.error(md(photo.status_reason))
        elif isinstance(photo.alignment.get("quality"), (int, float)):
            st.markdown(f"**Alignment to baseline:** quality {photo.alignment['quality']:.2f}")
    if photo.status == "scored" and not photo.is_baseline:
        ghost = views.ghost_image(photo.id, photo.settings_hash, photo.area_id)
        if ghost is not None:
            st.image(ghost, caption="Fit: this photo over the baseline (ghost overlay)", width="stretch")
    if photo.scores:
        st.dataframe(
            pd.DataFrame(
                [
                    {"measure": METRICS[k].label, "value": None if math.isnan(v) else round(v, 3), "unit": METRICS[k].unit}
                    for k, v in photo.scores.items()
                ]
            ),
            hide_index=True,
            key=f"scores_{photo.id}",
        )
    if photo.status != "scored":
        retake = st.file_uploader("Retake", type=PHOTO_TYPES, key=f"retake_{photo.id}")
        if retake is not None and st.button("Replace with the retake", key=f"replace_{photo.id}"):
            try:
                new = store.replace_photo(me, photo.id, retake.getvalue())
            except (PhotoError, RecordsError) as exc:
                st.error(f"{md(exc)} The earlier photo is kept.")
            else:
                results = [dict(r, photo_id=new.id, name=retake.name) if r is result else r for r in state.upload_results()]
                state.set_upload_results(results)
                st.rerun()
