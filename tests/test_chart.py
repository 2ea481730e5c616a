"""Colour chart detection (skintrack/chart.py)."""

from __future__ import annotations

import numpy as np
import pytest

from skintrack.chart import REFERENCE_LINEAR, find_chart
from skintrack.photo import resize_long_side
from skintrack.synthetic import COOL, WARM, Capture, SkinScene, SkinState

from .conftest import render


@pytest.fixture(scope="module")
def chart_scene():
    return SkinScene(seed=1, chart=True)


@pytest.mark.parametrize(
    "capture",
    [
        Capture(seed=1),
        Capture(seed=2, rotation_deg=8, scale=0.9, exposure=0.8, white_balance=WARM),
        Capture(seed=3, rotation_deg=-10, scale=1.1, exposure=1.2, white_balance=COOL),
        Capture(seed=4, rotation_deg=45),
    ],
    ids=["straight", "warm, dim, turned", "cool, bright, turned", "45 degrees"],
)
def test_chart_is_found_with_its_scale(chart_scene, capture):
    shot = render(chart_scene, SkinState(), capture)
    working = resize_long_side(shot.rgb, 1024)
    chart = find_chart(working)
    assert chart is not None
    assert chart.confidence > 0.8
    mm_per_px_full = chart.mm_per_px() * working.shape[1] / shot.rgb.shape[1]
    assert mm_per_px_full == pytest.approx(shot.truth.mm_per_px, rel=0.03)
    # The neutral row, measured: equal gains per channel explain it (a neutral under one light).
    neutrals = chart.patches_linear[18:23]  # the black patch is too dark to judge
    ratios = (neutrals / REFERENCE_LINEAR[18:23])[:, 1]
    ratios = ratios[np.isfinite(ratios)]  # patches cut by the frame edge are not sampled
    assert len(ratios) >= 2
    assert (ratios.max() - ratios.min()) / ratios.mean() < 0.1


def test_deterministic(chart_scene):
    working = resize_long_side(render(chart_scene).rgb, 1024)
    first, second = find_chart(working), find_chart(working)
    assert np.array_equal(first.centres, second.centres) and first.residual == second.residual


def test_no_chart_no_detection(scene):
    assert find_chart(resize_long_side(render(scene).rgb, 1024)) is None
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    assert find_chart(noise) is None
