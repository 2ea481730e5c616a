"""Record the demo photos' scores for this engine version (``tests/data/demo_scores.json``).

The guard test (``tests/test_provenance.py``) fails when the demo scores move but the engine
version (``skintrack/_version.py``) does not. After a deliberate change of the numbers: bump the
version, say why in CHANGELOG.md, then run ``python tools/demo_fingerprint.py`` to add the new
version's fingerprint (earlier versions' entries are kept, as a record of what each measured).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FINGERPRINTS = REPO / "tests" / "data" / "demo_scores.json"


def demo_scores() -> dict[str, dict[str, float | None]]:
    """The demo patient's left-cheek course through :func:`skintrack.compare` (baseline first), and
    the second demo patient's first portrait over each face zone."""
    from skintrack.comparison.compare import compare, measure_baseline
    from skintrack.measure.face import ZONES

    out: dict[str, dict[str, float | None]] = {}
    photos = sorted((REPO / "sample_images").glob("*_left-cheek.jpg"))
    baseline = measure_baseline(photos[0])
    results = [baseline] + [compare(baseline, photo) for photo in photos[1:]]
    for photo, result in zip(photos, results):
        out[photo.name] = _plain(result.score.metrics if result.score is not None else {})
    portrait = sorted((REPO / "sample_images" / "demo-002").glob("*.jpg"))[0]
    for zone in ("forehead", "left_cheek"):
        assert zone in ZONES
        out[f"demo-002/{portrait.name}#{zone}"] = _plain(measure_baseline(portrait, zone=zone).score.metrics)
    return out


def _plain(metrics) -> dict[str, float | None]:
    return {k: (round(float(v), 6) if math.isfinite(v) else None) for k, v in sorted(metrics.items())}


def main() -> None:
    from skintrack import __version__

    recorded = json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.exists() else {}
    recorded[__version__] = demo_scores()
    FINGERPRINTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"recorded the demo scores of engine {__version__} in {FINGERPRINTS}")


if __name__ == "__main__":
    main()
