"""User text is shown as text in the app (skintrack_app/text.py and every page), issue 12 item 10.

Every piece of text a person can type — patient code, name and notes, area names, session provider and
notes, upload file names — is planted here with Markdown, HTML, links, images, math and Streamlit
directives in it. Then every page is run with Streamlit's AppTest, and every string that Streamlit renders
as Markdown (headers, markdown, captions, alerts, image captions, progress text, metrics, widget labels
and help, radio options, expander labels, toasts) is checked: the planted text may appear there only
escaped (``skintrack_app.text.md``), never as it was typed. Plain-text places (tables, select box options,
text inputs) show it as typed.

The checks walk whatever elements a page produces, so a page added or reworked later is covered as long
as it renders through these element types: new pages should keep passing these tests unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from streamlit.testing.v1 import AppTest

from skintrack.records import Actor
from skintrack_app.text import WORD_JOINER, md, safe_file_name

from .conftest import REPO
from .test_app import _page, _staff, after_a_while, uploader

SAMPLES = REPO / "sample_images"
ME = Actor("Dr Test")

HOSTILE = {
    "code": "P-![x](https://tracker.example/code.png)",
    "name": "**Ann** [click](https://evil.example) <img src=https://tracker.example/n.png> $x^2$ :red[red] www.evil.example",
    "notes": "# Big\n- item <script>alert(1)</script> ![n](https://tracker.example/notes.png)",
    "area": "cheek ![a](https://tracker.example/area.png)",
    "provider": "Dr [x](https://evil.example) `code`",
    "session_notes": "![s](https://tracker.example/session.png)\n> quote",
    "upload": "![u](https://tracker.example/upload.png) <b>x</b>.jpg",
    "broken_upload": "[broken](https://evil.example) _x_.jpg",
}

#: Proto fields that Streamlit renders as Markdown (for every element type not listed as plain below).
MARKDOWN_FIELDS = {"body", "label", "text", "caption", "help", "delta", "captions"}
#: Element types whose text is shown as is.
PLAIN_ELEMENTS = {"text", "code", "json", "dataframe", "arrow_data_frame", "table", "exception"}
#: Element types whose ``options`` are rendered as Markdown.
MARKDOWN_OPTIONS = {"radio", "segmented_control", "pills", "checkbox_group"}


def _markdown_strings(at: AppTest) -> list[tuple[str, str]]:
    """Every ``(element type, string)`` the app would render as Markdown, in the main area and the sidebar."""
    found: list[tuple[str, str]] = []

    def from_proto(kind: str, message) -> None:
        for descriptor, value in message.ListFields():
            name = descriptor.name
            if isinstance(value, (str, bytes, int, float)) or hasattr(value, "ListFields"):
                values = [value]
            else:  # a repeated field
                values = list(value)
            for item in values:
                if hasattr(item, "ListFields"):
                    from_proto(kind, item)
                elif isinstance(item, str) and (name in MARKDOWN_FIELDS or (name == "options" and kind in MARKDOWN_OPTIONS)):
                    found.append((kind, item))

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if proto is not None and child.type not in PLAIN_ELEMENTS and hasattr(proto, "ListFields"):
                from_proto(child.type, proto)
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return found


def _plain_strings(at: AppTest) -> str:
    """All text of the page's elements, as one string (to check that the planted text is shown at all)."""
    parts = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if proto is not None:
                parts.append(str(proto))
            if child.type == "dataframe":
                parts.append(child.value.to_csv())
            walk(child)

    walk(at.main)
    return "\n".join(parts)


def _assert_only_escaped(at: AppTest, *planted: str) -> None:
    assert not at.exception, at.exception
    strings = _markdown_strings(at)
    assert strings, "the page rendered no Markdown at all: the walker found nothing to check"
    for text in planted:
        for kind, string in strings:
            assert text not in string, f"{kind} renders user text as Markdown: {string!r}"
            for line in text.splitlines():  # each line of a multi-line text, too
                if len(line) > 8:
                    assert line not in string, f"{kind} renders user text as Markdown: {string!r}"
        for kind, string in strings:
            assert not re.search(r"(?<!\\)!\[", string), f"{kind} holds an unescaped image: {string!r}"
            assert not re.search(r"(?<!\\)\]\((?!\))", string), f"{kind} holds an unescaped link: {string!r}"
            assert not re.search(r"(?<!\\)<[a-zA-Z/]", string), f"{kind} holds unescaped HTML: {string!r}"


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory):
    """A data folder with one patient whose every text field is hostile, two measured sessions."""
    folder = tmp_path_factory.mktemp("hostile-app")
    records = _staff(folder)
    patient = records.add_patient(ME, HOSTILE["code"], HOSTILE["name"], notes=HOSTILE["notes"])
    area = records.add_area(ME, patient.id, HOSTILE["area"])
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-09-28", "2026-09-28_left-cheek.jpg")):
        session = records.add_session(ME, patient.id, date, "micro-needling", provider=HOSTILE["provider"],
                                      notes=HOSTILE["session_notes"])  # fmt: skip
        records.add_photo(ME, session.id, area.id, SAMPLES / name)
    records.close()
    return folder, patient.id


# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    "text", list(HOSTILE.values()) + ["1. list", "a_b_c", "&lt;img&gt;", ":material/home:", "\\", "ann@example.org", "WWW.X.org"]
)
def test_md_escapes_every_markdown_character_and_keeps_the_text(text):
    escaped = md(text)
    assert "\n" not in escaped and "\r" not in escaped
    # Every ASCII punctuation character is escaped, so none can open any Markdown construct...
    assert re.fullmatch(r"(?:\\[!-/:-@\[-`{-~]|[^!-/:-@\[-`{-~])*", escaped), escaped
    # ...no autolink can be found once the escapes are gone...
    unescaped = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", escaped)
    assert not re.search(r"(?i)https?://|www\.|@\w", unescaped), unescaped
    # ...and without the escapes and word joiners it is the text (line breaks shown as spaces).
    assert unescaped.replace(WORD_JOINER, "") == re.sub(r"[\r\n]+", " ", text)


def test_download_file_names_are_reduced_to_safe_characters():
    assert safe_file_name(HOSTILE["code"]) == "P-_x_https_tracker.example_code.png"
    assert safe_file_name("../../etc/passwd") == "etc_passwd"
    assert safe_file_name("=cmd|'calc'!A1") == "cmd_calc_A1"
    assert safe_file_name("...", "patient") == "patient"


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", ["patients", "new_session", "photos", "region", "compare", "progress_page", "export"])
def test_every_page_shows_the_hostile_patient_as_text(hostile_data, monkeypatch, page):
    folder, patient_id = hostile_data
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page(page, patient_id).run()
    _assert_only_escaped(at, *HOSTILE.values())
    shown = _plain_strings(at)
    if page in ("patients", "new_session"):
        assert md(HOSTILE["code"]).replace("\\", "\\\\") in shown or HOSTILE["code"] in shown


def test_the_patients_page_shows_code_name_and_area_escaped(hostile_data, monkeypatch):
    folder, patient_id = hostile_data
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("patients", patient_id).run()
    assert at.subheader[0].value == f"{md(HOSTILE['code'])} — {md(HOSTILE['name'])}"
    assert md(HOSTILE["area"]) in " ".join(m.value for m in at.markdown)
    assert at.dataframe[0].value["code"].tolist() == [HOSTILE["code"]]  # tables show it exactly as typed


def test_messages_that_quote_user_text_are_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    _staff(tmp_path).close()
    at = _page("patients", None).run()
    at.text_input(key="new_patient_code").input(HOSTILE["code"])
    at.text_input(key="new_patient_name").input(HOSTILE["name"])
    at.button(key="create_patient").click().run()
    _assert_only_escaped(at, HOSTILE["code"], HOSTILE["name"])  # "Patient … created."
    assert any(md(HOSTILE["code"]) in s.value for s in at.success)
    after_a_while()  # typed again, not a double click
    at.text_input(key="new_patient_code").input(HOSTILE["code"])
    at.button(key="create_patient").click().run()  # the same code again: "… already exists."
    _assert_only_escaped(at, HOSTILE["code"])
    assert any("already exists" in e.value for e in at.error)
    at.text_input(key="new_area_name").input(HOSTILE["area"])
    at.button(key="add_area").click().run()
    _assert_only_escaped(at, HOSTILE["area"])


def test_upload_names_and_session_fields_are_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    records = _staff(tmp_path)
    patient = records.add_patient(ME, HOSTILE["code"], HOSTILE["name"])
    at = _page("new_session", patient.id).run()
    at.date_input(key="session_date").set_value(dt.date(2026, 5, 4))
    at.text_input(key="session_provider").input(HOSTILE["provider"])
    at.text_area(key="session_notes").input(HOSTILE["session_notes"])
    at.button(key="create_session").click().run()
    _assert_only_escaped(at, HOSTILE["provider"], HOSTILE["session_notes"])
    after_a_while()  # typed again, not a double click
    at.button(key="open_new_visit").click().run()  # the same visit again: an error quoting nothing raw
    at.date_input(key="session_date").set_value(dt.date(2026, 5, 4))
    at.text_input(key="session_provider").input(HOSTILE["provider"])
    at.text_area(key="session_notes").input(HOSTILE["session_notes"])
    at.button(key="create_session").click().run()
    assert any("already recorded" in e.value for e in at.error)
    _assert_only_escaped(at, HOSTILE["provider"], HOSTILE["session_notes"])
    at.button(key="cancel_session").click().run()
    at.selectbox(key="upload_area").select("+ new area…")
    at.text_input(key="upload_new_area").input(HOSTILE["area"])
    uploader(at).set_value(
        [
            (HOSTILE["upload"], (SAMPLES / "2026-05-04_left-cheek.jpg").read_bytes(), "image/jpeg"),
            (HOSTILE["broken_upload"], b"\xff\xd8\xff\xe0 not a photo", "image/jpeg"),
        ]
    )
    at.button(key="add_photos").click().run()
    _assert_only_escaped(at, *HOSTILE.values())
    errors = " ".join(e.value for e in at.error)
    assert md(HOSTILE["broken_upload"]) in errors and "Nothing was stored" in errors
    assert md(HOSTILE["upload"]) in " ".join(m.value for m in at.markdown)
    assert len(records.list_photos(ME, patient.id)) == 1
