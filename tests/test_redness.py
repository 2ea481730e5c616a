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


# --------------------------------------------------------------------------- red lesions (issue 19)


def _blob(shape: tuple[int, int], cx: float, cy: float, sigma: float) -> np.ndarray:
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)).astype(np.float32)


def test_red_lesions_on_inflamed_skin_are_found_against_the_skin_around_them():
    """Issue 19: the red area's threshold comes from the whole skin, so a cheek full of inflammation hides each
    lesion in it. Red lesions are judged against the skin around them: the four lesions on the inflamed half
    are found as well as the four on the calm half, and nothing else is."""
    import cv2

    from skintrack.measure.metrics.redness import red_excess, red_lesion_threshold
    from skintrack.measure.metrics.spots import detect_spots

    rng = np.random.default_rng(3)
    shape = (500, 800)
    a = rng.normal(12.0, 0.6, shape).astype(np.float32)
    xs = np.arange(shape[1], dtype=np.float32)
    a += 8.0 / (1.0 + np.exp(-(xs - 400.0) / 15.0))  # the right half inflamed: +8 a*
    centres = [(120, 130), (250, 350), (130, 380), (300, 120), (520, 140), (650, 330), (700, 120), (560, 400)]
    for cx, cy in centres:
        a += 7.0 * _blob(shape, cx, cy, 6.0)
    skin = np.ones(shape, bool)
    excess = red_excess(a, skin, window=151, sigma=1.5)
    threshold = red_lesion_threshold(excess, skin)
    assert 4.0 <= threshold < 6.0
    lesions = detect_spots(excess, skin, threshold, min_area=20, min_width=3)
    assert lesions.spot_count == 8
    assert all(lesions.mask[cy, cx] for cx, cy in centres)
    # The red area sees the inflamed half as one patch: it cannot tell the lesions in it apart.
    red = measure_redness(a, skin, red_threshold(redness_map(a), skin), redness_map(a))
    right = red.red_mask[:, 420:]
    parts = cv2.connectedComponents(right.astype(np.uint8))[0] - 1
    assert parts != 4 or right.mean() > 0.5


def test_red_lesions_disappear_as_the_erythema_recedes(scene, baseline_score):
    """Measured with the baseline's threshold, the count never rises as the painted erythema recedes, and none is
    left when it is gone (a lesion is counted while it stands out from the skin around it)."""
    counts = [
        skintrack.score(render(scene, SkinState(erythema=e)).rgb, reference=baseline_score).metrics["red_lesion_count"]
        for e in (12.0, 6.0, 3.0, 0.0)
    ]
    assert counts[0] >= 2
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert counts[-1] == 0
    assert baseline_score.thresholds["red_lesion_delta_a"] >= 4.0


def test_lesion_sizes_are_in_mm2_at_the_charts_scale_whatever_the_zoom():
    """With a colour chart in the frame the mean sizes are in mm²: the same skin photographed from nearer or
    farther gives about the same mean dark-spot size, close to the painted spots' true size."""
    from skintrack import normalize
    from skintrack.synthetic import Capture, SkinScene

    scene = SkinScene(seed=2, chart=True)
    sizes = []
    for zoom in (1.0, 1.3):
        shot = scene.render(SkinState(), Capture(seed=1, scale=zoom))
        result = skintrack.score(normalize(shot.encoded))
        assert result.provenance["scale"] == pytest.approx({**result.provenance["scale"], "source": "colour chart"})
        assert result.provenance["scale"]["measured"] is True
        truth_mm2 = shot.truth.masks["spots"].sum() * shot.truth.mm_per_px**2 / shot.truth.values["spot_count"]
        assert result.metrics["spot_mean_mm2"] == pytest.approx(truth_mm2, rel=0.35)
        assert np.isfinite(result.metrics["red_lesion_mean_mm2"])
        sizes.append(result.metrics["spot_mean_mm2"])
    assert sizes[1] == pytest.approx(sizes[0], rel=0.15)


def test_without_a_measured_scale_sizes_are_not_given_and_say_why(baseline_score):
    """The synthetic cheek has no chart and no face: its scale is assumed from the skin's extent, good enough to
    set the least spot size but not to report one in mm²."""
    assert baseline_score.provenance["scale"]["measured"] is False
    for name in ("spot_mean_mm2", "red_lesion_mean_mm2"):
        assert np.isnan(baseline_score.metrics[name])
        assert "measured scale" in baseline_score.provenance["errors"][name]
    assert baseline_score.metrics["red_lesion_count"] >= 1  # counts need no scale


def test_a_baseline_measured_before_red_lesions_still_gives_the_other_measures(scene, baseline_score):
    """Thresholds stored by an engine before 0.6.0 lack the red lesions' one: the red lesions are NaN with the
    reason (rescore the baseline), and every other measure is measured with the baseline's yardstick."""
    old = {k: v for k, v in baseline_score.thresholds.items() if k != "red_lesion_delta_a"}
    follow_up = render(scene, SkinState(erythema=6.0)).rgb
    with_old = skintrack.score(follow_up, reference=old)
    with_new = skintrack.score(follow_up, reference=baseline_score.thresholds)
    for name in ("red_lesion_count", "red_lesion_mean_mm2"):
        assert np.isnan(with_old.metrics[name])
        assert "rescore" in with_old.provenance["errors"][name]
    for name in ("redness", "red_area_pct", "spot_count", "spot_area_pct", "line_density", "ita"):
        assert with_old.metrics[name] == with_new.metrics[name], name


