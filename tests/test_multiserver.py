"""Several servers on one PostgreSQL database and one photo folder: nothing lost, duplicated or corrupted.

Runs when SKINTRACK_TEST_PG_URL points at a server (.ci/run starts one). Each test starts real processes:
two Python processes writing through their own ``Records``; two ``skintrack api`` servers; two Streamlit
servers driven by Chromium.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records

from .conftest import REPO

PG_URL = os.environ.get("SKINTRACK_TEST_PG_URL")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PG_URL, reason="SKINTRACK_TEST_PG_URL not set (no PostgreSQL server)")]
ADMIN = Actor("op (local operator)", role="admin", source="cli")
SERIES = sorted((REPO / "sample_images").glob("*_left-cheek.jpg"))
PASSWORD = "a-long-password-1"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _photo(index: int, variant: int = 0) -> bytes:
    """The demo's left-cheek photo of visit ``index``, made smaller (``variant``: a different file of it)."""
    image = Image.open(SERIES[index % len(SERIES)]).convert("RGB").resize((800, 600))
    if variant:
        image.putpixel((variant, 0), (variant % 256, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _counts(records) -> dict:
    with records.engine.connect() as connection:
        return {
            "photos": connection.execute(text("SELECT COUNT(*) FROM photos")).scalar(),
            "distinct": connection.execute(
                text("SELECT COUNT(DISTINCT (session_id, area_id, view, original_sha256)) FROM photos")).scalar(),  # fmt: skip
            "scored": connection.execute(text("SELECT COUNT(*) FROM photos WHERE status = 'scored'")).scalar(),
            "scores": connection.execute(text("SELECT COUNT(*) FROM scores")).scalar(),
            "uploads": connection.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'upload'")).scalar(),
        }


def _check_files(records) -> None:
    """Every row's file is there with the hash its row says; no file without a row; nothing half-written."""
    report = records.doctor(ADMIN)
    assert report.healthy, report
    with records.engine.connect() as connection:
        names = set(connection.execute(text("SELECT file_name FROM photos")).scalars())
    assert names == set(records.store.files())


# --------------------------------------------------------------------------- starting together


def _open(folder: str, url: str, start, results) -> None:
    start.wait(60)
    try:
        Records(folder, db_url=url).close()
        results.put("ok")
    except Exception as exc:  # the failure itself is what the test reports
        results.put(f"{type(exc).__name__}: {exc}"[:300])


def test_servers_starting_at_once_on_a_fresh_database_take_turns_migrating(tmp_path):
    """Three servers started together on an empty database: one creates the schema, the others wait and use it
    (without the lock two of them failed creating the same tables)."""
    for attempt in range(2):
        _reset_postgres(PG_URL)
        context = multiprocessing.get_context("spawn")
        start, results = context.Event(), context.Queue()
        processes = [context.Process(target=_open, args=(str(tmp_path / f"data-{attempt}-{i}"), PG_URL, start, results))
                     for i in range(3)]  # fmt: skip
        for process in processes:
            process.start()
        time.sleep(3)  # all three imported and waiting
        start.set()
        assert [results.get(timeout=300) for _ in processes] == ["ok"] * 3
        for process in processes:
            process.join(60)


# --------------------------------------------------------------------------- two processes


def _writer(data: str, url: str, name: str, shared: dict, own_patient: str, own_area: str, own_sessions: list,
            start, results) -> None:  # fmt: skip
    """One server process: the shared area's photos (the other process sends the same ones) and its own (files
    no other process sends: the same file under two patients is refused as a duplicate). A failure is reported
    at once instead of leaving the test waiting for this process's result."""
    try:
        records = Records(data, db_url=url)
        me = Actor(f"Dr {name}")
        start.wait(60)
        outcome = {"shared": [], "own": []}
        for index, session_id in enumerate(shared["sessions"]):
            view = records.add_photo(me, session_id, shared["area"], _photo(index))
            outcome["shared"].append((view.id, view.duplicate))
        first_variant = 1 if name == "one" else 101
        for index, session_id in enumerate(own_sessions):
            view = records.add_photo(me, session_id, own_area, _photo(index, variant=first_variant + index))
            outcome["own"].append((view.id, view.duplicate))
        records.close()
    except Exception as exc:  # the failure itself is what the test reports
        results.put((name, f"{type(exc).__name__}: {exc}"[:400]))
        raise
    results.put((name, outcome))


def test_two_processes_writing_to_one_database_and_photo_folder(tmp_path):
    _reset_postgres(PG_URL)
    data = tmp_path / "data"
    records = Records(data, db_url=PG_URL)
    shared_patient = records.add_patient(ADMIN, "P-SHARED")
    shared_area = records.add_area(ADMIN, shared_patient.id, "left cheek")
    dates = ["2026-05-04", "2026-06-01", "2026-06-29", "2026-07-27"]
    shared = {"area": shared_area.id, "sessions": [records.add_session(ADMIN, shared_patient.id, d, "micro-needling").id for d in dates]}
    own = {}
    for name in ("one", "two"):
        patient = records.add_patient(ADMIN, f"P-{name.upper()}")
        area = records.add_area(ADMIN, patient.id, "left cheek")
        own[name] = (patient.id, area.id, [records.add_session(ADMIN, patient.id, d, "laser").id for d in dates[:3]])
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=_writer, args=(str(data), PG_URL, name, shared, *own[name], start, results))
                 for name in ("one", "two")]  # fmt: skip
    for process in processes:
        process.start()
    start.set()
    outcomes = dict(results.get(timeout=900) for _ in processes)
    for process in processes:
        process.join(60)
    assert all(isinstance(outcome, dict) for outcome in outcomes.values()), outcomes
    assert [process.exitcode for process in processes] == [0, 0]
    # The same photo sent to the same visit by both: one row, which both were told about.
    for (first, dup_one), (second, dup_two) in zip(outcomes["one"]["shared"], outcomes["two"]["shared"]):
        assert first == second and (dup_one or dup_two)
    counts = _counts(records)
    assert counts["photos"] == counts["distinct"] == 4 + 3 + 3
    assert counts["scores"] == len(METRIC_NAMES) * counts["scored"] and counts["uploads"] == counts["photos"]
    assert len(records.list_photos(ADMIN, shared_patient.id)) == 4
    baseline = records.list_areas(ADMIN, shared_patient.id)[0].baseline_photo_id
    assert baseline == outcomes["one"]["shared"][0][0]  # the earliest visit's photo, whoever stored it
    _check_files(records)
    records.close()


