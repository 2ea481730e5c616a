"""The cohort table's data dictionary: every column and every measure, with units, directions, definitions.

The measures' units, directions and descriptions are not written here a second
time: they come from the engine's own definitions (:data:`skintrack.measure.metrics.METRICS`)
and its plain words (:func:`skintrack.wording.explain`, :data:`~skintrack.wording.UNIT_WORDS`),
so the dictionary cannot drift from what the app and the reports say.
"""

from __future__ import annotations

from typing import Any

from ..measure.metrics import METRICS
from ..wording import UNIT_WORDS, explain, title

__all__ = ["COLUMNS", "ITA_GROUPS", "AGE_BANDS", "data_dictionary", "measure_dictionary", "dictionary_markdown"]

#: Skin-tone groups by the baseline's mean ITA° (Chardon et al. 1991; Del Bino et al. 2006): lower bound, name.
ITA_GROUPS: tuple[tuple[float, str], ...] = (
    (55.0, "very light"),
    (41.0, "light"),
    (28.0, "intermediate"),
    (10.0, "tan"),
    (-30.0, "brown"),
    (-float("inf"), "dark"),
)

#: Age bands (years at the baseline visit): lower bound, label.
AGE_BANDS: tuple[tuple[int, str], ...] = ((60, "60+"), (50, "50-59"), (40, "40-49"), (30, "30-39"), (0, "under 30"))

#: (column, type, unit, definition) of the cohort table, in column order. ``setting_<name>`` columns are
#: added for every numeric treatment setting found (see ``setting_*``).
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("patient", "text", "", "The clinic's patient code."),
    ("area", "text", "", "The treated area (e.g. 'left cheek')."),
    ("view", "text", "", "The photo's view within the visit (usually one per area)."),
    ("measure", "text", "", "The engine's measure name (see the measures below)."),
    ("unit", "text", "", "The measure's unit (from skintrack.measure.metrics.METRICS)."),
    ("better", "text", "", "Which direction is an improvement: 'lower', 'higher' or empty (no judgement, ITA°)."),
    ("visit_date", "date", "", "Date of the visit (session) the photo was taken at."),
    ("visit_number", "integer", "visits", "1 for the area's baseline visit, then 2, 3, ... in date order."),
    ("days_since_baseline", "integer", "days", "Days from the area's baseline visit to this visit."),
    ("visit_treatment", "text", "", "The treatment recorded for this visit ('baseline', 'other' for a check-up, ...)."),
    ("visit_settings", "text (JSON)", "", "The settings recorded for this visit's treatment, as JSON."),
    ("treatment", "text", "",
     "The course's treatment: the kind given most often to this area (the latest on a tie); 'none' without any."),
    ("setting_bin", "text", "",
     "The course's main setting, binned (e.g. 'needle depth 1-1.5 mm'): the median over the course's sessions "
     "of the treatment's first setting in DEFAULT_SETTING_BINS; 'not recorded' when the course has none."),
    ("treatments_before", "integer", "sessions",
     "Treatment sessions of the course before this visit (photos are taken before that day's treatment), "
     "the session number the photo shows the effect of."),
    ("session_number", "integer", "sessions",
     "This visit's place in the course when a treatment was given at it (1 = first treatment); empty otherwise."),
    ("days_since_previous_visit", "integer", "days", "Days since the area's previous visit; empty at the baseline."),
    ("days_since_last_treatment", "integer", "days",
     "Days since the course's most recent treatment before this visit; empty when none came before."),
    ("course_spacing_days", "float", "days",
     "Mean interval between the course's consecutive treatment sessions; empty with fewer than two."),
    ("within_protocol", "boolean", "",
     "Every interval between the course's sessions lies within its treatment's protocol "
     "(skintrack.cohort.PROTOCOLS); empty with fewer than two sessions or no protocol."),
    ("fitzpatrick", "integer", "type I-VI", "The patient's Fitzpatrick skin type (1-6) as recorded; empty if not."),
    ("baseline_ita", "float", "°", "Mean ITA° of the area's baseline photo (skin tone as measured)."),
    ("ita_group", "text", "",
     "Skin-tone group from baseline_ita (Chardon 1991; Del Bino 2006): very light > 55°, light 41-55°, "
     "intermediate 28-41°, tan 10-28°, brown -30-10°, dark < -30°."),
    ("age_band", "text", "years", "Age at the baseline visit from the birth year: under 30, 30-39, 40-49, 50-59, 60+."),
    ("value", "float", "the measure's unit", "The measure at this visit (scored with the baseline's yardstick)."),
    ("baseline_value", "float", "the measure's unit",
     "The measure at the area's baseline visit, over the skin this visit's photo shows too (the baseline "
     "measured again over the overlap when the photo leaves out more than 1 % of the baseline's skin)."),
    ("change", "float", "the measure's unit", "value - baseline_value (0 at the baseline)."),
    ("change_pct", "float", "%", "change / |baseline_value| x 100; empty when the baseline is 0 or for ITA° (an angle)."),
    ("improvement", "float", "the measure's unit",
     "The change signed so that positive is better: -change when lower is better, +change when higher is; "
     "empty for measures without a direction (ITA°)."),
    ("mdc95", "float", "the measure's unit",
     "The noise band (minimal detectable change, 95 %) for this photo's neutral reference and alignment "
     "(skintrack.noise); for the baseline, at its own conditions."),
    ("noise", "text", "",
     "The engine's noise verdict on the change: 'within noise', 'could be noise' or 'beyond noise'; "
     "empty at the baseline."),
    ("beyond_noise", "boolean", "", "True when the change is beyond noise (noise == 'beyond noise')."),
    ("label", "text", "",
     "The progress label, as the Progress page shows it: baseline, improved, worse, within noise, could be noise, "
     "expected post-treatment redness, lighter, darker."),
    ("healing", "boolean", "",
     "The visit falls within the healing window after a treatment (skintrack.progress.INFLAMMATION_DAYS): "
     "left out of the models, whose question is the lasting change."),
    ("consent", "text", "", "The photo's consent level: record, teaching or publication."),
    ("engine_version", "text", "", "skintrack version that measured the photo."),
    ("settings_hash", "text", "", "Hash of the measuring settings (reproducibility)."),
    ("photo_sha256", "text", "", "sha256 of the photo as received."),
    ("setting_*", "float", "as named",
     "One column per numeric treatment setting (e.g. setting_needle_depth_mm): its median over the course's "
     "sessions of the course's treatment."),
)  # fmt: skip


