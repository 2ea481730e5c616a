"""New session: record a visit, add its photos (files or the guided camera), see each photo's checks and scores.

Nothing is filed anywhere the provider did not choose. The visit and area drawn on the page are remembered
(:func:`state.remember_shown`), and "Add photos" files under exactly those, as they were shown: the upload
carries them to the engine (``Records.add_photo(expect=...)``), which refuses a visit or area deleted or
changed meanwhile (another tab, a colleague). The Session box never switches to another visit by itself:
when the chosen one is gone it is left empty with the reason, and the photos stay in the uploader.
"""

from __future__ import annotations

import datetime as dt
import uuid

import streamlit as st

from skintrack import PhotoError
from skintrack.measure.metrics import METRICS
from skintrack.progress import compare_pair
from skintrack.records import TREATMENTS, RecordsError
from skintrack.records.errors import NeedsConfirmation, StaleSelection
from skintrack.wording import aligned_words, light_words, retake_advice

from .. import components, forms, state, widgets
from ..text import md

#: What the uploader offers to pick first; any file can be chosen, and one skintrack cannot read gets its
#: reason on the page (a type filter in the uploader refused files with the reason only on hover).
PHOTO_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "tif", "tiff", "webp"]
NEW_AREA = "+ new area…"
#: Settings with their own field in the visit forms (key, label, maximum, step); others are kept as they are.
SETTING_FIELDS = (("needle_depth_mm", "Needle depth (mm)", 5.0, 0.25), ("energy_J_cm2", "Energy (J/cm²)", 500.0, 1.0))


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("New session")
    state.show_notices()
    store, me = state.records(), state.actor()
    patient = widgets.current_patient("Select or create a patient on the Patients page first.")
    if patient is None:
        return
    # What the previous run showed: the photos of a click in this run are filed exactly there.
    shown_visit, shown_area = state.shown_for_filing("visit"), state.shown_for_filing("area")
    sessions = store.list_sessions(me, patient.id)
    if state.new_visit_open(default=not sessions):
        _new_visit_form(patient.id, can_cancel=bool(sessions))
    elif st.button("+ Record a new visit", key="open_new_visit"):
        state.open_new_visit()
        st.rerun()
    if not sessions:
        state.remember_shown("visit", None)
        return
    session = _choose_visit(sessions, shown_visit)
    if session is not None:
        _correct_visit(store, me, session)
    _add_photos(store, me, patient.id, session, shown_visit, shown_area)
    _confirmations(store, me)
    for result in state.upload_results():
        _show_result(store, me, result)


# --------------------------------------------------------------------------- the visit


def _visit_label(session) -> str:
    return f"{session.date.isoformat()} — {session.treatment}"


def _shown_label(shown: dict) -> str:
    return f"{shown['session_date']} — {shown['treatment']}"


_NEW_VISIT_FIELDS = ("session_date", "session_treatment", "session_provider", "session_depth", "session_energy",
                     "session_other_settings", "session_notes")  # fmt: skip


def _new_visit_form(patient_id: str, *, can_cancel: bool) -> None:
    # Handled in the button's callback with this submission's values; the form closes once the visit is
    # created, and a double click's second submission is recognised and ignored (it would otherwise have
    # recorded a second visit with the emptied form's defaults).
    with st.form("new_session_form", clear_on_submit=False):
        st.markdown("**New visit**")
        cols = st.columns(3)
        cols[0].date_input("Date", value=dt.date.today(), max_value=dt.date.today(), key="session_date")
        cols[1].selectbox("Treatment", TREATMENTS, index=1, key="session_treatment")
        cols[2].text_input("Provider", value=state.actor().name, key="session_provider")
        cols = st.columns(3)
        for col, (_, label, maximum, step), key in zip(cols, SETTING_FIELDS, ("session_depth", "session_energy")):
            col.number_input(label, min_value=0.0, max_value=maximum, value=0.0, step=step, key=key)
        cols[2].text_input("Other settings", key="session_other_settings")
        st.text_area("Notes", key="session_notes")
        buttons = st.columns([1, 1, 3])
        buttons[0].form_submit_button("Create session", type="primary", key="create_session", on_click=_create_visit,
                                      args=(patient_id, state.form_generation(f"new_session_form:{patient_id}")))  # fmt: skip
        cancel = buttons[1].form_submit_button("Cancel", key="cancel_session") if can_cancel else False
    state.show_error("new_session_form")
    if cancel:
        state.close_new_visit()
        st.rerun()


