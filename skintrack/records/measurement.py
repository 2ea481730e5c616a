"""Measuring stored photos: the measured baselines and measurements kept in memory, and reading them back.

:class:`MeasurementCache` is the one place that measures a photo for the records
(:meth:`MeasurementCache.process`: as an area's baseline, or against it) and keeps
what is worth keeping; :class:`MeasurementMixin` is the records' public side of it
(:meth:`~skintrack.records.Records.measurement`, ``prepare_baseline``, ``baseline_photo``).
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache
from sqlalchemy.orm import Session

from ..comparison.align import prepare_reference
from ..comparison.compare import (
    DEFAULT_CONFIG,
    Baseline,
    Comparison,
    compare,
    measure_baseline,
    measuring_copy,
    roi_hash,
    zone_of,
)
from ..comparison.normalize import find_neutral_references
from ..intake.photo import Photo, load_photo
from .baseline_files import BaselineFiles
from .db import Area, PhotoRecord
from .mapping import area_region, measurement_of, photo_view
from .store import PhotoStore
from .versions import get_row
from .views import Actor, Measurement, PhotoView

__all__ = ["MeasurementCache", "MeasurementMixin", "current_baseline", "measuring_copy_of"]


def measuring_copy_of(photo: Photo) -> Photo:
    """The photo at :data:`~skintrack.comparison.compare.MEASURE_SIZE` (or as is when smaller), metadata kept."""
    return measuring_copy(photo, DEFAULT_CONFIG.measure_size)


def current_baseline(db: Session, area_id: str) -> dict | None:
    """The area's baseline photo as the measuring needs it (id, file, thresholds, visit date), or None.

    Raises :class:`~skintrack.records.NotFound` when there is no such area."""
    area = get_row(db, Area, area_id, "area")
    if not area.baseline_photo_id:
        return None
    record = db.get(PhotoRecord, area.baseline_photo_id)
    if record is None:
        return None
    return {
        "id": record.id,
        "file_name": record.file_name,
        "thresholds": dict(record.thresholds),
        "session_date": record.session.date,
    }


class MeasurementCache:
    """Measures photos through the one pipeline and keeps, in this process, what is costly to redo.

    Contract
    --------
    * **Measured baselines** — the 4 last used, keyed by ``(baseline file name, face zone, region hash)``
      (:func:`~skintrack.measure.roi.roi_hash`): the baseline normalised, with its yardstick and its analysis for
      follow-ups. Also kept on disk (:class:`~skintrack.records.baseline_files.BaselineFiles`), where
      another handle or process finds it; a baseline is measured at most once per key at a time (a
      second caller waits for the first: one lock per key).
    * **Measurements** — the 16 last used, keyed by photo id: a stored photo as measured (maps for
      overlays). A hit is used only while its ``measurement_key`` still matches the photo's view.
    * **Per-area locks** (:meth:`area_lock`) — this process's lock on an area's photos, held to commit a
      photo and by an upload that must measure again because the area's baseline changed meanwhile.
    * **Thread-safety** — both caches and the lock tables are touched only under one lock (cachetools'
      caches are not thread-safe); measuring happens outside it.
    * **Invalidation** — a baseline is keyed by its file (a new baseline is a new key, so no stale
      hit); :meth:`forget_measurements` drops every measurement when an area is measured again (its
      baseline, photos, name or region changed); :meth:`clear` drops everything (files moved).

    It reads photo files from the store and knows nothing of the database or of who is asking.
    """

    def __init__(
        self, store: PhotoStore, baselines: BaselineFiles, *, baselines_kept: int = 4, measurements_kept: int = 16
    ):
        self.store = store
        self.baselines = baselines  # measured baselines, on disk
        # Least recently used first out; both only under self.lock (cachetools' caches are not thread-safe).
        self.baseline_cache: LRUCache[tuple, Any] = LRUCache(maxsize=baselines_kept)  # (file, zone, roi hash) -> Baseline
        self.measured: LRUCache[str, Measurement] = LRUCache(maxsize=measurements_kept)  # photo id -> its measurement
        self.lock = threading.Lock()
        self._baseline_locks: dict[tuple, threading.Lock] = {}
        self._area_locks: dict[str, threading.RLock] = {}

    # ------------------------------------------------------------------ locks

    def area_lock(self, area_id: str) -> threading.RLock:
        """This process's lock on an area's photos: held to commit one, and by an upload that has to
        measure again because another photo became the baseline meanwhile (see :meth:`Filing.add
        <skintrack.records.filing.Filing.add>`)."""
        with self.lock:
            return self._area_locks.setdefault(area_id, threading.RLock())

    # ------------------------------------------------------------------ measuring

    def process(self, photo: Photo, baseline: dict | None, zone: str | None = None, region: Any = None) -> Comparison:
        """Measure a photo through the one pipeline: as the area's baseline, or against it.

        When the area is named after a face zone ("left cheek", "forehead", …) and the photo
        shows a face, only that zone is measured; ``region`` is the area's region of interest,
        drawn on the baseline (follow-ups are aligned onto it, then measured where they cover it)."""
        if baseline is None:
            return measure_baseline(photo, zone=zone, roi=region)
        return compare(self.measured_baseline(baseline["file_name"], zone, region), photo)

    def measured_baseline(self, file_name: str, zone: str | None, region: Any = None) -> Baseline | Comparison:
        """The area's baseline as measured, with what every follow-up needs from it analysed (its
        neutral references to normalise by, its features to align onto), or why it cannot be measured.

        Cached: done once per baseline, zone and region. A caller arriving while it is being done
        (e.g. from :meth:`~skintrack.records.Records.prepare_baseline` in the background) waits instead
        of repeating it."""
        key = (file_name, zone, roi_hash(region))
        with self.lock:
            lock = self._baseline_locks.setdefault(key, threading.Lock())
        with lock:
            with self.lock:
                baseline = self.baseline_cache.get(key)
            if baseline is None:
                # Measured before, maybe by another process or server: the same numbers, without the work.
                baseline = self.baselines.load(file_name, zone, region, DEFAULT_CONFIG)
                if baseline is not None:
                    self.keep_baseline(file_name, baseline, on_disk=False)
            if baseline is None:
                measured = measure_baseline(measuring_copy_of(load_photo(self.store.get(file_name))), zone=zone, roi=region)
                if not measured.scored:
                    return measured
                baseline = measured.baseline
                self.keep_baseline(file_name, baseline)
            # Also for a baseline kept when it was added: its analysis for follow-ups may not be done yet.
            _ready(baseline)
            return baseline

    def kept(self, view: PhotoView) -> Measurement | None:
        """The kept measurement of a stored photo, while it is still the photo's (same ``measurement_key``)."""
        with self.lock:
            cached = self.measured.get(view.id)
        if cached is not None and cached.photo.measurement_key == view.measurement_key:
            return Measurement(view, cached.image, cached.score, cached.alignment)
        return None

    def measure_again(self, view: PhotoView, baseline: dict | None, region: Any) -> Measurement:
        """Measure a stored photo again (``baseline``: its area's current one, ``region``: the area's region
        of interest) and keep the result; a baseline photo's measured baseline is kept too."""
        photo = measuring_copy_of(load_photo(self.store.get(view.file_name)))
        is_baseline = baseline is None or baseline["id"] == view.id
        outcome = self.process(photo, None if is_baseline else baseline, zone_of(view.area), region)
        if is_baseline and outcome.scored:
            self.keep_baseline(view.file_name, outcome.baseline)
        result = measurement_of(view, outcome)
        self.remember(view.id, result)
        return result

    # ------------------------------------------------------------------ keeping and forgetting

    def keep_baseline(self, file_name: str, baseline: Baseline, *, on_disk: bool = True) -> None:
        """Keep a measured baseline in memory and (``on_disk``, unless it is there) in the data folder, where
        the next follow-up finds it whichever process measures it (:mod:`~skintrack.records.baseline_files`)."""
        key = (file_name, baseline.zone, roi_hash(baseline.roi))
        with self.lock:
            self.baseline_cache[key] = baseline
        if on_disk and not self.baselines.has(file_name, baseline.zone, baseline.roi, baseline.config):
            self.baselines.save(file_name, baseline)

    def remember(self, photo_id: str, measured: Measurement) -> None:
        """Keep a photo's measurement (e.g. the one just stored) for :meth:`kept`."""
        with self.lock:
            self.measured[photo_id] = measured

    def forget_measurements(self) -> None:
        """Drop every kept measurement (an area is measured again: its numbers may change)."""
        with self.lock:
            self.measured.clear()

    def clear(self) -> None:
        """Drop every kept baseline and measurement (e.g. the photo files were moved)."""
        with self.lock:
            self.baseline_cache.clear()
            self.measured.clear()


