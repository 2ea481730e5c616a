"""The repeatability studies that write the noise tables (:mod:`skintrack.noise`).

Nothing about the skin changes between the photographs of a study, so all the
variation measured is measurement noise. Every photograph goes through
:func:`skintrack.comparison.compare.compare` against the first one (the pipeline every
other door uses), so the tables describe the numbers the tool really gives.

Simulated re-captures
---------------------
Per neutral reference (colour chart, grey card, backdrop, none) three synthetic
patients' cheeks are photographed ``n_repeats`` times with realistic jitter
between shots — camera pose (rotation ±3°, scale ±3 %, shift ±30 px), exposure
(±10 %), white balance (±5 % per channel), JPEG quality (85-95) and sensor
noise. Per measure: the within-subject SD pooled over patients, ``CV % = 100 ·
SD / mean`` and ``MDC95 = 1.96 · √2 · SD`` (Weir 2005), with
``n_subjects · (n_repeats − 1)`` degrees of freedom.

Real repeat shots
-----------------
:func:`real_pairs` lists the untreated lesions photographed twice in
``../shared/real_photos`` (``external/manifest.csv`` role ``repeat_pair``, and
PAT_417 in ``pad_ufes_20/``): smartphone photos without a neutral reference,
in uncontrolled light. :func:`measure_pairs` runs each through the pipeline;
the pairs it accepts give the real noise per alignment class, as shot (what a
comparison without a neutral reference meets) and with the light difference
taken out (:func:`light_matched`: what is left when a neutral reference
corrects the light — a study-only step on untreated skin; measuring never
equalises the skin). A clinic measures
its own the same way (``python -m skintrack.comparison.repeatability --pairs FOLDER``, see
:func:`folder_pairs`), and points ``SKINTRACK_NOISE_TABLE`` at the table written.

:func:`build_table` combines the two into the bands of :mod:`skintrack.noise`
(how, in that module's docstring). ``python -m skintrack.comparison.repeatability --write``
regenerates ``skintrack/data/noise.json``; the tests re-run the studies and
check the shipped table reproduces.

References
----------
.. [1] Weir J. P., "Quantifying test-retest reliability using the intraclass
   correlation coefficient and the SEM", J Strength Cond Res 19 (2005) 231-240;
   Bland J. M., Altman D. G., "Measurement error", BMJ 313 (1996) 744.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .._version import __version__
from ..batch import PHOTO_SUFFIXES, _map
from ..intake.photo import Photo, load_photo
from ..jsonsafe import finite
from ..measure.colour import rgb_to_lab, srgb8_to_linear
from ..measure.metrics import METRIC_NAMES, METRICS
from ..measure.skin import skin_mask
from ..synthetic import Capture, SkinScene, SkinState
from .compare import DEFAULT_CONFIG, compare, measure_baseline
from .noise import ALIGNMENT_CLASSES, DATA_FILE, REFERENCES, RELATIVE_FLOOR, RELATIVE_METRICS, Conditions
from .normalize import apply_gains

__all__ = [
    "DEFAULT_STUDY",
    "PairResult",
    "StudyRow",
    "build_table",
    "folder_pairs",
    "light_matched",
    "measure_pairs",
    "measure_recaptures",
    "real_pairs",
    "run_simulated",
    "run_study",
    "simulated_from_table",
]

#: The simulated study behind the shipped table (per neutral reference).
DEFAULT_STUDY = {"n_subjects": 3, "n_repeats": 6, "seed": 20261123, "size": [1600, 1200]}
#: How each neutral reference is staged in the synthetic scene.
SCENES = {
    "chart": {"chart": True},
    "grey_card": {},
    "backdrop": {"grey_card": False},
    "none": {"grey_card": False, "backdrop": False},
}
#: Where the real repeat shots are (beside the repository).
REAL_PHOTOS = Path(os.environ.get("SKINTRACK_REAL_PHOTOS", Path(__file__).resolve().parents[3] / "shared" / "real_photos"))
#: The one-sided confidence of the bands' upper limit (see :mod:`skintrack.noise`).
UPPER_CONFIDENCE = 0.90
#: An alignment class with fewer accepted pairs uses all accepted pairs.
MIN_PAIRS_PER_CLASS = 2

#: Skin of the simulated patients (light, intermediate, darker), with visible features.
_SUBJECTS = [
    SkinState(base_lab=(70.0, 10.0, 15.0), erythema=8.0, spot_contrast=12.0, roughness=1.0, line_contrast=6.0),
    SkinState(base_lab=(62.0, 12.0, 17.0), erythema=9.0, spot_contrast=15.0, roughness=1.2, line_contrast=7.0),
    SkinState(base_lab=(52.0, 13.0, 20.0), erythema=10.0, spot_contrast=14.0, roughness=1.1, line_contrast=7.0),
]


@dataclass
class StudyRow:
    """One measure of a simulated study."""

    metric: str
    mean: float
    within_sd: float
    cv_pct: float
    mdc95: float
    df: int


@dataclass
class PairResult:
    """One real repeat pair through the pipeline."""

    pair: str
    baseline: str
    follow_up: str
    status: str
    reason: str
    reference: str | None
    alignment_quality: float | None
    baseline_metrics: dict[str, float | None]
    follow_up_metrics: dict[str, float | None]
    light_differs: bool = False  # the comparison's Conditions.light_differs (exposure against the baseline)

    def conditions(self) -> Conditions:
        """The conditions this pair's changes are judged under (as :func:`skintrack.compare` recorded them)."""
        return Conditions(self.reference or "none", self.alignment_quality, self.light_differs)

    def change(self, metric: str) -> float:
        a, b = self.baseline_metrics.get(metric), self.follow_up_metrics.get(metric)
        return math.nan if a is None or b is None else b - a


