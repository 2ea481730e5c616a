"""New session: record a visit, add its photos (files or the guided camera), see each photo's checks and scores."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from skintrack import PhotoError
from skintrack.records import TREATMENTS, RecordsError
from skintrack.wording import light_words, retake_advice

from .. import components, forms, state, views
from ..text import md

PHOTO_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "tif", "tiff", "webp"]
NEW_AREA = "+ new area…"


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("New session")
    state.show_notices()
    store, me = state.records(), state.actor()
    patient_id = views.chosen_patient_id("Select or create a patient on the Patients page first.")
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    st.caption(f"Patient {md(patient.code)} — {md(patient.display_name)}")
    sessions = store.list_sessions(me, patient_id)
    if state.new_visit_open(default=not sessions):
        _new_visit_form(store, me, patient_id, can_cancel=bool(sessions))
    elif st.button("+ Record a new visit", key="open_new_visit"):
        state.open_new_visit()
        st.rerun()
    if not sessions:
        return
    session = _choose_visit(sessions)
    _correct_visit(store, me, session)
    _add_photos(store, me, patient_id, session)
    for result in state.upload_results():
        _show_result(store, me, result)


# --------------------------------------------------------------------------- the visit


def _new_visit_form(store, me, patient_id: str, *, can_cancel: bool) -> None:
    # Cleared after each visit is created, and closed: pressing Create again cannot record the same visit twice.
    with st.form("new_session_form", clear_on_submit=True):
        st.markdown("**New visit**")
        cols = st.columns(3)
        date = cols[0].date_input("Date", value=dt.date.today(), max_value=dt.date.today(), key="session_date")
        treatment = cols[1].selectbox("Treatment", TREATMENTS, index=1, key="session_treatment")
        provider = cols[2].text_input("Provider", value=me.name, key="session_provider")
        cols = st.columns(3)
        depth = cols[0].number_input("Needle depth (mm)", min_value=0.0, max_value=5.0, value=0.0, step=0.25, key="session_depth")
        energy = cols[1].number_input("Energy (J/cm²)", min_value=0.0, max_value=500.0, value=0.0, step=1.0, key="session_energy")
        other = cols[2].text_input("Other settings", key="session_other_settings")
        notes = st.text_area("Notes", key="session_notes")
        buttons = st.columns([1, 1, 3])
        create = buttons[0].form_submit_button("Create session", type="primary", key="create_session")
        cancel = buttons[1].form_submit_button("Cancel", key="cancel_session") if can_cancel else False
    state.show_error("new_session_form")
    if cancel:
        state.close_new_visit()
        st.rerun()
    if not create:
        return
    settings = {k: v for k, v in {"needle_depth_mm": depth, "energy_J_cm2": energy}.items() if v}
    if other.strip():
        settings["other"] = other.strip()
    try:
        session = store.add_session(me, patient_id, date, treatment, settings=settings, provider=provider, notes=notes)
    except RecordsError as exc:
        st.error(md(exc))
        return
    state.set_current_session(session.id)  # the visit box shows the new visit on the next run
    state.close_new_visit()
    state.notify(f"Session of {session.date.isoformat()} ({session.treatment}) created: now add its photos.")
    st.rerun()


def _choose_visit(sessions):
    labels = {s.id: f"{s.date.isoformat()} — {s.treatment}" for s in sessions}
    ids = list(labels)[::-1]  # newest first
    state.show("upload_session", state.current_session_id(), ids)
    session_id = st.selectbox("Session", ids, format_func=labels.get, key="upload_session", on_change=state.session_chosen)
    state.set_current_session(session_id)
    return next(s for s in sessions if s.id == session_id)


def _correct_visit(store, me, session) -> None:
    with st.expander("Correct or delete this visit"):
        with st.form(f"edit_session_form_{session.id}"):
            cols = st.columns(3)
            date = cols[0].date_input("Date", value=session.date, max_value=dt.date.today(), key=f"edit_session_date_{session.id}")
            treatment = cols[1].selectbox("Treatment", TREATMENTS, index=TREATMENTS.index(session.treatment),
                                          key=f"edit_session_treatment_{session.id}")  # fmt: skip
            provider = cols[2].text_input("Provider", value=session.provider, key=f"edit_session_provider_{session.id}")
            notes = st.text_area("Notes", value=session.notes, key=f"edit_session_notes_{session.id}")
            if st.form_submit_button("Save the visit", key=f"save_session_{session.id}"):
                try:
                    with st.spinner("Saving (a new date may change the baseline: then the area is measured again)…"):
                        store.update_session(me, session.id, date=date, treatment=treatment, provider=provider, notes=notes)
                except RecordsError as exc:
                    st.error(md(exc))
                else:
                    state.notify("Visit saved.")
                    st.rerun()
        photos = [p for p in store.list_photos(me, session.patient_id) if p.session_id == session.id]
        forms.delete_with_confirmation(
            f"delete_session:{session.id}", ask=f"Delete this visit and its {len(photos)} photos…",
            warning=f"Delete the visit of {session.date.isoformat()} with its {len(photos)} photos and their "
                    "measurements? This cannot be undone (the audit log keeps a line).",
            confirm="Yes, delete the visit", delete=lambda: store.delete_session(me, session.id),
            after=lambda: state.set_current_session(None), done=f"Visit of {session.date.isoformat()} deleted.",
            key=f"session_{session.id}")  # fmt: skip


# --------------------------------------------------------------------------- photos


def _add_photos(store, me, patient_id: str, session) -> None:
    areas = store.list_areas(me, patient_id)
    area_names = [a.name for a in areas]
    cols = st.columns([2, 2])
    area_choice = cols[0].selectbox("Area", area_names + [NEW_AREA], key="upload_area")
    new_area = cols[1].text_input("New area name", key="upload_new_area", disabled=area_choice != NEW_AREA)
    area = areas[area_names.index(area_choice)] if area_choice != NEW_AREA else None
    if area is not None and area.baseline_photo_id:
        views.prepare_baseline(area.id)  # a head start on the follow-up about to be chosen
    slot = st.empty()
    uploads = slot.file_uploader("Photos (JPEG, PNG, HEIC, …)", type=PHOTO_TYPES, accept_multiple_files=True,
                                 key=state.uploader_key())  # fmt: skip
    captured = _camera(store, me, area)
    clicked = st.button("Add photos", type="primary", key="add_photos")
    files = [(u.name, u.getvalue()) for u in uploads or []]
    if captured is not None:
        files.append(captured)
    if not clicked and captured is None:
        return
    if not files:
        st.warning("Choose at least one photo (or take one with the camera).")  # no area is created for nothing
        return
    if area is None:
        try:
            area = store.add_area(me, patient_id, new_area)
        except RecordsError as exc:
            st.error(md(exc))
            return
    state.set_upload_results(_add_all(store, me, session.id, area.id, files))
    state.empty_uploader()  # the files just added leave the uploader: the next click adds nothing twice
    slot.file_uploader("Photos (JPEG, PNG, HEIC, …)", type=PHOTO_TYPES, accept_multiple_files=True, key=state.uploader_key())


def _camera(store, me, area) -> tuple[str, bytes] | None:
    """The guided camera (baseline ghost over the live picture), or Streamlit's camera where it cannot run."""
    if not st.toggle("Take the photo with this device's camera", key="use_camera"):
        return None
    ghost = None
    if area is not None:
        baseline = store.baseline_photo(me, area.id)
        ghost = baseline.rgb if baseline is not None else None
    photo, unavailable = components.guided_camera(ghost, key="guided_camera")
    if ghost is None:
        st.caption("No baseline for this area yet: this photo will be its baseline.")
    if unavailable:
        st.caption(f"The live camera with the baseline's ghost cannot run here ({md(unavailable)}); "
                   "use the simple camera below.")  # fmt: skip
        fallback = st.camera_input("Camera", key="camera_photo")
        if fallback is not None and not state.capture_seen(f"fallback-{fallback.file_id}"):
            return (fallback.name or "camera.jpg", fallback.getvalue())
        return None
    if photo is not None and not state.capture_seen(photo["id"]):
        return (f"camera-{dt.datetime.now():%Y%m%d-%H%M%S}.jpg", photo["bytes"])
    return None


