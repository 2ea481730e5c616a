"""The provider app's pages (app.py, skintrack_app/), through Streamlit's AppTest.

Every page needs a signed-in user: ``_page`` signs in as the provider ``dr-test``
(made by ``_staff``) the way the log-in page does. Log-in, roles and the patient
portal are tested in test_app_accounts.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records
from skintrack_app.text import md

from .conftest import REPO, add_closer_course, copy_of_demo

SAMPLES = REPO / "sample_images"
TIMEOUT = 240
PASSWORD = "app-test-password"


def _staff(folder) -> Records:
    """The records in ``folder``, with the provider account ``dr-test`` (and the admin ``admin-test``)."""
    records = Records(folder)
    admin = Actor("test set-up", role="admin")
    existing = {u.username for u in records.list_users(admin)}
    for username, role in (("dr-test", "provider"), ("admin-test", "admin")):
        if username not in existing:
            records.add_user(admin, username, PASSWORD, role=role, display_name=f"Dr {role.title()}")
    return records


@pytest.fixture(scope="module")
def demo_dir(demo_folder, tmp_path_factory):
    folder = copy_of_demo(demo_folder, tmp_path_factory.mktemp("app-demo") / "data")
    records = _staff(folder)
    patient = records.find_patient(Actor("setup"), "DEMO-001")
    records.close()
    return folder, patient.id


def after_a_while() -> None:
    """As if a few seconds had passed since the last form was carried out: the same values sent again at
    once are a double click's second click (``state.repeated_submit``); a person typing them again takes
    longer."""
    from skintrack_app import state

    state.forget_recent_changes()


def _page(page: str, patient_id: str | None, username: str = "dr-test", password: str = PASSWORD):
    """Run one page as the app would, signed in as ``username``, with a patient selected."""

    def script(page, patient_id, username, password):
        import importlib

        from skintrack_app import state

        if state.begin_run() is None:
            state.sign_in(username, password)
            state.begin_run()
        if patient_id:
            state.select_patient(patient_id)
        importlib.import_module(f"skintrack_app.pages.{page}").render()

    return AppTest.from_function(script, args=(page, patient_id, username, password), default_timeout=TIMEOUT)


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill in and send the log-in form of app.py."""
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def uploader(at: AppTest):
    """The New session page's file uploader (its key changes after each "Add photos")."""
    return next(u for u in at.file_uploader if u.key.startswith("upload_files"))


def _elements(at, kind: str) -> list:
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if child.type == kind:
                found.append(child)
            walk(child)

    walk(at.main)
    return found


def test_app_opens_on_patients_with_the_demo_patient(demo_dir, monkeypatch):
    folder, patient_id = demo_dir
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.dataframe  # the log-in page first
    log_in(at, "dr-test")
    assert not at.exception
    assert at.header[0].value == "Patients"
    assert at.selectbox(key="patient_select").value == patient_id
    assert "DEMO-001" in at.dataframe[0].value["code"].tolist()
    assert "Not a medical device" in at.sidebar.caption[0].value