def _create_visit(patient_id: str, generation: int) -> None:
    """The Create session button's callback (for the form drawn as ``generation``)."""
    values = tuple(state.widget_value(key) for key in _NEW_VISIT_FIELDS)
    date, treatment, provider, depth, energy, other, notes = values
    me = state.callback_actor()
    if me is None or state.repeated_submit(f"new_session_form:{patient_id}", generation, (date,)):
        return
    settings = {k: v for k, v in {"needle_depth_mm": depth, "energy_J_cm2": energy}.items() if v}
    if (other or "").strip():
        settings["other"] = other.strip()
    try:
        session = state.records().add_session(me, patient_id, date, treatment, settings=settings,
                                              provider=provider, notes=notes or "")  # fmt: skip
    except RecordsError as exc:
        state.report_error("new_session_form", str(exc))
        return

    def effects() -> None:
        state.report_error("new_session_form", None)
        state.set_current_session(session.id)  # the visit box shows the new visit
        state.close_new_visit()
        state.notify(f"Session of {session.date.isoformat()} ({session.treatment}) created: now add its photos.")

    state.carried_out(f"new_session_form:{patient_id}", (date,), effects)


def _choose_visit(sessions, shown: dict | None):
    """The visit box: the chosen visit (the newest at first), or ``None`` while none is chosen.

    When the visit chosen before is gone (deleted in another tab or by a colleague) the box is left empty
    with the reason: it never moves to another visit by itself."""
    labels = {s.id: _visit_label(s) for s in sessions}
    by_id = {s.id: s for s in sessions}
    ids = list(labels)[::-1]  # newest first
    if shown and shown["id"] not in by_id:
        state.set_current_session(None)
        state.must_choose("upload_session", f"The visit you had chosen ({_shown_label(shown)}) no longer exists: it "
                          "was deleted, perhaps in another tab or by a colleague. Nothing will be filed until you "
                          "choose a visit.")  # fmt: skip
    elif shown and (by_id[shown["id"]].date.isoformat(), by_id[shown["id"]].treatment) != (shown["session_date"], shown["treatment"]):
        st.warning(f"The visit you had chosen was changed meanwhile: it is now {md(labels[shown['id']])} (it was "
                   f"{md(_shown_label(shown))}). Check it before adding photos.")  # fmt: skip
    current = state.current_session_id()
    waiting = state.must_be_chosen("upload_session")
    if waiting:
        (st.info if waiting[1] == "info" else st.error)(md(waiting[0]))
        state.forget_choice("upload_session")
    elif current in by_id:
        st.session_state["upload_session"] = current
    else:
        st.session_state["upload_session"] = ids[0]  # the newest visit, shown as chosen before anything is filed
    session_id = st.selectbox("Session", ids, index=None, format_func=labels.get, key="upload_session",
                              placeholder="Choose the visit", on_change=state.session_chosen)  # fmt: skip
    if session_id is None:
        state.remember_shown("visit", None)
        return None
    state.set_current_session(session_id)
    session = by_id[session_id]
    state.remember_shown("visit", {"id": session.id, "session_date": session.date.isoformat(), "treatment": session.treatment})
    return session


