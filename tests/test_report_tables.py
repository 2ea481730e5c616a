"""The shared table writer (skintrack/report/tables.py): formula injection, whole files, round trip."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from skintrack.report.tables import escape_cell, read_table, round_floats, table_bytes, write_table


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+2", "-3+4", "@SUM(A1)"])
def test_text_that_starts_like_a_formula_is_escaped(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("text, escaped", [("\t=1", "'\t'=1"), ("\r=1", "'\r'=1")])
def test_a_hidden_formula_after_a_tab_or_return_is_escaped_too(text, escaped):
    # The tab starts a formula for some readers and splits the cell for others: both pieces are escaped.
    assert escape_cell(text) == escaped


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


# --------------------------------------------------------------------------- rounding


def test_floats_are_rounded_to_four_significant_digits():
    table = pd.DataFrame({"value": [14.197359085083008, -0.000123456, 123456.7, math.nan, 0.0]})
    rounded = round_floats(table)["value"].tolist()
    assert rounded[:3] == [14.2, -0.0001235, 123500.0]
    assert math.isnan(rounded[3]) and rounded[4] == 0.0
    assert "14.197359085083008" not in table_bytes(table).decode() and "14.2" in table_bytes(table).decode()


def test_whole_number_columns_and_text_are_not_rounded():
    table = pd.DataFrame({"pixels": [786432.0, 12345678.0, math.nan], "code": ["P-1", "=x", "y"], "n": [1, 2, 3]})
    out = round_floats(table)
    assert out["pixels"].tolist()[:2] == [786432.0, 12345678.0] and out["n"].tolist() == [1, 2, 3]
    assert out["code"].tolist() == ["P-1", "=x", "y"]


def test_csv_and_parquet_hold_the_same_rounded_values(tmp_path):
    table = pd.DataFrame({"value": [1.23456789, 2.5e-7]})
    write_table(table, tmp_path / "t.csv")
    write_table(table, tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.csv")["value"].tolist() == read_table(tmp_path / "t.parquet")["value"].tolist() == [1.235, 2.5e-7]
    write_table(table, tmp_path / "full.parquet", significant=None)
    assert read_table(tmp_path / "full.parquet")["value"].tolist() == [1.23456789, 2.5e-7]
    with pytest.raises(ValueError):
        round_floats(table, 0)


HOSTILE_FIELDS = ["a;=2+3", "x;=cmd|' /C calc'!A0", "note\t=1+1", "P-1; -2+3", "ok,@SUM(A1)", "line\n=1", "a; '=1",
                  "'=already", "tab\t\t+1", "plain; text, fine"]  # fmt: skip


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_cell_starts_like_a_formula_whatever_separator_the_reader_uses(delimiter):
    """Issue 22 item 13: a reader splitting at ';' or tab must not find a formula inside a field."""
    import csv
    import io

    table = pd.DataFrame({"patient_code": HOSTILE_FIELDS, "value": [1.5] * len(HOSTILE_FIELDS)})
    text = table_bytes(table, "csv").decode()
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "@")), (delimiter, cell)
            assert not cell.lstrip(" ").startswith("-") or cell.strip() == "-" or _number(cell), (delimiter, cell)
    # A reader that ignores quotes entirely (splitting the raw text) finds none either.
    for line in text.splitlines():
        for cell in line.replace(";", ",").replace("\t", ",").split(","):
            assert not cell.strip(' "').startswith(("=", "+", "@")), cell


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_every_escape_reads_back_exactly(tmp_path):
    table = pd.DataFrame({"text": HOSTILE_FIELDS, "n": range(len(HOSTILE_FIELDS))})
    out = tmp_path / "h.csv"
    write_table(table, out)
    assert read_table(out)["text"].tolist() == HOSTILE_FIELDS


def test_escaping_is_exactly_undone_for_any_mix_of_spaces_apostrophes_and_separators():
    """Review of issue 22: an apostrophe then a space then a formula character ("' =1", a note) was not escaped
    but was un-escaped on reading, so a table read back lost the apostrophe."""
    import random

    from skintrack.report.tables import unescape_cell

    for text in ("' =1", "' \t", "\r\n' -", "a;' @x", "'' =1"):
        assert unescape_cell(escape_cell(text)) == text, repr(text)
    rng = random.Random(22)
    for _ in range(20_000):
        text = "".join(rng.choice(" ',;\t\r\n=+-@a") for _ in range(rng.randint(0, 8)))
        escaped = escape_cell(text)
        assert unescape_cell(escaped) == text, repr(text)
        for separator in ",;\t\r\n":
            assert not any(p.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")) for p in escaped.split(separator)), repr(text)
