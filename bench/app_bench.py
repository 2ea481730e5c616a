"""Upload -> scores shown, in the real app in Chromium, for 12-megapixel photos; and a cold first page load.

Starts `streamlit run app.py` on a free port with an empty data folder (a provider
account only) and times the first page (the log-in page) from the browser's request
until it is drawn: the server imports the app on that first request. Then it
creates a patient and, for a 12 MP baseline and a 12 MP follow-up (4032x3024 JPEG,
q=95), times from pressing "Add photos" until the scores are on screen.
Targets: <= 1.5 s for the follow-up (normalised, aligned and scored), <= 3 s for
the cold first page.

Run: ``.venv/bin/python bench/app_bench.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

import app_driver  # noqa: E402
from common import TWELVE_MP  # noqa: E402

from skintrack.synthetic import WARM, Capture, SkinScene, SkinState  # noqa: E402

TARGET_SECONDS = 1.5
COLD_TARGET_SECONDS = 3.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scene = SkinScene(seed=7, size=TWELVE_MP)
        baseline = tmp / "baseline.jpg"
        follow_up = tmp / "follow_up.jpg"
        baseline.write_bytes(scene.render(SkinState(), Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=95, seed=1)).encoded)
        follow_up.write_bytes(
            scene.render(
                SkinState(erythema=5.0, spot_contrast=10.0),
                Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=95, seed=2, rotation_deg=4, scale=1.05, shift=(80, -40), exposure=0.9, white_balance=WARM),
            ).encoded
        )  # fmt: skip
        with app_driver.running_app(tmp / "data") as url, app_driver.browser_page() as page:
            started = time.perf_counter()
            page.goto(url)
            page.get_by_role("button", name="Log in", exact=True).wait_for()
            page.wait_for_function(app_driver.SCRIPT_DONE)  # drawn, and the script has finished
            cold = time.perf_counter() - started
            app_driver.wait_idle(page)
            app_driver.log_in(page, url)
            app_driver.create_patient(page, "P-BENCH", "Bench")
            app_driver.add_area(page, "cheek")
            app_driver.open_page(page, "New session")
            app_driver.create_session(page, "2026-05-04")
            first = app_driver.upload_and_measure(page, [baseline], area="cheek")
            app_driver.create_session(page, "2026-06-01")
            second = app_driver.upload_and_measure(page, [follow_up], area="cheek")
        report = {
            "photos": f"{TWELVE_MP[0]}x{TWELVE_MP[1]} JPEG, {follow_up.stat().st_size / 1e6:.1f} MB",
            "cold_first_page_s": round(cold, 2),
            "baseline_upload_to_scores_s": round(first, 2),
            "follow_up_upload_to_scores_s": round(second, 2),
            "target_follow_up_s": TARGET_SECONDS,
            "target_cold_first_page_s": COLD_TARGET_SECONDS,
        }
        print(json.dumps(report, indent=2))
        passed = second <= TARGET_SECONDS and cold <= COLD_TARGET_SECONDS
        print("PASS" if passed else "FAIL: target missed")
        sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
