"""Which treatment works: mixed-effects models of the change from baseline, with honest uncertainty.

For one measure, the follow-up visits of the cohort table (:func:`skintrack.cohort.build_cohort_table`)
are modelled as (statsmodels ``MixedLM``, REML)::

    change_ij = β_g(i) + γ · (sessions_ij − s̄) + δ · (spacing_i − d̄) + u_i + ε_ij
    u_i ~ N(0, τ²)   (patient: the random effect)      ε_ij ~ N(0, σ²)

where ``g(i)`` is the patient's group — the course's treatment (``by="treatment"``),
treatment and setting bin (``by="setting"``) or treatment and whether the course
kept to its spacing protocol (``by="adherence"``) — ``sessions`` the treatment
sessions before the visit (``treatments_before``) and ``spacing`` the course's
mean interval between sessions in weeks. The covariates are centred at the
cohort's means, so **β_g is the expected change from baseline in group g after
the average number of sessions at the average spacing** (both reported with the
result), in the measure's own unit; γ is the change per extra session and δ per
extra week between sessions. Visits within the healing window after a treatment
(the post-treatment flush) are left out: the question is the lasting change.

Honest uncertainty
------------------
* Every estimate carries its 95 % interval and the number of **patients** (not
  photos) behind it; a p-value is never given without its estimate and interval.
* The interval uses Student's t with ``n_patients − p`` degrees of freedom
  (``p`` fixed effects) instead of the normal approximation: the information
  about a group effect grows with patients, not with their repeat visits, and
  with 20-40 patients the normal interval is too narrow. Its standard error is
  the larger of the model's and the patient-clustered sandwich's (Liang & Zeger
  1986), so a variance structure that does not fit the clinic's patients (some
  groups more variable than others) does not narrow it.
* A group with fewer than ``min_patients`` (default 5) patients is **refused**:
  it is left out of the fit and reported with no estimate. One with fewer than
  ``few_patients`` (default 10) is **flagged** ("few patients").
* A model that does not converge, or whose patient variance is on its boundary,
  says so in ``note``.

The simulation tests (``tests/test_cohort_models.py``) check the interval
covers the true effect in at least 90 % of seeded cohorts and detects a
realistic effect with 30 patients.

References: Laird N. M., Ware J. H., "Random-effects models for longitudinal data", Biometrics 38 (1982)
963-974; Liang K.-Y., Zeger S. L., "Longitudinal data analysis using generalized linear models",
Biometrika 73 (1986) 13-22; statsmodels ``MixedLM`` (Lindstrom & Bates 1988).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..measure.metrics import METRICS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BY",
    "Estimate",
    "MeasureModel",
    "MIN_PATIENTS",
    "FEW_PATIENTS",
    "fit_measure",
    "fit_cohort",
    "estimates_table",
    "group_of",
]

#: The ways patients are grouped: the course's treatment, treatment and setting bin, treatment and adherence.
BY = ("treatment", "setting", "adherence")
#: A group with fewer patients than this gets no estimate.
MIN_PATIENTS = 5
#: A group with fewer patients than this is flagged.
FEW_PATIENTS = 10
SEPARATOR = " · "


@dataclass
class Estimate:
    """One number a model gives, always with its interval and the patients behind it.

    Attributes
    ----------
    measure : str
        The engine's measure name.
    term : str
        A group ("micro-needling", "micro-needling · needle depth 1-1.5 mm"), ``"per session"``,
        ``"per week of spacing"``, or a difference ``"A − B"``.
    kind : {"group", "sessions", "spacing", "difference"}
    estimate : float
        Change from baseline in the measure's unit (groups: at the average sessions and spacing;
        ``per session`` / ``per week of spacing``: the change per unit; differences: A minus B). NaN when refused.
    ci_low, ci_high : float
        The 95 % interval (Student's t, ``df`` degrees of freedom).
    p_value : float
        Two-sided, for "no change" (groups, slopes) or "no difference"; only ever shown with the estimate.
    n_patients, n_visits : int
        Patients and follow-up visits behind the estimate.
    status : {"ok", "few patients", "refused", "not estimable"}
    note : str
        Why a group was refused or flagged, or what went wrong with the fit.
    unit, better : str
        The measure's unit and its better direction ("lower", "higher", "").
    """

    measure: str
    term: str
    kind: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n_patients: int
    n_visits: int
    status: str
    note: str = ""
    unit: str = ""
    better: str = ""
    df: float = math.nan

    @property
    def improved(self) -> bool | None:
        """True when the whole interval lies on the better side of zero, False on the worse, None otherwise."""
        if not (math.isfinite(self.ci_low) and math.isfinite(self.ci_high)) or not self.better:
            return None
        if self.ci_high < 0 or self.ci_low > 0:
            lower_is_better = self.better == "lower"
            return bool(self.ci_high < 0) == lower_is_better
        return None

    @property
    def verdict(self) -> str:
        """Plain words on the interval: "improves", "worsens", "no clear change", or why there is no estimate."""
        if self.status in ("refused", "not estimable"):
            return self.status
        if self.kind != "group":
            return "interval excludes 0" if self.ci_low > 0 or self.ci_high < 0 else "interval includes 0"
        if not self.better:
            return "changes" if self.ci_low > 0 or self.ci_high < 0 else "no clear change"
        improved = self.improved
        return "improves" if improved else "worsens" if improved is False else "no clear change"


@dataclass
class MeasureModel:
    """The fit for one measure and one grouping."""

    measure: str
    by: str
    estimates: list[Estimate]
    n_patients: int
    n_visits: int
    at_sessions: float  # the sessions (treatments before the visit) the group effects are given at
    at_spacing_weeks: float  # the spacing the group effects are given at (NaN when not in the model)
    patient_sd: float  # τ, in the measure's unit
    residual_sd: float  # σ
    converged: bool
    note: str = ""
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> visits left out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_of(table: "pd.DataFrame", by: str) -> "pd.Series":
    """The model group of each row: treatment, treatment · setting bin, or treatment · adherence."""
    if by == "treatment":
        return table["treatment"].astype(str)
    if by == "setting":
        return table["treatment"].astype(str) + SEPARATOR + table["setting_bin"].astype(str)
    if by == "adherence":
        words = table["within_protocol"].map({True: "within protocol", False: "outside protocol"})
        return table["treatment"].astype(str) + SEPARATOR + words.astype(object).fillna("spacing unknown")
    raise ValueError(f"by must be one of {', '.join(BY)}")


def _t_interval(estimate: float, se: float, df: float) -> tuple[float, float, float]:
    from scipy import stats

    if not (math.isfinite(se) and se > 0 and df >= 1):
        return math.nan, math.nan, math.nan
    q = float(stats.t.ppf(0.975, df))
    p = float(2 * stats.t.sf(abs(estimate / se), df))
    return float(estimate - q * se), float(estimate + q * se), p


def _refused(measure, term, kind, n_patients, n_visits, status, note, info) -> Estimate:
    nan = math.nan
    return Estimate(measure, term, kind, nan, nan, nan, nan, n_patients, n_visits, status, note, info.unit, info.better or "")


def fit_measure(
    table: "pd.DataFrame",
    measure: str,
    *,
    by: str = "treatment",
    min_patients: int = MIN_PATIENTS,
    few_patients: int = FEW_PATIENTS,
    include_healing: bool = False,
) -> MeasureModel:
    """Fit the mixed model of ``measure``'s change from baseline (see the module docstring).

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort table (:func:`skintrack.cohort.build_cohort_table`), or any table with its columns
        ``patient, measure, visit_number, change, treatment, setting_bin, treatments_before,
        course_spacing_days, within_protocol, healing``.
    by : {"treatment", "setting", "adherence"}
        How patients are grouped (:func:`group_of`).
    min_patients, few_patients : int
        Groups with fewer patients are refused, or flagged.
    include_healing : bool
        Keep visits within the healing window after a treatment.
    """
    import numpy as np
    import pandas as pd

    if measure not in METRICS:
        raise ValueError(f"unknown measure {measure!r}")
    info = METRICS[measure]
    rows = table[(table["measure"] == measure) & (table["visit_number"] > 1)].copy()
    excluded: dict[str, int] = {}
    if not include_healing and "healing" in rows:
        healing = rows["healing"].fillna(False).astype(bool)
        if healing.any():
            excluded["healing window after a treatment"] = int(healing.sum())
        rows = rows[~healing]
    finite = np.isfinite(rows["change"].astype(float))
    if (~finite).any():
        excluded["not measured"] = int((~finite).sum())
    rows = rows[finite]
    use_spacing = by != "adherence"  # adherence is made of the spacing: not both in one model
    if use_spacing:
        known = rows["course_spacing_days"].notna()
        if (~known).any():
            excluded["course of one session (no spacing)"] = int((~known).sum())
        rows = rows[known]
    rows = rows.assign(group=group_of(rows, by).values)
    if by == "adherence":
        unknown = rows["group"].str.endswith("spacing unknown")
        if unknown.any():
            excluded["spacing unknown (one session or no protocol)"] = int(unknown.sum())
        rows = rows[~unknown]

    estimates: list[Estimate] = []
    counts = rows.groupby("group")["patient"].nunique().sort_index()
    visits = rows.groupby("group").size()
    kept = []
    for group, n in counts.items():
        if n < min_patients:
            estimates.append(_refused(measure, group, "group", int(n), int(visits[group]), "refused",
                                      f"{n} patient{'s' if n != 1 else ''}: at least {min_patients} are needed", info))  # fmt: skip
        else:
            kept.append(group)
    rows = rows[rows["group"].isin(kept)]
    n_patients, n_visits = int(rows["patient"].nunique()), int(len(rows))
    empty = MeasureModel(measure, by, estimates, n_patients, n_visits, math.nan, math.nan, math.nan, math.nan, False,
                         excluded=excluded)  # fmt: skip
    if not kept:
        empty.note = "No group has enough patients for an estimate."
        return empty

    # Design: one column per group (no intercept), centred sessions and spacing (when they vary).
    design = pd.get_dummies(rows["group"]).astype(float)[kept]
    at_sessions = float(rows["treatments_before"].mean())
    at_spacing = float(rows["course_spacing_days"].mean() / 7.0) if use_spacing else math.nan
    slopes = []
    sessions = rows["treatments_before"].astype(float) - at_sessions
    if sessions.std() > 1e-9:
        design["per session"] = sessions.values
        slopes.append(("per session", "sessions"))
    if use_spacing:
        spacing = rows["course_spacing_days"].astype(float) / 7.0 - at_spacing
        if spacing.std() > 1e-9:
            design["per week of spacing"] = spacing.values
            slopes.append(("per week of spacing", "spacing"))
    df = n_patients - design.shape[1]
    if df < 1 or n_patients < min_patients:
        empty.note = f"{n_patients} patients for {design.shape[1]} fixed effects: too few to estimate."
        empty.estimates += [_refused(measure, g, "group", int(counts[g]), int(visits[g]), "not estimable", empty.note, info)
                            for g in kept]  # fmt: skip
        return empty

    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    endog = rows["change"].astype(float).values
    patients = rows["patient"].astype(str).values
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = MixedLM(endog, design.values, groups=patients, exog_re=None)
            fit = model.fit(reml=True, method=["lbfgs", "powell"])
            params = np.asarray(fit.fe_params, dtype=float)
            cov = np.asarray(fit.cov_params(), dtype=float)[: len(params), : len(params)]
            tau2, sigma2 = float(np.asarray(fit.cov_re).ravel()[0]), float(fit.scale)
            if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(params))):
                raise np.linalg.LinAlgError("non-finite covariance")
            robust = _patient_sandwich(design.values, endog, patients, params, tau2, sigma2)
        except (np.linalg.LinAlgError, ValueError):
            # The patients' variance sits at 0, where REML's information matrix is singular: without the
            # random effect, the same fixed effects by least squares, their intervals clustered by patient.
            from statsmodels.regression.linear_model import OLS

            try:
                fit = OLS(endog, design.values).fit(cov_type="cluster", cov_kwds={"groups": patients})
            except (np.linalg.LinAlgError, ValueError) as exc:
                empty.note = f"The model could not be fitted: {exc}"
                empty.estimates += [_refused(measure, g, "group", int(counts[g]), int(visits[g]), "not estimable",
                                             empty.note, info) for g in kept]  # fmt: skip
                return empty
            params = np.asarray(fit.params, dtype=float)
            cov = robust = np.asarray(fit.cov_params(), dtype=float)  # already clustered by patient
            tau2, sigma2 = 0.0, float(fit.scale)
            note = ("The patients' variance was estimated at 0 (patients differ little beyond photo noise): fitted "
                    "without the random effect, intervals clustered by patient.")  # fmt: skip
            caught = []
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        messages = " ".join(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
        if "boundary" in messages:
            note = "The patients' variance is on its boundary (0): patients differ little beyond photo noise."
        else:
            note = "The fit did not fully converge; treat the intervals with care."
    se = np.sqrt(np.clip(np.maximum(np.diag(cov), np.diag(robust)), 0, None))
    columns = list(design.columns)
    for index, group in enumerate(kept):
        low, high, p = _t_interval(params[index], se[index], df)
        n = int(counts[group])
        status = "few patients" if n < few_patients else "ok"
        flag = f"{n} patients: fewer than {few_patients}, the interval rests on little evidence" if status != "ok" else ""
        estimates.append(Estimate(measure, group, "group", float(params[index]), low, high, p, n, int(visits[group]),
                                  status, flag, info.unit, info.better or "", float(df)))  # fmt: skip
    for term, kind in slopes:
        index = columns.index(term)
        low, high, p = _t_interval(params[index], se[index], df)
        estimates.append(Estimate(measure, term, kind, float(params[index]), low, high, p, n_patients, n_visits,
                                  "ok" if n_patients >= few_patients else "few patients", "", info.unit,
                                  info.better or "", float(df)))  # fmt: skip
    estimates += _differences(measure, by, kept, params, (cov, robust), counts, visits, df, info)
    converged = bool(getattr(fit, "converged", True)) and not note.startswith("The fit did not")
    return MeasureModel(
        measure, by, estimates, n_patients, n_visits, at_sessions, at_spacing,
        patient_sd=math.sqrt(max(tau2, 0.0)), residual_sd=math.sqrt(max(sigma2, 0.0)),
        converged=converged, note=note, excluded=excluded,
    )  # fmt: skip


def _patient_sandwich(design, endog, patients, params, tau2: float, sigma2: float):
    """The fixed effects' covariance clustered by patient (the sandwich ``B⁻¹ M B⁻¹ · G/(G−1)``, with
    ``B = Σ Xᵢ'Vᵢ⁻¹Xᵢ`` and ``M = Σ Xᵢ'Vᵢ⁻¹rᵢrᵢ'Vᵢ⁻¹Xᵢ`` over the G patients, Vᵢ the fitted compound
    symmetry): it does not rely on the model's variance structure being right (Liang & Zeger 1986)."""
    import numpy as np

    p = design.shape[1]
    bread, meat = np.zeros((p, p)), np.zeros((p, p))
    residuals = endog - design @ params
    groups = 0
    for patient in np.unique(patients):
        rows = patients == patient
        x, r, n = design[rows], residuals[rows], int(rows.sum())
        v_inv = (np.eye(n) - tau2 / (sigma2 + n * tau2) * np.ones((n, n))) / sigma2
        bread += x.T @ v_inv @ x
        score = x.T @ v_inv @ r
        meat += np.outer(score, score)
        groups += 1
    inverse = np.linalg.inv(bread)
    return inverse @ meat @ inverse * groups / max(groups - 1, 1)


