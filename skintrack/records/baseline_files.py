"""Measured baselines kept on disk, so that a follow-up does not measure its baseline again.

Measuring a follow-up needs its area's baseline measured (normalised, scored with its own thresholds)
and analysed (its neutral references, its features to align onto): about as much work again as the
follow-up itself. :class:`~skintrack.records.Records` keeps a few of them in memory; this keeps them in
the data folder too, so the next follow-up of any area — in another process, another app or API server
on the same photo folder, or after a restart — starts from the stored one. The numbers are exactly the
ones a fresh measurement gives (``tests/test_baseline_files.py`` compares them bit for bit).

Layout: ``<data>/cache/baselines/<photo file's hash>/<variant>.npz``, one folder per stored photo, one
file per zone, region of interest, pipeline settings and engine version (:func:`variant_name`), so a
baseline measured another way is never used. Each file is a NumPy ``.npz`` (read with
``allow_pickle=False``: nothing in it can run code) holding the arrays and a JSON header, sealed with
AES-256-GCM like the photos when the store is encrypted (:meth:`PhotoStore.seal_derived`), written
atomically, ``0600``.

What it holds is health data derived from a photo, so it goes with the photo: deleting a photo's file
(erasure, ``doctor --repair``) deletes its folder here (:meth:`BaselineFiles.forget`). It is only a
cache: a file that is missing, damaged, made under another key or by another version is ignored
(measured again and rewritten); the folder can be deleted at any time; it is left out of archives.
The folder is kept under a size budget (:data:`DEFAULT_BUDGET_MB`, ``$SKINTRACK_BASELINE_CACHE_MB``;
``0`` turns it off): the least recently used files go first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._version import __version__
from ..comparison.align import prepare_reference, remember_reference_analysis
from ..comparison.compare import Baseline, CompareConfig
from ..comparison.normalize import NeutralReference, find_neutral_references, remember_neutral_references
from ..intake.photo import Photo
from ..measure.roi import roi_hash
from ..measure.scoring import Score
from ..private_files import atomic_write, make_private_dirs
from .store import PhotoStore, is_stored_name

__all__ = ["DEFAULT_BUDGET_MB", "BaselineFiles", "baseline_from_bytes", "baseline_to_bytes", "variant_name"]

log = logging.getLogger(__name__)

#: Size budget of the folder, MB: about 28 MB per baseline measured at the default 2048 px.
DEFAULT_BUDGET_MB = 2048
_FORMAT = 2  # of the file (2: the score's mm_per_px kept); another format is ignored (measured again)


def variant_name(zone: str | None, region: Any, config: CompareConfig) -> str:
    """The file name of one measurement of a photo: its zone, region, settings and the engine version."""
    text = json.dumps([_FORMAT, __version__, config.settings_hash, zone, roi_hash(region)])
    return hashlib.sha256(text.encode()).hexdigest()[:40] + ".npz"


# --------------------------------------------------------------------------- (de)serialising


class _Arrays:
    """JSON with arrays set aside: ``{"__array__": i}`` for the i-th array, NumPy scalars as 0-d arrays
    (their dtype kept), ``{"__tuple__": [...]}`` for tuples, so what comes back is what went in."""

    def __init__(self, arrays: list[np.ndarray] | None = None):
        self.arrays = arrays if arrays is not None else []

    def encode(self, value: Any) -> Any:
        if isinstance(value, (np.ndarray, np.generic)):
            self.arrays.append(np.asarray(value))
            return {"__array__": len(self.arrays) - 1}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError("only string keys")
            return {key: self.encode(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(item) for item in value]}
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        raise TypeError(f"cannot keep a {type(value).__name__}")

    def decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                array = self.arrays[value["__array__"]]
                return array[()] if array.ndim == 0 else array
            if set(value) == {"__tuple__"}:
                return tuple(self.decode(item) for item in value["__tuple__"])
            return {key: self.decode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        return value


def _keypoints_array(keypoints) -> np.ndarray:
    return np.array([[k.pt[0], k.pt[1], k.size, k.angle, k.response, k.octave, k.class_id] for k in keypoints],
                    dtype=np.float64).reshape(-1, 7)  # fmt: skip


def _keypoints(array: np.ndarray) -> tuple:
    return tuple(cv2.KeyPoint(float(x), float(y), float(size), float(angle), float(response), int(octave), int(class_id))
                 for x, y, size, angle, response, octave, class_id in array)  # fmt: skip


def baseline_to_bytes(baseline: Baseline) -> bytes:
    """A measured baseline and its analysis for follow-ups (done here if not yet) as ``.npz`` bytes.

    The region of interest as given and the settings are not kept: the caller knows them (they are
    part of :func:`variant_name`) and passes them to :func:`baseline_from_bytes`. ``TypeError`` when
    something in it cannot be kept exactly (then it is simply not kept)."""
    cfg = baseline.config
    references = find_neutral_references(baseline.photo, cfg.normalize)
    small, grey, keypoints, descriptors = prepare_reference(baseline.photo, cfg.align)
    packer = _Arrays()
    header = {
        "format": _FORMAT,
        "engine_version": __version__,
        "settings_hash": cfg.settings_hash,
        "zone": baseline.zone,
        "photo": {"rgb": packer.encode(np.asarray(baseline.photo.rgb)), "metadata": packer.encode(baseline.photo.metadata)},
        "score": {
            "metrics": packer.encode(baseline.score.metrics),
            "thresholds": packer.encode(baseline.score.thresholds),
            "provenance": packer.encode(baseline.score.provenance),
            "maps": packer.encode(dict(baseline.score.maps)),
            "image": packer.encode(baseline.score.image),
            "mm_per_px": packer.encode(baseline.score.mm_per_px),
        },
        "roi_mask": packer.encode(baseline.roi_mask),
        "references": {name: packer.encode(dataclasses.asdict(found)) for name, found in references.items()},
        "alignment": packer.encode((small, grey, _keypoints_array(keypoints), descriptors)),
    }
    buffer = io.BytesIO()
    arrays = {f"a{i}": array for i, array in enumerate(packer.arrays)}
    np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


def baseline_from_bytes(data: bytes, *, region: Any, config: CompareConfig) -> Baseline:
    """The :class:`~skintrack.comparison.compare.Baseline` that :func:`baseline_to_bytes` kept, with its analysis for
    follow-ups remembered, ready for :func:`~skintrack.comparison.compare.compare`. ``ValueError`` when ``data`` is not
    such a file for these settings and this engine version."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            header = json.loads(bytes(stored["header"]).decode())
            arrays = [stored[f"a{i}"] for i in range(len(stored.files) - 1)]
    except Exception as exc:  # a damaged file is only a missing one
        raise ValueError(f"not a stored baseline ({type(exc).__name__})") from None
    if header.get("format") != _FORMAT or header.get("engine_version") != __version__:
        raise ValueError("stored by another version")
    if header.get("settings_hash") != config.settings_hash:
        raise ValueError("measured with other settings")
    unpacker = _Arrays(arrays)
    photo = Photo(unpacker.decode(header["photo"]["rgb"]), unpacker.decode(header["photo"]["metadata"]))
    kept = header["score"]
    score = Score(
        metrics=unpacker.decode(kept["metrics"]), thresholds=unpacker.decode(kept["thresholds"]),
        provenance=unpacker.decode(kept["provenance"]), maps=unpacker.decode(kept["maps"]),
        image=unpacker.decode(kept["image"]), mm_per_px=unpacker.decode(kept["mm_per_px"]),
    )  # fmt: skip
    references = {name: NeutralReference(**unpacker.decode(found)) for name, found in header["references"].items()}
    remember_neutral_references(photo, config.normalize, references)
    small, grey, keypoints, descriptors = unpacker.decode(header["alignment"])
    remember_reference_analysis(photo, config.align, (small, grey, _keypoints(keypoints), descriptors))
    return Baseline(photo, score, header["zone"], region, unpacker.decode(header["roi_mask"]), config)


