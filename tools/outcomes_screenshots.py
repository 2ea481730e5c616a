"""Screenshots of the Outcomes page with the demo clinic, for the README (docs/outcomes*.png).

Uses a copy of a data folder holding the demo clinic (``skintrack load-demo --cohort``): the one
``bench/cohort_bench.py`` keeps in ``$SKINTRACK_BENCH_CACHE``, or the folder given as the first argument.

Run: ``.venv/bin/python tools/outcomes_screenshots.py [DATA_FOLDER]`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import app_driver  # noqa: E402

DOCS = app_driver.REPO / "docs"


def main() -> None:
    from skintrack import __version__

    cache = Path(os.environ.get("SKINTRACK_BENCH_CACHE", Path.home() / ".cache" / "skintrack-bench"))
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else cache / f"cohort-40x6-{__version__}"
    if not (source / "skintrack.db").exists():
        sys.exit(f"No demo clinic in {source}: run bench/cohort_bench.py (or skintrack load-demo --cohort) first.")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(source, data)
        with app_driver.running_app(data) as url, app_driver.browser_page(1400, 4600) as page:  # tall: Streamlit scrolls inside the page
            app_driver.log_in(page, url)
            app_driver.open_page(page, "Outcomes")
            _charts(page)
            page.get_by_text("treatment and setting", exact=True).click()
            page.get_by_role("heading", name="Change from baseline by treatment and setting").wait_for(timeout=300_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=300_000)
            app_driver.wait_idle(page)
            _charts(page)
            page.wait_for_timeout(1000)
            top = _page_y(page, "Patients over time")
            page.screenshot(path=str(DOCS / "outcomes.png"), clip={"x": 0, "y": 0, "width": 1400, "height": top})
            start, end = _page_y(page, "Patients over time"), _page_y(page, "Download")
            page.screenshot(path=str(DOCS / "outcomes-time.png"),
                            clip={"x": 0, "y": start - 10, "width": 1400, "height": end - start})  # fmt: skip
    print("wrote", DOCS / "outcomes.png", DOCS / "outcomes-time.png")


def _page_y(page, heading: str) -> float:
    """The top of a heading on the (tall, unscrolled) screen."""
    return page.get_by_role("heading", name=heading).first.bounding_box()["y"]


def _charts(page) -> None:
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')].every(c => c.querySelector('canvas, svg'))",
        timeout=180_000,
    )
    app_driver.wait_idle(page)


if __name__ == "__main__":
    main()