def _differences(measure, by, kept, params, cov, counts, visits, df, info) -> list[Estimate]:
    """Within each treatment: every setting bin against the treatment's first (lowest) bin, or the courses
    within protocol against those outside it."""
    if by == "treatment":
        return []
    out = []
    by_treatment: dict[str, list[int]] = {}
    for index, group in enumerate(kept):
        by_treatment.setdefault(group.split(SEPARATOR)[0], []).append(index)
    for treatment, indices in by_treatment.items():
        if len(indices) < 2:
            continue
        names = [kept[i] for i in indices]
        if by == "adherence":
            pairs = [(names.index(f"{treatment}{SEPARATOR}within protocol"), names.index(f"{treatment}{SEPARATOR}outside protocol"))]
        else:
            pairs = [(k, 0) for k in range(1, len(indices))]
        for a, b in pairs:
            ia, ib = indices[a], indices[b]
            contrast = params[ia] - params[ib]
            se = math.sqrt(max(max(c[ia, ia] + c[ib, ib] - 2 * c[ia, ib] for c in cov), 0.0))
            low, high, p = _t_interval(contrast, se, df)
            label = f"{names[a].split(SEPARATOR, 1)[1]} − {names[b].split(SEPARATOR, 1)[1]} ({treatment})"
            n = int(counts[names[a]] + counts[names[b]])
            out.append(Estimate(measure, label, "difference", float(contrast), low, high, p, n,
                                int(visits[names[a]] + visits[names[b]]),
                                "few patients" if min(counts[names[a]], counts[names[b]]) < FEW_PATIENTS else "ok",
                                "", info.unit, info.better or "", float(df)))  # fmt: skip
    return out


