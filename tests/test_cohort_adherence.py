"""skintrack.cohort.adherence and .summary: spacing protocols, the share of courses within them, filters."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from skintrack.cohort import PROTOCOLS, Protocol, adherence_summary, filter_table, parse_protocol, protocols
from skintrack.cohort.adherence import course_adherence
from skintrack.cohort.simulate import simulate_cohort
from skintrack.progress import MIN_SPACING_DAYS


def test_default_protocols_start_where_the_spacing_warning_stops():
    # A course within its protocol never gets a spacing warning on the Progress page.
    for kind, protocol in PROTOCOLS.items():
        assert protocol.min_days == MIN_SPACING_DAYS[kind]
    assert PROTOCOLS["micro-needling"].words == "4-6 weeks" and PROTOCOLS["peel"].words == "2-4 weeks"


def test_protocols_are_configurable():
    chosen = protocols({"micro-needling": (21, 35), "RF": Protocol("RF", 30, 40)})
    assert (chosen["micro-needling"].min_days, chosen["micro-needling"].max_days) == (21, 35)
    assert chosen["RF"].max_days == 40 and chosen["laser"] == PROTOCOLS["laser"]
    assert parse_protocol("micro-needling=28-42") == Protocol("micro-needling", 28, 42)
    assert parse_protocol(" peel = 2-4w ") == Protocol("peel", 14, 28)
    assert parse_protocol("laser=4-8 weeks") == Protocol("laser", 28, 56)
    for bad in ("micro-needling", "laser=a-b", "=1-2", "laser=4"):
        with pytest.raises(ValueError):
            parse_protocol(bad)
    with pytest.raises(ValueError):
        Protocol("laser", 40, 20)
    with pytest.raises(ValueError):
        Protocol("laser", 0, 20)


def test_a_course_is_within_protocol_only_when_every_interval_is():
    day = dt.date(2026, 1, 5)
    mn = PROTOCOLS["micro-needling"]
    dates = [day + dt.timedelta(days=d) for d in (0, 28, 70)]  # 28 and 42 days: both within, edges included
    assert course_adherence(dates, mn) == (35.0, True)
    dates = [day + dt.timedelta(days=d) for d in (0, 28, 49, 91)]  # one interval of 21 days
    assert course_adherence(dates, mn)[1] is False
    mean, within = course_adherence([day], mn)
    assert math.isnan(mean) and within is None  # one session: no interval, not counted
    assert course_adherence([day, day + dt.timedelta(days=30)], None) == (30.0, None)


def test_share_of_courses_within_protocol():
    table = simulate_cohort(30, 3)
    summary = adherence_summary(table).set_index("treatment")
    courses = table.groupby("patient").first()
    for kind in ("micro-needling", "laser"):
        mine = courses[courses["treatment"] == kind]
        within = int(mine["within_protocol"].sum())
        assert summary.loc[kind, "courses"] == len(mine) == summary.loc[kind, "courses_judged"]
        assert summary.loc[kind, "within_protocol"] == within
        assert summary.loc[kind, "share_within"] == pytest.approx(within / len(mine))
    assert summary.loc["micro-needling", "protocol"] == "4-6 weeks"
    # Courses of one session are not judged.
    table.loc[table["patient"] == "SIM-001", "within_protocol"] = pd.NA
    again = adherence_summary(table).set_index("treatment")
    assert again.loc["micro-needling", "courses_judged"] == summary.loc["micro-needling", "courses_judged"] - 1


def test_filters():
    table = simulate_cohort(12, 1)
    table["fitzpatrick"] = pd.array([1 + i % 6 for i in range(len(table))], dtype="Int64")
    assert set(filter_table(table, treatments=["laser"])["treatment"]) == {"laser"}
    assert set(filter_table(table, fitzpatrick=[2, 3])["fitzpatrick"]) == {2, 3}
    assert filter_table(table, areas=["forehead"]).empty
    assert len(filter_table(table)) == len(table)
    table.attrs["consent"] = "teaching"
    assert filter_table(table, treatments=["laser"]).attrs["consent"] == "teaching"
