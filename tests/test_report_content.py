"""What a report shows (skintrack/report/content.py): one area's photos, sessions and measurements."""

from __future__ import annotations

import pytest

from skintrack.records import Actor, Records
from skintrack.report.content import gather

from .conftest import REPO

DOCTOR = Actor("Dr Demo")
SAMPLES = REPO / "sample_images"


@pytest.fixture(scope="module")
def two_areas(tmp_path_factory):
    """One patient, two visits, two areas photographed at each (four different photos)."""
    records = Records(tmp_path_factory.mktemp("two-areas"))
    person = records.add_patient(DOCTOR, "P-2A")
    cheek = records.add_area(DOCTOR, person.id, "left cheek")
    forehead = records.add_area(DOCTOR, person.id, "forehead")
    photos = {cheek.id: [], forehead.id: []}
    visits = (
        ("2026-05-04", "2026-05-04_left-cheek.jpg", "2026-05-07_left-cheek.jpg"),
        ("2026-06-01", "2026-06-01_left-cheek.jpg", "2026-06-29_left-cheek.jpg"),
    )
    for date, cheek_photo, forehead_photo in visits:
        visit = records.add_session(DOCTOR, person.id, date, "micro-needling")
        photos[cheek.id].append(records.add_photo(DOCTOR, visit.id, cheek.id, SAMPLES / cheek_photo).id)
        photos[forehead.id].append(records.add_photo(DOCTOR, visit.id, forehead.id, SAMPLES / forehead_photo).id)
    yield records, person, (cheek, forehead), photos
    records.close()


def test_an_areas_report_holds_only_that_areas_photos(two_areas):
    """The report of one area shows, lists and describes that area's photos, never another area's taken at
    the same visits."""
    records, person, areas, photos = two_areas
    for area in areas:
        content = gather(records, DOCTOR, person.id, area.id, sessions="all")
        own = set(photos[area.id])
        frames = [content.baseline, content.latest, *content.series]
        assert all(frame is not None for frame in frames)
        assert {frame.photo.id for frame in frames} == own  # baseline, latest and every session: this area's
        assert len(content.series) == 2
        assert {entry.photo.id for entry in content.log if entry.photo} == own
        assert content.measured_photos and {photo.id for photo in content.measured_photos} <= own
        assert all(frame.photo.area_id == area.id for frame in frames)
