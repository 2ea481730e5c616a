"""Every door gives exactly the same numbers for the same photos (issue 23, item 1).

``skintrack score`` (the CLI, whose table keeps four significant digits), :func:`skintrack.batch.score_folder`, the records (a photo uploaded
into a patient through the service layer) and the app (Streamlit, through the measurement a page
shows) all measure through :func:`skintrack.comparison.compare.measure_baseline` / :func:`~skintrack.comparison.compare.compare`:
a baseline alone, a follow-up against that baseline. Equality is exact (``==``), not approximate:
the same pipeline on the same bytes with the same settings gives the same floats.
"""

from __future__ import annotations

import json
import math

import pandas as pd
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from skintrack.batch import score_folder
from skintrack.cli import main
from skintrack.comparison.compare import DEFAULT_CONFIG, compare, measure_baseline
from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor
from skintrack.report.tables import round_floats

from .conftest import REPO
from .test_app import TIMEOUT, _staff

SAMPLES = REPO / "sample_images"
BASELINE = SAMPLES / "2026-05-04_left-cheek.jpg"
FOLLOW_UP = SAMPLES / "2026-06-01_left-cheek.jpg"
T = Actor("test")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _agree(door: str, got: dict, want: dict) -> list[str]:
    return [f"{door} {name}: {got[name]!r} != {want[name]!r}" for name in METRIC_NAMES if not _same(got[name], want[name])]


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    """``metrics`` as the CLI writes them (:func:`skintrack.report.tables.round_floats`)."""
    return round_floats(pd.DataFrame([metrics])).iloc[0].to_dict()


def _app_metrics(photo_id: str) -> dict[str, float]:
    """What the app's pages measure for a photo (``widgets.measurement``), read back from the page."""

    def script(photo_id):
        import json

        import streamlit as st

        from skintrack_app import state, widgets

        if state.begin_run() is None:
            state.sign_in("dr-test", "app-test-password")
            state.begin_run()
        view = state.records().get_photo(state.actor(), photo_id)
        result = widgets.measurement(photo_id, view.settings_hash)
        st.text(json.dumps({name: repr(float(value)) for name, value in result.score.metrics.items()}))

    at = AppTest.from_function(script, args=(photo_id,), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return {name: float(value) for name, value in json.loads(at.text[0].value).items()}


def test_cli_batch_records_and_app_give_exactly_the_same_numbers(tmp_path, monkeypatch):
    first = measure_baseline(BASELINE)
    later = compare(first, FOLLOW_UP)
    assert first.scored and later.scored
    want = {"baseline": first.score.metrics, "follow-up": later.score.metrics}
    problems: list[str] = []

    # The command line: the baseline alone, and the follow-up measured against it (--reference).
    runner = CliRunner()
    alone, against = tmp_path / "alone.parquet", tmp_path / "against.parquet"
    for output, arguments in ((alone, [str(BASELINE)]), (against, [str(FOLLOW_UP), "--reference", str(BASELINE)])):
        result = runner.invoke(main, ["score", *arguments, "-o", str(output), "-w", "1"])
        assert result.exit_code == 0, result.output
    cli = {"baseline": pd.read_parquet(alone).iloc[0], "follow-up": pd.read_parquet(against).iloc[0]}

    # Batch scoring from Python.
    batch = {
        "baseline": score_folder([BASELINE], workers=1, progress=False).iloc[0],
        "follow-up": score_folder([FOLLOW_UP], reference=BASELINE, workers=1, progress=False).iloc[0],
    }
    for door, rows in (("cli", cli), ("batch", batch)):
        for role, row in rows.items():
            # the CLI writes its table with SIGNIFICANT_DIGITS (report.tables.write_table): the same numbers, rounded
            expected = _rounded(want[role]) if door == "cli" else want[role]
            problems += _agree(f"{door} {role}", {n: float(row[n]) for n in METRIC_NAMES}, expected)
            if row["settings_hash"] != DEFAULT_CONFIG.settings_hash:
                problems.append(f"{door} {role} settings_hash: {row['settings_hash']} != {DEFAULT_CONFIG.settings_hash}")
            assert pd.isna(row["error"]), row["error"]

    # The records (what the app stores when a provider adds photos) and the app's measurement.
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    records = _staff(tmp_path / "data")
    try:
        patient = records.add_patient(T, "P-DOORS")
        area = records.add_area(T, patient.id, "scar")  # not a face zone: the whole photo, as in batch
        stored = {}
        for role, photo, date in (("baseline", BASELINE, "2026-05-04"), ("follow-up", FOLLOW_UP, "2026-06-01")):
            session = records.add_session(T, patient.id, date, "micro-needling")
            stored[role] = records.add_photo(T, session.id, area.id, photo.read_bytes())
        for role, view in stored.items():
            view = records.get_photo(T, view.id)
            problems += _agree(f"records {role}", dict(view.scores), want[role])
            assert view.settings_hash == DEFAULT_CONFIG.settings_hash
            problems += _agree(f"app {role}", _app_metrics(view.id), want[role])
    finally:
        records.close()
    assert not problems, "\n".join(problems)
