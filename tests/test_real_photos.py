"""Real smartphone photos (../shared/real_photos): every one scores, orderings a person looking at the
photos would agree with hold, dermatologist-outlined lesions are measured as they should be, and known
changes applied to real photos (with an independent float-Lab conversion, scikit-image's) are recovered."""

from __future__ import annotations

import csv
import math
from functools import lru_cache

import cv2
import numpy as np
import pytest
from skimage import color

import skintrack
from skintrack.comparison.noise import Conditions, within_noise
from skintrack.measure.metrics import NO_SCALE

from .conftest import REAL_PHOTOS, real_photo

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not REAL_PHOTOS.exists(), reason="../shared/real_photos not available")]

EXTERNAL = REAL_PHOTOS / "external"
PIGMENTED = ("NEV", "MEL", "SEK")  # naevi, melanomas, seborrhoeic keratoses
RED = ("BCC", "SCC")  # basal and squamous cell carcinomas: pink-red (the one actinic keratosis is a pale scaly crust)


@lru_cache(maxsize=None)
def metrics(name: str) -> dict[str, float]:
    return skintrack.score(skintrack.load_photo(real_photo(name))).metrics


def photo_files(folder):
    """The photos of a folder tree (JPEG and PNG), never the lesion masks beside them."""
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg") and "masks" not in p.parts
    )


def test_every_real_photo_scores_or_is_refused_clearly(real_photos_dir):
    paths = photo_files(real_photos_dir)
    assert len(paths) > 150
    for path in paths:
        try:
            result = skintrack.score(skintrack.load_photo(path))
        except skintrack.PhotoError:
            continue
        # Sizes in mm² need a measured scale (a chart or a face): without one they are NaN with that reason.
        sizes = ("red_lesion_mean_mm2", "spot_mean_mm2")
        expected = {} if result.provenance["scale"]["measured"] else {name: NO_SCALE for name in sizes}
        assert result.provenance["errors"] == expected, path.name
        assert all(math.isfinite(v) for name, v in result.metrics.items() if name not in expected), path.name