@pytest.mark.slow  # the app's first start loads and measures the 31 demo photos (about half a minute)
def test_empty_data_folder_gets_the_demo_patient(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path / "fresh"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("demo-provider" in i.value for i in at.info)  # the demo accounts are announced
    log_in(at, "demo-provider", "demo-provider-pw")
    assert not at.exception
    assert "DEMO-001" in at.dataframe[0].value["code"].tolist()


def test_create_and_edit_a_patient(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    _staff(tmp_path)
    at = _page("patients", None).run()
    at.text_input(key="new_patient_code").input("P-100")
    at.text_input(key="new_patient_name").input("Ana Test")
    at.selectbox(key="new_patient_fitzpatrick").select(4)
    at.button(key="create_patient").click().run()
    assert not at.exception
    records = Records(tmp_path)
    patient = records.find_patient(Actor("t"), "P-100")
    assert patient.display_name == "Ana Test" and patient.fitzpatrick == 4
    # The same code again (typed again, not a double click): a readable error, nothing new stored.
    after_a_while()
    at.text_input(key="new_patient_code").input("P-100")
    at.button(key="create_patient").click().run()
    assert any("already exists" in e.value for e in at.error)
    assert len(records.list_patients(Actor("t"))) == 1
    # Add an area to the selected patient.
    at.text_input(key="new_area_name").input("forehead")
    at.button(key="add_area").click().run()
    assert records.list_areas(Actor("t"), patient.id)[0].name == "forehead"


def test_new_session_with_good_and_bad_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    records = _staff(tmp_path)
    patient = records.add_patient(Actor("t"), "P-200", "Upload Test")
    at = _page("new_session", patient.id).run()
    at.date_input(key="session_date").set_value(dt.date(2026, 5, 4))
    at.selectbox(key="session_treatment").select("micro-needling")
    at.number_input(key="session_depth").set_value(1.5)
    at.button(key="create_session").click().run()
    assert not at.exception
    session = records.list_sessions(Actor("t"), patient.id)[0]
    assert session.settings == {"needle_depth_mm": 1.5} and session.date == dt.date(2026, 5, 4)
    at.selectbox(key="upload_area").select("+ new area…")
    at.text_input(key="upload_new_area").input("left cheek")
    uploader(at).set_value(
        [
            ("cheek.jpg", (SAMPLES / "2026-05-04_left-cheek.jpg").read_bytes(), "image/jpeg"),
            ("broken.jpg", b"\xff\xd8\xff\xe0 this is not a photo", "image/jpeg"),
        ]
    )
    at.button(key="add_photos").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(md("broken.jpg") in e and "Nothing was stored" in e for e in errors)  # names are shown escaped
    photos = records.list_photos(Actor("t"), patient.id)
    assert len(photos) == 1 and photos[0].is_baseline and photos[0].status == "scored"
    assert any("baseline" in i.value for i in at.info)
    tiles = {m.label: m for m in at.metric}  # the scores of the good photo, one tile per measure
    assert {"Redness (a*)", "Skin tone (ITA°)", "Dark spots"} <= set(tiles)
    assert "red–green" in tiles["Redness (a*)"].proto.help  # each explained, with its unit
    assert len(_elements(at, "image")) >= 1  # the stored photo, upright


def test_compare_two_sessions(demo_dir, monkeypatch):
    folder, patient_id = demo_dir
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("compare", patient_id).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(METRIC_NAMES) and table["verdict"].str.contains("more than photo-to-photo variation").any()
    assert "MDC" not in table.to_csv()
    assert len(_elements(at, "bidi_component")) == 1  # the before/after slider
    assert len(at.metric) == len(METRIC_NAMES) and all(m.proto.help for m in at.metric)
    at.radio(key="compare_overlay").set_value("redness").run()
    assert not at.exception
    heat_map = [c.proto.json for c in _elements(at, "bidi_component")]
    at.radio(key="compare_overlay").set_value("red_lesions").run()  # the red lesions outlined on both photos
    assert not at.exception
    assert [c.proto.json for c in _elements(at, "bidi_component")] != heat_map


def test_compare_page_says_a_closer_follow_up_is_compared_over_the_skin_both_show(tmp_path, monkeypatch):
    """Issue 20: the provider sees that the follow-up shows only part of the baseline's skin and that the
    changes are over that part; the table's "before" is the baseline there, not the whole baseline."""
    records = _staff(tmp_path)
    patient, later = add_closer_course(records, Actor("dr-test"), ("baseline", "other"))
    records.close()
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    at = _page("compare", patient.id).run()
    assert not at.exception
    shown = 100 - later.baseline_on_overlap["skin_left_out_pct"]
    said = md(f"This photo shows {shown:.0f} % of the baseline's skin: its changes are measured against the baseline "
              "over that part only.")
    assert said in [c.value for c in at.caption]
    table = at.dataframe[0].value
    from skintrack.wording import format_value, title

    spots = table[table["measure"] == title("spot_count")].iloc[0]
    assert later.compared_with["spot_count"] == later.scores["spot_count"] != records_spots(tmp_path, patient.id)
    assert spots["before"] == format_value("spot_count", later.compared_with["spot_count"]) == spots["after"]
    # Progress: each chart marks the baseline over the part shown (a hollow diamond joined to the dot), and
    # the legend says what the diamond is.
    from skintrack_app.widgets import PARTLY_COMPARED_WORDS

    from .test_app_trust import _legends
    from .test_app_workflow import _vega_specs

    at = _page("progress_page", patient.id).run()
    assert not at.exception
    specs = {spec["title"]["text"]: spec for spec in _vega_specs(at)}
    diamonds = {}
    for name in ("spot_count", "redness"):
        spec = specs[title(name)]
        (layer,) = [layer for layer in spec["layer"] if isinstance(layer["mark"], dict) and layer["mark"].get("shape") == "diamond"]
        (row,) = spec["datasets"][layer["data"]["name"]]
        diamonds[name] = float(row["before"])
        assert diamonds[name] == pytest.approx(later.compared_with[name], rel=1e-6)
    assert diamonds["spot_count"] != records_spots(tmp_path, patient.id)  # not the first visit's line
    (items,) = _legends(at)
    assert [i["words"] for i in items if i["kind"] == "diamond"] == [PARTLY_COMPARED_WORDS]


def records_spots(folder, patient_id) -> float:
    """The whole baseline's spot count (what the table must not show as "before" here)."""
    records = Records(folder)
    try:
        doctor = Actor("dr-test")
        baseline = next(p for p in records.list_photos(doctor, patient_id) if p.is_baseline)
        return baseline.scores["spot_count"]
    finally:
        records.close()


def test_progress_charts_and_summary(demo_dir, monkeypatch):
    folder, patient_id = demo_dir
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("progress_page", patient_id).run()
    assert not at.exception
    # One chart per measure with a value: the sizes in mm² have none without a chart or face in the photos.
    assert len(_elements(at, "vega_lite_chart")) == len([n for n in METRIC_NAMES if not n.endswith("_mean_mm2")])
    # The other measures' expander counts the charts it holds (it counted the uncharted sizes too).
    (other,) = [e for e in at.expander if e.label.startswith("Charts of the other measures")]
    assert other.label == f"Charts of the other measures ({len(other.get('vega_lite_chart'))})"
    assert any("Redness" in m.value and "since the first visit" in m.value for m in at.markdown)


def test_export_csv(demo_dir, monkeypatch):
    folder, patient_id = demo_dir
    monkeypatch.setenv("SKINTRACK_DATA", str(folder))
    at = _page("export", patient_id).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"engine_version", "settings_hash", "photo_sha256", "metric", "unit", "verdict"} <= set(table.columns)
    assert len(table) == 6 * len(METRIC_NAMES)  # one row per photo and measure


def test_pages_without_a_patient_explain_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    _staff(tmp_path)
    for page in ("new_session", "compare", "progress_page", "export"):
        at = _page(page, None).run()
        assert not at.exception and "Patients page" in at.info[0].value


def test_the_app_reaches_records_only_through_the_service_layer():
    """Issue 23, item 5: no page imports the ORM (``skintrack.records.db``) or SQLAlchemy; it goes through
    :class:`~skintrack.records.Records` and what :mod:`skintrack.records` exports."""
    import ast

    offenders = []
    for path in [REPO / "app.py", *sorted((REPO / "skintrack_app").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("sqlalchemy", "skintrack.records.db"))]
    assert not offenders
