"""The one table writer: CSV or Parquet, written whole, text cells safe to open in a spreadsheet.

Every export that produces a table (``skintrack score`` / ``course``, the app's
Export page, reports) writes it through :func:`write_table` or
:func:`table_bytes`, so the rules hold everywhere:

* **Formula injection**: a spreadsheet runs a cell that starts with ``=``,
  ``+``, ``-``, ``@`` (or a tab / carriage return followed by one) as a
  formula, so a patient code ``=HYPERLINK(...)`` or a file named
  ``=1+2.jpg`` would execute on the clinic's computer. A reader may also split
  a field on ``;`` or a tab (a spreadsheet set to another separator), so a
  field ``a;=cmd|...`` becomes a cell ``=cmd|...`` there. In CSV every *text*
  field gets an apostrophe before every piece that starts like a formula and
  that a ``,``, ``;``, tab or line break could make a cell of its own
  (OWASP's recommendation, applied to every separator); numbers stay
  numbers. Parquet keeps types and is never evaluated, so its text is
  written as is.
* **Whole files**: the table is written to a unique temporary file beside the
  target and renamed over it, so an interrupted run never leaves half a table.
* **Sensible rounding**: measures come out of float32 maths with digits that
  mean nothing (``14.197359085083008``); every column of non-integer floats is
  rounded to :data:`SIGNIFICANT_DIGITS` significant digits (``14.2``,
  ``0.03417``), well below any measure's noise. Integer-valued columns (pixel
  counts, spot counts) are left exact. CSV and Parquet hold the same values.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "SIGNIFICANT_DIGITS",
    "escape_cell",
    "escape_text_cells",
    "read_table",
    "round_floats",
    "table_bytes",
    "unescape_cell",
    "write_table",
]

#: Characters that make a spreadsheet evaluate a cell (tab and CR can hide one).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Characters a CSV reader may split a field at: the separators spreadsheets offer and line breaks.
SEPARATORS = ",;\t\r\n"
# A piece of a field that starts like a formula: at the start or after a separator, any spaces and
# apostrophes already there (escaped too, so unescaping is exact), then a formula character.
_RISKY = re.compile(r"(^|[,;\t\r\n])(?=[ ']*[=+\-@\t\r])")
_ESCAPED = re.compile(r"(^|[,;\t\r\n])'(?=[ ']*[=+\-@\t\r])")
#: Significant digits kept in float columns (see the module docstring).
SIGNIFICANT_DIGITS = 4


def escape_cell(value: Any) -> Any:
    """``value`` made safe for a CSV cell, whatever separator the reader splits at.

    Text gets an apostrophe before every piece that starts like a formula
    (``=``, ``+``, ``-``, ``@``, tab, CR, after optional spaces): the piece at
    its start and every piece after a ``,``, ``;``, tab or line break, where a
    reader using that separator would start a new cell. Apostrophes already
    there are kept and count as part of the piece, so :func:`unescape_cell`
    gives back exactly the original. Non-text values (numbers, NaN, None,
    dates) are returned unchanged.
    """
    if isinstance(value, str):
        return _RISKY.sub(r"\1'", value)
    return value


def unescape_cell(value: Any) -> Any:
    """The inverse of :func:`escape_cell`, for reading back a table this module wrote."""
    if isinstance(value, str):
        return _ESCAPED.sub(r"\1", value)
    return value


def escape_text_cells(table: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``table`` whose text cells (and column names) pass through :func:`escape_cell`."""
    import pandas as pd

    escaped = table.copy()
    for column in escaped.columns:
        series = escaped[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            escaped[column] = series.map(escape_cell).astype(object)
    escaped.columns = [escape_cell(str(c)) for c in escaped.columns]
    return escaped


def round_floats(table: "pd.DataFrame", significant: int | None = SIGNIFICANT_DIGITS) -> "pd.DataFrame":
    """A copy of ``table`` whose non-integer float columns keep ``significant`` significant digits.

    ``x`` becomes ``round(x, significant - 1 - floor(log10|x|))``; NaN, ±inf and
    0 stay as they are. Columns whose finite values are all whole numbers are
    not touched, so counts stay exact. ``significant=None`` returns the table
    unchanged.
    """
    import numpy as np
    import pandas as pd

    if significant is None:
        return table
    if significant < 1:
        raise ValueError("significant must be at least 1.")
    rounded = table.copy()
    for column in rounded.columns:
        series = rounded[column]
        if not pd.api.types.is_float_dtype(series):
            continue
        values = series.to_numpy(dtype=np.float64, copy=True)
        finite = np.isfinite(values) & (values != 0)
        if not finite.any() or np.all(values[finite] == np.round(values[finite])):
            continue
        decimals = significant - 1 - np.floor(np.log10(np.abs(values[finite]))).astype(int)
        values[finite] = _round(values[finite], decimals)
        rounded[column] = pd.Series(values, index=series.index, dtype=series.dtype)
    return rounded


def _round(values, decimals):
    # Dividing a whole number by an exact power of ten gives the double nearest the decimal
    # (14.2, not 14.200000000000001); multiplying by 0.01 would not.
    import numpy as np

    up = 10.0 ** np.maximum(decimals, 0)
    down = 10.0 ** np.maximum(-decimals, 0)
    return np.where(decimals >= 0, np.round(values * up) / up, np.round(values / down) * down)


def _format(path: Path | None, format: str | None) -> str:
    if format:
        fmt = format.lower()
    elif path is not None and path.suffix.lower() == ".parquet":
        fmt = "parquet"
    else:
        fmt = "csv"
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"Unknown table format {format!r}; use csv or parquet.")
    return fmt


def table_bytes(table: "pd.DataFrame", format: str = "csv", *, significant: int | None = SIGNIFICANT_DIGITS) -> bytes:
    """The table encoded as CSV (text cells escaped) or Parquet, e.g. for a download button.

    Floats are rounded with :func:`round_floats` (``significant=None`` keeps every digit).
    """
    fmt = _format(None, format)
    table = round_floats(table, significant)
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return escape_text_cells(table).to_csv(index=False).encode("utf-8")


def write_table(
    table: "pd.DataFrame",
    output: str | os.PathLike | None,
    format: str | None = None,
    *,
    significant: int | None = SIGNIFICANT_DIGITS,
) -> None:
    """Write ``table`` to ``output`` (``.csv`` or ``.parquet``), or as CSV to stdout when ``output`` is None.

    The file is written to a unique temporary file beside ``output`` and
    renamed over it: a crash never leaves half a table, and two runs writing
    the same output never mix their rows. Floats are rounded with
    :func:`round_floats` (``significant=None`` keeps every digit).
    """
    table = round_floats(table, significant)
    if output is None:
        sys.stdout.write(escape_text_cells(table).to_csv(index=False))
        return
    output = Path(output)
    fmt = _format(output, format)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        if fmt == "parquet":
            table.to_parquet(temporary, index=False)
        else:
            temporary.write_text(escape_text_cells(table).to_csv(index=False), encoding="utf-8")
        temporary.replace(output)
    finally:
        temporary.unlink(missing_ok=True)


def read_table(path: str | os.PathLike) -> "pd.DataFrame":
    """Read a table written by :func:`write_table` (CSV text cells un-escaped)."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    table = pd.read_csv(path)
    for column in table.columns:
        if pd.api.types.is_object_dtype(table[column]) or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(unescape_cell)
    table.columns = [unescape_cell(c) for c in table.columns]
    return table