def _correct_visit(store, me, session) -> None:
    # Keyed and tracked: a rerun (the delete button asking to confirm) draws it as the provider left it,
    # open, even when the elements above it changed meanwhile (it used to be drawn again closed at times,
    # hiding the confirmation).
    with st.expander("Correct or delete this visit", key=f"correct_visit_{session.id}", on_change="rerun"):
        known = {key for key, *_ in SETTING_FIELDS}
        kept = {k: v for k, v in session.settings.items() if k not in known and k != "other"}
        with st.form(f"edit_session_form_{session.id}"):
            cols = st.columns(3)
            date = cols[0].date_input("Date", value=session.date, max_value=dt.date.today(), key=f"edit_session_date_{session.id}")
            treatment = cols[1].selectbox("Treatment", TREATMENTS, index=TREATMENTS.index(session.treatment),
                                          key=f"edit_session_treatment_{session.id}")  # fmt: skip
            provider = cols[2].text_input("Provider", value=session.provider, key=f"edit_session_provider_{session.id}")
            # The treatment settings can be corrected too (a wrong needle depth typed at the visit).
            cols = st.columns(3)
            numbers = {}
            for col, (key, label, maximum, step) in zip(cols, SETTING_FIELDS):
                value = session.settings.get(key)
                value = float(value) if isinstance(value, (int, float)) and 0 <= value <= maximum else 0.0
                numbers[key] = col.number_input(label, min_value=0.0, max_value=maximum, value=value, step=step,
                                                key=f"edit_session_{key}_{session.id}")  # fmt: skip
            other = cols[2].text_input("Other settings", value=str(session.settings.get("other", "")),
                                       key=f"edit_session_other_{session.id}")  # fmt: skip
            if kept:
                st.caption("Also recorded (kept as they are): " + md(", ".join(f"{k} = {v}" for k, v in kept.items())))
            notes = st.text_area("Notes", value=session.notes, key=f"edit_session_notes_{session.id}")
            if st.form_submit_button("Save the visit", key=f"save_session_{session.id}"):
                settings = {**kept, **{k: v for k, v in numbers.items() if v}}
                if other.strip():
                    settings["other"] = other.strip()
                try:
                    with st.spinner("Saving (a new date may change the baseline: then the area is measured again)…"):
                        store.update_session(me, session.id, date=date, treatment=treatment, settings=settings,
                                             provider=provider, notes=notes)  # fmt: skip
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


def _choose_area(areas, shown: dict | None):
    """The area box (area ids, or a new area): like the visit box, never switches by itself."""
    ids = [a.id for a in areas]
    names = {a.id: a.name for a in areas}
    options = ids + [NEW_AREA]
    if shown and shown["id"] != NEW_AREA and shown["id"] not in names:
        state.must_choose("upload_area", f"The area you had chosen ({shown['name']}) no longer exists: it was "
                          "deleted, perhaps in another tab. Nothing will be filed until you choose an area.")  # fmt: skip
    elif shown and shown["id"] in names and names[shown["id"]] != shown["name"]:
        st.warning(f"The area you had chosen was renamed meanwhile: it is now {md(names[shown['id']])} (it was "
                   f"{md(shown['name'])}). Check it before adding photos.")  # fmt: skip
    waiting = state.must_be_chosen("upload_area")
    if waiting:
        (st.info if waiting[1] == "info" else st.error)(md(waiting[0]))
        state.forget_choice("upload_area")
    elif st.session_state.get("upload_area") not in options:
        st.session_state["upload_area"] = options[0]  # the first area, shown as chosen before anything is filed
    return st.selectbox("Area", options, index=None, format_func=lambda i: names.get(i, i), key="upload_area",
                        placeholder="Choose the area", on_change=state.area_chosen)  # fmt: skip


