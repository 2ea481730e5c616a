"""Progress: the course of one area in plain words and small charts, the treatment's goal measures first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skintrack.measure.metrics import METRICS
from skintrack.progress import DEFAULT_GOAL_MEASURES, area_progress
from skintrack.wording import change_words, explain, verdict_words

from .. import state, widgets
from ..text import md


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Progress")
    store, me = state.records(), state.actor()
    patient = widgets.current_patient()
    if patient is None:
        return
    patient_id = patient.id
    areas = store.list_areas(me, patient_id)
    if len(areas) > 1:
        _zones_side_by_side(store, me, patient_id, areas)
    area = widgets.choose_area(patient_id, key="progress_area")
    if area is None:
        return
    progress = area_progress(store, me, patient_id, area.id)
    if progress.last_treatment:
        date, kind = progress.last_treatment
        days = progress.days_since_last_treatment
        st.markdown(f"**Last treatment:** {md(kind)} on {date.isoformat()}, {days} day{'s' if days != 1 else ''} ago.")
    for warning in progress.spacing_warnings:
        st.warning(warning.message)
    goal = [name for name in progress.goal if name in progress.metrics]
    rest = [name for name in progress.metrics if name not in goal]
    kinds = sorted({kind for _, kind in progress.treatments})
    st.subheader("Summary")
    st.caption(f"First the measures that {', '.join(kinds) or 'treatments'} set out to change; what each measure "
               "shows is written under its chart.")  # fmt: skip
    if progress.extra_photos_note:  # a visit with several photos: which one counts, said where the numbers are
        st.info(progress.extra_photos_note)
    for name in goal:
        st.markdown(f"- {progress.metrics[name].summary}")
    with st.expander(f"Other measures ({len(rest)})"):
        for name in rest:
            st.markdown(f"- {progress.metrics[name].summary}")
    charted = [p for m in progress.metrics.values() for p in m.points]
    if not charted:
        return
    st.subheader("Charts")
    widgets.legend({p.label for p in charted}, partly_compared=any(m.partly_compared for m in progress.metrics.values()))
    dates = sorted({p.date for p in charted})
    _chart_grid(progress, goal, dates, key="goal")
    rest_charted = _charted(progress, rest)  # a measure with no value (a size without a scale) has no chart
    with st.expander(f"Charts of the other measures ({len(rest_charted)})"):
        _chart_grid(progress, rest_charted, dates, key="rest")


def _charted(progress, names: list[str]) -> list[str]:
    return [name for name in names if progress.metrics[name].points]


def _chart_grid(progress, names: list[str], dates: list, *, key: str, columns: int = 2) -> None:
    names = _charted(progress, names)
    for start in range(0, len(names), columns):
        cols = st.columns(columns)
        for col, name in zip(cols, names[start : start + columns]):
            with col:
                st.altair_chart(widgets.metric_chart(progress.metrics[name], progress.treatments, dates=dates),
                                width="stretch", key=f"chart_{key}_{name}")  # fmt: skip
                st.caption(explain(name))


def _zones_side_by_side(store, me, patient_id: str, areas) -> None:
    """Every area (e.g. each face zone) in one table: the main measures' change since the first visit."""
    with st.expander(f"All {len(areas)} areas side by side", expanded=len(areas) > 2):
        rows = []
        for area in areas:
            progress = area_progress(store, me, patient_id, area.id, metrics=list(DEFAULT_GOAL_MEASURES))
            row = {"area": area.name}
            for name in DEFAULT_GOAL_MEASURES:
                metric = progress.metrics[name]
                last = metric.latest
                if last is None or len(metric.points) < 2:
                    row[METRICS[name].label] = "first visit only" if last else "–"
                else:
                    row[METRICS[name].label] = f"{change_words(name, last.change, last.change_pct)}: {verdict_words(last.label).split(',')[-1].strip()}"
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="zones_table")
        st.caption("Change since each area's first visit; pick an area below for its charts.")
