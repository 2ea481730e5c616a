"""Outcomes: which treatment works, across patients (clinic owners: admins and providers only).

Every number comes from :mod:`skintrack.cohort` — the table is read through the records
service as the signed-in user, the estimates are its mixed models — this page only
lays them out: interval plots per measure, the patients over time, adherence to the
spacing protocols, and the downloads.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from skintrack.cohort import (
    PROTOCOLS,
    adherence_summary,
    build_cohort_table,
    data_dictionary,
    estimates_table,
    filter_table,
    fit_cohort,
)  # fmt: skip
from skintrack.cohort.adherence import Protocol
from skintrack.cohort.demo import is_simulated
from skintrack.jsonsafe import plain
from skintrack.measure.metrics import METRICS
from skintrack.report import round_floats, table_bytes
from skintrack.wording import explain, title

from .. import state
from ..text import md

CONSENT_CHOICES = {"record": "every patient's record", "teaching": "only photos with teaching consent",
                   "publication": "only photos with publication consent"}  # fmt: skip
BY_CHOICES = {"treatment": "treatment", "setting": "treatment and setting", "adherence": "treatment and spacing"}
VERDICT_COLOURS = {"improves": "#1a7f37", "worsens": "#c62828", "no clear change": "#6e7781", "changes": "#0969da",
                   "interval excludes 0": "#0969da", "interval includes 0": "#6e7781"}  # fmt: skip
SHOWN_ESTIMATES = ["measure", "term", "estimate", "ci_low", "ci_high", "p_value", "verdict", "n_patients", "n_visits",
                   "status", "note"]  # fmt: skip


@st.cache_data(ttl=120, max_entries=16, show_spinner="Reading the records…")
def _cohort(_store, _me, where: tuple, who: tuple, consent: str, protocols: tuple) -> pd.DataFrame:
    """The cohort table of these records (``where``), for this user and these options (kept two minutes;
    *Refresh* reads again)."""
    chosen = {kind: Protocol(kind, low, high) for kind, low, high in protocols}
    return build_cohort_table(_store, _me, consent=None if consent == "record" else consent, protocols=chosen)


@st.cache_data(max_entries=32, show_spinner="Fitting the models…")
def _estimates(table: pd.DataFrame, by: str, min_patients: int) -> tuple[pd.DataFrame, dict]:
    models = fit_cohort(table, by=by, min_patients=min_patients)
    context = {m.measure: (m.at_sessions, m.at_spacing_weeks, m.n_patients, m.note, m.excluded) for m in models}
    return estimates_table(models), context


def render() -> None:
    me = state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Outcomes across patients")
    st.caption("Which treatment works: the change from baseline of every measure, by treatment and settings, "
               "with 95 % intervals and the number of patients behind each. Not a medical device; an estimate "
               "from few patients is refused or flagged.")  # fmt: skip
    store = state.records()
    cols = st.columns([2, 2, 1])
    consent = cols[0].selectbox("Patients included", list(CONSENT_CHOICES), format_func=CONSENT_CHOICES.get,
                                key="outcomes_consent")  # fmt: skip
    protocols = _protocol_inputs()
    if cols[2].button("Refresh", key="outcomes_refresh", help="Read the records again (the table is kept two minutes)."):
        _cohort.clear()
    who = (me.name, me.username, me.role, me.source)
    where = (str(store.data_dir.resolve()), store.db_url)
    chosen = tuple((p.treatment, p.min_days, p.max_days) for p in protocols.values())
    table = _cohort(store, me, where, who, consent, chosen)
    if table.empty:
        st.info("No measured photos yet. Patients appear here once they have a baseline and a follow-up; "
                "`skintrack load-demo --cohort` loads a simulated demo clinic.")  # fmt: skip
        return
    _simulated_notice(store, me, table)
    filtered = _filters(table)
    if filtered.empty:
        st.warning("No patient matches these filters.")
        return
    by = cols[1].radio("Compare by", list(BY_CHOICES), format_func=BY_CHOICES.get, horizontal=True, key="outcomes_by")
    min_patients = 5
    estimates, context = _estimates(filtered, by, min_patients)
    _effects(filtered, estimates, context, by)
    _over_time(filtered)
    _adherence(filtered, protocols)
    _downloads(filtered, estimates)


def _protocol_inputs() -> dict[str, Protocol]:
    """The spacing protocol per treatment, in weeks (defaults from the engine)."""
    chosen = {}
    with st.expander("Spacing protocols"):
        st.caption("A course is within protocol when every interval between its sessions lies in this range.")
        for kind, default in PROTOCOLS.items():
            cols = st.columns(2)
            low = cols[0].number_input(f"{kind}: at least (days)", 1, 365, default.min_days, key=f"outcomes_min_{kind}")
            high = cols[1].number_input(f"{kind}: at most (days)", 1, 365, default.max_days, key=f"outcomes_max_{kind}")
            if low > high:
                st.error(f"{kind}: the least interval is longer than the most; the default protocol is used.")
                low, high = default.min_days, default.max_days
            chosen[kind] = Protocol(kind, int(low), int(high))
    return chosen


def _simulated_notice(store, me, table: pd.DataFrame) -> None:
    codes = set(table["patient"])
    simulated = [p for p in store.list_patients(me) if p.code in codes and is_simulated(p)]
    if simulated:
        st.info(f"{len(simulated)} of these {len(codes)} patients are **simulated** (the demo clinic: photos rendered "
                "with a known treatment effect and measured by the real engine). Not real people.")  # fmt: skip


def _filters(table: pd.DataFrame) -> pd.DataFrame:
    cols = st.columns(3)
    treatments = cols[0].multiselect("Treatment", sorted(table["treatment"].unique()), key="outcomes_treatments",
                                     placeholder="every treatment")  # fmt: skip
    areas = cols[1].multiselect("Area", sorted(table["area"].unique()), key="outcomes_areas", placeholder="every area")
    types = sorted(int(t) for t in table["fitzpatrick"].dropna().unique())
    skin = cols[2].multiselect("Skin type (Fitzpatrick)", types, key="outcomes_skin", placeholder="every skin type",
                               format_func=lambda t: f"type {'I II III IV V VI'.split()[t - 1]}")  # fmt: skip
    return filter_table(table, treatments=treatments, areas=areas, fitzpatrick=skin)


def _interval_chart(rows: pd.DataFrame, measure: str, unit: str) -> alt.LayerChart:
    """One row per group: the estimate (dot) and its 95 % interval (bar), a dashed line at no change."""
    base = alt.Chart(rows).encode(y=alt.Y("term:N", title=None, sort=None, axis=alt.Axis(labelLimit=300)))
    colour = alt.Color("verdict:N", scale=_verdict_scale(), legend=None)
    bars = base.mark_rule(strokeWidth=3).encode(x=alt.X("ci_low:Q", title=f"change from baseline ({unit})"),
                                                x2="ci_high:Q", color=colour)  # fmt: skip
    points = base.mark_point(filled=True, size=80, opacity=1).encode(
        x="estimate:Q",
        color=colour,
        tooltip=[alt.Tooltip("term:N", title="group"), alt.Tooltip("estimate:Q", format=".3g"),
                 alt.Tooltip("ci_low:Q", title="95 % from", format=".3g"), alt.Tooltip("ci_high:Q", title="to", format=".3g"),
                 alt.Tooltip("n_patients:Q", title="patients"), alt.Tooltip("verdict:N")],
    )  # fmt: skip
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color="#888").encode(x="x:Q")
    return (zero + bars + points).properties(title=title(measure), height=alt.Step(28))


def _verdict_scale() -> alt.Scale:
    return alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values()))


def _effects(table: pd.DataFrame, estimates: pd.DataFrame, context: dict, by: str) -> None:
    st.subheader(f"Change from baseline by {BY_CHOICES[by]}")
    groups = estimates[estimates["kind"] == "group"]
    if groups.empty:
        st.info("Too few follow-ups for a model yet.")
        return
    sessions = next((c[0] for c in context.values() if c[0] == c[0]), float("nan"))
    spacing = next((c[1] for c in context.values() if c[1] == c[1]), float("nan"))
    at = f"after {sessions:.1f} sessions (the average)" + (f", {spacing:.1f} weeks apart" if spacing == spacing else "")
    st.caption(f"Each dot is a group's estimated change from baseline {at}; the bar is its 95 % interval. Green: the "
               "whole interval is an improvement; red: a worsening; grey: no clear change. Groups with fewer than 5 "
               "patients get no estimate; fewer than 10 are flagged.")  # fmt: skip
    legend = " · ".join(f":{'green' if v == 'improves' else 'red' if v == 'worsens' else 'gray'}[{v}]"
                        for v in ("improves", "worsens", "no clear change"))  # fmt: skip
    st.markdown(legend)
    measures = [m for m in METRICS if m in set(groups["measure"])]
    columns = 2
    for start in range(0, len(measures), columns):
        cols = st.columns(columns)
        for col, measure in zip(cols, measures[start:start + columns]):
            rows = groups[(groups["measure"] == measure) & groups["estimate"].notna()]
            with col:
                if rows.empty:
                    st.caption(f"{title(measure)}: no group has enough patients.")
                    continue
                st.altair_chart(_interval_chart(rows, measure, METRICS[measure].unit), width="stretch",
                                key=f"outcomes_chart_{by}_{measure}")  # fmt: skip
                st.caption(explain(measure))
    with st.expander("Every estimate, with its interval, p-value and patients"):
        st.dataframe(round_floats(estimates), hide_index=True, column_order=SHOWN_ESTIMATES, key="outcomes_estimates")
        refused = estimates[estimates["status"] == "refused"]
        if len(refused):
            st.caption(f"{len(refused)} group estimates refused: fewer than 5 patients.")


def _over_time(table: pd.DataFrame) -> None:
    st.subheader("Patients over time")
    names = [m for m in METRICS if m in set(table["measure"])]
    measure = st.selectbox("Measure", names, format_func=title, key="outcomes_time_measure")
    rows = table[table["measure"] == measure][["patient", "treatment", "setting_bin", "days_since_baseline", "change",
                                                "noise"]]  # fmt: skip
    chart = (
        alt.Chart(rows)
        .mark_line(point=True, opacity=0.6)
        .encode(
            x=alt.X("days_since_baseline:Q", title="days since the baseline visit"),
            y=alt.Y("change:Q", title=f"change from baseline ({METRICS[measure].unit})"),
            color=alt.Color("treatment:N", legend=alt.Legend(orient="top", title=None)),
            detail="patient:N",
            tooltip=["patient:N", "treatment:N", "setting_bin:N", "days_since_baseline:Q",
                     alt.Tooltip("change:Q", format=".3g"), "noise:N"],
        )
        .properties(height=320)
    )  # fmt: skip
    st.altair_chart(chart, width="stretch", key="outcomes_over_time")
    st.caption(f"One line per patient and area. {explain(measure)}")


def _adherence(table: pd.DataFrame, protocols: dict[str, Protocol]) -> None:
    st.subheader("Spacing and adherence")
    summary = adherence_summary(table, protocols)
    shown = summary.assign(share_within=(100 * summary["share_within"]).round(0))
    st.dataframe(shown, hide_index=True, key="outcomes_adherence",
                 column_config={"share_within": st.column_config.NumberColumn("within protocol (%)"),
                                "courses_judged": st.column_config.NumberColumn("courses with 2+ sessions")})  # fmt: skip
    st.caption("Outcome by adherence: choose *Compare by → treatment and spacing* above.")


def _downloads(table: pd.DataFrame, estimates: pd.DataFrame) -> None:
    st.subheader("Download")
    st.caption(md(f"The table: one row per patient, area, measure and visit ({len(table)} rows), with its data dictionary."))
    cols = st.columns(4)
    cols[0].download_button("Table (CSV)", table_bytes(table, "csv", significant=None), file_name="cohort.csv",
                            mime="text/csv", key="outcomes_download_csv")  # fmt: skip
    cols[1].download_button("Table (Parquet)", table_bytes(table, "parquet", significant=None), file_name="cohort.parquet",
                            mime="application/vnd.apache.parquet", key="outcomes_download_parquet")  # fmt: skip
    dictionary = {**data_dictionary(), "provenance": plain(table.attrs)}
    cols[2].download_button("Data dictionary (JSON)", json.dumps(dictionary, indent=2, ensure_ascii=False),
                            file_name="cohort.dictionary.json", mime="application/json", key="outcomes_download_dictionary")  # fmt: skip
    cols[3].download_button("Estimates (CSV)", table_bytes(estimates, "csv"), file_name="cohort-estimates.csv",
                            mime="text/csv", key="outcomes_download_estimates")  # fmt: skip
