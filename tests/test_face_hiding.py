"""Face blur and eye bar (skintrack/privacy/face_hiding.py) on a real portrait and a real close-up."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skintrack import load_photo
from skintrack.measure.face import FaceConfig, find_face
from skintrack.privacy.face_hiding import PRIVACY_FACE_CONFIG, blur_face, eye_bar, face_region, hide_faces

from .conftest import REAL_PHOTOS, REPO

PORTRAIT = REAL_PHOTOS / "public_domain" / "astronaut_skimage.png"
CLOSE_UP = REPO / "sample_images" / "2026-05-04_left-cheek.jpg"

pytestmark = pytest.mark.skipif(not PORTRAIT.exists(), reason="../shared/real_photos is not beside the repository")


@pytest.fixture(scope="module")
def portrait():
    photo = load_photo(PORTRAIT)
    return photo, find_face(photo)


def test_blurred_face_cannot_be_found_again_and_the_rest_is_untouched(portrait):
    photo, face = portrait
    blurred = blur_face(photo)
    assert blurred.shape == photo.rgb.shape and blurred.dtype == np.uint8
    # The face detector itself no longer sees a face, even at the privacy thresholds.
    assert find_face(blurred, PRIVACY_FACE_CONFIG) is None
    region = face_region(face, photo.rgb.shape[:2])
    # Every landmark (eyes, nose, mouth, jaw line) lies inside what is hidden.
    xs, ys = np.round(face.landmarks).astype(int).T
    assert region[ys, xs].all()
    # Inside the face the fine detail (eyes, lips, edges: the Laplacian's energy) is gone.
    inside = np.zeros(region.shape, np.uint8)
    cv2.fillPoly(inside, [cv2.convexHull(np.round(face.landmarks).astype(np.int32))], 1)
    inside = inside.astype(bool)
    def detail(rgb):
        return float(np.square(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F))[inside].mean())

    assert detail(blurred) < detail(photo.rgb) / 20
    # Far from the face (beyond the feathered edge) the photo is unchanged.
    grown = np.zeros_like(region)
    ys_r, xs_r = np.nonzero(region)
    grown[max(0, ys_r.min() - 40) : ys_r.max() + 41, max(0, xs_r.min() - 40) : xs_r.max() + 41] = True
    far = ~grown
    assert np.array_equal(blurred[far], photo.rgb[far])
    # The input is never changed.
    assert not np.shares_memory(blurred, photo.rgb)


def test_eye_bar_covers_both_pupils_and_brows_and_leaves_the_mouth(portrait):
    photo, face = portrait
    barred = eye_bar(photo, colour=(0, 0, 0))
    for x, y in np.round(face.pupils).astype(int):
        assert (barred[y, x] == 0).all()
    for index in (105, 334):  # a point on each brow
        x, y = np.round(face.landmarks[index]).astype(int)
        assert (barred[y, x] == 0).all()
    x, y = np.round(face.landmarks[13]).astype(int)  # upper lip
    assert np.array_equal(barred[y - 3 : y + 4, x - 3 : x + 4], photo.rgb[y - 3 : y + 4, x - 3 : x + 4])
    changed = np.any(barred != photo.rgb, axis=2)
    assert changed.mean() < 0.05  # a bar, not a mask over the whole photo


def test_a_close_up_without_a_face_comes_back_unchanged():
    photo = load_photo(CLOSE_UP)
    assert find_face(photo, PRIVACY_FACE_CONFIG) is None
    for hide in (blur_face, eye_bar):
        out = hide(photo)
        assert np.array_equal(out, photo.rgb) and not np.shares_memory(out, photo.rgb)


def test_a_face_passed_in_is_used_instead_of_searching_again(portrait, monkeypatch):
    photo, face = portrait
    from skintrack.privacy import face_hiding

    monkeypatch.setattr(face_hiding, "find_face", lambda *a, **k: pytest.fail("searched again"))
    assert not np.array_equal(blur_face(photo, face=face), photo.rgb)
    assert not np.array_equal(eye_bar(photo, face=face), photo.rgb)


def _interior(face, shape) -> np.ndarray:
    """The face itself: the convex hull of its landmarks, clipped to the frame."""
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [cv2.convexHull(np.round(face.landmarks).astype(np.int32))], 1)
    return inside.astype(bool)


def _checkerboard(shape) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.where((ys + xs) % 2 == 0, 1.0, -1.0)


def _checkered(rgb: np.ndarray, where: np.ndarray, amplitude: int) -> np.ndarray:
    """``rgb`` with a one-pixel checkerboard of ±amplitude added where ``where``: detail no hiding may let through."""
    out = rgb.astype(float) + amplitude * (_checkerboard(rgb.shape[:2]) * where)[..., None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _leak(hidden_marked: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """How much of the added checkerboard each pixel of the result still carries (its local amplitude)."""
    difference = hidden_marked.astype(float).mean(axis=2) - hidden.astype(float).mean(axis=2)
    return np.abs(cv2.blur(difference * _checkerboard(difference.shape), (3, 3)))


@pytest.mark.parametrize("cut", ["left", "top", "right", "bottom"])
def test_a_face_cut_by_the_frame_edge_is_hidden_right_up_to_the_edge(portrait, cut):
    """A face the frame cuts through is hidden to the last pixel of the frame: fine detail added anywhere in
    the face (a one-pixel checkerboard) does not show through, least of all along the edge."""
    photo, face = portrait
    x0, y0, w, h = (int(v) for v in face.box)
    crop = {"left": np.s_[:, x0 + w // 3 :], "top": np.s_[y0 + h // 3 :, :],
            "right": np.s_[:, : x0 + 2 * w // 3], "bottom": np.s_[: y0 + 2 * h // 3, :]}[cut]  # fmt: skip
    rgb = np.ascontiguousarray(photo.rgb[crop])
    found = find_face(rgb, FaceConfig(min_detection_score=0.1, min_presence=0.1))
    assert found is not None
    inside = _interior(found, rgb.shape[:2])
    edge = np.zeros_like(inside)
    edge[:2], edge[-2:], edge[:, :2], edge[:, -2:] = True, True, True, True
    assert (inside & edge).sum() > 20  # the face really reaches the frame's edge
    amplitude = 24
    marked = _checkered(rgb, inside, amplitude)
    assert np.median(_leak(marked, rgb)[inside]) > 0.8 * amplitude  # the detail is there before hiding...
    # ...and gone after: blur_face with the face given, and hide_faces finding it itself.
    hiders = {"blur_face": lambda image: blur_face(image, face=found), "hide_faces": lambda image: hide_faces(image)[0]}
    for name, hide in hiders.items():
        leak = _leak(hide(marked), hide(rgb))
        worst = float(leak[inside].max())
        assert worst < 0.1 * amplitude, f"{name}: detail shows through inside the face ({worst:.1f})"


@pytest.mark.parametrize("face_width", [40, 48, 64])
def test_a_small_face_cut_by_the_frame_edge_is_hidden_right_up_to_the_edge(portrait, face_width):
    """A face too small for landmarks (down to the promised 40 px), hidden by its box: cut by the frame's right
    edge, it is hidden up to the last column (detail added to the face does not show through anywhere)."""
    from .conftest import real_photo

    photo, face = portrait
    fx, fy, fw, fh = face.box
    scale = face_width / fw
    small = cv2.resize(photo.rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    skin = load_photo(real_photo("PAT_297_4307_924.png")).rgb
    canvas = np.ascontiguousarray(cv2.resize(skin, (640, 480), interpolation=cv2.INTER_CUBIC))
    # Paste the head so that the frame's right edge cuts off the face's right third.
    left, top = int(fx * scale) - face_width, int(fy * scale) - face_width // 2
    y, x = 200, canvas.shape[1] - (face_width + face_width - face_width // 3)
    part = small[top : top + 3 * face_width, left : left + canvas.shape[1] - x]
    canvas[y : y + part.shape[0], x : x + part.shape[1]] = part
    inside = np.zeros(canvas.shape[:2], bool)  # the face's interior: its box without the outer sixth
    fx0, fy0 = x + face_width, y + face_width // 2
    inside[fy0 + face_width // 6 : fy0 + face_width - face_width // 6, fx0 + face_width // 6 :] = True
    assert inside[:, -1].any()
    amplitude = 24
    marked = _checkered(canvas, inside, amplitude)
    hidden, count = hide_faces(canvas)
    assert count >= 1
    leak = _leak(hide_faces(marked)[0], hidden)
    assert leak[inside].max() < 0.1 * amplitude, f"detail shows through inside the face ({leak[inside].max():.1f})"


@pytest.mark.parametrize("side", [290, 300])
def test_a_face_at_the_close_range_detectors_size_limit_is_still_hidden(portrait, side):
    """The portrait shrunk into a corner of a 512 px frame: a face about 55 px wide, where the close-range
    detector's confidence falls below one half (less sure than measuring needs). Missing a face costs
    privacy, so blur_face and eye_bar must still hide it: its detail gone, both pupils under the bar."""
    photo, face = portrait
    scale = side / photo.rgb.shape[1]
    canvas = np.full((512, 512, 3), 128, np.uint8)
    canvas[:side, :side] = cv2.resize(photo.rgb, (side, side), interpolation=cv2.INTER_AREA)
    landmarks = face.landmarks * scale
    inside = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(inside, [cv2.convexHull(np.round(landmarks).astype(np.int32))], 1)
    inside = inside.astype(bool)

    def detail(rgb):
        return float(np.square(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F))[inside].mean())

    assert detail(blur_face(canvas)) < detail(canvas) / 10
    barred = eye_bar(canvas, colour=(0, 0, 0))
    for x, y in np.round(face.pupils * scale).astype(int):
        assert (barred[y - 1 : y + 2, x - 1 : x + 2] == 0).all()
    # Each stays a local change: the frame around the face is left as it was.
    assert np.array_equal(blur_face(canvas)[:, side + 60 :], canvas[:, side + 60 :])
