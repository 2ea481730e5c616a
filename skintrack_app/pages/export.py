"""Export: every score of a patient with its provenance, as CSV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skintrack.report import table_bytes

from .. import state, views
from ..text import safe_file_name


def render() -> None:
    st.header("Export")
    store, me = state.records(), state.actor()
    patient_id = views.chosen_patient_id()
    if not patient_id:
        return
    patient = store.get_patient(me, patient_id)
    rows = store.scores_table(me, patient_id)
    if not rows:
        st.info("No photos measured yet.")
        return
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, key="export_table")
    st.download_button(
        "Download CSV",
        table_bytes(table, "csv"),
        file_name=f"{safe_file_name(patient.code, 'patient')}-scores.csv",
        mime="text/csv",
        key="download_csv",
    )
    st.caption("Each row carries the engine version, settings hash and photo hash needed to reproduce it. "
               "PDF reports and de-identified exports come later.")
