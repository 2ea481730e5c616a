"""Registration of follow-ups to the baseline (skintrack/comparison/align.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skintrack import Alignment, align, ghost, load_photo, score
from skintrack.comparison.align import MIRRORED, AlignConfig
from skintrack.synthetic import COOL, WARM, Capture, SkinScene, SkinState

from .conftest import REAL_PHOTOS, real_photo, render

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
    aligned = score(result.photo(), measurable=result.coverage, reference=baseline_score)
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


def _mirror(photo, crop: float = 0.0):
    """``photo`` flipped left to right (a selfie camera), with ``crop`` of each side cut off."""
    rgb = load_photo(photo).rgb[:, ::-1]
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[int(h * crop) : h - int(h * crop), int(w * crop) : w - int(w * crop)])


def _acne04(name: str):
    path = REAL_PHOTOS / "external" / "acne04" / "images" / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return load_photo(path)


def test_a_mirrored_follow_up_is_refused_as_mirrored_not_compared_with_left_and_right_swapped(scene, baseline_photo):
    synthetic = align(_mirror(baseline_photo.encoded), baseline_photo.encoded)
    assert not synthetic.ok and synthetic.reason == MIRRORED and synthetic.diagnostics["mirrored"] is True
    assert synthetic.diagnostics["mirrored_quality"] >= 0.5 and synthetic.summary()["mirrored"] is True
    face = _acne04("levle0_15_v0.jpg")
    selfie = align(_mirror(face, crop=0.06), face)  # the same face from a front camera, framed a little closer
    assert not selfie.ok and selfie.diagnostics.get("mirrored") is True
    # A follow-up that fits as it is is never flipped, and photos that do not fit either way are not called mirrored.
    same_side = align(_acne04("levle0_15_v1.jpg"), face)
    assert same_side.ok and "mirrored" not in same_side.diagnostics
    other_person = align(_acne04("levle0_189_v0.jpg"), face)
    assert not other_person.ok and "mirrored" not in other_person.diagnostics
    moved = render(scene, SkinState(), Capture(seed=6, rotation_deg=7, scale=1.1, shift=(60, -40)))
    assert align(moved.encoded, baseline_photo.encoded).diagnostics.get("mirrored") is None


@pytest.mark.slow
def test_the_flipped_framings_of_real_acne_faces_are_recognised_as_mirrored():
    """acne04's registration set: 20 faces, each in two more framings, some flipped (not labelled which)."""
    counts = {"aligned": 0, "mirrored": 0, "refused": 0}
    for base_path in sorted((REAL_PHOTOS / "external" / "acne04" / "images").glob("*_v0.jpg")):
        base = load_photo(base_path)
        for variant in ("_v1", "_v2"):
            result = align(load_photo(str(base_path).replace("_v0", variant)), base)
            kind = "aligned" if result.ok else ("mirrored" if result.diagnostics.get("mirrored") else "refused")
            counts[kind] += 1
            if kind == "mirrored":  # flipped back, it is the same face framed anew: it fits
                assert align(_mirror(load_photo(str(base_path).replace("_v0", variant))), base).ok, (base_path, variant)
    if not sum(counts.values()):
        pytest.skip("acne04 not available")
    # Measured 2026-12-07: 20 aligned, 18 mirrored, 2 refused (one face whose fit is 0.48-0.49 either way).
    assert counts["mirrored"] >= 16 and counts["aligned"] + counts["mirrored"] >= 36, counts


def _repeat_pairs() -> list[list]:
    """The untreated repeat pairs of the shared set (manifest role ``repeat_pair``), each ``[first, second]``."""
    import csv

    manifest = REAL_PHOTOS / "external" / "manifest.csv"
    if not manifest.exists():
        pytest.skip(f"{manifest} not available")
    pairs: dict[str, list] = {}
    for row in csv.DictReader(manifest.open()):
        if row["role"] == "repeat_pair":
            pairs.setdefault(row["file"].rsplit("_", 1)[0], []).append(REAL_PHOTOS / "external" / row["file"])
    return [files for files in pairs.values() if len(files) == 2]


@pytest.mark.slow
def test_real_repeat_shots_and_different_lesions_are_never_called_mirrored():
    """The untreated repeat pairs (most refused today, issue 20) are the same side of the same skin, and pairs
    of different lesions are not each other's mirror image: none may be refused as mirrored."""
    both = _repeat_pairs()
    firsts = [files[0] for files in both]
    tried = [(files[1], files[0]) for files in both] + list(zip(firsts[1:10], firsts[:9]))
    assert len(tried) >= 35
    mirrored = [(a.name, b.name) for a, b in tried if align(load_photo(a), load_photo(b)).diagnostics.get("mirrored")]
    assert mirrored == []


