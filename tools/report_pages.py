"""Render the demo patient's PDF reports and save pages as PNGs for the README (docs/report-*.png).

Needs poppler-utils' ``pdftoppm``. Run: ``.venv/bin/python tools/report_pages.py``
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

from skintrack.records import Actor, Records
from skintrack.report import build_pdf
from skintrack.report.clinic import Clinic

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DPI = 80
#: (file name, audience, page numbers)
PAGES = [("report-provider", "provider", (1, 2)), ("report-patient", "patient", (1,))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        records = Records(tmp / "data")
        me = Actor("Dr Demo")
        patient = records.load_demo(me, ROOT / "sample_images")
        area = records.list_areas(me, patient.id)[0]
        clinic = Clinic("Demo Skin Clinic", address="Example Street 1 · 12345 Example Town")
        for name, audience, pages in PAGES:
            pdf = tmp / f"{name}.pdf"
            pdf.write_bytes(build_pdf(records, me, patient.id, area.id, audience=audience, clinic=clinic, today=dt.date(2026, 10, 5)))
            for page in pages:
                stem = tmp / f"{name}-{page}"
                subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), "-png", "-singlefile", str(pdf), str(stem)], check=True)
                target = DOCS / (f"{name}.png" if page == 1 else f"{name}-{page}.png")
                target.write_bytes(stem.with_suffix(".png").read_bytes())
                print(f"written {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