# --------------------------------------------------------------------------- simulated re-captures


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


def measure_recaptures(photos: Iterable[Any]) -> list[dict[str, Any]]:
    """Measure re-captures of one unchanged skin through the pipeline; the first is the baseline.

    Returns one dict per photo: ``metrics``, ``reference`` (the neutral reference used) and
    ``alignment_quality`` (None for the baseline).

    Raises
    ------
    RuntimeError
        When a re-capture is not scored (a study must not silently drop photos).
    """
    photos = list(photos)
    baseline = measure_baseline(photos[0])
    if not baseline.scored:
        raise RuntimeError(f"the first shot was not measured: {baseline.reason}")
    results = [{"metrics": baseline.score.metrics, "reference": baseline.conditions.reference, "alignment_quality": None}]
    for photo in photos[1:]:
        later = compare(baseline.baseline, photo)
        if not later.scored:
            raise RuntimeError(f"a re-capture was not measured: {later.reason}")
        results.append({"metrics": later.score.metrics, "reference": later.conditions.reference,
                        "alignment_quality": later.alignment.quality})  # fmt: skip
    return results


def _subject_task(task: tuple[str, int, int, int, tuple[int, int]]) -> list[dict[str, Any]]:
    reference, subject, n_repeats, seed, size = task
    rng = np.random.default_rng([seed, subject])
    scene = SkinScene(seed=seed % 100000 + 17 * subject, size=tuple(size), **SCENES[reference])
    state = _SUBJECTS[subject % len(_SUBJECTS)]
    shots = [scene.render(state, _jittered(rng, tuple(size), seed=subject * 100 + k)).encoded for k in range(n_repeats)]
    results = measure_recaptures(shots)
    wrong = {r["reference"] for r in results} - {reference}
    if wrong:
        raise RuntimeError(f"the {reference} scene was normalised by {', '.join(sorted(wrong))}")
    return results


def run_simulated(
    references: Iterable[str] = REFERENCES,
    n_subjects: int = 3,
    n_repeats: int = 6,
    seed: int = 20261123,
    size=(1600, 1200),
    workers: int | None = 1,
) -> dict[str, dict[str, Any]]:
    """Run the simulated re-capture study for each neutral reference.

    Returns, per reference, ``rows`` (a :class:`StudyRow` per measure) and ``alignment_quality``
    (the least of the re-captures).
    """
    references = list(references)
    tasks = [(ref, subject, n_repeats, seed, tuple(size)) for ref in references for subject in range(n_subjects)]
    results = _map(_subject_task, tasks, workers, None, False, "subjects")
    out = {}
    for ref in references:
        per_subject = [r for task, r in zip(tasks, results) if task[0] == ref]
        rows = []
        for metric in METRIC_NAMES:
            values = [np.array([shot["metrics"][metric] for shot in subject]) for subject in per_subject]
            within_var = float(np.mean([v.var(ddof=1) for v in values]))
            mean = float(np.mean([v.mean() for v in values]))
            sd = math.sqrt(within_var)
            cv = 100.0 * sd / abs(mean) if mean else float("inf")
            rows.append(StudyRow(metric, mean, sd, cv, 1.96 * math.sqrt(2) * sd, n_subjects * (n_repeats - 1)))
        qualities = [shot["alignment_quality"] for subject in per_subject for shot in subject[1:]]
        out[ref] = {"rows": rows, "alignment_quality": min(qualities) if qualities else None}
    return out


