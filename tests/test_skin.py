"""Automatic skin mask (skintrack/measure/skin.py)."""

from __future__ import annotations

import numpy as np
import pytest

from skintrack import load_photo
from skintrack.measure.colour import rgb_to_lab
from skintrack.measure.skin import skin_mask
from skintrack.synthetic import COOL, WARM, Capture, SkinScene, SkinState

from .conftest import real_photo, render, working


@pytest.fixture(scope="module")
def busy_scene():
    """Backdrop, grey card, colour chart, hairs and glare all in one frame."""
    return SkinScene(seed=5, chart=True, hair_count=10, glare_count=4)


def _mask_of(rgb: np.ndarray):
    from skintrack.intake.photo import resize_long_side

    return skin_mask(rgb_to_lab(resize_long_side(rgb, 1024)))


@pytest.mark.parametrize(
    "capture",
    [Capture(seed=1), Capture(seed=2, exposure=0.75, white_balance=WARM), Capture(seed=3, exposure=1.25, white_balance=COOL)],
    ids=["neutral light", "dim warm light", "bright cool light"],
)
def test_synthetic_skin_mask_matches_truth(busy_scene, capture):
    shot = render(busy_scene, SkinState(), capture)
    mask = _mask_of(shot.rgb)
    truth = {name: working(m, mask.skin.shape) for name, m in shot.truth.masks.items()}
    skin = mask.skin
    iou = (skin & truth["skin"]).sum() / (skin | truth["skin"]).sum()
    assert iou >= 0.95
    # Every non-skin thing in frame is left out...
    for name in ("backdrop", "grey_card", "chart"):
        assert (skin & truth[name]).sum() <= 0.01 * truth[name].sum(), name
    for name in ("hair", "glare"):
        assert (skin & truth[name]).sum() <= 0.10 * truth[name].sum(), name
    # ...while dark spots, red patches and fine lines stay in: they are what we measure.
    for name in ("spots", "red", "lines"):
        assert (skin & truth[name]).sum() >= 0.95 * truth[name].sum(), name


def test_skin_filling_the_frame_is_all_skin():
    scene = SkinScene(seed=8, backdrop=False, grey_card=False)
    mask = _mask_of(render(scene).rgb)
    assert mask.fraction > 0.97


def test_real_close_ups_are_mostly_skin():
    for name in ("PAT_1453_1567_250.png", "PAT_680_1289_182.png", "PAT_93_361_203.png", "PAT_286_1459_926.png"):
        mask = _mask_of(load_photo(real_photo(name)).resized(1024))
        assert mask.fraction > 0.9, name


def test_a_very_dark_mole_stays_skin_but_hairs_do_not():
    mole = load_photo(real_photo("PAT_680_1289_182.png")).resized(1024)
    mask = _mask_of(mole)
    lab = rgb_to_lab(mole)
    darkest = lab[..., 0] < np.percentile(lab[..., 0], 0.5)
    assert mask.skin[darkest].mean() > 0.8  # the dark spot is measured, not masked out
    hairy = _mask_of(load_photo(real_photo("PAT_1428_1489_38.png")).resized(1024))
    assert hairy.hair.mean() > 0.03  # many hairs on this forearm


def test_face_portrait_excludes_eyes_brows_and_clothing():
    rgb = load_photo(real_photo("astronaut_skimage.png")).resized(1024)
    mask = skin_mask(rgb_to_lab(rgb))
    assert mask.skin[230:300, 420:520].mean() > 0.8  # cheeks and nose
    assert mask.skin[195:210, 395:420].mean() < 0.2  # left eye
    assert mask.skin[195:210, 480:505].mean() < 0.2  # right eye
    assert mask.skin[800:950, 300:500].mean() < 0.05  # orange suit
    brows = mask.hair[160:200, 390:530]
    assert brows.mean() > 0.1


def test_no_eyes_are_invented_on_close_ups(real_photos_dir):
    import skintrack.measure.skin as skin_module

    found = []
    original = skin_module._eyes

    def spy(*args):
        eyes = original(*args)
        found.append(bool(eyes.any()))
        return eyes

    skin_module._eyes = spy
    try:
        for path in sorted((real_photos_dir / "pad_ufes_20").glob("*.png")):
            skin_module.skin_mask(rgb_to_lab(load_photo(path).resized(1024)))
    finally:
        skin_module._eyes = original
    assert len(found) >= 19 and not any(found)
