"""The seeded generator and its ground truth (skintrack/synthetic.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skintrack import load_photo
from skintrack.measure.colour import rgb_to_lab, srgb8_to_linear
from skintrack.synthetic import DEMO_SESSIONS, Capture, SkinScene, SkinState, write_demo

from .conftest import REPO

CLEAN = Capture(noise=0.0, jpeg_quality=None, vignette=0.0)


def test_same_seed_same_pixels(scene):
    small = Capture(seed=3, size=(400, 300))  # every pixel is compared: a small frame says as much
    a = scene.render(SkinState(), small)
    b = scene.render(SkinState(), small)
    assert np.array_equal(a.rgb, b.rgb)
    other = SkinScene(seed=12).render(SkinState(), small)
    assert not np.array_equal(a.rgb, other.rgb)


def test_truth_masks_are_inside_skin_and_disjoint_from_references(baseline_photo):
    masks = baseline_photo.truth.masks
    skin = masks["skin"]
    assert 0.35 < skin.mean() < 0.8
    for name in ("spots", "red", "lines"):
        assert masks[name].any(), name
        assert not (masks[name] & ~skin).any(), name
    for name in ("backdrop", "grey_card"):
        assert masks[name].any()
        assert not (masks[name] & skin).any()


def test_rendered_spots_are_as_dark_as_the_truth_says(scene):
    for contrast in (5.0, 20.0):
        photo = scene.render(SkinState(spot_contrast=contrast, roughness=0.0), CLEAN)
        lab = rgb_to_lab(photo.rgb)
        spots = photo.truth.masks["spots"]
        import cv2

        ring = cv2.dilate(spots.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~spots
        ring &= photo.truth.masks["skin"]
        core = cv2.erode(spots.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        measured = lab[ring, 0].mean() - lab[core, 0].mean()
        assert measured == pytest.approx(contrast, rel=0.25)


def test_redness_truth_tracks_the_state(scene):
    base = scene.render(SkinState(), CLEAN)
    flushed = scene.render(SkinState(diffuse_redness=5.0), CLEAN)
    assert flushed.truth.values["redness"] - base.truth.values["redness"] == pytest.approx(5.0, abs=0.05)
    # ...and the pixels agree with the truth (no noise, no JPEG: within 0.3 a*).
    lab = rgb_to_lab(flushed.rgb)
    measured = lab[flushed.truth.masks["skin"], 1].mean()
    assert measured == pytest.approx(flushed.truth.values["redness"], abs=0.3)
    none = scene.render(SkinState(erythema=0.0), CLEAN)
    assert none.truth.values["red_area_pct"] == 0.0
    shrunk = scene.render(SkinState(erythema_extent=0.7), CLEAN)
    assert shrunk.truth.values["red_area_pct"] < 0.6 * base.truth.values["red_area_pct"]


def test_spot_truth_scales_with_extent(scene):
    full = scene.render(SkinState(), CLEAN).truth.values
    half = scene.render(SkinState(spot_extent=0.5), CLEAN).truth.values
    assert half["spot_area_pct"] == pytest.approx(full["spot_area_pct"] * 0.25, rel=0.2)
    assert full["spot_count"] == 12


def test_camera_pose_moves_features_as_the_matrix_says(scene):
    pose = Capture(rotation_deg=7.0, scale=1.1, shift=(40.0, -25.0), noise=0.0, jpeg_quality=None)
    straight = scene.render(SkinState(), CLEAN)
    posed = scene.render(SkinState(), pose)
    import cv2

    # Warp the posed photo back with the known matrices: it must match the straight one.
    to_straight = straight.truth.camera @ np.linalg.inv(posed.truth.camera)
    back = cv2.warpPerspective(posed.rgb, to_straight, (1600, 1200), flags=cv2.INTER_LINEAR)
    inner = np.zeros((1200, 1600), bool)
    inner[150:1050, 150:1450] = True
    difference = np.abs(back.astype(float) - straight.rgb)[inner].mean()
    assert difference < 4.0


def test_exposure_and_white_balance_act_on_linear_light(scene):
    normal = scene.render(SkinState(), CLEAN)
    warm = scene.render(SkinState(), Capture(noise=0.0, jpeg_quality=None, vignette=0.0, exposure=0.8, white_balance=(1.1, 1.0, 0.9)))
    card = normal.truth.masks["grey_card"]
    ratio = srgb8_to_linear(warm.rgb)[card].mean(axis=0) / srgb8_to_linear(normal.rgb)[card].mean(axis=0)
    assert ratio == pytest.approx([0.88, 0.8, 0.72], rel=0.02)
    lab = rgb_to_lab(normal.rgb)
    assert lab[card, 0].mean() == pytest.approx(50.0, abs=0.5)
    assert abs(lab[card, 1].mean()) < 0.3 and abs(lab[card, 2].mean()) < 0.3


def test_hair_and_glare_are_excluded_from_truth_skin():
    scene = SkinScene(seed=5, hair_count=10, glare_count=4)
    photo = scene.render(SkinState(), CLEAN)
    masks = photo.truth.masks
    assert masks["hair"].sum() > 500 and masks["glare"].sum() > 200
    assert not (masks["skin"] & (masks["hair"] | masks["glare"])).any()
    lab = rgb_to_lab(photo.rgb)
    assert lab[masks["hair"], 0].mean() < 40
    assert lab[masks["glare"], 0].mean() > 85


@pytest.mark.slow  # regenerates the six demo photos (make test-slow; CI runs it)
def test_demo_course_is_committed_and_reproducible(tmp_path):
    committed = REPO / "sample_images"
    manifest = json.loads((committed / "manifest.json").read_text())
    sessions = manifest["sessions"]
    assert len(sessions) >= 5 and len(sessions) == len(DEMO_SESSIONS)
    dates = [np.datetime64(s["date"]) for s in sessions]
    assert (dates[-1] - dates[0]).astype(int) >= 120  # about 5 months
    assert sum(p.stat().st_size for p in committed.iterdir()) < 10 * 2**20
    # What the course promises is in the truth: a redness spike that recedes, spots fading.
    redness = [s["truth"]["redness"] for s in sessions]
    assert redness[1] > redness[0] + 4 and redness[-1] < redness[0]
    contrast = [s["state"]["spot_contrast"] for s in sessions]
    assert contrast == sorted(contrast, reverse=True) and contrast[-1] < contrast[0]
    # Regenerating gives the same truth and (to JPEG precision) the same pixels.
    write_demo(tmp_path)
    regenerated = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["truth"] for s in regenerated["sessions"]] == [s["truth"] for s in sessions]
    for session in sessions:
        a = load_photo(committed / session["file"]).rgb.astype(int)
        b = load_photo(tmp_path / session["file"]).rgb.astype(int)
        assert np.abs(a - b).mean() < 1.0
