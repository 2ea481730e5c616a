"""The one NaN-to-JSON-null cleaner (issue 23, item 5)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np

from skintrack.jsonsafe import finite, plain

from .conftest import REPO


def test_a_string_saying_nan_survives_the_round_trip_and_a_nan_number_becomes_null():
    value = {
        "area": "NaN clinic",  # a user's words: kept as typed
        "note": 'said "NaN", -Infinity and null',
        "NaN": [float("nan"), float("inf"), -math.inf, 1.5, np.float64("nan"), ("NaN", 2)],
        "when": dt.date(2026, 5, 4),
        "nested": {"x": math.nan, "ok": True, "n": None},
    }
    cleaned = plain(value)
    assert cleaned == {
        "area": "NaN clinic",
        "note": 'said "NaN", -Infinity and null',
        "NaN": [None, None, None, 1.5, None, ["NaN", 2]],
        "when": "2026-05-04",
        "nested": {"x": None, "ok": True, "n": None},
    }
    assert json.loads(json.dumps(cleaned, allow_nan=False)) == cleaned  # strict JSON


def test_finite():
    assert [finite(v) for v in (None, math.nan, math.inf, 2, np.float32(0.5))] == [None, None, None, 2.0, 0.5]


def test_nothing_cleans_nan_by_rewriting_json_text():
    """A text replacement of NaN also rewrites any string holding those letters."""
    sources = [*(REPO / "skintrack").rglob("*.py"), *(REPO / "skintrack_app").rglob("*.py"), REPO / "app.py"]
    offenders = [p.name for p in sources if 'replace("NaN"' in p.read_text(encoding="utf-8")]
    assert not offenders