def _ready(baseline: Baseline) -> None:
    """Analyse a measured baseline for follow-ups ahead of time (same numbers, only sooner; each
    part is remembered per photo object, so a second call costs nothing)."""
    find_neutral_references(baseline.photo, baseline.config.normalize)
    prepare_reference(baseline.photo, baseline.config.align)


class MeasurementMixin:
    """The records' public measuring: each method checks the actor, reads the rows, and asks the
    :class:`MeasurementCache` (``self._measurements``)."""

    _measurements: MeasurementCache

    def prepare_baseline(self, actor: Actor, area_id: str) -> bool:
        """Analyse the area's baseline ahead of its next follow-up (the app calls this, in the
        background, while the provider picks the photo): the upload then only measures the new photo.
        Returns whether the area has a baseline. Same numbers either way; only sooner."""
        with self._db() as db:
            area = self._owned(db, actor, "read", Area, area_id, "area")
            zone, region = zone_of(area.name), area_region(area)
        with self._db() as db:
            baseline = current_baseline(db, area_id)
        if baseline is None:
            return False
        self._measurements.measured_baseline(baseline["file_name"], zone, region)
        return True

    def measurement(self, actor: Actor, photo_id: str) -> Measurement:
        """A stored photo as it was measured: normalised, aligned onto the baseline, and its
        :class:`~skintrack.Score` with maps for overlays (the same numbers as stored).

        Kept in memory for the last photos added or asked for; otherwise recomputed.
        """
        with self._db() as db:
            record = self._owned(db, actor, "read", PhotoRecord, photo_id, "photo")
            view = photo_view(db, record)
        kept = self._measurements.kept(view)
        if kept is not None:
            return kept
        with self._db() as db:
            baseline = current_baseline(db, view.area_id)
        with self._db() as db:
            region = area_region(db.get(Area, view.area_id))
        return self._measurements.measure_again(view, baseline, region)

    def baseline_photo(self, actor: Actor, area_id: str) -> Photo | None:
        """The area's baseline photo, normalised (what follow-ups are aligned to)."""
        with self._db() as db:
            self._owned(db, actor, "read", Area, area_id, "area")
        with self._db() as db:
            baseline = current_baseline(db, area_id)
        if not baseline:
            return None
        with self._db() as db:
            area = db.get(Area, area_id)
            zone, region = zone_of(area.name), area_region(area)
        measured = self._measurements.measured_baseline(baseline["file_name"], zone, region)
        return measured.photo if isinstance(measured, Baseline) else None
