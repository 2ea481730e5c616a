"""skintrack: the app (Streamlit). A thin layer over the engine and skintrack.records.

Run with ``make run`` (or ``streamlit run app.py``); data live in ``$SKINTRACK_DATA``.
The log-in page comes first: nothing about any patient is shown before it. Each
role gets its own pages; a page that is not in a user's navigation cannot be
opened by its URL either (and every page checks the role again itself).
"""

import datetime as dt
import importlib

import streamlit as st

from skintrack_app import components, state
from skintrack_app.pages import login


def _lazy(module: str):
    """A page's render function, imported on first use: the log-in page (the cold first load) does not
    wait for the imports of pages it does not show (pandas, Altair, OpenCV drawing…)."""

    def render() -> None:
        importlib.import_module(f"skintrack_app.pages.{module}").render()

    render.__name__ = module
    return render


st.set_page_config(page_title="skintrack", page_icon="🩺", layout="wide")
state.ensure_demo()
state.refuse_demo_accounts_in_production()
me = state.begin_run()

#: Every page's address (for bookmarks and reloads: see below).
PAGE_PATHS = ("patients", "new-session", "photos", "region", "compare", "progress", "export", "accounts", "audit",
              "my-account", "my-progress")  # fmt: skip


def _log_in_at(path: str):
    def render() -> None:
        login.render()

    render.__name__ = f"log_in_{path.replace('-', '_')}"
    return render


if me is None:
    # A bookmarked or reloaded page's address shows the log-in form there (not "Page not found"): after
    # logging in, the address is still the page asked for, and the signed-in navigation opens it.
    st.set_page_config(layout="centered")
    entry = [st.Page(login.render, title="Log in", url_path="login", default=True)]
    entry += [st.Page(_log_in_at(path), title="Log in", url_path=path) for path in PAGE_PATHS]
    st.navigation(entry, position="hidden").run()
    st.stop()

if me.role == "patient":
    st.set_page_config(layout="centered", initial_sidebar_state="collapsed")  # mobile first
    pages = [
        st.Page(_lazy("portal"), title="My progress", url_path="my-progress", default=True),
        st.Page(_lazy("my_account"), title="My account", url_path="my-account"),
    ]
else:
    pages = [
        st.Page(_lazy("patients"), title="Patients", url_path="patients", default=True),
        st.Page(_lazy("new_session"), title="New session", url_path="new-session"),
        st.Page(_lazy("photos"), title="Photos", url_path="photos"),
        st.Page(_lazy("region"), title="Region", url_path="region"),
        st.Page(_lazy("compare"), title="Compare", url_path="compare"),
        st.Page(_lazy("progress_page"), title="Progress", url_path="progress"),
        st.Page(_lazy("export"), title="Export", url_path="export"),
        st.Page(_lazy("outcomes"), title="Outcomes", url_path="outcomes"),  # across patients (skintrack.cohort)
    ]
    if me.role == "admin":
        pages += [
            st.Page(_lazy("accounts"), title="Accounts", url_path="accounts"),
            st.Page(_lazy("audit"), title="Audit", url_path="audit"),
        ]
    pages.append(st.Page(_lazy("my_account"), title="My account", url_path="my-account"))

st.sidebar.title("skintrack")
st.sidebar.caption("Before/after skin measurements. Not a medical device; not for diagnosis.")
st.sidebar.text(f"Signed in: {me.name} ({me.role})")
whose_record = st.sidebar.empty()  # filled in after the page has run: it may have chosen the patient


def _name_the_patient() -> None:
    """Whose record the clinical pages show, in the sidebar (as text, never markup)."""
    if me.role == "patient":
        return
    from skintrack_app import widgets

    patient = widgets.selected_patient()
    whose_record.text(f"Patient: {patient.code} — {patient.display_name}" if patient else "Patient: none selected")


_name_the_patient()
st.sidebar.button("Log out", key="logout", on_click=state.sign_out)


@st.fragment(run_every=dt.timedelta(seconds=min(60.0, state.idle_minutes() * 30)))
def _idle_timer() -> None:
    """Clears an unattended screen: after the idle timeout the whole app runs again and signs out."""
    if state.idle_expired():
        st.rerun(scope="app")


with st.sidebar:
    _idle_timer()
    components.close_sidebar_on_narrow_screens()  # on a phone the sidebar must not stay over the page

st.navigation(pages).run()
_name_the_patient()  # again: the page may have changed the selection (the Patients page picks one)
