"""The Outcomes page (skintrack_app/pages/outcomes.py) through Streamlit's AppTest.

``cohort_folder`` (conftest) is a small simulated demo clinic: 5 patients with micro-needling at 1.5 mm,
5 with laser, 3 visits each, photos measured by the engine.
"""

from __future__ import annotations

import pytest

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records

from .conftest import REPO, copy_of_demo
from .test_app import _elements, _page, _staff

ADMIN = Actor("test set-up", role="admin")
PATIENT_PASSWORD = "patient-password"


@pytest.fixture(scope="module")
def clinic(cohort_folder, tmp_path_factory):
    folder = copy_of_demo(cohort_folder, tmp_path_factory.mktemp("app-outcomes") / "data")
    records = _staff(folder)
    own = records.find_patient(ADMIN, "SIM-001")
    records.add_user(ADMIN, "sim-patient", PATIENT_PASSWORD, role="patient", patient_id=own.id)
    records.close()
    return folder


def _estimates(at) -> "object":
    return next(d.value for d in at.dataframe if "term" in d.value.columns)


def test_a_provider_sees_intervals_per_measure_over_time_adherence_and_downloads(clinic, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(clinic))
    at = _page("outcomes", None).run()
    assert not at.exception and not at.error
    assert at.header[0].value == "Outcomes across patients"
    assert any("10 of these 10 patients are **simulated**" in i.value for i in at.info)
    charts = _elements(at, "vega_lite_chart") + _elements(at, "arrow_vega_lite_chart")
    # One interval plot per measure with values (the sizes in mm² have none: no chart or face in the photos),
    # and the patients over time.
    assert len(charts) == len([n for n in METRIC_NAMES if not n.endswith("_mean_mm2")]) + 1
    estimates = _estimates(at)
    groups = estimates[estimates["kind"] == "group"]
    assert set(groups["term"]) == {"laser", "micro-needling"} and (groups["n_patients"] == 5).all()
    assert groups["estimate"].notna().all() and groups["ci_low"].notna().all()
    assert (groups["status"] == "few patients").all()  # 5 patients: estimated, and flagged
    downloads = _elements(at, "download_button")
    assert len(downloads) == 4
    # Compare by setting: the treatments split by their binned main setting.
    at.radio(key="outcomes_by").set_value("setting").run()
    groups = _estimates(at).query("kind == 'group'")
    assert set(groups["term"]) == {"laser · fluence 10-20 J/cm²", "micro-needling · needle depth 1.5-2 mm"}
    # The spacing table: every course judged against its protocol.
    adherence = next(d.value for d in at.dataframe if "share_within" in d.value.columns)
    assert set(adherence["treatment"]) == {"laser", "micro-needling"} and adherence["courses"].sum() == 10


def test_filters_narrow_the_patients(clinic, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(clinic))
    at = _page("outcomes", None).run()
    at.multiselect(key="outcomes_treatments").select("laser").run()
    assert not at.exception
    groups = _estimates(at).query("kind == 'group'")
    assert set(groups["term"]) == {"laser"}
    types = at.multiselect(key="outcomes_skin").options
    assert types  # the patients' Fitzpatrick types
    at.multiselect(key="outcomes_areas").select("left cheek").run()
    assert not at.exception and set(_estimates(at).query("kind == 'group'")["term"]) == {"laser"}


def test_teaching_consent_only_leaves_too_few_patients_for_an_estimate(clinic, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(clinic))
    at = _page("outcomes", None).run()
    at.selectbox(key="outcomes_consent").set_value("publication").run()
    assert not at.exception
    estimates = _estimates(at)
    groups = estimates[estimates["kind"] == "group"]
    assert (groups["status"] == "refused").all() and groups["estimate"].isna().all()
    assert (groups["n_patients"] < 5).all()
    assert any("no group has enough patients" in c.value for c in at.caption)


def test_a_patient_account_gets_none_of_it(clinic, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(clinic))
    records = Records(clinic)
    own = records.find_patient(ADMIN, "SIM-001")
    records.close()
    at = _page("outcomes", own.id, username="sim-patient", password=PATIENT_PASSWORD).run()
    assert not at.exception
    assert any("not available to you" in e.value for e in at.error)
    assert not at.dataframe and not _elements(at, "vega_lite_chart") and not _elements(at, "download_button")
    shown = " ".join(str(getattr(e, "value", "")) for e in at.main)
    assert "SIM-002" not in shown and "simulated" not in shown


def test_an_empty_clinic_says_what_to_do(tmp_path, monkeypatch):
    _staff(tmp_path / "data").close()
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path / "data"))
    at = _page("outcomes", None).run()
    assert not at.exception
    assert any("load-demo --cohort" in i.value for i in at.info)


def test_the_outcomes_page_is_in_the_staff_navigation_only():
    """A patient's navigation has no Outcomes page (its address is refused in the browser test too)."""
    source = (REPO / "app.py").read_text(encoding="utf-8")
    patient_pages, staff_pages = source.split('if me.role == "patient":')[1].split("\nelse:", 1)
    assert 'url_path="outcomes"' in staff_pages.split("if me.role == \"admin\"")[0]
    assert 'url_path="outcomes"' not in patient_pages
