"""Several servers, one PostgreSQL, one photo folder: 20 provider sessions uploading 12 MP photos at once.

Starts (all on loopback, all torn down at the end):

* a throw-away PostgreSQL (``.ci/start-postgres.sh``) unless ``--pg-url`` names a server, in which case a
  fresh database is created on it for the run and dropped afterwards;
* ``--api-servers`` (2) ``skintrack api`` processes and ``--streamlit-servers`` (2) Streamlit app servers,
  all on that one database and one shared data folder; the API servers run as the deployment guide's unit
  runs them (its allocator settings) and share the machine's CPUs out (``SKINTRACK_API_MEASURING``);
* ``--sessions`` (20) provider sessions, each with its own account and API token, its own patient and visits,
  spread over the API servers; each uploads ``--photos`` (3) 12 MP JPEGs (4032 x 3024; a baseline and
  follow-ups that differ in framing, light and skin), waiting ``--think`` seconds (± 50 %) before each upload
  as a provider taking the next photo would (``--think 0``: all at once, back to back).

Measures, per upload, the time from sending the photo to the answer with its scores (p50, p95, max),
throughput, and the memory of the API servers (peak resident set over the run, above the idle servers,
per concurrent session). Then checks what is stored: every upload has exactly one photo row (none lost, none
duplicated), 9 score rows per scored photo, one audit line per upload, every file present with the hash its
rows say (``doctor``), and that both Streamlit servers serve the shared database (health, and with
``--browser`` a provider logs in on each and sees a patient the API created).

Target: p95 <= 5 s for the 20 sessions on 2 cores, nothing lost. The machine's load (``uptime``) is printed
with the figures: on a shared machine the figures are inflated.

Run: ``.venv/bin/python bench/load_bench.py [--think 20] [--browser]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_P95 = 5.0
PASSWORD = "load-bench-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- the database


class Database:
    """A PostgreSQL database for the run: on a throw-away server, or a fresh database on ``url``'s server."""

    def __init__(self, url: str | None):
        self.server_dir = None
        if url is None:
            output = subprocess.run(["bash", str(ROOT / ".ci" / "start-postgres.sh")], capture_output=True, text=True,
                                    check=True).stdout  # fmt: skip
            exports = dict(line.removeprefix("export ").split("=", 1) for line in output.splitlines() if line.startswith("export "))
            if "SKINTRACK_TEST_PG_URL" not in exports:
                raise SystemExit("PostgreSQL is not installed or did not start; pass --pg-url.")
            url, self.server_dir = exports["SKINTRACK_TEST_PG_URL"], exports["SKINTRACK_TEST_PG_DIR"]
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.admin_url = url
        self.name = f"skintrack_load_{uuid.uuid4().hex[:8]}"
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        self.url = make_url(url).set(database=self.name).render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()
        if self.server_dir:
            bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
            stop = f"{bin_dir}/pg_ctl -D {self.server_dir}/data -m fast stop"
            command = ["su", "postgres", "-s", "/bin/sh", "-c", stop] if os.getuid() == 0 else ["sh", "-c", stop]
            subprocess.run(command, capture_output=True)


# --------------------------------------------------------------------------- the servers


def unit_environment() -> dict[str, str]:
    """The ``Environment=`` settings of the deployment guide's API unit (docs/deploy/systemd/skintrack-api.service)."""
    unit = ROOT / "docs" / "deploy" / "systemd" / "skintrack-api.service"
    settings = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            settings.update(item.split("=", 1) for item in line[len("Environment="):].split())
    return settings


def measuring_slots(api_processes: int) -> int:
    """Photos each API process measures at once so that together they use each CPU once."""
    from skintrack.api.server import default_measuring_slots

    return default_measuring_slots(api_processes)