def _repeat(name: str):
    path = REAL_PHOTOS / "external" / "repeats" / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return load_photo(path)


@pytest.mark.parametrize("turn_deg, zoom", [(40.0, 0.8), (120.0, 0.75), (-70.0, 1.25)])
def test_a_close_up_turned_zoomed_and_out_of_focus_is_registered_by_its_lesion(turn_deg, zoom):
    """A real close-up moved by a known turn and zoom, blurred and in another light; feature matching is switched
    off (min_inliers out of reach), so the lesion anchor alone must find the move, to within 1.5 px at 300 px."""
    base = _repeat("PAT_109_868_113.jpg")
    height, width = base.rgb.shape[:2]
    move = np.vstack([cv2.getRotationMatrix2D((width / 2 + 10, height / 2 - 5), turn_deg, zoom), [0, 0, 1]])
    moved = cv2.warpAffine(base.rgb, move[:2], (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    moved = cv2.GaussianBlur(moved, (0, 0), 2.5)
    moved = np.clip(255 * (moved / 255.0) ** 1.4 * np.array([1.1, 0.95, 0.85]), 0, 255).astype(np.uint8)
    result = align(moved, base, config=AlignConfig(min_inliers=10_000))
    assert result.ok, result.reason
    assert result.diagnostics["method"] == "lesion anchor"
    assert 0.5 <= result.quality < 0.8  # no matched points confirm it: never better than "fair"
    assert result.diagnostics["texture_correlation"] >= 0.3
    assert corner_rms(result.matrix, np.linalg.inv(move), width, height) <= 1.5


def test_real_repeat_close_ups_at_another_zoom_align_by_their_lesion_and_other_lesions_do_not():
    """PAT_109's second shot is 1.5x closer and turned 13°, in other light: too few matched points, so before the
    lesion anchor it was refused ("poor fit"). A different lesion with a similar round outline stays refused:
    its outline fits, the skin around it does not."""
    first, second = _repeat("PAT_109_868_113.jpg"), _repeat("PAT_109_868_723.jpg")
    same = align(second, first)
    assert same.ok and same.diagnostics["method"] == "lesion anchor", same.reason
    assert same.diagnostics["scale"] == pytest.approx(1.5, abs=0.15)
    assert align(_repeat("PAT_251_382_576.jpg"), _repeat("PAT_251_382_164.jpg")).ok
    for moving, reference in (("PAT_465_901_627.jpg", "PAT_1418_1447_334.jpg"), ("PAT_1288_1003_969.jpg", "PAT_109_868_113.jpg")):
        other = align(_repeat(moving), _repeat(reference))
        assert not other.ok, (moving, reference)
        assert other.diagnostics["lesion_anchor"]["texture_correlation"] < 0.3  # the record says what it tried


@pytest.mark.slow
def test_the_real_repeat_pairs_accepted_and_every_pair_of_different_lesions_refused():
    """All repeat pairs: measured 2026-12-07, 8 of 30 accepted (5 before the lesion anchor); each
    photo against the next patient's lesion: 0 of 29 accepted."""
    both = _repeat_pairs()
    accepted = [f[0].name for f in both if align(load_photo(f[1]), load_photo(f[0])).ok]
    assert len(accepted) >= 8, accepted
    different = [(b[1], a[0]) for a, b in zip(both[:-1], both[1:])]
    wrongly = [(m.name, r.name) for m, r in different if align(load_photo(m), load_photo(r)).ok]
    assert wrongly == []


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
    # What the provider is told reads the stored summary: the distance, not "angle, distance or light".
    from skintrack.wording import retake_advice

    assert "much farther away than the baseline" in retake_advice(result.summary())


def _phone_photo(rgb: np.ndarray, size: tuple[int, int] = (4032, 3024), rotation: float = 4.0) -> bytes:
    """``rgb`` (a square close-up) as a phone would frame it at ``size``: the skin filling the frame's height,
    turned a little, on a grey surround; JPEG bytes."""
    import cv2

    width, height = size
    side = height
    big = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rotation, 1.0)
    big = cv2.warpAffine(big, turn, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    frame = np.full((height, width, 3), 120, np.uint8)
    x = (width - side) // 2
    frame[:, x : x + side] = big
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


@pytest.fixture(scope="module")
def close_up_448():
    return load_photo(real_photo("PAT_1428_1489_38.png"))


def test_a_448_px_baseline_and_a_12_mp_follow_up_of_the_same_skin_are_one_framing(close_up_448):
    """Issue 20: the scale check compared raw pixels, so a 12 MP phone photo of the same skin as a 448 px
    baseline was "an implausible scale change (0.20x)". The framing's scale is judged (both photos at the
    same long side); the pixels' scale is kept beside it."""
    follow_up = load_photo(_phone_photo(close_up_448.rgb))
    assert follow_up.size == (4032, 3024)
    result = align(follow_up, close_up_448)
    assert result.ok, result.reason
    assert result.diagnostics["scale"] == pytest.approx(4032 / 3024, rel=0.03)  # the skin fills 3/4 of the long side
    assert result.diagnostics["pixel_scale"] == pytest.approx(448 / 3024, rel=0.03)
    assert abs(result.diagnostics["rotation_deg"]) == pytest.approx(4.0, abs=0.3)
    assert result.image.shape == close_up_448.rgb.shape
    # The warp starts from a reduced copy (no aliasing, no full decode) and still lands on the baseline.
    assert result._source[0].shape[0] < 3024
    grey = lambda rgb: rgb.astype(np.float32).mean(axis=2)  # noqa: E731
    inside = result.coverage
    assert inside.mean() > 0.9
    assert np.corrcoef(grey(result.image)[inside], grey(close_up_448.rgb)[inside])[0, 1] > 0.95
    # ... and the reverse: a 12 MP baseline, a 448 px follow-up.
    reverse = align(close_up_448, follow_up)
    assert reverse.ok, reverse.reason
    assert reverse.diagnostics["scale"] == pytest.approx(3024 / 4032, rel=0.03)


def test_a_framing_twice_as_wide_is_refused_whatever_the_resolutions(close_up_448):
    """The framing limit still holds across resolutions: the same skin in the middle third of a 12 MP frame."""
    import cv2

    frame = np.full((3024, 4032, 3), 120, np.uint8)
    small = cv2.resize(close_up_448.rgb, (1200, 1200), interpolation=cv2.INTER_CUBIC)
    frame[912:2112, 1416:2616] = small
    result = align(frame, close_up_448)
    assert result.diagnostics["scale"] > 2.0
    assert not result.ok and "scale" in result.reason


@pytest.mark.slow  # a 100 MP JPEG takes seconds to write
def test_a_100_mp_follow_up_of_a_448_px_baseline_is_compared(close_up_448):
    """The far end of phone and camera resolutions, through compare() (measuring copies, reduced-scale decode)."""
    from skintrack.comparison.compare import compare, measure_baseline

    huge = _phone_photo(close_up_448.rgb, size=(11552, 8664), rotation=-3.0)
    follow_up = load_photo(huge)
    assert follow_up.size[0] * follow_up.size[1] >= 100_000_000
    result = compare(measure_baseline(close_up_448), follow_up)
    assert result.status == "scored", result.reasons
    assert result.alignment.diagnostics["scale"] == pytest.approx(11552 / 8664, rel=0.03)
    assert abs(result.changes["redness"]) < 1.0


# --------------------------------------------------------------------------- faces (issue 20 item 2)


def _head_moved(portrait, turn_deg: float = 4.0, zoom: float = 1.05, shift=(0.03, 0.02)):
    """The real portrait with the head (its face oval and a margin) turned, zoomed and shifted in front of a
    background, hair and shoulders that stay where they were, as when a patient moves only the head between
    two shots. Returns the photo and the true move (3x3, baseline pixels to follow-up pixels)."""
    from skintrack import find_face
    from skintrack.measure.face import FACE_OVAL

    rgb = portrait.rgb
    height, width = rgb.shape[:2]
    face = find_face(portrait)
    centre = face.landmarks.mean(axis=0)
    move = np.vstack([cv2.getRotationMatrix2D(tuple(centre), turn_deg, zoom), [0.0, 0.0, 1.0]])
    move[0, 2] += shift[0] * width
    move[1, 2] += shift[1] * height
    moved = cv2.warpPerspective(rgb, move, (width, height), borderMode=cv2.BORDER_REFLECT)
    head = np.zeros((height, width), np.uint8)
    cv2.fillPoly(head, [np.round(face.landmarks[list(FACE_OVAL)]).astype(np.int32)], 255)
    head = cv2.dilate(head, np.ones((int(0.1 * width),) * 2, np.uint8))
    head = cv2.warpPerspective(head, move, (width, height)) > 0
    out = rgb.copy()
    out[head] = moved[head]
    return out, move, face


def _landmark_error_px(matrix, move, face) -> float:
    """Mean distance (px) between the baseline's landmarks and where ``matrix`` puts the follow-up's."""
    points = np.c_[face.landmarks, np.ones(len(face.landmarks))]
    carried = (matrix @ move @ points.T).T
    return float(np.hypot(*(carried[:, :2] / carried[:, 2:] - face.landmarks).T).mean())


def test_a_head_moved_in_front_of_a_still_background_is_fitted_by_the_face():
    """Before: the background and shoulders outnumbered the face's points and the follow-up was "aligned"
    (quality 0.86) 34 px off on the face. Matches are now kept only on both faces where the landmarks' fit
    puts them."""
    portrait = load_photo("sample_images/demo-002/2026-03-02_full-face.jpg")
    follow_up, move, face = _head_moved(portrait)
    result = align(follow_up, portrait)
    assert result.ok and result.quality > 0.8, result.reason
    assert _landmark_error_px(result.matrix, move, face) < 1.0
    assert result.diagnostics["face"] is True and result.diagnostics["keypoints_off_face"] > 1000
    assert result.diagnostics["landmark_error"] < 0.05
    # The fit the background gives: what registering faces prevents.
    by_background = align(follow_up, portrait, config=AlignConfig(register_faces=False))
    assert _landmark_error_px(by_background.matrix, move, face) > 10.0


def _relit(rgb: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    linear = rgb.astype(np.float32) / 255.0
    linear = np.clip(linear ** rng.uniform(0.7, 1.4) * rng.uniform(0.8, 1.1, 3), 0.0, 1.0)
    return (cv2.GaussianBlur(linear, (0, 0), 1.0) * 255).astype(np.uint8)


def test_a_face_whose_points_do_not_match_is_registered_by_its_landmarks_and_its_skin_proves_it():
    """No feature matches (forced): the two meshes give the start, ECC refines it, and the fine texture of the
    face's skin must line up. Any two faces fit each other's landmarks; another person's skin does not."""
    portrait = load_photo("sample_images/demo-002/2026-03-02_full-face.jpg")
    follow_up, move, face = _head_moved(portrait, turn_deg=-6.0, zoom=0.9, shift=(-0.04, 0.03))
    no_features = AlignConfig(min_inliers=10**6)
    result = align(_relit(follow_up, 1), portrait, config=no_features)
    assert result.ok, result.reason
    assert result.diagnostics["method"] == "face landmarks"
    assert result.diagnostics["texture_correlation"] > 0.8  # measured 0.94-0.99 on acne04 faces moved and relit
    assert 0.5 <= result.quality < 0.8  # no matched points confirm it: "fair" at best
    assert _landmark_error_px(result.matrix, move, face) < 2.0
    other = _acne04("levle0_15_v0.jpg")  # another person (a face turned 40°)
    refused = align(other, portrait, config=no_features)
    assert not refused.ok and refused.diagnostics["method"] == "face landmarks"
    assert refused.diagnostics["texture_correlation"] < 0.2  # measured at most 0.1 between acne04's people
    assert not align(other, portrait).ok


def test_a_face_follow_up_through_compare_is_measured_on_the_face_not_the_background():
    """Through compare(): the follow-up's coverage and the aligned photo follow the face, and the record
    keeps how well the landmarks agree."""
    from skintrack.comparison.compare import compare, measure_baseline

    portrait = load_photo("sample_images/demo-002/2026-03-02_full-face.jpg")
    follow_up, move, face = _head_moved(portrait)
    first = measure_baseline(portrait, zone="left_cheek")
    later = compare(first, follow_up)
    assert later.status == "scored", later.reasons
    record = later.alignment.summary()
    assert record["face"] is True and record["landmark_error"] < 0.05
    assert _landmark_error_px(later.alignment.matrix, move, face) < 1.0
    # The same cheek, unchanged: its lines too (fitted by the background, the follow-up's lines measured
    # -0.72 against the baseline's; by the face, 0.00).
    assert abs(later.changes["redness"]) < 0.3 and abs(later.changes["line_density"]) < 0.2
