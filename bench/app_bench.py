"""Upload -> scores shown, in the real app in Chromium, for 12-megapixel photos.

Starts `streamlit run app.py` on a free port with an empty data folder, creates
a patient, then for a 12 MP baseline and a 12 MP follow-up (4032x3024 JPEG,
q=95) times from pressing "Add photos" until the scores table is on screen.
Target: <= 2 s for the follow-up (which is normalised, aligned and scored).

Run: ``.venv/bin/python bench/app_bench.py``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

import app_driver  # noqa: E402
from common import TWELVE_MP  # noqa: E402

from skintrack.synthetic import WARM, Capture, SkinScene, SkinState  # noqa: E402

TARGET_SECONDS = 2.0


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
            app_driver.log_in(page, url)
            app_driver.create_patient(page, "P-BENCH", "Bench")
            app_driver.add_area(page, "cheek")
            page.get_by_role("link", name="New session").click()
            app_driver.wait_idle(page)
            app_driver.create_session(page, "2026-05-04")
            first = app_driver.upload_and_measure(page, [baseline], area="cheek")
            app_driver.create_session(page, "2026-06-01")
            second = app_driver.upload_and_measure(page, [follow_up], area="cheek")
        report = {
            "photos": f"{TWELVE_MP[0]}x{TWELVE_MP[1]} JPEG, {follow_up.stat().st_size / 1e6:.1f} MB",
            "baseline_upload_to_scores_s": round(first, 2),
            "follow_up_upload_to_scores_s": round(second, 2),
            "target_s": TARGET_SECONDS,
        }
        print(json.dumps(report, indent=2))
        print("PASS" if second <= TARGET_SECONDS else "FAIL: target missed")
        sys.exit(0 if second <= TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
