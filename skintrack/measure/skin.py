"""Automatic skin mask: which pixels of a photo are measurable skin.

Two cases, chosen by whether :func:`skintrack.find_face` found a face:

**A face in frame** (portraits, VISIA-like full-face photos). Only the face is measured: the face oval
from the 468 mesh landmarks, minus the eyes, brows, lips and nostrils (landmark polygons with a small
margin). Clothes, walls, hair outside the oval, the neck and the background are never candidates. Inside
the oval the skin's own colour is taken from the cheeks, forehead, nose and chin (robust medians), and
what does not look like that skin is left out: glare, a hair fringe or beard shadow (dark regions that
touch the oval's rim or are thin and long), and colours no skin has. Dark compact marks enclosed by skin
(moles, spots, scars) are filled back in. A head turned more than ``FaceConfig.max_yaw_deg`` (25°) is
measured on the side facing the camera: the cheek and eye area turned away are left out. Near-black
light (too dark to measure) is judged against the face's own lightness, ``L* < min(10, 0.35 × its median)``,
so dark skin in shadow stays skin.

**No face** (close-ups of a cheek, a back, an arm, a lesion). Built from CIELAB at the working resolution:

1. **Unusable light**: specular glare (bright *and* desaturated compared with the skin, or clipped,
   L* > 97) and near-black pixels (L* < 10).
2. **Neutral references**: large, smooth regions whose colour is nearer the light's own colour than the
   skin's — the grey backdrop, a grey card, white walls. The light's colour is found by splitting
   (a*, b*) into a neutral and a skin cluster (:func:`_colour_clusters`), so a colour cast that tints
   skin and backdrop together does not fool it. The split is only believed when the "skin" cluster
   really is skin relative to the "neutral" one — redder by at least ``min_skin_redness`` a* units and
   of a skin hue — and covers at least ``min_skin_share`` of the frame. Pale skin around a darker or
   bluish lesion is therefore never taken for a backdrop, and a frame without a neutral reference (skin
   filling it) needs none: without a split, only smooth regions at least ``neutral_redness_gap`` a*
   units less red than the frame's typical skin count (a rule relative to the skin, so a colour cast
   does not change it).
3. **Not skin-coloured**: saturated colours no skin has (C*ab > 60, e.g. an orange suit or the chart's
   saturated patches), colours more than 2.5 times as chromatic as the skin (C*ab > 35), and clearly
   blue/green/purple hues (hue angle, relative to the light's colour, outside -30°…100° with chroma
   above 8).
4. **Hair** (and eyebrows, eyelashes): thin structures much darker than the skin around them (black-hat
   of L* > ``hair_contrast``) that are elongated; plus dark masses (ΔL* > 35 below the skin) that are
   elongated or that touch the frame's edge (scalp hair, clothing, deep shadow). A dark region enclosed
   by skin is a lesion, not hair: it stays.
5. **Eyes**, when part of a face is in frame but no face was found: the best pair of small regions
   where white sclera meets a dark iris, side by side (see :func:`_eyes`).
6. Clean-up: what remains is opened, only connected regions with at least 10 % of the largest region's
   area survive (drops the chart's skin-coloured patches and stray pixels), and holes enclosed by skin
   are filled back — dark spots, scars, blue-grey or very dark lesions are skin to be measured — unless
   they look like an eye (white sclera or a very dark pupil inside) or a neutral card.

Why this method: on the 24 PAD-UFES-20 photos with dermatologist-outlined lesions, the earlier mask (one
pipeline, neutral cluster always believed, large dark regions always hair) kept at least 80 % of the
lesion in 14 photos and returned no skin at all on two melanoma photos; on the NASA portrait only 8 % of
its "skin" was face or neck. The figures after this change are in the README ("Measuring real photos").
A learned skin segmenter was not used: none ships with a permissive licence in a registry package, and
colour rules relative to the photo's own skin work across Fitzpatrick I-VI in that set.

The result is returned together with the intermediate exclusion masks so an overlay can show *why* a
pixel was left out. Known limits (no face): blond hair masses and skin-coloured walls or fabric that
touch the skin are not always excluded. Pass an explicit ``roi`` to :func:`skintrack.score` when it matters.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from .filters import robust_median
from .masks import component_shape, disk, erode, line_like

__all__ = ["SkinConfig", "SkinMask", "skin_mask"]


@dataclass
class SkinMask:
    """The skin mask and the reasons pixels were excluded (all HxW bool)."""

    skin: np.ndarray
    glare: np.ndarray
    neutral: np.ndarray
    not_skin_colour: np.ndarray
    hair: np.ndarray
    dark: np.ndarray
    skin_chroma: float  # chroma of the skin cluster relative to the light's colour

    @property
    def fraction(self) -> float:
        return float(self.skin.mean())


def _flat_components(mask: np.ndarray, L: np.ndarray, min_area: int, max_texture: float = 1.5) -> np.ndarray:
    """Components of ``mask`` of at least ``min_area`` pixels whose L* is smooth.

    Texture is the mean, over the component's interior, of the local standard
    deviation of L* in a 5x5 window; backdrops, cards and walls are smooth,
    skin is not.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    mean = cv2.blur(L, (5, 5))
    local_sd = np.sqrt(np.maximum(cv2.blur(L * L, (5, 5)) - mean * mean, 0.0))
    # Only pixels whose whole 5x5 window lies in the region: its border says nothing of its texture.
    interior = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ids = labels[interior]
    texture = np.bincount(ids, local_sd[interior], count) / np.maximum(np.bincount(ids, minlength=count), 1)
    keep = (stats[:, cv2.CC_STAT_AREA] >= min_area) & (texture < max_texture)
    keep[0] = False
    return keep[labels]


