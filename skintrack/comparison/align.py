"""Register a follow-up photo to the baseline, and say how well it worked.

:func:`align` finds the transform that maps the follow-up ("moving") photo onto
the baseline ("reference") geometry:

0. when both photos show a face (found confidently, :func:`skintrack.find_face`), the face is
   what is registered: a similarity fitted to the two 468-point meshes (least median of squares)
   says where each point of the follow-up's face belongs, and only matches on both faces that
   agree with it (within a tenth of the pupil distance) are kept in step 2, so a head moved in
   front of a still background, chair or shoulders is not "aligned" by them; the correlation that
   judges the fit is taken over the baseline's face. When too few such matches remain, the
   landmarks' fit, refined by ECC on the face, is accepted only when the fine texture of the
   face's skin then lines up (any two faces fit each other's landmarks);
1. both photos at a matching scale (long side 1024 px), grey, contrast-limited
   histogram equalisation (CLAHE) so different exposure or white balance does
   not change what is found;
2. AKAZE features, Hamming matching with Lowe's ratio test (0.8);
3. RANSAC fit of a similarity (rotation, uniform scale, shift; default) or a
   homography, refined by least squares on its inliers (3 px threshold at
   the matching scale);
4. when fewer than 100 matches survive, an ECC refinement (Evangelidis &
   Psarakis 2008) on a half-scale copy, kept only if it raises the
   correlation; when matching fails altogether (different light, little
   texture), ECC on gradient images started from the identity (follow-ups are
   framed alike), accepted only if the fine skin texture then lines up
   (correlation of a difference of Gaussians), so two people photographed in
   the same set-up are never "aligned" by their outlines;
5. the result is checked: the enhanced correlation coefficient of the two
   photos after warping (on the overlap), the number and share of inliers,
   the overlap (fraction of the reference covered) and a plausible scale
   (0.5-2x) of the *framing*: the scale change with both photos brought to the
   same long side, so a 448 px baseline and a 12 MP follow-up of the same skin
   (or the reverse) are one framing, not a 9x zoom; the change in pixels is kept
   as ``pixel_scale``. ``quality`` in [0, 1] combines them; ``ok`` is False with a reason
   when registration failed, so callers refuse to compare rather than compare
   garbage. Never raises for unrelated photos;
6. a follow-up that failed is tried once more as its mirror image: when that
   fits, it is refused as mirrored (a selfie camera or a flipped export), so
   left and right are never silently swapped.

:func:`ghost` blends the follow-up over the reference, to guide capture and to
show the fit.

References
----------
Kartynnik Y. et al., "Real-time facial surface geometry from monocular video on mobile GPUs", CVPR
Workshops 2019 (the face mesh); Alcantarilla P. F. et al., "Fast explicit diffusion for accelerated features in
nonlinear scale spaces" (AKAZE), BMVC 2013; Fischler M. A., Bolles R. C.,
"Random sample consensus", CACM 24 (1981) 381-395; Evangelidis G. D., Psarakis
E. Z., "Parametric image alignment using enhanced correlation coefficient
maximization", IEEE TPAMI 30 (2008) 1858-1865.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from ..intake.photo import Photo, load_photo
from ..measure.analysis import photo_face
from ..measure.face import oval_mask, zone_masks

__all__ = ["MIRRORED", "AlignConfig", "Alignment", "align", "ghost", "prepare_reference", "remember_reference_analysis"]


@dataclass(frozen=True)
class AlignConfig:
    """Settings of :func:`align` (all part of a comparison's settings hash, :mod:`skintrack.compare`)."""

    match_size: int = 1024  #: long side at which features are matched, px
    akaze_threshold: float = 0.0001  #: AKAZE detector response threshold
    ratio: float = 0.8  #: Lowe's ratio test
    ransac_px: float = 3.0  #: RANSAC inlier threshold at the matching scale, px
    min_inliers: int = 12  #: fewer consistent matches: features failed
    full_quality_inliers: int = 30  #: inliers for full quality
    ecc_refine_below: int = 100  #: refine with ECC when fewer inliers than this
    min_quality: float = 0.5  #: below: not comparable
    min_overlap: float = 0.5  #: share of the baseline the follow-up must cover
    min_scale: float = 0.5  #: plausible scale change, follow-up to baseline ...
    max_scale: float = 2.0  #: ... (outside: another distance, another area, or a wrong fit)
    coverage_margin_px: int = 8  #: follow-up pixels this close to its edge are not measured (interpolation)
    anchor_size: int = 256  #: long side at which a close-up's lesion anchors the fit, px
    anchor_texture: float = 0.3  #: least skin-texture correlation around the lesion for an anchored fit
    register_faces: bool = True  #: when both photos show a face, fit the face (its landmarks and the points on it)
    face_tolerance: float = 0.1  #: a match on a face must agree with the landmarks' fit within this share of the pupil distance
    face_texture: float = 0.3  #: least skin-texture correlation on the face for a fit from the landmarks alone


DEFAULT_CONFIG = AlignConfig()


@dataclass
class Alignment:
    """Result of :func:`align`.

    Attributes
    ----------
    matrix : ndarray
        3x3; maps moving pixel coordinates ``(x, y, 1)`` to reference pixel
        coordinates (full resolution of each photo).
    overlap : float
        Fraction of the reference frame covered by the warped moving photo.
    quality : float
        0-1; see :func:`align`. Below 0.5 the photos should not be compared.
    ok : bool
    reason : str
        Why ``ok`` is False (or "aligned").
    diagnostics : dict
        Inliers, matches, correlation, model, ``scale`` (of the framing: how much more of the
        skin the follow-up shows across, both photos at the same long side; >1 taken from
        farther away), ``pixel_scale`` (reference pixels per follow-up pixel) and rotation; for
        faces ``face`` (True), ``keypoints_off_face`` (left out of the matching),
        ``matches_unlike_landmarks`` (left out: not where the landmarks put them) and ``landmark_error`` (RMS distance, in pupil distances, between
        the baseline's landmarks and the follow-up's carried by the fit).
    image : ndarray
        The moving photo warped onto the reference geometry (full resolution,
        the reference's shape); uncovered pixels are black. Computed on first use.
    """

    matrix: np.ndarray
    overlap: float
    quality: float
    ok: bool
    reason: str
    diagnostics: dict[str, Any] = field(default_factory=dict)
    moving: Photo | None = field(default=None, repr=False)
    reference_size: tuple[int, int] = (0, 0)
    margin_px: int = DEFAULT_CONFIG.coverage_margin_px

    @cached_property
    def _source(self) -> tuple[np.ndarray, np.ndarray]:
        """The moving pixels to warp and the matrix from them: a follow-up with more than twice the baseline's
        pixels across the same skin is first reduced by area averaging (its reduced-scale decode for a large
        JPEG), so the warp neither aliases its fine texture nor decodes 100 MP to fill a small frame."""
        pixel_scale = float(np.sqrt(abs(np.linalg.det(self.matrix[:2, :2] / self.matrix[2, 2]))))
        if pixel_scale >= 0.5:
            return self.moving.rgb, self.matrix
        rgb = self.moving.resized(max(16, int(np.ceil(max(self.moving.size) * pixel_scale * 1.5))))
        to_moving = np.diag([self.moving.size[0] / rgb.shape[1], self.moving.size[1] / rgb.shape[0], 1.0])
        return rgb, self.matrix @ to_moving

    @cached_property
    def image(self) -> np.ndarray:
        width, height = self.reference_size
        rgb, matrix = self._source
        return cv2.warpPerspective(rgb, matrix, (width, height), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_CONSTANT)

    @cached_property
    def coverage(self) -> np.ndarray:
        """Boolean mask (reference shape) of pixels the moving photo truly covers.

        Pixels within ``margin_px`` (8) of the moving photo's edge are left out: the warp's
        interpolation mixes them with the black fill.
        """
        width, height = self.reference_size
        rgb, matrix = self._source
        mh, mw = rgb.shape[:2]
        inner = np.zeros((mh, mw), np.uint8)
        m = self.margin_px
        inner[m:-m, m:-m] = 255
        return cv2.warpPerspective(inner, matrix, (width, height), flags=cv2.INTER_NEAREST) > 0

    def photo(self) -> Photo:
        """The aligned image as a Photo, carrying the moving photo's metadata and this alignment."""
        return self.moving.derive(self.image, alignment=self.summary())

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable description (matrix, quality, ok, reason, diagnostics)."""
        return {
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "overlap": round(float(self.overlap), 4),
            "quality": round(float(self.quality), 4),
            "ok": bool(self.ok),
            "reason": self.reason,
            **{k: v for k, v in self.diagnostics.items()},
        }


def _grey(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(grey)


def _features(grey: np.ndarray, threshold: float):
    detector = cv2.xfeatures2d.AKAZE_create(threshold=threshold)
    return detector.detectAndCompute(grey, None)


_PREPARED: "weakref.WeakKeyDictionary[Photo, dict]" = weakref.WeakKeyDictionary()


def _prepare(photo: Photo, cfg: AlignConfig) -> tuple[np.ndarray, np.ndarray, tuple, np.ndarray | None]:
    """Matching-scale image, its grey (CLAHE) copy and AKAZE features; remembered per Photo
    object (and settings), so a baseline matched against many follow-ups is analysed once."""
    key = (cfg.match_size, cfg.akaze_threshold)
    cached = _PREPARED.setdefault(photo, {})
    if key in cached:
        return cached[key]
    small = photo.resized(cfg.match_size)
    grey = _grey(small)
    keys, descriptors = _features(grey, cfg.akaze_threshold)
    cached[key] = prepared = (small, grey, keys, descriptors)
    return prepared


def prepare_reference(
    photo: Photo | np.ndarray, config: AlignConfig | None = None
) -> tuple[np.ndarray, np.ndarray, tuple, np.ndarray | None]:
    """Analyse a reference photo ahead of time (matching-scale copy, AKAZE features), so that
    :func:`align` onto it with the same ``config`` only analyses the moving photo. Remembered per
    Photo object and settings. Returns the analysis: ``(matching-scale RGB, its grey copy, AKAZE
    keypoints, descriptors)``."""
    return _prepare(load_photo(photo), config or AlignConfig())


def remember_reference_analysis(photo: Photo, config: AlignConfig, analysis: tuple) -> None:
    """Remember ``analysis`` (as :func:`prepare_reference` returns it) for ``photo`` with ``config``: the
    analysis done earlier of the same pixels, e.g. a stored baseline's."""
    _PREPARED.setdefault(photo, {})[(config.match_size, config.akaze_threshold)] = tuple(analysis)


def _correlation(
    reference: np.ndarray, moving: np.ndarray, matrix: np.ndarray, where: np.ndarray | None = None
) -> tuple[float, float]:
    """Enhanced correlation coefficient after warping (over ``where`` of the reference, when given: a face),
    and the overlap (share of the reference frame covered), at the given scale."""
    height, width = reference.shape
    warped = cv2.warpPerspective(moving, matrix, (width, height), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.full(moving.shape, 255, np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
    cover = cv2.erode(cover, np.ones((5, 5), np.uint8))  # interpolation at the border is not data
    inside = cover > 0
    overlap = float(inside.mean())
    if where is not None:
        inside &= where
    if inside.sum() < 100:
        return 0.0, overlap
    return _pearson(reference[inside], warped[inside]), overlap


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation coefficient of two equally long pixel samples (0 when either is flat)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _failed(reason: str, moving: Photo, reference_size: tuple[int, int], cfg: AlignConfig, **diagnostics) -> Alignment:
    mw, mh = moving.size
    rw, rh = reference_size
    identity_resize = np.diag([rw / mw, rh / mh, 1.0])  # show *something* of the right shape
    return Alignment(identity_resize, 0.0, 0.0, False, reason, diagnostics, moving, reference_size, cfg.coverage_margin_px)


def align(
    moving: Photo | np.ndarray,
    reference: Photo | np.ndarray,
    *,
    model: str = "similarity",
    config: AlignConfig | None = None,
) -> Alignment:
    """Register ``moving`` onto ``reference``.

    Parameters
    ----------
    moving, reference : Photo or ndarray
        The follow-up and the baseline photo of the same area.
    model : {"similarity", "homography"}
        Similarity (rotation, uniform scale, shift) is robust and right for a
        camera moved a little; homography also absorbs tilt of a flat area.
    config : AlignConfig, optional
        Matching and acceptance settings (defaults: :class:`AlignConfig`).

    Returns
    -------
    Alignment
        Never raises for photos that do not match: ``ok`` is then False with a
        reason and a low ``quality``. A follow-up that does not fit but whose
        mirror image does (a selfie camera, a flipped export) is refused as
        mirrored (``diagnostics["mirrored"]``), never compared with left and
        right swapped.
    """
    if model not in ("similarity", "homography"):
        raise ValueError("model must be 'similarity' or 'homography'.")
    cfg = config or DEFAULT_CONFIG
    moving, reference = load_photo(moving), load_photo(reference)
    result = _register(moving, reference, model, cfg)
    if result.ok:
        return result
    return _unless_mirrored(result, moving, reference, model, cfg)


#: Why a follow-up whose mirror image fits the baseline is refused (the words read ``diagnostics["mirrored"]``).
MIRRORED = "the follow-up is a mirror image of the baseline (left and right swapped)"


def _unless_mirrored(failed: Alignment, moving: Photo, reference: Photo, model: str, cfg: AlignConfig) -> Alignment:
    """``failed``, or, when the follow-up's mirror image fits the baseline, a refusal that says so.

    Only a failed registration is checked (a follow-up that fits as it is is never flipped), at the
    matching scale (the mirror of the full-resolution pixels is not needed to judge the fit).
    """
    flipped = Photo(np.ascontiguousarray(moving.resized(cfg.match_size)[:, ::-1]), {})
    mirror = _register(flipped, reference, model, cfg)
    if not mirror.ok:
        return failed
    diagnostics = {**failed.diagnostics, "mirrored": True, "mirrored_quality": round(float(mirror.quality), 4),
                   "unflipped_reason": failed.reason}  # fmt: skip
    return Alignment(failed.matrix, failed.overlap, failed.quality, False, MIRRORED, diagnostics, moving,
                     failed.reference_size, cfg.coverage_margin_px)  # fmt: skip


@dataclass
class _Faces:
    """Both photos' faces at the matching scale: what registers a face (step 0 of :func:`align`)."""

    moving: np.ndarray  #: 468 x 2 landmarks of the follow-up
    reference: np.ndarray  #: 468 x 2 landmarks of the baseline
    region_moving: np.ndarray  #: the follow-up's face oval (bool)
    region_reference: np.ndarray  #: the baseline's face oval (bool)
    skin_reference: np.ndarray  #: the baseline's face zones without eyes, brows, lips and nostrils (bool)
    prior: np.ndarray  #: 3x3 similarity, follow-up to baseline, fitted to the landmarks
    pupil_px: float  #: the baseline's pupil distance

    @staticmethod
    def on_face(keys: tuple, descriptors: np.ndarray, region: np.ndarray) -> tuple[list, np.ndarray | None]:
        """The keypoints (and their descriptors) that lie on the face ``region``."""
        inside = [i for i, key in enumerate(keys) if region[int(key.pt[1]), int(key.pt[0])]]
        return [keys[i] for i in inside], (descriptors[inside] if inside else None)

    def distance(self, points_moving: np.ndarray, points_reference: np.ndarray, matrix: np.ndarray | None = None) -> np.ndarray:
        """Per point, px between ``points_reference`` and ``points_moving`` carried by ``matrix`` (default: the
        landmarks' fit)."""
        carried = np.c_[points_moving, np.ones(len(points_moving))] @ (self.prior if matrix is None else matrix).T
        return np.hypot(*(carried[:, :2] / carried[:, 2:] - points_reference).T)

    def error(self, matrix: np.ndarray) -> float:
        """RMS distance between the baseline's landmarks and the follow-up's carried by ``matrix``, in pupil
        distances (a head turned, or a changed expression, leaves some; a fit on the background leaves more)."""
        return float(np.sqrt((self.distance(self.moving, self.reference, matrix) ** 2).mean()) / max(self.pupil_px, 1e-6))


def _faces(moving: Photo, reference: Photo, small_moving: np.ndarray, small_reference: np.ndarray, cfg: AlignConfig) -> _Faces | None:
    """Both photos' faces at the matching scale, or None unless each photo shows one face found confidently."""
    if not cfg.register_faces:
        return None
    face_moving, face_reference = photo_face(moving), photo_face(reference)
    if face_moving is None or face_reference is None or not (face_moving.confident and face_reference.confident):
        return None

    def at_matching_scale(face, small):
        return face.landmarks * (small.shape[1] / face.size[0], small.shape[0] / face.size[1])

    moving_points, reference_points = at_matching_scale(face_moving, small_moving), at_matching_scale(face_reference, small_reference)
    prior, _ = cv2.estimateAffinePartial2D(moving_points.astype(np.float32), reference_points.astype(np.float32), method=cv2.LMEDS)
    if prior is None:
        return None
    skin = np.zeros(small_reference.shape[:2], bool)
    for zone in zone_masks(face_reference, small_reference.shape[:2]).values():
        skin |= zone
    pupil_px = face_reference.interpupillary_px * small_reference.shape[1] / face_reference.size[0]
    return _Faces(moving_points, reference_points, oval_mask(face_moving, small_moving.shape[:2]),
                  oval_mask(face_reference, small_reference.shape[:2]), skin, np.vstack([prior, [0.0, 0.0, 1.0]]), pupil_px)  # fmt: skip


def _register(moving: Photo, reference: Photo, model: str, cfg: AlignConfig) -> Alignment:
    """Steps 0-5 of the module docstring: ``moving`` onto ``reference`` as they are."""
    reference_size = reference.size
    small_moving, grey_moving, keys_moving, desc_moving = _prepare(moving, cfg)
    small_reference, grey_reference, keys_reference, desc_reference = _prepare(reference, cfg)
    scale_moving = np.diag([small_moving.shape[1] / moving.size[0], small_moving.shape[0] / moving.size[1], 1.0])
    scale_reference = np.diag(
        [small_reference.shape[1] / reference_size[0], small_reference.shape[0] / reference_size[1], 1.0]
    )
    diagnostics: dict[str, Any] = {
        "model": model,
        "keypoints": [len(keys_moving), len(keys_reference)],
        "match_size": cfg.match_size,
    }
    faces = _faces(moving, reference, small_moving, small_reference, cfg)
    region = None if faces is None else faces.region_reference

    def fallback(reason: str) -> Alignment:
        """Features failed: a face is registered by its landmarks (the fine texture of its skin must then line
        up); anything else: try ECC from the identity (follow-ups are framed alike), then the lesion as anchor
        (a close-up taken at another zoom, turn or framing)."""
        if faces is not None:
            return _face_landmarks(faces, grey_reference, grey_moving, scale_reference, scale_moving, reason, moving,
                                   reference_size, diagnostics, cfg)  # fmt: skip
        identity = _ecc_fallback(
            grey_reference, grey_moving, scale_reference, scale_moving, reason, moving, reference_size, diagnostics, cfg
        )
        if identity.ok:
            return identity
        anchored = _anchored(small_reference, small_moving, scale_reference, scale_moving, reason, moving,
                             reference_size, diagnostics, cfg)  # fmt: skip
        if anchored.ok:
            return anchored
        # The record keeps what the lesion anchor found too (the earlier stage's reason stays the reason).
        identity.diagnostics["lesion_anchor"] = {
            "reason": anchored.reason,
            "texture_correlation": anchored.diagnostics.get("texture_correlation"),
        }
        return identity

    if faces is not None and desc_moving is not None and desc_reference is not None:
        # A face is fitted by the points on it: a head turned or moved in front of a still background
        # would otherwise be "aligned" by the wall, the chair and the shoulders.
        diagnostics["face"] = True
        total = len(keys_moving) + len(keys_reference)
        keys_moving, desc_moving = faces.on_face(keys_moving, desc_moving, faces.region_moving)
        keys_reference, desc_reference = faces.on_face(keys_reference, desc_reference, faces.region_reference)
        diagnostics["keypoints_off_face"] = total - len(keys_moving) - len(keys_reference)
    if desc_moving is None or desc_reference is None or len(keys_moving) < 8 or len(keys_reference) < 8:
        return fallback("too little detail to find matching points")
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_moving, desc_reference, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < cfg.ratio * p[1].distance]
    points_moving = np.float32([keys_moving[m.queryIdx].pt for m in good]).reshape(-1, 2)
    points_reference = np.float32([keys_reference[m.trainIdx].pt for m in good]).reshape(-1, 2)
    if faces is not None:  # where the landmarks' fit puts them
        agree = faces.distance(points_moving, points_reference) <= cfg.face_tolerance * faces.pupil_px
        diagnostics["matches_unlike_landmarks"] = int((~agree).sum())
        points_moving, points_reference = points_moving[agree], points_reference[agree]
    diagnostics["matches"] = n_matches = len(points_moving)
    if n_matches < cfg.min_inliers:
        return fallback(f"only {n_matches} matching points (need {cfg.min_inliers})")
    if model == "similarity":
        fit, inliers = cv2.estimateAffinePartial2D(
            points_moving, points_reference, method=cv2.RANSAC, ransacReprojThreshold=cfg.ransac_px, maxIters=5000,
            confidence=0.999,
        )  # fmt: skip
        small = None if fit is None else np.vstack([fit, [0.0, 0.0, 1.0]])
    else:
        small, inliers = cv2.findHomography(points_moving, points_reference, cv2.RANSAC, cfg.ransac_px, maxIters=5000, confidence=0.999)
    n_inliers = int(inliers.sum()) if inliers is not None else 0
    diagnostics["inliers"] = n_inliers
    if small is None or n_inliers < cfg.min_inliers:
        return fallback(f"no consistent transform ({n_inliers} consistent points)")
    correlation, overlap = _correlation(grey_reference, grey_moving, small, region)
    if n_inliers < cfg.ecc_refine_below:
        small, correlation, overlap = _refine_ecc(grey_reference, grey_moving, small, correlation, overlap, model, region)
        diagnostics["ecc_refined"] = True
    if faces is not None:
        diagnostics["landmark_error"] = round(faces.error(small), 4)
    diagnostics["inlier_share"] = round(n_inliers / max(n_matches, 1), 3)
    quality = float(
        np.clip(correlation, 0.0, 1.0) * min(1.0, n_inliers / cfg.full_quality_inliers) * min(1.0, overlap / cfg.min_overlap)
    )
    result = _judge(small, scale_reference, scale_moving, correlation, overlap, quality, moving, reference_size, diagnostics, cfg)
    if not result.ok:
        alternative = fallback(result.reason)
        if alternative.ok:
            return alternative
    return result


def _judge(small, scale_reference, scale_moving, correlation, overlap, quality, moving, reference_size, diagnostics, cfg):
    """Turn a matching-scale transform into a full-resolution Alignment with a verdict."""
    matrix = np.linalg.inv(scale_reference) @ small @ scale_moving
    matrix /= matrix[2, 2]
    linear = matrix[:2, :2]
    pixel_scale = float(np.sqrt(abs(np.linalg.det(linear))))
    # The framing's scale: at the matching size both photos have the same long side, so the resolution
    # each was taken at drops out (a 448 px baseline and a 12 MP follow-up of the same skin: 1x, not 0.11x).
    scale = float(np.sqrt(abs(np.linalg.det(small[:2, :2] / small[2, 2]))))
    rotation = float(np.degrees(np.arctan2(linear[1, 0], linear[0, 0])))
    diagnostics = {**diagnostics, "correlation": round(correlation, 4), "scale": round(scale, 4),
                   "pixel_scale": round(pixel_scale, 4), "rotation_deg": round(rotation, 3)}  # fmt: skip
    if not cfg.min_scale <= scale <= cfg.max_scale:
        ok, reason = False, f"implausible scale change ({scale:.2f}x)"
    elif overlap < cfg.min_overlap:
        ok, reason = False, f"the photos overlap only {overlap:.0%} (need {cfg.min_overlap:.0%})"
    elif quality < cfg.min_quality:
        ok, reason = False, f"poor fit (quality {quality:.2f}, correlation {correlation:.2f})"
    else:
        ok, reason = True, "aligned"
    return Alignment(matrix, overlap, quality, ok, reason, diagnostics, moving, reference_size, cfg.coverage_margin_px)


def _edges(grey: np.ndarray, size: int, blur: float) -> np.ndarray:
    """Gradient magnitude of a grey image at ``size`` long side: insensitive to light and colour."""
    small = cv2.resize(grey, (size, round(size * grey.shape[0] / grey.shape[1])), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small.astype(np.float32), (0, 0), blur)
    return cv2.magnitude(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1))


def _ecc_fallback(grey_reference, grey_moving, scale_reference, scale_moving, reason, moving, reference_size, diagnostics, cfg):
    """ECC on blurred gradient images from the identity, coarse (128 px) to finer (256 px).

    Follow-ups are framed much like the baseline, so when too few feature
    matches survive (different light, little texture) the identity is a good
    start. The fit is accepted on the correlation of the gradient images.
    """
    diagnostics = {**diagnostics, "method": "ecc from identity", "feature_failure": reason}
    height, width = grey_reference.shape
    mheight, mwidth = grey_moving.shape
    # Start: stretch the moving frame onto the reference frame.
    start = np.diag([width / mwidth, height / mheight, 1.0])
    warp = None
    for size, blur in ((128, 2.0), (256, 4.0)):
        ref_edges, mov_edges = _edges(grey_reference, size, blur), _edges(grey_moving, size, blur)
        to_ref = np.diag([ref_edges.shape[1] / width, ref_edges.shape[0] / height, 1.0])
        to_mov = np.diag([mov_edges.shape[1] / mwidth, mov_edges.shape[0] / mheight, 1.0])
        current = start if warp is None else warp
        # ECC's warp maps template (reference) coordinates to input (moving) coordinates.
        ecc_warp = (to_mov @ np.linalg.inv(current) @ np.linalg.inv(to_ref))[:2].astype(np.float32)
        try:
            correlation, ecc_warp = cv2.findTransformECC(
                ref_edges, mov_edges, ecc_warp, cv2.MOTION_AFFINE,
                (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5), None, 3,
            )  # fmt: skip
        except cv2.error:
            return _failed(f"{reason}; ECC did not converge", moving, reference_size, cfg, **diagnostics)
        warp = np.linalg.inv(to_ref) @ np.linalg.inv(np.vstack([ecc_warp, [0, 0, 1]]).astype(np.float64)) @ to_mov
    # Outlines (a backdrop edge, a card) can line up between different people photographed
    # in the same set-up: accept only when the fine skin texture lines up too.
    texture, overlap = _correlation(_fine(grey_reference), _fine(grey_moving), warp)
    diagnostics["texture_correlation"] = round(texture, 4)
    quality = float(np.clip(texture, 0.0, 1.0) * min(1.0, overlap / cfg.min_overlap))
    return _judge(
        warp, scale_reference, scale_moving, float(correlation), overlap, quality, moving, reference_size, diagnostics, cfg
    )


def _face_landmarks(faces, grey_reference, grey_moving, scale_reference, scale_moving, reason, moving, reference_size, diagnostics, cfg):
    """Register a face by its landmarks: the similarity fitted to the two meshes, refined by ECC on gradient
    images of the face, accepted only when the fine texture of the face's skin (its zones, without eyes, brows,
    lips and nostrils, whose outlines line up on any two faces) then lines up: a correlation of at least
    ``face_texture`` (0.3). Any two faces fit each other's landmarks, so without that proof another person would
    be "aligned". No matched points confirm such a fit, so its quality is never better than "fair" (< 0.8)."""
    diagnostics = {**diagnostics, "method": "face landmarks", "feature_failure": reason, "face": True}
    reference = grey_reference.astype(np.float32)
    fit = _ecc_gradients(reference, grey_moving.astype(np.float32), faces.prior, faces.region_reference)
    texture = _texture_correlation(reference, grey_moving.astype(np.float32), fit, faces.skin_reference)
    correlation, overlap = _correlation(grey_reference, grey_moving, fit, faces.region_reference)
    diagnostics["texture_correlation"] = round(texture, 4)
    diagnostics["landmark_error"] = round(faces.error(fit), 4)
    quality = float(min(0.79, max(texture, 0.0) / (2.0 * cfg.face_texture)) * min(1.0, overlap / cfg.min_overlap))
    # Below ``face_texture`` the quality is below 0.5, so the fit is refused as a poor fit.
    return _judge(fit, scale_reference, scale_moving, correlation, overlap, quality, moving, reference_size, diagnostics, cfg)


def _lesion(rgb: np.ndarray) -> np.ndarray | None:
    """The close-up's lesion as a boolean mask: the central blob whose colour differs most from the skin at the
    photo's border (CIELAB ΔE from the border's median, Otsu's threshold). None when there is no such blob."""
    lab = cv2.GaussianBlur(cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab), (0, 0), 2.0)
    height, width = lab.shape[:2]
    border = np.ones((height, width), bool)
    b = max(4, min(height, width) // 10)
    border[b:-b, b:-b] = False
    distance = np.sqrt(((lab - np.median(lab[border], axis=0)) ** 2).sum(axis=-1))
    if distance.max() <= 0:
        return None
    scaled = np.clip(distance * (255.0 / distance.max()), 0, 255).astype(np.uint8)
    _, blobs = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, centres = cv2.connectedComponentsWithStats(blobs)
    if count < 2:
        return None
    off_centre = np.hypot(centres[1:, 0] - width / 2, centres[1:, 1] - height / 2) / (width / 2)
    weight = stats[1:, cv2.CC_STAT_AREA] * (1.0 - 0.7 * np.minimum(off_centre, 1.0))  # close-ups centre the lesion
    mask = labels == 1 + int(np.argmax(weight))
    if not 0.002 <= mask.mean() <= 0.4:  # larger: the blob is the skin itself (a close-up on a backdrop), not a lesion on it
        return None
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0


def _similarity(angle_deg: float, scale: float, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """3x3 similarity turning by ``angle_deg`` and scaling by ``scale`` about ``source``, moved onto ``target``."""
    turn = np.vstack([cv2.getRotationMatrix2D((0.0, 0.0), angle_deg, scale), [0.0, 0.0, 1.0]])
    return np.array([[1, 0, target[0]], [0, 1, target[1]], [0, 0, 1]]) @ turn @ np.array(
        [[1, 0, -source[0]], [0, 1, -source[1]], [0, 0, 1]]
    )


def _iou(reference_mask: np.ndarray, moving_mask: np.ndarray, matrix: np.ndarray) -> float:
    height, width = reference_mask.shape
    warped = cv2.warpAffine(moving_mask.astype(np.uint8), matrix[:2], (width, height), flags=cv2.INTER_NEAREST) > 0
    return float((warped & reference_mask).sum() / max((warped | reference_mask).sum(), 1))


def _anchor_starts(reference_mask: np.ndarray, moving_mask: np.ndarray, n: int = 4) -> list[np.ndarray]:
    """Up to ``n`` similarity starts that put the moving lesion on the reference lesion: centroid on centroid,
    scale from the square root of the areas, and the best-overlapping turns (3° steps, at least 20° apart)."""
    ys, xs = np.nonzero(reference_mask)
    centre_reference = np.array([xs.mean(), ys.mean()])
    ys, xs = np.nonzero(moving_mask)
    centre_moving = np.array([xs.mean(), ys.mean()])
    scale = float(np.sqrt(reference_mask.sum() / moving_mask.sum()))
    ranked = sorted(
        ((_iou(reference_mask, moving_mask, _similarity(a, scale, centre_moving, centre_reference)), a) for a in range(0, 360, 3)),
        reverse=True,
    )  # fmt: skip
    angles: list[int] = []
    for _, angle in ranked:
        if all(min(abs(angle - b), 360 - abs(angle - b)) >= 20 for b in angles):
            angles.append(angle)
        if len(angles) == n:
            break
    return [_similarity(a, scale, centre_moving, centre_reference) for a in angles]


def _anchored(small_reference, small_moving, scale_reference, scale_moving, reason, moving, reference_size, diagnostics, cfg):
    """Register a close-up by its lesion: a scale- and rotation-free start, then ECC, then a proof of identity.

    Close-ups of one lesion taken at another zoom, turn or framing (and another light or focus) often share too
    few feature points. The lesion is found in both (:func:`_lesion`); starts put one on the other at each of the
    best-overlapping turns; ECC on gradient images (blur 4 px, then 2 px) refines each. A lesion's outline does
    not prove it is the *same* lesion (two round moles fit), so the fit is accepted only when the fine texture of
    the skin *around* the lesion (difference of Gaussians, σ 2 and 6 px, at 256 px, more than 20 px from the
    lesion so that its own outline does not count) lines up: a correlation of at least ``anchor_texture`` (0.3;
    on the shared repeat pairs: same skin 0.51-0.93 when accepted, different lesions at most 0.22). A blob of
    more than 40 % of the frame is not taken for a lesion (it is the skin itself, e.g. on a backdrop, whose
    texture may line up between two people). No matched points confirm such a fit, so its quality is never
    better than "fair" (< 0.8).
    """
    diagnostics = {**diagnostics, "method": "lesion anchor", "feature_failure": reason}
    reference_rgb = _resize_long(small_reference, cfg.anchor_size)
    moving_rgb = _resize_long(small_moving, cfg.anchor_size)
    reference_mask, moving_mask = _lesion(reference_rgb), _lesion(moving_rgb)
    if reference_mask is None or moving_mask is None:
        return _failed(f"{reason}; no lesion to anchor on", moving, reference_size, cfg, **diagnostics)
    grey_reference = _grey(reference_rgb).astype(np.float32)
    grey_moving = _grey(moving_rgb).astype(np.float32)
    # The skin around: more than 20 px from the lesion, beyond the reach of its outline's texture response.
    around = ~(cv2.dilate(reference_mask.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0)
    best: tuple[float, np.ndarray] | None = None
    for start in _anchor_starts(reference_mask, moving_mask):
        fit = _ecc_gradients(grey_reference, grey_moving, start)
        texture = _texture_correlation(grey_reference, grey_moving, fit, around)
        if best is None or texture > best[0]:
            best = (texture, fit)
    texture, fit = best
    to_anchor_reference = np.diag([reference_rgb.shape[1] / small_reference.shape[1], reference_rgb.shape[0] / small_reference.shape[0], 1.0])
    to_anchor_moving = np.diag([moving_rgb.shape[1] / small_moving.shape[1], moving_rgb.shape[0] / small_moving.shape[0], 1.0])
    small = np.linalg.inv(to_anchor_reference) @ fit @ to_anchor_moving
    correlation, overlap = _correlation(grey_reference.astype(np.uint8), grey_moving.astype(np.uint8), fit)
    diagnostics["texture_correlation"] = round(texture, 4)
    quality = float(min(0.79, max(texture, 0.0) / (2.0 * cfg.anchor_texture)) * min(1.0, overlap / cfg.min_overlap))
    # Below ``anchor_texture`` the quality is below 0.5, so the fit is refused as a poor fit.
    return _judge(small, scale_reference, scale_moving, correlation, overlap, quality, moving, reference_size, diagnostics, cfg)


def _resize_long(rgb: np.ndarray, size: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    factor = size / max(height, width)
    return cv2.resize(rgb, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)


def _ecc_gradients(reference: np.ndarray, moving: np.ndarray, start: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """``start`` (moving to reference) refined by affine ECC on gradient images blurred by 4 px, then 2 px
    (over ``where`` of the reference, when given)."""
    matrix = start
    template_mask = None if where is None else where.astype(np.uint8)
    for blur in (4.0, 2.0):
        edges_reference, edges_moving = (
            cv2.magnitude(cv2.Sobel(b, cv2.CV_32F, 1, 0), cv2.Sobel(b, cv2.CV_32F, 0, 1))
            for b in (cv2.GaussianBlur(reference, (0, 0), blur), cv2.GaussianBlur(moving, (0, 0), blur))
        )  # fmt: skip
        # ECC's warp maps template (reference) coordinates to input (moving) coordinates.
        warp = np.linalg.inv(matrix)[:2].astype(np.float32)
        try:
            _, warp = cv2.findTransformECC(
                edges_reference, edges_moving, warp, cv2.MOTION_AFFINE,
                (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5), template_mask, 3,
            )  # fmt: skip
        except cv2.error:
            continue
        matrix = np.linalg.inv(np.vstack([warp, [0, 0, 1]]).astype(np.float64))
    return matrix


def _texture_correlation(reference: np.ndarray, moving: np.ndarray, matrix: np.ndarray, where: np.ndarray) -> float:
    """Correlation of the fine texture (difference of Gaussians, σ 2 and 6 px) of the two after warping, over
    ``where`` and the moving photo's cover; 0 when fewer than 500 pixels remain."""
    def texture(grey):
        return cv2.GaussianBlur(grey, (0, 0), 2.0) - cv2.GaussianBlur(grey, (0, 0), 6.0)

    height, width = reference.shape
    warped = cv2.warpAffine(texture(moving), matrix[:2], (width, height), flags=cv2.INTER_LINEAR)
    cover = cv2.warpAffine(np.ones(moving.shape, np.uint8), matrix[:2], (width, height), flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode((cover & where).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if inside.sum() < 500:
        return 0.0
    return _pearson(texture(reference)[inside], warped[inside])


def _fine(grey: np.ndarray) -> np.ndarray:
    """Fine texture (difference of Gaussians, σ 1 and 3 px) as float32."""
    grey = grey.astype(np.float32)
    return cv2.GaussianBlur(grey, (0, 0), 1.0) - cv2.GaussianBlur(grey, (0, 0), 3.0)


def _refine_ecc(reference, moving, matrix, correlation, overlap, model, where=None):
    """ECC refinement on half-scale copies (over ``where`` of the reference, when given: a face); kept only
    when it raises the correlation."""
    half = np.diag([0.5, 0.5, 1.0])
    ref_half = cv2.resize(reference, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
    mov_half = cv2.resize(moving, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
    template_mask = None
    if where is not None:
        template_mask = cv2.resize(where.astype(np.uint8), (ref_half.shape[1], ref_half.shape[0]), interpolation=cv2.INTER_NEAREST)
    # ECC's warp maps template (reference) coordinates to input (moving) coordinates.
    start = half @ np.linalg.inv(matrix) @ np.linalg.inv(half)
    motion = cv2.MOTION_AFFINE if model == "similarity" else cv2.MOTION_HOMOGRAPHY
    warp = (start[:2] if motion == cv2.MOTION_AFFINE else start).astype(np.float32)
    try:
        _, warp = cv2.findTransformECC(
            ref_half, mov_half, warp, motion, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-5), template_mask, 3
        )
    except cv2.error:
        return matrix, correlation, overlap
    full_warp = np.vstack([warp, [0, 0, 1]]) if motion == cv2.MOTION_AFFINE else warp
    refined = np.linalg.inv(half) @ np.linalg.inv(full_warp.astype(np.float64)) @ half
    new_correlation, new_overlap = _correlation(reference, moving, refined, where)
    if new_correlation > correlation:
        return refined, new_correlation, new_overlap
    return matrix, correlation, overlap


def ghost(moving: Photo | np.ndarray | Alignment, reference: Photo | np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """A translucent overlay of ``moving`` on ``reference`` (reference geometry, uint8 RGB).

    ``moving`` may be an :class:`Alignment` (its aligned image is used, showing
    the fit) or a photo (shown as is, resized to the reference frame, to guide
    the framing of a new capture). ``alpha`` is the moving photo's weight.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be between 0 and 1.")
    reference = load_photo(reference)
    base = reference.rgb
    if isinstance(moving, Alignment):
        top = moving.image
    else:
        top = cv2.resize(load_photo(moving).rgb, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_AREA)
    return cv2.addWeighted(top, float(alpha), base, 1.0 - float(alpha), 0.0)
