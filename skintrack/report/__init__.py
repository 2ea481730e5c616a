"""Reports and exports: the PDF report, the scores table (CSV / Parquet, one writer shared with
batch scoring), the de-identified teaching set and DICOM for hospital records.

=====================  ======================================================
``build_pdf``          the PDF report of one treated area (``pdf.py``)
``scores_table``       every photo × measure with change, noise and verdict
``write_table``        the one CSV / Parquet writer (``tables.py``)
``export_teaching_set``  de-identified teaching / publication zip
``export_session_dicom``  a session's photos as DICOM VL Photographic Images
``Clinic``             the clinic's name and logo (``clinic.py``)
=====================  ======================================================

Heavier libraries (reportlab, pydicom) are imported only when a report or a
DICOM file is made.
"""

from .tables import escape_cell, read_table, round_floats, table_bytes, write_table

__all__ = [
    "Clinic",
    "build_pdf",
    "escape_cell",
    "export_session_dicom",
    "export_teaching_set",
    "read_table",
    "round_floats",
    "scores_table",
    "table_bytes",
    "write_table",
]

_LAZY = {
    "build_pdf": ".pdf",
    "Clinic": ".clinic",
    "scores_table": ".scores",
    "export_teaching_set": ".teaching",
    "export_session_dicom": ".dicom",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'skintrack.report' has no attribute {name!r}")
