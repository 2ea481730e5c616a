"""The shared table writer (skintrack/report/tables.py): formula injection, whole files, round trip."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from skintrack.report.tables import escape_cell, read_table, table_bytes, write_table


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_starts_like_a_formula_is_escaped(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["P-0042", "left cheek", "", 3, -2.5, None])
def test_ordinary_values_are_unchanged(value):
    assert escape_cell(value) == value


def _table():
    return pd.DataFrame({"patient_code": ["=HYPERLINK(\"x\")", "P-1"], "path": ["=1+2.jpg", "a.jpg"], "change": [-1.5, 2.0]})


def test_csv_escapes_text_cells_and_keeps_numbers_numbers(tmp_path):
    out = tmp_path / "t.csv"
    write_table(_table(), out)
    raw = out.read_text().splitlines()
    assert raw[1].startswith("\"'=HYPERLINK")
    assert ",'=1+2.jpg," in raw[1] and raw[1].endswith(",-1.5")  # the number is not quoted or escaped
    assert b"'=1+2.jpg" in table_bytes(_table(), "csv")


def test_reading_back_undoes_the_escape(tmp_path):
    out = tmp_path / "t.csv"
    write_table(_table(), out)
    back = read_table(out)
    assert back["path"].tolist() == ["=1+2.jpg", "a.jpg"]
    assert math.isclose(back["change"][0], -1.5)


def test_parquet_keeps_text_as_is(tmp_path):
    out = tmp_path / "t.parquet"
    write_table(_table(), out)
    assert pd.read_parquet(out)["path"].tolist() == ["=1+2.jpg", "a.jpg"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    out.write_text("old\n")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        write_table(_table(), out)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
