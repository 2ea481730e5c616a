"""skintrack.cohort.table: the cohort table from photos in records, read through the service as the user.

``cohort_folder`` (conftest) is a small demo clinic: 10 simulated patients whose photos were rendered by
skintrack.synthetic with a known treatment effect and measured by the engine through Records.add_photo.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from skintrack.cohort import (  # fmt: skip
    PROTOCOLS,
    build_cohort_table,
    data_dictionary,
    fit_cohort,
    patient_rows,
    write_cohort,
)
from skintrack.cohort.demo import GROUPS, demo_plan, demo_truth, is_simulated
from skintrack.cohort.dictionary import COLUMNS, ITA_GROUPS
from skintrack.cohort.summary import dictionary_path
from skintrack.cohort.table import BASE_COLUMNS, setting_label
from skintrack.measure.metrics import METRIC_NAMES, METRICS
from skintrack.progress import area_progress
from skintrack.records import Actor, InvalidInput, PermissionDenied, Records

from .conftest import REAL_PHOTOS, REPO, copy_of_demo

#: The measures the simulated cohort's photos give: sizes in mm² need a chart or face, which they lack
#: (a row is a measured value, so those have none).
MEASURED = tuple(name for name in METRIC_NAMES if not name.endswith("_mean_mm2"))

STAFF = Actor("Dr Cohort", role="provider")


@pytest.fixture(scope="module")
def cohort(cohort_folder, tmp_path_factory):
    records = Records(copy_of_demo(cohort_folder, tmp_path_factory.mktemp("cohort-table") / "data"))
    yield records, build_cohort_table(records, STAFF)
    records.close()


def test_one_row_per_patient_area_measure_and_visit(cohort):
    records, table = cohort
    assert len(table) == 10 * 3 * len(MEASURED) and set(table["measure"]) == set(MEASURED)
    assert not table.duplicated(["patient", "area", "view", "measure", "visit_date"]).any()
    assert list(table.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert set(table["patient"]) == {f"SIM-{i:03d}" for i in range(1, 11)}
    assert table.attrs["engine_version"] and table.attrs["patients"] == 10 and table.attrs["built_by"] == "Dr Cohort"


def test_the_numbers_are_the_progress_pages(cohort):
    """Values, changes, noise bands, verdicts and labels are area_progress's, row for row."""
    records, table = cohort
    for patient in records.list_patients(STAFF):
        area = records.list_areas(STAFF, patient.id)[0]
        progress = area_progress(records, STAFF, patient.id, area.id)
        for name, metric in progress.metrics.items():
            rows = table[(table["patient"] == patient.code) & (table["measure"] == name)].sort_values("visit_date")
            assert len(rows) == len(metric.points)
            for row, point in zip(rows.itertuples(), metric.points):
                assert row.value == point.value and row.change == point.change and row.label == point.label
                assert row.noise == point.noise and row.beyond_noise == point.beyond_noise
                assert row.mdc95 == point.mdc95 or (math.isnan(row.mdc95) and math.isnan(point.mdc95))
                assert row.unit == METRICS[name].unit and row.better == (METRICS[name].better or "")


def test_course_columns(cohort):
    records, table = cohort
    plan = {p.code: p for p in demo_plan(10, 3, groups=(GROUPS[1], GROUPS[2]))}
    for code, rows in table[table["measure"] == "redness"].groupby("patient"):
        rows = rows.sort_values("visit_date")
        course = plan[code]
        dates = [v.date for v in course.visits]
        assert [d.date() for d in rows["visit_date"]] == dates
        assert list(rows["visit_number"]) == [1, 2, 3]
        assert list(rows["treatments_before"]) == [0, 1, 2]
        assert list(rows["session_number"].astype("float").fillna(0)) == [1, 2, 0]  # the check-up gave no treatment
        assert list(rows["visit_treatment"]) == [course.group.treatment, course.group.treatment, "other"]
        assert list(rows["days_since_baseline"]) == [(d - dates[0]).days for d in dates]
        assert rows["days_since_previous_visit"].iloc[1] == (dates[1] - dates[0]).days
        assert rows["days_since_last_treatment"].iloc[2] == (dates[2] - dates[1]).days
        assert (rows["treatment"] == course.group.treatment).all()
        spacing = (dates[1] - dates[0]).days
        assert (rows["course_spacing_days"] == spacing).all()
        assert bool(rows["within_protocol"].iloc[0]) == PROTOCOLS[course.group.treatment].allows(spacing)
        key, value = next(iter(course.group.settings.items()))
        assert (rows["setting_bin"] == setting_label(key, value, {"needle_depth_mm": (0.5, 1.0, 1.5, 2.0, 2.5),
                                                                     "fluence_J_cm2": (5, 10, 20, 40)}[key])).all()
        assert (rows[f"setting_{key}"] == value).all()
        assert (rows["fitzpatrick"] == course.fitzpatrick).all()
        age = dates[0].year - course.birth_year
        band = "60+" if age >= 60 else "under 30" if age < 30 else f"{age // 10 * 10}-{age // 10 * 10 + 9}"
        assert (rows["age_band"] == band).all()
        assert not rows["healing"].any()  # every photo is taken before the day's treatment, weeks after the last
    ita = table[table["measure"] == "ita"]
    baseline_ita = ita[ita["visit_number"] == 1].set_index("patient")["value"]
    for code, group in table.groupby("patient"):
        value = baseline_ita[code]
        expected = next(name for low, name in ITA_GROUPS if value >= low)
        assert (group["ita_group"] == expected).all() and (group["baseline_ita"] == value).all()