# --------------------------------------------------------------------------- the folder


class BaselineFiles:
    """The on-disk tier of :class:`~skintrack.records.Records`' measured baselines (see the module docstring).

    Parameters
    ----------
    root : path
        The folder (``<data>/cache/baselines``).
    store : PhotoStore
        The photo store: its key seals the files, and deleting a photo's file deletes what is kept of it.
    budget_mb : float, optional
        Size budget; default ``$SKINTRACK_BASELINE_CACHE_MB`` or :data:`DEFAULT_BUDGET_MB`; 0 keeps nothing.
    """

    def __init__(self, root: str | os.PathLike, store: PhotoStore, *, budget_mb: float | None = None):
        self.root = Path(root)
        self.store = store
        if budget_mb is None:
            try:
                budget_mb = float(os.environ.get("SKINTRACK_BASELINE_CACHE_MB", DEFAULT_BUDGET_MB))
            except ValueError:
                budget_mb = DEFAULT_BUDGET_MB
        self.budget_bytes = max(0, int(budget_mb * 1024 * 1024))
        store.on_delete.append(self.forget)

    def _path(self, file_name: str, variant: str) -> Path:
        if not is_stored_name(file_name):  # only a stored photo's name becomes a folder name
            raise ValueError(f"{file_name!r} is not the name of a stored photo.")
        return self.root / file_name.split(".")[0] / variant

    def has(self, file_name: str, zone: str | None, region: Any, config: CompareConfig) -> bool:
        """Whether a baseline measured from ``file_name`` this way is kept (not whether it is usable)."""
        return bool(self.budget_bytes) and self._path(file_name, variant_name(zone, region, config)).is_file()

    def load(self, file_name: str, zone: str | None, region: Any, config: CompareConfig) -> Baseline | None:
        """The baseline measured from ``file_name`` this way, or None (not kept, or not usable)."""
        if not self.budget_bytes:
            return None
        variant = variant_name(zone, region, config)
        path = self._path(file_name, variant)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            baseline = baseline_from_bytes(self.store.open_derived(variant, raw), region=region, config=config)
        except Exception as exc:  # noqa: BLE001 - any unusable file is measured again and rewritten
            log.warning("stored baseline %s ignored and deleted: %s", path, exc)
            path.unlink(missing_ok=True)  # so that the baseline measured now is kept in its place
            return None
        try:
            os.utime(path)  # recently used: kept longest
        except OSError:
            pass
        return baseline

    def save(self, file_name: str, baseline: Baseline) -> bool:
        """Keep ``baseline`` (measured from the stored photo ``file_name``); whether it was kept. Never
        raises for lack of space or a value it cannot keep: a baseline not kept is only measured again."""
        if not self.budget_bytes:
            return False
        variant = variant_name(baseline.zone, baseline.roi, baseline.config)
        path = self._path(file_name, variant)
        try:
            data = self.store.seal_derived(variant, baseline_to_bytes(baseline))
            if len(data) > self.budget_bytes:
                return False
            self.store.check_space(len(data))
            make_private_dirs(path.parent)
            atomic_write(path, data)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("baseline of %s not kept: %s", file_name, exc)
            return False
        self._keep_within_budget()
        return True

    def forget(self, file_name: str) -> None:
        """Delete all that is kept of the photo ``file_name``."""
        if is_stored_name(file_name):
            shutil.rmtree(self.root / file_name.split(".")[0], ignore_errors=True)

    def prune(self, keep: set[str]) -> int:
        """Delete what is kept of photos not in ``keep`` (file names); how many photos' files went."""
        stems = {name.split(".")[0] for name in keep}
        gone = 0
        for folder in self._folders():
            if folder.name not in stems:
                shutil.rmtree(folder, ignore_errors=True)
                gone += 1
        return gone

    def _folders(self) -> list[Path]:
        try:
            return [entry for entry in self.root.iterdir() if entry.is_dir()]
        except OSError:
            return []

    def _keep_within_budget(self) -> None:
        files = []
        for folder in self._folders():
            for entry in os.scandir(folder):
                try:
                    info = entry.stat()
                except OSError:
                    continue
                files.append((info.st_mtime, info.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.budget_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
