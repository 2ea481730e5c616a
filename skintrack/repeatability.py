"""Measured repeatability: how big a change must be to be real.

A re-capture study on the synthetic generator: each synthetic patient's cheek
is photographed ``n_repeats`` times with realistic jitter between shots —
camera pose (rotation ±3°, scale ±3 %, shift ±30 px), exposure (±10 %),
white balance (±5 % per channel), JPEG quality (85-95) and sensor noise —
and every shot goes through the full pipeline a clinic would use:
:func:`~skintrack.normalize` against the first shot, :func:`~skintrack.align`
to it, then :func:`~skintrack.score` with the first shot's thresholds, on the
area both shots cover. Nothing about the skin changes between shots, so all
variation is measurement noise.

Per metric the study reports the within-subject standard deviation ``SD``
(pooled over patients), the coefficient of variation ``CV % = 100 · SD / mean``
and the minimal detectable change ``MDC95 = 1.96 · √2 · SD`` [1]_: a change
between two sessions smaller than MDC95 is within measurement noise.

The table shipped in ``skintrack/data/repeatability.json`` (and the README) is
regenerated with ``python -m skintrack.repeatability --write``; the tests
re-run the same study and check it reproduces.

References
----------
.. [1] Weir J. P., "Quantifying test-retest reliability using the intraclass
   correlation coefficient and the SEM", J Strength Cond Res 19 (2005) 231-240;
   de Vet H. C. W. et al., "Measurement in Medicine", Cambridge UP (2011).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .align import align
from .metrics import METRIC_NAMES
from .normalize import normalize
from .photo import load_photo
from .scoring import ScoreConfig, score
from .synthetic import Capture, SkinScene, SkinState

__all__ = ["DEFAULT_STUDY", "mdc95", "run_study", "shipped_table", "within_noise"]

DATA_FILE = "repeatability.json"
#: The study behind the shipped table.
DEFAULT_STUDY = {"n_subjects": 3, "n_repeats": 6, "seed": 20261123, "size": [1600, 1200]}

#: Skin of the simulated patients (light, intermediate, darker), with visible features.
_SUBJECTS = [
    SkinState(base_lab=(70.0, 10.0, 15.0), erythema=8.0, spot_contrast=12.0, roughness=1.0, line_contrast=6.0),
    SkinState(base_lab=(62.0, 12.0, 17.0), erythema=9.0, spot_contrast=15.0, roughness=1.2, line_contrast=7.0),
    SkinState(base_lab=(52.0, 13.0, 20.0), erythema=10.0, spot_contrast=14.0, roughness=1.1, line_contrast=7.0),
]


@dataclass
class StudyRow:
    metric: str
    mean: float
    within_sd: float
    cv_pct: float
    mdc95: float


def _jittered(rng: np.random.Generator, size: tuple[int, int], seed: int) -> Capture:
    return Capture(
        size=size,
        rotation_deg=float(rng.uniform(-3, 3)),
        scale=float(rng.uniform(0.97, 1.03)),
        shift=(float(rng.uniform(-30, 30)), float(rng.uniform(-30, 30))),
        exposure=float(rng.uniform(0.9, 1.1)),
        white_balance=tuple(float(v) for v in rng.uniform(0.95, 1.05, 3)),
        noise=float(rng.uniform(1.0, 2.0)),
        jpeg_quality=int(rng.integers(85, 96)),
        seed=seed,
    )


def measure_recaptures(scene: SkinScene, state: SkinState, captures: list[Capture]) -> list[dict[str, float]]:
    """Score re-captures of one skin through normalise -> align -> score; the first is the baseline."""
    baseline_shot = scene.render(state, captures[0])
    baseline = normalize(load_photo(baseline_shot.encoded))
    baseline_score = score(baseline)
    results = [baseline_score.metrics]
    for capture in captures[1:]:
        shot = load_photo(scene.render(state, capture).encoded)
        corrected = normalize(shot, reference=baseline)
        alignment = align(corrected, baseline)
        if not alignment.ok:
            raise RuntimeError(f"re-capture did not align: {alignment.reason}")
        results.append(score(alignment.photo(), roi=alignment.coverage, reference=baseline_score).metrics)
    return results


def run_study(n_subjects: int = 3, n_repeats: int = 6, seed: int = 20261123, size=(1600, 1200)) -> list[StudyRow]:
    """Run the re-capture study (see the module docstring) and return one row per metric."""
    rng = np.random.default_rng(seed)
    per_subject: list[list[dict[str, float]]] = []
    for subject in range(n_subjects):
        scene = SkinScene(seed=seed % 100000 + 17 * subject, size=tuple(size))
        state = _SUBJECTS[subject % len(_SUBJECTS)]
        captures = [_jittered(rng, tuple(size), seed=subject * 100 + k) for k in range(n_repeats)]
        per_subject.append(measure_recaptures(scene, state, captures))
    rows = []
    for metric in METRIC_NAMES:
        values = [np.array([r[metric] for r in subject]) for subject in per_subject]
        within_var = float(np.mean([v.var(ddof=1) for v in values]))
        mean = float(np.mean([v.mean() for v in values]))
        sd = math.sqrt(within_var)
        rows.append(StudyRow(metric, mean, sd, 100.0 * sd / abs(mean) if mean else float("inf"), 1.96 * math.sqrt(2) * sd))
    return rows


def table_dict(rows: list[StudyRow], study: dict[str, Any]) -> dict[str, Any]:
    return {
        "engine_version": __version__,
        "settings_hash": ScoreConfig().settings_hash,
        "study": study,
        "pipeline": "normalize(reference=first shot) -> align -> score(reference=first shot, roi=overlap)",
        "metrics": {
            r.metric: {
                "mean": round(r.mean, 4),
                "within_sd": round(r.within_sd, 4),
                "cv_pct": round(r.cv_pct, 3),
                "mdc95": round(r.mdc95, 4),
            }
            for r in rows
        },
    }


@lru_cache(maxsize=1)
def shipped_table() -> dict[str, Any]:
    """The repeatability table shipped with the package."""
    return json.loads(resources.files("skintrack").joinpath("data", DATA_FILE).read_text())


#: A change smaller than one unit of a count is not a change, however repeatable the count.
RESOLUTION = {"spot_count": 1.0}


def mdc95(metric: str) -> float:
    """Minimal detectable change (95 %) of a metric, from the shipped study.

    Never below the metric's resolution (one spot for ``spot_count``).
    """
    return max(float(shipped_table()["metrics"][metric]["mdc95"]), RESOLUTION.get(metric, 0.0))


def within_noise(metric: str, change: float) -> bool:
    """True when ``|change|`` is smaller than the metric's MDC95 (for a count: at most one)."""
    limit = mdc95(metric)
    return abs(change) <= limit if metric in RESOLUTION else abs(change) < limit


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - exercised via the CLI test
    import argparse

    parser = argparse.ArgumentParser(description="Run the re-capture repeatability study.")
    parser.add_argument("--write", action="store_true", help="write skintrack/data/repeatability.json")
    args = parser.parse_args(argv)
    rows = run_study(**DEFAULT_STUDY)
    table = table_dict(rows, DEFAULT_STUDY)
    print(f"{'metric':18s} {'mean':>9s} {'SD':>8s} {'CV %':>6s} {'MDC95':>8s}")
    for r in rows:
        print(f"{r.metric:18s} {r.mean:9.3f} {r.within_sd:8.4f} {r.cv_pct:6.2f} {r.mdc95:8.4f}")
    if args.write:
        path = Path(__file__).parent / "data" / DATA_FILE
        path.write_text(json.dumps(table, indent=2) + "\n")
        print(f"written {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