# (metric, the photo a person would rank higher, the photo they would rank lower, why)
ORDERINGS = [
    ("redness", "PAT_967_1827_247.png", "PAT_680_1289_182.png", "inflamed red nose vs pale back"),
    ("redness", "PAT_759_1433_914.png", "PAT_286_1459_926.png", "red lesion vs pale pink back"),
    ("redness", "PAT_1428_1489_38.png", "PAT_1089_375_60.png", "blotchy red forearm vs pale chest"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_1428_1489_38.png", "many dark spots vs red forearm"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_79_120_739.png", "many dark spots vs pink face with vessels"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_967_1827_247.png", "many dark spots vs red nose"),
    ("spot_contrast", "PAT_680_1289_182.png", "PAT_286_1459_926.png", "very dark spot vs faint pink papules"),
    ("spot_contrast", "PAT_93_361_203.png", "PAT_297_4307_924.png", "dark-brown spots vs light-brown mottling"),
    ("texture_roughness", "PAT_1451_1560_616.png", "PAT_286_1459_926.png", "coarse pores vs smooth back"),
    ("texture_roughness", "PAT_1428_1489_38.png", "PAT_1089_375_677.png", "rough hairy forearm vs smooth chest"),
    ("line_density", "PAT_93_361_203.png", "PAT_1089_375_677.png", "wrinkled sun-damaged face vs smooth chest"),
    ("line_density", "PAT_544_3299_671.png", "PAT_286_1459_926.png", "fine facial wrinkles vs smooth back"),
    ("ita", "PAT_1089_375_677.png", "PAT_1428_1489_38.png", "very pale chest vs tanned forearm"),
    ("ita", "PAT_680_1289_182.png", "PAT_1453_1567_250.png", "pale back vs tanned face"),
    ("ita", "PAT_286_1459_926.png", "PAT_79_120_739.png", "pale back vs darker facial skin"),
    ("evenness", "PAT_93_361_203.png", "PAT_286_1459_666.png", "blotchy sun damage vs even back"),
]


@pytest.mark.parametrize("metric, higher, lower, why", ORDERINGS, ids=[o[3] for o in ORDERINGS])
def test_orderings_a_person_would_agree_with(metric, higher, lower, why):
    high, low = metrics(higher)[metric], metrics(lower)[metric]
    assert high > 1.3 * low if low > 0 else high > low + 5, f"{metric}: {higher}={high:.2f} vs {lower}={low:.2f}"


def test_repeat_shots_of_one_area_agree_better_than_different_people():
    # The same back photographed twice (different framing) vs another person's face.
    pair = abs(metrics("PAT_286_1459_666.png")["ita"] - metrics("PAT_286_1459_926.png")["ita"])
    different = abs(metrics("PAT_286_1459_926.png")["ita"] - metrics("PAT_1453_1567_250.png")["ita"])
    assert pair < 0.5 * different


# --------------------------------------------------------------------------- outlined lesions


def _manifest() -> list[dict[str, str]]:
    with open(EXTERNAL / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _at(mask: np.ndarray, shape) -> np.ndarray:
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def _ring(lesion: np.ndarray) -> np.ndarray:
    """Skin around a lesion: a band half the lesion's equivalent radius wide, after a small gap."""
    radius = max(3, int(round(0.5 * math.sqrt(lesion.sum() / math.pi))))
    gap = max(2, radius // 3)
    disk = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    outer = cv2.dilate(lesion.astype(np.uint8), disk(radius + gap)).astype(bool)
    return outer & ~cv2.dilate(lesion.astype(np.uint8), disk(gap)).astype(bool)


@lru_cache(maxsize=None)
def _lesions():
    """(photo, lesion mask at the working resolution, diagnosis, its Score) for every outlined lesion."""
    out = []
    for row in _manifest():
        if row["role"].startswith("lesion_mask_of:"):
            photo = skintrack.load_photo(EXTERNAL / row["role"].split(":", 1)[1])
            result = skintrack.score(photo)
            mask = cv2.imread(str(EXTERNAL / row["file"]), cv2.IMREAD_GRAYSCALE) > 127
            out.append((photo, _at(mask, result.maps["skin"].shape), row["diagnostic"], result))
    return out


def test_lesions_stay_in_the_skin_mask():
    lesions = _lesions()
    assert len(lesions) == 24
    kept = [float((result.maps["skin"] & lesion).sum() / lesion.sum()) for _, lesion, _, result in lesions]
    assert min(result.provenance["skin_pixels"] for *_, result in lesions) > 0  # no photo loses all its skin
    assert sum(k >= 0.8 for k in kept) >= 22  # was 14 of 24 in engine 0.1.0
    assert np.median(kept) >= 0.95


def test_pigmented_lesions_are_found_as_dark_spots_over_most_of_their_area():
    cover = [
        float((result.maps["spots"] & lesion).sum() / lesion.sum())
        for _, lesion, diagnosis, result in _lesions()
        if diagnosis in PIGMENTED
    ]
    assert len(cover) == 17
    assert sum(c >= 0.5 for c in cover) >= 12  # was 2 of 17 in engine 0.1.0 (median cover 9 %)
    assert np.median(cover) >= 0.6


def test_pigmented_lesions_measure_darker_than_the_skin_around_them():
    for photo, lesion, diagnosis, _ in _lesions():
        if diagnosis not in PIGMENTED:
            continue
        inside = skintrack.score(photo, roi=lesion).metrics
        around = skintrack.score(photo, roi=_ring(lesion)).metrics
        assert inside["ita"] < around["ita"] - 5, photo.metadata.get("sha256")


def test_red_lesions_measure_redder_than_the_skin_around_them():
    checked = 0
    for photo, lesion, diagnosis, _ in _lesions():
        if diagnosis not in RED:
            continue
        inside = skintrack.score(photo, roi=lesion).metrics
        around = skintrack.score(photo, roi=_ring(lesion)).metrics
        assert inside["redness"] > around["redness"] + 1.0
        checked += 1
    assert checked == 6


def test_spots_on_close_ups_are_spots_not_pores():
    counts = [
        skintrack.score(skintrack.load_photo(path)).metrics["spot_count"]
        for path in sorted((EXTERNAL / "pad").glob("*.jpg"))
    ]
    assert len(counts) == 91
    assert np.median(counts) <= 12 and max(counts) <= 40  # engine 0.1.0: median 20, up to 62 (mostly pores)


# --------------------------------------------------------------------------- known changes on real photos


def _with_lab(rgb: np.ndarray, change) -> np.ndarray:
    """Apply ``change(lab)`` in float CIELAB with scikit-image (never skintrack's own conversion)."""
    lab = color.rgb2lab(rgb.astype(np.float64) / 255.0)
    return np.clip(np.rint(color.lab2rgb(change(lab)) * 255.0), 0, 255).astype(np.uint8)


def _soft_spots(shape, centres, sigma):
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    field = np.zeros(shape)
    for cx, cy in centres:
        field = np.maximum(field, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)))
    return field


@lru_cache(maxsize=None)
def _semi():
    """The larger real close-ups kept for known changes, and their scores."""
    out = []
    for row in _manifest():
        if row["role"] == "semi":
            photo = skintrack.load_photo(EXTERNAL / row["file"])
            out.append((np.ascontiguousarray(photo.rgb), skintrack.score(photo)))
    return out


def _free_places(base, shape, sigma, count=3, avoid=("spots",)):
    """``count`` places in the lower half of the photo on measured skin, away from its spots (the maps in
    ``avoid``) and each other."""
    h, w = shape
    skin = _at(base.maps["skin"], (h, w))
    for name in avoid:
        skin &= ~_at(base.maps[name], (h, w))
    clear = cv2.erode(skin.astype(np.uint8), np.ones((int(8 * sigma) | 1,) * 2, np.uint8)).astype(bool)
    places = []
    for y in np.linspace(0.55 * h, 0.9 * h, 8):
        for x in np.linspace(0.1 * w, 0.9 * w, 12):
            if clear[int(y), int(x)] and all(math.hypot(x - px, y - py) > 10 * sigma for px, py in places):
                places.append((float(x), float(y)))
    assert len(places) >= count
    return places[:count]


# spot_area_pct is left out: 8-bit rounding after the colour change moves L* by a fraction of a unit, and a
# large spot whose peak sits at the threshold may come or go (spot_count below allows for it).
UNMOVED = ("spot_count", "texture_roughness", "line_density", "evenness")


def test_redness_added_over_the_skin_is_recovered_and_nothing_else_moves():
    shifts = []
    for rgb, base in _semi():
        skin = _at(base.maps["skin"], rgb.shape[:2])

        def redder(lab):
            lab = lab.copy()
            lab[..., 1] += 4.0 * skin  # over the measured skin only
            return lab

        changed = skintrack.score(_with_lab(rgb, redder), reference=base)
        shifts.append(changed.metrics["redness"] - base.metrics["redness"])
        assert abs(changed.metrics["ita"] - base.metrics["ita"]) < 1.0
        # (A colour change can move the skin mask's edge by a few pixels: a spot there may come or go.)
        assert abs(changed.metrics["spot_count"] - base.metrics["spot_count"]) <= max(2, 0.1 * base.metrics["spot_count"])
        # Red lesions are judged against the skin around them: redder skin all over is not more lesions. Lesions
        # whose peak sits at the threshold may come or go (8-bit rounding, clipping), as between two shots of the
        # same skin: the count's change stays within the shipped noise band, so it never reads as a real change.
        change = changed.metrics["red_lesion_count"] - base.metrics["red_lesion_count"]
        assert within_noise("red_lesion_count", change, Conditions("none", 1.0), level=base.metrics["red_lesion_count"]), change
        for name in UNMOVED[1:]:
            assert changed.metrics[name] == pytest.approx(base.metrics[name], rel=0.15, abs=0.05), name
    assert len(shifts) == 6
    assert all(3.4 <= s <= 4.4 for s in shifts), shifts  # +4 a*, less where a channel clips


def test_painted_dark_spots_are_found_and_spots_elsewhere_do_not_change():
    for rgb, base in _semi():
        h, w = rgb.shape[:2]
        sigma = 0.015 * min(h, w)
        centres = _free_places(base, (h, w), sigma)
        field = _soft_spots((h, w), centres, sigma)

        def darker(lab):
            lab = lab.copy()
            lab[..., 0] -= 20.0 * field
            return lab

        spotted = skintrack.score(_with_lab(rgb, darker), reference=base)
        painted = _at(field > 0.5, base.maps["spots"].shape)
        assert (spotted.maps["spots"] & painted).sum() >= 0.75 * painted.sum()
        assert spotted.metrics["spot_count"] == base.metrics["spot_count"] + 3
        # Issue 19: adding spots never lowers the spot area; it rises by at least half the painted share of skin.
        painted_share = 100 * (painted & base.maps["skin"]).sum() / base.maps["skin"].sum()
        assert spotted.metrics["spot_area_pct"] - base.metrics["spot_area_pct"] >= 0.5 * painted_share
        # Detection is local: farther than one background window from the painted spots, the spots
        # found are exactly as they were.
        window = spotted.provenance["settings"]["spot_window_mm"] / spotted.mm_per_px
        touched = _at(field > 0.01, painted.shape).astype(np.uint8)
        far = cv2.distanceTransform(1 - touched, cv2.DIST_L2, 5) > window
        assert far.mean() > 0.1
        before, after = base.maps["spots"] & far, spotted.maps["spots"] & far
        assert (before ^ after).sum() <= 0.01 * max(int(before.sum()), 100)
        assert abs(spotted.metrics["redness"] - base.metrics["redness"]) < 0.3


def test_painted_red_lesions_are_found_and_nothing_else_moves():
    """Three red papules painted onto each real close-up (+10 a* at their centre, through scikit-image's float
    Lab, away from its spots and red lesions) are counted, outlined over most of their core, and leave the dark
    spots and the red lesions far from them as they were."""
    for rgb, base in _semi():
        h, w = rgb.shape[:2]
        sigma = 0.012 * min(h, w)
        centres = _free_places(base, (h, w), sigma, avoid=("spots", "red_lesions"))
        field = _soft_spots((h, w), centres, sigma)

        def redder(lab):
            lab = lab.copy()
            lab[..., 1] += 10.0 * field
            return lab

        papules = skintrack.score(_with_lab(rgb, redder), reference=base)
        core = _at(field > 0.5, base.maps["red_lesions"].shape)
        assert (papules.maps["red_lesions"] & core).sum() >= 0.75 * core.sum()
        assert papules.metrics["red_lesion_count"] == base.metrics["red_lesion_count"] + 3
        assert abs(papules.metrics["spot_count"] - base.metrics["spot_count"]) <= 1
        window = papules.provenance["settings"]["red_lesion_window_mm"] / papules.mm_per_px
        touched = _at(field > 0.01, core.shape).astype(np.uint8)
        far = cv2.distanceTransform(1 - touched, cv2.DIST_L2, 5) > window
        before, after = base.maps["red_lesions"] & far, papules.maps["red_lesions"] & far
        assert (before ^ after).sum() <= 0.01 * max(int(before.sum()), 100)


@pytest.mark.xfail(
    strict=True,
    reason="issue 19, open: with engine 0.5.0 (and 0.6.0: dark spots unchanged) the spot area falls on 5 of 107 photos with room for three spots "
    "(PAT_419_832_706 10.4 -> 8.5 %, PAT_67_104_695 8.9 -> 6.5 %, PAT_795_1508_925 3.6 -> 2.3 %, PAT_693_1313_304 "
    "2.9 -> 2.7 %, PAT_471_909_353 0.14 -> 0.13 %). Causes seen: a lesion filling most of the 30 mm background "
    "window is taken for background by the running median that starts B, and painting spots tips it; a painted "
    "spot joins the candidate region of a spot nearby, whose extent (half its typical darkness) or shape test then "
    "changes; spots painted into hair or an elongated mole are not found. Starting B from the upper half of the "
    "window fixes the first cause but not the others (measured 2026-12-07: 4 failures). A fix moves numbers.",
)
def test_painting_spots_never_lowers_the_spot_area_on_any_real_close_up():
    """Issue 19 found one real close-up whose spot area fell when three spots were painted on (measured
    against the original as reference). Every PAD-UFES-20 close-up with room for three spots is tried."""
    tried = 0
    for path in sorted((EXTERNAL / "pad").glob("*.jpg")) + sorted((REAL_PHOTOS / "pad_ufes_20").glob("*.png")):
        photo = skintrack.load_photo(path)
        rgb, base = np.ascontiguousarray(photo.rgb), skintrack.score(photo)
        h, w = rgb.shape[:2]
        sigma = 0.015 * min(h, w)
        try:
            centres = _free_places(base, (h, w), sigma)
        except AssertionError:  # too little clear skin for three spots
            continue
        field = _soft_spots((h, w), centres, sigma)

        def darker(lab, field=field):
            lab = lab.copy()
            lab[..., 0] -= 20.0 * field
            return lab

        spotted = skintrack.score(_with_lab(rgb, darker), reference=base)
        tried += 1
        assert spotted.metrics["spot_area_pct"] > base.metrics["spot_area_pct"], path.name
        assert spotted.metrics["spot_count"] >= base.metrics["spot_count"], path.name
    assert tried >= 100  # measured 2026-12-07: 107 of them have room (the rest are all lesion)


def test_a_slight_blur_lowers_texture_only():
    for rgb, base in _semi():
        blurred = skintrack.score(cv2.GaussianBlur(rgb, (0, 0), 1.0), reference=base)
        assert blurred.metrics["texture_roughness"] < base.metrics["texture_roughness"]
        assert abs(blurred.metrics["redness"] - base.metrics["redness"]) < 0.1
        assert abs(blurred.metrics["ita"] - base.metrics["ita"]) < 0.5


def test_redness_on_a_face_is_measured_on_the_face():
    portrait = skintrack.load_photo(real_photo("astronaut_skimage.png"))
    face = skintrack.find_face(portrait)
    rgb = np.ascontiguousarray(portrait.rgb)
    base = skintrack.score(portrait)
    # 97 % of what is measured is the face (engine 0.1.0: 8 %, the rest suit, flag and wall).
    oval = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(face.landmarks[list(skintrack.measure.face.FACE_OVAL)]).astype(np.int32)], 1)
    skin = base.maps["skin"]
    assert (skin & _at(oval.astype(bool), skin.shape)).sum() >= 0.95 * skin.sum()
    # +4 a* over the face oval only: the whole-photo redness moves by ~4 (engine 0.1.0: +0.35), each zone too.
    def redder(lab):
        lab = lab.copy()
        lab[..., 1] += 4.0 * oval
        return lab

    changed_photo = _with_lab(rgb, redder)
    assert skintrack.score(changed_photo).metrics["redness"] - base.metrics["redness"] == pytest.approx(4.0, abs=0.5)
    # (The forehead under this fringe has too little skin at 512 px: it is NaN with the reason.)
    for zone in ("left_cheek", "right_cheek", "nose", "chin"):
        before = skintrack.score(portrait, zone=zone, face=face).metrics["redness"]
        after = skintrack.score(changed_photo, zone=zone, face=face).metrics["redness"]
        assert after - before == pytest.approx(4.0, abs=0.5), zone


