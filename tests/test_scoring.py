"""score(): API, provenance, ROI, failures, overlays, invariance, cross-talk (skintrack/measure/scoring.py)."""

from __future__ import annotations

import io
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image

import skintrack
from skintrack import PhotoError, Score, ScoreConfig, score
from skintrack.measure.metrics import METRIC_NAMES, METRICS, NO_SCALE
from skintrack.synthetic import SkinState

from .conftest import REPO, render

#: Documented largest change of a metric family when an *unrelated* cause changes
#: (README, "How each measure is computed"). Absolute units of each metric.
CROSS_TALK_TOLERANCE = {
    "redness": 0.3,
    "red_area_pct": 0.5,
    "red_lesion_count": 1.0,
    "red_lesion_mean_mm2": 0.5,
    "spot_area_pct": 0.1,
    "spot_count": 1.0,
    "spot_contrast": 1.0,
    "spot_mean_mm2": 0.5,
    "texture_roughness": 0.03,
    "line_density": 0.1,
    "ita": 0.5,
    "evenness": 0.1,
}
FAMILY_OF = {name: info.family for name, info in METRICS.items()}

#: Documented invariance tolerances: same scene at 2x / 0.5x, rotated 90°, JPEG q=85.
INVARIANCE_TOLERANCE = {
    "redness": 0.3,
    "red_area_pct": 0.5,
    "red_lesion_count": 1.0,
    "red_lesion_mean_mm2": 0.5,
    "spot_area_pct": 0.05,
    "spot_count": 1.0,
    "spot_contrast": 0.5,
    "spot_mean_mm2": 0.5,
    "texture_roughness": 0.03,
    "line_density": 0.1,
    "ita": 1.0,
    "evenness": 0.1,
}


def test_stable_metric_names(baseline_score):
    assert list(baseline_score.metrics) == list(METRIC_NAMES) == [
        "redness",
        "red_area_pct",
        "red_lesion_count",
        "red_lesion_mean_mm2",
        "spot_area_pct",
        "spot_count",
        "spot_contrast",
        "spot_mean_mm2",
        "texture_roughness",
        "line_density",
        "ita",
        "evenness",
    ]
    # Sizes in mm² need a measured scale, which this chart-less cheek lacks (tests/test_redness.py).
    assert all(math.isfinite(v) for k, v in baseline_score.metrics.items() if not k.endswith("_mean_mm2"))


def test_provenance_records_what_is_needed_to_reproduce(baseline_photo, baseline_score):
    prov = baseline_score.provenance
    assert prov["engine_version"] == skintrack.__version__
    assert prov["settings"] == ScoreConfig().as_dict()
    # One meaning per field: a bare score() carries its ScoreConfig's hash; only compare() adds the
    # pipeline's ``settings_hash`` (test_compare checks that one).
    assert prov["score_settings_hash"] == ScoreConfig().settings_hash and "settings_hash" not in prov
    assert baseline_score.mm_per_px > 0 and "spot_mm_per_px" not in baseline_score.thresholds
    assert len(prov["photo_sha256"]) == 64
    assert prov["working_size"] == [1024, 768]
    assert prov["original_size"] == [1600, 1200]
    assert 0 < prov["skin_pixels"] <= prov["roi_pixels"] == 1024 * 768
    assert prov["thresholds_from"] == "this photo"
    # Nothing failed; only the sizes in mm² lack a measured scale (no chart or face on this cheek).
    assert prov["errors"] == {name: NO_SCALE for name in ("red_lesion_mean_mm2", "spot_mean_mm2")}
    assert prov["scale"]["measured"] is False
    json.dumps(baseline_score.to_dict())  # JSON-safe
    row = baseline_score.to_row()
    assert set(METRIC_NAMES) <= set(row) and row["score_settings_hash"] == prov["score_settings_hash"]


def test_same_input_gives_identical_numbers(baseline_photo, baseline_score):
    again = score(baseline_photo.rgb)
    assert again.metrics == baseline_score.metrics
    assert again.thresholds == baseline_score.thresholds


