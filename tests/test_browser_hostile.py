"""Hostile user text in a real browser (issue 12 item 10): nothing fetched, linked or formatted.

A patient whose code, name and area carry Markdown images, links, autolinks, HTML, emphasis, math and
Streamlit directives is opened on the Patients page in Debian's Chromium. The browser must request
nothing from the tracker's host, and the page must hold no link, image or formatting made from that text —
which shows exactly as typed (with invisible word joiners that keep autolinks from forming). Skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import app_driver  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # a real browser: run by `make test-slow` (and CI), as every browser test
    pytest.mark.browser,
    pytest.mark.skipif(not Path(app_driver.CHROMIUM).exists(), reason="Debian chromium not installed"),
]

CODE = "P-![x](https://tracker.example/code.png)"
NAME = "**Ann** [click](https://evil.example/a) <img src=https://tracker.example/n.png> www.evil.example $x^2$ :red[red] :smile:"
AREA = "cheek ![a](https://tracker.example/area.png) https://evil.example/b"


def test_hostile_names_render_as_plain_text_in_chromium(tmp_path):
    from skintrack.records import Actor, Records

    data = tmp_path / "data"
    records = Records(data)
    patient = records.add_patient(Actor("setup"), CODE, NAME)
    records.add_area(Actor("setup"), patient.id, AREA)
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page() as page:
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        app_driver.log_in(page, url)
        main = page.locator('[data-testid="stMain"]')
        heading = main.locator("h3").first
        heading.wait_for()
        page.get_by_text("Treated areas:").wait_for()
        app_driver.wait_idle(page)
        # Exactly as typed (word joiners are invisible: they only keep the browser from finding links).
        assert heading.inner_text().replace("\u2060", "").strip() == f"{CODE} — {NAME}"
        assert f"Treated areas: {AREA}" in main.inner_text().replace("\u2060", "")
        page.screenshot(path=str(tmp_path / "hostile-patients.png"))
        outside = [u for u in requested if "tracker.example" in u or "evil.example" in u]
        assert outside == [], outside
        links = [a.get_attribute("href") or "" for a in main.locator("a").all()]
        assert not [href for href in links if not href.startswith("#")], links  # only headings' own anchors
        images = [img.get_attribute("src") or "" for img in main.locator("img").all()]
        assert not [src for src in images if "example" in src], images
        assert main.locator("strong:has-text('Ann'), em:has-text('Ann'), .katex").count() == 0
        assert "😄" not in main.inner_text()
