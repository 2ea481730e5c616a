"""Score whole folders of photos: on one machine (a process pool) or on a Dask cluster.

Every photo goes through :mod:`skintrack.compare`, the pipeline the records and the
app use, so a photo gives the same numbers whichever door it came in by.
:func:`score_folder` scores every photo under a folder, one row per photo (each
measured as a baseline, or against one baseline photo);
:func:`score_course` follows the course convention ``PATIENT/AREA/YYYY-MM-DD/*.jpg``
(normalise → align to the area's baseline → score with the baseline's
thresholds) and returns a tidy table with the change against baseline and
whether it is beyond measurement noise.

A photo that fails gives a row with ``error`` filled and NaN measures; the batch
never stops on one bad file. Each photo is scored independently and
deterministically, so results are identical whatever the number of workers or
the scheduler; across CPUs, OpenCV's per-CPU SIMD kernels can move the last
digits (see the README).

Parallelism: ``workers=1`` scores in this process; ``workers=N`` uses N
processes (spawned, each kept to one thread so N processes use N cores);
``scheduler="tcp://host:8786"`` sends the photos to a ``dask.distributed``
cluster whose workers read them from the shared path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import math
import multiprocessing
import os
import re
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ._version import __version__
from .measure.metrics import METRIC_NAMES

if TYPE_CHECKING:  # pandas is imported when a table is built: worker processes start faster
    import pandas as pd

__all__ = ["PHOTO_SUFFIXES", "find_photos", "score_course", "score_folder", "score_one"]

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".bmp"}
COLUMNS = [
    "path", "sha256", *METRIC_NAMES, "quality", "engine_version", "settings_hash", "skin_pixels", "nan_reasons", "error",
    "status",
]  # fmt: skip
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: How long to try to reach a Dask scheduler before giving up with ConnectionError.
DASK_CONNECT_TIMEOUT_S = 10


def find_photos(paths: Iterable[str | os.PathLike], pattern: str = "**/*") -> list[Path]:
    """Photo files among ``paths`` (files, or folders searched with ``pattern``), sorted."""
    found: set[Path] = set()
    for item in paths:
        item = Path(item)
        if item.is_dir():
            found.update(p for p in item.glob(pattern) if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        elif item.is_file():
            found.add(item)
        else:
            raise FileNotFoundError(f"No file or folder at {item}.")
    return sorted(found)


def file_sha256(path: str | os.PathLike) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def tune_allocator() -> bool:
    """Let this process keep and reuse the memory of one photo for the next (glibc only).

    Scoring a photo allocates a few dozen arrays of 1-30 MB and frees them. By
    default glibc hands each one back to the kernel and page-faults fresh,
    zeroed memory in for the next photo; with two processes scoring at once
    those page faults compete for the kernel and memory bandwidth and cost
    about 10 % of throughput. Raising ``M_MMAP_THRESHOLD`` to 32 MB and
    ``M_TRIM_THRESHOLD`` to 1 GB keeps that memory in the process instead
    (resident size stays at about one photo's working set). Results do not
    change. Called in every batch worker and by the ``skintrack`` CLI; a
    notebook may call it too. Returns False where it does not apply
    (not glibc).
    """
    import ctypes
    import ctypes.util

    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    _ALLOCATOR_TUNED = bool(mallopt(m_mmap_threshold, 32 * 2**20)) and bool(mallopt(m_trim_threshold, 2**30))
    return _ALLOCATOR_TUNED


_ALLOCATOR_TUNED = False


def _worker_init() -> None:
    from .measure.scoring import set_single_threaded

    set_single_threaded(True)
    tune_allocator()


def _pool_worker_init() -> None:
    """Initializer of this machine's worker processes (Dask workers have a nanny instead)."""
    exit_with_parent()
    _worker_init()


def exit_with_parent() -> None:
    """Make this worker process exit as soon as the process that started it dies, even by SIGKILL.

    A killed ``skintrack score`` would otherwise leave its workers running
    (about 190 MB each), blocked forever on a task queue no one feeds. On Linux
    the kernel sends the worker SIGKILL when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread waits on the
    parent's sentinel (:func:`multiprocessing.parent_process`) and ends the
    process when it closes.
    """
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return  # not a multiprocessing child
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if parent.pid is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before we could ask to be told
    if parent.sentinel is not None:
        threading.Thread(target=_exit_when_closed, args=(parent.sentinel,), name="parent-watchdog", daemon=True).start()


def _exit_when_closed(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(1)


def score_one(path: str, reference: Any = None, config: Any = None) -> dict[str, Any]:
    """Measure one photo file into a table row through the pipeline; never raises (the error goes in the row).

    Without ``reference`` the photo is measured as a baseline
    (:func:`skintrack.comparison.compare.measure_baseline`: measuring copy, quality gate, normalised from
    its neutral reference, scored with its own thresholds) — the numbers the records and the app
    give for an area's first photo. With ``reference`` (a baseline photo: path, :class:`Photo`,
    or a measured baseline from ``measure_baseline``) the photo is measured against it with
    :func:`skintrack.comparison.compare.compare` (the baseline itself gets its baseline row), so a photo
    that cannot be compared (blocked by the quality gate, another skin) gets no numbers and its
    ``status`` and ``error`` say why.
    """
    from .comparison.compare import CompareConfig
    from .intake.photo import load_photo

    row: dict[str, Any] = {"path": str(path), "sha256": None}
    try:
        cfg = CompareConfig.of(config)
        if not isinstance(reference, _BaselineFile):
            reference = _reference(reference, cfg)
        photo = load_photo(path)
        row["sha256"] = photo.sha256  # of the file's bytes, hashed while reading them
        row.update(_row(_measure(photo, reference, cfg)))
    except Exception as exc:  # one bad file must not stop the batch
        row["sha256"] = row["sha256"] or file_sha256(path)
        row.update({name: math.nan for name in METRIC_NAMES})
        row.update(quality="", engine_version=__version__, settings_hash=_settings_hash(config), skin_pixels=0,
                   nan_reasons=None, error=f"{type(exc).__name__}: {exc}", status="error")  # fmt: skip
    return row


def _settings_hash(config: Any) -> str | None:
    """The pipeline's settings hash (:attr:`skintrack.comparison.compare.CompareConfig.settings_hash`, the one the records
    store) for ``config``; None when ``config`` itself is malformed."""
    from .comparison.compare import CompareConfig

    try:
        return CompareConfig.of(config).settings_hash
    except Exception:
        return None


def _measure(photo, reference, cfg):
    """``photo`` measured alone, or against the baseline ``reference`` (the baseline itself as the baseline)."""
    from .comparison.compare import compare, measure_baseline

    if reference is None:
        return measure_baseline(photo, config=cfg)
    baseline = _baseline(reference, cfg)
    if photo.sha256 == baseline.provenance.get("photo_sha256"):
        return baseline
    return compare(baseline, photo)


#: The measured baseline of this process's current batch, by (its photo's sha256, settings hash): each
#: worker measures a batch's baseline once, not once per photo.
_BASELINES: dict[tuple[str, str], Any] = {}


def _baseline(reference, cfg):
    """The measured baseline (a :class:`~skintrack.comparison.compare.Comparison`, scored or not) for ``reference``
    (as prepared by :func:`_reference`)."""
    from .comparison.compare import Comparison, measure_baseline
    from .intake.photo import load_photo

    if isinstance(reference, Comparison):
        return reference
    path, sha = (reference.path, reference.sha256) if isinstance(reference, _BaselineFile) else (None, reference.sha256)
    key = (sha, cfg.settings_hash)
    if key not in _BASELINES:
        photo = load_photo(path) if path is not None else reference
        if photo.sha256 != sha:
            raise ValueError(f"The baseline {path} changed while the batch ran; score again.")
        _BASELINES.clear()  # one batch's baseline at a time
        _BASELINES[key] = measure_baseline(photo, config=cfg)
    return _BASELINES[key]


@dataclasses.dataclass(frozen=True)
class _BaselineFile:
    """A baseline photo file every worker reads (and checks by its hash)."""

    path: str
    sha256: str


def _row(result) -> dict[str, Any]:
    """The :data:`COLUMNS` of one measured photo (a :class:`~skintrack.comparison.compare.Comparison`)."""
    provenance = result.score.provenance if result.score is not None else {}
    metrics = result.score.metrics if result.score is not None else {name: math.nan for name in METRIC_NAMES}
    return {
        **metrics,
        "quality": ";".join(f"{i.code}:{i.severity}" for i in result.quality),
        "engine_version": result.provenance.get("engine_version"),
        "settings_hash": result.provenance.get("settings_hash"),
        "skin_pixels": provenance.get("skin_pixels", 0),
        "nan_reasons": "; ".join(f"{k}: {v}" for k, v in sorted(provenance.get("errors", {}).items())) or None,
        "error": None if result.scored else result.reason,
        "status": result.status,
    }


def _reference(reference, cfg):
    """What each worker needs to measure against the baseline ``reference``: its file (read by the workers),
    its photo, or its measurement (maps left out: comparing against it does not need them)."""
    from .comparison.compare import Comparison
    from .intake.photo import Photo
    from .measure.scoring import Score

    if reference is None:
        return None
    if isinstance(reference, (str, os.PathLike)):
        sha = file_sha256(reference)
        if sha is None:
            raise FileNotFoundError(f"Cannot read the baseline photo {reference}.")
        return _BaselineFile(str(reference), sha)
    if isinstance(reference, Photo):
        return reference
    if isinstance(reference, Comparison):
        if reference.role != "baseline":
            raise ValueError("reference must be a baseline's measurement (from measure_baseline), not a follow-up's.")
        if reference.provenance.get("settings_hash") != cfg.settings_hash:
            raise ValueError("The baseline was measured with other settings than config; measure it again with these.")
        if reference.score is None:
            return reference
        light = dataclasses.replace(reference.score, maps={}, image=None)
        return dataclasses.replace(reference, score=light, baseline_score=light, normalized=None,
                                   _baseline=dataclasses.replace(reference.baseline, score=light))  # fmt: skip
    if isinstance(reference, (Score, Mapping)):
        raise TypeError(
            "reference is a baseline photo (path or Photo) or its measure_baseline() result. Since engine 0.3.1 "
            "every photo is measured through skintrack.compare (normalised to the baseline, aligned onto it and "
            "scored with its yardstick), which needs the baseline photo, not only its thresholds."
        )
    raise TypeError(f"reference must be a path, a Photo or a measure_baseline() result, not {type(reference).__name__}.")


def _map(function, items: list, workers: int | None, scheduler: str | None, progress: bool, desc: str) -> list:
    """Apply ``function`` to ``items`` locally, in processes, or on a Dask cluster; keeps order."""
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=desc, unit="photo", disable=(not progress) or None, file=sys.stderr)
    try:
        if scheduler:
            from dask.distributed import Client, as_completed

            try:
                client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
            with client:
                client.run(_worker_init)
                futures = client.map(function, items, pure=False)
                for _ in as_completed(futures):
                    bar.update(1)
                return client.gather(futures)
        workers = workers or os.cpu_count() or 1
        if workers <= 1 or len(items) <= 1:
            from .measure.scoring import _THREADED, set_single_threaded

            was_threaded = _THREADED
            set_single_threaded(True)  # the same work per photo as in a pool's worker
            try:
                results = []
                for item in items:
                    results.append(function(item))
                    bar.update(1)
                return results
            finally:
                set_single_threaded(not was_threaded)
        context = multiprocessing.get_context("spawn")  # fork would copy live thread pools
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_pool_worker_init) as pool:
            with _caller_main_hidden():  # the workers start while the work is submitted
                futures = [pool.submit(function, item) for item in items]
            results = []
            for future in futures:
                results.append(future.result())
                bar.update(1)
            return results
    finally:
        bar.close()


