"""Audit (admins): who did what and when, filtered, and exported as CSV (safe to open in a spreadsheet)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from skintrack.records.audit import AUDIT_ACTIONS, audit_filters
from skintrack.report import table_bytes

from .. import state


def render() -> None:
    me = state.require("admin")
    st.header("Audit")
    st.caption("Every log-in, failed log-in, lockout, patient viewed, upload, export, deletion, consent change and "
               "account change, with the patient involved. Times are UTC. The log cannot be changed; lines are "
               "kept at least 6 years (failed log-ins 90 days).")  # fmt: skip
    today = dt.datetime.now(dt.timezone.utc).date()
    cols = st.columns(2)
    since = cols[0].date_input("From", value=today - dt.timedelta(days=30), key="audit_since")
    until = cols[1].date_input("To", value=today, key="audit_until")
    cols = st.columns(3)
    user = cols[0].text_input("User", key="audit_user")
    action = cols[1].selectbox("Action", ["all", *AUDIT_ACTIONS], key="audit_action")
    code = cols[2].text_input("Patient code", key="audit_patient")
    filters = dict(since=since, until=until, user=user or None, action=None if action == "all" else action,
                   patient_code=code or None)  # fmt: skip
    rows = state.records().audit_table(me, export=False, **filters)  # shown here; the download is the export
    if not rows:
        st.info("No audit lines match.")
        return
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, key="audit_table")
    st.download_button("Download CSV", table_bytes(table, "csv"), file_name=f"skintrack-audit-{today}.csv",
                       mime="text/csv", key="audit_csv", on_click=_downloaded, args=(filters, len(rows)))  # fmt: skip


def _downloaded(filters: dict, lines: int) -> None:
    """The download button's callback: the audit table left the app (logged in the audit log itself)."""
    state.records().record_export(state.actor(), None, "audit log table", purpose="audit",
                                  detail=audit_filters(filters, lines))  # fmt: skip