def test_improvement_is_signed_by_the_measures_direction(cohort):
    _, table = cohort
    lower = table[table["better"] == "lower"]
    assert np.allclose(lower["improvement"], -lower["change"])
    assert table[table["measure"] == "ita"]["improvement"].isna().all()
    assert table[table["measure"] == "ita"]["change_pct"].isna().all()  # an angle has no %
    assert (table[table["visit_number"] == 1]["change"] == 0).all()


def test_columns_and_the_dictionary_agree(cohort):
    _, table = cohort
    described = [c for c, *_ in COLUMNS]
    settings = [c for c in table.columns if c.startswith("setting_") and c != "setting_bin"]
    assert set(settings) == {"setting_fluence_J_cm2", "setting_needle_depth_mm"}
    assert [c for c in table.columns if c not in settings] == [c for c in described if c != "setting_*"]
    measures = {m["measure"]: m for m in data_dictionary()["measures"]}
    assert set(measures) == set(METRIC_NAMES)
    for name, info in METRICS.items():  # units and directions are the engine's, not a second copy
        assert measures[name]["unit"] == info.unit and measures[name]["better"] == (info.better or "")
        assert info.description in measures[name]["definition"]


def test_the_known_effects_are_found_from_the_photos(cohort):
    """End to end: rendered photos with a known effect → records → table → model. Laser fades the spots
    (spot ΔL* −1.6 per session) and micro-needling at 1.5 mm smooths the skin (roughness −0.09): the
    engine's measurements, not the simulator's truth, must show both."""
    _, table = cohort
    truth = demo_truth(demo_plan(10, 3, groups=(GROUPS[1], GROUPS[2])))
    laser = "laser · fluence 10-20 J/cm²"
    needling = "micro-needling · needle depth 1.5-2 mm"
    assert truth[laser]["spot_contrast"] < 0 and truth[needling]["roughness"] < 0
    models = {m.measure: m for m in fit_cohort(table, by="setting")}
    found = {(e.measure, e.term): e for m in models.values() for e in m.estimates}
    assert found[("spot_contrast", laser)].n_patients == 5
    assert found[("spot_contrast", laser)].estimate < min(0.0, found[("spot_contrast", needling)].estimate)
    assert found[("texture_roughness", needling)].verdict == "improves"
    assert found[("texture_roughness", needling)].estimate < found[("texture_roughness", laser)].estimate
    last = table[(table["visit_number"] == 3) & (table["treatment"] == "laser") & (table["measure"] == "spot_contrast")]
    assert (last["change"] < 0).sum() >= 4  # the laser patients' spots faded (one may drown in photo noise)


def test_a_patient_account_sees_none_of_it(cohort):
    records, _ = cohort
    own = records.find_patient(STAFF, "SIM-001")
    patient = Actor("Simulated patient 1", role="patient", patient_id=own.id)
    with pytest.raises(PermissionDenied):
        build_cohort_table(records, patient)
    with pytest.raises(PermissionDenied):
        build_cohort_table(records, patient, patients=["SIM-001"])  # not even their own record, as a cohort
    with pytest.raises(PermissionDenied):
        build_cohort_table(records, Actor("", role="provider"))
    denied = [e for e in records.audit_log(Actor("auditor", role="admin"), action="permission_denied")
              if e.actor == "Simulated patient 1"]  # fmt: skip
    assert denied and not [e for e in records.audit_log(Actor("auditor", role="admin"), action="view_patient")
                           if e.actor == "Simulated patient 1"]  # fmt: skip


