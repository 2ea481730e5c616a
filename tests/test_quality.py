"""Quality gate (skintrack/comparison/quality.py)."""

from __future__ import annotations

import cv2
import pytest

from skintrack import check_quality, load_photo
from skintrack.synthetic import Capture, SkinScene, SkinState

from .conftest import real_photo, render


def codes(issues):
    return {issue.code: issue.severity for issue in issues}


def test_a_good_photo_passes(baseline_photo):
    assert check_quality(baseline_photo.encoded) == []


@pytest.mark.parametrize("sigma, severity", [(1.2, "warn"), (3.0, "block")])
def test_blur(baseline_photo, sigma, severity):
    blurred = cv2.GaussianBlur(load_photo(baseline_photo.encoded).rgb, (0, 0), sigma * 1600 / 1024)
    assert codes(check_quality(blurred)).get("blurred") == severity


@pytest.mark.parametrize(
    "exposure, code, severity",
    [(0.3, "underexposed", "warn"), (0.1, "underexposed", "block"), (2.2, "clipped", "block"), (3.0, "overexposed", "block")],
)
def test_exposure(scene, exposure, code, severity):
    shot = render(scene, SkinState(), Capture(seed=1, exposure=exposure))
    assert codes(check_quality(shot.encoded)).get(code) == severity


def test_glare_and_little_skin():
    shiny = SkinScene(seed=5, glare_count=40).render(SkinState(), Capture(seed=1))
    assert codes(check_quality(shiny.encoded)).get("glare") == "warn"
    grey = cv2.cvtColor(cv2.cvtColor(render(SkinScene(seed=5)).rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    assert codes(check_quality(grey)).get("little_skin") == "block"


def test_messages_are_for_people_and_serialisable(scene):
    issues = check_quality(render(scene, SkinState(), Capture(seed=1, exposure=0.1)).encoded)
    for issue in issues:
        assert issue.message.endswith(".") and len(issue.message) > 20
        assert set(issue.to_dict()) == {"code", "severity", "message", "value", "limit"}


def test_low_resolution_real_photo_is_flagged():
    assert codes(check_quality(load_photo(real_photo("PAT_680_1289_182.png")))).get("low_resolution") == "warn"


def test_small_sharp_photos_are_judged_at_their_own_resolution(real_photos_dir):
    """300 px repeat shots are sharp: upscaled to the working size they would look blurred, which is a
    resolution issue (``low_resolution``), not blur. The same photos really blurred are still caught."""
    import numpy as np

    from skintrack.intake.photo import Photo

    shots = sorted((real_photos_dir / "external" / "repeats").glob("*.jpg"))[:12]
    assert shots, "no repeat shots"
    blocked_sharp = warned_blurred = 0
    for path in shots:
        photo = load_photo(path)
        assert max(photo.size) < 1024
        found = codes(check_quality(photo))
        assert found.get("low_resolution") == "warn"
        blocked_sharp += found.get("blurred") == "block"
        blurred = cv2.GaussianBlur(np.ascontiguousarray(photo.rgb), (0, 0), 3.0)
        warned_blurred += "blurred" in codes(check_quality(Photo(blurred)))
    assert blocked_sharp == 0
    assert warned_blurred == len(shots)


def _exposed(rgb, gain):
    """``rgb`` with its exposure scaled by ``gain`` on linear light (the sRGB curve written out here, not
    skintrack's), clipped as a camera clips."""
    import numpy as np

    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) * gain
    linear = np.clip(linear, 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255.0).astype(np.uint8)


@pytest.mark.parametrize("gain, sign", [(1.8, 1), (0.5, -1)])
def test_a_follow_up_brighter_or_darker_than_its_baseline_without_a_reference_is_warned(gain, sign):
    """Issue 20: a real close-up with no neutral reference, its exposure changed on linear light. The skin's
    lightness moves by more than the limit, and the warning says which way and what it means."""
    from skintrack import normalize
    from skintrack.comparison.quality import DEFAULT_CONFIG, exposure_change, exposure_difference

    baseline = normalize(load_photo(real_photo("PAT_1428_1489_38.png")))
    assert baseline.metadata["normalization"]["method"] == "none"
    follow_up = normalize(load_photo(_exposed(baseline.rgb, gain)), reference=baseline)
    delta = exposure_difference(follow_up, baseline)
    assert sign * delta > DEFAULT_CONFIG.exposure_warn
    issue = exposure_change(follow_up, baseline)
    assert (issue.code, issue.severity, issue.value, issue.limit) == ("exposure", "warn", round(delta, 3), DEFAULT_CONFIG.exposure_warn)
    assert ("brighter" if sign > 0 else "darker") in issue.message and "grey card" in issue.message
    assert exposure_change(baseline, baseline) is None  # the same light: nothing to say
    slightly = normalize(load_photo(_exposed(baseline.rgb, 1.05)), reference=baseline)
    assert exposure_change(slightly, baseline) is None and abs(exposure_difference(slightly, baseline)) < DEFAULT_CONFIG.exposure_warn


def test_exposure_is_not_judged_on_the_skin_when_a_neutral_reference_in_both_corrected_it(scene):
    """With a grey card in both photos the light is corrected from the card (rule 1): a darker shot of the same
    skin raises no exposure issue. The same two photos uncorrected would."""
    from skintrack import normalize
    from skintrack.comparison.quality import exposure_change, exposure_difference

    base = normalize(load_photo(render(scene).encoded))
    dark_shot = load_photo(render(scene, SkinState(), Capture(seed=1, exposure=0.55)).encoded)
    assert base.metadata["normalization"]["method"] != "none"
    corrected = normalize(dark_shot, reference=base)
    assert exposure_difference(corrected, base) is None and exposure_change(corrected, base) is None
    uncorrected = dark_shot.with_metadata(normalization={"method": "none"})
    assert exposure_change(uncorrected, base).value < -8
