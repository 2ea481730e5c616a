"""Alignment and normalisation speed on 12-megapixel photos.

Times, on a 4032x3024 phone-like follow-up and baseline (JPEG q=95), the median
of ``align(load_photo(follow_up), load_photo(baseline))`` including the warped
full-resolution image (target <= 1.5 s on this 2-core machine), the corner
error of that alignment against the known camera motion, and the median of
``normalize(load_photo(follow_up), reference=baseline)``.

Run: ``.venv/bin/python bench/align_bench.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TWELVE_MP, median_time  # noqa: E402

from skintrack import align, load_photo, normalize  # noqa: E402
from skintrack.synthetic import WARM, Capture, SkinScene, SkinState  # noqa: E402

TARGET_SECONDS = 1.5


def corner_rms(matrix: np.ndarray, truth: np.ndarray, size: tuple[int, int]) -> float:
    width, height = size
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [width - 1, height - 1, 1], [0, height - 1, 1]], float)
    a = corners @ matrix.T
    b = corners @ truth.T
    a, b = a[:, :2] / a[:, 2:], b[:, :2] / b[:, 2:]
    return float(np.sqrt(((a - b) ** 2).sum(axis=1).mean()))


def main() -> None:
    scene = SkinScene(seed=7, size=TWELVE_MP)
    baseline = scene.render(SkinState(), Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=95, seed=1))
    follow_up = scene.render(
        SkinState(erythema=5.0, spot_contrast=10.0),
        Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=95, seed=2, rotation_deg=6.0, scale=1.08, shift=(120, -90),
                exposure=0.85, white_balance=WARM),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        base_path, follow_path = Path(tmp) / "baseline.jpg", Path(tmp) / "follow_up.jpg"
        base_path.write_bytes(baseline.encoded)
        follow_path.write_bytes(follow_up.encoded)

        def run_align():
            result = align(load_photo(follow_path), load_photo(base_path))
            result.image  # the warped full-resolution photo is part of the job
            return result

        result = run_align()
        seconds = median_time(run_align, repeat=5)
        truth = baseline.truth.camera @ np.linalg.inv(follow_up.truth.camera)
        base_photo = load_photo(base_path)
        norm_seconds = median_time(lambda: normalize(load_photo(follow_path), reference=base_photo).rgb, repeat=5)
        report = {
            "photos": f"{TWELVE_MP[0]}x{TWELVE_MP[1]} JPEG, {follow_path.stat().st_size / 1e6:.1f} MB",
            "align_seconds": round(seconds, 3),
            "target_seconds": TARGET_SECONDS,
            "ok": result.ok,
            "quality": round(result.quality, 3),
            "corner_rms_px_at_12mp": round(corner_rms(result.matrix, truth, TWELVE_MP), 3),
            "normalize_seconds": round(norm_seconds, 3),
        }
        print(json.dumps(report, indent=2))
        passed = seconds <= TARGET_SECONDS and result.ok
        print("PASS" if passed else "FAIL: target missed")
        sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
