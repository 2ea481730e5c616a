"""Display helpers: cached images and measurements, the offline before/after slider, charts.

All numbers come from the engine; this module only draws them.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from skintrack import ghost, photo_to_bytes
from skintrack.metrics import METRICS
from skintrack.photo import resize_long_side

from . import state

DISPLAY_SIZE = 1200


def chosen_patient_id(hint: str = "Select a patient on the Patients page first.") -> str | None:
    """The patient the pages work on, or ``None`` after telling the user to pick one."""
    patient_id = state.selected_patient_id()
    if not patient_id:
        st.info(hint)
    return patient_id


def choose_area(patient_id: str, key: str):
    """An area select box for the patient, or ``None`` after saying there is none yet."""
    areas = state.records().list_areas(state.actor(), patient_id)
    if not areas:
        st.info("This patient has no treated area yet.")
        return None
    return st.selectbox("Area", areas, format_func=lambda a: a.name, key=key)


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


def measurement(photo_id: str, settings_hash: str | None):
    """Normalised + aligned image and score with maps (recomputed, cached per photo and engine settings;
    the signed-in user's right to the photo is checked first, on every call)."""
    state.records().get_photo(state.actor(), photo_id)
    return _measurement(photo_id, settings_hash)


@st.cache_resource(show_spinner="Measuring…", max_entries=16)
def _measurement(photo_id: str, settings_hash: str | None):
    return state.records().measurement(state.actor(), photo_id)


def overlay_image(photo_id: str, settings_hash: str | None, overlay: str):
    result = measurement(photo_id, settings_hash)
    if result.score is None:
        return resize_long_side(result.image.resized(DISPLAY_SIZE), DISPLAY_SIZE)
    if overlay == "none":
        return result.score.image
    return result.score.overlay(overlay)


def ghost_image(photo_id: str, settings_hash: str | None, area_id: str):
    result = measurement(photo_id, settings_hash)
    baseline = state.records().baseline_photo(state.actor(), area_id)
    if result.alignment is None or baseline is None:
        return None
    return resize_long_side(ghost(result.alignment, baseline, 0.5), DISPLAY_SIZE)


def before_after_slider(before, after, *, height: int | str = 520, key: str = "slider") -> None:
    """A before/after slider drawn with plain HTML and JavaScript: works offline (no CDN)."""
    def encode(rgb):
        return base64.b64encode(photo_to_bytes(resize_long_side(rgb, 900), "JPEG", quality=88)).decode()

    html = f"""
    <div id="{key}" style="position:relative;max-width:900px;user-select:none;font-family:sans-serif">
      <img src="data:image/jpeg;base64,{encode(before)}" style="width:100%;display:block" alt="before"/>
      <img id="{key}-after" src="data:image/jpeg;base64,{encode(after)}"
           style="width:100%;display:block;position:absolute;top:0;left:0;clip-path:inset(0 0 0 50%)" alt="after"/>
      <div id="{key}-bar" style="position:absolute;top:0;bottom:0;left:50%;width:2px;background:#fff;box-shadow:0 0 3px #000"></div>
      <span style="position:absolute;top:6px;left:8px;color:#fff;text-shadow:0 0 3px #000">Before</span>
      <span style="position:absolute;top:6px;right:8px;color:#fff;text-shadow:0 0 3px #000">After</span>
      <input id="{key}-range" type="range" min="0" max="100" value="50" aria-label="before/after"
             style="width:100%;margin-top:6px"/>
    </div>
    <script>
      const range = document.getElementById("{key}-range");
      const after = document.getElementById("{key}-after");
      const bar = document.getElementById("{key}-bar");
      function show(v) {{ after.style.clipPath = "inset(0 0 0 " + v + "%)"; bar.style.left = v + "%"; }}
      range.addEventListener("input", e => show(e.target.value));
      document.getElementById("{key}").addEventListener("mousemove", e => {{
        if (e.buttons !== 1) return;
        const r = e.currentTarget.getBoundingClientRect();
        const v = Math.max(0, Math.min(100, 100 * (e.clientX - r.left) / r.width));
        range.value = v; show(v);
      }});
    </script>
    """
    st.iframe(html, height=height)  # our own HTML (no user content), scripts allowed, nothing from a CDN


def metric_chart(progress, treatments: list[tuple]) -> alt.Chart:
    """One metric over sessions: points and line, baseline rule, noise band, treatment marks."""
    info = METRICS[progress.metric]
    data = pd.DataFrame(
        [{"date": pd.Timestamp(p.date), "value": p.value, "label": p.label, "treatment": p.treatment} for p in progress.points]
    )
    title = f"{info.label} ({info.unit})"
    base = alt.Chart(data).encode(x=alt.X("date:T", title="Session"), y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)))
    layers = []
    if progress.baseline is not None:
        value, noise = progress.baseline.value, progress.mdc95
        band = pd.DataFrame({"low": [value - noise], "high": [value + noise]})
        layers.append(
            alt.Chart(band).mark_rect(opacity=0.15, color="#888").encode(y="low:Q", y2="high:Q")
        )
        layers.append(alt.Chart(pd.DataFrame({"y": [value]})).mark_rule(strokeDash=[4, 4], color="#555").encode(y="y:Q"))
    if treatments:
        marks = pd.DataFrame([{"date": pd.Timestamp(d), "treatment": t} for d, t in treatments])
        layers.append(
            alt.Chart(marks).mark_rule(color="#c0392b", opacity=0.5).encode(x="date:T", tooltip=["treatment:N", "date:T"])
        )
    layers.append(base.mark_line(color="#1f77b4"))
    layers.append(
        base.mark_circle(size=80).encode(
            color=alt.Color("label:N", title="Change", scale=alt.Scale(
                domain=["baseline", "improved", "within noise", "could be noise", "worse", "expected post-treatment redness", "lighter", "darker"],
                range=["#555", "#2e8b57", "#999", "#bbb", "#c0392b", "#e67e22", "#3498db", "#8e44ad"],
            )),  # fmt: skip
            tooltip=["date:T", alt.Tooltip("value:Q", format=".3g"), "label:N", "treatment:N"],
        )
    )
    return alt.layer(*layers).properties(title=title, height=220)


