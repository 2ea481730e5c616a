"""Progress: one chart per measure over the sessions, with the baseline, treatments and noise band."""

from __future__ import annotations

import streamlit as st

from skintrack.progress import TREATMENT_KINDS, area_progress

from .. import state, views


def render() -> None:
    st.header("Progress")
    store, me = state.records(), state.actor()
    patient_id = state.selected_patient_id()
    if not patient_id:
        st.info("Select a patient on the Patients page first.")
        return
    areas = store.list_areas(me, patient_id)
    if not areas:
        st.info("This patient has no treated area yet.")
        return
    area = st.selectbox("Area", areas, format_func=lambda a: a.name, key="progress_area")
    progress = area_progress(store, me, patient_id, area.id)
    cols = st.columns(2)
    if progress.last_treatment:
        date, kind = progress.last_treatment
        cols[0].metric("Last treatment", f"{kind}, {date.isoformat()}")
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
