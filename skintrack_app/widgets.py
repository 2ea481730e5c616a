"""Display helpers: cached images and measurements, area pickers, score grids, charts and their legend.

All numbers and verdicts come from the engine (:mod:`skintrack.progress`), and all words about them
from :mod:`skintrack.wording`; this module only lays them out.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import altair as alt
import cv2
import numpy as np
import pandas as pd
import streamlit as st

from skintrack import ghost
from skintrack.intake.photo import resize_long_side
from skintrack.measure.metrics import METRICS
from skintrack.measure.roi import Region
from skintrack.wording import NOISE_WORDS, change_words, explain, format_value, title, verdict_words

from . import state
from .text import md

DISPLAY_SIZE = 1200
#: Verdict colours (Streamlit's own palette, so the legend's coloured words match the charts).
VERDICT_COLOURS = {
    "baseline": "#31333f",
    "improved": "#21c354",
    "within noise": "#808495",
    "could be noise": "#b5b9c4",
    "worse": "#ff4b4b",
    "expected post-treatment redness": "#ffa421",
    "lighter": "#1c83e1",
    "darker": "#803df5",
}
_LEGEND_WORDS = {
    "baseline": "first visit",
    "improved": "improved",
    "within noise": f"within {NOISE_WORDS}",
    "could be noise": "could still be variation (too little evidence)",
    "worse": "worse",
    "expected post-treatment redness": "expected redness after treatment",
    "lighter": "lighter",
    "darker": "darker",
}
#: The grey band and the treatment marks, as the charts draw them.
BAND_COLOUR, BAND_OPACITY, TREATMENT_COLOUR = "#9aa5b1", 0.35, "#31333f"
BASELINE_COLOUR = VERDICT_COLOURS["baseline"]  # the first visit's dot and its figure over part of its skin
PARTLY_COMPARED_WORDS = "hollow diamond: the first visit over only the part a closer photo shows (its change starts there)"
#: The patient's chart: dot colours per verdict in the patient's words (skintrack.progress.PATIENT_VERDICTS).
PATIENT_VERDICT_COLOURS = {
    "first visit": VERDICT_COLOURS["baseline"],
    "better": VERDICT_COLOURS["improved"],
    "no clear change": VERDICT_COLOURS["within noise"],
    "no clear change yet": VERDICT_COLOURS["could be noise"],
    "worse": VERDICT_COLOURS["worse"],
    "expected after treatment": VERDICT_COLOURS["expected post-treatment redness"],
    "changed": VERDICT_COLOURS["lighter"],
}


def chosen_patient_id(hint: str = "Select a patient on the Patients page first.") -> str | None:
    """The patient the pages work on, or ``None`` after telling the user to pick one."""
    patient_id = state.selected_patient_id()
    if not patient_id:
        st.info(hint)
    return patient_id


def selected_patient():
    """The selected patient's record (:class:`~skintrack.records.PatientView`), or ``None`` when none is
    selected or it no longer exists (deleted meanwhile: the selection is dropped)."""
    from skintrack.records import NotFound, PermissionDenied

    patient_id = state.selected_patient_id()
    if not patient_id:
        return None
    try:
        return state.records().get_patient(state.actor(), patient_id)
    except (NotFound, PermissionDenied):
        state.select_patient(None)
        state.notify("The patient you had selected no longer exists (deleted, perhaps in another tab).")
        return None


def current_patient(hint: str = "Select a patient on the Patients page first."):
    """The patient a clinical page works on, named under its heading (code and name, shown as text), or
    ``None`` after telling the user to pick one. Every clinical page says whose record it is."""
    patient = selected_patient()
    if patient is None:
        state.show_notices()
        st.info(hint)
        return None
    st.markdown(f"Patient **{md(patient.code)}** — {md(patient.display_name)}")
    return patient


def choose_area(patient_id: str, key: str):
    """The area to work on, or ``None`` after saying there is none yet.

    A patient tracked by face zone (several areas) gets one button per zone, so switching
    zones is one tap; otherwise a select box.
    """
    areas = state.records().list_areas(state.actor(), patient_id)
    if not areas:
        st.info("This patient has no treated area yet.")
        return None
    # The widgets hold area ids, never the AreaView objects: a stored object would be last run's (a region
    # just saved would not show).
    ids = [a.id for a in areas]
    names = {a.id: a.name for a in areas}
    state.keep_valid(key, ids[0], ids)
    if 1 < len(areas) <= 8:
        chosen = st.segmented_control("Area", ids, format_func=names.get, key=key, selection_mode="single")
    else:
        chosen = st.selectbox("Area", ids, format_func=names.get, key=key)
    if chosen is None:  # clicking the chosen zone again unselects it: keep the first
        chosen = ids[0]
    return next(a for a in areas if a.id == chosen)


# --------------------------------------------------------------------------- images


#: One worker for baseline head starts (a pool, not a daemon thread: it finishes its work before the
#: server process exits instead of being killed inside OpenCV).
_PREPARING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-baseline")


def prepare_baseline(area_id: str) -> None:
    """Analyse the area's baseline in the background while the provider picks a follow-up photo, so
    "Add photos" only measures the new photo (the engine does it once per baseline; errors are the
    upload's to report, not this)."""
    store, me = state.records(), state.actor()

    def run() -> None:
        try:
            store.prepare_baseline(me, area_id)
        except Exception:  # noqa: BLE001 - a head start only: the upload measures everything it needs itself
            pass

    _PREPARING.submit(run)


def photo_image(file_name: str, photo_id: str) -> Any:
    """The stored photo, upright, downscaled for display (cached by its content name).

    The cache is shared by every user of the server, so the signed-in user's
    right to the photo is checked first, on every call.
    """
    state.records().get_photo(state.actor(), photo_id)
    return _photo_image(file_name, photo_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _photo_image(file_name: str, photo_id: str) -> Any:
    photo = state.records().load_photo(state.actor(), photo_id)
    return photo.resized(min(DISPLAY_SIZE, max(photo.size)))


def measurement(photo_id: str, settings_hash: str | None = None):
    """Normalised + aligned image and score with maps (recomputed, cached per photo, engine settings,
    the area's baseline and its region — a new baseline makes the old overlays stale). The signed-in
    user's right to the photo is checked first, on every call."""
    view = state.records().get_photo(state.actor(), photo_id)
    return _measurement(photo_id, view.measurement_key)


@st.cache_resource(show_spinner="Measuring…", max_entries=16)
def _measurement(photo_id: str, measurement_key: tuple):
    return state.records().measurement(state.actor(), photo_id)


def overlay_image(photo_id: str, settings_hash: str | None, overlay: str, region: dict | None = None):
    result = measurement(photo_id, settings_hash)
    if result.score is None:
        image = resize_long_side(result.image.resized(DISPLAY_SIZE), DISPLAY_SIZE)
    elif overlay == "none":
        image = result.score.image
    else:
        image = result.score.overlay(overlay)
    return outline(image, region)


def outline(image: np.ndarray, region: dict | None) -> np.ndarray:
    """``image`` with the area's region of interest drawn on it (when there is one)."""
    if not region:
        return image
    return Region.from_dict(region).draw(image)


def ghost_image(photo_id: str, settings_hash: str | None, area_id: str):
    result = measurement(photo_id, settings_hash)
    baseline = state.records().baseline_photo(state.actor(), area_id)
    if result.alignment is None or baseline is None:
        return None
    return resize_long_side(ghost(result.alignment, baseline, 0.5), DISPLAY_SIZE)


def unaligned_ghost(photo_id: str, area_id: str):
    """A photo that could not be lined up, over the baseline's ghost (same frame size): how to reframe."""
    store, me = state.records(), state.actor()
    baseline = store.baseline_photo(me, area_id)
    if baseline is None:
        return None
    height, width = baseline.rgb.shape[:2]
    base = resize_long_side(baseline.rgb, DISPLAY_SIZE)
    follow = cv2.resize(np.asarray(photo_image(store.get_photo(me, photo_id).file_name, photo_id)), (base.shape[1], base.shape[0]),
                        interpolation=cv2.INTER_AREA)  # fmt: skip
    return (0.5 * base.astype(np.float32) + 0.5 * follow.astype(np.float32)).astype(np.uint8)


# --------------------------------------------------------------------------- numbers


def score_grid(scores: dict[str, float], *, key: str, columns: int = 3) -> None:
    """Each measure as a tile: its name with the unit, the value, and its one-line explanation as help."""
    names = [name for name in METRICS if name in scores]
    for start in range(0, len(names), columns):
        cols = st.columns(columns)
        for col, name in zip(cols, names[start : start + columns]):
            col.metric(title(name), format_value(name, scores[name]), help=explain(name), border=True)


#: Delta colour per verdict: green for an improvement, red for a worsening, grey otherwise (Streamlit would
#: colour by the sign of the text, and "down 43 %" has none).
_VERDICT_DELTA_COLOURS = {"improved": "green", "worse": "red"}
#: The verdict beside a tile's change, short enough for a tile (the whole sentence is in its help).
_VERDICT_SHORT = {
    "improved": "an improvement",
    "worse": "a worsening",
    "within noise": "within variation",
    "could be noise": "could be variation",
    "expected post-treatment redness": "expected after treatment",
    "lighter": "lighter",
    "darker": "darker",
}


def change_grid(changes: dict, names: list[str], *, columns: int = 3) -> None:
    """Measures between two photos: after-value, the change in words with an arrow its way, the verdict in
    words and as colour, explanation as help."""
    for start in range(0, len(names), columns):
        cols = st.columns(columns)
        for col, name in zip(cols, names[start : start + columns]):
            pair = changes[name]
            delta, arrow, description = None, "off", None
            if math.isfinite(pair.change):
                delta = change_words(name, pair.change, pair.change_pct)
                arrow = "down" if pair.change < 0 else "up" if pair.change > 0 else "off"
                description = _VERDICT_SHORT.get(pair.label, pair.label)
            colour = _VERDICT_DELTA_COLOURS.get(pair.label, "gray") if pair.beyond_noise else "gray"
            verdict = f" The change: {verdict_words(pair.label)}." if math.isfinite(pair.change) else ""
            col.metric(title(name), format_value(name, pair.after), delta=delta, delta_color=colour,
                       delta_arrow=arrow, delta_description=description,
                       help=f"{explain(name)} Before: {format_value(name, pair.before)}.{verdict}", border=True)  # fmt: skip


def change_table(changes: dict) -> pd.DataFrame:
    """The same numbers as a table (plain words; the unit is in the values)."""
    return pd.DataFrame(
        [
            {
                "measure": title(name),
                "before": format_value(name, pair.before),
                "after": format_value(name, pair.after),
                "change": change_words(name, pair.change, pair.change_pct),
                "verdict": verdict_words(pair.label),
            }
            for name, pair in changes.items()
        ]
    )


# --------------------------------------------------------------------------- charts


def _legend_items(dots: list[tuple[str, str, str]], band_words: str) -> list[dict]:
    """The legend's items: a dot per verdict in its exact chart colour, the grey band, the treatment mark."""
    items = [{"kind": "dot", "verdict": key, "colour": colour, "words": words} for key, colour, words in dots]
    items.append({"kind": "band", "colour": BAND_COLOUR, "opacity": BAND_OPACITY + 0.25, "words": band_words})
    items.append({"kind": "rule", "colour": TREATMENT_COLOUR, "words": "dotted line: a treatment"})
    return items


def legend(labels: set[str], *, partly_compared: bool = False) -> None:
    """One legend for all the charts of a page (only the verdicts that appear), in one compact wrapped line,
    each dot in its markers' colour; the hollow diamond when a chart has a partly compared follow-up."""
    from .components import chart_legend

    dots = [(label, VERDICT_COLOURS[label], words) for label, words in _LEGEND_WORDS.items() if label in labels]
    items = _legend_items(dots, f"grey band: {NOISE_WORDS} around the first visit")
    if partly_compared:
        items.append({"kind": "diamond", "colour": BASELINE_COLOUR, "words": PARTLY_COMPARED_WORDS})
    chart_legend(items, key="progress_legend")


def patient_legend(verdicts: set[str]) -> None:
    """The legend of the patient's charts (their verdicts in plain words, in the dots' colours)."""
    from .components import chart_legend

    dots = [(words, colour, words) for words, colour in PATIENT_VERDICT_COLOURS.items() if words in verdicts]
    chart_legend(_legend_items(dots, "grey band: the normal difference between two photos"), key="portal_legend")


def date_format(dates: list) -> str:
    """One tick format for every chart of a course: day and month, with the year when it spans years."""
    years = {d.year for d in dates}
    return "%d %b" if len(years) <= 1 else "%b %Y"


def metric_chart(progress, treatments: list[tuple], *, dates: list | None = None, height: int = 170) -> alt.Chart:
    """One measure over the visits: points coloured by verdict, the grey noise band around the first visit,
    the first visit's value dashed, treatments dotted. No legend of its own (see :func:`legend`)."""
    data = pd.DataFrame(
        [{"date": pd.Timestamp(p.date), "value": p.value, "verdict": p.label, "treatment": p.treatment,
          "shown": format_value(progress.metric, p.value)} for p in progress.points]  # fmt: skip
    )
    dates = dates or [p.date for p in progress.points]
    ticks = [{"year": d.year, "month": d.month, "date": d.day} for d in sorted(set(dates))]  # Vega-Lite DateTime
    x_axis = alt.Axis(values=ticks, format=date_format(dates), labelAngle=0, labelOverlap="greedy", grid=False, title=None)
    x = alt.X("date:T", axis=x_axis, scale=alt.Scale(padding=14))
    base = alt.Chart(data).encode(x=x, y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    layers = []
    if progress.baseline is not None:
        value, noise = progress.baseline.value, progress.mdc95
        band = pd.DataFrame({"low": [value - noise], "high": [value + noise], "value": [value]})
        layers.append(alt.Chart(band).mark_rect(color=BAND_COLOUR, opacity=BAND_OPACITY).encode(y="low:Q", y2="high:Q"))
        for edge in ("low", "high"):  # the band's edges: visible even when it is thin
            layers.append(alt.Chart(band).mark_rule(color=BAND_COLOUR, strokeWidth=1).encode(y=f"{edge}:Q"))
        layers.append(alt.Chart(band).mark_rule(strokeDash=[4, 4], color="#31333f", opacity=0.7).encode(y="value:Q"))
    if treatments:
        marks = pd.DataFrame([{"date": pd.Timestamp(d), "treatment": t} for d, t in treatments])
        layers.append(
            alt.Chart(marks).mark_rule(color="#31333f", opacity=0.45, strokeDash=[2, 3])
            .encode(x=alt.X("date:T"), tooltip=[alt.Tooltip("treatment:N"), alt.Tooltip("date:T", format="%d %b %Y")])
        )  # fmt: skip
    layers += _partial_baseline_layers(progress, x)
    layers.append(base.mark_line(color="#1c83e1", strokeWidth=1.5))
    layers.append(
        base.mark_circle(size=70, opacity=1).encode(
            color=alt.Color("verdict:N", legend=None, scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values()))),
            tooltip=[alt.Tooltip("date:T", format="%d %b %Y", title="visit"), alt.Tooltip("shown:N", title="value"),
                     alt.Tooltip("verdict:N"), alt.Tooltip("treatment:N")],  # fmt: skip
        )
    )
    chart_title = alt.TitleParams(title(progress.metric), anchor="start", fontSize=14, limit=0, offset=6)
    return alt.layer(*layers).properties(title=chart_title, height=height)


def _partial_baseline_layers(progress, x) -> list:
    """For each partly compared follow-up: a hollow diamond at the baseline's figure over the skin both photos
    show, joined to the follow-up's dot, so the chart shows the change the verdict is about."""
    partial = progress.partly_compared
    if not partial:
        return []
    data = pd.DataFrame(
        [{"date": pd.Timestamp(p.date), "before": p.compared_with, "value": p.value,
          "shown": format_value(progress.metric, p.compared_with), "share": f"{100 - p.skin_left_out_pct:.0f} %"}
         for p in partial]  # fmt: skip
    )
    chart = alt.Chart(data).encode(x=x)
    tooltip = [alt.Tooltip("shown:N", title="first visit over the part shown"), alt.Tooltip("share:N", title="share of its skin shown")]
    return [
        chart.mark_rule(color=BASELINE_COLOUR, strokeDash=[1, 2], opacity=0.8).encode(y="before:Q", y2="value:Q"),
        chart.mark_point(shape="diamond", filled=False, color=BASELINE_COLOUR, size=130, strokeWidth=1.5)  # around the dot when they meet
        .encode(y="before:Q", tooltip=tooltip),
    ]


def month_starts(first, last) -> list:
    """The first day of every month from ``first``'s month to ``last``'s (dates)."""
    import datetime as dt

    day, months = dt.date(first.year, first.month, 1), []
    while day <= last:
        months.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def patient_chart(measure) -> alt.Chart:
    """One measure for a patient (:class:`skintrack.progress.PatientMeasure`): the change since the first visit
    in %, with a grey band for the normal difference between two photos, each dot coloured by its verdict —
    the same numbers and verdicts as the sentence above the charts. No units, no technical terms."""
    verdicts = measure.verdicts or ["first visit"] * len(measure.points)
    data = pd.DataFrame([{"date": pd.Timestamp(d), "change": round(v, 1), "verdict": verdict}
                         for (d, v), verdict in zip(measure.points, verdicts)])  # fmt: skip
    band = pd.DataFrame({"low": [-measure.noise_pct], "high": [measure.noise_pct]})
    # The axis starts on the first day of the course's first month, labelled: "tickCount" alone let Vega
    # start at the next month, so the first month of the course was missing.
    months = month_starts(measure.points[0][0], measure.points[-1][0])
    domain = [pd.Timestamp(months[0]), pd.Timestamp(measure.points[-1][0]) + pd.Timedelta(days=5)]
    ticks = [{"year": d.year, "month": d.month, "date": 1} for d in months[:: max(1, -(-len(months) // 5))]]
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, scale=alt.Scale(domain=[d.isoformat() for d in domain]),
                axis=alt.Axis(format="%b %Y", labelAngle=0, values=ticks, labelOverlap="greedy")),
        y=alt.Y("change:Q", title="% since first visit"),
    )  # fmt: skip
    colours = alt.Scale(domain=list(PATIENT_VERDICT_COLOURS), range=list(PATIENT_VERDICT_COLOURS.values()))
    layers = [
        alt.Chart(band).mark_rect(opacity=BAND_OPACITY, color=BAND_COLOUR).encode(y="low:Q", y2="high:Q"),
        alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(y="y:Q"),
        base.mark_line(color="#1c83e1"),
        base.mark_circle(size=70, opacity=1).encode(
            color=alt.Color("verdict:N", legend=None, scale=colours),
            tooltip=[alt.Tooltip("date:T", format="%d %b %Y"), alt.Tooltip("change:Q", title="% change"),
                     alt.Tooltip("verdict:N")],  # fmt: skip
        ),
    ]
    return alt.layer(*layers).properties(title=measure.title, height=180)
