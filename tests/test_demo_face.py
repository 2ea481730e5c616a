"""The second demo patient, a simulated course on a real face (tools/demo_face.py), tracked by zone."""

from __future__ import annotations

import json
import math

import pytest

from skintrack.comparison.compare import zone_of
from skintrack.records import Actor, Records

from .conftest import REPO, copy_of_demo

FOLDER = REPO / "sample_images" / "demo-002"
MANIFEST = json.loads((FOLDER / "manifest.json").read_text())
PROVIDER = Actor("dr test", role="provider")


def test_the_course_is_committed_and_labelled_simulated():
    assert MANIFEST["simulated_course"] is True
    assert "simulated course" in MANIFEST["patient"]["display_name"]
    assert "public domain" in MANIFEST["source"]
    for session in MANIFEST["sessions"]:
        assert (FOLDER / session["file"]).stat().st_size > 50_000
        assert session["notes"].startswith("Simulated course")
    flush = [s["simulated"]["flush"] for s in MANIFEST["sessions"]]
    spots = [s["simulated"]["spot_contrast"] for s in MANIFEST["sessions"]]
    assert flush[1] == max(flush) and flush[-1] < flush[1]  # a flush that recedes
    assert spots == sorted(spots, reverse=True) and spots[-1] < spots[0]  # spots that fade


def test_area_names_map_to_zones():
    assert zone_of("left cheek") == "left_cheek"
    assert zone_of("Left  Cheek") == "left_cheek"
    assert zone_of("forehead") == "forehead"
    assert zone_of("back") is None and zone_of(None) is None


@pytest.fixture(scope="module")
def loaded(demo_folder, tmp_path_factory):
    records = Records(copy_of_demo(demo_folder, tmp_path_factory.mktemp("demo-002") / "data"))
    patients = {p.code: p for p in records.list_patients(PROVIDER)}
    return records, patients


def test_both_demo_patients_load_and_the_face_is_tracked_by_zone(loaded):
    records, patients = loaded
    assert set(patients) == {"DEMO-001", "DEMO-002"}
    face = patients["DEMO-002"]
    areas = {a.name for a in records.list_areas(PROVIDER, face.id)}
    assert areas == {"forehead", "left cheek", "right cheek", "nose", "chin"}
    rows = records.scores_table(PROVIDER, face.id)
    assert len(rows) == 25 and all(r["status"] == "scored" for r in rows)
    cheek = [r for r in rows if r["area"] == "left cheek"]
    redness = [r["redness"] for r in cheek]
    # The simulated flush (+7 a* at its strongest on the cheeks) shows 3 days after needling, then recedes.
    assert redness[1] - redness[0] > 4.0
    assert abs(redness[-1] - redness[0]) < 1.5
    photo = records.list_photos(PROVIDER, face.id)[0]
    assert records.measurement(PROVIDER, photo.id).score.provenance["zone"] is not None


def test_the_close_up_demo_is_still_measured_whole(loaded):
    records, patients = loaded
    rows = records.scores_table(PROVIDER, patients["DEMO-001"].id)
    assert len(rows) == 6 and all(r["status"] == "scored" and math.isfinite(r["redness"]) for r in rows)
    photo = records.list_photos(PROVIDER, patients["DEMO-001"].id)[0]
    assert records.measurement(PROVIDER, photo.id).score.provenance["zone"] is None