def simulated_from_table(table: dict[str, Any] | None = None) -> dict[str, dict[str, Any]] | None:
    """The simulated study stored in a noise table (the shipped one by default), as :func:`run_simulated`
    returns it, or None when that table was made with other settings than this engine's (then re-run it).

    The simulated part depends only on the engine, so a clinic measuring its own repeat pairs reuses it.
    """
    from .noise import shipped_table

    table = shipped_table() if table is None else table
    if table.get("settings_hash") != DEFAULT_CONFIG.settings_hash:
        return None
    out = {}
    for ref, entry in table["simulated"]["by_reference"].items():
        rows = [StudyRow(metric, row["mean"], row["within_sd"], row["cv_pct"], row["mdc95"], row["df"])
                for metric, row in entry["metrics"].items()]  # fmt: skip
        out[ref] = {"rows": rows, "alignment_quality": entry["least_alignment_quality"]}
    return out


def run_study(n_subjects: int = 3, n_repeats: int = 6, seed: int = 20261123, size=(1600, 1200)) -> list[StudyRow]:
    """The simulated study with a grey card and backdrop (the demo patient's set-up)."""
    return run_simulated(["grey_card"], n_subjects, n_repeats, seed, size)["grey_card"]["rows"]


# --------------------------------------------------------------------------- real repeat shots


def real_pairs(root: str | os.PathLike | None = None) -> list[tuple[str, Path, Path]]:
    """The real repeat pairs: ``(pair id, first shot, second shot)``, in the manifest's order.

    ``external/manifest.csv`` rows with role ``repeat_pair`` (grouped by their
    ``pair=`` label) and PAT_417's two shots of one thigh lesion in ``pad_ufes_20/``.
    Empty when the folder is not there.
    """
    root = Path(root) if root is not None else REAL_PHOTOS
    manifest = root / "external" / "manifest.csv"
    groups: dict[str, list[Path]] = {}
    if manifest.exists():
        with manifest.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row["role"] != "repeat_pair":
                    continue
                labels = dict(item.split("=", 1) for item in row["label"].split(";") if "=" in item)
                groups.setdefault(labels["pair"], []).append(root / "external" / row["file"])
    pairs = [(key, files[0], files[1]) for key, files in groups.items() if len(files) == 2]
    thigh = [root / "pad_ufes_20" / name for name in ("PAT_417_828_723.png", "PAT_417_3537_45.png")]
    if all(path.exists() for path in thigh):
        pairs.append(("PAT_417_828", thigh[0], thigh[1]))
    return pairs


def folder_pairs(folder: str | os.PathLike) -> list[tuple[str, Path, Path]]:
    """A clinic's own repeat pairs: one sub-folder per pair holding its two photos (sorted by name).

    Photograph each of 20 or more patients twice, minutes apart, with no treatment between,
    exactly as the clinic photographs a session; put each pair in its own folder.

    Raises
    ------
    ValueError
        When a sub-folder does not hold exactly two photos.
    """
    pairs = []
    for sub in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        photos = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        if len(photos) != 2:
            raise ValueError(f"{sub} holds {len(photos)} photos; each pair's folder needs exactly two.")
        pairs.append((sub.name, photos[0], photos[1]))
    return pairs


def light_matched(follow_up: Photo, baseline: Photo) -> Photo:
    """The follow-up with its skin's colour matched to the baseline's skin: light difference removed.

    One gain per channel on linear RGB, ``g = median(baseline skin) / median(follow-up skin)``
    (each photo's own skin mask at 512 px), as a perfect neutral reference would correct the
    light. **Only for the noise study, on untreated skin**: equalising to the skin would erase a
    real change, so measuring never does it.
    """

    def skin_colour(photo: Photo) -> np.ndarray:
        rgb = photo.resized(min(512, max(photo.size)))
        return np.median(srgb8_to_linear(rgb)[skin_mask(rgb_to_lab(rgb)).skin], axis=0)

    gains = skin_colour(baseline) / np.maximum(skin_colour(follow_up), 1e-4)
    return follow_up.derive(apply_gains(follow_up, gains), light_matched_gains=[round(float(g), 5) for g in gains])


