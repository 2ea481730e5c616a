"""Light and colour normalisation from neutral references (skintrack/comparison/normalize.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import skintrack
from skintrack import load_photo, normalize, score
from skintrack.comparison.noise import Conditions, mdc95, shipped_table
from skintrack.comparison.normalize import find_neutral_references
from skintrack.measure.colour import rgb_to_lab
from skintrack.synthetic import COOL, WARM, Capture, SkinScene, SkinState

from .conftest import REPO, render

LIGHTS = [(0.75, WARM), (1.25, COOL), (1.25, WARM), (0.75, COOL)]


def simulated_mdc95(name: str, reference: str) -> float:
    """The simulated re-capture study's MDC95 with this reference: what normalisation alone must reach."""
    return shipped_table()["simulated"]["by_reference"][reference]["metrics"][name]["mdc95"]


MEASURES = ["redness", "red_area_pct", "spot_area_pct", "spot_contrast", "texture_roughness", "line_density", "ita", "evenness"]


@pytest.fixture(scope="module", params=[False, True], ids=["grey card + backdrop", "colour chart"])
def setup(request):
    scene = SkinScene(seed=11, chart=request.param)
    baseline = normalize(render(scene).encoded)
    return scene, baseline, score(baseline)


@pytest.mark.parametrize("exposure, white_balance", LIGHTS, ids=["dim warm", "bright cool", "bright warm", "dim cool"])
def test_other_light_is_corrected_to_within_measurement_noise(setup, exposure, white_balance):
    scene, baseline, baseline_score = setup
    shot = render(scene, SkinState(), Capture(seed=2, exposure=exposure, white_balance=white_balance))
    raw = score(shot.rgb, reference=baseline_score)
    corrected = normalize(shot.encoded, reference=baseline)
    result = score(corrected, reference=baseline_score)
    method = corrected.metadata["normalization"]["method"]
    assert method in ("chart", "grey_card")
    for name in MEASURES:
        assert abs(result.metrics[name] - baseline_score.metrics[name]) < simulated_mdc95(name, method), name
    # Without correction the light alone would have looked like a change in redness.
    assert abs(raw.metrics["redness"] - baseline_score.metrics["redness"]) > 1.5


@pytest.mark.parametrize("exposure, white_balance", LIGHTS, ids=["dim warm", "bright cool", "bright warm", "dim cool"])
def test_a_real_change_in_redness_survives_normalisation(setup, exposure, white_balance):
    """Negative control: equalising the skin would erase this; neutral references must not."""
    scene, baseline, baseline_score = setup
    flushed = render(scene, SkinState(diffuse_redness=5.0), Capture(seed=3, exposure=exposure, white_balance=white_balance))
    result = score(normalize(flushed.encoded, reference=baseline), reference=baseline_score)
    measured = result.metrics["redness"] - baseline_score.metrics["redness"]
    assert measured >= 0.9 * 5.0
    assert measured <= 1.1 * 5.0


def test_without_reference_the_card_becomes_true_neutral_grey(scene):
    shot = render(scene, SkinState(), Capture(seed=4, exposure=0.8, white_balance=WARM))
    corrected = normalize(shot.encoded)
    info = corrected.metadata["normalization"]
    assert info["method"] == "grey_card" and 0.5 < info["confidence"] <= 1.0
    lab = rgb_to_lab(corrected.rgb)[shot.truth.masks["grey_card"]]
    assert lab[:, 0].mean() == pytest.approx(49.5, abs=1.5)  # 18 % reflectance
    assert abs(lab[:, 1].mean()) < 0.7 and abs(lab[:, 2].mean()) < 0.7
    json.dumps(info)


def test_chart_gives_the_physical_scale():
    scene = SkinScene(seed=2, chart=True)
    shot = scene.render(SkinState(), Capture(seed=1, scale=1.1))
    info = normalize(shot.encoded).metadata["normalization"]
    assert info["method"] == "chart"
    assert info["mm_per_px"] == pytest.approx(shot.truth.mm_per_px, rel=0.03)


def test_backdrop_alone_corrects_white_balance():
    scene = SkinScene(seed=6, grey_card=False)
    shot = scene.render(SkinState(), Capture(seed=1, white_balance=COOL))
    corrected = normalize(shot.encoded)
    assert corrected.metadata["normalization"]["method"] == "backdrop"
    lab = rgb_to_lab(corrected.rgb)[shot.truth.masks["backdrop"]]
    assert abs(np.median(lab[:, 1])) < 1.0 and abs(np.median(lab[:, 2])) < 1.0


def _unchanged_without_a_reference(paths) -> None:
    for path in paths:
        photo = load_photo(path)
        result = normalize(photo)
        assert result.metadata["normalization"]["method"] == "none", path.name
        assert "no neutral reference" in result.metadata["normalization"]["reason"]
        assert np.array_equal(result.rgb, photo.rgb)


def test_no_reference_means_no_change_pixel_for_pixel(real_photos_dir):
    """Every 8th real photo here (each of them in ``make test-slow``)."""
    paths = sorted(real_photos_dir.rglob("*.png"))
    assert len(paths) >= 8
    _unchanged_without_a_reference(paths[::8])


@pytest.mark.slow
def test_no_reference_means_no_change_pixel_for_pixel_on_every_real_photo(real_photos_dir):
    _unchanged_without_a_reference(sorted(real_photos_dir.rglob("*.png")))


def test_skin_filling_the_frame_is_never_used_as_a_neutral():
    scene = SkinScene(seed=8, backdrop=False, grey_card=False)
    shot = scene.render(SkinState(), Capture(seed=1, white_balance=WARM))
    result = normalize(shot.encoded)
    assert result.metadata["normalization"]["method"] == "none"
    assert np.array_equal(result.rgb, load_photo(shot.encoded).rgb)


def test_glare_on_skin_is_not_a_neutral_reference():
    scene = SkinScene(seed=5, backdrop=False, grey_card=False, glare_count=30)
    found = find_neutral_references(scene.render(SkinState(), Capture(seed=1)).encoded)
    assert found == {}


def test_demo_course_after_normalisation_shows_redness_below_baseline():
    """The committed course: once light is corrected, the final redness is below baseline."""
    manifest = json.loads((REPO / "sample_images" / "manifest.json").read_text())
    photos = [load_photo(REPO / "sample_images" / s["file"]) for s in manifest["sessions"]]
    baseline = normalize(photos[0])
    baseline_score = score(baseline)
    final = score(skintrack.align(normalize(photos[-1], reference=baseline), baseline).photo(), reference=baseline_score)
    assert final.metrics["redness"] < baseline_score.metrics["redness"] - mdc95("redness", Conditions("grey_card", 0.95))