class Servers:
    """API and Streamlit servers on one database and data folder; their processes for memory sampling."""

    def __init__(self, data: Path, db_url: str, api_servers: int, streamlit_servers: int, workers: int):
        self.processes: list[subprocess.Popen] = []
        self.api_processes: list[subprocess.Popen] = []
        self.api_urls: list[str] = []
        self.app_urls: list[str] = []
        env = {**os.environ, "SKINTRACK_DATA": str(data), "SKINTRACK_DB_URL": db_url, "SKINTRACK_NO_DEMO": "1"}
        # The API servers run as the deployment guide runs them: the systemd unit's allocator settings, and the
        # machine's CPUs shared out among all API processes on it (as the guide says to set for several servers).
        self.api_env = {**env, **unit_environment(), "SKINTRACK_API_MEASURING": str(measuring_slots(api_servers * workers))}
        self.logs = data.parent / "logs"
        self.logs.mkdir(exist_ok=True)
        for index in range(api_servers):
            port = _free_port()
            log = open(self.logs / f"api-{index}.log", "wb")
            process = subprocess.Popen([sys.executable, "-m", "skintrack", "api", "--port", str(port), "--workers", str(workers)],
                                       env=self.api_env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
            self.processes.append(process)
            self.api_processes.append(process)
            self.api_urls.append(f"http://127.0.0.1:{port}")
        for index in range(streamlit_servers):
            port = _free_port()
            log = open(self.logs / f"streamlit-{index}.log", "wb")
            streamlit = Path(sys.executable).with_name("streamlit")
            process = subprocess.Popen([str(streamlit), "run", str(ROOT / "app.py"), "--server.port", str(port),
                                        "--server.address", "127.0.0.1", "--server.headless", "true",
                                        "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT)  # fmt: skip
            self.processes.append(process)
            self.app_urls.append(f"http://127.0.0.1:{port}")
        for url in self.api_urls:
            self._wait(f"{url}/healthz")
        for url in self.app_urls:
            self._wait(f"{url}/_stcore/health")

    def _wait(self, url: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"{url} did not answer; see {self.logs}")

    def api_rss(self) -> int:
        """Resident memory of the API servers (with their worker processes), bytes."""
        import psutil

        total = 0
        for process in self.api_processes:
            try:
                parent = psutil.Process(process.pid)
                total += sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
            except psutil.NoSuchProcess:
                pass
        return total

    def api_cpu(self) -> float:
        """CPU seconds (user + system) the API servers and their workers have used so far."""
        import psutil

        total = 0.0
        for process in self.api_processes:
            try:
                parent = psutil.Process(process.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    times = member.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


# --------------------------------------------------------------------------- the photos


def twelve_mp_photos(count: int, sessions: int, folder: Path) -> list[list[bytes]]:
    """Per session, ``count`` 12 MP JPEGs: a baseline and follow-ups (framing, light and skin change), every
    file different (a session's own pixels), so no upload is another's duplicate."""
    import numpy as np
    from common import TWELVE_MP
    from PIL import Image

    from skintrack.synthetic import WARM, Capture, SkinScene, SkinState

    scene = SkinScene(seed=7, size=TWELVE_MP)
    captures = [
        (SkinState(), Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=92, seed=1)),
        (SkinState(erythema=5.0), Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=92, seed=2, rotation_deg=3, scale=1.04,
                                          shift=(60, -30), exposure=0.92)),
        (SkinState(erythema=2.0, spot_contrast=8.0), Capture(size=TWELVE_MP, noise=4.0, jpeg_quality=92, seed=3,
                                                             rotation_deg=-2, shift=(-40, 20), white_balance=WARM)),
    ]  # fmt: skip
    bases = []
    for index in range(count):
        cached = folder / f"base-{index}.png"
        if not cached.exists():
            state, capture = captures[index % len(captures)]
            Image.open(io.BytesIO(scene.render(state, capture).encoded)).save(cached)
        bases.append(np.asarray(Image.open(cached).convert("RGB")))
    photos = []
    for session in range(sessions):
        own = []
        for index, base in enumerate(bases):
            cached = folder / f"session-{session}-{index}-v2.jpg"
            if not cached.exists():
                pixels = base.copy()
                # Two 16-px blocks in the corner whose greys spell the session: a different file for every
                # session (the photos of one session differ anyway). Flipping one bit of a few pixels, as
                # before, is quantised away by JPEG: sessions got byte-identical files, which the records
                # rightly refused as duplicates (HTTP 422).
                pixels[:16, :16] = session % 256
                pixels[:16, 16:32] = session // 256 % 256
                Image.fromarray(pixels).save(cached, format="JPEG", quality=92)
            own.append(cached.read_bytes())
        if len({hashlib.sha256(photo).digest() for photo in own}) != len(own):
            raise RuntimeError("the generated photos of a session are not all different files")
        photos.append(own)
    if len({hashlib.sha256(photo).digest() for own in photos for photo in own}) != count * sessions:
        raise RuntimeError("the generated photos are not all different files")
    return photos


# --------------------------------------------------------------------------- one provider session


def provider_session(index: int, api: str, token: str, photos: list[bytes], think: float, results: list, lock) -> None:
    import httpx

    rng = random.Random(index)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api, headers=headers, timeout=600) as client:
        patient = client.post("/api/v1/patients", json={"code": f"LOAD-{index:03d}", "display_name": f"Load {index}"}).json()
        area = client.post(f"/api/v1/patients/{patient['id']}/areas", json={"name": "left cheek"}).json()
        for number, photo in enumerate(photos):
            visit = client.post(f"/api/v1/patients/{patient['id']}/visits",
                                json={"date": f"2026-0{number + 1}-1{index % 10}", "treatment": "micro-needling"}).json()  # fmt: skip
            time.sleep(rng.uniform(0.5, 1.5) * think if think else 0.0)
            started = time.perf_counter()
            response = client.post(f"/api/v1/visits/{visit['id']}/photos", data={"area_id": area["id"]},
                                   files={"file": (f"{index}-{number}.jpg", photo, "image/jpeg")})  # fmt: skip
            elapsed = time.perf_counter() - started
            body = response.json()
            with lock:
                results.append({"session": index, "photo": number, "api": api, "status_code": response.status_code,
                                "status": body.get("status"), "scores": len(body.get("scores") or {}), "seconds": elapsed,
                                "patient_id": patient["id"], "photo_id": body.get("id")})  # fmt: skip


# --------------------------------------------------------------------------- checks


def check_records(records, admin, results: list) -> dict:
    from sqlalchemy import text

    ok = [r for r in results if r["status_code"] in (200, 201)]
    with records.engine.connect() as connection:
        photos = connection.execute(text("SELECT COUNT(*) FROM photos")).scalar()
        distinct = connection.execute(text("SELECT COUNT(DISTINCT (session_id, area_id, view, original_sha256)) FROM photos")).scalar()
        scored = connection.execute(text("SELECT COUNT(*) FROM photos WHERE status = 'scored'")).scalar()
        scores = connection.execute(text("SELECT COUNT(*) FROM scores")).scalar()
        uploads = connection.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'upload'")).scalar()
        baselines = connection.execute(text("SELECT COUNT(*) FROM areas WHERE baseline_photo_id IS NOT NULL")).scalar()
    doctor = records.doctor(admin)
    return {
        "uploads_answered_ok": len(ok),
        "photo_rows": photos,
        "distinct_photo_rows": distinct,
        "rows_match_uploads": photos == len(ok) == len({r["photo_id"] for r in ok}) == distinct,
        "scored": scored,
        "score_rows": scores,
        "score_rows_match": scores == 9 * scored,
        "audit_upload_lines": uploads,
        "areas_with_baseline": baselines,
        "baselines_kept_on_disk": len(list(records.baselines.root.glob("*/*.npz"))),
        "doctor_healthy": doctor.healthy,
        "files_missing_or_corrupt": len(doctor.missing_files) + len(doctor.corrupt_files),
    }


def check_streamlit(servers: Servers, data: Path, db_url: str, browser: bool) -> list[str]:
    """Each Streamlit server answers on the shared database; with ``browser`` a provider logs in on each and
    sees LOAD-000, a patient the API created on the other servers."""
    notes = []
    for url in servers.app_urls:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
            notes.append(f"{url}: health {response.status}")
    if not browser:
        return notes
    import app_driver

    for url in servers.app_urls:
        with app_driver.browser_page() as page:
            app_driver.log_in(page, url, "dr-load-000", PASSWORD)
            page.get_by_text("LOAD-000").first.wait_for(timeout=120_000)
            notes.append(f"{url}: logged in as dr-load-000, patient LOAD-000 (made through the API) listed")
    return notes


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--photos", type=int, default=3, help="uploads per session (baseline + follow-ups)")
    parser.add_argument("--think", type=float, default=20.0, help="mean seconds before each upload (0: back to back)")
    parser.add_argument("--api-servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per API server")
    parser.add_argument("--streamlit-servers", type=int, default=2)
    parser.add_argument("--browser", action="store_true", help="log in on each Streamlit server with Chromium")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to make the run's database on")
    parser.add_argument("--photo-cache", type=Path, default=Path(tempfile.gettempdir()) / "skintrack-load-photos",
                        help="where the generated 12 MP photos are kept between runs (synthetic skin, no person)")
    args = parser.parse_args()

    from skintrack.records import Actor, Records

    print(f"load before: {_load()}", flush=True)
    database = Database(args.pg_url)
    servers = None
    try:
        with tempfile.TemporaryDirectory(prefix="skintrack-load-") as folder:
            folder = Path(folder)
            data = folder / "data"
            admin = Actor("load bench (local operator)", role="admin", source="cli")
            records = Records(data, db_url=database.url)
            tokens = []
            for index in range(args.sessions):
                records.add_user(admin, f"dr-load-{index:03d}", PASSWORD, role="provider")
                tokens.append(records.create_api_token(admin, f"dr-load-{index:03d}", name="load bench").token)
            started = time.perf_counter()
            args.photo_cache.mkdir(parents=True, exist_ok=True)
            photos = twelve_mp_photos(args.photos, args.sessions, args.photo_cache)
            print(f"{args.sessions} x {args.photos} photos of 12 MP made in {time.perf_counter() - started:.0f} s "
                  f"({statistics.mean(len(p) for s in photos for p in s) / 2**20:.1f} MiB each)", flush=True)  # fmt: skip
            servers = Servers(data, database.url, args.api_servers, args.streamlit_servers, args.workers)
            time.sleep(2)
            idle = servers.api_rss()
            peak = [idle]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], servers.api_rss())
                    time.sleep(0.25)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            results: list = []
            lock = threading.Lock()
            load_during = []
            cpu_before = servers.api_cpu()
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.sessions) as pool:
                futures = [pool.submit(provider_session, i, servers.api_urls[i % len(servers.api_urls)], tokens[i],
                                       photos[i], args.think, results, lock) for i in range(args.sessions)]  # fmt: skip
                while not all(f.done() for f in futures):
                    time.sleep(5)
                    load_during.append(os.getloadavg()[0])
                for future in futures:
                    future.result()
            wall = time.perf_counter() - started
            cpu_per_upload = (servers.api_cpu() - cpu_before) / max(1, len(results))
            stop.set()
            sampler.join()
            times = sorted(r["seconds"] for r in results)
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            figures = {
                "sessions": args.sessions,
                "uploads": len(results),
                "photo": "4032 x 3024 JPEG q92",
                "api_servers": args.api_servers,
                "workers_per_api_server": args.workers,
                "measuring_slots_per_api_process": int(servers.api_env["SKINTRACK_API_MEASURING"]),
                "api_allocator": {k: v for k, v in servers.api_env.items() if k.startswith("MALLOC_")},
                "streamlit_servers": args.streamlit_servers,
                "think_seconds": args.think,
                "upload_to_scores_p50_s": round(statistics.median(times), 2),
                "upload_to_scores_p95_s": round(p95, 2),
                "baseline_upload_median_s": round(statistics.median(r["seconds"] for r in results if r["photo"] == 0), 2),
                "follow_up_upload_median_s": round(statistics.median(r["seconds"] for r in results if r["photo"] > 0), 2),
                "upload_to_scores_max_s": round(times[-1], 2),
                "p95_target_s": TARGET_P95,
                "wall_s": round(wall, 1),
                "uploads_per_minute": round(60 * len(results) / wall, 1),
                # Independent of the machine's other load: what one upload costs, and what 2 cores could do with it.
                "api_cpu_s_per_upload": round(cpu_per_upload, 2),
                "capacity_uploads_per_minute_on_2_cores": round(60 * 2 / cpu_per_upload, 1) if cpu_per_upload else None,
                "burst_of_sessions_last_answer_floor_s_on_2_cores": round(args.sessions * cpu_per_upload / 2, 1),
                "api_rss_idle_mib": round(idle / 2**20),
                "api_rss_peak_mib": round(peak[0] / 2**20),
                "api_mib_per_session": round((peak[0] - idle) / 2**20 / args.sessions, 1),
                "statuses": {s: sum(r["status"] == s for r in results) for s in {r["status"] for r in results}},
                "load_average_during_run": round(statistics.mean(load_during), 2) if load_during else None,
            }
            figures.update(check_records(records, admin, results))
            figures["streamlit"] = check_streamlit(servers, data, database.url, args.browser)
            records.close()
            print(json.dumps(figures, indent=1))
            print(f"load after: {_load()}")
            refused = len(results) - figures["uploads_answered_ok"]
            # A refused upload is answered fast: the latency target counts only when every upload was stored.
            verdict = "met" if p95 <= TARGET_P95 and not refused else "NOT met"
            lost = not (figures["rows_match_uploads"] and figures["doctor_healthy"])
            print(f"p95 upload -> scores {p95:.2f} s (target <= {TARGET_P95} s: {verdict}); "
                  + (f"{refused} of {len(results)} uploads REFUSED; " if refused else "")
                  + f"{'rows or files LOST or DUPLICATED' if lost else 'nothing lost or duplicated'}")  # fmt: skip
            if servers is not None:
                servers.close()
                servers = None
    finally:
        if servers is not None:
            servers.close()
        database.close()


if __name__ == "__main__":
    main()
