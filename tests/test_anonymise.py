"""Face blur and eye bar (skintrack/anonymise.py) on a real portrait and a real close-up."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skintrack import load_photo
from skintrack.anonymise import PRIVACY_FACE_CONFIG, blur_face, eye_bar, face_region
from skintrack.face import find_face

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
    from skintrack import anonymise

    monkeypatch.setattr(anonymise, "find_face", lambda *a, **k: pytest.fail("searched again"))
    assert not np.array_equal(blur_face(photo, face=face), photo.rgb)
    assert not np.array_equal(eye_bar(photo, face=face), photo.rgb)
