"""Dark-spot metrics (skintrack/measure/metrics/spots.py)."""

from __future__ import annotations

import numpy as np
import pytest

import skintrack
from skintrack.measure.metrics.spots import detect_spots, local_darkness
from skintrack.synthetic import Capture, SkinState

from .conftest import render, working


def test_spot_area_and_count_match_truth(baseline_score, baseline_photo):
    truth = baseline_photo.truth.values
    assert baseline_score.metrics["spot_area_pct"] == pytest.approx(truth["spot_area_pct"], rel=0.15)
    assert abs(baseline_score.metrics["spot_count"] - truth["spot_count"]) <= 1
    found = baseline_score.maps["spots"]
    painted = working(baseline_photo.truth.masks["spots"], found.shape)
    assert (found & painted).sum() >= 0.75 * found.sum()  # what is found is really a spot


def test_fading_spots_lower_the_contrast_at_every_step(scene, baseline_score):
    contrasts = [
        skintrack.score(render(scene, SkinState(spot_contrast=c)).rgb, reference=baseline_score).metrics["spot_contrast"]
        for c in (20.0, 15.0, 10.0, 7.0, 5.0)
    ]
    assert all(a > b for a, b in zip(contrasts, contrasts[1:]))
    # The contrast tracks the painted ΔL* (measured over the half-maximum extent).
    assert contrasts[0] == pytest.approx(20.0 * 0.75, rel=0.25)


def test_no_spots_gives_zero_not_nan(scene, baseline_score):
    score = skintrack.score(render(scene, SkinState(spot_extent=0.0)).rgb, reference=baseline_score)
    assert score.metrics["spot_count"] == 0.0
    assert score.metrics["spot_area_pct"] == 0.0
    assert score.metrics["spot_contrast"] == 0.0


def test_lines_and_hairs_are_not_spots(scene, baseline_score):
    deep_lines = render(scene, SkinState(spot_extent=0.0, line_contrast=14.0))
    score = skintrack.score(deep_lines.rgb, reference=baseline_score)
    assert score.metrics["spot_count"] == 0.0
    assert score.metrics["line_density"] > baseline_score.metrics["line_density"]


def test_lighting_gradient_is_not_a_spot(scene, baseline_score):
    vignetted = render(scene, SkinState(), Capture(seed=1, vignette=0.35))
    score = skintrack.score(vignetted.rgb, reference=baseline_score)
    assert abs(score.metrics["spot_count"] - baseline_score.metrics["spot_count"]) <= 1


def test_local_background_follows_a_gradient_and_bridges_big_spots():
    height, width = 400, 600
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    L = 60.0 + 10.0 * xs / width  # a strong lighting gradient
    big = (xs - 300) ** 2 + (ys - 200) ** 2 < 45**2  # larger than half the window area would allow a plain median
    L[big] -= 15.0
    skin = np.ones_like(L, bool)
    darkness = local_darkness(L, skin, window=101)
    assert np.median(darkness[~big]) == pytest.approx(0.0, abs=0.3)
    assert darkness[big].mean() == pytest.approx(15.0, abs=2.0)
    result = detect_spots(darkness, skin, threshold=4.0)
    assert result.spot_count == 1.0
    assert result.mask.sum() == pytest.approx(big.sum(), rel=0.1)


def test_a_spot_cut_by_the_skins_edge_is_not_counted():
    """A dark blob the skin mask's outer edge cuts through has unknown surroundings: it is not a spot, while
    the same blob wholly on skin is."""
    height, width = 240, 360
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    L = np.full((height, width), 62.0, np.float32)
    inside = (xs - 100) ** 2 + (ys - 120) ** 2 < 14**2
    cut = (xs - 240) ** 2 + (ys - 120) ** 2 < 14**2
    L[inside | cut] -= 12.0
    whole_skin = np.ones_like(L, bool)
    skin = xs < 240  # the skin ends through the middle of the second blob (background beyond it)
    both = detect_spots(local_darkness(L, whole_skin, window=101), whole_skin, threshold=4.0)
    assert both.spot_count == 2.0  # on skin all round, both blobs are spots
    found = detect_spots(local_darkness(L, skin, window=101), skin, threshold=4.0)
    assert found.spot_count == 1.0
    assert found.mask[inside].mean() > 0.8 and not (found.mask & cut).any()
