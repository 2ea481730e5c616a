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


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _encoded(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.round(255.0 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)).astype(np.uint8)


def _darker_and_lit_from_one_side(rgb: np.ndarray, face) -> np.ndarray:
    """The same face with much more melanin (linear-light transmittance 0.30 / 0.20 / 0.14 for R / G / B: more
    absorption at short wavelengths) and lit from one side (light falling to 12 % across the face): dark skin in
    side light, made with the sRGB curve written out here, not skintrack's."""
    x0, x1 = face.landmarks[:, 0].min(), face.landmarks[:, 0].max()
    light = 0.12 + 0.88 * np.clip((np.arange(rgb.shape[1]) - x0) / (x1 - x0), 0.0, 1.0)
    return _encoded(_linear(rgb) * np.array([0.30, 0.20, 0.14]) * light[None, :, None])


@pytest.mark.parametrize("photo", [
    "sample_images/demo-002/2026-03-02_full-face.jpg", "astronaut_skimage.png",
    "acne04/levle0_373_v0.jpg", "acne04/levle2_1.jpg", "acne04/levle0_110.jpg",
])  # fmt: skip
def test_dark_skin_in_shadow_stays_skin(photo):
    """Issue 19 item 5: on dark skin lit from the side half the face was dropped. Real faces (frontal and turned
    27-36°) made darker and lit from one side keep at least 90 % of the skin found on the original (the issue:
    95 % median, 85 % worst); the face's shadow side reaches L* 5-10, below the fixed near-black cut-off of L* 10
    (now relative to the face's own lightness)."""
    from skintrack import find_face

    from .conftest import REPO

    if photo.startswith("sample_images"):
        path = REPO / photo
    elif photo.startswith("acne04/"):
        path = REPO.parent / "shared" / "real_photos" / "external" / "acne04" / "images" / photo.split("/")[1]
        if not path.exists():
            pytest.skip(f"{path} not available")
    else:
        path = real_photo(photo)
    rgb = np.ascontiguousarray(load_photo(path).resized(1024))
    face = find_face(rgb)
    assert face is not None
    original = skin_mask(rgb_to_lab(rgb), face=face).skin
    dark = _darker_and_lit_from_one_side(rgb, face)
    lab = rgb_to_lab(dark)
    kept = skin_mask(lab, face=face).skin
    assert (original & kept).sum() >= 0.90 * original.sum()


def test_the_near_black_cut_off_follows_the_faces_own_lightness(monkeypatch):
    """What the test above guards: with the fixed cut-off (L* 10) the shadow side of a dark face turned 33° was
    dropped (71 % of its skin kept), and a face of ordinary lightness keeps the cut-off it had."""
    from skintrack import find_face
    from skintrack.measure import skin

    from .conftest import REPO

    path = REPO.parent / "shared" / "real_photos" / "external" / "acne04" / "images" / "levle2_1.jpg"
    if not path.exists():
        pytest.skip(f"{path} not available")
    rgb = np.ascontiguousarray(load_photo(path).resized(1024))
    face = find_face(rgb)
    original = skin_mask(rgb_to_lab(rgb), face=face).skin
    lab = rgb_to_lab(_darker_and_lit_from_one_side(rgb, face))
    relative = skin_mask(lab, face=face).skin
    monkeypatch.setattr(skin, "DARK_FRACTION", 1.0)  # min(10, 1.0 * face L*) = 10: the old rule
    fixed = skin_mask(lab, face=face).skin
    assert (original & fixed).sum() < 0.85 * original.sum() <= 0.90 * original.sum() <= (original & relative).sum()
    assert np.array_equal(skin_mask(rgb_to_lab(rgb), face=face).skin, original)  # ordinary light: the same mask
