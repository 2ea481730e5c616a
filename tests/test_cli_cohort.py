"""``skintrack cohort`` and ``skintrack load-demo --cohort`` (skintrack/cli_cohort.py, skintrack/cli.py)."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from skintrack.cli import main
from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records

from .conftest import copy_of_demo

ADMIN = Actor("cli test set-up", role="admin")


def test_cohort_writes_the_table_its_dictionary_and_the_estimates(cohort_folder, tmp_path):
    data = str(copy_of_demo(cohort_folder, tmp_path / "data"))
    result = CliRunner().invoke(main, ["cohort", "--data", data, "-o", str(tmp_path / "out" / "cohort.parquet"),
                                       "--effects", str(tmp_path / "out" / "effects.csv"), "--by", "setting",
                                       "--protocol", "laser=4-8w"])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "out" / "cohort.parquet")
    # Sizes in mm² need a chart or a face, which the simulated photos lack: no rows for them.
    measured = [name for name in METRIC_NAMES if not name.endswith("_mean_mm2")]
    assert len(table) == 10 * 3 * len(measured) and table["patient"].nunique() == 10
    dictionary = json.loads((tmp_path / "out" / "cohort.dictionary.json").read_text(encoding="utf-8"))
    assert dictionary["provenance"]["protocols"]["laser"] == [28, 56]
    effects = pd.read_csv(tmp_path / "out" / "effects.csv")
    assert set(effects["by"]) == {"setting"}
    groups = effects[effects["kind"] == "group"]
    assert set(groups["term"]) == {"micro-needling · needle depth 1.5-2 mm", "laser · fluence 10-20 J/cm²"}
    assert groups["estimate"].notna().all() and (groups["n_patients"] == 5).all()
    assert "10 patients" in result.output and "courses spaced within" in result.output


def test_cohort_refuses_a_patient_account_and_bad_options(cohort_folder, tmp_path):
    data = copy_of_demo(cohort_folder, tmp_path / "data")
    records = Records(data)
    own = records.find_patient(ADMIN, "SIM-001")
    records.add_user(ADMIN, "sim-one", "patient-password-1", role="patient", patient_id=own.id)
    records.close()
    runner = CliRunner()
    out = tmp_path / "c.parquet"
    for args, words in (
        (["--user", "sim-one", "-o", str(out)], "may not list patients"),
        (["-o", str(out), "--protocol", "laser=six weeks"], "TREATMENT=MIN-MAX"),
        (["-o", str(out), "--protocol", "laser=40-20"], "min_days <= max_days"),
        (["-o", str(tmp_path / "c.xlsx")], ".csv or .parquet"),
        ([], "Give --output"),
        (["-o", str(out), "--patient", "NOPE"], "No patient with code"),
    ):
        result = runner.invoke(main, ["cohort", "--data", str(data), *args])
        assert result.exit_code != 0 and words in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not out.exists()


def test_load_demo_cohort_loads_the_simulated_clinic_once(demo_folder, tmp_path, monkeypatch):
    from skintrack.cohort import demo

    monkeypatch.setattr(demo, "DEMO_PATIENTS", 2)  # the real clinic is 40 patients (bench/cohort_bench.py)
    monkeypatch.setattr(demo, "DEMO_VISITS", 2)
    data = str(copy_of_demo(demo_folder, tmp_path / "data"))  # the demo patients are there already
    runner = CliRunner()
    result = runner.invoke(main, ["load-demo", "--data", data, "--cohort", "--no-accounts"])
    assert result.exit_code == 0, result.output
    assert "demo clinic: 2 simulated patients loaded (4 photos measured in" in result.output
    again = runner.invoke(main, ["load-demo", "--data", data, "--cohort", "--no-accounts"])
    assert "0 simulated patients loaded" in again.output and "2 already there" in again.output
    records = Records(data)
    codes = {p.code for p in records.list_patients(ADMIN)}
    assert {"SIM-001", "SIM-002", "DEMO-001"} <= codes
    sim = records.find_patient(ADMIN, "SIM-001")
    photos = records.list_photos(ADMIN, sim.id)
    assert [p.status for p in photos] == ["scored", "scored"]  # measured by the engine, through add_photo
    records.close()
