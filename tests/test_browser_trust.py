"""Issue 21 in a real browser (Debian's Chromium driven by Playwright, `streamlit run app.py`), on a desktop and
on a 390 x 844 touch phone: a bookmarked page opens after logging in; double clicks create one patient and one
area and lose nothing typed; every clinical page and the sidebar name the patient (as text); a refused file
says why on the page; two tabs on one patient never file a photo under a visit the other tab deleted; the
Progress legend's dots have the markers' colours. After each step the *database* is checked.
Skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records

from .conftest import REPO, add_closer_course

sys.path.insert(0, str(REPO / "tools"))
import app_driver  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # a real browser: run by `make test-slow` (and CI)
    pytest.mark.browser,
    pytest.mark.skipif(not Path(app_driver.CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SAMPLES = REPO / "sample_images"
CHECK = Actor("browser test check")
DEVICES = {"desktop": {"width": 1400, "height": 1000}, "phone": app_driver.PHONE}
#: A name typed with Markdown and HTML in it: shown as typed, never as bold text or a tag.
NAME = "**Zoë** <b>Ødegård</b>"


def _records(data: Path):
    return Records(data)


def _log_in_here(page) -> None:
    """Fill in the log-in form shown at the current address."""
    page.get_by_label("User name", exact=True).fill(app_driver.PROVIDER[0])
    page.get_by_label("Password", exact=True).fill(app_driver.PROVIDER[1])
    page.get_by_role("button", name="Log in", exact=True).click()


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled exactly ``label``."""
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    app_driver.wait_idle(page)


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


@pytest.mark.parametrize("device", list(DEVICES))
def test_bookmark_double_clicks_patient_named_everywhere_and_a_refused_file_says_why(tmp_path, device):
    from playwright.sync_api import expect

    phone = device == "phone"
    data = tmp_path / "data"
    data.mkdir()
    records = _records(data)
    other = records.add_patient(CHECK, "DEMO-001", "Demo patient")  # also has a "left cheek"
    records.add_area(CHECK, other.id, "left cheek")
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page(**DEVICES[device], touch=phone) as page:
        # Item 10: a bookmarked page shows the log-in there (no "Page not found") and opens after it.
        app_driver.go(page, url, "progress")
        page.get_by_label("Password", exact=True).wait_for()
        assert page.get_by_text("Page not found").count() == 0
        _log_in_here(page)
        page.get_by_role("heading", name="Progress").first.wait_for()
        app_driver.wait_idle(page)
        assert page.url.rstrip("/").endswith("/progress") and page.get_by_text("Page not found").count() == 0
        page.reload()  # a reload starts a new session: log in again, still on the page asked for
        page.get_by_label("Password", exact=True).wait_for()
        _log_in_here(page)
        page.get_by_role("heading", name="Progress").first.wait_for()
        app_driver.wait_idle(page)
        assert page.url.rstrip("/").endswith("/progress")
        page.screenshot(path=str(tmp_path / "1-bookmark.png"))

        # Item 9: a double click on "Create patient" creates the patient once, with what was typed.
        app_driver.open_page(page, "Patients")
        field = page.get_by_label("Patient code (unique)")
        if not field.is_visible():
            page.get_by_text("New patient", exact=True).click()
            field.wait_for(state="visible")
        field.fill("P-DBL")
        page.get_by_label("Display name").first.fill(NAME)
        page.get_by_role("button", name="Create patient").dblclick()
        try:
            page.get_by_text("Patient P-DBL created").wait_for()
        except Exception:
            page.screenshot(path=str(tmp_path / "2-double-click-failed.png"), full_page=True)  # what the page said
            raise
        app_driver.wait_idle(page)
        records = _records(data)
        patients = [p for p in records.list_patients(CHECK) if p.code == "P-DBL"]
        assert len(patients) == 1 and patients[0].display_name == NAME
        assert page.get_by_text("required").count() == 0 and page.get_by_text("already exists").count() == 0
        patient = patients[0]
        # ...and on "Add area".
        page.get_by_label("Add a treated area").fill("left cheek")
        page.get_by_role("button", name="Add area").dblclick()
        page.get_by_text("Area left cheek added").wait_for()
        app_driver.wait_idle(page)
        assert [a.name for a in records.list_areas(CHECK, patient.id)] == ["left cheek"]
        assert records.list_areas(CHECK, other.id)[0].name == "left cheek"  # the other patient's is untouched
        assert page.get_by_text("already has an area").count() == 0 and page.get_by_text("needs a name").count() == 0
        page.screenshot(path=str(tmp_path / "2-double-clicks.png"))

        # A visit with a photo, so every page has something to show.
        session = records.add_session(CHECK, patient.id, "2026-05-04", "micro-needling")
        area = records.list_areas(CHECK, patient.id)[0]
        records.add_photo(CHECK, session.id, area.id, SAMPLES / "2026-05-04_left-cheek.jpg")
        records.add_photo(CHECK, records.add_session(CHECK, patient.id, "2026-09-28", "other").id, area.id,
                          SAMPLES / "2026-09-28_left-cheek.jpg")  # fmt: skip

        # Item 8: every clinical page names the patient (code and name, as typed), and so does the sidebar.
        for title in ("New session", "Photos", "Region", "Compare", "Progress", "Export"):
            app_driver.open_page(page, title)
            page.get_by_text("Patient P-DBL").first.wait_for()
            assert f"Patient P-DBL — {NAME}" in _main_text(page), title
            assert page.locator('[data-testid="stMain"] b', has_text="Ødegård").count() == 0  # not a tag
            if not phone:
                assert f"Patient: P-DBL — {NAME}" in _sidebar_text(page), title
        page.screenshot(path=str(tmp_path / "3-named.png"))
        if phone:  # the sidebar says it too, once opened
            page.locator('[data-testid="stExpandSidebarButton"]').click()
            page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]').getBoundingClientRect().right > 100")
            assert f"Patient: P-DBL — {NAME}" in _sidebar_text(page)
            page.get_by_role("link", name="New session").click()
            page.get_by_role("heading", name="New session").first.wait_for()
            app_driver.wait_idle(page)
        else:
            app_driver.open_page(page, "New session")

        # Item 13: a file skintrack cannot read says why on the page (not only on hover), nothing stored.
        not_a_photo = tmp_path / "notes.txt"
        not_a_photo.write_text("this is a text file, not a photo")
        _choose(page, "Session", "2026-09-28 — other")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files([str(not_a_photo)])
        page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stFileChip\"]').length >= 1")
        page.locator('[data-testid="stFileChipIconSpinner"]').first.wait_for(state="detached")
        app_driver.wait_idle(page)
        page.get_by_role("button", name="Add photos").click()
        page.get_by_text("Done.").wait_for()
        app_driver.wait_idle(page)
        reason = page.locator('[data-testid="stAlertContentError"]', has_text="notes.txt")
        expect(reason).to_be_visible()
        assert "not a photo skintrack can read" in reason.inner_text() and "Nothing was stored" in reason.inner_text()
        assert len(records.list_photos(CHECK, patient.id)) == 2
        page.screenshot(path=str(tmp_path / "4-refused.png"))
        records.close()


