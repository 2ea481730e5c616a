"""skintrack: the provider app (Streamlit). A thin layer over the engine and skintrack.records.

Run with ``make run`` (or ``streamlit run app.py``); data live in ``$SKINTRACK_DATA``.
"""

import streamlit as st

from skintrack_app import state
from skintrack_app.pages import compare, export, new_session, patients, progress_page

st.set_page_config(page_title="skintrack", page_icon="🩺", layout="wide")
st.sidebar.title("skintrack")
st.sidebar.caption("Before/after skin measurements. Not a medical device; not for diagnosis.")
state.provider_name_widget()
state.ensure_demo()

pages = [
    st.Page(patients.render, title="Patients", url_path="patients", default=True),
    st.Page(new_session.render, title="New session", url_path="new-session"),
    st.Page(compare.render, title="Compare", url_path="compare"),
    st.Page(progress_page.render, title="Progress", url_path="progress"),
    st.Page(export.render, title="Export", url_path="export"),
]
st.navigation(pages).run()
