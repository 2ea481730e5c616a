"""Overlay images for the README: a portrait with its zones, a close-up with its spots (saved in docs/).

Run: ``.venv/bin/python tools/overlay_figures.py`` (needs ../shared/real_photos for the close-up).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import skintrack  # noqa: E402
from skintrack.measure.face import ZONES  # noqa: E402

COLOURS = {
    "forehead": (230, 80, 200), "nose": (240, 70, 60), "right_periorbital": (60, 200, 90),
    "left_periorbital": (70, 90, 240), "perioral": (250, 220, 60), "right_cheek": (60, 210, 220),
    "left_cheek": (250, 150, 40), "chin": (170, 90, 240),
}  # fmt: skip


def portrait_with_zones(path: Path, out: Path) -> None:
    photo = skintrack.load_photo(path)
    face = skintrack.find_face(photo)
    rgb = np.ascontiguousarray(photo.rgb).astype(np.float32)
    result = skintrack.score(photo, face=face)
    skin = cv2.resize(result.maps["skin"].astype(np.uint8), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    shown = rgb.copy()
    shown[~skin] *= 0.45
    for name in ZONES:
        mask = face.zones[name]
        shown[mask & skin] = 0.6 * shown[mask & skin] + 0.4 * np.array(COLOURS[name])
        edge = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        shown[edge] = COLOURS[name]
    image = np.clip(shown, 0, 255).astype(np.uint8)
    for x, y in face.pupils:
        cv2.circle(image, (int(round(x)), int(round(y))), 3, (255, 255, 255), -1, cv2.LINE_AA)
    x, y, w, h = (int(v) for v in face.box)
    pad = int(0.45 * w)
    crop = image[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
    scale = 640 / crop.shape[1]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    legend = np.full((26 * 4 + 10, crop.shape[1], 3), 255, np.uint8)
    for i, name in enumerate(ZONES):
        cx, cy = 12 + (i % 2) * 320, 18 + (i // 2) * 26
        cv2.rectangle(legend, (cx, cy - 10), (cx + 16, cy + 6), COLOURS[name], -1)
        cv2.putText(legend, name.replace("_", " "), (cx + 24, cy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (30, 30, 30), 1, cv2.LINE_AA)
    cv2.imwrite(str(out), np.concatenate([crop, legend])[:, :, ::-1])


def close_up_with_spots(path: Path, out: Path) -> None:
    result = skintrack.score(skintrack.load_photo(path))
    image = result.overlay("spots")
    sizes = result.provenance["spot_sizes_mm2"]
    label = f"{int(result.metrics['spot_count'])} spots; scale: {result.provenance['scale']['source']}"
    image = cv2.resize(image, (640, round(640 * image.shape[0] / image.shape[1])), interpolation=cv2.INTER_AREA)
    cv2.putText(image, label, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imwrite(str(out), image[:, :, ::-1])
    print(path.name, label, sizes)


if __name__ == "__main__":
    docs = REPO / "docs"
    portrait_with_zones(REPO / "sample_images" / "demo-002" / "2026-03-02_full-face.jpg", docs / "zones-portrait.png")
    close_up_with_spots(REPO.parent / "shared" / "real_photos" / "pad_ufes_20" / "PAT_93_361_203.png", docs / "spots-close-up.png")
