"""Reports and exports: tables (CSV / Parquet) shared by every door that writes one."""

from .tables import escape_cell, read_table, table_bytes, write_table

__all__ = ["escape_cell", "read_table", "table_bytes", "write_table"]
