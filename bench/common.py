"""Shared helpers for the benchmarks: a realistic 12 MP JPEG and a median timer."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from skintrack.synthetic import Capture, SkinScene, SkinState

TWELVE_MP = (4032, 3024)


def twelve_mp_jpeg(folder: Path, name: str = "12mp.jpg", capture: Capture | None = None, state: SkinState | None = None) -> Path:
    """Render the synthetic cheek at 4032x3024 and write it as a phone-like JPEG (q=92)."""
    path = Path(folder) / name
    if not path.exists():
        scene = SkinScene(seed=7, size=TWELVE_MP)
        shot = scene.render(state or SkinState(), capture or Capture(size=TWELVE_MP, jpeg_quality=92))
        path.write_bytes(shot.encoded)
    return path


def median_time(fn, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cv2_decode(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