def _elongated_components(mask: np.ndarray, min_area: int, min_elongation: float) -> np.ndarray:
    """Components of ``mask`` whose second-moment axis ratio is at least ``min_elongation``."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    area, elongation = component_shape(labels, count)
    keep = (area >= min_area) & (elongation >= min_elongation)
    keep[0] = False
    return keep[labels]


def _thin_hair(L: np.ndarray, contrast: float) -> np.ndarray:
    """Thin, long structures darker than their surroundings by more than ``contrast`` ΔL*.

    The black-hat (closing minus image) finds dark structures narrower than the
    kernel; a component counts as hair when it is elongated (principal axes at
    least 3:1) or, for curved and crossing hairs, when it is long for its
    width: area at least 20 times the square of its width (twice its largest
    distance to the background). A small dark spot or a cluster of pores is
    neither.
    """
    height, width = L.shape
    radius = max(2, int(round(min(height, width) / 250)))
    # A square kernel is separable (fast) and removes the same thin structures.
    black_hat = cv2.morphologyEx(L, cv2.MORPH_BLACKHAT, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    thin = black_hat > contrast
    count, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(L.shape, bool)
    keep = (stats[:, cv2.CC_STAT_AREA] >= max(8, radius * 4)) & line_like(thin, labels, count)
    keep[0] = False
    return keep[labels]


def _eyes(L: np.ndarray, chroma: np.ndarray, skin_L: float) -> np.ndarray:
    """The eyes of a face in frame: the best pair of places where white sclera meets a dark iris.

    A candidate is where desaturated, skin-bright pixels (sclera: chroma below 9,
    L* above skin - 10) lie within ~1 % of the frame width of very dark ones (iris,
    pupil, lashes: L* below skin - 35), 0.01-0.4 % of the frame in area and wider
    than tall (up to 4:1). Only a *pair* counts: two candidates of similar size
    (areas within 3x), side by side (vertical offset below their height, 2-6
    widths apart). Of all such pairs the largest is taken, one face's eyes (a
    nostril pair is smaller). A single glint beside a dark spot on a close-up is
    never an eye. Each eye is excluded as an ellipse 1.8 times its extent.
    """
    height, width = L.shape
    radius = max(2, width // 100)
    kernel = disk(radius)
    sclera = (chroma < 9.0) & (L > skin_L - 10.0) & (L < 96.0)
    iris = L < skin_L - 35.0
    zone = cv2.dilate(sclera.astype(np.uint8), kernel) & cv2.dilate(iris.astype(np.uint8), kernel)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(zone, connectivity=8)
    area = height * width
    candidates = [
        i
        for i in range(1, count)
        if 0.0001 * area <= stats[i, cv2.CC_STAT_AREA] <= 0.004 * area
        and 0.8 <= stats[i, cv2.CC_STAT_WIDTH] / stats[i, cv2.CC_STAT_HEIGHT] <= 4.0
    ]
    best, best_area = None, 0
    for n, i in enumerate(candidates):
        for j in candidates[n + 1 :]:
            (wi, hi, ai), (wj, hj, aj) = stats[i, 2:5], stats[j, 2:5]
            dx = abs(centroids[i][0] - centroids[j][0])
            dy = abs(centroids[i][1] - centroids[j][1])
            mean_w = (wi + wj) / 2
            if max(ai, aj) <= 3 * min(ai, aj) and dy < max(hi, hj) and 2.0 * mean_w <= dx <= 6 * mean_w:
                if ai + aj > best_area:
                    best, best_area = (i, j), ai + aj
    eyes = np.zeros(L.shape, np.uint8)
    for i in best or ():
        x, y, w, h = stats[i, :4]
        centre = (int(x + w / 2), int(y + h / 2))
        cv2.ellipse(eyes, centre, (int(0.9 * w) + 1, int(0.9 * h) + 1), 0, 0, 360, 1, -1)
    return eyes.astype(bool)


def _colour_clusters(a: np.ndarray, b: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Split (a*, b*) into a neutral-reference cluster and a skin cluster.

    Two-means on a pixel sample, started from the least and most chromatic
    pixels. The split is accepted when the clusters are at least 6 units apart,
    the neutral one holds at least 3 % of the pixels, is tight (a flat
    backdrop or card) and is either less than half as chromatic as the skin
    cluster or of a hue more than 40° away (a colour cast tints it).
    Returns ``(neutral_ab, skin_ab, accepted)``; when not accepted the
    neutral point is (0, 0) and skin_ab the median colour.
    """
    step = max(1, int(np.sqrt(a.size / 10000)))
    keep = usable[::step, ::step]
    sa = a[::step, ::step][keep].astype(np.float64)
    sb = b[::step, ::step][keep].astype(np.float64)
    chroma = np.sqrt(sa * sa + sb * sb)
    plausible = chroma <= 45.0  # nothing this saturated is skin
    sa, sb, chroma = sa[plausible], sb[plausible], chroma[plausible]
    origin = np.zeros(2)
    if sa.size < 100:
        return origin, (np.array([np.median(sa), np.median(sb)]) if sa.size else origin), False
    order = np.sort(chroma)
    low_c, high_c = order[int(0.10 * (order.size - 1))], order[int(0.75 * (order.size - 1))]
    centres = np.array(
        [[sa[chroma <= low_c].mean(), sb[chroma <= low_c].mean()], [sa[chroma >= high_c].mean(), sb[chroma >= high_c].mean()]]
    )
    in_low = chroma <= low_c
    for _ in range(10):
        d0 = (sa - centres[0, 0]) ** 2 + (sb - centres[0, 1]) ** 2
        d1 = (sa - centres[1, 0]) ** 2 + (sb - centres[1, 1]) ** 2
        updated = d0 <= d1
        n_low = int(updated.sum())
        if n_low in (0, sa.size):
            in_low = updated
            break
        converged = np.array_equal(updated, in_low)
        in_low = updated
        centres = np.array([[sa[in_low].mean(), sb[in_low].mean()], [sa[~in_low].mean(), sb[~in_low].mean()]])
        if converged:
            break
    if np.hypot(*centres[0]) > np.hypot(*centres[1]):
        centres = centres[::-1]
        in_low = ~in_low
    separation = float(np.linalg.norm(centres[1] - centres[0]))
    low_fraction = float(in_low.mean())
    low_spread = (
        float(np.sqrt(((sa[in_low] - centres[0, 0]) ** 2 + (sb[in_low] - centres[0, 1]) ** 2).mean()))
        if in_low.any()
        else np.inf
    )
    # A neutral reference is much less chromatic than skin, or of a clearly different hue
    # (a cast tints it); two shades of skin (a lesion on paler skin) are neither.
    low_chroma, high_chroma = np.hypot(*centres[0]), np.hypot(*centres[1])
    angle = np.degrees(np.arccos(np.clip(centres[0] @ centres[1] / max(low_chroma * high_chroma, 1e-9), -1, 1)))
    unlike_skin = low_chroma < 0.5 * high_chroma or (low_chroma > 1.0 and angle > 40.0)
    if separation > 6.0 and low_fraction > 0.03 and low_spread < separation / 3 and unlike_skin:
        return centres[0], centres[1], True
    return origin, np.array([np.median(sa), np.median(sb)]), False



