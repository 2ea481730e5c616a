"""Simulated cohorts with known effects, at the level of the scores.

The statistics of :mod:`skintrack.cohort.models` are tested where the question
is the statistics: a cohort table whose changes are drawn from a known model,
so the true effect of every group is known exactly. (Photos are not needed to
test a mixed model; the end-to-end path from photos through the records to the
table is tested with rendered photos, see :mod:`skintrack.cohort.demo`.)

Model of a simulated cohort, per measure::

    change_ij = effect_g(i) + per_session · (sessions_ij − s̄) + per_week · (spacing_i − d̄) + u_i + ε_ij
    u_i ~ N(0, patient_sd²),  ε_ij ~ N(0, visit_sd²)

with ``s̄`` and ``d̄`` the means over the simulated follow-up visits, so
``effect_g`` is exactly the quantity the model estimates (the change in group
``g`` after the average number of sessions at the average spacing).

Realistic sizes (:data:`REALISTIC`) come from the engine's noise table:
``visit_sd`` is the photo-to-photo SD of a change with a grey card and good
alignment (MDC95 / 1.96, redness 0.887 a* → 0.45 a*), and the effect is a
redness fall of about twice that MDC95 over a course, what the published
micro-needling and laser series report as a visible improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..comparison.noise import Conditions, mdc95

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Scenario", "REALISTIC", "simulate_cohort"]


@dataclass(frozen=True)
class Scenario:
    """A simulated cohort: groups with their true effects, and how patients and visits vary.

    Attributes
    ----------
    effects : dict
        ``{(treatment, setting_bin): true change}`` in the measure's unit.
    per_session : float
        True change per extra treatment session before the visit.
    per_week : float
        True change per extra week between sessions.
    patient_sd, visit_sd : float
        Between-patient and visit-to-visit SD of the change.
    visits : int
        Follow-up visits per patient (each after one more session).
    spacing_days : (low, high)
        Each course's spacing is drawn uniformly from this range.
    """

    measure: str = "redness"
    effects: dict = field(default_factory=lambda: {("micro-needling", "needle depth 1-1.5 mm"): -1.8,
                                                    ("laser", "fluence 10-20 J/cm²"): -0.8})  # fmt: skip
    per_session: float = -0.3
    per_week: float = 0.1
    patient_sd: float = 0.8
    visit_sd: float = 0.45
    visits: int = 5
    spacing_days: tuple[int, int] = (21, 56)


def _realistic() -> Scenario:
    noise_sd = mdc95("redness", Conditions("grey_card", 0.9)) / 1.96
    return Scenario(visit_sd=round(noise_sd, 3))


#: The realistic scenario the power test uses (redness, a*): see the module docstring.
REALISTIC = _realistic()


def simulate_cohort(n_patients: int, seed: int, scenario: Scenario = REALISTIC) -> "pd.DataFrame":
    """A cohort table (the columns the models use) for ``n_patients`` with ``scenario``'s true effects.

    Patients are assigned to the groups in turn; every patient has a baseline
    row and ``scenario.visits`` follow-ups. Returns the table; its ``attrs["truth"]``
    maps each model term (``"micro-needling · needle depth 1-1.5 mm"``, ``"per session"``,
    ``"per week of spacing"``) and each group's treatment to its true value.
    """
    import pandas as pd

    from ..measure.metrics import METRICS

    rng = np.random.default_rng(seed)
    groups = list(scenario.effects)
    info = METRICS[scenario.measure]
    patients = []
    for i in range(n_patients):
        treatment, setting = groups[i % len(groups)]
        spacing = float(rng.uniform(*scenario.spacing_days))
        patients.append((f"SIM-{i + 1:03d}", treatment, setting, spacing, float(rng.normal(0.0, scenario.patient_sd))))
    follow_ups = [(p, k) for p in patients for k in range(1, scenario.visits + 1)]
    mean_sessions = float(np.mean([k for _, k in follow_ups]))
    mean_weeks = float(np.mean([p[3] / 7.0 for p, _ in follow_ups]))
    rows = []
    for code, treatment, setting, spacing, u in patients:
        rows.append(_row(code, treatment, setting, spacing, 1, 0, 0.0, scenario, info))
        for k in range(1, scenario.visits + 1):
            change = (
                scenario.effects[(treatment, setting)]
                + scenario.per_session * (k - mean_sessions)
                + scenario.per_week * (spacing / 7.0 - mean_weeks)
                + u
                + float(rng.normal(0.0, scenario.visit_sd))
            )
            rows.append(_row(code, treatment, setting, spacing, k + 1, k, change, scenario, info))
    table = pd.DataFrame(rows)
    table["within_protocol"] = table["within_protocol"].astype("boolean")  # as in the cohort table
    truth = {f"{t} · {s}": v for (t, s), v in scenario.effects.items()}
    truth["per session"] = scenario.per_session
    truth["per week of spacing"] = scenario.per_week
    table.attrs["truth"] = truth
    return table


def _row(code, treatment, setting, spacing, visit, sessions, change, scenario, info) -> dict:
    within = 28 <= spacing <= 42
    return {
        "patient": code,
        "area": "left cheek",
        "measure": scenario.measure,
        "unit": info.unit,
        "better": info.better or "",
        "visit_number": visit,
        "treatment": treatment,
        "setting_bin": setting,
        "treatments_before": sessions,
        "course_spacing_days": spacing,
        "within_protocol": within,
        "healing": False,
        "change": change if visit > 1 else 0.0,
        "beyond_noise": False,
        "days_since_baseline": int(round(sessions * spacing)),
        "value": math.nan,
    }