def _add_photos(store, me, patient_id: str, session, shown_visit: dict | None, shown_area: dict | None) -> None:
    areas = store.list_areas(me, patient_id)
    cols = st.columns([2, 2])
    with cols[0]:
        area_choice = _choose_area(areas, shown_area)
    new_area = cols[1].text_input("New area name", key="upload_new_area", disabled=area_choice != NEW_AREA)
    area = next((a for a in areas if a.id == area_choice), None)
    if area_choice is None:
        state.remember_shown("area", None)
    else:
        state.remember_shown("area", {"id": area_choice, "name": area.name if area else NEW_AREA})
    if area is not None and area.baseline_photo_id:
        widgets.prepare_baseline(area.id)  # a head start on the follow-up about to be chosen
    slot = st.empty()
    uploads = slot.file_uploader("Photos (JPEG, PNG, HEIC, …)", accept_multiple_files=True, key=state.uploader_key(),
                                 help="Any file can be chosen: one that is not a usable photo is refused with the reason.")  # fmt: skip
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
    # Filed where the previous run showed the provider, exactly as shown (the engine checks it again).
    if session is None or shown_visit is None or shown_visit["id"] != session.id:
        st.error("Choose the visit these photos belong to first. Nothing was filed; the photos are still here.")
        return
    if area_choice is None or shown_area is None or shown_area["id"] != area_choice:
        st.error("Choose the area these photos show first. Nothing was filed; the photos are still here.")
        return
    expect = {"session_date": shown_visit["session_date"], "treatment": shown_visit["treatment"]}
    if area is None:
        try:
            area = store.add_area(me, patient_id, new_area)
        except RecordsError as exc:
            st.error(md(exc))
            return
    else:
        expect["area"] = shown_area["name"]
    results = _add_all(store, me, session.id, area.id, files, expect)
    state.set_upload_results(results)
    if all(r.get("stale") for r in results):
        return  # nothing filed: the photos stay in the uploader for the visit chosen again
    state.empty_uploader()  # the files just added leave the uploader: the next click adds nothing twice
    slot.file_uploader("Photos (JPEG, PNG, HEIC, …)", accept_multiple_files=True, key=state.uploader_key())


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


def _add_all(store, me, session_id, area_id, files: list[tuple[str, bytes]], expect: dict) -> list[dict]:
    """Add each file; a bad one gets its error and the others go on. A file the engine files only when
    confirmed (a duplicate, a far-off capture date) waits for the provider's choice; a stale selection
    stops it all (nothing is filed anywhere else)."""
    results = []
    pending = state.pending_confirmations()
    bar = st.progress(0.0, text="Measuring photos…")
    for index, (name, data) in enumerate(files):
        bar.progress(index / len(files), text=f"Measuring {md(name)} ({index + 1} of {len(files)})…")
        try:
            view = store.add_photo(me, session_id, area_id, data, expect=expect)
            results.append({"name": name, "photo_id": view.id, "error": None, "duplicate": view.duplicate})
        except StaleSelection as exc:
            results += [{"name": rest, "photo_id": None, "error": str(exc), "duplicate": False, "stale": True}
                        for rest, _ in files[index:]]  # fmt: skip
            break
        except NeedsConfirmation as exc:
            pending.append({"id": uuid.uuid4().hex[:12], "name": name, "data": data, "session_id": session_id,
                            "area_id": area_id, "expect": expect, "allow": [], "message": str(exc),
                            "confirm_with": exc.confirm_with})  # fmt: skip
        except (PhotoError, RecordsError) as exc:
            results.append({"name": name, "photo_id": None, "error": str(exc), "duplicate": False})
    bar.progress(1.0, text="Done.")
    state.set_pending_confirmations(pending)
    return results


_CONFIRM_WORDS = {"allow_duplicate": "File it here too", "allow_date_mismatch": "It belongs to this visit: file it"}


