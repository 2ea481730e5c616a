"""Progress: one chart per measure over the sessions, with the baseline, treatments and noise band."""

from __future__ import annotations

import streamlit as st

from skintrack.progress import TREATMENT_KINDS, area_progress

from .. import state, views
from ..text import md


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Progress")
    store, me = state.records(), state.actor()
    patient_id = views.chosen_patient_id()
    if not patient_id:
        return
    area = views.choose_area(patient_id, key="progress_area")
    if area is None:
        return
    progress = area_progress(store, me, patient_id, area.id)
    cols = st.columns(2)
    if progress.last_treatment:
        date, kind = progress.last_treatment
        cols[0].metric("Last treatment", f"{md(kind)}, {date.isoformat()}")
        cols[1].metric("Days since last treatment", progress.days_since_last_treatment)
    for warning in progress.spacing_warnings:
        st.warning(warning.message)
    st.subheader("Summary")
    for metric in progress.metrics.values():
        st.markdown(f"- {metric.summary}")
    treatments = [(s.date, s.treatment) for s in store.list_sessions(me, patient_id) if s.treatment in TREATMENT_KINDS]
    st.subheader("Charts")
    st.caption("Grey band: the baseline ± the measure's minimal detectable change (MDC95). Red lines: treatments.")
    for name, metric in progress.metrics.items():
        if metric.points:
            st.altair_chart(views.metric_chart(metric, treatments), width="stretch", key=f"chart_{name}")