@contextlib.contextmanager
def _caller_main_hidden():
    """Start worker processes without re-running the caller's ``__main__``.

    A spawned process normally re-imports the parent's main script, so a
    researcher's script without an ``if __name__ == "__main__":`` guard would
    start the batch again in every worker, and inside Streamlit (whose script
    runner installs the app script as ``__main__``) every worker would re-run
    the app. The workers only run skintrack's own functions, so they need
    nothing from it: while they start, ``__main__`` is an empty module.
    """
    caller_main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if caller_main is not None:
            sys.modules["__main__"] = caller_main


class _ScoreTask:
    """Picklable ``score_one`` with fixed reference and settings (for pools and Dask)."""

    def __init__(self, reference, config):
        self.reference, self.config = reference, config

    def __call__(self, path: str) -> dict[str, Any]:
        return score_one(path, self.reference, self.config)


def resume_plan(photos: Iterable[str | os.PathLike], previous: "pd.DataFrame", config: Any = None):
    """What a resumed ``skintrack score`` keeps from its earlier table, matched by content (sha256).

    Parameters
    ----------
    photos : the photo files of this run
    previous : the earlier table (:func:`score_folder`'s columns)
    config : the settings of this run (see :meth:`skintrack.comparison.compare.CompareConfig.of`)

    Returns
    -------
    kept : pandas.DataFrame
        One earlier row per photo of this run whose bytes were already scored without error with
        these settings (the same pipeline settings hash), under the photo's **current** path (a renamed or copied photo keeps its row).
    skip : dict
        ``sha256 -> settings_hash`` of those photos, for :func:`score_folder`'s ``skip``.
    """
    import pandas as pd

    from .comparison.compare import CompareConfig

    settings_hash = CompareConfig.of(config).settings_hash
    done = previous[previous["error"].isna() & (previous["settings_hash"] == settings_hash)]
    by_hash = {sha: row for sha, row in zip(done["sha256"], done.to_dict("records"))}
    kept = []
    for photo in photos:
        row = by_hash.get(file_sha256(photo))
        if row is not None:
            kept.append({**row, "path": str(photo)})
    kept_table = pd.DataFrame(kept, columns=list(previous.columns) if not kept else None)
    return kept_table, {row["sha256"]: settings_hash for row in kept}


