"""Figures for the README's "Measuring real photos" section, measured on ../shared/real_photos.

Prints (and with ``--json PATH`` writes) how the engine does on real photos nobody here rendered:

* lesion kept in skin: share of each dermatologist-outlined lesion (external/masks, 24 photos) that the skin
  mask keeps; photos with no skin at all;
* lesion found as spot: share of each pigmented lesion (nevus, melanoma, seborrhoeic keratosis) covered by
  dark spots; lesions covered over at least half their area;
* spot counts on close-ups (external/pad, 91 photos): median and largest;
* the portrait (public_domain/astronaut_skimage.png): share of the skin mask that is face or neck (a polygon
  drawn by hand on the 512 px photo, independent of any face detector);
* known changes applied to real photos with an independent float-Lab conversion (skimage.color): a* +4 over
  the face (portrait) or over the whole frame (close-ups), three soft dark spots painted, a slight blur.

Run it on any engine version (it uses only ``skintrack.score``; zones are used when the engine has
``find_face``), e.g. ``python tools/real_photo_figures.py --json before.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import color

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import skintrack  # noqa: E402

REAL = REPO.parent / "shared" / "real_photos"
EXTERNAL = REAL / "external"
PORTRAIT = REAL / "public_domain" / "astronaut_skimage.png"
PIGMENTED = ("NEV", "MEL", "SEK")

#: Face and visible neck of the portrait, drawn by hand on the 512 x 512 photo (x, y).
PORTRAIT_FACE = np.array(
    [(183, 80), (205, 75), (230, 78), (255, 75), (268, 82), (272, 100), (274, 120), (270, 140), (262, 160),
     (258, 180), (250, 186), (200, 190), (190, 178), (186, 160), (181, 135), (178, 115), (179, 95)],
    np.int32,
)  # fmt: skip


def manifest() -> list[dict[str, str]]:
    with open(EXTERNAL / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def rgb_of(path: Path) -> np.ndarray:
    return np.ascontiguousarray(skintrack.load_photo(path).rgb)


def at(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def lesion_masks() -> list[tuple[Path, np.ndarray, dict[str, str]]]:
    out = []
    for row in manifest():
        if row["role"].startswith("lesion_mask_of:"):
            photo = EXTERNAL / row["role"].split(":", 1)[1]
            mask = cv2.imread(str(EXTERNAL / row["file"]), cv2.IMREAD_GRAYSCALE) > 127
            out.append((photo, mask, row))
    return out


def ring_of(mask: np.ndarray, width_fraction: float = 0.5) -> np.ndarray:
    """Skin around a lesion: a band about half the lesion's equivalent radius wide, a small gap left."""
    radius = max(3, int(round(width_fraction * math.sqrt(mask.sum() / math.pi))))
    gap = max(2, radius // 3)
    kernel = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    outer = cv2.dilate(mask.astype(np.uint8), kernel(radius + gap)).astype(bool)
    inner = cv2.dilate(mask.astype(np.uint8), kernel(gap)).astype(bool)
    return outer & ~inner


def lesion_figures() -> dict:
    kept, coverage, rows = [], [], []
    zero_skin = 0
    for photo, mask, row in lesion_masks():
        result = skintrack.score(skintrack.load_photo(photo))
        skin = result.maps["skin"]
        lesion = at(mask, skin.shape)
        share = float((skin & lesion).sum() / max(lesion.sum(), 1))
        kept.append(share)
        zero_skin += int(skin.sum() == 0)
        entry = {"photo": photo.name, "diagnostic": row["diagnostic"], "kept": round(share, 3)}
        if row["diagnostic"] in PIGMENTED:
            cover = float((result.maps["spots"] & lesion).sum() / max(lesion.sum(), 1))
            coverage.append(cover)
            entry["spot_cover"] = round(cover, 3)
        rows.append(entry)
    return {
        "lesions": len(kept),
        "kept_80pct": int(sum(k >= 0.8 for k in kept)),
        "kept_median": round(float(np.median(kept)), 3),
        "no_skin_photos": zero_skin,
        "pigmented": len(coverage),
        "found_as_spot_50pct": int(sum(c >= 0.5 for c in coverage)),
        "spot_cover_median": round(float(np.median(coverage)), 3),
        "per_photo": rows,
    }


def close_up_figures() -> dict:
    counts = []
    errors = 0
    for path in sorted((EXTERNAL / "pad").glob("*.jpg")):
        try:
            result = skintrack.score(skintrack.load_photo(path))
        except skintrack.PhotoError:
            errors += 1
            continue
        count = result.metrics["spot_count"]
        counts.append(count if math.isfinite(count) else float("nan"))
    counts_arr = np.array(counts)
    finite = counts_arr[np.isfinite(counts_arr)]
    return {
        "photos": len(counts) + errors,
        "photo_errors": errors,
        "nan_spot_count": int((~np.isfinite(counts_arr)).sum()),
        "spot_count_median": float(np.median(finite)),
        "spot_count_max": float(finite.max()),
        "spot_count_p90": float(np.percentile(finite, 90)),
    }


def portrait_face_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(mask, [PORTRAIT_FACE], 1)
    return at(mask.astype(bool), shape)


def with_lab(rgb: np.ndarray, change) -> np.ndarray:
    """Apply ``change(lab) -> lab`` in float CIELAB (skimage.color, D65) and return 8-bit sRGB."""
    lab = color.rgb2lab(rgb.astype(np.float64) / 255.0)
    out = color.lab2rgb(change(lab))
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def soft_spots(shape: tuple[int, int], centres, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    field = np.zeros(shape)
    for cx, cy in centres:
        field = np.maximum(field, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2)))
    return field


