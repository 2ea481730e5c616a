"""skintrack.cohort.models: mixed models with honest uncertainty, on simulated cohorts with known effects.

Simulated at the level of the scores (skintrack.cohort.simulate), where the question is the statistics:
the true effect of every group is known exactly. The path from photos through the records to the table
is tested in test_cohort_table.py.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from skintrack.cohort import estimates_table, fit_cohort, fit_measure
from skintrack.cohort.models import MIN_PATIENTS, group_of
from skintrack.cohort.simulate import REALISTIC, Scenario, simulate_cohort

MN = "micro-needling · needle depth 1-1.5 mm"
LASER = "laser · fluence 10-20 J/cm²"


@pytest.mark.slow  # 100 simulated cohorts: an honest long check, run by `make test-slow` in CI
def test_intervals_cover_the_true_effects_in_at_least_90_percent_of_seeds():
    seeds = range(100)
    covered = {MN: 0, LASER: 0, "per session": 0, "per week of spacing": 0}
    for seed in seeds:
        table = simulate_cohort(30, seed)
        truth = table.attrs["truth"]
        model = fit_measure(table, "redness", by="setting")
        found = {e.term: e for e in model.estimates}
        for term in covered:
            covered[term] += found[term].ci_low <= truth[term] <= found[term].ci_high
    for term, hits in covered.items():
        assert hits >= 0.9 * len(seeds), f"{term}: the 95 % interval covered the truth in {hits} of {len(seeds)} cohorts"


def test_a_realistic_effect_is_detected_with_30_patients():
    # REALISTIC: redness down 1.8 a* (about twice the MDC95 with a grey card) after micro-needling, photo
    # noise from the engine's table, patients differing by 0.8 a*: 15 patients per group of 30.
    detected = 0
    for seed in range(20):
        model = fit_measure(simulate_cohort(30, 100 + seed), "redness", by="setting")
        effect = next(e for e in model.estimates if e.term == MN)
        assert effect.n_patients == 15
        detected += effect.ci_high < 0 and effect.verdict == "improves"
    assert detected >= 16, f"detected in {detected} of 20 cohorts (power below 80 %)"


def test_no_effect_is_not_called_an_improvement_more_than_rarely():
    null = replace(REALISTIC, effects={("micro-needling", "needle depth 1-1.5 mm"): 0.0, ("laser", "fluence 10-20 J/cm²"): 0.0})
    false = 0
    for seed in range(30):
        model = fit_measure(simulate_cohort(30, 500 + seed, null), "redness", by="setting")
        false += sum(e.verdict in ("improves", "worsens") for e in model.estimates if e.kind == "group")
    assert false <= 6  # 60 group estimates at 5 % each: about 3 expected


def test_the_interval_is_wider_than_the_normal_approximation():
    # Student's t with (patients - fixed effects) degrees of freedom, not 1.96: a deleted df would narrow it.
    model = fit_measure(simulate_cohort(12, 3, REALISTIC), "redness", by="setting", min_patients=5, few_patients=10)
    effect = next(e for e in model.estimates if e.term == MN)
    assert effect.df == 12 - 4
    half_width = (effect.ci_high - effect.ci_low) / 2
    from scipy import stats

    se = half_width / stats.t.ppf(0.975, effect.df)
    assert half_width > 1.96 * se * 1.1


@pytest.mark.slow  # 60 simulated cohorts
def test_intervals_hold_when_one_group_varies_more_than_the_model_assumes():
    # Laser patients differ from each other far more (SD 2.5 a* more) than micro-needling ones: the model's
    # one patient variance understates the laser group's uncertainty (about 85 % coverage); the
    # patient-clustered sandwich keeps the interval honest.
    covered = 0
    for seed in range(60):
        table = simulate_cohort(30, 700 + seed)
        rng = np.random.default_rng(seed)
        for patient in table[table["treatment"] == "laser"]["patient"].unique():
            rows = (table["patient"] == patient) & (table["visit_number"] > 1)
            table.loc[rows, "change"] += rng.normal(0.0, 2.5)
        model = fit_measure(table, "redness", by="setting")
        effect = next(e for e in model.estimates if e.term == LASER)
        covered += effect.ci_low <= table.attrs["truth"][LASER] <= effect.ci_high
    assert covered >= 54


def test_too_few_patients_are_refused_and_few_are_flagged():
    scenario = Scenario(effects={("micro-needling", "1 mm"): -1.0, ("laser", "low"): -0.5, ("peel", "35 %"): -0.3})
    table = simulate_cohort(20, 1, scenario)
    # Keep only 3 peel patients.
    peel = sorted(table[table["treatment"] == "peel"]["patient"].unique())
    table = table[~table["patient"].isin(peel[3:])]
    model = fit_measure(table, "redness", by="treatment")
    found = {e.term: e for e in model.estimates}
    assert found["peel"].status == "refused" and math.isnan(found["peel"].estimate) and math.isnan(found["peel"].p_value)
    assert found["peel"].n_patients == 3 and f"at least {MIN_PATIENTS}" in found["peel"].note
    assert found["micro-needling"].status == "few patients" and found["micro-needling"].n_patients == 7
    assert found["micro-needling"].verdict in ("improves", "no clear change", "worsens")
    assert model.n_patients == 14  # the refused group is left out of the fit


def test_no_group_with_enough_patients_gives_no_estimate_at_all():
    table = simulate_cohort(6, 2)
    model = fit_measure(table, "redness", by="setting")
    assert all(e.status == "refused" for e in model.estimates) and model.note
    assert estimates_table([model])["estimate"].isna().all()


def test_never_a_p_value_without_its_effect_size():
    models = fit_cohort(simulate_cohort(30, 4), by="setting")
    table = estimates_table(models)
    with_p = table[table["p_value"].notna()]
    assert len(with_p) == 4  # two groups, per session, per week of spacing
    for column in ("estimate", "ci_low", "ci_high", "n_patients"):
        assert with_p[column].notna().all()
    assert (with_p["ci_low"] <= with_p["estimate"]).all() and (with_p["estimate"] <= with_p["ci_high"]).all()


def test_setting_bins_are_compared_within_a_treatment():
    scenario = Scenario(effects={("micro-needling", "needle depth 1-1.5 mm"): -1.0,
                                 ("micro-needling", "needle depth 1.5-2 mm"): -2.0})  # fmt: skip
    model = fit_measure(simulate_cohort(30, 7, scenario), "redness", by="setting")
    difference = next(e for e in model.estimates if e.kind == "difference")
    assert difference.term == "needle depth 1.5-2 mm − needle depth 1-1.5 mm (micro-needling)"
    assert difference.ci_low <= -1.0 <= difference.ci_high and difference.ci_high < 0


def test_outcome_by_adherence():
    table = simulate_cohort(40, 9)
    # Make spacing matter: courses outside 4-6 weeks improve 1 a* less.
    outside = ~table["within_protocol"]
    table.loc[outside & (table["visit_number"] > 1), "change"] += 1.0
    model = fit_measure(table, "redness", by="adherence")
    terms = {e.term for e in model.estimates}
    assert "micro-needling · within protocol" in terms and "micro-needling · outside protocol" in terms
    assert not any(e.term == "per week of spacing" for e in model.estimates)  # adherence is made of the spacing
    difference = next(e for e in model.estimates if e.kind == "difference" and "micro-needling" in e.term)
    assert difference.term.startswith("within protocol − outside protocol")
    assert difference.ci_high < 0  # within protocol: the larger fall in redness


def test_healing_visits_and_the_baseline_stay_out_of_the_model():
    table = simulate_cohort(30, 11)
    follow_ups = int((table["visit_number"] > 1).sum())
    flush = table.index[(table["visit_number"] == 2)]
    table.loc[flush, "healing"] = True
    table.loc[flush, "change"] += 20.0  # a post-treatment flush: would swamp the lasting change
    model = fit_measure(table, "redness", by="treatment")
    assert model.n_visits == follow_ups - len(flush)
    assert model.excluded == {"healing window after a treatment": len(flush)}
    assert all(abs(e.estimate) < 5 for e in model.estimates if e.kind == "group")
    with_flush = fit_measure(table, "redness", by="treatment", include_healing=True)
    assert with_flush.n_visits == follow_ups


def test_direction_words_follow_the_measure():
    scenario = Scenario(measure="ita", effects={("laser", "low"): 3.0, ("peel", "35 %"): 3.0})
    model = fit_measure(simulate_cohort(30, 5, scenario), "ita", by="treatment")
    assert {e.verdict for e in model.estimates if e.kind == "group"} == {"changes"}  # ITA: no better direction
    up = Scenario(measure="redness", effects={("laser", "low"): 2.5, ("peel", "35 %"): 2.5})
    model = fit_measure(simulate_cohort(30, 5, up), "redness", by="treatment")
    assert {e.verdict for e in model.estimates if e.kind == "group"} == {"worsens"}


def test_groups_are_named_from_the_table():
    table = simulate_cohort(8, 1)
    assert set(group_of(table, "setting")) == {MN, LASER}
    assert set(group_of(table, "treatment")) == {"micro-needling", "laser"}
    with pytest.raises(ValueError):
        group_of(table, "colour")


def test_realistic_scenario_takes_its_noise_from_the_engine_table():
    from skintrack.comparison.noise import Conditions, mdc95

    assert REALISTIC.visit_sd == pytest.approx(mdc95("redness", Conditions("grey_card", 0.9)) / 1.96, abs=1e-3)
    assert np.isfinite(REALISTIC.visit_sd) and REALISTIC.visit_sd > 0
