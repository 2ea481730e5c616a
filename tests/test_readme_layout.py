"""The README's Layout table is the newcomer's map (issue 23, item 6): every module and sub-package of the
engine, every app module and every tool is named there, so a file added without a word in the map fails."""

from __future__ import annotations

import re

from .conftest import REPO


def _layout() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def _named(layout: str) -> set[str]:
    """Every `name` in the table; a path such as `skintrack/api/` also names `api/`."""
    named = set(re.findall(r"`([^`]+)`", layout))
    return named | {name.rstrip("/").rsplit("/", 1)[-1] + ("/" if name.endswith("/") else "") for name in named}


def _modules(folder: str) -> list[str]:
    base = REPO / folder
    found = [p.name for p in base.glob("*.py") if p.name != "__init__.py"]
    found += [p.name + "/" for p in base.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    return sorted(found)


def test_every_engine_module_is_named_in_the_layout():
    named = _named(_layout())
    missing = [m for m in _modules("skintrack") if m not in named and m != "__main__.py"]
    assert not missing, f"README Layout does not name: {missing}"


def test_every_module_of_each_stage_is_named_in_the_layout():
    """The folders by stage (issue 23, item 6) are the map: each of their modules is named in its row."""
    named = _named(_layout())
    for stage in ("intake", "measure", "comparison", "privacy"):
        missing = [m for m in _modules(f"skintrack/{stage}") if m not in named]
        assert not missing, f"README Layout does not name in skintrack/{stage}/: {missing}"


def test_every_tool_is_named_in_the_layout():
    named = _named(_layout())
    missing = [m for m in _modules("tools") if m not in named]
    assert not missing, f"README Layout does not name: {missing}"


def test_the_layout_names_no_module_that_is_gone():
    # A module renamed or moved leaves a stale name behind: each `name.py` in the table exists somewhere.
    files = {p.name for folder in ("skintrack", "skintrack_app", "tools", "bench") for p in (REPO / folder).rglob("*.py")}
    stale = [name for name in _named(_layout()) if name.endswith(".py") and name.split("/")[-1] not in files]
    assert not stale, f"README Layout names missing files: {stale}"
