"""The command line (skintrack/cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skintrack import __version__
from skintrack.cli import main

from .conftest import REPO, copy_of_demo


def test_version_and_help():
    runner = CliRunner()
    assert __version__ in runner.invoke(main, ["--version"]).output
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0 and "Not a medical device" in result.output


def test_info_reports_each_photo_and_fails_on_bad_ones(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = sorted((REPO / "sample_images").glob("*.jpg"))[0]
    result = CliRunner().invoke(main, ["info", str(good), str(bad)])
    assert result.exit_code == 1
    first = json.loads(result.stdout.splitlines()[0])
    assert first["format"] == "JPEG" and len(first["sha256"]) == 64
    assert "broken.jpg" in result.stderr


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "skintrack", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_records_commands(demo_folder, tmp_path):
    runner = CliRunner()
    # The demo patients as loaded once per run (loading measures 31 photos; loading itself is tested in
    # test_records and, from an empty folder through this command, in the slow test below).
    data = str(copy_of_demo(demo_folder, tmp_path / "data"))
    result = runner.invoke(main, ["load-demo", "--data", data])
    assert result.exit_code == 0, result.output
    assert "DEMO-001" in result.output
    result = runner.invoke(main, ["doctor", "--data", data])
    assert result.exit_code == 0 and "orphan files (no row): 0" in result.output
    (tmp_path / "data" / "photos" / "zz").mkdir()
    (tmp_path / "data" / "photos" / "zz" / ".tmp-crash").write_bytes(b"half")
    assert runner.invoke(main, ["doctor", "--data", data]).exit_code == 1
    assert runner.invoke(main, ["doctor", "--data", data, "--repair"]).exit_code == 0
    archive = str(tmp_path / "demo.zip")
    result = runner.invoke(main, ["archive", "export", "DEMO-001", archive, "--data", data])
    assert result.exit_code == 0 and "6 photos" in result.output
    result = runner.invoke(main, ["archive", "import", archive, "--data", data])
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(main, ["archive", "import", archive, "--data", str(tmp_path / "other")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["rescore", "--data", data])
    assert result.exit_code == 0 and "0 photos" in result.output
    assert runner.invoke(main, ["archive", "export", "NOPE", archive, "--data", data]).exit_code != 0


@pytest.mark.slow  # loads and measures the 31 demo photos
def test_load_demo_fills_an_empty_folder(tmp_path):
    from skintrack.records import Actor, Records

    result = CliRunner().invoke(main, ["load-demo", "--data", str(tmp_path / "data")])
    assert result.exit_code == 0 and "DEMO-001" in result.output, result.output
    records = Records(tmp_path / "data")
    demo = records.find_patient(Actor("check", role="admin"), "DEMO-001")
    assert all(p.status == "scored" for p in records.list_photos(Actor("check", role="admin"), demo.id))
    records.close()


@pytest.mark.slow  # renders the whole demo course (test_synthetic checks the committed one)
def test_demo_in_the_course_layout(tmp_path):
    from skintrack.batch import course_layout
    from skintrack.synthetic import DEMO_SESSIONS

    result = CliRunner().invoke(main, ["demo", "--course", str(tmp_path / "course")])
    assert result.exit_code == 0, result.output
    layout = course_layout(tmp_path / "course")
    assert [item["date"].isoformat() for item in layout] == [s["date"] for s in DEMO_SESSIONS]
    assert {(item["patient"], item["area"]) for item in layout} == {("DEMO-001", "left-cheek")}


def test_users_commands_read_passwords_from_stdin_and_act_as_the_operator(demo_folder, tmp_path):
    from skintrack.records import Records

    runner = CliRunner()
    data = str(copy_of_demo(demo_folder, tmp_path / "data"))  # the demo patients, no accounts yet
    result = runner.invoke(main, ["users", "add", "boss", "--role", "admin", "--data", data], input="a-long-password-1\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password-1" not in result.output
    assert runner.invoke(main, ["load-demo", "--data", data]).exit_code == 0  # the patients are there: adds the accounts
    result = runner.invoke(
        main, ["users", "add", "jane", "--role", "patient", "--patient", "DEMO-001", "--data", data], input="patient-password-1\n"
    )
    assert result.exit_code == 0, result.output
    # Refusals are one clear line, not a traceback.
    for args, stdin, words in (
        (["users", "add", "xx2", "--role", "patient", "--data", data], "patient-password-1\n", "--patient"),
        (["users", "add", "xx3", "--role", "provider", "--data", data], "short\n", "at least 10"),
        (["users", "add", "xx4", "--role", "provider", "--data", data], "", "No password"),
        (["users", "add", "xx5", "--role", "patient", "--patient", "NOPE", "--data", data], "patient-password-1\n", "No patient"),
        (["doctor", "--data", data, "--user", "jane"], None, "may not run maintenance"),
        (["archive", "export", "DEMO-001", str(tmp_path / "a.zip"), "--data", data, "--user", "jane"], None, "may not export"),
        (["doctor", "--data", data, "--user", "nobody"], None, "No enabled account"),
    ):
        result = runner.invoke(main, args, input=stdin)
        assert result.exit_code != 0 and words in result.output, (args, result.output)
        assert "Traceback" not in result.output
    listing = runner.invoke(main, ["users", "list", "--data", data]).output
    assert [line.split()[0] for line in listing.splitlines()[1:]] == ["boss", "demo-patient", "demo-provider", "jane"]
    assert "demo" in listing.splitlines()[2] and "DEMO-001" in listing.splitlines()[4]
    assert runner.invoke(main, ["users", "disable", "jane", "--data", data]).exit_code == 0
    assert "disabled" in runner.invoke(main, ["users", "list", "--data", data]).output.splitlines()[4]
    assert runner.invoke(main, ["users", "enable", "jane", "--data", data]).exit_code == 0
    result = runner.invoke(main, ["users", "reset-password", "jane", "--data", data], input="new-password-22\r\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["users", "unlock", "jane", "--data", data]).exit_code == 0
    records = Records(data)
    assert records.authenticate("jane", "new-password-22").role == "patient"
    assert records.authenticate("boss", "a-long-password-1").role == "admin"
    # The operator is recorded as such; --user as the account.
    admin = records.authenticate("boss", "a-long-password-1")
    actors = {(e.actor, e.source) for e in records.audit_log(admin)}
    assert any(name.endswith("(local operator)") and source == "cli" for name, source in actors)
    assert runner.invoke(main, ["rescore", "--data", data, "--user", "demo-provider"]).exit_code != 0  # all: admins only
    assert runner.invoke(main, ["keygen"]).output.strip().endswith("=")


def test_the_cli_refuses_an_os_user_who_does_not_own_the_data_folder(tmp_path, monkeypatch):
    import os

    data = tmp_path / "data"
    assert CliRunner().invoke(main, ["doctor", "--data", str(data)]).exit_code == 0
    someone_else = data.stat().st_uid + 4242
    monkeypatch.setattr(os, "getuid", lambda: someone_else)
    result = CliRunner().invoke(main, ["doctor", "--data", str(data)])
    assert result.exit_code != 0 and "belongs to another OS user" in result.output


def test_no_demo_in_production(tmp_path):
    from skintrack.records import Actor, Records

    data = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["load-demo", "--data", data], env={"SKINTRACK_ENV": "production"})
    assert result.exit_code == 0 and "not loaded" in result.output
    records = Records(data)
    assert records.list_patients(Actor("check", role="admin")) == [] and records.demo_accounts() == []


def _imports_alone(module: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["skintrack.cli_exports", "skintrack.cli_interop", "skintrack.cli_cohort"])
def test_each_command_module_can_be_imported_first(module):
    """cli_interop took helpers from a half-imported cli_exports: importing cli_exports first failed."""
    done = _imports_alone(module)
    assert done.returncode == 0, done.stderr[-600:]


@pytest.mark.slow
def test_every_module_imports_on_its_own():
    """After the regroup by stage (issue 23), no module may depend on another having been imported first."""
    root = Path(__file__).resolve().parents[1]
    modules = sorted(
        ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for package in ("skintrack", "skintrack_app")
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts and path.name != "__main__.py"
    )
    failed = {m: done.stderr.strip().splitlines()[-1] for m in modules if (done := _imports_alone(m)).returncode}
    assert failed == {}
