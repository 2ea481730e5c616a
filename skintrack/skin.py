"""Automatic skin mask: which pixels of a photo are measurable skin.

The mask is built from CIELAB at the working resolution, in this order:

1. **Unusable light**: specular glare (bright *and* desaturated compared with
   the skin, or clipped, L* > 97) and near-black pixels (L* < 10).
2. **Neutral references**: large, smooth regions whose colour is nearer the
   light's own colour than the skin's — the grey backdrop, a grey card, white
   walls. The light's colour is found by splitting (a*, b*) into a neutral and
   a skin cluster (:func:`_colour_clusters`), so a colour cast that tints skin
   and backdrop together does not fool it; when the photo holds no such
   cluster (skin fills the frame) only near-achromatic smooth regions count.
3. **Not skin-coloured**: saturated colours no skin has (C*ab > 60, e.g. an
   orange suit or the chart's saturated patches), colours more than 2.5 times
   as chromatic as the skin (C*ab > 35), and clearly blue/green/purple hues
   (hue angle, relative to the light's colour, outside -30°…100° with chroma
   above 8).
4. **Hair** (and eyebrows, eyelashes): thin structures much darker than the
   skin around them (black-hat of L* > ``hair_contrast``) that are elongated;
   plus large or elongated regions far darker than the skin (ΔL* > 35: brows,
   scalp hair, deep shadow). A compact very dark blob stays skin (a mole).
5. **Eyes**, when a face is in frame: the best pair of small regions where
   white sclera meets a dark iris, side by side (see :func:`_eyes`); excluded
   with the hair.
6. Clean-up: what remains is opened, only connected regions with at least
   10 % of the largest region's area survive (drops the chart's skin-coloured
   patches and stray pixels), and small holes are filled back (dark spots,
   scars, lesions are skin to be measured) unless they look like an eye
   (white sclera or a very dark pupil inside).

The result is returned together with the intermediate exclusion masks so an
overlay can show *why* a pixel was left out. Known limits: blond hair masses
and skin-coloured walls or fabric that touch the skin are not always excluded;
an eye is only found as one of a pair (a profile view or a closed eye is not).
Pass an explicit ``roi`` to :func:`skintrack.score` when it matters.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import cv2
import numpy as np

from .imaging import component_shape, disk, line_like, remove_small, robust_median

__all__ = ["SkinMask", "skin_mask"]


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


def skin_mask(
    lab: np.ndarray,
    *,
    hair_contrast: float = 12.0,
    min_region_fraction: float = 0.1,
    executor: Executor | None = None,
) -> SkinMask:
    """Find measurable skin in a CIELAB image (working resolution).

    Parameters
    ----------
    lab : ndarray
        ``HxWx3`` float32 CIELAB (D65).
    hair_contrast : float
        ΔL* by which a thin structure must be darker than its surroundings to be
        treated as hair rather than a fine line.
    min_region_fraction : float
        Skin regions smaller than this fraction of the largest region are dropped.
    executor : concurrent.futures.Executor, optional
        When given, thin hairs are searched for on it while the colour analysis
        runs here (the two are independent).

    Returns
    -------
    SkinMask
    """
    full_height, full_width = lab.shape[:2]
    # Hair is thin: find it at full resolution. Everything else is about colour and
    # regions, found on a half-size copy (4x cheaper) and scaled back.
    if executor is not None:
        hair_future = executor.submit(_thin_hair, lab[..., 0], hair_contrast)
    else:
        hair_thin = _thin_hair(lab[..., 0], hair_contrast)
    lab = cv2.resize(lab, (max(1, full_width // 2), max(1, full_height // 2)), interpolation=cv2.INTER_AREA)
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    height, width = L.shape
    area = height * width

    dark = L < 10.0
    usable = ~dark & (L <= 97.0)
    cast, skin_ab, two_clusters = _colour_clusters(a, b, usable)
    cast, skin_ab = cast.astype(np.float32), skin_ab.astype(np.float32)
    # Chroma and hue relative to the light's colour (the neutral point), so a colour
    # cast moves skin and neutral references together.
    rel_a, rel_b = a - cast[0], b - cast[1]
    chroma = cv2.magnitude(rel_a, rel_b)
    hue = cv2.phase(rel_a, rel_b, angleInDegrees=True)  # [0, 360)
    hue[hue > 180.0] -= 360.0
    skin_chroma = float(np.hypot(*(skin_ab - cast)))
    distance_to_skin = cv2.magnitude(a - np.float32(skin_ab[0]), b - np.float32(skin_ab[1]))
    near_skin = usable & (distance_to_skin < max(6.0, 0.5 * skin_chroma))
    skin_L = robust_median(L, near_skin) if near_skin.any() else robust_median(L, usable if usable.any() else None)

    # 1. glare: bright and desaturated relative to the skin (specular reflection), or clipped.
    glare = (L > 97.0) | ((L > skin_L + 18.0) & (chroma < 0.6 * max(skin_chroma, 5.0)))
    glare = cv2.dilate(glare.astype(np.uint8), disk(2)).astype(bool)

    # 2. neutral references and backgrounds: nearer the light's colour than the skin's, in large regions.
    if two_clusters:
        neutral = chroma < distance_to_skin
    else:
        neutral = chroma < 3.0
    neutral &= usable  # black (e.g. the border of an aligned photo) or clipped is not a reference
    neutral = cv2.morphologyEx(neutral.astype(np.uint8), cv2.MORPH_OPEN, disk(2)).astype(bool)
    neutral = _flat_components(neutral, L, min_area=max(50, int(0.002 * area)))

    # 3. colours no skin has (saturation judged in absolute terms, hue relative to the light).
    not_skin_colour = (
        (cv2.magnitude(a, b) > 60.0)
        | (((hue > 100.0) | (hue < -30.0)) & (chroma > 8.0))
        | ((chroma > 35.0) & (chroma > 2.5 * skin_chroma))
    )

    # 4. hair masses: large or elongated regions far darker than skin (brows, scalp hair,
    # deep shadow). A compact dark blob (a very dark spot or mole) stays: it is skin to measure.
    very_dark = L < skin_L - 35.0
    very_dark = cv2.morphologyEx(very_dark.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    hair_mass = remove_small(very_dark, int(0.015 * area))
    hair_mass |= _elongated_components(very_dark, min_area=max(12, int(0.001 * area)), min_elongation=3.0)

    # 5. eyes, when a face is in frame.
    eyes = _eyes(L, chroma, skin_L)
    hair_mass |= eyes

    candidate = usable & ~neutral & ~not_skin_colour
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    # 6. keep the main skin regions only.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.zeros(count, bool)
        keep[1:] = (areas >= min_region_fraction * areas.max()) & (areas >= 0.005 * area)
        candidate = keep[labels]
    # Fill small holes (spots, scars, lesions are skin) unless they look like an eye.
    holes = ~candidate
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    if count > 1:
        border = np.zeros(count, bool)
        border[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
        small = stats[:, cv2.CC_STAT_AREA] <= 0.01 * area
        ids = labels.ravel()
        n = np.maximum(np.bincount(ids, minlength=count), 1)
        sclera = np.bincount(ids, ((L > skin_L + 10) & (chroma < 8)).ravel(), count) / n
        pupil = np.bincount(ids, (L < 25).ravel(), count) / n
        fill = small & ~border & (sclera < 0.1) & (pupil < 0.3)
        fill[0] = False
        candidate |= fill[labels]
    size = (full_width, full_height)

    def full(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)

    if executor is not None:
        hair_thin = hair_future.result()
    glare, hair = full(glare), full(hair_mass) | hair_thin
    hair = cv2.dilate(hair.astype(np.uint8), disk(1)).astype(bool)
    skin = full(candidate) & ~glare & ~hair
    return SkinMask(
        skin=skin,
        glare=glare,
        neutral=full(neutral),
        not_skin_colour=full(not_skin_colour),
        hair=hair,
        dark=full(dark),
        skin_chroma=skin_chroma,
    )
