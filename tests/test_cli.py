"""The command line (skintrack/cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from skintrack import __version__
from skintrack.cli import main

from .conftest import REPO


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


def test_records_commands(tmp_path):
    runner = CliRunner()
    data = str(tmp_path / "data")
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


def test_demo_in_the_course_layout(tmp_path):
    from skintrack.batch import course_layout
    from skintrack.synthetic import DEMO_SESSIONS

    result = CliRunner().invoke(main, ["demo", "--course", str(tmp_path / "course")])
    assert result.exit_code == 0, result.output
    layout = course_layout(tmp_path / "course")
    assert [item["date"].isoformat() for item in layout] == [s["date"] for s in DEMO_SESSIONS]
    assert {(item["patient"], item["area"]) for item in layout} == {("DEMO-001", "left-cheek")}