def test_every_patient_is_read_as_the_user_and_audited(cohort):
    records, _ = cohort
    reader = Actor("Dr Audit", role="provider")
    build_cohort_table(records, reader)
    viewed = {e.patient_code for e in records.audit_log(Actor("auditor", role="admin"), action="view_patient")
              if e.actor == "Dr Audit"}  # fmt: skip
    assert viewed == {f"SIM-{i:03d}" for i in range(1, 11)}


def test_bad_options_are_clear_errors(cohort):
    records, _ = cohort
    with pytest.raises(InvalidInput, match="Unknown measure"):
        build_cohort_table(records, STAFF, metrics=["shine"])
    with pytest.raises(InvalidInput, match="No patient with code"):
        build_cohort_table(records, STAFF, patients=["NOPE"])
    with pytest.raises(InvalidInput, match="consent"):
        build_cohort_table(records, STAFF, consent="record")
    only = build_cohort_table(records, STAFF, patients=["SIM-002"], metrics=["redness", "spot_area_pct"])
    assert set(only["patient"]) == {"SIM-002"} and set(only["measure"]) == {"redness", "spot_area_pct"}


def test_consent_filter_and_withdrawn_photos(cohort_folder, tmp_path):
    records = Records(copy_of_demo(cohort_folder, tmp_path / "data"))
    try:
        plan = {p.code: p.consent for p in demo_plan(10, 3, groups=(GROUPS[1], GROUPS[2]))}
        teaching = build_cohort_table(records, STAFF, consent="teaching")
        assert set(teaching["patient"]) == {c for c, level in plan.items() if level in ("teaching", "publication")}
        publication = build_cohort_table(records, STAFF, consent="publication")
        assert set(publication["patient"]) == {c for c, level in plan.items() if level == "publication"}
        # Withdrawn: a follow-up's rows leave every analysis; a withdrawn baseline takes its whole area.
        follow_up_of = records.find_patient(STAFF, "SIM-003")
        baseline_of = records.find_patient(STAFF, "SIM-005")
        photos = records.list_photos(STAFF, follow_up_of.id)
        records.set_consent(STAFF, photos[-1].id, withdrawn=True)
        base = next(p for p in records.list_photos(STAFF, baseline_of.id) if p.is_baseline)
        records.set_consent(STAFF, base.id, withdrawn=True)
        table = build_cohort_table(records, STAFF)
        assert len(table[table["patient"] == "SIM-003"]) == 2 * len(MEASURED)
        assert photos[-1].original_sha256 not in set(table["photo_sha256"])
        assert "SIM-005" not in set(table["patient"])
    finally:
        records.close()


def test_protocols_change_who_kept_to_them(cohort):
    records, table = cohort
    strict = build_cohort_table(records, STAFF, protocols={"laser": (28, 30), "micro-needling": (28, 30)})
    spacing = strict.groupby("patient")["course_spacing_days"].first()
    within = strict.groupby("patient")["within_protocol"].first()
    for code, days in spacing.items():
        assert bool(within[code]) == (28 <= days <= 30)
    assert strict.attrs["protocols"]["laser"] == [28, 30]
    assert within.sum() < table.groupby("patient")["within_protocol"].first().sum()


def test_write_cohort_writes_parquet_and_its_dictionary(cohort, tmp_path):
    _, table = cohort
    dictionary = write_cohort(table, tmp_path / "cohort.parquet")
    assert dictionary == dictionary_path(tmp_path / "cohort.parquet") == tmp_path / "cohort.dictionary.json"
    back = pd.read_parquet(tmp_path / "cohort.parquet")
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    written = json.loads(dictionary.read_text(encoding="utf-8"))
    assert written["provenance"]["engine_version"] == table.attrs["engine_version"]
    assert {c["column"] for c in written["columns"]} >= set(BASE_COLUMNS)
    assert {m["measure"]: m["unit"] for m in written["measures"]} == {n: i.unit for n, i in METRICS.items()}
    write_cohort(table, tmp_path / "cohort.csv")
    assert len(pd.read_csv(tmp_path / "cohort.csv")) == len(table)


