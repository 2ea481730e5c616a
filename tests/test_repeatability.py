"""The re-capture study and the shipped MDC table (skintrack/repeatability.py)."""

from __future__ import annotations

import pytest

import skintrack
from skintrack.metrics import METRIC_NAMES
from skintrack.repeatability import DEFAULT_STUDY, mdc95, run_study, shipped_table, table_dict, within_noise


@pytest.fixture(scope="module")
def study():
    return run_study(**DEFAULT_STUDY)


def test_shipped_table_is_what_the_study_measures(study):
    """The table in skintrack/data reproduces exactly: regenerate it when the engine changes."""
    assert table_dict(study, DEFAULT_STUDY)["metrics"] == shipped_table()["metrics"]
    assert shipped_table()["settings_hash"] == skintrack.ScoreConfig().settings_hash


def test_targets_cv_and_redness_mdc(study):
    for row in study:
        assert row.cv_pct <= 3.0, row
    redness = next(row for row in study if row.metric == "redness")
    assert redness.mdc95 <= 1.0  # visible erythema is Δa* 2.5


def test_mdc_lookup_and_noise_labels(baseline_score):
    assert set(shipped_table()["metrics"]) == set(METRIC_NAMES)
    assert mdc95("spot_count") >= 1.0  # a count cannot change by less than one
    assert within_noise("redness", 0.5 * mdc95("redness"))
    assert not within_noise("redness", 1.5 * mdc95("redness"))
    assert within_noise("spot_count", 1.0) and not within_noise("spot_count", 2.0)
    assert baseline_score.uncertainty["redness"] == mdc95("redness")