@dataclass(frozen=True)
class SkinConfig:
    """Settings of the skin mask (recorded in a score's provenance through :class:`~skintrack.ScoreConfig`)."""

    min_region_fraction: float = 0.1  #: skin regions smaller than this share of the largest are dropped
    min_skin_redness: float = 4.0  #: Δa* by which skin must be redder than a neutral reference
    min_skin_share: float = 0.3  #: the skin cluster must hold this share of the frame for a neutral split
    dark_delta: float = 35.0  #: ΔL* below the skin for a dark mass (hair, shadow)
    max_hole_fraction: float = 0.6  #: enclosed holes up to this share of the skin are filled back
    min_frame_chroma: float = 1.5  #: a frame with 95 % of its C*ab below this has no colour (black and white): no skin
    neutral_redness_gap: float = 6.0  #: without a neutral cluster, smooth regions this much less red (a*) than the skin are references


def _fill_enclosed(
    candidate: np.ndarray,
    max_area: int,
    keep_out: np.ndarray,
    edge: np.ndarray | None = None,
    outside: np.ndarray | None = None,
) -> np.ndarray:
    """Fill holes of ``candidate`` enclosed by it (lesions, spots, scars), except where ``keep_out`` (eyes,
    cards) covers most of a hole. A hole touching the frame's border (or ``edge``, e.g. the face oval's
    rim) is not enclosed; ``outside`` (a backdrop) is not a hole, and a hole more than half surrounded by
    it is not enclosed by skin."""
    holes = ~candidate
    if outside is not None:
        holes &= ~outside
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    if count <= 1:
        return candidate
    border = np.zeros(count, bool)
    border[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    if edge is not None:
        border[np.unique(labels[edge & holes])] = True
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    ids = labels.ravel()
    n = np.maximum(np.bincount(ids, minlength=count), 1)
    protected = np.bincount(ids, keep_out.ravel(), count) / n
    fill = small & ~border & (protected < 0.5)
    if outside is not None and outside.any():
        # What surrounds each hole: its neighbours' labels by a 3x3 max filter.
        grown = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)
        ring = ~holes & (grown > 0)
        by_outside = np.bincount(grown[ring & outside], minlength=count)
        by_skin = np.bincount(grown[ring & candidate], minlength=count)
        fill &= by_skin >= by_outside
    fill[0] = False
    return candidate | fill[labels]