def _pair_task(task: tuple[tuple[str, Path, Path], bool]) -> PairResult:
    (key, first, second), matched = task

    def plain(metrics):
        return {k: finite(v) for k, v in metrics.items()}

    base = measure_baseline(first)
    later = load_photo(second)
    if matched:
        later = light_matched(later, load_photo(first))
    result = compare(base, later)
    return PairResult(
        key, str(first), str(second), result.status, result.reason,
        result.conditions.reference if result.conditions else None,
        result.alignment.quality if result.alignment is not None else None,
        # What the follow-up is compared with: the baseline over the skin both shots show.
        plain((result.compared_with or base.score).metrics) if base.score is not None else {},
        plain(result.score.metrics) if result.score is not None else {},
        bool(result.conditions and result.conditions.light_differs),
    )  # fmt: skip


def measure_pairs(
    pairs: Iterable[tuple[str, Path, Path]], workers: int | None = 1, *, light_matching: bool = False
) -> list[PairResult]:
    """Each pair through the pipeline: the first shot as the baseline, the second compared with it
    (``light_matching``: with its light matched to the first, :func:`light_matched`)."""
    return _map(_pair_task, [(pair, light_matching) for pair in pairs], workers, None, False, "pairs")


# --------------------------------------------------------------------------- the table


def _chi2_lower(df: float, p: float) -> float:
    """The ``p`` quantile of the chi-squared distribution with ``df`` degrees of freedom."""
    from scipy.stats import chi2

    return float(chi2.ppf(p, df))


def _upper_factor(df: float) -> float:
    if not math.isfinite(df) or df > 1e6:
        return 1.0
    return math.sqrt(df / _chi2_lower(df, 1.0 - UPPER_CONFIDENCE))


def _real_noise(pairs: list[PairResult], metric: str) -> tuple[float, int, float]:
    """(within-pair SD — relative for the amounts —, degrees of freedom, mean level) over ``pairs``."""
    squares, levels = [], []
    for pair in pairs:
        a, b = pair.baseline_metrics.get(metric), pair.follow_up_metrics.get(metric)
        if a is None or b is None:
            continue
        level = (abs(a) + abs(b)) / 2.0
        if metric in RELATIVE_METRICS:
            squares.append(((b - a) / max(level, RELATIVE_FLOOR[metric])) ** 2)
        else:
            squares.append((b - a) ** 2)
        levels.append(level)
    if not squares:
        return math.nan, 0, math.nan
    return math.sqrt(sum(squares) / (2 * len(squares))), len(squares), float(np.mean(levels))


def _welch_df(parts: list[tuple[float, float]]) -> float:
    """Welch–Satterthwaite degrees of freedom of a sum of variances ``[(variance, df), ...]``."""
    total = sum(v for v, _ in parts)
    denominator = sum(v * v / df for v, df in parts if v > 0 and df > 0)
    return total * total / denominator if denominator > 0 else math.inf


def _classes(pairs: list[PairResult]) -> dict[str, dict[str, Any]]:
    """The real noise per alignment class (a class with too few pairs uses all accepted pairs)."""
    accepted = [p for p in pairs if p.status == "scored"]
    classes: dict[str, dict[str, Any]] = {}
    for name, least in ALIGNMENT_CLASSES.items():
        upper = min([v for v in ALIGNMENT_CLASSES.values() if v > least], default=math.inf)
        members = [p for p in accepted if least <= (p.alignment_quality or 0.0) < upper]
        pooled = len(members) < MIN_PAIRS_PER_CLASS
        used = accepted if pooled else members
        classes[name] = {"pairs": len(members), "pooled": pooled, "used": [p.pair for p in used], "metrics": {}}
        for metric in METRIC_NAMES:
            sd, df, level = _real_noise(used, metric)
            classes[name]["metrics"][metric] = {
                "cv" if metric in RELATIVE_METRICS else "sd": _round(sd), "df": df, "mean_level": _round(level),
            }  # fmt: skip
    return classes


