"""Measured baselines kept in the data folder (skintrack.records.baseline_files): the same numbers as a fresh
measurement, used by every handle and process, sealed like the photos, gone with the photo, never trusted
when damaged, kept within a budget."""

from __future__ import annotations

import importlib
import io
import threading

import numpy as np
import pytest
from PIL import Image

from skintrack.comparison.compare import DEFAULT_CONFIG, compare, measure_baseline
from skintrack.measure.roi import Region
from skintrack.records import Actor, Records
from skintrack.records import measurement as measurement_module
from skintrack.records.baseline_files import baseline_from_bytes, baseline_to_bytes
from skintrack.records.store import MAGIC, generate_key

from .conftest import REPO, same_numbers

align_module = importlib.import_module("skintrack.comparison.align")
normalize_module = importlib.import_module("skintrack.comparison.normalize")
ADMIN = Actor("op (local operator)", role="admin", source="cli")
SERIES = sorted((REPO / "sample_images").glob("*_left-cheek.jpg"))


def _jpeg(path, size=(1600, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").resize(size).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _same(a, b) -> None:
    """Two comparisons are the same to the last bit: status, words, every number."""
    assert (a.status, a.reasons) == (b.status, b.reasons)
    for name in ("metrics", "thresholds"):
        left, right = getattr(a.score, name), getattr(b.score, name)
        assert left.keys() == right.keys()
        assert all(np.array_equal(left[k], right[k], equal_nan=True) for k in left), name
    assert np.array_equal(np.array(list(a.changes.values())), np.array(list(b.changes.values())), equal_nan=True)
    if a.alignment is not None:
        assert np.array_equal(a.alignment.matrix, b.alignment.matrix)
        assert a.alignment.quality == b.alignment.quality


def _round_trip(baseline):
    return baseline_from_bytes(baseline_to_bytes(baseline), region=baseline.roi, config=baseline.config)


# --------------------------------------------------------------------------- the file format


def test_a_kept_baseline_measures_a_follow_up_exactly_as_a_fresh_one():
    """Demo series (grey card, backdrop, aligned), with a region, and a real repeat pair."""
    region = Region.from_dict({"shape": "rectangle", "points": [[0.2, 0.2], [0.8, 0.7]]})
    cases = [(SERIES[0], SERIES[2], "left_cheek", None), (SERIES[0], SERIES[3], None, region)]
    repeats = sorted((REPO.parent / "shared" / "real_photos" / "external" / "repeats").glob("*.jpg"))
    if len(repeats) >= 4:
        cases.append((repeats[2], repeats[3], None, None))
    for before, after, zone, roi in cases:
        fresh = measure_baseline(_jpeg(before), zone=zone, roi=roi).baseline
        kept = _round_trip(fresh)
        assert kept.zone == fresh.zone and kept.roi is roi
        assert np.array_equal(kept.photo.rgb, fresh.photo.rgb) and kept.photo.metadata == fresh.photo.metadata
        assert kept.score.provenance == fresh.score.provenance
        assert kept.score.mm_per_px == fresh.score.mm_per_px > 0  # the yardstick's scale comes with it
        assert (kept.roi_mask is None) == (fresh.roi_mask is None)
        _same(compare(fresh, _jpeg(after)), compare(kept, _jpeg(after)))


def test_a_kept_baseline_is_not_analysed_again(monkeypatch):
    """Its neutral references and features come with it: aligning a follow-up onto it finds features only
    in the follow-up."""
    kept = _round_trip(measure_baseline(_jpeg(SERIES[0])).baseline)
    analysed, looked_for_references = [], []
    features, references = align_module._features, normalize_module._find_neutral_references
    monkeypatch.setattr(align_module, "_features", lambda grey, threshold: analysed.append(grey.shape) or features(grey, threshold))
    monkeypatch.setattr(normalize_module, "_find_neutral_references",
                        lambda photo, cfg: looked_for_references.append(photo) or references(photo, cfg))  # fmt: skip
    assert compare(kept, _jpeg(SERIES[2])).scored
    assert len(analysed) == 1 and len(looked_for_references) == 1
    assert looked_for_references[0] is not kept.photo


def test_a_file_from_other_settings_or_damaged_is_refused():
    data = baseline_to_bytes(measure_baseline(_jpeg(SERIES[0])).baseline)
    other = DEFAULT_CONFIG.of({"red_k": DEFAULT_CONFIG.score.red_k + 0.5})
    with pytest.raises(ValueError, match="other settings"):
        baseline_from_bytes(data, region=None, config=other)
    for damaged in (data[: len(data) // 2], data[:100] + bytes(200) + data[300:], b"not a baseline"):
        with pytest.raises(ValueError):
            baseline_from_bytes(damaged, region=None, config=DEFAULT_CONFIG)


# --------------------------------------------------------------------------- in the records


def _area_with_baseline(records: Records, code="P-1"):
    patient = records.add_patient(ADMIN, code)
    area = records.add_area(ADMIN, patient.id, "left cheek")
    sessions = [records.add_session(ADMIN, patient.id, day, "laser").id for day in ("2026-05-04", "2026-06-01", "2026-06-29")]
    baseline = records.add_photo(ADMIN, sessions[0], area.id, _jpeg(SERIES[0]))
    return patient, area, sessions, baseline


def _kept_files(data) -> list:
    return sorted((data / "cache" / "baselines").glob("*/*.npz"))


def _scores(records: Records, photo_id: str) -> dict:
    return dict(records.get_photo(ADMIN, photo_id).scores)


def _measured_from_scratch(folder) -> dict:
    """The follow-up's scores in a data folder that keeps no baseline on disk."""
    plain = Records(folder)
    plain.baselines.budget_bytes = 0
    _, area, sessions, _ = _area_with_baseline(plain)
    assert not _kept_files(folder)
    return _scores(plain, plain.add_photo(ADMIN, sessions[1], area.id, _jpeg(SERIES[2])).id)


def test_another_handle_measures_a_follow_up_from_the_kept_baseline_with_the_same_numbers(tmp_path, monkeypatch):
    data = tmp_path / "data"
    first = Records(data)
    patient, area, sessions, baseline = _area_with_baseline(first)
    assert len(_kept_files(data)) == 1  # kept when it was added
    # A second handle (another process or server on the same folder) never measures the baseline again.
    second = Records(data)
    monkeypatch.setattr(measurement_module, "measure_baseline", lambda *a, **k: pytest.fail("baseline measured again"))
    follow_up = second.add_photo(ADMIN, sessions[1], area.id, _jpeg(SERIES[2]))
    monkeypatch.undo()
    assert follow_up.status == "scored"
    assert _scores(second, follow_up.id) == _measured_from_scratch(tmp_path / "plain")


def test_kept_baselines_are_sealed_with_the_store_key_and_useless_without_it(tmp_path):
    data = tmp_path / "data"
    key = generate_key()
    sealed = Records(data, key=key)
    _, area, sessions, baseline = _area_with_baseline(sealed)
    (kept,) = _kept_files(data)
    raw = kept.read_bytes()
    assert raw.startswith(MAGIC) and b"NUMPY" not in raw and b"header" not in raw
    name = baseline.file_name
    assert Records(data, key=key).baselines.load(name, "left_cheek", None, DEFAULT_CONFIG) is not None
    # Under another key, or none, it cannot be opened (and is not used).
    assert Records(data, key=generate_key()).baselines.load(name, "left_cheek", None, DEFAULT_CONFIG) is None
    assert Records(tmp_path / "data", key="").baselines.load(name, "left_cheek", None, DEFAULT_CONFIG) is None
    # A plain file put in its place is not trusted by the encrypted store: the follow-up measures the baseline.
    kept.write_bytes(baseline_to_bytes(sealed._measurements.measured_baseline(name, "left_cheek", None)))
    assert Records(data, key=key).baselines.load(name, "left_cheek", None, DEFAULT_CONFIG) is None
    follow_up = Records(data, key=key).add_photo(ADMIN, sessions[1], area.id, _jpeg(SERIES[2]))
    assert _scores(sealed, follow_up.id) == _measured_from_scratch(tmp_path / "plain")


def test_a_damaged_kept_baseline_is_measured_again_and_rewritten(tmp_path):
    data = tmp_path / "data"
    records = Records(data)
    _, area, sessions, baseline = _area_with_baseline(records)
    (kept,) = _kept_files(data)
    kept.write_bytes(kept.read_bytes()[:5000])
    other = Records(data)
    follow_up = other.add_photo(ADMIN, sessions[1], area.id, _jpeg(SERIES[2]))
    assert follow_up.status == "scored"
    assert other.baselines.load(baseline.file_name, "left_cheek", None, DEFAULT_CONFIG) is not None  # rewritten
    assert _scores(other, follow_up.id) == _measured_from_scratch(tmp_path / "plain")


def test_a_kept_baseline_goes_with_its_photo(tmp_path):
    """Erasure: deleting the patient deletes what was worked out from their photos; doctor --repair deletes
    what a crash or an older version left of photos no longer stored."""
    data = tmp_path / "data"
    records = Records(data)
    patient, area, sessions, baseline = _area_with_baseline(records)
    folder = data / "cache" / "baselines" / baseline.file_name.split(".")[0]
    assert folder.is_dir()
    records.delete_patient(ADMIN, patient.id)
    assert not folder.exists()
    stray = data / "cache" / "baselines" / ("ab" * 32)
    stray.mkdir(parents=True)
    (stray / "x.npz").write_bytes(b"left over")
    assert records.doctor(ADMIN).healthy
    records.doctor(ADMIN, repair=True)
    assert not stray.exists()


def test_the_kept_baselines_stay_within_their_budget(tmp_path):
    data = tmp_path / "data"
    records = Records(data)
    _area_with_baseline(records, "P-1")
    (first,) = _kept_files(data)
    records.baselines.budget_bytes = int(first.stat().st_size * 1.5)  # room for one
    patient = records.add_patient(ADMIN, "P-2")
    area = records.add_area(ADMIN, patient.id, "forehead")
    session = records.add_session(ADMIN, patient.id, "2026-05-04", "laser").id
    records.add_photo(ADMIN, session, area.id, _jpeg(SERIES[1]))
    kept = _kept_files(data)
    assert len(kept) == 1 and kept[0] != first  # the least recently used went


def test_two_handles_keeping_one_baseline_at_once_leave_one_good_file(tmp_path):
    data = tmp_path / "data"
    records = Records(data)
    _, area, sessions, baseline = _area_with_baseline(records)
    for path in _kept_files(data):
        path.unlink()
    handles = [Records(data) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda h=h: results.append(h._measurements.measured_baseline(baseline.file_name, "left_cheek", None)))
               for h in handles]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and len(_kept_files(data)) == 1
    loaded = Records(data).baselines.load(baseline.file_name, "left_cheek", None, DEFAULT_CONFIG)
    assert loaded is not None and same_numbers(loaded.score.metrics, results[0].score.metrics)
