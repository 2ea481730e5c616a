"""Summaries of the cohort table: adherence to protocol, filters, and writing it with its dictionary."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from ..jsonsafe import plain
from .adherence import Protocol
from .adherence import protocols as with_overrides
from .dictionary import data_dictionary

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["adherence_summary", "courses", "filter_table", "write_cohort", "dictionary_path"]

_COURSE = ["patient", "area", "treatment"]


def courses(table: "pd.DataFrame") -> "pd.DataFrame":
    """One row per course (patient x area x treatment): its spacing, adherence, sessions and last visit."""
    import pandas as pd

    if table.empty:
        return pd.DataFrame(columns=_COURSE + ["setting_bin", "course_spacing_days", "within_protocol", "sessions", "visits"])
    grouped = table.groupby(_COURSE, sort=True, dropna=False)
    return grouped.agg(
        setting_bin=("setting_bin", "first"),
        course_spacing_days=("course_spacing_days", "first"),
        within_protocol=("within_protocol", "first"),
        sessions=("treatments_before", "max"),
        visits=("visit_number", "max"),
    ).reset_index()


def adherence_summary(table: "pd.DataFrame", protocols: Mapping[str, Protocol | tuple[int, int]] | None = None) -> "pd.DataFrame":
    """Per treatment: the protocol, the courses with at least two sessions, how many kept to it, and the share.

    The table's ``within_protocol`` was decided with the protocols it was built with
    (``table.attrs["protocols"]``); ``protocols`` only names them here.
    """
    import pandas as pd

    chosen = with_overrides(protocols)
    course = courses(table)
    rows = []
    for treatment, group in course.groupby("treatment", sort=True):
        judged = group["within_protocol"].dropna()
        protocol = chosen.get(treatment)
        within = int(judged.astype(bool).sum())
        rows.append({
            "treatment": treatment,
            "protocol": protocol.words if protocol else "none set",
            "courses": int(len(group)),
            "courses_judged": int(len(judged)),
            "within_protocol": within,
            "share_within": within / len(judged) if len(judged) else float("nan"),
            "median_spacing_days": float(group["course_spacing_days"].median()),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["treatment", "protocol", "courses", "courses_judged", "within_protocol",
                                       "share_within", "median_spacing_days"])  # fmt: skip


def filter_table(
    table: "pd.DataFrame",
    *,
    treatments: Iterable[str] | None = None,
    areas: Iterable[str] | None = None,
    fitzpatrick: Iterable[int] | None = None,
    ita_groups: Iterable[str] | None = None,
    measures: Iterable[str] | None = None,
) -> "pd.DataFrame":
    """The rows of ``table`` matching every filter given (``None`` or empty: no filter on that column)."""
    mask = table["patient"].notna()
    for column, values in (("treatment", treatments), ("area", areas), ("ita_group", ita_groups), ("measure", measures)):
        if values:
            mask &= table[column].isin(list(values))
    if fitzpatrick:
        mask &= table["fitzpatrick"].isin([int(v) for v in fitzpatrick]).fillna(False).astype(bool)
    out = table[mask].reset_index(drop=True)
    out.attrs = dict(table.attrs)
    return out


def dictionary_path(output: str | os.PathLike) -> Path:
    """Where the dictionary of a table written to ``output`` goes: ``cohort.parquet`` → ``cohort.dictionary.json``."""
    output = Path(output)
    return output.with_name(output.stem + ".dictionary.json")


def write_cohort(table: "pd.DataFrame", output: str | os.PathLike) -> Path:
    """Write the table (``.parquet`` or ``.csv``, every digit kept) and its data dictionary beside it.

    The dictionary (JSON) holds the columns, the measures (units, directions, definitions from the
    engine) and the table's provenance (``table.attrs``). Both files are written whole (temporary
    file, then renamed). Returns the dictionary's path.
    """
    from ..report.tables import write_table

    write_table(table, output, significant=None)
    path = dictionary_path(output)
    dictionary = {**data_dictionary(), "provenance": plain(table.attrs)}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(dictionary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path