# --------------------------------------------------------------------------- regions of interest (issue 19)

REGION_PHOTOS = ("PAT_1089_375_677.png", "PAT_289_1399_481.png", "PAT_417_828_723.png", "PAT_680_1289_182.png",
                 "PAT_93_361_203.png", "PAT_759_1433_973.png")  # fmt: skip


def _spot_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centroids (x, y) per label) of a spot mask: each spot is one 8-connected component."""
    _, labels, _, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return labels, centroids


def _kept_inside(
    whole: skintrack.Score, rect_working: tuple[int, int, int, int], found: str = "spots"
) -> tuple[int, np.ndarray]:
    """The whole photo's spots (or red lesions: ``found="red_lesions"``) whose centre lies in the rectangle:
    (count, their pixels inside it)."""
    x, y, w, h = rect_working
    inside = np.zeros(whole.maps[found].shape, bool)
    inside[y : y + h, x : x + w] = True
    labels, centroids = _spot_components(whole.maps[found])
    keep = [i for i in range(1, len(centroids)) if inside[int(round(centroids[i][1])), int(round(centroids[i][0]))]]
    return len(keep), np.isin(labels, keep) & inside


def _rect_around_spots(whole: skintrack.Score, n: int = 5) -> tuple[int, int, int, int]:
    """A rectangle (working px) drawn tightly around the ``n`` spots nearest the photo's centre, as a provider
    outlines a patch of dark spots."""
    labels, centroids = _spot_components(whole.maps["spots"])
    height, width = labels.shape
    order = sorted(range(1, len(centroids)), key=lambda i: np.hypot(*(centroids[i] - (width / 2, height / 2))))
    ys, xs = np.nonzero(np.isin(labels, order[:n]))
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize("name", REGION_PHOTOS)
def test_a_region_gives_the_whole_photos_spots_kept_inside_it(name):
    """Issue 19: a rectangle drawn over five dark spots measured 0 spots (the region set its own background,
    threshold and edge). Measuring inside a region is now measuring the whole photo and keeping what lies inside:
    the same spots and red lesions, the same thresholds, the same figures."""
    _check_regions(name)


def _check_regions(name: str) -> int:
    """The checks of the test above on one photo; returns how many red lesions its regions kept."""
    photo = skintrack.load_photo(real_photo(name))
    whole = skintrack.score(photo)
    assert whole.metrics["spot_count"] >= 5
    rects = [_rect_around_spots(whole)]
    height, width = whole.maps["skin"].shape
    rects += [(0, 0, width // 2, height // 2), (width // 4, height // 3, width // 2, height // 2)]
    red_checked = 0
    for x, y, w, h in rects:
        roi = np.zeros((height, width), bool)  # at the working size: exactly these pixels
        roi[y : y + h, x : x + w] = True
        inside = skintrack.score(photo, roi=roi)
        count, pixels = _kept_inside(whole, (x, y, w, h))
        assert inside.thresholds == whole.thresholds  # a region never changes a threshold
        assert inside.metrics["spot_count"] == count
        assert np.array_equal(inside.maps["spots"], pixels)
        skin = int(inside.maps["skin"].sum())
        assert inside.metrics["spot_area_pct"] == pytest.approx(100.0 * pixels.sum() / skin)
        lesions, lesion_pixels = _kept_inside(whole, (x, y, w, h), "red_lesions")
        assert inside.metrics["red_lesion_count"] == lesions
        assert np.array_equal(inside.maps["red_lesions"], lesion_pixels)
        red_checked += lesions
    assert _kept_inside(whole, rects[0])[0] >= 5  # the provider's patch keeps its five spots
    return red_checked


def test_regions_keep_red_lesions_too():
    """The region test above, counted over its photos: red lesions were among what the regions kept (so the
    red-lesion half of it checked something)."""
    assert sum(_check_regions(name) for name in REGION_PHOTOS) >= 5


def test_a_region_over_dark_spots_is_no_false_improvement_through_compare():
    """The app's path (measure_baseline and compare with a region): the same photo again is no change, and the
    baseline with a region counts the spots the whole photo shows there."""
    from skintrack.comparison.compare import compare, measure_baseline

    path = real_photo(REGION_PHOTOS[0])
    whole = measure_baseline(path).score
    x, y, w, h = _rect_around_spots(whole)
    height, width = whole.maps["skin"].shape
    region = [(x / width, y / height), ((x + w) / width, y / height), ((x + w) / width, (y + h) / height),
              (x / width, (y + h) / height)]  # fmt: skip
    first = measure_baseline(path, roi=region)
    assert first.score.thresholds == whole.thresholds
    assert first.score.metrics["spot_count"] >= 5
    again = compare(first, path)
    assert again.status == "scored", again.reasons
    assert again.score.metrics["spot_count"] == first.score.metrics["spot_count"]
    assert abs(again.changes["spot_area_pct"]) <= 0.1 * first.score.metrics["spot_area_pct"]