def _upload_without_adding(page, path: Path) -> None:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files([str(path)])
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stFileChip\"]').length >= 1")
    page.locator('[data-testid="stFileChipIconSpinner"]').first.wait_for(state="detached")
    app_driver.wait_idle(page)


@pytest.mark.parametrize("device", list(DEVICES))
def test_a_visit_deleted_in_another_tab_is_not_replaced_and_nothing_is_filed(tmp_path, device):
    phone = device == "phone"
    data = tmp_path / "data"
    data.mkdir()
    records = _records(data)
    patient = records.add_patient(CHECK, "P-TABS", "Two Tabs")
    area = records.add_area(CHECK, patient.id, "left cheek")
    kept = records.add_session(CHECK, patient.id, "2026-11-04", "micro-needling")
    chosen = records.add_session(CHECK, patient.id, "2026-12-02", "micro-needling")
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page(**DEVICES[device], touch=phone) as tab_b:
        tab_a = tab_b.context.browser.new_page(viewport=DEVICES[device], has_touch=phone, is_mobile=phone)
        tab_a.set_default_timeout(120_000)
        for tab in (tab_b, tab_a):
            app_driver.log_in(tab, url)
            app_driver.choose(tab, "Selected patient", "P-TABS — Two Tabs")
            app_driver.open_page(tab, "New session")
        # Tab B chooses the visit of 2026-12-02 and picks a photo.
        _choose(tab_b, "Session", "2026-11-04 — micro-needling")
        _choose(tab_b, "Session", "2026-12-02 — micro-needling")
        _upload_without_adding(tab_b, SAMPLES / "2026-05-04_left-cheek.jpg")
        # Tab A deletes that visit.
        _choose(tab_a, "Session", "2026-12-02 — micro-needling")
        tab_a.get_by_text("Correct or delete this visit").click()
        app_driver.wait_idle(tab_a)  # (on a loaded CI machine a click during a rerun landed on a replaced button)
        tab_a.get_by_role("button", name="Delete this visit and its 0 photos…").click()
        app_driver.wait_idle(tab_a)
        tab_a.get_by_role("button", name="Yes, delete the visit").click()
        tab_a.get_by_text("Visit of 2026-12-02 deleted").wait_for()
        records = _records(data)
        assert [s.id for s in records.list_sessions(CHECK, patient.id)] == [kept.id] and chosen.id != kept.id
        # Tab B presses Add photos: a clear message, nothing filed anywhere, the box left empty.
        tab_b.get_by_role("button", name="Add photos").click()
        tab_b.get_by_text("no longer exists").first.wait_for()
        app_driver.wait_idle(tab_b)
        assert records.list_photos(CHECK, patient.id) == []
        assert "2026-12-02" in _main_text(tab_b) and "Nothing" in _main_text(tab_b)
        box = tab_b.locator('[data-testid="stSelectbox"]', has_text="Session").first
        shown = box.evaluate("b => [b.innerText, ...Array.from(b.querySelectorAll('input')).map(i => i.value + '|' + i.placeholder)].join(' ')")
        assert "Choose the visit" in shown and "2026-11-04" not in shown, shown  # empty, not the other visit
        assert tab_b.locator('[data-testid="stFileChip"]').count() == 1  # the photo is still there
        tab_b.screenshot(path=str(tmp_path / "stale.png"))
        # Chosen again, it is filed there.
        _choose(tab_b, "Session", "2026-11-04 — micro-needling")
        tab_b.get_by_role("button", name="Add photos").click()
        tab_b.get_by_text("Done.").wait_for()
        tab_b.locator('[data-testid="stMetric"]').last.wait_for()
        app_driver.wait_idle(tab_b)
        photos = records.list_photos(CHECK, patient.id)
        assert [(p.session_id, p.area_id) for p in photos] == [(kept.id, area.id)]
        records.close()


