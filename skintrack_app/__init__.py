"""The Streamlit front end: pages over the engine and skintrack.records (no metric or SQL code here)."""