def score_folder(
    path: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    pattern: str = "**/*",
    reference=None,
    workers: int | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    config: Any = None,
    skip: Mapping[str, str] | None = None,
) -> "pd.DataFrame":
    """Measure every photo under ``path`` through the pipeline the records and the app use; one row per photo.

    Without ``reference`` every photo is measured as a baseline
    (:func:`skintrack.comparison.compare.measure_baseline`: a measuring copy of
    :data:`~skintrack.comparison.compare.MEASURE_SIZE` px, the quality gate, colours normalised from its
    neutral reference, scored with its own thresholds). With ``reference`` the baseline photo
    is measured once and every other photo with :func:`skintrack.comparison.compare.compare` against it
    (normalised to it, aligned onto it, scored with its yardstick on the overlap); a photo that
    cannot be compared (blocked by the quality gate, another skin, no alignment) gets NaN
    measures with the reason in ``error``. A photo gives the same numbers here as in the app.

    Parameters
    ----------
    path : folder, file, or several
    pattern : str
        Glob under each folder (default: everything, recursively).
    reference : path of a baseline photo, Photo, or its measure_baseline() result, optional
        The baseline every photo is compared with (its workers read a path). A ``Score`` or a
        thresholds mapping is refused (TypeError) since engine 0.3.1: comparing needs the
        baseline photo, not only its thresholds.
    workers : int, optional
        Processes on this machine (default: one per CPU); 1 scores in-process.
    progress : bool
        Progress bar on stderr (only when it is a terminal).
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler, e.g. ``tcp://10.0.0.5:8786``;
        its workers must see the same paths. ``ConnectionError`` when it cannot
        be reached within ``DASK_CONNECT_TIMEOUT_S`` seconds (nothing is scored).
    config : CompareConfig, ScoreConfig or mapping, optional
        The pipeline's settings (see :meth:`skintrack.comparison.compare.CompareConfig.of`; a mapping's keys
        other than CompareConfig's are ScoreConfig overrides).
    skip : mapping sha256 -> settings_hash, optional
        Photos already scored with these settings (for resuming; the pipeline's settings hash,
        :attr:`~skintrack.comparison.compare.CompareConfig.settings_hash`); left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``sha256``, the nine measures, ``quality`` (issue
        codes), ``engine_version``, ``settings_hash`` (the pipeline's, as the records
        store it), ``skin_pixels``, ``nan_reasons`` (why a measure is NaN, e.g. no skin
        found), ``error`` (why the photo has no measures: it could not be read, was
        blocked or is not comparable) and ``status`` (scored / blocked /
        not_comparable / error).

    Raises
    ------
    TypeError, ValueError
        For a ``reference`` or ``config`` that cannot be used (nothing is scored).
    """
    from .comparison.compare import CompareConfig

    cfg = CompareConfig.of(config)
    paths = find_photos([path] if isinstance(path, (str, os.PathLike)) else path, pattern)
    if skip:
        paths = [p for p in paths if skip.get(file_sha256(p)) != cfg.settings_hash]
    task = _ScoreTask(_reference(reference, cfg), cfg)
    rows = _map(task, [str(p) for p in paths], workers, scheduler, progress, "scoring")
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


