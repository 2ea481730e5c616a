"""The noise tables and every beyond-noise verdict (skintrack/comparison/noise.py)."""

from __future__ import annotations

import json
import math

import pytest

from skintrack.comparison.noise import (
    REFERENCES,
    RELATIVE_FLOOR,
    TABLE_ENV,
    Conditions,
    band,
    mdc95,
    shipped_table,
    verdict,
    verdicts,
    within_noise,
)
from skintrack.measure.metrics import METRIC_NAMES

GOOD_CHART = Conditions("chart", 0.95)


def test_shipped_table_has_a_band_for_every_reference_class_and_measure():
    bands = shipped_table()["bands"]
    assert set(bands) == set(REFERENCES)
    for by_class in bands.values():
        assert set(by_class) == {"good", "fair"}
        for rows in by_class.values():
            assert set(rows) == set(METRIC_NAMES)
            for row in rows.values():
                assert row["sd"] >= 0 and row["cv"] >= 0 and row["upper_factor"] >= 1.0 and row["sources"]


def test_no_neutral_reference_is_noisier_than_a_chart():
    """Uncontrolled phone light without a reference: the band must be wider (the issue's core complaint)."""
    for metric in ("redness", "red_area_pct", "ita", "spot_area_pct"):
        for quality in (0.95, 0.6):
            level = RELATIVE_FLOOR.get(metric)
            assert mdc95(metric, Conditions("none", quality), level=level) > mdc95(metric, Conditions("chart", quality), level=level), metric


def test_the_band_follows_the_alignment_class():
    """A fair alignment reads the fair rows of the table, a good one the good rows."""
    table = shipped_table()["bands"]["none"]
    for quality, name in ((0.95, "good"), (0.8, "good"), (0.79, "fair"), (0.5, "fair")):
        assert Conditions("none", quality).alignment == name
        assert band("redness", Conditions("none", quality)).sd == pytest.approx(table[name]["redness"]["sd"])
    assert Conditions("none", None).alignment == "good"  # the baseline itself


def test_amounts_have_a_band_relative_to_how_much_there_is():
    conditions = Conditions("none", 0.9)
    assert mdc95("spot_area_pct", conditions, level=5.0) > mdc95("spot_area_pct", conditions, level=0.5)
    # Below the floor the relative part is constant.
    assert mdc95("spot_area_pct", conditions, level=0.0) == mdc95("spot_area_pct", conditions, level=RELATIVE_FLOOR["spot_area_pct"])
    # Absolute measures do not depend on the level.
    assert mdc95("redness", conditions, level=1.0) == mdc95("redness", conditions, level=50.0)


def test_unknown_reference_is_treated_as_none():
    assert Conditions.of({"method": "flash"}, 0.9).reference == "none"
    assert Conditions.of(None, float("nan")).alignment_quality is None
    assert Conditions("chart", 0.6).worse(Conditions("none", 0.9)) == Conditions("none", 0.6)


def test_verdict_boundaries_for_a_continuous_measure():
    """Strictly below MDC95 is within noise; at or above the upper limit is beyond; between could be noise."""
    noise = band("redness", GOOD_CHART)
    mdc, limit = noise.mdc95(), noise.limit()
    assert limit > mdc
    assert verdict("redness", math.nextafter(mdc, 0), GOOD_CHART).wording == "within noise"
    at_mdc = verdict("redness", mdc, GOOD_CHART)
    assert at_mdc.wording == "could be noise" and not at_mdc.beyond
    assert verdict("redness", math.nextafter(limit, 0), GOOD_CHART).wording == "could be noise"
    at_limit = verdict("redness", -limit, GOOD_CHART)
    assert at_limit.wording == "beyond noise" and at_limit.beyond
    assert within_noise("redness", math.nextafter(mdc, 0), GOOD_CHART) and not within_noise("redness", mdc, GOOD_CHART)


def test_verdict_boundaries_for_the_spot_count():
    """A count changes in whole spots: a change equal to the band is still within it, and only more
    than the upper limit is beyond."""
    level = 3.0
    noise = band("spot_count", GOOD_CHART)
    mdc, limit = noise.mdc95(level), noise.limit(level)
    assert mdc >= 1.0
    assert verdict("spot_count", mdc, GOOD_CHART, level=level).wording == "within noise"
    assert verdict("spot_count", math.nextafter(mdc, math.inf), GOOD_CHART, level=level).wording == "could be noise"
    assert verdict("spot_count", limit, GOOD_CHART, level=level).wording == "could be noise"
    assert verdict("spot_count", math.nextafter(limit, math.inf), GOOD_CHART, level=level).beyond
    assert within_noise("spot_count", 1.0, GOOD_CHART)


def test_verdicts_skip_measures_that_are_not_computable():
    before = {"redness": 10.0, "ita": math.nan, "spot_count": 4.0}
    after = {"redness": 20.0, "ita": 30.0, "spot_count": 4.0}
    judged = verdicts(before, after, Conditions("none", 0.9))
    assert set(judged) == {"redness", "spot_count"}
    assert judged["spot_count"].wording == "within noise"
    assert judged["redness"].to_dict()["conditions"] == {"reference": "none", "alignment_quality": 0.9, "light_differs": False}


