"""The repeatability studies that write the noise tables (skintrack/comparison/repeatability.py).

The real repeat pairs (``../shared/real_photos``) are measured once per test session (see
``real_pair_results`` in conftest): the honest-noise tests judge them with the shipped table.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest

import skintrack
from skintrack.comparison.compare import DEFAULT_CONFIG
from skintrack.comparison.noise import Conditions, shipped_table, verdict
from skintrack.comparison.repeatability import (
    DEFAULT_STUDY,
    build_table,
    folder_pairs,
    real_pairs,
    run_study,
    simulated_from_table,
)

from .conftest import REPO, same_numbers

pytestmark = pytest.mark.slow  # the repeatability studies and real repeat pairs: `make test-slow` (and CI)


@pytest.fixture(scope="module")
def study():
    return run_study(**DEFAULT_STUDY)


def test_shipped_table_is_what_the_study_measures(study):
    """The simulated part of the shipped table is what this engine measures (grey card, the demo's set-up).

    Equal to floating-point reproducibility across machines, not bit for bit: OpenCV and NumPy pick
    SIMD kernels by CPU (AVX-512 or AVX2), so the same wheels and seed give results that differ in the
    third or fourth digit from one machine to another, and feature matching amplifies that. The margins
    below are well inside the sampling error of an SD estimated on 15 degrees of freedom (about ±18 %).
    """
    shipped = shipped_table()["simulated"]["by_reference"]["grey_card"]["metrics"]
    assert {row.metric for row in study} == set(shipped)
    for now in study:
        row = shipped[now.metric]
        if row["within_sd"] is None:  # a size in mm²: the grey-card cheek has no measured scale, here or shipped
            assert math.isnan(now.within_sd) and now.metric.endswith("_mean_mm2"), now
            continue
        sd_margin = 0.1 * row["within_sd"] + 5e-4
        assert abs(now.within_sd - row["within_sd"]) <= sd_margin, (now, row)
        assert abs(now.mean - row["mean"]) <= 0.25 * row["within_sd"] + 1e-3, (now, row)
    assert shipped_table()["settings_hash"] == DEFAULT_CONFIG.settings_hash
    assert shipped_table()["score_settings_hash"] == skintrack.ScoreConfig().settings_hash
    assert shipped_table()["engine_version"] == skintrack.__version__


def test_table_comparison_would_catch_a_stale_table(study):
    """The margins above are tight enough to notice a real change in the noise."""
    shipped = shipped_table()["simulated"]["by_reference"]["grey_card"]["metrics"]
    redness = next(row for row in study if row.metric == "redness")
    assert abs(1.25 * redness.within_sd - shipped["redness"]["within_sd"]) > 0.1 * shipped["redness"]["within_sd"] + 5e-4


#: Measures that do not meet the simulated study's 3 % CV yet (each has its own expected failure below).
NOT_YET_REPEATABLE = ("red_lesion_count",)


def test_simulated_targets_cv_and_redness_mdc(study):
    for row in study:
        if row.metric.endswith("_mean_mm2"):  # no measured scale on the grey-card cheek: nothing to repeat
            assert math.isnan(row.cv_pct), row
            continue
        if row.metric in NOT_YET_REPEATABLE:
            continue
        assert row.cv_pct <= 3.0, row
    redness = next(row for row in study if row.metric == "redness")
    assert redness.mdc95 <= 1.0  # visible erythema is Δa* 2.5


@pytest.mark.xfail(strict=True, reason="issue 19, open: engine 0.6.0's red lesion count on the simulated re-captures "
                   "has a CV of 11 % (4.6 lesions, SD 0.53): a lesion at the threshold, or a patch of the synthetic "
                   "cheek outlined as a ring and cut in two, comes and goes between shots")  # fmt: skip
def test_red_lesion_count_meets_the_simulated_cv_target(study):
    row = next(row for row in study if row.metric == "red_lesion_count")
    assert row.cv_pct <= 3.0, row


def test_score_uncertainty_is_the_band_for_its_conditions(baseline_score):
    from skintrack.comparison.noise import mdc95

    conditions = Conditions.of(baseline_score.provenance.get("normalization"), None)
    uncertainty = baseline_score.uncertainty
    assert set(uncertainty) == set(baseline_score.metrics)
    for name, value in baseline_score.metrics.items():
        assert same_numbers(uncertainty[name], mdc95(name, conditions, level=value)), name
    assert uncertainty["spot_count"] >= 1.0  # a count cannot change by less than one


def test_real_pairs_are_listed(real_photos_dir):
    pairs = real_pairs(real_photos_dir)
    assert len(pairs) >= 30
    assert pairs[-1][0] == "PAT_417_828"
    for _, first, second in pairs:
        assert first.exists() and second.exists() and first != second


def test_shipped_table_reproduces_the_real_pairs(real_pair_results):
    """The real part of the shipped table is what this engine gives on the same pairs."""
    shipped = {r["pair"]: r for r in shipped_table()["real"]["results"]}
    assert {p.pair for p in real_pair_results} == set(shipped)
    for pair in real_pair_results:
        assert pair.status == shipped[pair.pair]["status"], pair.pair
        if pair.status == "scored":
            for metric, change in shipped[pair.pair]["changes"].items():
                if change is not None:
                    assert pair.change(metric) == pytest.approx(change, abs=0.05 * abs(change) + 0.02), (pair.pair, metric)


def false_alarms(pairs, table_for) -> tuple[int, int]:
    """(beyond-noise verdicts, comparisons) over the accepted pairs, each judged with ``table_for(pair)``."""
    flagged = total = 0
    for pair in pairs:
        if pair.status != "scored":
            continue
        conditions = pair.conditions()
        with table_for(pair):
            for metric in pair.baseline_metrics:
                a, b = pair.baseline_metrics[metric], pair.follow_up_metrics.get(metric)
                if a is None or b is None:
                    continue
                total += 1
                flagged += verdict(metric, b - a, conditions, before=a, after=b).beyond
    return flagged, total


def test_honest_noise_false_alarm_rate_on_real_repeat_pairs(real_pair_results, tmp_path, monkeypatch):
    """On untreated skin photographed twice, at most 1 in 10 comparisons may be called beyond noise.

    Measured twice: with the shipped table, and leave-one-pair-out (each pair judged by a table built
    without it, so the pair cannot vouch for itself).
    """
    from contextlib import nullcontext

    accepted = [p for p in real_pair_results if p.status == "scored"]
    assert len(accepted) >= 9  # 9 since engine 0.5.0 (the lesion anchor); 6 before
    flagged, total = false_alarms(real_pair_results, lambda pair: nullcontext())
    print(f"\nreal repeat pairs: {len(accepted)} of {len(real_pair_results)} accepted; "
          f"beyond noise with the shipped table: {flagged} of {total} comparisons ({100 * flagged / total:.1f} %)")
    assert flagged <= 0.1 * total

    simulated = simulated_from_table()
    assert simulated is not None

    class LeftOut:
        def __init__(self, pair):
            others = [p for p in real_pair_results if p.pair != pair.pair]
            table = build_table(simulated, others, others, DEFAULT_STUDY, "leave one out")
            self.path = tmp_path / f"{pair.pair}.json"
            self.path.write_text(json.dumps(table))

        def __enter__(self):
            monkeypatch.setenv("SKINTRACK_NOISE_TABLE", str(self.path))

        def __exit__(self, *exc):
            monkeypatch.delenv("SKINTRACK_NOISE_TABLE")

    flagged, total = false_alarms(real_pair_results, LeftOut)
    print(f"leave one pair out: {flagged} of {total} ({100 * flagged / total:.1f} %)")
    assert flagged <= 0.1 * total


def test_folder_pairs_need_two_photos_each(tmp_path, demo_photo_paths):
    for name in ("p1", "p2"):
        (tmp_path / name).mkdir()
        for photo in demo_photo_paths[:2]:
            shutil.copy(photo, tmp_path / name / photo.name)
    pairs = folder_pairs(tmp_path)
    assert [p[0] for p in pairs] == ["p1", "p2"]
    shutil.copy(demo_photo_paths[2], tmp_path / "p2" / demo_photo_paths[2].name)
    with pytest.raises(ValueError, match="exactly two"):
        folder_pairs(tmp_path)


def test_a_clinic_measures_its_own_table_from_the_command_line(tmp_path, demo_photo_paths):
    """``python -m skintrack.comparison.repeatability --pairs FOLDER -o table.json`` writes a usable table."""
    pairs = tmp_path / "pairs"
    for name, (first, second) in {"a": demo_photo_paths[:2], "b": demo_photo_paths[1:3]}.items():
        (pairs / name).mkdir(parents=True)
        shutil.copy(first, pairs / name / ("1" + first.suffix))
        shutil.copy(second, pairs / name / ("2" + second.suffix))
    out = tmp_path / "clinic.json"
    done = subprocess.run([sys.executable, "-m", "skintrack.comparison.repeatability", "--pairs", str(pairs), "-o", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = json.loads(out.read_text())
    assert table["real"]["pairs"] == 2 and table["real"]["label"] == "this clinic's own repeat photographs"
    assert set(table["bands"]) == set(shipped_table()["bands"])
