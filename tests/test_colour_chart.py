"""Colour chart detection (skintrack/comparison/colour_chart.py)."""

from __future__ import annotations

import numpy as np
import pytest

from skintrack.comparison.colour_chart import REFERENCE_LINEAR, find_chart
from skintrack.intake.photo import resize_long_side
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


# --------------------------------------------------------------------------- reference data


def test_reference_values_are_the_named_edition_of_colour_sciences_data():
    """The chart's colours are X-Rite's post-November-2014 L*a*b* (D50): checked against colour-science."""
    import colour

    from skintrack.comparison.colour_chart import CHART_EDITION, PATCH_NAMES, REFERENCE_LAB_D50

    assert "November 2014" in CHART_EDITION and "ColorChecker" in CHART_EDITION
    published = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    assert PATCH_NAMES == tuple(published.data)
    lab = colour.XYZ_to_Lab(colour.xyY_to_XYZ(np.array(list(published.data.values()))), published.illuminant)
    difference = colour.delta_E(REFERENCE_LAB_D50, lab, method="CIE 2000")
    assert difference.max() < 0.02  # the published values are given to two decimals
    older = colour.CCS_COLOURCHECKERS["ColorChecker24 - Before November 2014"]
    old_lab = colour.XYZ_to_Lab(colour.xyY_to_XYZ(np.array(list(older.data.values()))), older.illuminant)
    assert colour.delta_E(REFERENCE_LAB_D50, old_lab, method="CIE 2000").max() > 0.5  # the edition matters


def test_reference_srgb_is_colour_sciences_bradford_conversion():
    """Linear sRGB (D65) from the D50 values, Bradford-adapted, as colour-science converts them."""
    import colour

    from skintrack.comparison.colour_chart import REFERENCE_LAB_D50, REFERENCE_SRGB8

    d50 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"]
    xyz = colour.Lab_to_XYZ(REFERENCE_LAB_D50, d50)
    expected = colour.XYZ_to_RGB(
        xyz, colour.RGB_COLOURSPACES["sRGB"], illuminant=d50, chromatic_adaptation_transform="Bradford",
    )  # fmt: skip
    expected = np.clip(expected, 0.0, 1.0)
    assert np.abs(REFERENCE_LINEAR - expected).max() < 2e-3
    lab_back = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(REFERENCE_SRGB8 / 255.0))
    lab_expected = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(colour.cctf_encoding(expected)))
    assert colour.delta_E(lab_back, lab_expected, method="CIE 2000").max() < 0.5  # 8-bit rounding only


def test_the_generator_paints_the_charts_data():
    """The chart does not take its values from the test-data generator: the generator uses the chart's."""
    import ast
    import inspect

    import skintrack.comparison.colour_chart as chart_module
    import skintrack.synthetic as synthetic_module

    imported = {
        node.module for node in ast.walk(ast.parse(inspect.getsource(chart_module))) if isinstance(node, ast.ImportFrom)
    }
    assert not any("synthetic" in (name or "") for name in imported)
    assert not hasattr(synthetic_module, "COLORCHECKER_SRGB")
    shot = SkinScene(seed=1, chart=True).render(SkinState(), Capture(seed=1, noise=0.0, jpeg_quality=None))
    chart = find_chart(resize_long_side(shot.rgb, 1024))
    assert chart is not None
    neutral = chart.patches_linear[19:23]  # light grey to dark grey, away from the clipped white
    assert np.allclose(neutral, REFERENCE_LINEAR[19:23], rtol=0.06)
