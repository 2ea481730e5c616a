"""Hiding who a person is before a photo leaves the clinic: face blur and eye bar.

Teaching and publication sets (:mod:`skintrack.privacy.teaching`) run one of
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

**Every face, at any size down to about** :data:`MIN_FACE_PX` **pixels wide**:
:func:`find_faces` runs BlazeFace full-range (192 × 192, faces up to ~5 m; the
model ships in the same MIT package as the short-range one) over the whole
photo and over overlapping tiles of an image pyramid (tiles of
:data:`TILE` pixels, so a 40-pixel face fills a sixth of one), plus
:func:`find_face`'s short-range detector and face mesh for the close face. A
face found only by its box is hidden by its box, grown by a margin.
:func:`hide_faces` hides each one, then looks again at the result with the
same detectors: a photo in which a face can still be found is refused
(:class:`FaceStillVisible`) rather than exported as it is, so a teaching set
leaves it out and says why.

:func:`blur_face` and :func:`eye_bar` take a :class:`~skintrack.Photo` or an
``HxWx3`` uint8 array and return a new ``HxWx3`` uint8 array; the input is
never changed.

References
----------
Newton E. M., Sweeney L., Malin B., "Preserving privacy by de-identifying face
images", IEEE TKDE 17 (2005) 232-243 (why a light blur or a thin bar is not
enough: the pixelation here is coarse and the bar covers the brows).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..intake.photo import Photo, load_photo
from ..measure.face import FACE_OVAL, LEFT_BROW, LEFT_EYE, MODELS, RIGHT_BROW, RIGHT_EYE, Face, FaceConfig, find_face

__all__ = ["ANONYMISERS", "MIN_FACE_PX", "PRIVACY_FACE_CONFIG", "FaceBox", "FaceStillVisible", "blur_face", "eye_bar",
           "face_region", "find_faces", "hide_faces"]  # fmt: skip

#: Face finding for privacy: accept weaker detections than measuring does (a missed face is the costly error).
PRIVACY_FACE_CONFIG = FaceConfig(min_detection_score=0.3, min_presence=0.3)
#: Margin around the face oval and box, as a fraction of the face box's larger side (hair line, ears, jaw).
FACE_MARGIN = 0.15
#: Pixelation block side, as a fraction of the face box's width.
BLOCK_FRACTION = 1 / 12


#: Smallest face width (pixels of the photo) :func:`find_faces` is built to find.
MIN_FACE_PX = 40
#: Tile side (photo pixels at each pyramid level) for the full-range detector; overlap keeps any face whole in one.
TILE = 384
TILE_STEP = 256
#: Detection score above which a full-range box counts as a face (a missed face costs privacy).
FULL_RANGE_SCORE = 0.5
#: Score at which a hidden face counts as still visible (a pixelated face still gives a face-shaped blob
#: scores near 0.55; a face the pixelation failed to hide scores as it did before, 0.8 or more).
STILL_VISIBLE_SCORE = 0.75


class FaceStillVisible(ValueError):
    """A face could still be found after hiding faces: the photo must not leave the clinic as it is."""


@dataclass(frozen=True)
class FaceBox:
    """A face found in a photo: its box ``(x, y, width, height)`` in the photo's pixels and the detector's score."""

    x: float
    y: float
    width: float
    height: float
    score: float


_FULL_LOCK = threading.Lock()
_FULL_NET = None


def _full_range_anchors() -> np.ndarray:
    cells = 48  # one anchor per 4-pixel cell of the 192 x 192 input
    grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    xs, ys = np.meshgrid(grid, grid)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


_FULL_ANCHORS = _full_range_anchors()


def _full_range(rgb: np.ndarray, min_score: float) -> list[FaceBox]:
    """BlazeFace full-range on one image (letter-boxed to 192 x 192): every box above ``min_score``, merged by
    score-weighted non-maximum suppression, in ``rgb``'s pixels."""
    global _FULL_NET
    height, width = rgb.shape[:2]
    scale = 192.0 / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.zeros((192, 192, 3), np.uint8)
    off_x, off_y = (192 - new_w) // 2, (192 - new_h) // 2
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[off_y : off_y + new_h, off_x : off_x + new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
    with _FULL_LOCK:
        if _FULL_NET is None:
            _FULL_NET = cv2.dnn.readNetFromTFLite(str(MODELS / "face_detection_full_range.tflite"), cv2.dnn.ENGINE_CLASSIC)
        _FULL_NET.setInput(cv2.dnn.blobFromImage(canvas, 1.0 / 127.5, (192, 192), mean=(127.5, 127.5, 127.5)))
        classes, regressors = _FULL_NET.forward(["reshaped_classifier_face_4", "reshaped_regressor_face_4"])
    scores = 1.0 / (1.0 + np.exp(-np.clip(classes.reshape(-1).astype(np.float64), -80, 80)))
    keep = scores >= min_score
    if not keep.any():
        return []
    raw = regressors.reshape(-1, 8, 2)[:, :2].astype(np.float64) / 192.0
    centre = raw[:, 0] + _FULL_ANCHORS
    size = raw[:, 1]
    boxes = []
    for (cx, cy), (w, h), score in _merge(centre[keep], size[keep], scores[keep]):
        x = (cx * 192 - off_x - w * 96) / scale
        y = (cy * 192 - off_y - h * 96) / scale
        boxes.append(FaceBox(x, y, w * 192 / scale, h * 192 / scale, score))
    return boxes


def _merge(centre: np.ndarray, size: np.ndarray, scores: np.ndarray, overlap: float = 0.3):
    """Score-weighted non-maximum suppression (MediaPipe's): ``[(centre, size, best score)]``."""
    lo, hi = centre - size / 2, centre + size / 2
    used = np.zeros(len(scores), bool)
    out = []
    for best in np.argsort(-scores):
        if used[best]:
            continue
        inter = np.clip(np.minimum(hi, hi[best]) - np.maximum(lo, lo[best]), 0, None).prod(axis=1)
        union = size.prod(axis=1) + size[best].prod() - inter
        members = ~used & (inter / np.maximum(union, 1e-12) > overlap)
        members[best] = True
        used |= members
        weights = scores[members] / scores[members].sum()
        out.append(((centre[members] * weights[:, None]).sum(0), (size[members] * weights[:, None]).sum(0),
                    float(scores[best])))  # fmt: skip
    return out


def find_faces(photo: Photo | np.ndarray, *, min_score: float = FULL_RANGE_SCORE) -> list[FaceBox]:
    """Every face in a photo, down to about :data:`MIN_FACE_PX` pixels wide.

    BlazeFace full-range runs on the whole photo and on tiles of
    :data:`TILE` pixels every :data:`TILE_STEP` pixels at each level of an
    image pyramid (halving until one tile covers the photo): at the full-size
    level a 40-pixel face is a sixth of a tile, about the size the model finds
    best; larger faces are found at coarser levels. :func:`find_face`'s
    short-range detector adds the close, frontal face. Overlapping boxes are
    merged.

    Parameters
    ----------
    photo : Photo or ndarray
    min_score : float
        Detection score above which a box counts as a face.

    Returns
    -------
    list of FaceBox
        In the photo's full-resolution pixels, most confident first.
    """
    photo = load_photo(photo)
    rgb = photo.rgb
    height, width = rgb.shape[:2]
    found: list[FaceBox] = []
    level, factor = rgb, 1.0
    while True:
        h, w = level.shape[:2]
        found += [_scaled(b, factor) for b in _full_range(level, min_score)]
        if max(h, w) > TILE:
            for y in _starts(h):
                for x in _starts(w):
                    tile = level[y : y + TILE, x : x + TILE]
                    found += [_scaled(FaceBox(b.x + x, b.y + y, b.width, b.height, b.score), factor)
                              for b in _full_range(tile, min_score)]  # fmt: skip
        if max(h, w) <= 2 * TILE:
            break
        level = cv2.resize(level, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        factor *= w / level.shape[1]
    close = find_face(photo, PRIVACY_FACE_CONFIG)
    if close is not None:
        x, y, w, h = close.box
        found.append(FaceBox(x, y, w, h, max(close.score, min_score)))
    if not found:
        return []
    centre = np.array([[b.x + b.width / 2, b.y + b.height / 2] for b in found])
    size = np.array([[b.width, b.height] for b in found])
    scores = np.array([b.score for b in found])
    merged = [FaceBox(c[0] - s[0] / 2, c[1] - s[1] / 2, s[0], s[1], score) for c, s, score in _merge(centre, size, scores, 0.2)]
    return [b for b in merged if b.width >= 4 and b.height >= 4 and b.x < width and b.y < height]


def _starts(length: int) -> list[int]:
    if length <= TILE:
        return [0]
    starts = list(range(0, length - TILE, TILE_STEP))
    return starts + [length - TILE]


def _scaled(box: FaceBox, factor: float) -> FaceBox:
    return FaceBox(box.x * factor, box.y * factor, box.width * factor, box.height * factor, box.score)


def _box_mask(box: FaceBox, shape: tuple[int, int]) -> np.ndarray:
    """The box grown by :data:`FACE_MARGIN` on each side and upwards for the hair line, as an ellipse-cornered mask."""
    height, width = shape
    grow = FACE_MARGIN * max(box.width, box.height)
    x0, y0 = int(np.floor(box.x - grow)), int(np.floor(box.y - 1.5 * grow))
    x1, y1 = int(np.ceil(box.x + box.width + grow)), int(np.ceil(box.y + box.height + grow))
    mask = np.zeros((height, width), np.uint8)
    cv2.rectangle(mask, (max(0, x0), max(0, y0)), (min(width - 1, x1), min(height - 1, y1)), 1, thickness=-1)
    return mask.astype(bool)


def _pixelate(rgb: np.ndarray, mask: np.ndarray, block: int) -> np.ndarray:
    """``rgb`` with the masked part averaged over ``block``-pixel blocks, then blurred (σ = block / 2), feathered out."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return rgb
    pad = 3 * block
    y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
    part = rgb[y0:y1, x0:x1]
    height, width = part.shape[:2]
    small = cv2.resize(part, (max(1, width // block), max(1, height // block)), interpolation=cv2.INTER_AREA)
    pixelated = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    hidden = cv2.GaussianBlur(pixelated, (0, 0), sigmaX=block / 2)
    inside = mask[y0:y1, x0:x1].astype(np.float32)
    alpha = cv2.GaussianBlur(inside, (0, 0), sigmaX=block / 2)
    alpha = np.maximum(alpha, inside)[..., None]
    out = np.array(rgb, copy=True)
    out[y0:y1, x0:x1] = np.clip(np.round(part.astype(np.float32) * (1 - alpha) + hidden.astype(np.float32) * alpha), 0, 255)
    return out


def hide_faces(photo: Photo | np.ndarray, method: str = "blur") -> tuple[np.ndarray, int]:
    """Hide every face in a photo (:func:`find_faces`), then check none can still be found.

    Parameters
    ----------
    photo : Photo or ndarray
    method : {"blur", "eye-bar"}
        ``blur`` pixelates and blurs each face (with its landmark oval when the
        face mesh finds it, else its box grown by a margin); ``eye-bar`` bars the
        eyes of a face whose landmarks are found and pixelates any other face
        (a face too small for landmarks has no eyes to bar). Either way the
        result is searched again, and every face but the barred one must be gone.

    Returns
    -------
    (ndarray, int)
        The ``HxWx3`` uint8 result and how many faces were hidden.

    Raises
    ------
    FaceStillVisible
        A face is still found in the result: leave the photo out.
    """
    if method not in ANONYMISERS:
        raise ValueError(f"method must be one of {', '.join(ANONYMISERS)}, not {method!r}")
    photo = load_photo(photo)
    rgb = photo.rgb
    boxes = find_faces(photo)
    if not boxes:
        return np.array(rgb, copy=True), 0
    close = find_face(photo, PRIVACY_FACE_CONFIG)
    barred = close if (method == "eye-bar" and close is not None) else None
    out = eye_bar(photo, face=close) if barred is not None else np.array(rgb, copy=True)
    for box in boxes:
        if barred is not None and _same_face(box, barred):
            continue  # barred, as asked
        mask = _box_mask(box, rgb.shape[:2])
        if close is not None and _same_face(box, close):
            mask |= face_region(close, rgb.shape[:2])
        # Blocks of a sixth of the face: no feature survives, whatever the face's size.
        out = _pixelate(out, mask, max(3, int(round(max(box.width, box.height) / 6))))
    # Look again, whatever the method (an eye-barred face is still a face by design; every other one must be
    # gone): a face found where none was hidden is hidden too (the pyramid sees the changed photo afresh); one
    # found where a face was hidden, with a face's confidence, means hiding failed.
    for _ in range(2):
        again = [b for b in find_faces(out) if barred is None or not _same_face(b, barred)]
        failed = [b for b in again if any(_overlap(b, h) for h in boxes) and b.score >= STILL_VISIBLE_SCORE]
        if failed:
            raise FaceStillVisible(
                f"{len(failed)} face(s) could still be found after hiding {len(boxes)}; the photo is left out."
            )
        new = [b for b in again if not any(_overlap(b, h) for h in boxes)]
        if not new:
            break
        for box in new:
            out = _pixelate(out, _box_mask(box, rgb.shape[:2]), max(3, int(round(max(box.width, box.height) / 6))))
        boxes += new
    else:
        raise FaceStillVisible("Faces kept appearing while hiding them; the photo is left out.")
    return out, len(boxes)


def _overlap(a: FaceBox, b: FaceBox) -> bool:
    ix = max(0.0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    return ix * iy > 0.2 * min(a.width * a.height, b.width * b.height)


def _same_face(box: FaceBox, face: Face) -> bool:
    x, y, w, h = face.box
    ix = max(0.0, min(box.x + box.width, x + w) - max(box.x, x))
    iy = max(0.0, min(box.y + box.height, y + h) - max(box.y, y))
    return ix * iy > 0.3 * min(box.width * box.height, w * h)


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