def measure_dictionary() -> list[dict[str, Any]]:
    """One entry per measure: name, title, unit, the unit in words, direction and definition (from the engine)."""
    return [
        {
            "measure": info.name,
            "title": title(info.name),
            "unit": info.unit,
            "unit_meaning": UNIT_WORDS.get(info.unit, info.unit),
            "better": info.better or "",
            "family": info.family,
            "definition": explain(info.name),
        }
        for info in METRICS.values()
    ]


def data_dictionary() -> dict[str, Any]:
    """The whole dictionary: ``{"columns": [...], "measures": [...]}`` (JSON-ready)."""
    columns = [{"column": c, "type": t, "unit": u, "definition": d} for c, t, u, d in COLUMNS]
    return {"columns": columns, "measures": measure_dictionary()}


def dictionary_markdown() -> str:
    """The dictionary as two Markdown tables (the README's are this text)."""
    lines = ["| column | type | unit | definition |", "| --- | --- | --- | --- |"]
    for c, t, u, d in COLUMNS:
        lines.append(f"| `{c}` | {t} | {u} | {d} |")
    lines += ["", "| measure | unit | better | definition |", "| --- | --- | --- | --- |"]
    for entry in measure_dictionary():
        lines.append(f"| `{entry['measure']}` | {entry['unit']} | {entry['better'] or '(none)'} | {entry['definition']} |")
    return "\n".join(lines)