def test_reference_hands_on_its_thresholds(scene, baseline_score):
    follow_up = score(render(scene, SkinState(erythema=4.0)).rgb, reference=baseline_score)
    assert follow_up.thresholds == baseline_score.thresholds
    assert follow_up.provenance["thresholds_from"] == "reference"
    assert follow_up.provenance["reference_sha256"] == baseline_score.provenance["photo_sha256"]
    from_dict = score(render(scene, SkinState(erythema=4.0)).rgb, reference=baseline_score.thresholds)
    assert from_dict.metrics == follow_up.metrics
    with pytest.raises(ValueError, match="different settings"):
        score(render(scene).rgb, reference=baseline_score, config={"red_min_delta": 6.0})
    with pytest.raises(ValueError, match="lacks thresholds"):
        score(render(scene).rgb, reference={"red_a": 15.0})


def test_reference_hands_on_its_scale_as_its_own_field(scene, baseline_score):
    """The baseline's mm per pixel travels as Score.mm_per_px, not among the thresholds; a mapping may
    carry it as "mm_per_px" (or "spot_mm_per_px", where engines before 0.4.1 kept it)."""
    rgb = render(scene).rgb
    h, w = rgb.shape[:2]
    closer = np.ascontiguousarray(rgb[h // 6 : 5 * h // 6, w // 6 : 5 * w // 6])  # less skin: another assumed scale
    own = score(closer)
    assert own.provenance["scale"]["source"] == "skin region (assumed)"
    assert not math.isclose(own.mm_per_px, baseline_score.mm_per_px, rel_tol=0.02)
    thresholds = dict(baseline_score.thresholds)
    for reference in (baseline_score, {**thresholds, "mm_per_px": baseline_score.mm_per_px},
                      {**thresholds, "spot_mm_per_px": baseline_score.mm_per_px}):  # fmt: skip
        measured = score(closer, reference=reference)
        assert measured.provenance["scale"]["source"] == "baseline"
        assert measured.mm_per_px == baseline_score.mm_per_px
        assert measured.thresholds == thresholds  # the scale is not a threshold
    only_thresholds = score(closer, reference=thresholds)
    assert only_thresholds.mm_per_px == own.mm_per_px and only_thresholds.provenance["scale"] == own.provenance["scale"]


#: Floors low enough that every threshold comes from the ``median + k·SD`` branch (the floors of the
#: default settings hide it on the synthetic skin: 4.0 and 2.5 ΔL*).
LOW_FLOORS = {"red_min_delta": 1.0, "spot_min_delta": 1.0, "line_min_delta": 1.0}
#: threshold -> the amount it decides.
YARDSTICK = {"red_a": "red_area_pct", "spot_delta_L": "spot_area_pct", "line_delta_L": "line_density"}


@pytest.fixture(scope="module")
def rough_baseline(scene):
    return score(render(scene).rgb, config=LOW_FLOORS)


@pytest.mark.parametrize(
    "state",
    [SkinState(erythema=16.0, erythema_extent=2.0, roughness=2.0), SkinState(erythema=4.0, erythema_extent=0.5, roughness=2.0)],
    ids=["more-red-rougher", "less-red-rougher"],
)
def test_spots_lines_and_red_areas_are_detected_with_the_baselines_thresholds(scene, rough_baseline, state):
    """The follow-up's own thresholds sit elsewhere (above their floors): an amount measured with the
    baseline's must move the way the difference between the two thresholds says, for every family."""
    assert rough_baseline.thresholds["spot_delta_L"] > LOW_FLOORS["spot_min_delta"]
    assert rough_baseline.thresholds["line_delta_L"] > LOW_FLOORS["line_min_delta"]
    photo = render(scene, state).rgb
    own = score(photo, config=LOW_FLOORS)
    yardstick = score(photo, reference=rough_baseline, config=LOW_FLOORS)
    assert yardstick.thresholds == rough_baseline.thresholds
    for threshold, amount in YARDSTICK.items():
        mine, theirs = own.thresholds[threshold], rough_baseline.thresholds[threshold]
        assert abs(mine - theirs) > 0.2, threshold  # the case that tells the two apart
        # A lower threshold finds more (red, dark or line pixels), a higher one less.
        if theirs < mine:
            assert yardstick.metrics[amount] > own.metrics[amount], (amount, mine, theirs)
        else:
            assert yardstick.metrics[amount] < own.metrics[amount], (amount, mine, theirs)


def test_roi_rectangle_and_mask(baseline_photo, baseline_score):
    rect = score(baseline_photo.rgb, roi=(200, 300, 500, 400))
    assert rect.provenance["roi_pixels"] == pytest.approx(500 * 400 * 0.64**2, rel=0.02)
    assert rect.provenance["skin_pixels"] < baseline_score.provenance["skin_pixels"]
    mask = np.zeros((1200, 1600), bool)
    mask[300:700, 200:700] = True
    masked = score(baseline_photo.rgb, roi=mask)
    assert masked.provenance["skin_pixels"] == pytest.approx(rect.provenance["skin_pixels"], rel=0.02)
    for bad in ((1, 2, 3), (0, 0, -5, 10), np.zeros((3, 3, 3)), "face"):
        with pytest.raises(ValueError):
            score(baseline_photo.rgb, roi=bad)


def test_a_region_keeps_the_whole_photos_spots_lines_and_thresholds(baseline_photo, baseline_score):
    """A region restricts the figures, never the measurement: the thresholds are the whole photo's, the spots
    and lines are the whole photo's that lie in it (issue 19: a region over a patch of spots raised its own
    threshold and lost them). Real photos: tests/test_real_photos.py."""
    import cv2

    whole = baseline_score
    labels_count, labels, _, centroids = cv2.connectedComponentsWithStats(whole.maps["spots"].astype(np.uint8), connectivity=8)
    assert labels_count > 4
    height, width = whole.maps["skin"].shape
    region = np.zeros((height, width), bool)
    region[: height // 2, : width // 2] = True  # the upper-left quarter, drawn at the working size
    inside = score(baseline_photo.rgb, roi=region)
    assert inside.thresholds == whole.thresholds
    kept = [i for i in range(1, labels_count) if region[int(round(centroids[i][1])), int(round(centroids[i][0]))]]
    assert 0 < len(kept) < labels_count - 1
    assert inside.metrics["spot_count"] == len(kept)
    assert np.array_equal(inside.maps["spots"], np.isin(labels, kept) & region)
    assert np.array_equal(inside.maps["lines"], whole.maps["lines"] & region)
    assert np.array_equal(inside.maps["red"], whole.maps["red"] & region)
    assert np.array_equal(inside.maps["skin"], whole.maps["skin"] & region)
    # Pixels without image data (an aligned follow-up's uncovered part) are not measured at all.
    measurable = np.ones((height, width), bool)
    measurable[:, width // 2 :] = False
    half = score(baseline_photo.rgb, measurable=measurable)
    assert not (half.maps["skin"] & ~measurable).any()
    assert half.provenance["measurable"] == f"mask {width}x{height}"
    for bad in (np.zeros((3, 3, 3), bool), "all", np.zeros((0, 0), bool)):
        with pytest.raises(ValueError, match="measurable must be an HxW boolean mask"):
            score(baseline_photo.rgb, measurable=bad)


def test_config_overrides_and_rejects_unknown_settings(baseline_photo):
    assert score(baseline_photo.rgb, config={"working_size": 800}).provenance["working_size"] == [800, 600]
    with pytest.raises(ValueError, match="Unknown score settings"):
        score(baseline_photo.rgb, config={"wrking_size": 800})


def test_no_skin_gives_nan_with_a_reason_not_a_crash():
    grey = np.full((600, 800, 3), 128, np.uint8)
    result = score(grey)
    assert all(math.isnan(v) for v in result.metrics.values())
    assert all("skin pixels" in reason for reason in result.provenance["errors"].values())
    assert set(result.provenance["errors"]) == set(METRIC_NAMES)
    assert result.overlay("skin").shape == result.image.shape


def test_a_failing_family_gives_nan_and_spares_the_others(baseline_photo, monkeypatch):
    import skintrack.measure.scoring as scoring

    def broken(*args, **kwargs):
        raise RuntimeError("ridge filter exploded")

    monkeypatch.setattr(scoring, "ridge_strength", broken)
    result = score(baseline_photo.rgb)
    assert math.isnan(result.metrics["line_density"])
    assert "ridge filter exploded" in result.provenance["errors"]["line_density"]
    for name in ("redness", "spot_count", "ita"):
        assert math.isfinite(result.metrics[name])


def test_bad_photo_raises_photoerror():
    with pytest.raises(PhotoError):
        score(b"not a photo")


def test_overlays_draw_each_map(baseline_score):
    image = baseline_score.image
    for name in ("skin", "redness", "red_lesions", "spots", "lines"):
        overlay = baseline_score.overlay(name)
        assert overlay.shape == image.shape and overlay.dtype == np.uint8
        changed = np.any(overlay != image, axis=2)
        assert changed.any(), name
    # The redness overlay changes pixels where the skin is red, not on the backdrop.
    changed = np.any(baseline_score.overlay("redness") != image, axis=2)
    assert changed[baseline_score.maps["red"]].mean() > 0.9
    assert changed[~baseline_score.maps["skin"]].mean() < 0.01
    # Red lesions are outlined where they were found.
    outlined = np.any(baseline_score.overlay("red_lesions") != image, axis=2)
    near = cv2.dilate(baseline_score.maps["red_lesions"].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert outlined.any() and not (outlined & ~near).any()
    with pytest.raises(ValueError):
        baseline_score.overlay("sparkles")


def test_cross_talk_between_families_is_within_documented_tolerance(scene, baseline_score):
    causes = {
        "redness": SkinState(erythema=3.0),
        "spots": SkinState(spot_contrast=6.0),
        "texture": SkinState(roughness=0.5, line_fraction=0.3),
    }
    for family, state in causes.items():
        changed = score(render(scene, state).rgb, reference=baseline_score)
        for name, value in changed.metrics.items():
            other = FAMILY_OF[name]
            # Tone is physically coupled to pigment: fading spots do lighten and even the skin.
            if other == family or (family == "spots" and other == "tone"):
                continue
            if _both_unmeasured(value, baseline_score.metrics[name], changed, name):
                continue
            delta = abs(value - baseline_score.metrics[name])
            assert delta <= CROSS_TALK_TOLERANCE[name], f"{family} moved {name} by {delta:.3f}"


def _both_unmeasured(value: float, before: float, result, name: str) -> bool:
    """Sizes in mm² are NaN on both photos of a scene without a chart (no measured scale), with the reason;
    they are compared on a scene with one in tests/test_redness.py."""
    if math.isnan(value) and math.isnan(before):
        assert "measured scale" in result.provenance["errors"][name]
        return True
    return False


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_invariant_to_resolution_rotation_and_recompression(scene):
    from skintrack.synthetic import Capture

    original = render(scene, SkinState(), Capture(seed=1, jpeg_quality=None)).rgb
    reference = score(original)
    variants = {
        "2x": cv2.resize(original, (3200, 2400), interpolation=cv2.INTER_CUBIC),
        "0.5x": cv2.resize(original, (800, 600), interpolation=cv2.INTER_AREA),
        "rotated 90°": np.ascontiguousarray(np.rot90(original)),
        "JPEG q=85": _jpeg(original, 85),
    }
    for label, image in variants.items():
        result = score(image, reference=reference)
        for name, value in result.metrics.items():
            if _both_unmeasured(value, reference.metrics[name], result, name):
                continue
            delta = abs(value - reference.metrics[name])
            assert delta <= INVARIANCE_TOLERANCE[name], f"{label} moved {name} by {delta:.3f}"


def test_scores_the_sample_images_and_sees_the_course(tmp_path):
    """The committed demo course, scored as is: the flush and the fading spots show.

    (Whether redness ends below baseline depends on the light of each session;
    that comparison needs colour normalisation, tested in test_normalize.py.)
    """
    manifest = json.loads((REPO / "sample_images" / "manifest.json").read_text())
    photos = [skintrack.load_photo(REPO / "sample_images" / s["file"]) for s in manifest["sessions"]]
    baseline = score(photos[0])
    scores = [baseline] + [score(p, reference=baseline) for p in photos[1:]]
    redness = [s.metrics["redness"] for s in scores]
    assert redness[1] > redness[0] + 3  # the post-treatment flush
    assert scores[-1].metrics["spot_contrast"] < scores[0].metrics["spot_contrast"]
    assert scores[-1].metrics["texture_roughness"] < scores[0].metrics["texture_roughness"]
    assert isinstance(scores[0], Score)
