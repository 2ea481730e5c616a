"""One region type, one rasteriser (issue 23, item 2): skintrack/measure/roi.py's Region and rasterise are what
scoring, compare() and the records use, so a region selects the same pixels through every door."""

from __future__ import annotations

import numpy as np
import pytest

from skintrack import score
from skintrack.comparison.compare import compare, measure_baseline, roi_mask
from skintrack.measure.roi import Region, rasterise, roi_hash
from skintrack.records import Actor, Records

from .conftest import REPO

BASELINE = REPO / "sample_images" / "2026-05-04_left-cheek.jpg"
FOLLOW_UP = REPO / "sample_images" / "2026-06-01_left-cheek.jpg"
POLYGON = {"shape": "polygon", "points": [[0.2, 0.15], [0.8, 0.25], [0.7, 0.85], [0.25, 0.7], [0.15, 0.4]]}
T = Actor("test")


def test_a_polygon_gives_the_same_mask_through_every_door(tmp_path):
    region = Region.from_dict(POLYGON)
    as_list = [list(point) for point in region.points]
    measured = measure_baseline(BASELINE, roi=region)
    shape = measured.photo.rgb.shape[:2]
    want = region.mask(shape)
    assert 0.2 < want.mean() < 0.6

    # compare(): the Region, its dict and its points as a polygon are one region, one mask, one hash
    for roi in (region, POLYGON, as_list):
        assert np.array_equal(measure_baseline(BASELINE, roi=roi).baseline.roi_mask, want)
        assert roi_hash(roi) == roi_hash(region)
    assert np.array_equal(roi_mask(as_list, measured.photo.size, measured.photo.size), want)
    later = compare(measured, FOLLOW_UP)
    assert later.scored and later.provenance["roi"] == {"kind": "polygon", "sha256": roi_hash(region)}
    assert later.score.provenance["roi_sha256"] == roi_hash(want & later.alignment.coverage)  # the mask it measured

    # score(): the same rasteriser at the working size, whether given the Region or its polygon
    working = score(BASELINE, roi=region)
    rows, columns = working.maps["skin"].shape
    assert working.provenance["roi_pixels"] == int(region.mask((rows, columns)).sum())
    assert np.array_equal(score(BASELINE, roi=as_list).maps["skin"], working.maps["skin"])
    assert np.array_equal(rasterise(region, (rows, columns), (1, 1)), region.mask((rows, columns)))

    # the records: the area's region, drawn on its baseline, is that mask and gives those numbers
    records = Records(tmp_path / "records")
    try:
        patient = records.add_patient(T, "P-ROI")
        area = records.add_area(T, patient.id, "scar")
        stored = []
        for photo, date in ((BASELINE, "2026-05-04"), (FOLLOW_UP, "2026-06-01")):
            session = records.add_session(T, patient.id, date, "micro-needling")
            stored.append(records.add_photo(T, session.id, area.id, photo.read_bytes()))
        records.set_area_roi(T, area.id, POLYGON)
        assert np.array_equal(records.measurement(T, stored[0].id).comparison.baseline.roi_mask, want)
        assert records.get_photo(T, stored[0].id).scores == pytest.approx(measured.score.metrics, rel=0, abs=0, nan_ok=True)
        assert records.get_photo(T, stored[1].id).scores == pytest.approx(later.score.metrics, rel=0, abs=0, nan_ok=True)
    finally:
        records.close()


def test_a_rectangle_in_pixels_is_a_region_in_fractions():
    region = Region.of((200, 300, 500, 400), (1600, 1200))
    assert region.shape == "rectangle" and region.points == ((0.125, 0.25), (0.4375, 7 / 12))
    assert np.array_equal(rasterise((200, 300, 500, 400), (600, 800), (1600, 1200)), region.mask((600, 800)))
    assert Region.of((-50, -50, 100, 100), (100, 100)).points == ((0.0, 0.0), (0.5, 0.5))  # clipped to the photo
    for bad in ((1, 2, 3), (0, 0, -5, 10), [[0.1, 0.1], [1.5, 0.2], [0.3, 0.9]], "face"):
        with pytest.raises(ValueError):
            Region.of(bad, (100, 100))
    with pytest.raises(ValueError, match="no pixel"):
        rasterise((500, 500, 10, 10), (100, 100), (100, 100))
    assert rasterise(None, (10, 10), (10, 10)) is None
