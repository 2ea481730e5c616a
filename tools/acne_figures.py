"""How many boxed acne lesions the engine finds: the figures of issue 19 on ACNE04 (../shared/real_photos).

For every photo of ``external/acne04`` with ``role = acne_boxes`` (100 faces and cheeks, 25 per severity
grade, 2,321 boxes), :func:`skintrack.score` measures the whole photo (face, zones and skin mask as usual)
and this tool counts, by grade:

* **recall**: the share of boxes that touch a detected dark spot or red lesion (``maps["spots"] |
  maps["red_lesions"]``, the issue's measure), also for spots alone, red lesions alone and the red area
  (``maps["red"]``, whose threshold is the whole skin's: engines before 0.6.0 had only that);
* **false detections per photo**: detected regions (8-connected components of spots | red lesions) that
  touch no box; the median and upper quartile over the photos of the grade, and the median of dark spots
  alone that touch no box. The boxes are not exhaustive
  (the export's own note), so this counts some real lesions as false: it is an upper bound.

A box "touches" a detection when at least one detected working pixel lies inside it (boxes are given in
pixels of the stored 640 x 640 photo and are scaled to the working size).

Run on any engine version: ``python tools/acne_figures.py`` prints the Markdown table the README shows;
``--json PATH`` also writes the figures; ``--photos N`` takes the first N photos of each grade.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import skintrack  # noqa: E402

ACNE04 = REPO.parent / "shared" / "real_photos" / "external" / "acne04"
GRADES = {"levle0": "mild", "levle1": "moderate", "levle2": "severe", "levle3": "very severe"}


@dataclass
class PhotoFigures:
    """One photo: its boxes, how many touch a detection, and the detections that touch no box."""

    file: str
    grade: str
    boxes: int
    touched_any: int
    touched_spots: int
    touched_lesions: int
    touched_red: int  # by the red area (the whole skin's threshold)
    touched_spot_or_area: int  # by a dark spot or the red area: the figure engines before 0.6.0 gave
    false_detections: int
    false_spots: int  # dark spots alone that touch no box
    status: str  # "scored" or the reason the photo could not be measured


def boxed_photos(per_grade: int | None = None) -> dict[str, list[tuple[str, tuple[int, int, int, int]]]]:
    """``{file: [(grade, (xmin, ymin, xmax, ymax)), ...]}`` for the photos with ``role = acne_boxes``
    (the first ``per_grade`` photos of each grade by file name, or all)."""
    out: dict[str, list] = defaultdict(list)
    with open(ACNE04 / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["role"] == "acne_boxes":
                box = tuple(int(float(row[k])) for k in ("xmin", "ymin", "xmax", "ymax"))
                out[row["file"]].append((row["grade"], box))
    kept, seen = {}, defaultdict(int)
    for file in sorted(out):
        grade = out[file][0][0]
        if per_grade is None or seen[grade] < per_grade:
            kept[file], seen[grade] = out[file], seen[grade] + 1
    return kept


def measure_photo(file: str, boxes: list[tuple[str, tuple[int, int, int, int]]]) -> PhotoFigures:
    """Score one photo and count which of its boxes touch a dark spot or a red lesion (and the red area)."""
    grade = boxes[0][0]
    photo = skintrack.load_photo(ACNE04 / file)
    result = skintrack.score(photo)
    if not np.isfinite(result.metrics["spot_count"]):  # too little skin: the reason is in the provenance
        reason = result.provenance.get("errors", {}).get("spot_count", "not measured")
        return PhotoFigures(file, grade, len(boxes), 0, 0, 0, 0, 0, 0, 0, reason)
    spots, lesions, red = result.maps["spots"], result.maps["red_lesions"], result.maps["red"]
    found = spots | lesions
    height, width = found.shape
    sx, sy = width / photo.size[0], height / photo.size[1]
    n_parts, parts = cv2.connectedComponents(found.astype(np.uint8), connectivity=8)
    n_spots, spot_parts = cv2.connectedComponents(spots.astype(np.uint8), connectivity=8)
    touched_parts, touched_spots = np.zeros(n_parts, bool), np.zeros(n_spots, bool)
    counts = {"any": 0, "spots": 0, "lesions": 0, "red": 0, "spot_or_area": 0}
    for _, (x0, y0, x1, y1) in boxes:
        window = (slice(int(y0 * sy), max(int(y0 * sy) + 1, int(np.ceil(y1 * sy)))),
                  slice(int(x0 * sx), max(int(x0 * sx) + 1, int(np.ceil(x1 * sx)))))  # fmt: skip
        counts["any"] += bool(found[window].any())
        counts["spots"] += bool(spots[window].any())
        counts["lesions"] += bool(lesions[window].any())
        counts["red"] += bool(red[window].any())
        counts["spot_or_area"] += bool(spots[window].any() or red[window].any())
        touched_parts[np.unique(parts[window])] = True
        touched_spots[np.unique(spot_parts[window])] = True
    false, false_spots = int((~touched_parts[1:]).sum()), int((~touched_spots[1:]).sum())
    return PhotoFigures(file, grade, len(boxes), counts["any"], counts["spots"], counts["lesions"], counts["red"],
                        counts["spot_or_area"], false, false_spots, "scored")  # fmt: skip


def by_grade(photos: list[PhotoFigures]) -> dict[str, dict[str, float]]:
    """Recall (any / spots / red lesions / red area, % of boxes) and false detections per photo (median, upper quartile)."""
    out = {}
    for grade in (*GRADES, "all"):
        chosen = [p for p in photos if grade in ("all", p.grade)]
        if not chosen:
            continue
        boxes = sum(p.boxes for p in chosen)
        false = [p.false_detections for p in chosen if p.status == "scored"]
        false_spots = [p.false_spots for p in chosen if p.status == "scored"]
        out[grade] = {
            "photos": len(chosen),
            "not_measured": sum(p.status != "scored" for p in chosen),
            "boxes": boxes,
            "recall_pct": 100.0 * sum(p.touched_any for p in chosen) / boxes,
            "recall_spots_pct": 100.0 * sum(p.touched_spots for p in chosen) / boxes,
            "recall_lesions_pct": 100.0 * sum(p.touched_lesions for p in chosen) / boxes,
            "recall_red_pct": 100.0 * sum(p.touched_red for p in chosen) / boxes,
            "recall_spot_or_area_pct": 100.0 * sum(p.touched_spot_or_area for p in chosen) / boxes,
            "false_median": float(np.median(false)) if false else float("nan"),
            "false_q75": float(np.percentile(false, 75)) if false else float("nan"),
            "false_spots_median": float(np.median(false_spots)) if false_spots else float("nan"),
        }
    return out


def table(figures: dict[str, dict[str, float]]) -> str:
    lines = [
        "| grade | photos | boxes | boxes touched (dark spot or red lesion) | by a dark spot | by a red lesion | by the red area | detections touching no box per photo (median / upper quartile) | of them dark spots (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for grade, f in figures.items():
        name = "all" if grade == "all" else f"{GRADES[grade]} ({grade})"
        lines.append(
            f"| {name} | {f['photos']} | {f['boxes']} | {f['recall_pct']:.0f} % | {f['recall_spots_pct']:.0f} % | "
            f"{f['recall_lesions_pct']:.0f} % | {f['recall_red_pct']:.0f} % | {f['false_median']:g} / {f['false_q75']:g} | {f['false_spots_median']:g} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures (per grade and per photo) here")
    parser.add_argument("--photos", type=int, default=0, help="only the first N photos of each grade (0: all)")
    args = parser.parse_args(argv)
    photos = boxed_photos(args.photos or None)
    measured = [measure_photo(file, boxes) for file, boxes in sorted(photos.items())]
    figures = by_grade(measured)
    print(f"engine {skintrack.__version__}: ACNE04, role acne_boxes")
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps({"engine": skintrack.__version__, "by_grade": figures,
                                         "photos": [asdict(p) for p in measured]}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
