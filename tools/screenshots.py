"""Screenshots of every page of the app with the demo patient, for the README (docs/*.png).

Run: ``.venv/bin/python tools/screenshots.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import app_driver  # noqa: E402

DOCS = app_driver.REPO / "docs"
SAMPLES = app_driver.REPO / "sample_images"
ADMIN = ("admin-screens", "admin-screens-pw")
PAGES = ["login", "patients", "new-session", "compare", "progress", "export", "accounts", "audit", "portal"]


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        app_driver.add_account(data, *ADMIN, role="admin", display_name="Ada Admin")
        with app_driver.running_app(data, demo=True, provider_account=False) as url:
            with app_driver.browser_page(width=1400, height=1100) as page:
                app_driver.go(page, url, "")
                page.screenshot(path=str(DOCS / "login.png"))
                app_driver.log_in(page, url, "demo-provider", "demo-provider-pw")
                page.wait_for_timeout(1500)
                page.screenshot(path=str(DOCS / "patients.png"))
                app_driver.open_page(page, "New session")
                app_driver.create_session(page, "2026-10-26", treatment="other")
                app_driver.upload_and_measure(page, [SAMPLES / "2026-09-28_left-cheek.jpg"], area="left cheek")
                page.get_by_text("Fit: this photo over the baseline").scroll_into_view_if_needed()
                page.screenshot(path=str(DOCS / "new-session.png"))
                app_driver.open_page(page, "Compare")
                page.get_by_text("Redness heat map").click()
                app_driver.wait_idle(page)
                page.screenshot(path=str(DOCS / "compare.png"), full_page=True)
                app_driver.open_page(page, "Progress")
                page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(DOCS / "progress.png"))
                app_driver.open_page(page, "Export")
                page.screenshot(path=str(DOCS / "export.png"))
            with app_driver.browser_page(width=1400, height=1100) as page:
                app_driver.log_in(page, url, *ADMIN)
                app_driver.open_page(page, "Accounts")
                page.screenshot(path=str(DOCS / "accounts.png"))
                app_driver.open_page(page, "Audit")
                page.screenshot(path=str(DOCS / "audit.png"))
            with app_driver.browser_page(width=390, height=844) as page:
                app_driver.log_in(page, url, "demo-patient", "demo-patient-pw", heading="Your skin progress")
                page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(DOCS / "portal.png"))
                page.mouse.wheel(0, 760)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(DOCS / "portal-charts.png"))
    for name in PAGES + ["portal-charts"]:
        print(DOCS / f"{name}.png")


if __name__ == "__main__":
    main()
