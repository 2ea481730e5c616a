"""What the engine needs (issue 23, item 7): `import skintrack`, score() and compare() work without the
extras' packages (pandas, tqdm, scipy), without matplotlib (the report fonts ship in the package) and
without scikit-image (test-only: the face demo's generator lives in tools/)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

BLOCKED = ("pandas", "tqdm", "scipy", "matplotlib", "skimage")

ENGINE = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # any import of it raises ImportError
import skintrack
from skintrack.records import Records
from skintrack.report.fonts import font_path
baseline = skintrack.measure_baseline({first!r})
later = skintrack.compare(baseline, {second!r})
assert later.score is not None and "redness" in later.score.metrics
assert skintrack.score(skintrack.load_photo({first!r})).metrics
assert font_path().is_file()
assert not [name for name in {blocked!r} if sys.modules.get(name) is not None]
print("ok")
"""


@pytest.mark.slow  # a fresh interpreter with the extras hidden: make test-slow (CI runs it)
def test_the_engine_runs_without_the_extras_packages():
    photos = sorted(str(p) for p in (REPO / "sample_images").glob("*_left-cheek.jpg"))
    code = ENGINE.format(blocked=BLOCKED, first=photos[0], second=photos[1])
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_no_installed_module_needs_scikit_image():
    """scikit-image is a test dependency: nothing under skintrack/ imports it."""
    offenders = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "skintrack").rglob("*.py")
        if "import skimage" in (text := p.read_text(encoding="utf-8")) or "from skimage" in text
    ]
    assert not offenders


def test_the_report_fonts_ship_with_their_licence():
    from skintrack.report.fonts import FONT_BOLD, FONT_DIR, FONT_ITALIC, font_path

    assert all(font_path(name).parent == FONT_DIR for name in (FONT_BOLD, FONT_ITALIC))
    assert "Bitstream Vera" in (FONT_DIR / "LICENSE_DEJAVU").read_text(encoding="utf-8")
    packaged = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/fonts/*"' in packaged and "matplotlib" not in packaged