def metric_table(before, after) -> pd.DataFrame:
    """Before/after measures of two stored photos (PhotoViews; plain score dicts are judged as if
    without a neutral reference), with the engine's noise verdict for the conditions they had."""
    from skintrack.noise import Conditions, verdicts

    conditions = Conditions()
    if hasattr(before, "scores") and hasattr(after, "scores"):
        # The baseline itself brings no alignment of its own; a pair of follow-ups the weaker of the two.
        conditions = Conditions.of_photo(after) if before.is_baseline else Conditions.of_photo(before).worse(Conditions.of_photo(after))
        before, after = before.scores, after.scores
    judged = verdicts(before, after, conditions)
    rows = []
    for name, info in METRICS.items():
        a, b = before.get(name, math.nan), after.get(name, math.nan)
        change = b - a
        verdict = judged.get(name)
        rows.append(
            {
                "measure": info.label,
                "unit": info.unit,
                "before": round(a, 3),
                "after": round(b, 3),
                "change": round(change, 3),
                "change %": round(100 * change / abs(a), 1) if a and math.isfinite(a) else None,
                "noise (MDC95)": round(verdict.mdc95, 3) if verdict else None,
                "beyond noise": verdict.beyond if verdict else None,
                "verdict": verdict.wording if verdict else None,
            }
        )
    return pd.DataFrame(rows)


def patient_chart(measure) -> alt.Chart:
    """One measure for a patient (:class:`skintrack.progress.PatientMeasure`): the change since the first visit
    in %, with a grey band for the normal difference between two photos. No units, no technical terms."""
    data = pd.DataFrame([{"date": pd.Timestamp(d), "change": round(v, 1)} for d, v in measure.points])
    band = pd.DataFrame({"low": [-measure.noise_pct], "high": [measure.noise_pct]})
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=4)),
        y=alt.Y("change:Q", title="% since first visit"),
    )
    layers = [
        alt.Chart(band).mark_rect(opacity=0.15, color="#888").encode(y="low:Q", y2="high:Q"),
        alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(y="y:Q"),
        base.mark_line(color="#1f77b4"),
        base.mark_circle(size=70, color="#1f77b4").encode(tooltip=[alt.Tooltip("date:T", format="%d %b %Y"),
                                                                   alt.Tooltip("change:Q", title="% change")]),
    ]  # fmt: skip
    return alt.layer(*layers).properties(title=measure.title, height=180)
