"""The patient portal: a patient's own progress, in plain words, on a phone first.

The patient comes only from the signed-in account (never from a URL, a query
parameter or anything a provider page left in the session). Shown: a summary in
plain words (no a*, ΔL*, ITA or MDC), one chart per measure as the change since
the first visit, a before/after slider of two of their own sessions, and their
report.

**Your report**: the patient's own PDF report of the chosen area, in plain
words (:func:`skintrack.report.build_pdf` with ``audience="patient"``), built
when asked for (it measures the photos again, about two seconds).
"""

from __future__ import annotations

import streamlit as st

from skintrack.progress import area_progress, patient_summary
from skintrack.wording import pair_processing

from .. import components, state, widgets
from ..text import md, safe_file_name


def render() -> None:
    me = state.require("patient")
    store = state.records()
    patient = store.get_patient(me, me.patient_id)
    st.header("Your skin progress")
    st.text(patient.display_name)
    areas = store.list_areas(me, patient.id)
    if not areas:
        st.info("Your clinic has not added any photos yet.")
        return
    area = areas[0]
    if len(areas) > 1:
        area = st.selectbox("Treated area", areas, format_func=lambda a: a.name, key="portal_area")
    else:
        st.text(f"Treated area: {area.name}")
    progress = area_progress(store, me, patient.id, area.id)
    measures = patient_summary(progress)

    st.subheader("In short")
    st.caption("A change counts as real when it is larger than the normal difference between two photos "
               "of the same skin.")  # fmt: skip
    if not measures:
        st.info("No measured photos yet for this area.")
    for measure in measures:  # the sentence gives the latest visit's change and verdict: the chart's last dot
        st.markdown(f"- **{md(measure.title)}** — {md(measure.sentence.split(': ', 1)[1])}")
    if progress.last_treatment:
        date, kind = progress.last_treatment
        st.caption(f"Last treatment: {kind} on {date:%d %B %Y}.")

    st.subheader("Your progress")
    st.caption("Each chart shows the change since your first visit. The grey band is the normal difference "
               "between two photos of unchanged skin: changes inside it are not counted as real.")  # fmt: skip
    if measures:
        widgets.patient_legend({verdict for measure in measures for verdict in measure.verdicts})
    for measure in measures:
        st.altair_chart(widgets.patient_chart(measure), width="stretch", key=f"portal_chart_{measure.metric}")

    st.subheader("Before and after")
    photos = [p for p in store.list_photos(me, patient.id, area.id) if p.status == "scored" and not p.consent_withdrawn]
    if len(photos) < 2:
        st.info("Two measured visits are needed for a before and after.")
    else:
        labels = {p.id: f"{p.session_date:%d %b %Y}" + (" (first visit)" if p.is_baseline else "") for p in photos}
        ids = list(labels)
        first = next((i for i, p in enumerate(photos) if p.is_baseline), 0)
        state.keep_valid("portal_before", ids[first], ids)
        before_id = st.selectbox("Before", ids, format_func=labels.get, key="portal_before")
        later = [i for i in ids if i != before_id]  # a photo is never compared with itself
        state.keep_valid("portal_after", later[-1], later)
        after_id = st.selectbox("After", later, format_func=labels.get, key="portal_after")
        before = next(p for p in photos if p.id == before_id)
        after = next(p for p in photos if p.id == after_id)
        st.caption(f"{pair_processing(before, after, plain=True)} Drag across the photo.")  # from their provenance
        components.before_after(
            widgets.overlay_image(before.id, before.settings_hash, "none"),
            widgets.overlay_image(after.id, after.settings_hash, "none"),
            before_label=labels[before_id],
            after_label=labels[after_id],
            key="portal_slider",
        )

    st.subheader("Your report")
    st.caption("A printable report of this area: your photos and what changed, in plain words.")
    if st.button("Prepare my report (PDF)", key="portal_build_report"):
        from skintrack.report import build_pdf

        with st.spinner("Preparing your report…"):
            pdf = build_pdf(store, me, patient.id, area.id, audience="patient")
        st.download_button("Download your report (PDF)", pdf,
                           file_name=safe_file_name(f"skintrack-report-{area.name}", "skintrack-report") + ".pdf",
                           mime="application/pdf", key="portal_report")  # fmt: skip
    st.divider()
    st.button("Log out", key="portal_logout", on_click=state.sign_out)  # on a phone the sidebar is folded away
