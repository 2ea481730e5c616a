"""Compare two sessions of one area: side by side, a before/after slider, overlays, the numbers."""

from __future__ import annotations

import streamlit as st

from .. import state, views
from ..text import md

OVERLAYS = {"none": "None", "redness": "Redness heat map", "spots": "Spot outlines", "lines": "Fine lines"}


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Compare")
    store, me = state.records(), state.actor()
    patient_id = views.chosen_patient_id()
    if not patient_id:
        return
    area = views.choose_area(patient_id, key="compare_area")
    if area is None:
        return
    photos = [p for p in store.list_photos(me, patient_id, area.id) if p.status == "scored"]
    if len(photos) < 2:
        st.info("Two measured sessions of this area are needed to compare.")
        return
    labels = {p.id: f"{p.session_date.isoformat()} — {p.treatment}{' (baseline)' if p.is_baseline else ''}" for p in photos}
    ids = list(labels)
    baseline_index = next((i for i, p in enumerate(photos) if p.is_baseline), 0)
    cols = st.columns(2)
    before_id = cols[0].selectbox("Before", ids, index=baseline_index, format_func=labels.get, key="compare_before")
    after_id = cols[1].selectbox("After", ids, index=len(ids) - 1, format_func=labels.get, key="compare_after")
    overlay = st.radio("Overlay", list(OVERLAYS), format_func=OVERLAYS.get, horizontal=True, key="compare_overlay")
    before = next(p for p in photos if p.id == before_id)
    after = next(p for p in photos if p.id == after_id)
    before_image = views.overlay_image(before.id, before.settings_hash, overlay)
    after_image = views.overlay_image(after.id, after.settings_hash, overlay)
    cols = st.columns(2)
    cols[0].image(before_image, caption=md(labels[before_id]), width="stretch")
    cols[1].image(after_image, caption=md(labels[after_id]), width="stretch")
    st.subheader("Before / after")
    views.before_after_slider(before_image, after_image, key="compare_slider")
    st.subheader("Measures")
    st.caption("Both photos are colour-normalised and aligned to the baseline; a change smaller than the "
               "measure's MDC95 (for these photos' neutral reference and alignment) is within measurement noise, "
               "and one the evidence cannot yet call real could be noise.")
    st.dataframe(views.metric_table(before, after), hide_index=True, key="compare_table")
