"""Export: the scores table, the PDF report, a de-identified teaching set and DICOM for the hospital.

Every file is made by skintrack.report; this page only collects the choices.
"""

from __future__ import annotations

import io

import streamlit as st

from skintrack.records import RecordsError
from skintrack.report import round_floats, scores_table, table_bytes
from skintrack.report.clinic import ClinicError, load_clinic

from .. import state, widgets
from ..text import md, safe_file_name

#: Columns shown on the page (the downloads hold every column, provenance included).
SHOWN_COLUMNS = ["session_date", "area", "treatment", "measure", "value", "unit", "change", "change_pct", "mdc95",
                 "beyond_noise", "verdict", "status", "settings", "provider"]  # fmt: skip
OVERLAYS = {"redness": "redness map", "red_lesions": "red lesions", "spots": "dark spots", "lines": "fine lines",
            "skin": "measured skin"}  # fmt: skip


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Export")
    store, me = state.records(), state.actor()
    patient = widgets.current_patient()
    if patient is None:
        return
    _report(store, me, patient)
    _scores(store, me, patient)
    _teaching(store, me, patient)
    _dicom(store, me, patient)


def _report(store, me, patient) -> None:
    st.subheader("PDF report")
    area = widgets.choose_area(patient.id, key="report_area")
    if area is None:
        return
    cols = st.columns(3)
    audience = cols[0].radio("For", ["provider", "patient"], key="report_audience",
                             format_func=lambda a: {"provider": "the record", "patient": "the patient"}[a])  # fmt: skip
    full_name = cols[1].checkbox("Print the full name", key="report_full_name")
    every = cols[1].checkbox("Every session's photo", key="report_every_session")
    overlays = cols[2].multiselect("Overlays", list(OVERLAYS), format_func=OVERLAYS.get, key="report_overlays")
    if st.button("Build the PDF report", key="build_report"):
        from skintrack.report import build_pdf

        try:
            with st.spinner("Measuring the photos and laying out the report…"):
                pdf = build_pdf(
                    store, me, patient.id, area.id, audience=audience, full_name=full_name,
                    sessions="all" if every else None, overlays=overlays,
                )  # fmt: skip
        except (RecordsError, ClinicError) as exc:
            st.error(md(exc))
            return
        st.download_button(
            "Download the PDF", pdf, file_name=safe_file_name(f"{patient.code}-{area.name}-{audience}", "report") + ".pdf",
            mime="application/pdf", key="download_report",
        )  # fmt: skip
    st.caption("Clinic name and logo: `clinic.json` in the data folder (see the README).")


def _scores(store, me, patient) -> None:
    st.subheader("Scores")
    table = scores_table(store, me, patient.id, export=False)  # shown here; a download is the export
    if table.empty:
        st.info("No photos measured yet.")
        return
    st.dataframe(round_floats(table), hide_index=True, column_order=SHOWN_COLUMNS, key="export_table")
    cols = st.columns(2)
    cols[0].download_button("Download CSV", table_bytes(table, "csv"), file_name=f"{safe_file_name(patient.code, 'patient')}-scores.csv",
                            mime="text/csv", key="download_csv", on_click=_downloaded,
                            args=(patient.id, "scores table (CSV)"))  # fmt: skip
    cols[1].download_button("Download Parquet", table_bytes(table, "parquet"), file_name=f"{safe_file_name(patient.code, 'patient')}-scores.parquet",
                            mime="application/vnd.apache.parquet", key="download_parquet", on_click=_downloaded,
                            args=(patient.id, "scores table (Parquet)"))  # fmt: skip
    st.caption("One row per photo and measure: unit, change against the baseline, noise limit (MDC95), verdict; "
               "the downloads also hold the engine version, settings hash and photo hash needed to reproduce it.")  # fmt: skip


def _downloaded(patient_id: str, what: str) -> None:
    """A download button's callback: the table left the app, so it is an export (who, what, which patient)."""
    state.records().record_export(state.actor(), patient_id, what)


def _teaching(store, me, patient) -> None:
    st.subheader("Teaching or publication set")
    cols = st.columns(2)
    purpose = cols[0].radio("Purpose", ["teaching", "publication"], key="teaching_purpose")
    try:
        default_mark = load_clinic(store.data_dir).name
    except ClinicError:
        default_mark = ""
    watermark = cols[1].text_input("Watermark", value=default_mark, key="teaching_watermark")
    hide_face = cols[0].radio("Faces", ["blur", "eye-bar", "none"], key="teaching_hide_face", horizontal=True,
                              format_func={"blur": "Blur the face", "eye-bar": "Bar over the eyes",
                                           "none": "Leave as taken"}.get)  # fmt: skip
    st.caption("Only photos whose consent covers this purpose and was not withdrawn. No name, code, birth year, "
               "notes, dates, capture time or camera. A photo that shows a face has it blurred or barred; "
               "close-ups without a face are left as taken.")  # fmt: skip
    if st.button("Build the set", key="build_teaching"):
        from skintrack.privacy.teaching import export_teaching_set

        buffer = io.BytesIO()
        try:
            manifest = export_teaching_set(store, me, patient.id, buffer, purpose=purpose, watermark=watermark or None,
                                           anonymise=hide_face)  # fmt: skip
        except RecordsError as exc:
            st.error(md(exc))
            return
        if not manifest["photos"]:
            st.info(f"No photo of this patient has {purpose} consent (or it was withdrawn).")
            return
        st.download_button(f"Download {manifest['photos']} photos", buffer.getvalue(), file_name=f"{purpose}-set.zip",
                           mime="application/zip", key="download_teaching")  # fmt: skip


def _dicom(store, me, patient) -> None:
    st.subheader("DICOM for the hospital")
    sessions = store.list_sessions(me, patient.id)
    if not sessions:
        st.info("No sessions yet.")
        return
    session = st.selectbox("Session", sessions, index=len(sessions) - 1, key="dicom_session",
                           format_func=lambda s: f"{s.date.isoformat()} · {s.treatment}")  # fmt: skip
    st.caption("VL Photographic Images: the patient code as Patient ID, one study per session, body part and side "
               "from the area. Photos whose consent was withdrawn are left out.")  # fmt: skip
    if st.button("Build DICOM files", key="build_dicom"):
        from skintrack.report.dicom import export_session_dicom

        buffer = io.BytesIO()
        try:
            names = export_session_dicom(store, me, session.id, buffer)
        except RecordsError as exc:
            st.error(md(exc))
            return
        st.download_button(f"Download {len(names)} DICOM files (zip)", buffer.getvalue(),
                           file_name=f"{safe_file_name(patient.code, 'patient')}-{session.date.isoformat()}-dicom.zip", mime="application/zip",
                           key="download_dicom")  # fmt: skip
