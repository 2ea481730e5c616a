"""Tone metrics (skintrack/measure/metrics/tone.py): ITA° and evenness."""

from __future__ import annotations

import numpy as np
import pytest

import skintrack
from skintrack.measure.metrics.tone import ita_map
from skintrack.synthetic import SkinState

from .conftest import render


def test_ita_formula():
    L = np.array([[70.0, 50.0, 30.0]], np.float32)
    b = np.array([[20.0, 15.0, 20.0]], np.float32)
    expected = np.degrees(np.arctan2(L - 50.0, b))
    assert np.allclose(ita_map(L, b, sigma=0.01), expected, atol=0.05)  # cv2.phase: ~0.01° accuracy


@pytest.mark.parametrize("base_lab", [(72.0, 9.0, 15.0), (62.0, 12.0, 17.0), (45.0, 13.0, 22.0)], ids=["light", "intermediate", "dark"])
def test_ita_matches_truth_across_skin_tones(scene, base_lab):
    shot = render(scene, SkinState(base_lab=base_lab))
    score = skintrack.score(shot.rgb)
    assert score.metrics["ita"] == pytest.approx(shot.truth.values["ita"], abs=2.0)


def test_lighter_skin_has_higher_ita(scene):
    light, dark = (skintrack.score(render(scene, SkinState(base_lab=lab)).rgb).metrics["ita"] for lab in ((72.0, 9.0, 15.0), (45.0, 13.0, 22.0)))
    assert light > dark + 20


def test_evenness_spread_falls_as_spots_fade(scene, baseline_score):
    spreads = [
        skintrack.score(render(scene, SkinState(spot_contrast=c)).rgb, reference=baseline_score).metrics["evenness"]
        for c in (20.0, 10.0, 5.0)
    ]
    assert spreads[0] > spreads[1] > spreads[2]
