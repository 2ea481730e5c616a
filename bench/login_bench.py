"""Memory of 32 parallel log-ins with unknown user names (issue 22 item 6).

Each password check is argon2id with 64 MiB of memory. Before issue 22 every
log-in hashed at once, so 32 parallel attempts held 32 x 64 MiB. Now at most
``MAX_CONCURRENT_HASHES`` (``min(4, CPUs)``) run at a time and the rest queue.

In a fresh process: a data folder with one account, then 32 threads each try an
unknown user name with a wrong password from its own client address (so no
throttle refuses them before the check: every one costs a real argon2 run).
Prints the resident memory before, the peak during the log-ins (VmHWM, reset
just before them through /proc/self/clear_refs), the wall time, and how many
checks ran at once. ``--unbounded`` lifts the bound (32 slots), as before the
fix, for comparison; run from a checkout of 0.3.0 (``PYTHONPATH`` on its
folder) it measures the code before issue 22. Target: the peak stays below
300 MiB above the resident memory before the log-ins.

Run: ``.venv/bin/python bench/login_bench.py [--unbounded]``
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARALLEL = 32
TARGET_EXTRA_MIB = 300

_RUN = """
import json, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

import skintrack.records.accounts as accounts
from skintrack.records import Actor, AuthenticationFailed, Records

parallel, unbounded = int(sys.argv[1]), sys.argv[2] == "1"
if unbounded:
    accounts._hashing = threading.BoundedSemaphore(parallel)
records = Records(tempfile.mkdtemp())
records.add_user(Actor("bench", role="admin"), "dr-real", "a long enough bench password 9", role="provider")
try:  # warm up: the dummy hash, the database, the imports
    records.authenticate("nobody-at-all", "wrong")
except AuthenticationFailed:
    pass

running = peak_running = 0
lock = threading.Lock()
real = accounts._hasher

class Counted:  # the same hasher, counting how many checks run at once
    def __getattr__(self, name):
        return getattr(real, name)

    def verify(self, *args, **kwargs):
        global running, peak_running
        with lock:
            running += 1
            peak_running = max(peak_running, running)
        try:
            return real.verify(*args, **kwargs)
        finally:
            with lock:
                running -= 1

accounts._hasher = Counted()

def status(key):
    return int([l for l in open("/proc/self/status") if l.startswith(key)][0].split()[1]) * 1024

def attempt(i):
    try:
        try:
            records.authenticate(f"unknown-{i}", "not the password", client=f"198.51.100.{i}")
        except TypeError:  # skintrack 0.3.0 (no clients): to measure the code before issue 22
            records.authenticate(f"unknown-{i}", "not the password")
    except AuthenticationFailed:
        return True
    return False

before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM) to the current resident size
started = time.perf_counter()
with ThreadPoolExecutor(parallel) as pool:
    refused = sum(pool.map(attempt, range(parallel)))
elapsed = time.perf_counter() - started
print(json.dumps({"before": before, "peak": status("VmHWM"), "seconds": elapsed, "refused": refused,
                  "at_once": peak_running,
                  "slots": parallel if unbounded else getattr(accounts, "MAX_CONCURRENT_HASHES", parallel)}))
"""


def run(unbounded: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", _RUN, str(PARALLEL), "1" if unbounded else "0"], capture_output=True,
                         text=True, check=True, cwd=REPO)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    unbounded = "--unbounded" in sys.argv[1:]
    result = run(unbounded)
    mib = 2**20
    extra = (result["peak"] - result["before"]) / mib
    label = "without the bound" if unbounded else f"bounded ({result['slots']} hashing slots)"
    print(f"{PARALLEL} parallel log-ins with unknown names, {label}: {result['refused']} refused, "
          f"at most {result['at_once']} argon2 checks at once, {result['seconds']:.1f} s")
    print(f"resident memory: {result['before'] / mib:.0f} MiB before, peak {result['peak'] / mib:.0f} MiB "
          f"(+{extra:.0f} MiB; target +{TARGET_EXTRA_MIB} MiB or less)")
    if not unbounded and extra > TARGET_EXTRA_MIB:
        sys.exit(1)


if __name__ == "__main__":
    main()
