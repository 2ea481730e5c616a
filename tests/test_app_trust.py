"""Issue 21 in the app, through Streamlit's AppTest: nothing filed where the provider did not choose (two
sessions of the app on one patient, as two browser tabs), duplicates and far-off dates confirmed, one photo per
visit said on Progress, words from provenance, the patient named on every page, corrected treatment settings,
the portal's headline and chart from the same numbers, form details. The browser parts (double clicks,
bookmarks, legend colours against the drawn markers, the phone) are in tests/test_browser_trust.py.

Each test checks the database, not only the page.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor
from skintrack.synthetic import Capture, SkinScene, SkinState
from skintrack_app.text import md

from .conftest import REPO, copy_of_records
from .test_app import _elements, _page, _staff, uploader

SAMPLES = REPO / "sample_images"
T = Actor("test")
ADMIN = Actor("test admin", role="admin")
BASELINE = (SAMPLES / "2026-05-04_left-cheek.jpg").read_bytes()
FOLLOW_UP = (SAMPLES / "2026-09-28_left-cheek.jpg").read_bytes()


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    records = _staff(tmp_path)
    yield records
    records.close()


def _texts(at) -> str:
    """Everything a page says in Markdown-ish elements (escaped as shown)."""
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader", "header"):
        parts += [element.value for element in getattr(at, kind)]
    return "\n".join(parts)


def _legends(at) -> list[list[dict]]:
    """The items of each chart legend on the page (skintrack_app.components.chart_legend)."""
    import json

    return [json.loads(c.proto.json)["items"] for c in _elements(at, "bidi_component")
            if c.proto.component_name.endswith("chart_legend")]  # fmt: skip


def _patient_with_two_visits(records, code="P-TABS"):
    patient = records.add_patient(T, code, "Two Tabs")
    area = records.add_area(T, patient.id, "left cheek")
    kept = records.add_session(T, patient.id, "2026-06-04", "micro-needling")
    chosen = records.add_session(T, patient.id, "2026-07-02", "micro-needling")
    return patient, area, kept, chosen


# --------------------------------------------------------------------------- item 1: a stale selection fails loudly


def test_1_a_visit_deleted_in_another_tab_is_never_replaced_by_another(data):
    patient, area, kept, chosen = _patient_with_two_visits(data)
    tab_b = _page("new_session", patient.id).run()
    tab_b.selectbox(key="upload_session").select(kept.id).run()
    tab_b.selectbox(key="upload_session").select(chosen.id).run()  # B chooses the visit of 2026-07-02...
    uploader(tab_b).set_value([("cheek.jpg", BASELINE, "image/jpeg")])  # ...and picks a photo
    # Tab A deletes that visit, through the page, as a colleague would.
    tab_a = _page("new_session", patient.id).run()
    tab_a.selectbox(key="upload_session").select(chosen.id).run()
    tab_a.button(key=f"delete_session_{chosen.id}").click().run()
    tab_a.button(key=f"confirm_delete_session_{chosen.id}").click().run()
    assert [s.id for s in data.list_sessions(T, patient.id)] == [kept.id]
    # B presses Add photos: nothing is filed anywhere; the box does not switch to the other visit.
    tab_b.button(key="add_photos").click().run()
    assert not tab_b.exception
    assert data.list_photos(T, patient.id) == []
    text = _texts(tab_b)
    assert md("2026-07-02") in text and "no longer exists" in text and "Nothing was filed" in text
    assert tab_b.selectbox(key="upload_session").value is None
    assert uploader(tab_b).value  # the photo is still there, for the visit chosen again
    tab_b.run()
    tab_b.button(key="add_photos").click().run()  # pressed again without choosing: still nothing filed
    assert tab_b.selectbox(key="upload_session").value is None and data.list_photos(T, patient.id) == []
    # Chosen again: filed there.
    tab_b.selectbox(key="upload_session").select(kept.id).run()
    tab_b.button(key="add_photos").click().run()
    photos = data.list_photos(T, patient.id)
    assert [(p.session_id, p.area_id) for p in photos] == [(kept.id, area.id)]


def test_1_a_visit_re_dated_in_another_tab_is_refused_until_seen(data):
    patient, area, kept, chosen = _patient_with_two_visits(data)
    tab_b = _page("new_session", patient.id).run()
    tab_b.selectbox(key="upload_session").select(chosen.id).run()
    uploader(tab_b).set_value([("cheek.jpg", BASELINE, "image/jpeg")])
    tab_a = _page("new_session", patient.id).run()
    tab_a.selectbox(key="upload_session").select(chosen.id).run()
    tab_a.date_input(key=f"edit_session_date_{chosen.id}").set_value(dt.date(2026, 7, 9))
    tab_a.button(key=f"save_session_{chosen.id}").click().run()
    assert data.get_session(T, chosen.id).date == dt.date(2026, 7, 9)
    tab_b.button(key="add_photos").click().run()
    assert data.list_photos(T, patient.id) == []  # B was shown 2026-07-02: refused by the engine
    text = _texts(tab_b)
    assert "changed meanwhile" in text and "2026\\-07\\-09" in text and "Nothing was filed" in text
    assert tab_b.selectbox(key="upload_session").value == chosen.id  # the same visit, never another one
    tab_b.button(key="add_photos").click().run()  # now that B was shown the new date
    assert [p.session_date for p in data.list_photos(T, patient.id)] == [dt.date(2026, 7, 9)]


def test_1_an_area_deleted_in_another_tab_is_not_replaced(data):
    patient, area, kept, chosen = _patient_with_two_visits(data)
    other = data.add_area(T, patient.id, "forehead")
    tab_b = _page("new_session", patient.id).run()
    tab_b.selectbox(key="upload_area").select(other.id).run()
    uploader(tab_b).set_value([("cheek.jpg", BASELINE, "image/jpeg")])
    data.delete_area(T, other.id)  # in another tab
    tab_b.button(key="add_photos").click().run()
    assert data.list_photos(T, patient.id) == []
    assert "forehead" in _texts(tab_b) and tab_b.selectbox(key="upload_area").value is None
    tab_b.run()
    assert tab_b.selectbox(key="upload_area").value is None  # stays empty until chosen


# --------------------------------------------------------------------------- item 3: confirm duplicates and dates


def test_3_a_duplicate_upload_waits_for_the_providers_choice(data):
    patient, area, kept, chosen = _patient_with_two_visits(data, "P-DUP")
    data.add_photo(T, kept.id, area.id, BASELINE)
    at = _page("new_session", patient.id).run()
    at.selectbox(key="upload_session").select(chosen.id).run()
    uploader(at).set_value([("again.jpg", BASELINE, "image/jpeg")])
    at.button(key="add_photos").click().run()
    assert len(data.list_photos(T, patient.id)) == 1  # nothing stored yet
    warning = " ".join(w.value for w in at.warning)
    assert "already in the record" in warning and "2026\\-06\\-04" in warning
    confirm = next(b for b in at.button if b.key.startswith("confirm_"))
    assert confirm.label == "File it here too"
    confirm.click().run()
    photos = data.list_photos(T, patient.id)
    assert [p.session_id for p in photos] == [kept.id, chosen.id]
    assert not any(b.key.startswith("confirm_") for b in at.button)


def test_3_a_photo_taken_weeks_from_the_visit_can_be_left_out(data):
    patient, area, kept, chosen = _patient_with_two_visits(data, "P-DATE")
    image, exif = Image.open(SAMPLES / "2026-06-01_left-cheek.jpg"), Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 10:00:00"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    at = _page("new_session", patient.id).run()
    at.selectbox(key="upload_session").select(kept.id).run()
    uploader(at).set_value([("march.jpg", buffer.getvalue(), "image/jpeg")])
    at.button(key="add_photos").click().run()
    assert "taken on 2026\\-03\\-01" in " ".join(w.value for w in at.warning)
    next(b for b in at.button if b.key.startswith("skip_")).click().run()
    assert data.list_photos(T, patient.id) == []
    assert any("left out" in s.value for s in at.success)


# --------------------------------------------------------------------------- item 4: one photo per visit


def test_4_progress_says_which_photo_of_a_visit_counts_and_draws_one_dot_per_visit(data):
    patient = data.add_patient(T, "P-TWO-SHOTS")
    area = data.add_area(T, patient.id, "left cheek")
    first = data.add_session(T, patient.id, "2026-05-04", "micro-needling")
    later = data.add_session(T, patient.id, "2026-09-28", "micro-needling")
    data.add_photo(T, first.id, area.id, BASELINE)
    counted = data.add_photo(T, later.id, area.id, FOLLOW_UP)
    extra = data.add_photo(T, later.id, area.id, (SAMPLES / "2026-08-03_left-cheek.jpg").read_bytes())
    assert counted.status == extra.status == "scored"
    at = _page("progress_page", patient.id).run()
    note = " ".join(i.value for i in at.info)
    assert "Each visit counts once" in note and "first one stored" in note and "2026-09-28: 2 measured photos" in note
    summary = " ".join(m.value for m in at.markdown if "since the first visit" in m.value)
    redness = format(counted.scores["redness"], ".3g")
    assert f"→ {redness} a*" in summary  # the first photo stored for the visit
    from .test_app_workflow import _vega_specs

    for spec in _vega_specs(at):
        circles = [layer for layer in spec["layer"] if layer["mark"]["type"] == "circle"]
        rows = spec["datasets"][circles[0]["data"]["name"]] if "data" in circles[0] else None
        rows = rows or next(iter(spec["datasets"].values()))
        dates = [row["date"][:10] for row in rows if "value" in row]
        assert dates == ["2026-05-04", "2026-09-28"]  # one dot per visit, no second dot on the same day


# --------------------------------------------------------------------------- item 5: words from provenance


def _unreferenced_course(records, code="P-NOREF"):
    """Two photos without any neutral reference (no grey card, chart or backdrop)."""
    scene = SkinScene(seed=5, grey_card=False, backdrop=False, size=(800, 600))  # small: only the words are checked
    patient = records.add_patient(T, code)
    area = records.add_area(T, patient.id, "cheek")
    photos = []
    for date, state, seed in (("2026-05-04", SkinState(), 1), ("2026-06-01", SkinState(erythema=4.0), 2)):
        session = records.add_session(T, patient.id, date, "laser")
        photos.append(records.add_photo(T, session.id, area.id, scene.render(state, Capture(seed=seed, size=(800, 600))).encoded))
    return patient, photos


def test_5_compare_says_colours_were_not_corrected_when_no_reference_was_found(data):
    patient, photos = _unreferenced_course(data)
    assert [p.normalization["method"] for p in photos] == ["none", "none"] and photos[1].status == "scored"
    at = _page("compare", patient.id).run()
    captions = " ".join(c.value for c in at.caption)
    assert "Colours not corrected" in captions and "colour-corrected" not in captions
    assert "colour-normalised" not in captions
    demo = data.add_patient(T, "P-REF")
    area = data.add_area(T, demo.id, "left cheek")
    for date, photo in (("2026-05-04", BASELINE), ("2026-09-28", FOLLOW_UP)):
        data.add_photo(T, data.add_session(T, demo.id, date, "laser").id, area.id, photo)
    at = _page("compare", demo.id).run()
    captions = " ".join(c.value for c in at.caption)
    assert "Both photos colour-normalised on the grey card" in captions and "not corrected" not in captions


# --------------------------------------------------------------------------- item 6: the portal's headline and chart


def test_6_the_portal_headline_gives_the_charts_last_change_and_its_verdict(data):
    from skintrack.progress import area_progress, patient_summary
    from skintrack.wording import format_pct

    from .test_app import log_in

    patient = data.add_patient(T, "P-PORTAL", "Portal Person")
    area = data.add_area(T, patient.id, "left cheek")
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-06-29", "2026-06-29_left-cheek.jpg"),
                       ("2026-09-28", "2026-09-28_left-cheek.jpg")):  # fmt: skip
        data.add_photo(T, data.add_session(T, patient.id, date, "micro-needling").id, area.id, SAMPLES / name)
    data.add_user(ADMIN, "pat-portal", "patient-password", role="patient", patient_id=patient.id)
    measures = patient_summary(area_progress(data, T, patient.id, area.id))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()
    log_in(at, "pat-portal", "patient-password")
    assert not at.exception
    lines = [m.value for m in at.markdown if m.value.startswith("- **")]
    from .test_app_workflow import _vega_specs

    charts = {spec["title"] if isinstance(spec["title"], str) else spec["title"]["text"]: spec for spec in _vega_specs(at)}
    assert len(lines) == len(measures) >= 4
    for measure, line in zip(measures, lines):
        rows = [row for rows in charts[measure.title]["datasets"].values() for row in rows if "change" in row]
        last = float(rows[-1]["change"])
        assert last == pytest.approx(round(measure.points[-1][1], 1))
        shown = format_pct(measure.points[-1][1], signed=False)
        assert shown in line.replace("\\", ""), (line, shown)  # the headline's number is the chart's last point
        assert rows[-1]["verdict"] == measure.verdict  # and the last dot's colour is the headline's verdict
        if measure.verdict in ("no clear change", "no clear change yet"):
            assert "about the same" not in line and "better" not in line
        if abs(last) > measure.noise_pct and measure.verdict == "no clear change":
            pytest.fail(f"{measure.title}: {last} % is outside the band ±{measure.noise_pct:.1f} yet 'no clear change'")
        # Item 12: the time axis starts with the course's first month, labelled.
        axis = next(layer["encoding"]["x"] for layer in charts[measure.title]["layer"] if "x" in layer.get("encoding", {}))
        assert axis["scale"]["domain"][0].startswith("2026-05-01")
        assert axis["axis"]["values"][0] == {"year": 2026, "month": 5, "date": 1}


# --------------------------------------------------------------------------- item 8: whose record it is


def _build_named_course(folder):
    """A patient whose name is markdown and HTML, with a baseline and a follow-up of the left cheek."""
    records = _staff(folder)
    patient = records.add_patient(T, "DEMO-002", "**Zoë** <b>Ødegård</b>")
    area = records.add_area(T, patient.id, "left cheek")
    for date, photo in (("2026-05-04", BASELINE), ("2026-09-28", FOLLOW_UP)):
        records.add_photo(T, records.add_session(T, patient.id, date, "micro-needling").id, area.id, photo)
    records.close()
    return patient


@pytest.mark.parametrize("page", ["new_session", "photos", "region", "compare", "progress_page", "export"])
def test_8_every_clinical_page_names_the_patient(tmp_path, tmp_path_factory, monkeypatch, page):
    patient = copy_of_records(tmp_path_factory, "app-trust-named-course", _build_named_course, tmp_path)
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))
    monkeypatch.setenv("SKINTRACK_NO_DEMO", "1")
    at = _page(page, patient.id).run()
    assert not at.exception
    named = [m.value for m in at.markdown if m.value.startswith("Patient **")]
    assert named == [f"Patient **{md('DEMO-002')}** — {md('**Zoë** <b>Ødegård</b>')}"]


def test_8_the_sidebar_names_the_selected_patient_as_text(data, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .test_app import log_in

    patient = data.add_patient(T, "P-SIDE", "<i>Side</i> [bar](x)")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()
    log_in(at, "dr-test")
    # the sidebar names the patient the page chose (the only one here), never another or none
    shown = at.selectbox(key="patient_select").value
    assert shown == patient.id
    assert "Patient: P-SIDE — <i>Side</i> [bar](x)" in [t.value for t in at.sidebar.text]
    other = data.add_patient(T, "P-OTHER", "Other")
    at.run()
    assert "Patient: P-SIDE — <i>Side</i> [bar](x)" in [t.value for t in at.sidebar.text]  # a new patient changes nothing
    at.selectbox(key="patient_select").select(other.id).run()
    assert "Patient: P-OTHER — Other" in [t.value for t in at.sidebar.text]
    at.selectbox(key="patient_select").select(patient.id).run()
    assert "Patient: P-SIDE — <i>Side</i> [bar](x)" in [t.value for t in at.sidebar.text]  # st.text: never markup


# --------------------------------------------------------------------------- item 11: treatment settings corrected


def test_11_a_visits_needle_depth_is_corrected_checked_and_audited(data):
    patient = data.add_patient(T, "P-DEPTH")
    visit = data.add_session(T, patient.id, "2026-05-04", "micro-needling", settings={"needle_depth_mm": 1.0, "pulse_ms": 10})
    at = _page("new_session", patient.id).run()
    assert at.number_input(key=f"edit_session_needle_depth_mm_{visit.id}").value == 1.0
    at.number_input(key=f"edit_session_needle_depth_mm_{visit.id}").set_value(1.5)
    at.text_input(key=f"edit_session_other_{visit.id}").input("roller, 3 passes")
    at.button(key=f"save_session_{visit.id}").click().run()
    assert not at.exception
    assert data.get_session(T, visit.id).settings == {"needle_depth_mm": 1.5, "pulse_ms": 10, "other": "roller, 3 passes"}
    lines = data.audit_log(ADMIN, action="update_session")
    assert len(lines) == 1 and lines[0].actor == "Dr Provider"
    assert "settings (needle_depth_mm 1.0, pulse_ms 10 → needle_depth_mm 1.5, other roller, 3 passes, pulse_ms 10)" in lines[0].detail
    # A patient may not change a visit (the same check as every change).
    from skintrack.records import PermissionDenied

    with pytest.raises(PermissionDenied):
        data.update_session(Actor("Pat", role="patient", patient_id=patient.id), visit.id, settings={"needle_depth_mm": 3.0})
    assert data.get_session(T, visit.id).settings["needle_depth_mm"] == 1.5


# --------------------------------------------------------------------------- item 12: the legend's colours


def test_12_the_progress_legend_uses_the_markers_colours(data):
    from skintrack_app.widgets import VERDICT_COLOURS

    from .test_app_workflow import _vega_specs

    patient = data.add_patient(T, "P-LEGEND")
    area = data.add_area(T, patient.id, "left cheek")
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-05-07", "2026-05-07_left-cheek.jpg"),
                       ("2026-09-28", "2026-09-28_left-cheek.jpg")):  # fmt: skip
        data.add_photo(T, data.add_session(T, patient.id, date, "micro-needling").id, area.id, SAMPLES / name)
    at = _page("progress_page", patient.id).run()
    (items,) = [legend for legend in _legends(at) if any("grey band" in i["words"] for i in legend)]
    shown = {item["verdict"]: item["colour"] for item in items if item["kind"] == "dot"}
    labels = set()
    for spec in _vega_specs(at):
        circle = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
        scale = circle["encoding"]["color"]["scale"]
        colours = dict(zip(scale["domain"], scale["range"]))
        for rows in spec["datasets"].values():
            labels |= {row["verdict"] for row in rows if "verdict" in row}
        for label in labels:
            assert shown[label] == colours[label], label  # the legend's dot is the marker's colour
    assert labels <= set(shown) and len({shown[label] for label in labels}) == len(labels)  # distinct colours
    # Every follow-up here shows all of the baseline's skin: no diamond (tests/test_app.py has one that does not).
    assert not [i for i in items if i["kind"] == "diamond"]
    assert not [layer for spec in _vega_specs(at) for layer in spec["layer"] if layer["mark"].get("shape") == "diamond"]
    assert shown == {label: VERDICT_COLOURS[label] for label in shown}


# --------------------------------------------------------------------------- item 13: form details


def test_13_birth_year_and_last_visit_are_sensible(data):
    from skintrack_app.pages.patients import dt as page_dt

    at = _page("patients", None).run()
    year = at.number_input(key="new_patient_birth_year")
    assert year.value is None and year.min == 1900 and year.max == page_dt.date.today().year
    at.text_input(key="new_patient_code").input("P-NEW")
    at.button(key="create_patient").click().run()
    patient = data.find_patient(T, "P-NEW")
    assert patient.birth_year is None
    table = at.dataframe[0].value
    assert table.loc[table["code"] == "P-NEW", "last visit"].tolist() == ["–"]
    assert "None" not in table.astype(str).to_csv()


def test_9_a_double_clicks_second_run_still_says_the_patient_was_created(data):
    # CI (phone): the second click of a double click replaced the first click's page, and with it
    # "Patient … created" (already taken from the queue): the provider saw an empty form and no word.
    at = _page("patients", None).run()
    at.text_input(key="new_patient_code").input("P-TWICE")
    at.button(key="create_patient").click().run()
    assert any("created and selected" in s.value for s in at.success)
    at.button(key="create_patient").click().run()  # the second click, with the emptied form
    assert not at.error and any("created and selected" in s.value for s in at.success)
    assert [p.code for p in data.list_patients(T)] == ["P-TWICE"]
    at.text_input(key="patient_search").input("").run()  # any later run: the message has been said
    assert not any("created and selected" in s.value for s in at.success)


def test_9_a_second_click_after_the_first_clicks_run_was_stopped_neither_repeats_nor_loses_it(data):
    # Chromium: the second click's rerun request stops the first click's callback at its next Streamlit
    # call after the patient is stored; its session-state changes (generation, emptied form, selection,
    # message) are lost, and the second click arrives with the same code. It said "… already exists" and
    # left the previous patient selected.
    other = data.add_patient(T, "P-BEFORE")
    at = _page("patients", None).run()
    assert at.selectbox(key="patient_select").value == other.id
    at.text_input(key="new_patient_code").input("P-STOPPED")
    at.button(key="create_patient").click().run()
    created = data.find_patient(T, "P-STOPPED")
    for key in ("form_generations", "notices", "last_notices"):  # what the stopped callback had not done
        if key in at.session_state:
            del at.session_state[key]
    at.session_state["selected_patient_id"] = other.id
    at.text_input(key="new_patient_code").input("P-STOPPED")
    at.button(key="create_patient").click().run()  # the second click, with the code as typed
    assert not at.error and any("created and selected" in s.value for s in at.success)
    assert at.selectbox(key="patient_select").value == created.id
    assert at.text_input(key="new_patient_code").value == ""
    assert [p.code for p in data.list_patients(T)].count("P-STOPPED") == 1


def test_13_a_refused_file_says_why_on_the_page(data):
    patient = data.add_patient(T, "P-REFUSED")
    data.add_area(T, patient.id, "left cheek")
    data.add_session(T, patient.id, "2026-05-04", "other")
    at = _page("new_session", patient.id).run()
    assert uploader(at).proto.type == []  # any file may be chosen: the reason is given, not a hover-only refusal
    uploader(at).set_value([("notes.txt", b"this is a text file, not a photo", "text/plain")])
    at.button(key="add_photos").click().run()
    errors = " ".join(e.value for e in at.error)
    assert md("notes.txt") in errors and "Nothing was stored" in errors
    assert data.list_photos(T, patient.id) == []


def test_13_a_follow_ups_tiles_show_the_change_since_the_baseline(data):
    patient = data.add_patient(T, "P-TILES")
    area = data.add_area(T, patient.id, "left cheek")
    first = data.add_session(T, patient.id, "2026-05-04", "micro-needling")
    data.add_session(T, patient.id, "2026-09-28", "micro-needling")
    baseline = data.add_photo(T, first.id, area.id, BASELINE)
    at = _page("new_session", patient.id).run()
    uploader(at).set_value([("follow-up.jpg", FOLLOW_UP, "image/jpeg")])
    at.button(key="add_photos").click().run()
    follow_up = next(p for p in data.list_photos(T, patient.id) if not p.is_baseline)
    tiles = {m.proto.label: m.proto for m in at.metric}
    # Every measure has a tile; the sizes in mm² are not measured without a chart or face, so have no change.
    unscaled = {label for label in tiles if label.startswith(("Red lesion size", "Dark spot size"))}
    assert len(tiles) == len(METRIC_NAMES) and len(unscaled) == 2
    assert all(tile.delta for label, tile in tiles.items() if label not in unscaled)
    assert not any(tiles[label].delta for label in unscaled)
    # ...and the page says what would give them, quietly (a caption, not a warning: nothing failed). A follow-up
    # takes its baseline's scale, so it is the baseline that lacked a chart (a chart in this photo would not help).
    assert any("the baseline had no colour chart" in c.value for c in at.caption)
    assert not any("colour chart" in w.value for w in at.warning)
    redness = tiles["Redness (a*)"]
    change = 100 * (follow_up.scores["redness"] - baseline.scores["redness"]) / baseline.scores["redness"]
    assert redness.delta.startswith("down") and f"{abs(change):.0f} %" in redness.delta
    assert "Before: " in redness.help and any("since the baseline" in c.value for c in at.caption)
