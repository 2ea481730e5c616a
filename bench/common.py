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


def interleaved_medians(functions: dict, rounds: int = 5, block: int = 3, warmup: int = 1) -> dict:
    """Median wall time of each function, timed in alternating blocks.

    Each round times every function ``block`` times in a row, then moves on to
    the next function. This machine's speed drifts (shared virtual CPUs), so
    alternating exposes the functions to the same conditions; timing a few
    calls in a row keeps each one's own warm caches, as a batch would.
    """
    for _ in range(warmup):
        for fn in functions.values():
            fn()
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            for _ in range(block):
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_of(code: str, *args: str) -> int:
    """Peak resident memory (bytes) of a fresh Python process running ``code``.

    Read from VmHWM in /proc/self/status at the end of the run (ru_maxrss would
    include the parent's peak, which survives fork + exec).
    """
    import subprocess
    import sys

    probe = code + "\nprint([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) * 1024


def cv2_decode(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