def build_table(
    simulated: dict[str, dict[str, Any]],
    pairs: list[PairResult],
    matched: list[PairResult],
    study: dict[str, Any],
    real_source: str,
    real_label: str | None = None,
) -> dict[str, Any]:
    """The noise table from the simulated study (per reference), the real pairs as shot and the same
    pairs with their light matched (see :mod:`skintrack.noise` for how the bands are made)."""
    as_shot, light_free = _classes(pairs), _classes(matched)
    sim = {ref: {r.metric: r for r in simulated[ref]["rows"]} for ref in simulated}
    bands: dict[str, dict[str, dict[str, Any]]] = {}
    for ref in REFERENCES:
        bands[ref] = {}
        for name in ALIGNMENT_CLASSES:
            bands[ref][name] = {}
            for metric in METRIC_NAMES:
                own = sim[ref][metric]
                unmeasured = own.within_sd is None or not math.isfinite(own.within_sd)  # (None: read from a table)
                scaled_by_chart = ref != "chart" and METRICS[metric].unit == "mm²" and unmeasured
                if scaled_by_chart:
                    # Sizes in mm² need a measured scale: only the simulated photos with a chart have one.
                    own = sim["chart"][metric]
                relative = metric in RELATIVE_METRICS
                key = "cv" if relative else "sd"
                shot = as_shot[name]["metrics"][metric]
                entry, real = shot, as_shot[name]
                if ref != "none":
                    # What is left once a neutral reference corrects the light: light-matched, but never
                    # more than as shot (matching on the skin's median colour is itself imperfect).
                    matched_entry = light_free[name]["metrics"][metric]
                    if matched_entry["df"] and (not shot["df"] or matched_entry[key] < shot[key]):
                        entry, real = matched_entry, light_free[name]
                measured = (entry[key] or 0.0) if entry["df"] else 0.0
                level = max(entry["mean_level"] or 0.0, RELATIVE_FLOOR[metric]) if relative else 1.0
                df = _welch_df([(own.within_sd**2, own.df), ((measured * level) ** 2, entry["df"])])
                simulated_with = _REF_WORDS["chart" if scaled_by_chart else ref]
                sources = [f"simulated re-captures, {simulated_with} ({study['n_subjects']} subjects × {study['n_repeats']} shots)"]
                if entry["df"]:
                    light = "as shot" if entry is shot else "light matched"
                    how = "all accepted pairs" if real["pooled"] else f"{name} alignment"
                    sources.append(f"real repeat shots, {light}, {how} ({entry['df']} pairs)")
                bands[ref][name][metric] = {
                    "sd": _round(math.hypot(own.within_sd, 0.0 if relative else measured)),
                    "cv": _round(measured if relative else 0.0),
                    "df": None if not math.isfinite(df) else round(df, 2),
                    "upper_factor": round(_upper_factor(df), 4),
                    "sources": sources,
                }
    return {
        "engine_version": __version__,
        "settings_hash": DEFAULT_CONFIG.settings_hash,
        "score_settings_hash": DEFAULT_CONFIG.score.settings_hash,
        "generated_by": "python -m skintrack.comparison.repeatability --write",
        "how": (
            "Per neutral reference and alignment class: SD = sqrt(S_ref^2 + R^2) (amounts: "
            "sqrt(S_ref^2 + (R * level)^2)), S_ref the simulated re-capture SD with that reference, R the real "
            "repeat shots' within-pair SD in that alignment class: as shot for no reference, with the light "
            "difference matched out for a chart, grey card or backdrop (relative to the level for red area, spot "
            "area, spot count and line density); MDC95 = 1.96 * sqrt(2) * SD; df by Welch-Satterthwaite; "
            "upper_factor = sqrt(df / chi2(0.10, df))."
        ),
        "pipeline": "skintrack.compare: measuring copy -> quality gate -> normalize(baseline) -> align -> "
                    "score(baseline's thresholds and scale, on the overlap)",
        "upper_confidence": UPPER_CONFIDENCE,
        "alignment_classes": ALIGNMENT_CLASSES,
        "relative_metrics": list(RELATIVE_METRICS),
        "simulated": {
            "study": study,
            "jitter": "rotation ±3°, scale ±3 %, shift ±30 px, exposure ±10 %, white balance ±5 % per channel, "
                      "JPEG quality 85-95, sensor noise 1-2 (8-bit SD)",
            "by_reference": {
                ref: {
                    "least_alignment_quality": _round(simulated[ref]["alignment_quality"]),
                    "metrics": {r.metric: {k: _round(v) if isinstance(v, float) else v for k, v in asdict(r).items() if k != "metric"}
                                for r in simulated[ref]["rows"]},
                }
                for ref in simulated
            },
        },
        "real": {
            "source": real_source,
            "label": real_label or real_source,
            "pairs": len(pairs),
            "accepted": sum(p.status == "scored" for p in pairs),
            "accepted_light_matched": sum(p.status == "scored" for p in matched),
            "as_shot": as_shot,
            "light_matched": light_free,
            "results": [
                {"pair": p.pair, "status": p.status, "reason": p.reason, "reference": p.reference,
                 "alignment_quality": _round(p.alignment_quality), "light_differs": p.light_differs,
                 "changes": {m: _round(p.change(m)) for m in METRIC_NAMES} if p.status == "scored" else None,
                 "baseline": {m: _round(p.baseline_metrics.get(m)) for m in METRIC_NAMES} if p.status == "scored" else None,
                 "light_matched_changes": {m: _round(q.change(m)) for m in METRIC_NAMES} if q.status == "scored" else None}
                for p, q in zip(pairs, matched)
            ],  # fmt: skip
        },
        "bands": bands,
    }


