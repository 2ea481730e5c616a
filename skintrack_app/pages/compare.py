"""Compare two visits of one area: side by side, a before/after slider, overlays, the changes in plain words."""

from __future__ import annotations

import streamlit as st

from skintrack.measure.metrics import METRICS
from skintrack.progress import compare_pair, goal_measures
from skintrack.wording import NOISE_WORDS, overlap_words, pair_processing

from .. import components, state, widgets
from ..text import md

OVERLAYS = {"none": "None", "redness": "Redness heat map", "red_lesions": "Red lesion outlines", "spots": "Spot outlines",
            "lines": "Fine lines"}  # fmt: skip


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Compare")
    store, me = state.records(), state.actor()
    patient = widgets.current_patient()
    if patient is None:
        return
    patient_id = patient.id
    area = widgets.choose_area(patient_id, key="compare_area")
    if area is None:
        return
    photos = [p for p in store.list_photos(me, patient_id, area.id) if p.status == "scored"]
    if len(photos) < 2:
        st.info("Two measured visits of this area are needed to compare.")
        return
    labels = {p.id: f"{p.session_date.isoformat()} — {p.treatment}{' (baseline)' if p.is_baseline else ''}" for p in photos}
    ids = list(labels)
    baseline_id = next((p.id for p in photos if p.is_baseline), ids[0])
    cols = st.columns(2)
    state.keep_valid("compare_before", baseline_id, ids)
    before_id = cols[0].selectbox("Before", ids, format_func=labels.get, key="compare_before")
    later = [i for i in ids if i != before_id]  # a photo is never compared with itself
    state.keep_valid("compare_after", later[-1], later)
    after_id = cols[1].selectbox("After", later, format_func=labels.get, key="compare_after")
    overlay = st.radio("Overlay", list(OVERLAYS), format_func=OVERLAYS.get, horizontal=True, key="compare_overlay")
    before = next(p for p in photos if p.id == before_id)
    after = next(p for p in photos if p.id == after_id)
    region = area.roi if area.region_active else None
    before_image = widgets.overlay_image(before.id, before.settings_hash, overlay, region)
    after_image = widgets.overlay_image(after.id, after.settings_hash, overlay, region)
    if region:
        st.caption("Yellow outline: the treated region drawn on the baseline; only the skin inside it is measured.")
    st.subheader("Before / after")
    st.caption("Drag across the photo (or swipe on a phone) to move the divider.")
    components.before_after(before_image, after_image, before_label=before.session_date.isoformat(),
                            after_label=after.session_date.isoformat(), key="compare_slider")  # fmt: skip
    with st.expander("Side by side"):
        cols = st.columns(2)
        cols[0].image(before_image, caption=md(labels[before_id]), width="stretch")
        cols[1].image(after_image, caption=md(labels[after_id]), width="stretch")
    st.subheader("What changed")
    # What was done to these two photos comes from their stored provenance, never from what usually happens.
    st.caption(f"{pair_processing(before, after)} A change smaller than {NOISE_WORDS} (two photos of unchanged skin "
               "differ that much) is not counted as a change. The ? on each measure says what it shows.")  # fmt: skip
    overlap = overlap_words(after.baseline_on_overlap) if before.is_baseline and after.baseline_photo_id == before.id else ""
    if overlap:
        st.caption(md(overlap))  # the changes below are taken over that part
    changes = compare_pair(before, after)  # judged for the conditions these two photos had
    treatments = [(s.date, s.treatment) for s in store.list_sessions(me, patient_id)
                  if s.id in {p.session_id for p in photos}]  # fmt: skip
    goal = [name for name in goal_measures(treatments) if name in changes]
    widgets.change_grid(changes, goal)
    rest = [name for name in METRICS if name not in goal]
    with st.expander(f"Other measures ({len(rest)})"):
        widgets.change_grid(changes, rest)
    with st.expander("As a table"):
        st.dataframe(widgets.change_table(changes), hide_index=True, key="compare_table")
