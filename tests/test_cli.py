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
