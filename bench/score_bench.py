"""Scoring speed and memory on a 12-megapixel phone-like JPEG.

Prints the median time to decode a 4032x3024 JPEG with ``cv2.imdecode``, the
median time of ``score(load_photo(path))`` on it (timed in alternating blocks
with the decode, in one process), their ratio (target <= 3) and the peak resident
memory of a fresh process that scores the photo once (target < 1.5 GB).

The photo is the synthetic cheek rendered at 12 MP with phone-like sensor noise
and JPEG quality 95, which gives a file of the size a phone writes (~3.5 MB);
a smoother, smaller file decodes faster and is reported too, for transparency.
Face detection is part of every ``score`` (it finds no face on the cheek); a
12 MP portrait made from the second demo patient's photo (face found, face-only
skin mask, pupil-distance scale) is timed the same way and must meet the same target.

Run: ``.venv/bin/python bench/score_bench.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from common import TWELVE_MP, cv2_decode, interleaved_medians, peak_rss_of, twelve_mp_jpeg  # noqa: E402

from skintrack import load_photo, score  # noqa: E402
from skintrack.synthetic import Capture  # noqa: E402

TARGET_RATIO = 3.0
TARGET_PEAK_BYTES = 1.5e9


def measure(path: Path) -> dict:
    medians = interleaved_medians(
        {"decode": lambda: cv2_decode(path), "score": lambda: score(load_photo(path))}
    )
    return {
        "photo": f"{TWELVE_MP[0]}x{TWELVE_MP[1]} JPEG, {path.stat().st_size / 1e6:.1f} MB",
        "cv2_decode_ms": round(medians["decode"] * 1000, 1),
        "score_load_photo_ms": round(medians["score"] * 1000, 1),
        "ratio": round(medians["score"] / medians["decode"], 2),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        phone = twelve_mp_jpeg(Path(tmp), "phone.jpg", Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=95))
        smooth = twelve_mp_jpeg(Path(tmp), "smooth.jpg", Capture(size=TWELVE_MP, noise=1.0, jpeg_quality=90))
        main_result = measure(phone)
        smooth_result = measure(smooth)
        portrait = Path(tmp) / "portrait.jpg"
        demo = cv2.imread(str(Path(__file__).resolve().parents[1] / "sample_images" / "demo-002" / "2026-03-02_full-face.jpg"))
        canvas = cv2.resize(demo, (TWELVE_MP[1] * demo.shape[1] // demo.shape[0], TWELVE_MP[1]), interpolation=cv2.INTER_CUBIC)
        canvas = cv2.copyMakeBorder(canvas, 0, 0, 0, TWELVE_MP[0] - canvas.shape[1], cv2.BORDER_REFLECT)
        noise = np.random.default_rng(1).normal(0, 3.0, canvas.shape)
        cv2.imwrite(str(portrait), np.clip(canvas + noise, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
        portrait_result = measure(portrait)
        peak = peak_rss_of("import sys\nfrom skintrack import load_photo, score\nscore(load_photo(sys.argv[1]))", str(phone))
        idle = peak_rss_of("import skintrack")
        result = {
            **main_result,
            "ratio_target": TARGET_RATIO,
            "peak_rss_mb": round(peak / 1e6),
            "peak_target_mb": round(TARGET_PEAK_BYTES / 1e6),
            "import_only_rss_mb": round(idle / 1e6),
            "smoother_file": smooth_result,
            "portrait_with_face": portrait_result,
        }
        print(json.dumps(result, indent=2))
        ok = max(main_result["ratio"], portrait_result["ratio"]) <= TARGET_RATIO and peak < TARGET_PEAK_BYTES
        print("PASS" if ok else "FAIL: target missed")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
