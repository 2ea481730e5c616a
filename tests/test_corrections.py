"""Correcting the record (skintrack/records/corrections.py) and an area's region of interest (skintrack/measure/roi.py).

Every correction is checked against the acting user (tests/test_permissions.py) and leaves an audit
line; what it changes about the measurements is redone at once: the baseline is the earliest
visit's photo, and an area whose baseline, photos, zone or region changed is measured again.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from skintrack.measure.roi import Region, RegionError
from skintrack.records import Actor, InvalidInput, Records
from skintrack.synthetic import Capture, SkinScene, SkinState

from .conftest import copy_of_records

DOCTOR = Actor("Dr Ada")
ADMIN = Actor("Ada Admin", role="admin")
SCENE = SkinScene(seed=5)
_PHOTOS: dict = {}


def photo(seed: int, **state) -> bytes:
    key = (seed, tuple(sorted(state.items())))
    if key not in _PHOTOS:
        capture = Capture(seed=seed, shift=(12.0 * (seed % 3), -8.0 * (seed % 2)), rotation_deg=0.8 * (seed % 3))
        _PHOTOS[key] = SCENE.render(SkinState(**state), capture).encoded
    return _PHOTOS[key]


def _build_course(folder):
    records = Records(folder)
    patient = records.add_patient(DOCTOR, "P-FIX")
    cheek = records.add_area(DOCTOR, patient.id, "cheek")
    chin = records.add_area(DOCTOR, patient.id, "chin")
    visits = [records.add_session(DOCTOR, patient.id, day, kind)
              for day, kind in (("2026-01-05", "micro-needling"), ("2026-02-05", "micro-needling"), ("2026-03-05", "other"))]  # fmt: skip
    photos = [records.add_photo(DOCTOR, visit.id, cheek.id, photo(i + 1, erythema=9.0 - 2 * i)) for i, visit in enumerate(visits)]
    records.close()
    return patient, cheek, chin, visits, photos


@pytest.fixture
def course(tmp_path, tmp_path_factory):
    """One patient, two areas, three visits; photos of the cheek at each visit (measured once per process,
    each test gets its own copy)."""
    patient, cheek, chin, visits, photos = copy_of_records(tmp_path_factory, "corrections-course", _build_course, tmp_path / "data")
    records = Records(tmp_path / "data")
    yield records, patient, cheek, chin, visits, photos
    records.close()


def _actions(records, patient_id):
    code = records.get_patient(ADMIN, patient_id).code
    return [e.action for e in records.audit_log(ADMIN, patient_code=code)]


def test_a_photo_filed_under_the_wrong_visit_is_moved(course):
    records, patient, cheek, _, visits, photos = course
    moved = records.move_photo(DOCTOR, photos[2].id, session_id=visits[1].id)
    assert moved.session_id == visits[1].id and records.get_photo(DOCTOR, photos[2].id).session_date == dt.date(2026, 2, 5)
    assert "move_photo" in _actions(records, patient.id)
    assert records.get_photo(DOCTOR, photos[0].id).is_baseline  # still the earliest


def test_moving_the_baseline_later_makes_the_next_photo_the_baseline_and_measures_again(course):
    records, patient, cheek, _, visits, photos = course
    before = records.get_photo(DOCTOR, photos[1].id).scores
    later = records.add_session(DOCTOR, patient.id, "2026-04-05", "other")
    records.move_photo(DOCTOR, photos[0].id, session_id=later.id)
    assert records.get_photo(DOCTOR, photos[1].id).is_baseline
    assert records.list_areas(DOCTOR, patient.id)[0].baseline_photo_id == photos[1].id
    after = records.get_photo(DOCTOR, photos[1].id).scores
    assert after != before  # measured again, now as the baseline (its own thresholds)
    old = records.get_photo(DOCTOR, photos[0].id)
    assert not old.is_baseline and old.status in ("scored", "not_comparable")


def test_a_photo_filed_under_the_wrong_area_is_moved_and_measured_against_that_area(course):
    records, patient, cheek, chin, visits, photos = course
    records.add_photo(DOCTOR, visits[0].id, chin.id, photo(7, erythema=4.0))
    before = records.get_photo(DOCTOR, photos[2].id).scores
    moved = records.move_photo(DOCTOR, photos[2].id, area_id=chin.id)
    assert moved.area_id == chin.id and moved.status == "scored" and not moved.is_baseline
    assert moved.scores != pytest.approx(before, nan_ok=True)  # measured again, against the chin's baseline
    assert [p.id for p in records.list_photos(DOCTOR, patient.id, cheek.id)] == [photos[0].id, photos[1].id]
    # Moving the cheek's baseline away: the cheek's next photo becomes its baseline.
    records.move_photo(DOCTOR, photos[0].id, area_id=chin.id, session_id=visits[1].id)
    assert records.get_photo(DOCTOR, photos[1].id).is_baseline


def test_moves_that_would_mix_patients_or_duplicate_are_refused(course, tmp_path):
    records, patient, cheek, chin, visits, photos = course
    other = records.add_patient(DOCTOR, "P-OTHER")
    foreign = records.add_session(DOCTOR, other.id, "2026-01-05", "other")
    with pytest.raises(InvalidInput, match="own patient"):
        records.move_photo(DOCTOR, photos[1].id, session_id=foreign.id)
    twin = records.add_photo(DOCTOR, visits[1].id, chin.id, photo(2, erythema=7.0))
    with pytest.raises(InvalidInput, match="already has this photo"):
        records.move_photo(DOCTOR, twin.id, area_id=cheek.id)
    assert records.get_photo(DOCTOR, twin.id).area_id == chin.id  # nothing changed


def test_a_visit_is_corrected_and_a_new_date_can_change_the_baseline(course):
    records, patient, cheek, _, visits, photos = course
    edited = records.update_session(DOCTOR, visits[2].id, treatment="peel", notes="was a peel", settings={"acid": "TCA 15%"})
    assert (edited.treatment, edited.notes, edited.settings) == ("peel", "was a peel", {"acid": "TCA 15%"})
    records.update_session(DOCTOR, visits[2].id, date="2025-12-20")  # now the earliest visit
    assert records.get_photo(DOCTOR, photos[2].id).is_baseline
    assert not records.get_photo(DOCTOR, photos[0].id).is_baseline
    with pytest.raises(InvalidInput, match="already recorded"):
        records.update_session(DOCTOR, visits[1].id, date="2026-01-05", treatment="micro-needling")
    with pytest.raises(InvalidInput, match="future"):
        records.update_session(DOCTOR, visits[1].id, date=dt.date.today() + dt.timedelta(days=3))
    assert _actions(records, patient.id).count("update_session") == 2


def test_deleting_a_visit_deletes_its_photos_and_their_files(course):
    records, patient, cheek, _, visits, photos = course
    assert records.delete_session(DOCTOR, visits[0].id) == 1
    assert [s.id for s in records.list_sessions(DOCTOR, patient.id)] == [visits[1].id, visits[2].id]
    assert records.get_photo(DOCTOR, photos[1].id).is_baseline  # the next one took over
    assert records.doctor(ADMIN).healthy  # no file left behind
    assert "delete_session" in _actions(records, patient.id)


def test_an_area_is_renamed_and_deleted(course):
    records, patient, cheek, chin, visits, photos = course
    with pytest.raises(InvalidInput, match="already has an area"):
        records.update_area(DOCTOR, cheek.id, "Chin")
    renamed = records.update_area(DOCTOR, cheek.id, "left cheek scar")
    assert renamed.name == "left cheek scar" and records.get_patient(DOCTOR, patient.id).areas == ["chin", "left cheek scar"]
    assert records.delete_area(DOCTOR, cheek.id) == 3
    assert records.list_photos(DOCTOR, patient.id) == []
    assert records.doctor(ADMIN).healthy
    assert {"update_area", "delete_area"} <= set(_actions(records, patient.id))


# --------------------------------------------------------------------------- the region of interest


def test_a_region_is_checked():
    assert Region.from_dict({"shape": "rectangle", "points": [[0.6, 0.7], [0.2, 0.3]]}).points == ((0.2, 0.3), (0.6, 0.7))
    for bad in ({"shape": "circle", "points": []}, {"shape": "polygon", "points": [[0, 0], [1, 1]]},
                {"shape": "rectangle", "points": [[0.5, 0.5], [0.51, 0.51]]}, {"shape": "polygon", "points": "x"},
                {"shape": "polygon", "points": [[0, 0], [1, "a"], [0, 1]]}, None):  # fmt: skip
        with pytest.raises(RegionError):
            Region.from_dict(bad)
    triangle = Region.from_dict({"shape": "polygon", "points": [[0, 0], [1, 0], [0, 1]]})
    assert triangle.area == pytest.approx(0.5)
    mask = triangle.mask((100, 200))
    assert mask.shape == (100, 200) and 0.45 < mask.mean() < 0.55 and mask[5, 5] and not mask[95, 195]


def test_the_region_is_used_for_the_scores_and_follows_every_follow_up(course):
    records, patient, cheek, _, visits, photos = course
    whole = {p.id: records.get_photo(DOCTOR, p.id).scores for p in photos}
    left = {"shape": "rectangle", "points": [[0.05, 0.05], [0.5, 0.95]]}
    right = {"shape": "polygon", "points": [[0.5, 0.05], [0.95, 0.05], [0.95, 0.95], [0.5, 0.95]]}
    records.set_area_roi(DOCTOR, cheek.id, right)
    right_scores = {p.id: records.get_photo(DOCTOR, p.id).scores for p in photos}
    area = records.set_area_roi(DOCTOR, cheek.id, left)
    assert area.region_active and area.roi["shape"] == "rectangle" and area.roi["photo_id"] == photos[0].id
    left_scores = {p.id: records.get_photo(DOCTOR, p.id).scores for p in photos}
    for p in photos:
        assert left_scores[p.id]["redness"] != whole[p.id]["redness"]
    base = photos[0].id
    assert abs(left_scores[base]["spot_area_pct"] - right_scores[base]["spot_area_pct"]) > 0
    view = records.get_photo(DOCTOR, photos[1].id)
    assert view.region == Region.from_dict(left).digest  # part of the measurement's key (stale caches)
    measured = records.measurement(DOCTOR, photos[1].id)
    assert measured.score.provenance["roi"] != "whole photo" and measured.score.provenance["roi_pixels"] > 0
    assert "set_roi" in _actions(records, patient.id)
    # Cleared: the whole area again.
    records.set_area_roi(DOCTOR, cheek.id, None)
    assert records.get_photo(DOCTOR, photos[1].id).scores == pytest.approx(whole[photos[1].id], nan_ok=True)


def test_the_region_selects_the_same_skin_in_a_moved_follow_up(tmp_path):
    """A follow-up of unchanged skin, taken from further left and turned: aligned onto the baseline,
    the region drawn on the baseline measures the same skin, so its numbers match the baseline's region
    (and not the rest of the photo)."""
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-ROI")
    area = records.add_area(DOCTOR, patient.id, "cheek")
    first = records.add_session(DOCTOR, patient.id, "2026-01-05", "other")
    later = records.add_session(DOCTOR, patient.id, "2026-02-05", "other")
    records.add_photo(DOCTOR, first.id, area.id, SCENE.render(SkinState(), Capture(seed=1)).encoded)
    moved = SCENE.render(SkinState(), Capture(seed=2, shift=(160.0, 60.0), rotation_deg=4.0, scale=1.06)).encoded
    follow_up = records.add_photo(DOCTOR, later.id, area.id, moved)
    by_region = {}
    for name, points in (("left", [[0.15, 0.2], [0.5, 0.8]]), ("right", [[0.5, 0.2], [0.85, 0.8]])):
        records.set_area_roi(DOCTOR, area.id, {"shape": "rectangle", "points": points})
        by_region[name] = [p.scores for p in records.list_photos(DOCTOR, patient.id, area.id)]
    assert records.get_photo(DOCTOR, follow_up.id).status == "scored"
    for metric in ("spot_area_pct", "redness"):
        base_left, follow_left = by_region["left"][0][metric], by_region["left"][1][metric]
        base_right = by_region["right"][0][metric]
        assert abs(base_left - base_right) > 2 * abs(follow_left - base_left), metric
    records.close()


def test_a_region_needs_a_baseline_and_stays_with_the_baseline_it_was_drawn_on(course):
    records, patient, cheek, chin, visits, photos = course
    with pytest.raises(InvalidInput, match="baseline"):
        records.set_area_roi(DOCTOR, chin.id, {"shape": "rectangle", "points": [[0.1, 0.1], [0.9, 0.9]]})
    with pytest.raises(InvalidInput, match="polygon needs"):
        records.set_area_roi(DOCTOR, cheek.id, {"shape": "polygon", "points": [[0.1, 0.1], [0.9, 0.9]]})
    records.set_area_roi(DOCTOR, cheek.id, {"shape": "rectangle", "points": [[0.1, 0.1], [0.6, 0.9]]})
    records.delete_photo(DOCTOR, photos[0].id)  # the baseline goes: the region drawn on it no longer fits
    area = records.list_areas(DOCTOR, patient.id)[0]
    assert area.roi is not None and not area.region_active  # kept for the provider to redraw, not used
    assert records.get_photo(DOCTOR, photos[1].id).region is None


def test_the_region_is_exported_with_the_patient(course, tmp_path):
    import io

    records, patient, cheek, _, visits, photos = course
    records.set_area_roi(DOCTOR, cheek.id, {"shape": "rectangle", "points": [[0.1, 0.1], [0.6, 0.9]]})
    buffer = io.BytesIO()
    records.export_patient_archive(DOCTOR, patient.id, buffer)
    other = Records(tmp_path / "other")
    imported = other.import_patient_archive(DOCTOR, buffer.getvalue())
    area = other.list_areas(DOCTOR, imported.id)[0]
    assert area.region_active and area.roi["points"] == [[0.1, 0.1], [0.6, 0.9]]
    other.close()


def test_region_outline_drawn_on_an_image():
    region = Region.from_dict({"shape": "rectangle", "points": [[0.25, 0.25], [0.75, 0.75]]})
    canvas = np.zeros((200, 200, 3), np.uint8)
    drawn = region.draw(canvas)
    assert drawn[50, 100].any() and not drawn[100, 100].any() and not canvas.any()
