"""Hiding who a person is before a photo leaves the clinic: face blur and eye bar.

Teaching and publication sets (:mod:`skintrack.report.teaching`) run one of
these on every photo. Both find the face with :func:`skintrack.find_face`, at
lower confidence thresholds than measuring uses: missing a face here costs a
patient's privacy, hiding a little skin by mistake costs nothing. A photo
without a face (a close-up of a scar, a back, an arm) comes back unchanged.

* :func:`blur_face` pixelates the whole face (the landmark face oval and the
  detector's box, with a margin for hair line and ears) into blocks of about a
  twelfth of the face's width, then blurs the blocks, so neither features nor
  the block pattern can be read back. The edge is feathered.
* :func:`eye_bar` draws an opaque bar over both eyes and brows (the classic
  journal bar), leaving the rest of the face visible for teaching.

Only the most confident face is hidden (:func:`find_face` returns one face).
Both functions take a :class:`~skintrack.Photo` or an ``HxWx3`` uint8 array
and return a new ``HxWx3`` uint8 array; the input is never changed.

References
----------
Newton E. M., Sweeney L., Malin B., "Preserving privacy by de-identifying face
images", IEEE TKDE 17 (2005) 232-243 (why a light blur or a thin bar is not
enough: the pixelation here is coarse and the bar covers the brows).
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import FACE_OVAL, LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE, Face, FaceConfig, find_face
from .photo import Photo, load_photo

__all__ = ["ANONYMISERS", "PRIVACY_FACE_CONFIG", "blur_face", "eye_bar", "face_region"]

#: Face finding for privacy: accept weaker detections than measuring does (a missed face is the costly error).
PRIVACY_FACE_CONFIG = FaceConfig(min_detection_score=0.3, min_presence=0.3)
#: Margin around the face oval and box, as a fraction of the face box's larger side (hair line, ears, jaw).
FACE_MARGIN = 0.15
#: Pixelation block side, as a fraction of the face box's width.
BLOCK_FRACTION = 1 / 12


def _face_of(photo: Photo | np.ndarray, face: Face | None) -> tuple[np.ndarray, Face | None]:
    photo = load_photo(photo)
    if face is None:
        face = find_face(photo, PRIVACY_FACE_CONFIG)
    return photo.rgb, face


def face_region(face: Face, shape: tuple[int, int]) -> np.ndarray:
    """``HxW`` bool mask of what :func:`blur_face` hides: face oval ∪ detector box, grown by the margin.

    Parameters
    ----------
    face : Face
    shape : (height, width)
        Of the photo the face was found in.
    """
    height, width = shape
    mask = np.zeros((height, width), np.uint8)
    oval = np.round(face.landmarks[list(FACE_OVAL)]).astype(np.int32)
    cv2.fillPoly(mask, [cv2.convexHull(oval)], 1)
    x, y, w, h = face.box
    cv2.rectangle(mask, (int(x), int(y)), (round(x + w), round(y + h)), 1, thickness=-1)
    grow = max(1, int(round(FACE_MARGIN * max(w, h, np.ptp(oval[:, 0]), np.ptp(oval[:, 1])))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(mask, kernel).astype(bool)


def blur_face(photo: Photo | np.ndarray, *, face: Face | None = None) -> np.ndarray:
    """The photo with its face pixelated and blurred beyond recognition.

    Inside :func:`face_region` the photo is averaged over blocks of side
    ``b = max(4, face width / 12)`` pixels, then Gaussian-blurred with
    ``σ = b / 2``; the result is blended in with a mask feathered over ``b``
    pixels, so there is no hard seam.

    Parameters
    ----------
    photo : Photo or ndarray
    face : Face, optional
        A face already found in this photo; found with :data:`PRIVACY_FACE_CONFIG` when omitted.

    Returns
    -------
    ndarray
        ``HxWx3`` uint8; an unchanged copy when no face is in frame.
    """
    rgb, face = _face_of(photo, face)
    if face is None:
        return np.array(rgb, copy=True)
    height, width = rgb.shape[:2]
    block = max(4, int(round(face.box[2] * BLOCK_FRACTION)))
    small = cv2.resize(rgb, (max(1, width // block), max(1, height // block)), interpolation=cv2.INTER_AREA)
    pixelated = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    hidden = cv2.GaussianBlur(pixelated, (0, 0), sigmaX=block / 2)
    mask = face_region(face, (height, width)).astype(np.float32)
    alpha = cv2.GaussianBlur(mask, (0, 0), sigmaX=block / 2)
    alpha = np.maximum(alpha, mask)[..., None]  # feather outwards only: the face itself is fully hidden
    out = rgb.astype(np.float32) * (1 - alpha) + hidden.astype(np.float32) * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def eye_bar(photo: Photo | np.ndarray, *, face: Face | None = None, colour: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The photo with an opaque bar over both eyes and brows.

    The bar is a rectangle along the line through the outer eye corners,
    reaching 35 % of the corner distance beyond each corner, from above the
    brows to below the lower lids (60 % of the corner distance in height, at
    least as tall as eyes and brows together), rotated with the face.

    Parameters
    ----------
    photo : Photo or ndarray
    face : Face, optional
        A face already found in this photo; found with :data:`PRIVACY_FACE_CONFIG` when omitted.
    colour : (r, g, b)
        The bar's colour.

    Returns
    -------
    ndarray
        ``HxWx3`` uint8; an unchanged copy when no face is in frame.
    """
    rgb, face = _face_of(photo, face)
    out = np.array(rgb, copy=True)
    if face is None:
        return out
    lm = face.landmarks
    right, left = lm[33], lm[263]  # outer eye corners: the patient's right, then left
    axis = left - right
    distance = float(np.hypot(*axis))
    if distance < 1:
        return out
    along = axis / distance
    across = np.array([-along[1], along[0]])  # points down the face in a frontal photo
    centre_line = (right + left) / 2
    points = lm[list(RIGHT_EYE + LEFT_EYE + RIGHT_BROW + LEFT_BROW)] - centre_line
    offsets = points @ across
    margin = 0.1 * distance
    top = min(float(offsets.min()) - margin, -0.3 * distance)
    bottom = max(float(offsets.max()) + margin, 0.3 * distance)
    reach = 0.85 * distance  # half the distance plus 35 % beyond each corner
    corners = np.array([
        centre_line - reach * along + top * across,
        centre_line + reach * along + top * across,
        centre_line + reach * along + bottom * across,
        centre_line - reach * along + bottom * across,
    ])  # fmt: skip
    cv2.fillPoly(out, [np.round(corners).astype(np.int32)], tuple(int(c) for c in colour))
    return out


#: The anonymisers by the names the CLI and the app offer.
ANONYMISERS = {"blur": blur_face, "eye-bar": eye_bar}
