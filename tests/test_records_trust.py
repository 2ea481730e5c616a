"""A record a clinic can trust (issue 21): nothing filed where the provider did not choose, SQLite's locks
kept whatever else opens the data folder, duplicates and far-off capture dates confirmed, one photo per
visit in the summary.

Each test would fail on the code before issue 21; each checks the database, not only what a call returned.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import textwrap
import threading

import pytest
from PIL import Image
from sqlalchemy import text

from skintrack.records import Actor, InvalidInput, NotFound, Records
from skintrack.records.errors import CaptureDateMismatch, DuplicatePhoto, StaleSelection

from .conftest import REPO
from .test_records import DOCTOR, SAMPLE_FILES, SAMPLES, _row_counts, patient, records  # noqa: F401 (fixtures)


# --------------------------------------------------------------------------- item 2: SQLite's locks


def _database_files(data) -> set[str]:
    return {p.name for p in data.iterdir() if p.name.startswith("skintrack.db")}


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)  # fmt: skip


def test_a_second_handle_in_one_process_keeps_sqlite_locks_from_other_processes(tmp_path):
    """Opening the data folder twice in one process (a notebook, a helper thread) must not drop the first
    handle's locks: another process would then think it is alone and delete the WAL under it."""
    data = tmp_path / "data"
    first = Records(data)
    first.add_patient(DOCTOR, "P-FIRST")
    second = Records(data)
    assert [p.code for p in second.list_patients(DOCTOR)] == ["P-FIRST"]
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}

    # The command line opens and closes the database in another process, as a clinic's cron job would.
    listed = subprocess.run([sys.executable, "-m", "skintrack", "users", "list", "--data", str(data)],
                            capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}  # still there

    # A second process writes rows while both handles of this process write too: nothing is lost.
    writer = """
        import sys
        from skintrack.records import Actor, Records
        records = Records(sys.argv[1])
        for i in range(15):
            records.add_patient(Actor("other process"), f"P-PROC-{i:02d}")
        records.close()
    """
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(writer), str(data)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def write(handle, prefix):
        for i in range(15):
            handle.add_patient(DOCTOR, f"{prefix}-{i:02d}")

    threads = [threading.Thread(target=write, args=(first, "P-ONE")), threading.Thread(target=write, args=(second, "P-TWO"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors
    third = Records(data)  # and one more handle opened and closed on the way
    third.close()
    expected = {"P-FIRST"} | {f"{p}-{i:02d}" for p in ("P-ONE", "P-TWO", "P-PROC") for i in range(15)}
    assert {p.code for p in first.list_patients(DOCTOR)} == expected
    assert {p.code for p in second.list_patients(DOCTOR)} == expected
    assert _database_files(data) == {"skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}
    with first.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    first.close()
    second.close()
    # After every handle is closed the database is whole (the WAL checkpointed into it).
    check = _run("""
        import sys
        from skintrack.records import Actor, Records
        print(len(Records(sys.argv[1]).list_patients(Actor("check"))))
    """, str(data))  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(len(expected))


def test_the_database_file_is_created_private_without_python_opening_it(tmp_path, monkeypatch):
    """The database file is made 0600 before SQLite first opens it; an existing one is never opened (or
    closed) by Python, only tightened by its path."""
    import os

    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    data = tmp_path / "data"
    previous = os.umask(0)
    try:
        monkeypatch.setattr(os, "open", spy)
        Records(data).close()
        assert (data / "skintrack.db").stat().st_mode & 0o777 == 0o600
        opened.clear()
        os.chmod(data / "skintrack.db", 0o644)  # left readable by an older version
        records = Records(data)
    finally:
        os.umask(previous)
        monkeypatch.undo()
    assert not [p for p in opened if p.endswith("skintrack.db")]
    assert (data / "skintrack.db").stat().st_mode & 0o777 == 0o600
    records.close()