# --------------------------------------------------------------------------- courses


def course_layout(root: str | os.PathLike) -> list[dict[str, Any]]:
    """The photos of a course folder ``PATIENT/AREA/YYYY-MM-DD/*.jpg``, sorted by patient, area, date, name.

    Raises
    ------
    ValueError
        When the folder does not follow the convention (the message says where).
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder.")
    items = []
    for photo in find_photos([root]):
        parts = photo.relative_to(root).parts
        if len(parts) != 4 or not _DATE.match(parts[2]):
            raise ValueError(
                f"{photo.relative_to(root)} does not follow PATIENT/AREA/YYYY-MM-DD/photo (e.g. P-001/left-cheek/2026-05-04/a.jpg)."
            )
        try:
            date = dt.date.fromisoformat(parts[2])
        except ValueError:
            raise ValueError(f"{parts[2]} in {photo.relative_to(root)} is not a valid date.") from None
        items.append({"patient": parts[0], "area": parts[1], "date": date, "path": photo})
    return sorted(items, key=lambda i: (i["patient"], i["area"], i["date"], i["path"].name))


def _score_area(photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One area of one patient through :func:`skintrack.comparison.compare.compare`: the earliest photo that can be
    measured is the baseline, the rest are measured against it (as the records do)."""
    from .comparison.compare import compare, measure_baseline, zone_of
    from .intake.photo import load_photo

    rows = []
    baseline = None
    for item in photos:
        row = {"patient": item["patient"], "area": item["area"], "date": item["date"].isoformat(), "path": str(item["path"]),
               "sha256": None, "role": "follow-up", "error": None}  # fmt: skip
        try:
            photo = load_photo(item["path"])
            row["sha256"] = photo.sha256
            if baseline is None:
                result = measure_baseline(photo, zone=zone_of(item["area"]))
                if result.scored:
                    baseline = result.baseline
            else:
                result = compare(baseline, photo)
            row.update(_comparison_row(result))
        except Exception as exc:
            row["sha256"] = row["sha256"] or file_sha256(item["path"])
            row.update(status="error", error=f"{type(exc).__name__}: {exc}", metrics={n: math.nan for n in METRIC_NAMES},
                       verdicts={}, normalization=None, alignment_quality=math.nan, quality="",
                       engine_version=__version__, settings_hash=None)  # fmt: skip
        rows.append(row)
    return rows