def portrait_figures() -> dict:
    photo = skintrack.load_photo(PORTRAIT)
    rgb = np.ascontiguousarray(photo.rgb)
    base = skintrack.score(photo)
    face = portrait_face_mask(base.maps["skin"].shape)
    skin = base.maps["skin"]
    out = {
        "skin_that_is_face_pct": round(100.0 * float((skin & face).sum() / max(skin.sum(), 1)), 1),
        "face_kept_as_skin_pct": round(100.0 * float((skin & face).sum() / max(face.sum(), 1)), 1),
    }
    face_512 = portrait_face_mask((512, 512))

    def redder(lab):
        lab = lab.copy()
        lab[..., 1] += 4.0 * face_512
        return lab

    red = skintrack.score(with_lab(rgb, redder))
    out["redness_shift_whole_photo"] = round(red.metrics["redness"] - base.metrics["redness"], 2)
    find_face = getattr(skintrack, "find_face", None)
    if find_face is not None:
        face_found = find_face(photo)
        if face_found is not None:
            red_photo = skintrack.load_photo(with_lab(rgb, redder))
            for zone in ("forehead", "left_cheek", "right_cheek", "nose", "chin"):
                z0 = skintrack.score(photo, roi=face_found.zones[zone]).metrics["redness"]
                z1 = skintrack.score(red_photo, roi=face_found.zones[zone]).metrics["redness"]
                out[f"redness_shift_{zone}"] = round(z1 - z0, 2)
    return out


def known_change_figures() -> dict:
    """a* +4, three soft dark spots, a slight blur on the larger close-ups (role ``semi``)."""
    rows = []
    for row in manifest():
        if row["role"] != "semi":
            continue
        photo = skintrack.load_photo(EXTERNAL / row["file"])
        rgb = np.ascontiguousarray(photo.rgb)
        base = skintrack.score(photo)
        h, w = rgb.shape[:2]

        def redder(lab):
            lab = lab.copy()
            lab[..., 1] += 4.0
            return lab

        red = skintrack.score(with_lab(rgb, redder), reference=base)
        # Three soft spots (σ = 1.5 % of the short side, ΔL* -20 at the centre) in a row near the bottom.
        centres = [(w * 0.2, h * 0.8), (w * 0.5, h * 0.85), (w * 0.8, h * 0.8)]
        field = soft_spots((h, w), centres, 0.015 * min(h, w))

        def darker(lab):
            lab = lab.copy()
            lab[..., 0] -= 20.0 * field
            return lab

        spotted = skintrack.score(with_lab(rgb, darker), reference=base)
        painted = at(field > 0.5, base.maps["spots"].shape)
        # "Elsewhere": the top half of the photo, well away from the painted spots.
        far = np.zeros(painted.shape, bool)
        far[: int(0.55 * far.shape[0])] = True
        before_far = base.maps["spots"] & far
        after_far = spotted.maps["spots"] & far
        union = (before_far | after_far).sum()
        blurred = skintrack.score(cv2.GaussianBlur(rgb, (0, 0), 1.0), reference=base)
        rows.append(
            {
                "photo": Path(row["file"]).name,
                "redness_shift": round(red.metrics["redness"] - base.metrics["redness"], 2),
                "ita_shift_with_redness": round(red.metrics["ita"] - base.metrics["ita"], 2),
                "spot_count_change": spotted.metrics["spot_count"] - base.metrics["spot_count"],
                "painted_found_pct": round(100.0 * float((spotted.maps["spots"] & painted).sum() / max(painted.sum(), 1)), 1),
                "spots_elsewhere_unchanged_iou": round(float((before_far & after_far).sum() / union), 3) if union else 1.0,
                "roughness_change_blur": round(blurred.metrics["texture_roughness"] - base.metrics["texture_roughness"], 3),
                "redness_change_blur": round(blurred.metrics["redness"] - base.metrics["redness"], 3),
            }
        )
    summary = {
        "photos": len(rows),
        "redness_shift_median": float(np.median([r["redness_shift"] for r in rows])),
        "spot_count_change_median": float(np.median([r["spot_count_change"] for r in rows])),
        "painted_found_median_pct": float(np.median([r["painted_found_pct"] for r in rows])),
        "spots_elsewhere_iou_min": float(min(r["spots_elsewhere_unchanged_iou"] for r in rows)),
        "blur_lowers_roughness": int(sum(r["roughness_change_blur"] < 0 for r in rows)),
        "per_photo": rows,
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = {
        "engine_version": skintrack.__version__,
        "lesions": lesion_figures(),
        "close_ups": close_up_figures(),
        "portrait": portrait_figures(),
        "known_changes": known_change_figures(),
    }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