def test_the_table_builds_on_a_dask_cluster(cohort):
    distributed = pytest.importorskip("dask.distributed")
    records, table = cohort
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = build_cohort_table(records, STAFF, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(remote, table)


def test_an_unreachable_scheduler_is_a_clear_error(cohort, monkeypatch):
    import skintrack.batch

    records, _ = cohort
    monkeypatch.setattr(skintrack.batch, "DASK_CONNECT_TIMEOUT_S", 1)  # nobody listens: no need to wait 10 s
    with pytest.raises(ConnectionError, match="Cannot reach the Dask scheduler"):
        build_cohort_table(records, STAFF, scheduler="tcp://127.0.0.1:9")


def test_simulated_patients_are_labelled(cohort):
    records, _ = cohort
    patients = records.list_patients(STAFF)
    assert all(is_simulated(p) for p in patients)
    assert all("Simulated patient" in p.display_name and "Not a real person" in p.notes for p in patients)
    for session in records.list_sessions(STAFF, patients[0].id):
        assert "Simulated visit" in session.notes


def test_setting_labels():
    edges = (0.5, 1.0, 1.5, 2.0, 2.5)
    assert setting_label("needle_depth_mm", 1.0, edges) == "needle depth 1-1.5 mm"
    assert setting_label("needle_depth_mm", 0.25, edges) == "needle depth < 0.5 mm"
    assert setting_label("needle_depth_mm", 3.0, edges) == "needle depth ≥ 2.5 mm"
    assert setting_label("fluence_J_cm2", 15, (5, 10, 20, 40)) == "fluence 10-20 J/cm²"
    assert setting_label("pulse_width", 3, None) == "pulse width 3"


@pytest.mark.slow
def test_real_photos_through_the_records_to_the_table(tmp_path):
    """Real repeat shots (PAD-UFES-20: untreated skin photographed twice) as two visits of a patient each:
    the table holds exactly the stored scores, and no change of untreated skin is "beyond noise"."""
    from skintrack.comparison.repeatability import real_pairs

    pairs = real_pairs(REAL_PHOTOS)
    if not pairs:
        pytest.skip(f"{REAL_PHOTOS} not available")
    records = Records(tmp_path / "data")
    try:
        chosen = pairs[:4] + [p for p in pairs if p[0] == "PAT_417_828"]
        for number, (pair, first, second) in enumerate(chosen):
            patient = records.add_patient(STAFF, f"REAL-{number}", fitzpatrick=3)
            area = records.add_area(STAFF, patient.id, "lesion")
            for day, path in (("2026-01-05", first), ("2026-02-09", second)):
                session = records.add_session(STAFF, patient.id, day, "other")
                records.add_photo(STAFF, session.id, area.id, path)
        table = build_cohort_table(records, STAFF)
        assert set(table["patient"]) <= {f"REAL-{n}" for n in range(len(chosen))}
        for patient in records.list_patients(STAFF):
            for photo in records.list_photos(STAFF, patient.id):
                rows = table[table["photo_sha256"] == photo.original_sha256]
                if photo.status != "scored":
                    assert rows.empty  # not comparable: no numbers, never numbers from a misaligned pair
                    continue
                measured = {n: v for n, v in photo.scores.items() if math.isfinite(v)}
                assert dict(zip(rows["measure"], rows["value"])) == measured
        follow_ups = table[table["visit_number"] == 2]
        assert len(follow_ups) > 0
        assert not follow_ups["beyond_noise"].any()
        assert set(follow_ups["treatment"]) == {"none"} and (follow_ups["treatments_before"] == 0).all()
    finally:
        records.close()


def test_patient_rows_refuse_another_patients_account(cohort):
    records, _ = cohort
    own = records.find_patient(STAFF, "SIM-001")
    other = records.find_patient(STAFF, "SIM-002")
    with pytest.raises(PermissionDenied):
        patient_rows(records, Actor("p", role="patient", patient_id=own.id), other.id)


def test_readme_holds_the_data_dictionary():
    from skintrack.cohort import dictionary_markdown

    assert dictionary_markdown() in (REPO / "README.md").read_text(encoding="utf-8")


def test_demo_clinic_size():
    plans = demo_plan()
    assert len(plans) == 40 and all(len(p.visits) == 6 for p in plans)
    assert {p.group.treatment for p in plans} == {"micro-needling", "laser", "peel"}
    assert len({(p.group.treatment, tuple(p.group.settings.items())) for p in plans}) == 4
    outside = sum(not PROTOCOLS[p.group.treatment].allows((p.visits[1].date - p.visits[0].date).days) for p in plans)
    assert 4 <= outside <= 20  # about one course in four spaced outside its protocol
    assert max(v.date for p in plans for v in p.visits) < dt.date.today()
