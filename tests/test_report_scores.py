"""The tidy scores table (skintrack/report/scores.py): units, change, noise and verdicts as the engine says."""

from __future__ import annotations

import json
import math

import pytest

from skintrack.measure.metrics import METRIC_NAMES, METRICS
from skintrack.progress import area_progress
from skintrack.records import Actor, PermissionDenied, Records
from skintrack.report import read_table, scores_table, table_bytes, write_table
from skintrack.report.scores import SCORE_COLUMNS
from skintrack.synthetic import Capture, SkinScene, SkinState

from .conftest import REPO

DOCTOR = Actor("Dr Demo")


def test_one_row_per_photo_and_measure_with_units_and_the_engines_verdicts(demo_records):
    records, patient, area = demo_records
    table = scores_table(records, DOCTOR, patient.id)
    photos = records.list_photos(DOCTOR, patient.id)
    assert list(table.columns) == SCORE_COLUMNS
    assert len(table) == len(photos) * len(METRIC_NAMES)
    assert (table["unit"] == table["metric"].map(lambda m: METRICS[m].unit)).all()
    assert (table["patient_code"] == "DEMO-001").all() and (table["provider"] == "Dr Demo").all()
    progress = area_progress(records, DOCTOR, patient.id, area.id)
    for name, metric in progress.metrics.items():
        rows = table[table["metric"] == name].set_index("photo_id")
        for point in metric.points:
            row = rows.loc[point.photo_id]
            assert row["verdict"] == point.label and bool(row["beyond_noise"]) == point.beyond_noise
            assert row["change"] == pytest.approx(point.change) and row["mdc95"] == pytest.approx(metric.mdc95)
            assert row["value"] - row["baseline_value"] == pytest.approx(row["change"])
    first = table[table["session_date"] == "2026-05-04"].iloc[0]
    assert json.loads(first["settings"]) == {"needle_depth_mm": 1.0} and first["treatment"] == "micro-needling"
    baseline_rows = table[table["is_baseline"]]
    measured = baseline_rows["value"].notna()
    assert (baseline_rows[measured]["verdict"] == "baseline").all()
    # The sizes in mm² need a chart or face, which the demo photos lack: not measured, so no verdict.
    assert set(baseline_rows[~measured]["metric"]) == {"red_lesion_mean_mm2", "spot_mean_mm2"}
    assert baseline_rows[~measured]["verdict"].isna().all()


def test_written_through_the_shared_writer_rounded_and_escaped(demo_records, tmp_path):
    records, patient, _ = demo_records
    table = scores_table(records, DOCTOR, patient.id)
    assert any(len(repr(v)) > 10 for v in table["value"])  # the engine's raw floats have meaningless digits
    write_table(table, tmp_path / "scores.csv")
    back = read_table(tmp_path / "scores.csv")
    for column in ("value", "baseline_value", "change", "change_pct", "mdc95"):
        finite = back[column].dropna()
        assert all(float(f"{v:.4g}") == v for v in finite), column
    assert back["verdict"].tolist() == table["verdict"].tolist()
    assert table_bytes(table, "parquet")[:4] == b"PAR1"


def test_the_scores_export_is_for_staff_only(demo_records):
    # An export of the record is a provider's act (logged); patients see their progress in the portal.
    records, patient, _ = demo_records
    assert len(scores_table(records, DOCTOR, patient.id)) > 0
    for actor in (Actor("demo patient", role="patient", patient_id=patient.id),
                  Actor("someone", role="patient", patient_id="other")):  # fmt: skip
        with pytest.raises(PermissionDenied):
            scores_table(records, actor, patient.id)


def test_photos_that_were_not_measured_have_rows_with_the_reason(tmp_path):
    records = Records(tmp_path)
    person = records.add_patient(DOCTOR, "=P-9")
    area = records.add_area(DOCTOR, person.id, "chin")
    first = records.add_session(DOCTOR, person.id, "2026-01-05", "baseline")
    records.add_photo(DOCTOR, first.id, area.id, REPO / "sample_images" / "2026-05-04_left-cheek.jpg")
    other = SkinScene(seed=99, size=(800, 600)).render(SkinState(), Capture(size=(800, 600), seed=99)).encoded
    second = records.add_session(DOCTOR, person.id, "2026-02-05", "laser", settings={"energy_J_cm2": 12})
    records.add_photo(DOCTOR, second.id, area.id, other)
    table = scores_table(records, DOCTOR, person.id)
    follow_up = table[table["session_date"] == "2026-02-05"]
    assert len(follow_up) == len(METRIC_NAMES)
    assert (follow_up["status"] == "not_comparable").all() and follow_up["value"].isna().all()
    assert follow_up["status_reason"].str.contains("Not comparable").all() and follow_up["verdict"].isna().all()
    assert math.isnan(follow_up["change"].iloc[0])
    assert "'=P-9" in table_bytes(table, "csv").decode()  # a code that looks like a formula is escaped
