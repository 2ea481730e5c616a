"""Alignment and normalisation speed on 12-megapixel photos.

Times, on a 4032x3024 phone-like follow-up and baseline (JPEG q=95), the median
of ``align(load_photo(follow_up), load_photo(baseline))`` including the warped
full-resolution image (target <= 1.5 s on this 2-core machine), the corner
error of that alignment against the known camera motion, and the median of
``normalize(load_photo(follow_up), reference=baseline)``. Then the same for a face (engine 0.9.0
registers faces by the face): the demo portrait enlarged to a phone's 3024 x 4032 portrait frame, with the
head turned, zoomed and moved in front of a still background, and the fit's error on the face's landmarks.

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


def face_pair(tmp: Path) -> dict:
    """Align a 14 MP portrait whose head moved in front of a still background onto the unmoved one."""
    import cv2

    from skintrack import find_face
    from skintrack.measure.face import FACE_OVAL

    portrait = load_photo(Path(__file__).resolve().parents[1] / "sample_images" / "demo-002" / "2026-03-02_full-face.jpg")
    height, width = portrait.rgb.shape[:2]
    factor = 4032 / max(height, width)
    big = cv2.resize(portrait.rgb, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_CUBIC)
    left = (big.shape[1] - TWELVE_MP[1]) // 2  # a phone's portrait frame: 3024 x 4032
    big = np.ascontiguousarray(big[:, left : left + TWELVE_MP[1]])
    height, width = big.shape[:2]
    face = find_face(big)
    move = np.vstack([cv2.getRotationMatrix2D(tuple(face.landmarks.mean(axis=0)), 4.0, 1.05), [0.0, 0.0, 1.0]])
    move[:2, 2] += (0.03 * width, 0.02 * height)
    head = np.zeros((height, width), np.uint8)
    cv2.fillPoly(head, [np.round(face.landmarks[list(FACE_OVAL)]).astype(np.int32)], 255)
    head = cv2.warpPerspective(cv2.dilate(head, np.ones((int(0.1 * width),) * 2, np.uint8)), move, (width, height)) > 0
    moved = big.copy()
    moved[head] = cv2.warpPerspective(big, move, (width, height), borderMode=cv2.BORDER_REFLECT)[head]
    base_path, follow_path = tmp / "portrait.jpg", tmp / "portrait_moved.jpg"
    for path, rgb in ((base_path, big), (follow_path, moved)):
        path.write_bytes(cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())

    def run_align():
        result = align(load_photo(follow_path), load_photo(base_path))
        result.image
        return result

    result = run_align()
    points = np.c_[face.landmarks, np.ones(len(face.landmarks))]
    carried = (result.matrix @ move @ points.T).T
    error = float(np.hypot(*(carried[:, :2] / carried[:, 2:] - face.landmarks).T).mean())
    return {
        "face_photos": f"{width}x{height} JPEG portrait, head moved in front of a still background",
        "face_align_seconds": round(median_time(run_align, repeat=5), 3),
        "face_ok": result.ok,
        "face_landmark_error_px": round(error, 2),
    }


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
        face = face_pair(Path(tmp))
        report.update(face)
        print(json.dumps(report, indent=2))
        passed = seconds <= TARGET_SECONDS and result.ok and face["face_align_seconds"] <= TARGET_SECONDS and face["face_ok"]
        print("PASS" if passed else "FAIL: target missed")
        sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
