"""Issue 19 on real acne (ACNE04, ../shared/real_photos/external/acne04): how many boxed lesions the dark spots
and red lesions find, and how many detections touch no box, by severity grade (tools/acne_figures.py, the
README's table). The figures are floors at what the engine measures now, so a change that loses lesions
fails here; the issue's targets (80 % of boxes, 70 % on the severe grades, at most 2 unboxed detections per
photo) are not reached yet and stay as strict expected failures until they are.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import acne_figures  # noqa: E402

pytestmark = pytest.mark.skipif(not acne_figures.ACNE04.exists(), reason="../shared/real_photos/external/acne04 missing")


#: Measured with engine 0.6.0 (tools/acne_figures.py; the README's table), rounded down: % of boxes touched by
#: a dark spot or a red lesion.
RECALL_FLOORS = {"levle0": 63, "levle1": 80, "levle2": 70, "levle3": 63, "all": 66}
FEW_RECALL_FLOOR = 70  # the first two photos of each grade: 71.0 %
FALSE_MEDIAN_CEILING = 9  # detections touching no box, median per photo (0.5.0, with the red area: 14)
#: Engine 0.5.0's figure, boxes touched by a dark spot or the red area: neither changed in 0.6.0, so they hold.
SPOT_OR_AREA_FLOORS = {"levle0": 73, "levle1": 78, "levle2": 58, "levle3": 31, "all": 44}
FEW_SPOT_OR_AREA_FLOOR = 40  # the first two photos of each grade: 41 %


def test_boxes_are_counted_once_and_a_box_off_the_skin_touches_nothing():
    """The counting itself: touched boxes are counted once whatever touches them, and a box on a corner of the
    frame with no skin touches nothing."""
    file, boxes = next(iter(acne_figures.boxed_photos(1).items()))
    figures = acne_figures.measure_photo(file, boxes)
    assert figures.status == "scored" and figures.boxes == len(boxes)
    assert 0 <= figures.touched_spots <= figures.touched_any <= figures.boxes
    assert figures.touched_lesions <= figures.touched_any <= figures.touched_spots + figures.touched_lesions
    # Boxes moved far off the face (a corner of the frame with no skin) touch nothing.
    corner = [(grade, (0, 0, 3, 3)) for grade, _ in boxes[:1]]
    moved = acne_figures.measure_photo(file, corner)
    assert moved.touched_any == 0
    summary = acne_figures.by_grade([figures, moved])
    assert summary["all"]["boxes"] == len(boxes) + 1


def test_a_few_photos_of_every_grade_keep_their_recall():
    """Two photos per grade (make test); the whole set is the slow test below."""
    measured = [acne_figures.measure_photo(f, b) for f, b in acne_figures.boxed_photos(2).items()]
    figures = acne_figures.by_grade(measured)["all"]
    assert figures["not_measured"] == 0
    assert figures["recall_pct"] >= FEW_RECALL_FLOOR, figures
    assert figures["recall_spot_or_area_pct"] >= FEW_SPOT_OR_AREA_FLOOR, figures


@pytest.fixture(scope="module")
def whole_set():
    measured = [acne_figures.measure_photo(f, b) for f, b in acne_figures.boxed_photos().items()]
    return acne_figures.by_grade(measured)


@pytest.mark.slow
def test_the_whole_set_keeps_the_readmes_figures(whole_set):
    assert whole_set["all"]["photos"] == 100 and whole_set["all"]["boxes"] == 2321
    for grade, floor in RECALL_FLOORS.items():
        assert whole_set[grade]["recall_pct"] >= floor, (grade, whole_set[grade])
        assert whole_set[grade]["recall_spot_or_area_pct"] >= SPOT_OR_AREA_FLOORS[grade], (grade, whole_set[grade])
    assert whole_set["all"]["false_median"] <= FALSE_MEDIAN_CEILING


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 19, open: the target recall (80 %, 70 % on the severe grades) and "
                   "at most 2 unboxed detections per photo are not reached; see the README's acne table")  # fmt: skip
def test_the_issues_targets_on_the_whole_set(whole_set):
    assert whole_set["all"]["recall_pct"] >= 80
    assert min(whole_set[g]["recall_pct"] for g in ("levle2", "levle3")) >= 70
    assert whole_set["all"]["false_median"] <= 2
    assert np.isfinite(whole_set["all"]["false_median"])
