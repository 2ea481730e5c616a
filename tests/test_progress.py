"""Progress over sessions (skintrack/progress.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from skintrack.comparison.noise import Conditions, verdict
from skintrack.progress import MIN_SPACING_DAYS, area_progress
from skintrack.records import Actor, InvalidInput, Records
from skintrack.synthetic import Capture, SkinScene, SkinState

from .conftest import copy_of_demo

DOCTOR = Actor("Dr Ada")


@pytest.fixture(scope="module")
def demo(demo_folder, tmp_path_factory):
    records = Records(copy_of_demo(demo_folder, tmp_path_factory.mktemp("demo") / "data"))
    patient = records.find_patient(DOCTOR, "DEMO-001")
    area = records.list_areas(DOCTOR, patient.id)[0]
    return records, patient, area


def test_demo_course_reads_as_the_clinic_would_describe_it(demo):
    records, patient, area = demo
    progress = area_progress(records, DOCTOR, patient.id, area.id, today=dt.date(2026, 11, 23))
    redness = progress.metrics["redness"]
    labels = [p.label for p in redness.points]
    assert labels[0] == "baseline"
    assert labels[1] == "expected post-treatment redness"  # 3 days after micro-needling #1
    assert labels[-1] == "improved"
    assert redness.points[1].days_since_treatment == 3
    assert redness.summary.startswith("Redness down ") and "since the first visit" in redness.summary
    assert "more than photo-to-photo variation, an improvement" in redness.summary
    assert redness.best.date == dt.date(2026, 9, 28)
    assert redness.worst.label != "expected post-treatment redness"  # the flush is not counted as worst
    # The spots fade (contrast falls), but by less than re-photographing real skin moves spot contrast
    # (the grey-card band includes the real repeat shots' noise): the verdict must not call it real.
    spots = progress.metrics["spot_contrast"].latest
    assert spots.change < 0 and spots.label == spots.noise and spots.noise in ("within noise", "could be noise")
    assert progress.spacing_warnings == []  # micro-needling every 4 weeks
    assert progress.last_treatment == (dt.date(2026, 6, 29), "micro-needling")
    assert progress.days_since_last_treatment == (dt.date(2026, 11, 23) - dt.date(2026, 6, 29)).days
    ita = progress.metrics["ita"]
    assert ita.best is None and all(p.label in ("baseline", "within noise", "lighter", "darker") for p in ita.points)


def test_changes_within_noise_are_said_to_be(demo):
    records, patient, area = demo
    progress = area_progress(records, DOCTOR, patient.id, area.id, metrics=["evenness", "redness"])
    assert set(progress.metrics) == {"evenness", "redness"}
    photos = {p.id: p for p in records.list_photos(DOCTOR, patient.id, area.id)}
    for name, metric in progress.metrics.items():
        base = metric.points[0]
        for point in metric.points[1:]:
            judged = verdict(name, point.change, Conditions.of_photo(photos[point.photo_id]), before=base.value, after=point.value)
            assert (point.beyond_noise, point.noise, point.mdc95) == (judged.beyond, judged.wording, judged.mdc95)
            if not point.beyond_noise:
                assert point.label == point.noise
        assert metric.mdc95 == metric.points[-1].mdc95


def test_sessions_too_close_together_are_warned_about(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-S")
    area = records.add_area(DOCTOR, patient.id, "forehead")
    for date in ("2026-03-01", "2026-03-11", "2026-04-20"):
        records.add_session(DOCTOR, patient.id, date, "micro-needling")
    progress = area_progress(records, DOCTOR, patient.id, area.id, today=dt.date(2026, 5, 1))
    assert len(progress.spacing_warnings) == 1
    warning = progress.spacing_warnings[0]
    assert warning.days == 10 and warning.minimum_days == MIN_SPACING_DAYS["micro-needling"]
    assert "10 days" in warning.message and "heal" in warning.message
    assert progress.days_since_last_treatment == 11
    relaxed = area_progress(records, DOCTOR, patient.id, area.id, min_spacing_days={"micro-needling": 7})
    assert relaxed.spacing_warnings == []


def test_redness_rising_long_after_treatment_is_worse(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-R")
    area = records.add_area(DOCTOR, patient.id, "cheek")
    scene = SkinScene(seed=31)
    first = records.add_session(DOCTOR, patient.id, "2026-01-10", "laser")
    records.add_photo(DOCTOR, first.id, area.id, scene.render(SkinState(), Capture(seed=1)).encoded)
    later = records.add_session(DOCTOR, patient.id, "2026-03-10", "other")
    records.add_photo(DOCTOR, later.id, area.id, scene.render(SkinState(diffuse_redness=4.0), Capture(seed=2)).encoded)
    redness = area_progress(records, DOCTOR, patient.id, area.id, metrics=["redness"]).metrics["redness"]
    assert redness.points[-1].label == "worse" and redness.points[-1].days_since_treatment == 59
    assert "a worsening" in redness.summary and redness.summary.startswith("Redness up ")
    # The same rise 5 days after the laser would be expected inflammation.
    soon = area_progress(records, DOCTOR, patient.id, area.id, metrics=["redness"], inflammation_days={"laser": 60})
    assert soon.metrics["redness"].points[-1].label == "expected post-treatment redness"


def test_unknown_metric_or_foreign_area_is_refused(demo, tmp_path):
    records, patient, area = demo
    with pytest.raises(InvalidInput, match="Unknown metric"):
        area_progress(records, DOCTOR, patient.id, area.id, metrics=["sparkle"])
    other = records.add_patient(DOCTOR, "P-OTHER")
    with pytest.raises(InvalidInput):
        area_progress(records, DOCTOR, other.id, area.id)


def test_no_photos_yet(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-E")
    area = records.add_area(DOCTOR, patient.id, "neck")
    progress = area_progress(records, DOCTOR, patient.id, area.id)
    assert progress.metrics["redness"].points == [] and "no measurement" in progress.metrics["redness"].summary
    json.dumps([w.message for w in progress.spacing_warnings])


def test_treatment_marks_come_from_the_charted_areas_sessions_only(tmp_path):
    """Issue 14, item 8: a laser session of the forehead is not drawn on the cheek's charts."""
    scene = SkinScene(seed=3)
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-AREAS")
    cheek = records.add_area(DOCTOR, patient.id, "cheek")
    forehead = records.add_area(DOCTOR, patient.id, "forehead")
    first = records.add_session(DOCTOR, patient.id, "2026-01-10", "micro-needling")
    records.add_photo(DOCTOR, first.id, cheek.id, render_jpeg(scene, 1))
    laser = records.add_session(DOCTOR, patient.id, "2026-02-10", "laser")
    records.add_photo(DOCTOR, laser.id, forehead.id, render_jpeg(scene, 2))
    progress = area_progress(records, DOCTOR, patient.id, cheek.id, metrics=["redness"])
    assert progress.treatments == [(dt.date(2026, 1, 10), "micro-needling")]
    assert progress.goal[:2] == ("texture_roughness", "line_density")  # micro-needling: texture and lines first
    assert area_progress(records, DOCTOR, patient.id, forehead.id).goal[0] in ("spot_area_pct", "redness")


