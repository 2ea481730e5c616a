"""The Outcomes page in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

A provider opens Outcomes, sees one interval plot per measure, compares by setting, filters to one
treatment and downloads the table; a patient's account never reaches the page, whatever the address.
Screenshots go to the test's tmp dir. Skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from skintrack.measure.metrics import METRIC_NAMES

from .conftest import REPO, copy_of_demo

sys.path.insert(0, str(REPO / "tools"))
import app_driver  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # a real browser: run by `make test-slow` (and CI)
    pytest.mark.browser,
    pytest.mark.skipif(not Path(app_driver.CHROMIUM).exists(), reason="Debian chromium not installed"),
]

PATIENT = ("sim-browser", "patient-browser-pw")
#: One interval plot per measure with values (the sizes in mm² have none: the simulated photos have no chart or
#: face), and the patients over time.
CHARTS = len([n for n in METRIC_NAMES if not n.endswith("_mean_mm2")]) + 1


@pytest.fixture(scope="module")
def clinic(cohort_folder, tmp_path_factory):
    from skintrack.records import Actor, Records

    data = copy_of_demo(cohort_folder, tmp_path_factory.mktemp("browser-outcomes") / "data")
    records = Records(data)
    operator = Actor("test set-up", role="admin", source="cli")
    own = records.find_patient(operator, "SIM-001")
    records.add_user(operator, PATIENT[0], PATIENT[1], role="patient", patient_id=own.id)
    records.close()
    return data


def _charts_drawn(page, count: int) -> None:
    from playwright.sync_api import expect

    charts = page.locator('[data-testid="stVegaLiteChart"]')
    expect(charts).to_have_count(count, timeout=120_000)
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, [data-testid=\"stVegaLiteChart\"] svg').length >= {count}",
        timeout=120_000,
    )


def test_a_provider_reads_outcomes_filters_and_downloads(clinic, tmp_path):
    with app_driver.running_app(clinic) as url, app_driver.browser_page(1400, 1000) as page:
        app_driver.log_in(page, url)
        app_driver.open_page(page, "Outcomes")
        page.get_by_role("heading", name="Outcomes across patients").wait_for()
        _charts_drawn(page, CHARTS)
        page.get_by_text("10 of these 10 patients are").wait_for()
        page.wait_for_timeout(800)
        page.screenshot(path=str(tmp_path / "1-outcomes.png"), full_page=True)
        assert (tmp_path / "1-outcomes.png").stat().st_size > 50_000

        page.get_by_text("treatment and setting", exact=True).click()
        app_driver.wait_idle(page)
        _charts_drawn(page, CHARTS)
        page.get_by_text("needle depth 1.5-2 mm").first.wait_for()  # the groups now carry their setting bin
        page.screenshot(path=str(tmp_path / "2-by-setting.png"), full_page=True)

        page.locator('[data-testid="stMultiSelect"]').filter(has_text="Treatment").locator("input").click()
        page.get_by_role("option", name="laser", exact=True).click()
        app_driver.wait_idle(page)
        page.keyboard.press("Escape")
        app_driver.wait_idle(page)
        from playwright.sync_api import expect

        expect(page.locator('[data-testid="stMultiSelect"]').filter(has_text="Treatment")).to_contain_text("laser")
        expect(page.get_by_text("needle depth 1.5-2 mm")).to_have_count(0, timeout=120_000)  # the charts redrawn
        _charts_drawn(page, CHARTS)
        page.get_by_role("heading", name="Patients over time").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "3-laser-over-time.png"), full_page=True)

        with page.expect_download() as download:
            page.get_by_role("button", name="Table (CSV)").click()
        table = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert set(table["treatment"]) == {"laser"} and table["patient"].nunique() == 5
        assert {"change", "noise", "setting_bin", "treatments_before"} <= set(table.columns)


def test_a_patient_never_reaches_outcomes(clinic, tmp_path):
    with app_driver.running_app(clinic) as url, app_driver.browser_page(1400, 1000) as page:
        app_driver.log_in(page, url, *PATIENT, heading="Your skin progress")
        assert page.get_by_role("link", name="Outcomes").count() == 0  # not in their navigation
        page.evaluate("window.history.pushState({}, '', '/outcomes'); window.dispatchEvent(new PopStateEvent('popstate'))")
        page.wait_for_timeout(800)
        app_driver.wait_idle(page)
        assert page.get_by_role("heading", name="Your skin progress").count() == 1
        assert page.get_by_role("heading", name="Outcomes across patients").count() == 0
        assert page.get_by_text("SIM-002").count() == 0
        page.screenshot(path=str(tmp_path / "outcomes-as-patient.png"))
        # Straight to the address in a new browser session: the log-in page, then their own page.
        app_driver.go(page, url, "outcomes")
        assert page.get_by_role("heading", name="Outcomes across patients").count() == 0