def test_a_clinics_own_table_replaces_the_shipped_one(tmp_path, monkeypatch):
    table = json.loads(json.dumps(shipped_table()))
    for by_class in table["bands"].values():
        for rows in by_class.values():
            rows["redness"]["sd"] *= 0.5
    own = tmp_path / "clinic_noise.json"
    own.write_text(json.dumps(table))
    shipped = mdc95("redness", GOOD_CHART)
    monkeypatch.setenv(TABLE_ENV, str(own))
    assert mdc95("redness", GOOD_CHART) == pytest.approx(0.5 * shipped, rel=1e-3)
    monkeypatch.delenv(TABLE_ENV)
    assert mdc95("redness", GOOD_CHART) == shipped


def test_thin_evidence_is_flagged():
    """Bands resting on few real pairs say so (the wording "could be noise" depends on it)."""
    thin = [band(m, Conditions(ref, q)).thin for m in METRIC_NAMES for ref in REFERENCES for q in (0.95, 0.6)]
    assert any(thin)
    for metric in METRIC_NAMES:
        noise = band(metric, Conditions("none", 0.6))
        assert noise.thin == (noise.df < 10)


def test_an_amounts_band_is_taken_at_the_mean_of_the_pair_not_its_larger_value():
    """The relative part of an amount's band applies to the pair's mean level: a pair 2 → 10 is judged at 6,
    narrower than at 10 (the larger value) and wider than at 2."""
    conditions = Conditions("none", 0.9)
    for metric in ("red_area_pct", "spot_area_pct", "spot_count", "line_density"):
        before, after = 4.0 * RELATIVE_FLOOR[metric], 20.0 * RELATIVE_FLOOR[metric]
        judged = verdict(metric, after - before, conditions, before=before, after=after)
        at_mean = verdict(metric, after - before, conditions, level=(before + after) / 2)
        assert judged.mdc95 == pytest.approx(at_mean.mdc95) and judged.limit == pytest.approx(at_mean.limit), metric
        assert mdc95(metric, conditions, level=before) < judged.mdc95 < mdc95(metric, conditions, level=after), metric
        # The order of the pair does not matter.
        swapped = verdict(metric, before - after, conditions, before=after, after=before)
        assert swapped.mdc95 == pytest.approx(judged.mdc95)


def test_a_clinics_precise_table_never_makes_one_spot_a_change(tmp_path, monkeypatch):
    """However repeatable a clinic's own count is, a change of one spot is not beyond noise (the count's
    resolution floor holds with any table, not only the shipped one)."""
    table = json.loads(json.dumps(shipped_table()))
    for by_class in table["bands"].values():
        for rows in by_class.values():
            rows["spot_count"].update(sd=0.0, cv=0.001, df=500, upper_factor=1.01)
    own = tmp_path / "clinic_noise.json"
    own.write_text(json.dumps(table))
    monkeypatch.setenv(TABLE_ENV, str(own))
    for conditions in (GOOD_CHART, Conditions("none", 0.6)):
        assert not band("spot_count", conditions).thin
        assert mdc95("spot_count", conditions, level=3.0) >= 1.0
        one = verdict("spot_count", 1.0, conditions, before=3.0, after=4.0)
        assert one.wording == "within noise" and not one.beyond
        assert one.limit >= one.mdc95 >= 1.0  # the upper limit is never below the band
        assert within_noise("spot_count", -1.0, conditions, level=3.0)
        # The precise table still counts: two spots are beyond its (tiny) band.
        assert verdict("spot_count", 2.0, conditions, before=3.0, after=5.0).beyond


def test_colour_and_tone_changes_are_not_called_real_when_the_light_differed():
    """Issue 20: without a neutral reference in both photos, a follow-up whose light differs (recorded by
    compare() as ``normalization["light_vs_baseline"]``) may show a large ITA or redness change that is the
    light. Those measures are at most "could be noise"; spots, texture and counts keep their verdicts."""
    from skintrack.comparison.noise import LIGHT_DEPENDENT

    record = {"method": "none", "light_vs_baseline": {"delta_L": 14.3, "limit": 8.0, "differs": True}}
    light = Conditions.of(record, 0.9)
    assert light == Conditions("none", 0.9, True)
    assert not Conditions.of({**record, "light_vs_baseline": {"delta_L": 3.0, "limit": 8.0, "differs": False}}, 0.9).light_differs
    assert Conditions("chart", 0.95).worse(light).light_differs and light.worse(GOOD_CHART).light_differs
    assert set(LIGHT_DEPENDENT) == {"ita", "redness", "red_area_pct", "evenness"}
    plain = Conditions("none", 0.9)
    for metric in METRIC_NAMES:
        huge = 100.0 * verdict(metric, 1.0, plain, level=1.0).limit
        if metric in LIGHT_DEPENDENT:
            assert verdict(metric, huge, plain, level=1.0).beyond, metric  # the same change, the same light: real
            judged = verdict(metric, huge, light, level=1.0)
            assert (judged.beyond, judged.wording) == (False, "could be noise"), metric
            assert verdict(metric, 0.0, light, level=1.0).wording == "within noise"
        else:
            assert verdict(metric, huge, light, level=1.0).beyond, metric