def test_the_progress_legend_dots_have_the_markers_colours(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    records = _records(data)
    patient = records.add_patient(CHECK, "P-LEGEND")
    area = records.add_area(CHECK, patient.id, "left cheek")
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-05-07", "2026-05-07_left-cheek.jpg"),
                       ("2026-09-28", "2026-09-28_left-cheek.jpg")):  # fmt: skip
        records.add_photo(CHECK, records.add_session(CHECK, patient.id, date, "micro-needling").id, area.id, SAMPLES / name)
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page() as page:
        app_driver.log_in(page, url)
        app_driver.choose(page, "Selected patient", "P-LEGEND — P-LEGEND")
        app_driver.open_page(page, "Progress")
        page.get_by_text("Charts of the other measures").click()
        page.locator('[data-testid="stVegaLiteChart"] g.mark-symbol path').first.wait_for()
        charted = len([n for n in METRIC_NAMES if not n.endswith("_mean_mm2")])  # the sizes have no values here
        page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] g.mark-symbol').length >= {charted}")
        charts = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]')).map(c => ({
            fills: Array.from(c.querySelectorAll('g.mark-symbol path')).map(p => getComputedStyle(p).fill),
            labels: Array.from(c.querySelectorAll('g.role-axis-label text')).map(t => t.textContent)}))""")
        # The legend as a person sees it: each dot in its colour, then its words.
        legend = []
        for item in page.locator('[data-testid="chart-legend"] [data-testid="legend-item"]').all():
            dot = item.locator(".legend-dot")
            if dot.count():
                legend.append((item.inner_text().replace("●", "").strip(), dot.evaluate("e => getComputedStyle(e).color")))
        page.screenshot(path=str(tmp_path / "legend.png"))
    colours = dict(legend)
    # one chart per measure with values (the sizes in mm² have none: no chart or face in these photos)
    assert len(charts) == charted and "first visit" in colours
    markers = {fill for chart in charts for fill in chart["fills"]}
    assert set(colours.values()) == markers  # every marker's colour is in the legend, and nothing else
    assert len(set(colours.values())) == len(colours)  # one colour per meaning (no three grey dots)
    for chart in charts:
        assert chart["fills"][0] == colours["first visit"]  # the first point is the first visit
        assert chart["labels"][0] == "04 May"  # the axis starts with the first visit's date


def test_on_a_phone_the_legend_wraps_and_explains_the_partly_compared_diamond(tmp_path):
    """Issue 20: a follow-up framed closer is drawn against the baseline over the part it shows (a hollow
    diamond); on a 390 px phone every legend item, the diamond's included, wraps inside the screen."""
    from skintrack_app.widgets import PARTLY_COMPARED_WORDS

    data = tmp_path / "data"
    data.mkdir()
    records = _records(data)
    add_closer_course(records, CHECK, ("laser", "laser"))
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page(**app_driver.PHONE, touch=True) as page:
        app_driver.log_in(page, url)
        app_driver.choose(page, "Selected patient", "P-CLOSER — P-CLOSER")
        app_driver.open_page(page, "Progress")
        page.locator('[data-testid="stVegaLiteChart"] g.mark-symbol path').first.wait_for()
        legend = page.locator('[data-testid="chart-legend"]')
        legend.scroll_into_view_if_needed()
        legend.locator('[data-testid="legend-item"]').first.wait_for()
        items = [{"text": item.inner_text(), "right": item.evaluate("e => e.getBoundingClientRect().right")}
                 for item in legend.locator('[data-testid="legend-item"]').all()]  # fmt: skip
        page.screenshot(path=str(tmp_path / "phone-progress-legend.png"))
    diamond = [item for item in items if item["text"].startswith("◇")]
    assert len(diamond) == 1 and PARTLY_COMPARED_WORDS in diamond[0]["text"]
    assert all(item["right"] <= app_driver.PHONE["width"] for item in items), items  # nothing cut off