# --------------------------------------------------------------------------- two API servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_api(data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "skintrack", "api", "--port", str(port)], stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT,
                               env={**os.environ, "SKINTRACK_DATA": str(data), "SKINTRACK_DB_URL": PG_URL})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
            return process, url
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)


def test_two_api_servers_on_one_database(tmp_path):
    import httpx

    _reset_postgres(PG_URL)
    data = tmp_path / "data"
    records = Records(data, db_url=PG_URL)
    records.add_user(ADMIN, "dr-ana", PASSWORD, role="provider")
    token = records.create_api_token(ADMIN, "dr-ana", name="two servers").token
    servers = [_start_api(data, tmp_path / f"api-{i}.log") for i in range(2)]
    try:
        clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) for _, url in servers]
        patient = clients[0].post("/api/v1/patients", json={"code": "P-TWO"}).json()
        area = clients[1].post(f"/api/v1/patients/{patient['id']}/areas", json={"name": "left cheek"}).json()
        visits = [clients[i % 2].post(f"/api/v1/patients/{patient['id']}/visits",
                                      json={"date": d, "treatment": "micro-needling"}).json()
                  for i, d in enumerate(["2026-05-04", "2026-06-01", "2026-06-29"])]  # fmt: skip
        answers: list = []
        lock = threading.Lock()
        barrier = threading.Barrier(6)

        def upload(server: int, visit: int):
            barrier.wait()
            response = clients[server].post(f"/api/v1/visits/{visits[visit]['id']}/photos", data={"area_id": area["id"]},
                                            files={"file": ("p.jpg", _photo(visit), "image/jpeg")})  # fmt: skip
            with lock:
                answers.append((server, visit, response.status_code, response.json()))

        # Each visit's photo is sent through both servers at the same moment: stored once, measured once.
        threads = [threading.Thread(target=upload, args=(s, v)) for v in range(3) for s in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert sorted(a[2] for a in answers) == [200, 200, 200, 201, 201, 201]
        for visit in range(3):
            ids = {a[3]["id"] for a in answers if a[1] == visit}
            assert len(ids) == 1
        counts = _counts(records)
        assert counts["photos"] == counts["distinct"] == counts["uploads"] == 3
        assert counts["scores"] == len(METRIC_NAMES) * counts["scored"]
        listed = clients[1].get(f"/api/v1/patients/{patient['id']}/photos").json()
        assert listed["total"] == 3 and sum(p["is_baseline"] for p in listed["items"]) == 1
        # Two desks read the patient through different servers and change it at once: one wins, one gets 412.
        read = clients[0].get(f"/api/v1/patients/{patient['id']}").headers["etag"]
        assert clients[1].get(f"/api/v1/patients/{patient['id']}").headers["etag"] == read
        outcome: dict = {}
        barrier = threading.Barrier(2)

        def edit(server: int):
            barrier.wait()
            outcome[server] = clients[server].patch(f"/api/v1/patients/{patient['id']}", json={"notes": f"desk {server}"},
                                                    headers={"If-Match": read}).status_code  # fmt: skip

        threads = [threading.Thread(target=edit, args=(s,)) for s in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcome.values()) == [200, 412]
        winner = next(s for s, status in outcome.items() if status == 200)
        assert clients[0].get(f"/api/v1/patients/{patient['id']}").json()["notes"] == f"desk {winner}"
        _check_files(records)
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(30)
        records.close()


# --------------------------------------------------------------------------- two Streamlit servers


def _log_in(app_driver, page, url: str) -> None:
    """Log in, and wait until the log-in form has gone (a loaded machine redraws the first page slowly)."""
    app_driver.log_in(page, url)
    page.get_by_label("Password", exact=True).wait_for(state="detached")
    app_driver.wait_idle(page)


@pytest.mark.browser
def test_two_streamlit_servers_and_the_api_share_one_database(tmp_path, monkeypatch):
    """A patient created in the app on one Streamlit server is listed on the other one and by the API."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium is not installed")
    sys.path.insert(0, str(REPO / "tools"))
    import app_driver

    _reset_postgres(PG_URL)
    monkeypatch.setenv("SKINTRACK_DB_URL", PG_URL)  # the driver's account, the servers and the API: one database
    data = tmp_path / "data"
    env = {"SKINTRACK_DB_URL": PG_URL}
    with app_driver.running_app(data, env=env) as first, app_driver.running_app(data, env=env) as second:
        with app_driver.browser_page() as page:
            _log_in(app_driver, page, first)
            app_driver.create_patient(page, "P-SERVER-1", "Made on the first server")
            page.get_by_text("P-SERVER-1").first.wait_for()
        with app_driver.browser_page() as page:
            _log_in(app_driver, page, second)
            page.get_by_text("P-SERVER-1").first.wait_for()
    records = Records(data, db_url=PG_URL)
    token = records.create_api_token(ADMIN, app_driver.PROVIDER[0], name="api").token
    from fastapi.testclient import TestClient

    from skintrack.api import create_app

    listed = TestClient(create_app(records)).get("/api/v1/patients?search=P-SERVER", headers={"Authorization": f"Bearer {token}"})
    assert [p["code"] for p in listed.json()["items"]] == ["P-SERVER-1"]
    assert json.loads(json.dumps(records.audit_log(ADMIN, action="create_patient")[0].actor)) == "Dr Browser"
    records.close()
