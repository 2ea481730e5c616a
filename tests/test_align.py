"""Registration of follow-ups to the baseline (skintrack/align.py)."""

from __future__ import annotations

import numpy as np
import pytest

from skintrack import Alignment, align, ghost, load_photo, score
from skintrack.synthetic import COOL, WARM, Capture, SkinScene, SkinState

from .conftest import real_photo, render

POSES = [
    (10.0, 1.15, (50.0, 30.0), 1.2, COOL),
    (-10.0, 0.85, (-60.0, 40.0), 0.75, WARM),
    (4.0, 0.92, (90.0, -60.0), 1.0, (1.0, 1.0, 1.0)),
    (-6.0, 1.08, (80.0, -70.0), 0.9, WARM),
    (0.0, 1.0, (-40.0, 25.0), 1.1, COOL),
]


def corner_rms(matrix: np.ndarray, truth: np.ndarray, width: int = 1600, height: int = 1200) -> float:
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [width - 1, height - 1, 1], [0, height - 1, 1]], float)
    a, b = corners @ matrix.T, corners @ truth.T
    return float(np.sqrt((((a[:, :2] / a[:, 2:]) - (b[:, :2] / b[:, 2:])) ** 2).sum(axis=1).mean()))


@pytest.mark.parametrize("rotation, scale, shift, exposure, white_balance", POSES)
def test_follow_ups_align_within_one_pixel(scene, baseline_photo, rotation, scale, shift, exposure, white_balance):
    capture = Capture(seed=5, rotation_deg=rotation, scale=scale, shift=shift, exposure=exposure, white_balance=white_balance)
    follow_up = render(scene, SkinState(erythema=5.0, spot_contrast=10.0), capture)
    result = align(follow_up.encoded, baseline_photo.encoded)
    truth = baseline_photo.truth.camera @ np.linalg.inv(follow_up.truth.camera)
    assert result.ok, result.reason
    assert result.quality > 0.8
    assert corner_rms(result.matrix, truth) <= 1.0
    assert result.image.shape == baseline_photo.rgb.shape
    assert result.diagnostics["rotation_deg"] == pytest.approx(-rotation, abs=0.1)


def test_aligned_follow_up_is_measured_where_the_baseline_was(scene, baseline_photo, baseline_score):
    follow_up = render(scene, SkinState(), Capture(seed=6, rotation_deg=7, scale=1.1, shift=(60, -40)))
    result = align(follow_up.encoded, baseline_photo.encoded)
    aligned = score(result.photo(), roi=result.coverage, reference=baseline_score)
    assert aligned.metrics["spot_count"] == baseline_score.metrics["spot_count"]
    assert aligned.metrics["redness"] == pytest.approx(baseline_score.metrics["redness"], abs=0.3)
    assert result.photo().metadata["alignment"]["ok"] is True


def test_unrelated_photos_are_refused_not_compared(baseline_photo):
    other_patient = SkinScene(seed=99).render(SkinState(), Capture(seed=3))
    result = align(other_patient.encoded, baseline_photo.encoded)
    assert not result.ok and result.quality < 0.5 and result.reason
    assert result.image.shape == baseline_photo.rgb.shape
    portrait = align(load_photo(real_photo("astronaut_skimage.png")), baseline_photo.encoded)
    assert not portrait.ok and portrait.image.shape == baseline_photo.rgb.shape


def test_featureless_photo_does_not_raise(baseline_photo):
    flat = np.full((600, 800, 3), 128, np.uint8)
    result = align(flat, baseline_photo.encoded)
    assert isinstance(result, Alignment) and not result.ok


def test_real_repeat_shots_of_the_same_area_align():
    result = align(load_photo(real_photo("PAT_417_828_723.png")), load_photo(real_photo("PAT_417_3537_45.png")))
    assert result.ok and result.quality > 0.8
    different = align(load_photo(real_photo("PAT_93_361_203.png")), load_photo(real_photo("PAT_680_1289_182.png")))
    assert not different.ok


def test_homography_model(scene, baseline_photo):
    follow_up = render(scene, SkinState(), Capture(seed=7, rotation_deg=3, scale=1.05, shift=(20, 10)))
    result = align(follow_up.encoded, baseline_photo.encoded, model="homography")
    truth = baseline_photo.truth.camera @ np.linalg.inv(follow_up.truth.camera)
    assert result.ok and corner_rms(result.matrix, truth) <= 1.0
    with pytest.raises(ValueError):
        align(follow_up.encoded, baseline_photo.encoded, model="elastic")


def test_ghost_blends_the_two(scene, baseline_photo):
    follow_up = render(scene, SkinState(), Capture(seed=8, rotation_deg=5))
    result = align(follow_up.encoded, baseline_photo.encoded)
    half = ghost(result, baseline_photo.encoded, 0.5)
    assert half.shape == baseline_photo.rgb.shape
    assert np.array_equal(ghost(result, baseline_photo.encoded, 0.0), load_photo(baseline_photo.encoded).rgb)
    guide = ghost(follow_up.encoded, baseline_photo.encoded, 0.3)  # un-aligned, to guide a new capture
    assert guide.shape == baseline_photo.rgb.shape
    # A good fit makes the ghost sharper (closer to the baseline) than the raw overlay.
    base = load_photo(baseline_photo.encoded).rgb.astype(float)
    covered = result.coverage
    raw = ghost(follow_up.encoded, baseline_photo.encoded, 0.5)
    assert np.abs(half - base)[covered].mean() < 0.5 * np.abs(raw - base)[covered].mean()
    with pytest.raises(ValueError):
        ghost(result, baseline_photo.encoded, 1.5)


def test_an_implausible_scale_change_is_refused_even_when_the_fit_is_good(baseline_photo):
    """The same skin from more than twice as far away (another distance or another area): refused on
    the scale alone — the fit itself is excellent and covers the whole baseline."""
    import cv2

    rgb = load_photo(baseline_photo.encoded).rgb
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (int(width * 0.45), int(height * 0.45)), interpolation=cv2.INTER_AREA)
    far = np.full_like(rgb, 128)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    far[y : y + small.shape[0], x : x + small.shape[1]] = small
    result = align(far, baseline_photo.encoded)
    assert result.diagnostics["scale"] > 2.0
    assert result.quality >= 0.5 and result.overlap >= 0.5  # nothing else would refuse it
    assert not result.ok and "scale" in result.reason
