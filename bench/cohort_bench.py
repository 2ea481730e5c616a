"""Cohort table: 40 patients x 6 visits x 9 measures built from the records. Target: <= 2 s.

The data are the demo clinic (``skintrack load-demo --cohort``: 40 simulated patients, 6 visits each,
240 small photos measured by the engine through ``Records.add_photo``). Loading them takes minutes, so
the data folder is made once and kept in ``$SKINTRACK_BENCH_CACHE`` (default
``~/.cache/skintrack-bench``) per engine version; the first run also prints how long loading took
(the figure the README quotes for ``make run``).

Timed, in one process on the records opened once:

* the first build, which writes one audit line per patient read ("view_patient", as the app does);
* the median of five further builds (the same user within ten minutes: no new audit lines);
* fitting the models of all nine measures, by treatment and by treatment and setting.

Run: ``.venv/bin/python bench/cohort_bench.py``
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 2.0


def main() -> None:
    from skintrack import __version__
    from skintrack.cohort import build_cohort_table, fit_cohort
    from skintrack.cohort.demo import load_demo_cohort
    from skintrack.records import Actor, Records

    cache = Path(os.environ.get("SKINTRACK_BENCH_CACHE", Path.home() / ".cache" / "skintrack-bench"))
    folder = cache / f"cohort-40x6-{__version__}"
    records = Records(folder)
    loaded = load_demo_cohort(records, Actor("cohort bench", role="admin", source="system"), workers=2)
    if loaded["loaded"]:
        print(f"demo clinic loaded: {loaded['loaded']} patients, {loaded['photos']} photos measured in "
              f"{loaded['seconds']:.0f} s with 2 worker processes ({folder})")  # fmt: skip
    records.close()

    records = Records(folder)
    reader = Actor(f"cohort bench reader {os.getpid()}", role="provider")
    started = time.perf_counter()
    table = build_cohort_table(records, reader)
    first = time.perf_counter() - started
    times = []
    for _ in range(5):
        started = time.perf_counter()
        again = build_cohort_table(records, reader)
        times.append(time.perf_counter() - started)
    assert again.equals(table)
    patients, measures = table["patient"].nunique(), table["measure"].nunique()
    visits = table.groupby(["patient", "area"])["visit_number"].max().mean()
    print(f"cohort table: {patients} patients x {visits:.0f} visits x {measures} measures = {len(table)} rows")
    print(f"  first build (one audit line per patient written): {first:.2f} s")
    print(f"  median of 5 builds: {statistics.median(times):.2f} s (target <= {TARGET_SECONDS:.0f} s) "
          f"{'OK' if statistics.median(times) <= TARGET_SECONDS else 'SLOWER THAN TARGET'}")  # fmt: skip
    for by in ("treatment", "setting"):
        started = time.perf_counter()
        fit_cohort(table, by=by)
        print(f"  models of {measures} measures by {by}: {time.perf_counter() - started:.2f} s")
    print(f"  load average: {os.getloadavg()[0]:.1f} (2-core machine)")
    records.close()


if __name__ == "__main__":
    main()