def test_goal_measures_follow_the_treatment():
    from skintrack.progress import DEFAULT_GOAL_MEASURES, goal_measures

    day = dt.date(2026, 1, 1)
    assert goal_measures([(day, "peel")])[:2] == ("redness", "spot_area_pct")  # redness and spots after a peel
    assert set(goal_measures([(day, "micro-needling")])[:2]) == {"texture_roughness", "line_density"}
    assert goal_measures([]) == DEFAULT_GOAL_MEASURES
    # The most frequent treatment decides.
    assert goal_measures([(day, "peel"), (day.replace(month=2), "RF"), (day.replace(month=3), "RF")])[0] == "texture_roughness"


def render_jpeg(scene, seed):
    return scene.render(SkinState(), Capture(seed=seed)).encoded


def test_a_follow_up_showing_part_of_the_baseline_is_compared_over_that_part(tmp_path):
    """Issue 20: a follow-up framed on part of the baseline's skin (here the same skin cut to its left 60 %) is
    compared with the baseline over that part: the stored photo keeps those figures, the progress point,
    compare_pair and the sentence read them (the whole baseline had spots the follow-up cannot show)."""
    import cv2
    import numpy as np

    from skintrack import load_photo
    from skintrack.progress import compare_pair
    from skintrack.wording import change_sentence, format_value

    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-O")
    area = records.add_area(DOCTOR, patient.id, "cheek")
    photo = SkinScene(seed=11).render(SkinState(spot_contrast=10.0), Capture(seed=1, size=(800, 600))).encoded
    first = records.add_session(DOCTOR, patient.id, "2026-01-10", "baseline")
    base = records.add_photo(DOCTOR, first.id, area.id, photo)
    rgb = load_photo(photo).rgb
    later = records.add_session(DOCTOR, patient.id, "2026-03-10", "other")
    cut = np.ascontiguousarray(rgb[:, : int(rgb.shape[1] * 0.6), ::-1])
    part = records.add_photo(DOCTOR, later.id, area.id, cv2.imencode(".png", cut)[1].tobytes())
    assert part.status == "scored", part.status_reason
    assert part.baseline_on_overlap["skin_left_out_pct"] > 10
    shown = 100 - part.baseline_on_overlap["skin_left_out_pct"]
    assert part.partly_measured == (f"This photo shows {shown:.0f} % of the baseline's skin: its changes are "
                                    "measured against the baseline over that part only.")  # fmt: skip
    assert base.partly_measured == ""
    overlap = part.compared_with
    assert overlap["spot_count"] == part.scores["spot_count"] != base.scores["spot_count"]

    progress = area_progress(records, DOCTOR, patient.id, area.id)
    spots = progress.metrics["spot_count"]
    point = spots.points[-1]
    assert point.compared_with == overlap["spot_count"] and point.change == 0 and point.noise == "within noise"
    assert point.skin_left_out_pct == part.baseline_on_overlap["skin_left_out_pct"]
    assert spots.points[0].compared_with == spots.points[0].value == base.scores["spot_count"]
    said = change_sentence(spots)
    assert f"({format_value('spot_count', overlap['spot_count'])} over the part both photos show → " in said, said
    pair = compare_pair(base, part)["spot_count"]
    assert (pair.before, pair.after, pair.change) == (overlap["spot_count"], part.scores["spot_count"], 0)
    # Between two follow-ups (or photos filed against another baseline) the stored scores are compared as they are.
    assert compare_pair(part, part)["spot_count"].before == part.scores["spot_count"]
