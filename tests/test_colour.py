"""Float sRGB <-> CIELAB conversion (skintrack/measure/colour.py), cross-checked with colour-science."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skintrack.measure.colour import lab_to_rgb, rgb_to_lab, srgb8_to_linear

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import colour


def _reference_lab(rgb: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))


def test_lab_matches_colour_science_within_a_tenth_of_delta_e00():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    # Skin-like colours too, where the measurements live.
    skin = np.clip(rng.normal([190, 140, 120], 25, (100, 300, 3)), 0, 255).astype(np.uint8)
    for image in (rgb, skin):
        ours = rgb_to_lab(image)
        reference = _reference_lab(image / 255.0)
        delta = colour.delta_E(reference, ours, method="CIE 2000")
        assert delta.max() <= 0.1


def test_float_input_and_known_values():
    assert np.allclose(rgb_to_lab(np.array([[[1.0, 1.0, 1.0]]])), [100, 0, 0], atol=0.01)
    assert np.allclose(rgb_to_lab(np.array([[[0, 0, 0]]], np.uint8)), [0, 0, 0], atol=0.01)
    # sRGB red is L* 53.24, a* 80.09, b* 67.20 (D65).
    assert np.allclose(rgb_to_lab(np.array([[[255, 0, 0]]], np.uint8)), [53.24, 80.09, 67.20], atol=0.05)
    float_lab = rgb_to_lab(np.array([[[0.5, 0.4, 0.3]]]))
    assert np.allclose(float_lab, _reference_lab(np.array([[[0.5, 0.4, 0.3]]])), atol=0.01)


def test_round_trip_is_exact_for_8_bit():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(lab_to_rgb(rgb_to_lab(rgb)), rgb)


def test_opencv_8_bit_lab_would_be_off():
    # Why the module exists: OpenCV's 8-bit Lab is off by whole ΔE00 units.
    import cv2

    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    lab8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float64)
    lab8[..., 0] *= 100 / 255
    lab8[..., 1:] -= 128
    assert colour.delta_E(_reference_lab(rgb / 255.0), lab8, method="CIE 2000").max() > 1.0


@pytest.mark.parametrize("value", [0, 10, 128, 255])
def test_linearisation_lut(value):
    expected = value / 255 / 12.92 if value / 255 <= 0.04045 else ((value / 255 + 0.055) / 1.055) ** 2.4
    assert srgb8_to_linear(np.array([value], np.uint8))[0] == pytest.approx(expected, rel=1e-5)
