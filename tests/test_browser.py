"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

A provider creates a patient, adds two sessions with one sample photo each,
and opens Progress, where the charts must be drawn. Screenshots go to the
test's tmp dir. Skipped when /usr/bin/chromium is missing (.ci/run installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import app_driver  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(app_driver.CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SAMPLES = REPO / "sample_images"


def test_provider_documents_two_sessions_and_sees_progress(tmp_path):
    from playwright.sync_api import expect

    from skintrack.records import Actor, Records

    data = tmp_path / "data"
    with app_driver.running_app(data) as url, app_driver.browser_page() as page:
        app_driver.log_in(page, url)
        app_driver.create_patient(page, "P-E2E", "Browser Patient")
        app_driver.add_area(page, "left cheek")
        page.screenshot(path=str(tmp_path / "1-patients.png"))

        app_driver.open_page(page, "New session")
        app_driver.create_session(page, "2026-05-04")
        app_driver.upload_and_measure(page, [SAMPLES / "2026-05-04_left-cheek.jpg"], area="left cheek")
        page.get_by_text("This is the baseline of this area").wait_for()
        page.screenshot(path=str(tmp_path / "2-baseline.png"))

        app_driver.create_session(page, "2026-09-28")
        app_driver.upload_and_measure(page, [SAMPLES / "2026-09-28_left-cheek.jpg"], area="left cheek")
        page.get_by_text("Alignment to baseline").wait_for()
        page.get_by_text("Fit: this photo over the baseline").wait_for()
        page.screenshot(path=str(tmp_path / "3-follow-up.png"))

        app_driver.open_page(page, "Progress")
        page.get_by_text("since baseline").first.wait_for()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for()
        expect(charts).to_have_count(9, timeout=120_000)  # the charts arrive one by one: wait for all
        # Vega drew something: an SVG or canvas inside the first chart.
        page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
        page.screenshot(path=str(tmp_path / "4-progress.png"))
        assert (tmp_path / "4-progress.png").stat().st_size > 10_000

    records = Records(data)
    patient = records.find_patient(Actor("check"), "P-E2E")
    photos = records.list_photos(Actor("check"), patient.id)
    assert [p.status for p in photos] == ["scored", "scored"]
    assert photos[0].is_baseline and photos[1].scores["redness"] < photos[0].scores["redness"]