def _confirmations(store, me) -> None:
    """Photos waiting for the provider's choice: file anyway, or leave out (nothing was stored yet)."""
    pending = state.pending_confirmations()
    for item in list(pending):
        with st.container(border=True):
            st.warning(f"**{md(item['name'])}** was not filed: {md(item['message'])}")
            cols = st.columns([2, 1, 3])
            if cols[0].button(_CONFIRM_WORDS.get(item["confirm_with"], "File it anyway"), key=f"confirm_{item['id']}"):
                allow = item["allow"] + [item["confirm_with"]]
                try:
                    with st.spinner(f"Measuring {md(item['name'])}…"):
                        view = store.add_photo(me, item["session_id"], item["area_id"], item["data"], expect=item["expect"],
                                               **{flag: True for flag in allow})  # fmt: skip
                except NeedsConfirmation as exc:  # the next question (e.g. the date, once the duplicate is confirmed)
                    item.update(allow=allow, message=str(exc), confirm_with=exc.confirm_with)
                except (PhotoError, RecordsError) as exc:
                    pending.remove(item)
                    state.set_upload_results([{"name": item["name"], "photo_id": None, "error": str(exc), "duplicate": False}])
                else:
                    pending.remove(item)
                    state.set_upload_results(state.upload_results() + [
                        {"name": item["name"], "photo_id": view.id, "error": None, "duplicate": view.duplicate}])  # fmt: skip
                state.set_pending_confirmations(pending)
                st.rerun()
            if cols[1].button("Leave it out", key=f"skip_{item['id']}"):
                pending.remove(item)
                state.set_pending_confirmations(pending)
                state.notify(f"{item['name']} was left out: nothing was stored.")
                st.rerun()


def _show_result(store, me, result: dict) -> None:
    st.divider()
    if result["error"]:
        st.error(f"**{md(result['name'])}**: {md(result['error'])}"
                 + ("" if "Nothing was" in result["error"] else " Nothing was stored for this file."))  # fmt: skip
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
        st.image(widgets.photo_image(photo.file_name, photo.id), caption="As stored (upright, no metadata)", width="stretch")
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
            st.error(retake_advice(photo.alignment, photo.quality))
        elif photo.status == "blocked" and not any(i.get("severity") == "block" for i in issues):
            st.error(md(photo.status_reason))  # blocked for a reason the checks above did not show
        elif lined_up := aligned_words(photo.alignment):
            st.caption(lined_up)
        # The ghost beside the photo, so the scores follow right under both.
        if photo.status == "not_comparable":
            ghost = widgets.unaligned_ghost(photo.id, photo.area_id)
            if ghost is not None:
                st.image(ghost, caption="This photo over the baseline's ghost: match the framing when you retake it.", width="stretch")
        elif photo.status == "scored" and not photo.is_baseline:
            ghost = widgets.ghost_image(photo.id, photo.settings_hash, photo.area_id)
            if ghost is not None:
                st.image(ghost, caption="Fit: this photo over the baseline (ghost overlay)", width="stretch")
    if photo.scores:
        _score_tiles(store, me, photo)
        if photo.unmeasured:
            st.warning(md(photo.unmeasured))
        elif photo.partly_measured:
            st.caption(md(photo.partly_measured))
        if photo.unscaled:
            st.caption(md(photo.unscaled))
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


def _score_tiles(store, me, photo) -> None:
    """The photo's scores; a follow-up's with its change against the baseline and the verdict (the engine's)."""
    baseline = None
    if not photo.is_baseline and photo.status == "scored" and photo.baseline_photo_id:
        try:
            baseline = store.get_photo(me, photo.baseline_photo_id)
        except RecordsError:
            baseline = None
    if baseline is None or not baseline.scores:
        widgets.score_grid(photo.scores, key=f"scores_{photo.id}")
        return
    st.caption(f"Change since the baseline ({baseline.session_date.isoformat()}), judged against photo-to-photo "
               "variation for these photos' conditions:")  # fmt: skip
    changes = compare_pair(baseline, photo)
    widgets.change_grid(changes, [name for name in METRICS if name in changes and name in photo.scores])