def _comparison_row(result) -> dict[str, Any]:
    """The plain numbers of a Comparison (its photos stay in the worker)."""
    metrics = result.score.metrics if result.score is not None else {n: math.nan for n in METRIC_NAMES}
    return {
        "role": result.role,
        "status": result.status,
        "error": result.reason if result.status != "scored" else None,
        "metrics": dict(metrics),
        "verdicts": {name: v.to_dict() for name, v in result.verdicts.items()},
        "normalization": result.normalization.get("method"),
        "alignment_quality": result.alignment.quality if result.alignment is not None else math.nan,
        "quality": ";".join(f"{i.code}:{i.severity}" for i in result.quality),
        "engine_version": result.provenance.get("engine_version"),
        "settings_hash": result.provenance.get("settings_hash"),
    }


def score_course(
    path: str | os.PathLike,
    *,
    workers: int | None = None,
    progress: bool = True,
    scheduler: str | None = None,
) -> "pd.DataFrame":
    """Score a course folder (``PATIENT/AREA/YYYY-MM-DD/*.jpg``) area by area.

    Each photo goes through :func:`skintrack.comparison.compare.compare`, the pipeline the
    records use: within each area the earliest photo that passes the quality gate
    is the baseline (an area named after a face zone, e.g. ``left-cheek``, is
    measured over that zone when the photo shows a face); every later photo is
    checked, colour-normalised to it, aligned to it and scored with its
    yardstick, and each change gets the noise verdict for the neutral reference
    and alignment that pair had. Areas are independent and run in parallel.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per photo and measure, with ``patient``, ``area``,
        ``date``, ``path``, ``sha256``, ``role`` (baseline / follow-up),
        ``status`` (scored / blocked / not_comparable / error), ``metric``, ``unit``, ``value``,
        ``baseline_value``, ``change``, ``change_pct``, ``mdc95`` (the noise band for this pair),
        ``beyond_noise``, ``noise`` (within noise / could be noise / beyond noise),
        ``normalization``, ``alignment_quality``, ``quality`` (the gate's issue codes),
        ``engine_version``, ``settings_hash`` and ``error`` (the reason when not scored).
    """
    from .measure.metrics import METRICS

    items = course_layout(path)
    groups: dict[tuple[str, str], list] = {}
    for item in items:
        groups.setdefault((item["patient"], item["area"]), []).append(item)
    results = _map(_score_area, list(groups.values()), workers, scheduler, progress, "areas")
    records = []
    for area_rows in results:
        base = next((r["metrics"] for r in area_rows if r["role"] == "baseline" and r["status"] == "scored"), None)
        for row in area_rows:
            for name in METRIC_NAMES:
                value = row["metrics"][name]
                reference = base[name] if base else math.nan
                change = value - reference
                finite = math.isfinite(change)
                verdict = row["verdicts"].get(name) if row["role"] == "follow-up" else None
                records.append(
                    {
                        **{k: row[k] for k in ("patient", "area", "date", "path", "sha256", "role", "status")},
                        "metric": name,
                        "unit": METRICS[name].unit,
                        "value": value,
                        "baseline_value": reference,
                        "change": change,
                        "change_pct": 100.0 * change / abs(reference) if finite and reference else math.nan,
                        "mdc95": verdict["mdc95"] if verdict else math.nan,
                        "beyond_noise": verdict["beyond"] if verdict else (False if finite else None),
                        "noise": verdict["wording"] if verdict else None,
                        "normalization": row.get("normalization"),
                        "alignment_quality": row.get("alignment_quality"),
                        "quality": row.get("quality"),
                        "engine_version": row.get("engine_version"),
                        "settings_hash": row.get("settings_hash"),
                        "error": row["error"],
                    }
                )
    import pandas as pd

    return pd.DataFrame(records)
