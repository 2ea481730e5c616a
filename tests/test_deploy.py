"""The deployment files in docs/deploy/ match what skintrack accepts (they must not drift from the code)."""

from __future__ import annotations

import re
import shlex

from skintrack.api.app import MAX_REQUEST_BYTES
from skintrack.cli import main

from .conftest import REPO

DEPLOY = REPO / "docs" / "deploy"


def _exec_start(unit: str) -> list[str]:
    line = next(line for line in (DEPLOY / "systemd" / unit).read_text().splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_api_unit_runs_a_valid_skintrack_api_command_on_loopback():
    command = _exec_start("skintrack-api.service")
    assert command[0].endswith("/skintrack") and command[1] == "api"
    context = main.make_context("skintrack", command[1:], resilient_parsing=False)
    sub = main.get_command(context, "api")
    options = sub.make_context("api", command[2:]).params
    assert options["host"] == "127.0.0.1" and options["port"] == 8000 and options["workers"] >= 1


def test_the_app_unit_listens_on_loopback():
    command = _exec_start("skintrack-app@.service")
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "%i"


def test_nginx_sends_each_path_to_a_server_the_units_start():
    config = (DEPLOY / "nginx" / "skintrack.conf").read_text()
    ports = set(re.findall(r"server 127\.0\.0\.1:(\d+)", config))
    assert ports == {"8501", "8502", "8000"}
    assert "ip_hash;" in config.split("upstream skintrack_app")[1].split("}")[0]  # Streamlit sessions are sticky
    size = int(re.search(r"client_max_body_size (\d+)m;", config).group(1))
    assert size * 2**20 >= MAX_REQUEST_BYTES
    assert "return 301 https://" in config and "ssl_protocols TLSv1.2 TLSv1.3;" in config


def test_the_environment_file_sets_only_what_skintrack_reads():
    source = "\n".join(path.read_text() for path in (REPO / "skintrack").rglob("*.py")) + (REPO / "app.py").read_text()
    source += "\n".join(path.read_text() for path in (REPO / "skintrack_app").rglob("*.py"))
    names = re.findall(r"^#?(SKINTRACK_[A-Z_]+)=", (DEPLOY / "systemd" / "skintrack.env").read_text(), re.M)
    assert "SKINTRACK_DB_URL" in names and "SKINTRACK_DATA" in names
    for name in names:
        assert f'"{name}"' in source, f"{name} is read nowhere"