def fit_cohort(
    table: "pd.DataFrame",
    *,
    by: str = "treatment",
    measures: Iterable[str] | None = None,
    min_patients: int = MIN_PATIENTS,
    few_patients: int = FEW_PATIENTS,
    include_healing: bool = False,
) -> list[MeasureModel]:
    """:func:`fit_measure` for every measure in the table (or ``measures``), in the engine's order."""
    present = set(table["measure"].unique()) if len(table) else set()
    names = [m for m in (measures or METRICS) if m in present]
    return [
        fit_measure(table, m, by=by, min_patients=min_patients, few_patients=few_patients, include_healing=include_healing)
        for m in names
    ]


def estimates_table(models: Iterable[MeasureModel]) -> "pd.DataFrame":
    """Every estimate of ``models`` as one tidy table (what the app plots and the CLI writes)."""
    import pandas as pd

    rows = []
    for model in models:
        for e in model.estimates:
            rows.append({**asdict(e), "by": model.by, "verdict": e.verdict, "at_sessions": model.at_sessions,
                         "at_spacing_weeks": model.at_spacing_weeks, "model_note": model.note})  # fmt: skip
    columns = ["measure", "by", "term", "kind", "estimate", "ci_low", "ci_high", "p_value", "verdict", "n_patients",
               "n_visits", "status", "note", "unit", "better", "df", "at_sessions", "at_spacing_weeks", "model_note"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
