"""The engine version moves whenever the numbers move (skintrack/_version.py, CHANGELOG.md).

``tests/data/demo_scores.json`` holds the demo photos' scores per engine version
(written by ``tools/demo_fingerprint.py``). A change that moves a demo score without
bumping the version fails here: scores measured by two different engines would
otherwise carry the same version and settings hash, and ``rescore`` would never fire.
"""

from __future__ import annotations

import json
import math

import pytest

import skintrack

from .conftest import REPO

FINGERPRINTS = REPO / "tests" / "data" / "demo_scores.json"
#: Floating-point reproducibility across CPUs (SIMD kernels), far below any change a constant makes.
RELATIVE, ABSOLUTE = 2e-3, 1e-3


@pytest.fixture(scope="module")
def measured():
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_fingerprint", REPO / "tools" / "demo_fingerprint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.demo_scores()


def moved(recorded: dict, measured: dict) -> list[str]:
    """The scores that differ (beyond floating-point reproducibility) between two fingerprints."""
    found = []
    for photo in sorted(set(recorded) | set(measured)):
        before, now = recorded.get(photo, {}), measured.get(photo, {})
        for metric in sorted(set(before) | set(now)):
            a, b = before.get(metric), now.get(metric)
            if a is None or b is None:
                if a is not b:
                    found.append(f"{photo} {metric}: {a} -> {b}")
                continue
            tolerance = 0.0 if metric == "spot_count" else RELATIVE * abs(a) + ABSOLUTE
            if abs(a - b) > tolerance:
                found.append(f"{photo} {metric}: {a} -> {b}")
    return found


def test_demo_scores_change_only_with_the_engine_version(measured):
    recorded = json.loads(FINGERPRINTS.read_text())
    version = skintrack.__version__
    assert version in recorded, (
        f"No demo-score fingerprint for engine {version}: run `python tools/demo_fingerprint.py` "
        "after saying in CHANGELOG.md what moved."
    )
    changed = moved(recorded[version], measured)
    assert not changed, (
        f"The demo scores moved but the engine version is still {version}: bump skintrack/_version.py, "
        "say why in CHANGELOG.md and run `python tools/demo_fingerprint.py`.\n" + "\n".join(changed)
    )


def test_the_guard_notices_a_moved_number(measured):
    """The comparison above is tight enough to see a constant change (here 1 % of one measure)."""
    photo = next(iter(measured))
    nudged = {**measured, photo: {**measured[photo], "redness": measured[photo]["redness"] * 1.01}}
    assert moved(measured, nudged)
    assert not moved(measured, json.loads(json.dumps(measured)))


def test_the_changelog_names_this_version():
    assert f"## [{skintrack.__version__}]" in (REPO / "CHANGELOG.md").read_text()


def test_versions_only_grow():
    recorded = json.loads(FINGERPRINTS.read_text())
    key = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert max(recorded, key=key) == skintrack.__version__
    assert all(math.isfinite(v) for scores in recorded.values() for photo in scores.values() for v in photo.values() if v is not None)