def test_papules_along_a_band_of_redness_are_counted_one_by_one():
    """Three papules 50 px apart on a band of milder redness (below the threshold) form one raised region; it is
    cut between their peaks, so each is counted. Without the cut the band is one elongated region, which fails
    the shape tests, and none is counted."""
    from skintrack.measure.metrics.redness import red_excess, red_lesion_threshold
    from skintrack.measure.metrics.spots import detect_spots

    rng = np.random.default_rng(5)
    shape = (300, 600)
    a = rng.normal(12.0, 0.4, shape).astype(np.float32)
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    centres = [(250, 150), (300, 150), (350, 150)]
    a += (3.0 * np.exp(-((ys - 150) ** 2) / (2 * 6.0**2)) * ((xs > 250) & (xs < 350))).astype(np.float32)
    for cx, cy in centres:
        a += 4.0 * _blob(shape, cx, cy, 7.0)
    skin = np.ones(shape, bool)
    excess = red_excess(a, skin, window=151, sigma=1.5)
    threshold = red_lesion_threshold(excess, skin)
    split = detect_spots(excess, skin, threshold, min_area=20, min_width=5, split_peaks=True)
    whole = detect_spots(excess, skin, threshold, min_area=20, min_width=5)
    assert split.spot_count == 3 and all(split.mask[cy, cx] for cx, cy in centres)
    assert whole.spot_count < 3


def test_a_lesion_with_an_uneven_top_stays_one_lesion():
    """Two peaks about 30 px apart on one lesion, the redness between them dipping by about 12 %: one lesion,
    not two (the cut between peaks needs a real dip)."""
    from skintrack.measure.metrics.redness import red_excess, red_lesion_threshold
    from skintrack.measure.metrics.spots import detect_spots

    rng = np.random.default_rng(6)
    shape = (300, 400)
    a = rng.normal(12.0, 0.4, shape).astype(np.float32)
    a += 7.0 * _blob(shape, 182, 150, 14.0) + 7.0 * _blob(shape, 218, 150, 14.0)  # two tops, 12 % dip between
    skin = np.ones(shape, bool)
    excess = red_excess(a, skin, window=201, sigma=1.5)
    threshold = red_lesion_threshold(excess, skin)
    one = detect_spots(excess, skin, threshold, min_area=20, min_width=5, split_peaks=True)
    assert one.spot_count == 1 and one.mask[150, 182] and one.mask[150, 218]


def test_lesions_on_skin_with_negative_a_are_found():
    """a* below 0 (greenish light, pale skin after a poor white balance) is within the background's 8-bit range
    (A_OFFSET): a lesion there stands out as anywhere else."""
    from skintrack.measure.metrics.redness import red_excess, red_lesion_threshold
    from skintrack.measure.metrics.spots import detect_spots

    rng = np.random.default_rng(7)
    shape = (300, 400)
    a = rng.normal(-6.0, 0.4, shape).astype(np.float32) + 7.0 * _blob(shape, 200, 150, 8.0)
    skin = np.ones(shape, bool)
    excess = red_excess(a, skin, window=151, sigma=1.5)
    assert abs(float(np.median(excess))) < 0.5  # the background follows the skin, not the 0 clip
    lesions = detect_spots(excess, skin, red_lesion_threshold(excess, skin), min_area=20, min_width=5, split_peaks=True)
    assert lesions.spot_count == 1 and lesions.mask[150, 200]


def test_a_baseline_that_could_not_set_the_red_lesion_threshold_gives_nan_not_zero(scene, baseline_score):
    """A stored NaN threshold (the baseline's red-lesion step failed, or it was measured against an older
    baseline) is missing: the follow-up's red lesions are NaN with the reason, not 0 lesions."""
    nan_threshold = {**baseline_score.thresholds, "red_lesion_delta_a": float("nan")}
    follow_up = skintrack.score(render(scene, SkinState(erythema=6.0)).rgb, reference=nan_threshold)
    assert np.isnan(follow_up.metrics["red_lesion_count"])
    assert "rescore" in follow_up.provenance["errors"]["red_lesion_count"]


def test_a_scale_handed_on_as_a_number_gives_sizes_only_when_said_to_be_measured():
    """Score.mm_per_px always holds a number, assumed or measured; handed on with the thresholds it gives sizes in
    mm² only with "scale_measured" (a Score reference carries that itself)."""
    from skintrack import normalize
    from skintrack.synthetic import Capture, SkinScene

    shot = SkinScene(seed=2, chart=True).render(SkinState(), Capture(seed=1))
    base = skintrack.score(normalize(shot.encoded))
    assert base.provenance["scale"]["measured"] is True
    handed = {**base.thresholds, "mm_per_px": base.mm_per_px}
    assert np.isnan(skintrack.score(shot.rgb, reference=handed).metrics["spot_mean_mm2"])
    said = skintrack.score(shot.rgb, reference={**handed, "scale_measured": 1})
    assert said.metrics["spot_mean_mm2"] > 0 and said.provenance["scale"]["measured"] is True
    assert skintrack.score(shot.rgb, reference=base).provenance["scale"]["measured"] is True
