"""PDF report of the 6-session demo patient: how long a provider waits.

Loads the demo patient (sample_images/, six sessions) into a temporary data
folder, then times, each in a fresh process so no measurement is cached:

* ``build_pdf`` of the provider report (baseline vs latest) on freshly opened
  records: both photos are measured again (normalised, aligned, scored) and
  the PDF laid out. Target: <= 3 s.
* ``skintrack report`` end to end, as typed in a terminal (Python start-up and
  imports included).
* the report with every session and the redness overlay (six photos measured).

and, in one process, the same report again once the measurements are cached
(as in the app, where the photos were just looked at), and the patient report.
Each cold figure is the median of three runs.

Run: ``.venv/bin/python bench/report_bench.py``
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 3.0

_COLD = """
import sys, time
from skintrack.records import Actor, Records
from skintrack.report import build_pdf
records = Records(sys.argv[1]); me = Actor("bench")
patient = records.find_patient(me, "DEMO-001"); area = records.list_areas(me, patient.id)[0]
options = {"sessions": "all", "overlays": ["redness"]} if sys.argv[2] == "all" else {}
started = time.perf_counter()
pdf = build_pdf(records, me, patient.id, area.id, **options)
print(time.perf_counter() - started, len(pdf))
"""


def _cold_build(data: Path, which: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", _COLD, str(data), which], capture_output=True, text=True, check=True)
    seconds, size = out.stdout.split()
    return float(seconds), int(size)


def _cli(data: Path, output: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "skintrack", "report", "DEMO-001", "--data", str(data), "-o", str(output)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    from skintrack.records import Actor, Records
    from skintrack.report import build_pdf

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        records = Records(data)
        me = Actor("bench")
        patient = records.load_demo(me, ROOT / "sample_images")
        area = records.list_areas(me, patient.id)[0]
        records.close()

        cold = [_cold_build(data, "pair") for _ in range(3)]
        cli = [_cli(data, Path(tmp) / "report.pdf") for _ in range(3)]
        every = [_cold_build(data, "all") for _ in range(3)]

        records = Records(data)
        build_pdf(records, me, patient.id, area.id)  # measures the two photos once
        warm, patient_warm = [], []
        for _ in range(3):
            started = time.perf_counter()
            build_pdf(records, me, patient.id, area.id)
            warm.append(time.perf_counter() - started)
            started = time.perf_counter()
            build_pdf(records, me, patient.id, area.id, audience="patient")
            patient_warm.append(time.perf_counter() - started)

    cold_s = statistics.median(t for t, _ in cold)
    report = {
        "patient": f"demo, {patient.session_count} sessions, photos 1600x1200",
        "provider_report_cold_s": round(cold_s, 2),
        "provider_report_pages_kb": round(cold[0][1] / 1024),
        "cli_end_to_end_s": round(statistics.median(cli), 2),
        "every_session_with_overlay_cold_s": round(statistics.median(t for t, _ in every), 2),
        "every_session_pdf_kb": round(every[0][1] / 1024),
        "provider_report_cached_measurements_s": round(statistics.median(warm), 2),
        "patient_report_cached_measurements_s": round(statistics.median(patient_warm), 2),
        "target_s": TARGET_SECONDS,
    }
    print(json.dumps(report, indent=2))
    print("PASS" if cold_s <= TARGET_SECONDS else "FAIL: target missed")
    sys.exit(0 if cold_s <= TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
