"""Reports and exports: the PDF report, the scores table (CSV / Parquet, one writer shared with
batch scoring), the de-identified teaching set and DICOM for hospital records.

Heavier libraries (reportlab, pydicom) are imported only when a report or a
DICOM file is made.
"""

from .tables import escape_cell, read_table, round_floats, table_bytes, write_table

__all__ = [
    "Clinic",
    "build_pdf",
    "escape_cell",
    "read_table",
    "round_floats",
    "scores_table",
    "table_bytes",
    "write_table",
]


def __getattr__(name: str):
    if name == "build_pdf":
        from .pdf import build_pdf

        return build_pdf
    if name == "Clinic":
        from .clinic import Clinic

        return Clinic
    if name == "scores_table":
        from .scores import scores_table

        return scores_table
    raise AttributeError(f"module 'skintrack.report' has no attribute {name!r}")