_REF_WORDS = {"chart": "colour chart", "grey_card": "grey card", "backdrop": "neutral backdrop", "none": "no neutral reference"}


def _round(value: float | None, digits: int = 5) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


REAL_LABEL = "PAD-UFES-20 smartphone photos without a neutral reference (Pacheco et al. 2020)"
REAL_SOURCE = (
    "PAD-UFES-20 (Pacheco et al. 2020, CC BY 4.0): the untreated lesions photographed twice in "
    "../shared/real_photos/external/repeats (manifest role repeat_pair) and PAT_417 in pad_ufes_20/; "
    "smartphone photos, no neutral reference, uncontrolled light"
)


def generate(
    workers: int | None = 1,
    pairs: list[tuple[str, Path, Path]] | None = None,
    source: str = REAL_SOURCE,
    label: str = REAL_LABEL,
    simulated: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run both studies and build the table (the shipped one with the defaults; ``simulated``: reuse
    that study, e.g. :func:`simulated_from_table`)."""
    pairs = real_pairs() if pairs is None else pairs
    simulated = simulated if simulated is not None else run_simulated(workers=workers, **DEFAULT_STUDY)
    as_shot = measure_pairs(pairs, workers=workers)
    matched = measure_pairs(pairs, workers=workers, light_matching=True)
    return build_table(simulated, as_shot, matched, DEFAULT_STUDY, source, label)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - exercised via the tests' table check
    import argparse

    parser = argparse.ArgumentParser(description="Run the repeatability studies that write the noise tables.")
    parser.add_argument("--write", action="store_true", help=f"write skintrack/data/{DATA_FILE}")
    parser.add_argument("--pairs", type=Path, help="a clinic's repeat pairs: one folder per pair with its two photos")
    parser.add_argument("--output", "-o", type=Path, help="where to write the table (with --pairs)")
    parser.add_argument("--workers", "-w", type=int, default=None)
    args = parser.parse_args(argv)
    if args.pairs:
        # The simulated part depends only on the engine: reuse the shipped one when it is this engine's.
        table = generate(args.workers, folder_pairs(args.pairs), f"this clinic's repeat pairs in {args.pairs}",
                         "this clinic's own repeat photographs", simulated_from_table())  # fmt: skip
    else:
        table = generate(args.workers)
    _print(table)
    target = args.output or (Path(__file__).resolve().parents[1] / "data" / DATA_FILE if args.write else None)
    if target is not None:
        from ..private_files import atomic_write

        atomic_write(target, (json.dumps(table, indent=1, ensure_ascii=False) + "\n").encode())
        print(f"written {target}")


def _print(table: dict[str, Any]) -> None:  # pragma: no cover - console output
    print(f"real pairs: {table['real']['accepted']} of {table['real']['pairs']} accepted")
    for kind in ("as_shot", "light_matched"):
        for name, cls in table["real"][kind].items():
            print(f"  {kind} {name}: {cls['pairs']} pairs{' (pooled)' if cls['pooled'] else ''}")
    for ref, by_class in table["bands"].items():
        for name, rows in by_class.items():
            print(f"{ref:9s} {name:4s} " + " ".join(f"{m[:8]}={r['sd']:.3g}/{r['cv']:.2g}" for m, r in rows.items()))


if __name__ == "__main__":  # pragma: no cover
    # Run the package's module, not this __main__ copy: worker processes unpickle its functions by module name.
    from skintrack.comparison.repeatability import main as _main

    _main()