def _card_like(neutral: np.ndarray) -> np.ndarray:
    """Neutral components shaped like a card or chart (rectangular); other neutral patches inside skin are skin."""
    out = np.zeros(neutral.shape, bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(neutral.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        x, y, w, h, size = stats[label]
        region = labels[y : y + h, x : x + w] == label
        contours = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        (_, _), (rw, rh), _ = cv2.minAreaRect(np.vstack(contours))
        if size / max(rw * rh, 1.0) > 0.9:
            out[y : y + h, x : x + w] |= region
    return out


def _touching_border(mask: np.ndarray) -> np.ndarray:
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    touching = np.zeros(count, bool)
    touching[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    touching[0] = False
    return touching[labels]


def _dark_masses(
    very_dark: np.ndarray, area: int, region: np.ndarray | None = None, elongated: bool = True
) -> np.ndarray:
    """Dark regions that are hair, clothing or shadow rather than a lesion: elongated ones, and ones that
    touch the edge of the frame (or of ``region``, e.g. the face oval). Enclosed compact ones stay."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(very_dark.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(very_dark.shape, bool)
    edge = np.zeros(very_dark.shape, bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    if region is not None:
        edge |= region & ~erode(region, 2)
        edge |= ~region
    touching = np.zeros(count, bool)
    touching[np.unique(labels[edge & very_dark])] = True
    areas, elongation = component_shape(labels, count)
    keep = touching & (areas >= max(12, int(0.0005 * area)))
    if elongated:
        keep |= (areas >= max(12, int(0.001 * area))) & (elongation >= 3.0)
    keep[0] = False
    return keep[labels]


def skin_mask(
    lab: np.ndarray,
    *,
    face: Any | None = None,
    config: SkinConfig | None = None,
    hair_contrast: float = 12.0,
    min_region_fraction: float | None = None,
    executor: Executor | None = None,
) -> SkinMask:
    """Find measurable skin in a CIELAB image (working resolution).

    Parameters
    ----------
    lab : ndarray
        ``HxWx3`` float32 CIELAB (D65).
    face : Face, optional
        The face in this photo (:func:`skintrack.find_face`, on the same photo at any resolution):
        only the face is then measured (see the module docstring).
    config : SkinConfig, optional
    hair_contrast : float
        ΔL* by which a thin structure must be darker than its surroundings to be
        treated as hair rather than a fine line.
    min_region_fraction : float, optional
        Overrides the same field of ``config``.
    executor : concurrent.futures.Executor, optional
        When given, thin hairs are searched for on it while the colour analysis runs here.

    Returns
    -------
    SkinMask
    """
    cfg = config or SkinConfig()
    if min_region_fraction is not None:
        cfg = replace(cfg, min_region_fraction=min_region_fraction)
    full_height, full_width = lab.shape[:2]
    # Hair is thin: find it at full resolution. Everything else is about colour and
    # regions, found on a half-size copy (4x cheaper) and scaled back.
    if executor is not None:
        hair_future = executor.submit(_thin_hair, lab[..., 0], hair_contrast)
    else:
        hair_thin = _thin_hair(lab[..., 0], hair_contrast)
    lab = cv2.resize(lab, (max(1, full_width // 2), max(1, full_height // 2)), interpolation=cv2.INTER_AREA)
    if face is not None:
        parts = _face_parts(lab, face, cfg)
    else:
        parts = _close_up_parts(lab, cfg)
    size = (full_width, full_height)

    def full(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)

    if executor is not None:
        hair_thin = hair_future.result()
    glare, hair = full(parts["glare"]), full(parts["hair"]) | hair_thin
    hair = cv2.dilate(hair.astype(np.uint8), disk(1)).astype(bool)
    skin = full(parts["skin"]) & ~glare & ~hair
    return SkinMask(
        skin=skin,
        glare=glare,
        neutral=full(parts["neutral"]),
        not_skin_colour=full(parts["not_skin_colour"]),
        hair=hair,
        dark=full(parts["dark"]),
        skin_chroma=parts["skin_chroma"],
    )


def _colour_relative(a: np.ndarray, b: np.ndarray, cast: np.ndarray, skin_ab: np.ndarray):
    rel_a, rel_b = a - np.float32(cast[0]), b - np.float32(cast[1])
    chroma = cv2.magnitude(rel_a, rel_b)
    hue = cv2.phase(rel_a, rel_b, angleInDegrees=True)  # [0, 360)
    hue[hue > 180.0] -= 360.0
    distance_to_skin = cv2.magnitude(a - np.float32(skin_ab[0]), b - np.float32(skin_ab[1]))
    return chroma, hue, distance_to_skin


def _not_skin_colour(a, b, chroma, hue, skin_chroma: float) -> np.ndarray:
    return (
        (cv2.magnitude(a, b) > 60.0)
        | (((hue > 100.0) | (hue < -30.0)) & (chroma > 8.0))
        | ((chroma > 35.0) & (chroma > 2.5 * skin_chroma))
    )


def _glare(L, chroma, skin_L: float, skin_chroma: float) -> np.ndarray:
    glare = (L > 97.0) | ((L > skin_L + 18.0) & (chroma < 0.6 * max(skin_chroma, 5.0)))
    return cv2.dilate(glare.astype(np.uint8), disk(2)).astype(bool)


def _close_up_parts(lab: np.ndarray, cfg: SkinConfig) -> dict[str, Any]:
    """The mask without a face (see the module docstring), at the half-size working copy."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    area = L.size
    dark = L < 10.0
    usable = ~dark & (L <= 97.0)
    cast, skin_ab, two_clusters = _colour_clusters(a, b, usable)
    if two_clusters:
        # Believe the split only if the "skin" cluster is skin next to the "neutral" one: redder, of a
        # skin hue, and a real share of the frame (pale skin around a lesion is not a backdrop).
        rel = skin_ab - cast
        hue = float(np.degrees(np.arctan2(rel[1], rel[0])))
        share = float((cv2.magnitude(a - np.float32(skin_ab[0]), b - np.float32(skin_ab[1]))
                       < cv2.magnitude(a - np.float32(cast[0]), b - np.float32(cast[1])))[usable].mean())  # fmt: skip
        if rel[0] < cfg.min_skin_redness or not -10.0 <= hue <= 100.0 or share < cfg.min_skin_share:
            two_clusters = False
            cast = np.zeros(2)
            skin_ab = np.array([robust_median(a, usable), robust_median(b, usable)])
    cast, skin_ab = cast.astype(np.float32), skin_ab.astype(np.float32)
    chroma, hue, distance_to_skin = _colour_relative(a, b, cast, skin_ab)
    skin_chroma = float(np.hypot(*(skin_ab - cast)))
    step = max(1, int(np.sqrt(L.size / 10000)))
    frame_chroma = cv2.magnitude(a[::step, ::step], b[::step, ::step])[usable[::step, ::step]]
    if frame_chroma.size and float(np.percentile(frame_chroma, 95)) < cfg.min_frame_chroma:
        # A black-and-white photo (no colour anywhere): no skin colour to measure.
        usable = np.zeros(L.shape, bool)
    near_skin = usable & (distance_to_skin < max(6.0, 0.5 * skin_chroma))
    skin_L = robust_median(L, near_skin) if near_skin.any() else robust_median(L, usable if usable.any() else None)

    glare = _glare(L, chroma, skin_L, skin_chroma)
    if two_clusters:
        neutral = chroma < distance_to_skin
    else:
        # No neutral cluster: only smooth regions far less red than the frame's typical skin can be a
        # wall or card. A judgement relative to the skin, so a colour cast (or a redness change over the
        # whole frame) does not move it, and a frame of very pale, near-grey skin keeps all its skin.
        neutral = skin_ab[0] - a >= cfg.neutral_redness_gap
        # ...and grey areas without any texture (a flat fill, not a photo of skin).
        neutral |= _flat_components(chroma < 3.0, L, max(50, int(0.002 * area)), max_texture=0.15)
    neutral &= usable  # black (e.g. the border of an aligned photo) or clipped is not a reference
    neutral = cv2.morphologyEx(neutral.astype(np.uint8), cv2.MORPH_OPEN, disk(2)).astype(bool)
    neutral = _flat_components(neutral, L, min_area=max(50, int(0.002 * area)))
    not_skin_colour = _not_skin_colour(a, b, chroma, hue, skin_chroma)

    very_dark = L < skin_L - cfg.dark_delta
    very_dark = cv2.morphologyEx(very_dark.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    hair_mass = _dark_masses(very_dark, area)
    eyes = _eyes(L, chroma, skin_L)
    hair_mass |= eyes

    candidate = usable & ~neutral & ~not_skin_colour & ~hair_mass
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.zeros(count, bool)
        keep[1:] = (areas >= cfg.min_region_fraction * areas.max()) & (areas >= 0.005 * area)
        candidate = keep[labels]
    # Holes enclosed by skin are lesions, spots, scars: filled back. Backdrop and walls touching the
    # frame are outside (a lesion bordering one is still enclosed by skin); cards and eyes stay out.
    max_hole = int(cfg.max_hole_fraction * max(int(candidate.sum()), 1))
    outside = _touching_border(neutral)
    candidate = _fill_enclosed(candidate, max_hole, _card_like(neutral) | eyes, outside=outside)
    neutral &= ~candidate
    # Shine is on the skin: a light backdrop around darker skin is as bright and grey as glare, but not glare.
    glare &= ~outside
    return {
        "skin": candidate,
        "glare": glare,
        "neutral": neutral,
        "not_skin_colour": not_skin_colour,
        "hair": hair_mass & ~candidate,
        "dark": dark,
        "skin_chroma": skin_chroma,
    }


#: With a face, the near-black cut-off is at most this fraction of the face's median L*.
DARK_FRACTION = 0.35


def _face_parts(lab: np.ndarray, face: Any, cfg: SkinConfig) -> dict[str, Any]:
    """The mask with a face: the face oval minus its features (and the cheek and eye area turned away from
    the camera, :attr:`skintrack.measure.face.Face.turned_away`), then what does not look like its skin."""
    from .face import feature_masks, oval_mask, zone_masks

    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    shape = L.shape
    oval = oval_mask(face, shape)
    features = feature_masks(face, shape)
    excluded = features["eyes"] | features["brows"] | features["lips"] | features["nostrils"]
    if face.turned_away is not None:
        # A head turned more than FaceConfig.max_yaw_deg: measure the side facing the camera (the other
        # cheek and eye area are foreshortened and shaded; their zones say why they are not measured).
        away = (f"{face.turned_away}_cheek", f"{face.turned_away}_periorbital")
        for zone in zone_masks(face, shape, names=away).values():
            excluded = excluded | zone
    zones = zone_masks(face, shape, names=("forehead", "right_cheek", "left_cheek", "nose", "chin"))
    reference = np.zeros(shape, bool)
    for zone in zones.values():
        reference |= zone
    # Near-black is light too weak to measure, judged against this face's own lightness: dark skin in
    # shadow is darker than L* 10 and still skin (the cut-off only falls below 10 for faces darker than L* 29).
    face_L = float(np.median(L[reference])) if reference.any() else 50.0
    dark = L < min(10.0, DARK_FRACTION * face_L)
    usable = ~dark & (L <= 97.0)
    reference &= usable
    if reference.sum() < 50:
        reference = oval & ~excluded & usable
    # The face's own skin colour: robust medians over the zones, then again over what is near them
    # (hair fringe and shadow in the forehead zone pull the first estimate a little).
    skin_ab = np.array([robust_median(a, reference), robust_median(b, reference)], np.float32)
    skin_L = robust_median(L, reference)
    near = reference & (np.abs(L - skin_L) < 20.0) & (cv2.magnitude(a - skin_ab[0], b - skin_ab[1]) < 12.0)
    if near.sum() >= 50:
        skin_ab = np.array([robust_median(a, near), robust_median(b, near)], np.float32)
        skin_L = robust_median(L, near)
    cast = np.zeros(2, np.float32)  # no neutral reference inside a face: judge hue against (0, 0)
    chroma, hue, distance_to_skin = _colour_relative(a, b, cast, skin_ab)
    skin_chroma = float(np.hypot(*skin_ab))
    glare = _glare(L, chroma, skin_L, skin_chroma)
    not_skin_colour = _not_skin_colour(a, b, chroma, hue, skin_chroma)
    # Grey or white hair, glasses frames, background seen inside the oval: far less chromatic than this skin.
    washed_out = (chroma < 0.35 * skin_chroma) & (L > skin_L - 25.0) & ~glare
    not_skin_colour |= cv2.morphologyEx(washed_out.astype(np.uint8), cv2.MORPH_OPEN, disk(2)).astype(bool)
    very_dark = L < skin_L - min(cfg.dark_delta, 25.0)
    very_dark = cv2.morphologyEx(very_dark.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    region = oval & ~excluded
    # Brows are landmark polygons; inside the face a long dark region away from the rim is a fold or
    # wrinkle (skin to measure), so only dark regions reaching the rim (fringe, beard, shadow) are left out.
    hair_mass = _dark_masses(very_dark & oval, L.size, region=oval, elongated=False)
    candidate = region & usable & ~not_skin_colour & ~hair_mass
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    # Dark marks enclosed by the face's skin are lesions: fill them (never the features).
    max_hole = int(cfg.max_hole_fraction * max(int(candidate.sum()), 1))
    rim = ~erode(oval, 1)
    candidate = _fill_enclosed(candidate, max_hole, excluded, edge=rim) & oval & ~excluded
    return {
        "skin": candidate,
        "glare": glare & oval,
        "neutral": np.zeros(shape, bool),
        "not_skin_colour": not_skin_colour | (~oval),
        "hair": (hair_mass | features["brows"]) & ~candidate,
        "dark": dark,
        "skin_chroma": skin_chroma,
    }
