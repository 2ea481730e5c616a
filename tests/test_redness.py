"""Redness metrics (skintrack/measure/metrics/redness.py) on synthetic skin with known truth."""

from __future__ import annotations

import numpy as np
import pytest

import skintrack
from skintrack.measure.metrics.redness import measure_redness, red_threshold, redness_map
from skintrack.synthetic import SkinState

from .conftest import render


def test_redness_and_red_area_match_truth(scene, baseline_score, baseline_photo):
    truth = baseline_photo.truth.values
    assert baseline_score.metrics["redness"] == pytest.approx(truth["redness"], abs=1.0)
    assert baseline_score.metrics["red_area_pct"] == pytest.approx(truth["red_area_pct"], rel=0.15)


def test_red_area_overlaps_the_painted_patches(baseline_score, baseline_photo):
    from .conftest import working

    truth = working(baseline_photo.truth.masks["red"], baseline_score.maps["red"].shape)
    found = baseline_score.maps["red"]
    assert (found & truth).sum() / (found | truth).sum() > 0.8


def test_receding_erythema_falls_at_every_step(scene, baseline_score):
    values = []
    for erythema in (12.0, 9.0, 6.0, 3.0, 0.0):
        score = skintrack.score(render(scene, SkinState(erythema=erythema)).rgb, reference=baseline_score)
        values.append((score.metrics["redness"], score.metrics["red_area_pct"]))
    redness, red_area = zip(*values)
    assert all(a > b for a, b in zip(redness, redness[1:]))
    assert all(a > b for a, b in zip(red_area[:-1], red_area[1:-1]))  # strictly while any is left
    assert red_area[-1] == 0.0


def test_post_treatment_flush_shows_against_the_baseline_yardstick(scene, baseline_score):
    flushed = render(scene, SkinState(diffuse_redness=6.0))
    with_reference = skintrack.score(flushed.rgb, reference=baseline_score)
    on_its_own = skintrack.score(flushed.rgb)
    assert with_reference.metrics["redness"] - baseline_score.metrics["redness"] == pytest.approx(6.0, abs=0.5)
    # Judged by the baseline's threshold nearly all skin is markedly red...
    assert with_reference.metrics["red_area_pct"] > 80
    # ...while a per-photo threshold would re-normalise the flush away: the trap we avoid.
    assert on_its_own.metrics["red_area_pct"] < 15
    assert with_reference.thresholds["red_a"] == baseline_score.thresholds["red_a"]


def test_threshold_is_above_normal_skin_by_at_least_the_minimum():
    rng = np.random.default_rng(0)
    a = rng.normal(12.0, 0.5, (200, 200)).astype(np.float32)
    skin = np.ones_like(a, bool)
    threshold = red_threshold(redness_map(a), skin, min_delta=4.0, k=3.0)
    assert threshold == pytest.approx(16.0, abs=0.2)
    a[50:100, 50:100] += 10.0
    result = measure_redness(a, skin, threshold, redness_map(a))
    assert result.red_area_pct == pytest.approx(100 * 2500 / 40000, rel=0.1)


def test_red_outside_the_skin_mask_is_not_red_skin():
    """A red patch off the skin (lips, a red garment, the background) adds nothing to the red area; the same
    patch on skin does."""
    rng = np.random.default_rng(1)
    a = rng.normal(12.0, 0.5, (200, 300)).astype(np.float32)
    skin = np.zeros(a.shape, bool)
    skin[:, :200] = True
    threshold = red_threshold(redness_map(a), skin)
    a[60:120, 230:290] += 25.0  # red, but not skin
    off_skin = measure_redness(a, skin, threshold, redness_map(a))
    assert off_skin.red_area_pct == 0.0 and not off_skin.red_mask.any()
    a[60:120, 100:160] += 25.0  # the same patch on skin
    on_skin = measure_redness(a, skin, threshold, redness_map(a))
    assert on_skin.red_area_pct > 0.0
    assert not (on_skin.red_mask & ~skin).any()
    assert on_skin.red_mask[60:120, 100:160].mean() > 0.9