def _add_all(store, me, session_id, area_id, files: list[tuple[str, bytes]]) -> list[dict]:
    """Add each file; a bad one gets its error and the others go on."""
    results = []
    bar = st.progress(0.0, text="Measuring photos…")
    for index, (name, data) in enumerate(files):
        bar.progress(index / len(files), text=f"Measuring {md(name)} ({index + 1} of {len(files)})…")
        try:
            view = store.add_photo(me, session_id, area_id, data)
            results.append({"name": name, "photo_id": view.id, "error": None, "duplicate": view.duplicate})
        except (PhotoError, RecordsError) as exc:
            results.append({"name": name, "photo_id": None, "error": str(exc), "duplicate": False})
    bar.progress(1.0, text="Done.")
    return results


def _show_result(store, me, result: dict) -> None:
    st.divider()
    if result["error"]:
        st.error(f"**{md(result['name'])}**: {md(result['error'])} Nothing was stored for this file.")
        return
    try:
        photo = store.get_photo(me, result["photo_id"])
    except RecordsError:
        return  # deleted or moved away meanwhile
    title = f"**{md(result['name'])}** — {md(photo.area)}, {photo.session_date.isoformat()}"
    if result.get("duplicate"):
        title += " (already stored: nothing was added)"
    cols = st.columns(2)
    with cols[0]:
        st.markdown(title)
        st.image(views.photo_image(photo.file_name, photo.id), caption="As stored (upright, no metadata)", width="stretch")
    with cols[1]:
        issues = [issue for issue in photo.quality if isinstance(issue, dict)]
        for issue in issues:
            (st.error if issue.get("severity") == "block" else st.warning)(md(issue.get("message", "")))
        if not issues:
            st.success("Quality check passed.")
        if photo.normalization:
            st.caption(light_words(photo.normalization))
        if photo.is_baseline:
            st.info("This is the baseline of this area: later photos are measured against it.")
        elif photo.status == "not_comparable":
            st.error(retake_advice(photo.alignment))
        elif photo.status == "blocked" and not any(i.get("severity") == "block" for i in issues):
            st.error(md(photo.status_reason))  # blocked for a reason the checks above did not show
        elif isinstance(photo.alignment.get("quality"), (int, float)):
            st.caption(f"Lined up with the baseline (fit {photo.alignment['quality']:.2f} of 1).")
        # The ghost beside the photo, so the scores follow right under both.
        if photo.status == "not_comparable":
            ghost = views.unaligned_ghost(photo.id, photo.area_id)
            if ghost is not None:
                st.image(ghost, caption="This photo over the baseline's ghost: match the framing when you retake it.", width="stretch")
        elif photo.status == "scored" and not photo.is_baseline:
            ghost = views.ghost_image(photo.id, photo.settings_hash, photo.area_id)
            if ghost is not None:
                st.image(ghost, caption="Fit: this photo over the baseline (ghost overlay)", width="stretch")
    if photo.scores:
        views.score_grid(photo.scores, key=f"scores_{photo.id}")
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
