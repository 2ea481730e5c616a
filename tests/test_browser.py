"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

A provider, with another patient already selected, creates a patient, an area, two visits (the second
while the first exists), uploads a photo to each, compares them by dragging the slider across the photo,
and opens Progress — on a desktop and on a 390 x 844 phone (touch; the sidebar must fold away after each
tap). After each step the *database* is checked: where the rows landed, not only what the page says.
The guided camera is fed a known photo through Chromium's fake camera, and the treated region is drawn
with the mouse. Screenshots go to the test's tmp dir. Skipped when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from skintrack.records import Actor, Records

from .conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import app_driver  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # a real browser: run by `make test-slow` (and CI)
    pytest.mark.browser,
    pytest.mark.skipif(not Path(app_driver.CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SAMPLES = REPO / "sample_images"
CHECK = Actor("browser test check")


def _other_patient(data: Path) -> str:
    """A patient with a visit (listed, and so selected, first), as DEMO-001 was when the bug was found."""
    records = Records(data)
    try:
        patient = records.add_patient(CHECK, "DEMO-001", "Demo patient")
        records.add_session(CHECK, patient.id, "2026-05-04", "micro-needling")
        return patient.id
    finally:
        records.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_provider_documents_two_visits_compares_and_sees_progress(tmp_path, device):
    from playwright.sync_api import expect

    phone = device == "phone"
    size = app_driver.PHONE if phone else {"width": 1400, "height": 1000}
    data = tmp_path / "data"
    data.mkdir()
    other_id = _other_patient(data)
    with app_driver.running_app(data) as url, app_driver.browser_page(**size, touch=phone) as page:
        app_driver.log_in(page, url)
        if phone:
            assert not app_driver.sidebar_open(page)
        app_driver.create_patient(page, "P-E2E", "Browser Patient")
        page.get_by_role("heading", name="P-E2E — Browser Patient").wait_for()  # issue 14, item 1: selected
        app_driver.add_area(page, "left cheek")
        records = Records(data)
        patient = records.find_patient(CHECK, "P-E2E")
        assert [a.name for a in records.list_areas(CHECK, patient.id)] == ["left cheek"]
        assert records.list_areas(CHECK, other_id) == []  # nothing filed under the patient selected before
        if phone:  # item 10: the patient table fits the screen (nothing cut off on the right)
            _fits_horizontally(page, '[data-testid="stDataFrame"]')
        page.screenshot(path=str(tmp_path / "1-patients.png"))

        app_driver.open_page(page, "New session")
        if phone:
            assert not app_driver.sidebar_open(page)  # item 10: folded away after the tap
        app_driver.create_session(page, "2026-05-04")
        app_driver.upload_and_measure(page, [SAMPLES / "2026-05-04_left-cheek.jpg"], area="left cheek")
        page.get_by_text("This is the baseline of this area").wait_for()
        # Item 5: the uploader is empty again.
        expect(page.locator('[data-testid="stFileChip"]')).to_have_count(0)  # (the chips showed before the click)
        page.screenshot(path=str(tmp_path / "2-baseline.png"))

        app_driver.create_session(page, "2026-09-28")  # item 2: a second visit while one exists
        app_driver.upload_and_measure(page, [SAMPLES / "2026-09-28_left-cheek.jpg"], area="left cheek")
        page.get_by_text("Lined up with the baseline").wait_for()
        page.get_by_text("Fit: this photo over the baseline").wait_for()
        page.screenshot(path=str(tmp_path / "3-follow-up.png"))
        photos = records.list_photos(CHECK, patient.id)
        assert [(p.session_date, p.area, p.status) for p in photos] == [
            (dt.date(2026, 5, 4), "left cheek", "scored"), (dt.date(2026, 9, 28), "left cheek", "scored")]  # fmt: skip
        assert [s.date for s in records.list_sessions(CHECK, patient.id)] == [dt.date(2026, 5, 4), dt.date(2026, 9, 28)]
        assert records.list_photos(CHECK, other_id) == [] and len(records.list_sessions(CHECK, other_id)) == 1

        app_driver.open_page(page, "Compare")
        slider = page.locator('[data-testid="before-after"]')
        slider.wait_for()
        _loaded(slider.locator("img").first)
        slider.scroll_into_view_if_needed()
        assert float(slider.get_attribute("data-position")) == pytest.approx(50.0)
        # Item 3: dragging across the photo (a mouse, or a finger on the phone) moves the divider.
        app_driver.drag(page, slider, 0.5, 0.2, touch=phone)
        assert float(slider.get_attribute("data-position")) == pytest.approx(20.0, abs=2.0)
        app_driver.drag(page, slider, 0.2, 0.85, touch=phone)
        assert float(slider.get_attribute("data-position")) == pytest.approx(85.0, abs=2.0)
        # The whole photo is shown (not cropped to a fixed frame) and the range bar sits right under it.
        image, frame = slider.locator("img").first.bounding_box(), slider.bounding_box()
        natural = slider.locator("img").first.evaluate("i => i.naturalWidth / i.naturalHeight")
        assert image["width"] / image["height"] == pytest.approx(natural, rel=0.02)
        assert frame["height"] == pytest.approx(image["height"], abs=2)
        bar = page.get_by_label("Before / after divider").bounding_box()
        assert 0 <= bar["y"] - (frame["y"] + frame["height"]) < 30
        page.screenshot(path=str(tmp_path / "4-compare.png"))

        app_driver.open_page(page, "Progress")
        if phone:
            assert not app_driver.sidebar_open(page)
        page.get_by_text("since the first visit").first.wait_for()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for()
        page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
        expect(page.get_by_text("grey band:")).to_have_count(1)  # one shared legend
        if phone:
            _fits_horizontally(page, '[data-testid="stVegaLiteChart"]')
        page.screenshot(path=str(tmp_path / "5-progress.png"))
        assert (tmp_path / "5-progress.png").stat().st_size > 10_000
        records.close()

    records = Records(data)
    photos = records.list_photos(CHECK, records.find_patient(CHECK, "P-E2E").id)
    assert photos[0].is_baseline and photos[1].scores["redness"] < photos[0].scores["redness"]
    records.close()


def _settled(page, button) -> None:
    """Wait for the rerun a component's new value causes: one enabled ``button`` left on the page."""
    from playwright.sync_api import expect

    app_driver.wait_idle(page)
    expect(button).to_have_count(1, timeout=60_000)
    expect(button).to_be_enabled(timeout=60_000)


def _loaded(image) -> None:
    """Wait until an <img> (also inside a component's shadow root) has loaded."""
    image.evaluate("i => i.complete || new Promise(done => { i.onload = () => done(true); })")


def _fits_horizontally(page, selector: str) -> None:
    """Every element matching ``selector`` lies within the screen's width (nothing cut off on the right)."""
    width = page.viewport_size["width"]
    for element in page.locator(selector).all():
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (selector, box)
        inner = element.evaluate(
            "e => { const s = e.querySelector('.dvn-scroller'); return s ? [s.scrollWidth, s.clientWidth] : [0, 0]; }"
        )
        assert inner[0] <= inner[1] + 1, f"{selector} scrolls sideways: {inner}"


def test_guided_camera_takes_a_follow_up_over_the_baseline_ghost(tmp_path):
    """Chromium's fake camera plays a known follow-up photo; "Take photo" stores and measures it at once."""
    import cv2
    from playwright.sync_api import expect

    data = tmp_path / "data"
    data.mkdir()
    records = Records(data)
    patient = records.add_patient(CHECK, "P-CAM")
    area = records.add_area(CHECK, patient.id, "left cheek")
    first = records.add_session(CHECK, patient.id, "2026-05-04", "micro-needling")
    records.add_photo(CHECK, first.id, area.id, SAMPLES / "2026-05-04_left-cheek.jpg")
    later = records.add_session(CHECK, patient.id, "2026-09-28", "other")
    records.close()
    frame = cv2.imread(str(SAMPLES / "2026-09-28_left-cheek.jpg"))
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    video = tmp_path / "camera.mjpeg"
    video.write_bytes(jpeg.tobytes() * 3)  # Motion JPEG: JPEG frames one after another
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    with app_driver.running_app(data) as url, app_driver.browser_page(args=camera) as page:
        app_driver.log_in(page, url)
        app_driver.open_page(page, "New session")
        page.get_by_text("Take the photo with this device's camera").click()
        page.locator('[data-testid="guided-camera"] img.ghost').wait_for()  # the baseline's ghost over the live picture
        shoot = page.get_by_role("button", name="Take photo")
        expect(shoot).to_be_enabled(timeout=60_000)  # the camera is running
        ghost_src = page.locator('[data-testid="guided-camera"] img.ghost').get_attribute("src")
        assert ghost_src.startswith("data:image/jpeg;base64,")  # from the app itself, nothing fetched
        shoot.click()
        page.get_by_text("Done.").wait_for(timeout=180_000)
        page.locator('[data-testid="stMetric"]').last.wait_for()
        page.screenshot(path=str(tmp_path / "camera.png"))
    records = Records(data)
    photos = records.list_photos(CHECK, patient.id)
    assert len(photos) == 2
    taken = photos[1]
    assert taken.session_id == later.id and taken.area == "left cheek"
    assert taken.status == "scored" and taken.width == frame.shape[1] and not taken.is_baseline
    records.close()


def test_the_treated_region_is_drawn_with_the_mouse_and_used_for_every_visit(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    records = Records(data)
    patient = records.add_patient(CHECK, "P-ROI")
    area = records.add_area(CHECK, patient.id, "left cheek")
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-09-28", "2026-09-28_left-cheek.jpg")):
        session = records.add_session(CHECK, patient.id, date, "micro-needling")
        records.add_photo(CHECK, session.id, area.id, SAMPLES / name)
    whole = [p.scores["redness"] for p in records.list_photos(CHECK, patient.id)]
    records.close()
    with app_driver.running_app(data) as url, app_driver.browser_page(height=1200) as page:
        app_driver.log_in(page, url)
        app_driver.open_page(page, "Region")
        stage = page.locator('[data-testid="region-editor"]')
        stage.wait_for()
        _loaded(stage.locator("img").first)
        box = stage.bounding_box()
        page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.8 * box["height"], steps=8)
        page.mouse.up()
        save = page.get_by_role("button", name="Save the region and measure again")
        _settled(page, save)
        save.click()
        page.get_by_text("Region saved").wait_for(timeout=180_000)
        page.get_by_text("Measured: only the outlined rectangle").wait_for()  # the page shows the saved region
        app_driver.wait_idle(page)
        page.screenshot(path=str(tmp_path / "region.png"))
        # A polygon: four corners, then back to the first.
        page.get_by_role("button", name="⬠ Polygon").click()
        stage.scroll_into_view_if_needed()
        box = stage.bounding_box()  # the page above it changed (the saved region is described)
        for fx, fy in ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7), (0.3, 0.3)):
            page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        _settled(page, save)
        save.click()
        page.get_by_text("Region saved").wait_for(timeout=180_000)
        app_driver.wait_idle(page)
    records = Records(data)
    area = records.list_areas(CHECK, patient.id)[0]
    assert area.region_active and area.roi["shape"] == "polygon" and len(area.roi["points"]) == 4
    assert area.roi["points"][0] == pytest.approx([0.3, 0.3], abs=0.02)
    photos = records.list_photos(CHECK, patient.id)
    assert all(p.region for p in photos) and [p.scores["redness"] for p in photos] != whole
    lines = [e.detail for e in records.audit_log(Actor("admin", role="admin"), action="set_roi")]
    assert sorted(line.split(",")[0] for line in lines) == ["polygon", "rectangle"]  # each change audited
    records.close()


def test_a_mirrored_follow_up_is_refused_on_the_page_with_what_to_do(tmp_path):
    """Issue 20: a selfie camera's mirror image of the baseline is named as such, nothing is scored."""
    import numpy as np
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    mirrored = tmp_path / "2026-09-28_selfie.jpg"
    Image.fromarray(np.asarray(Image.open(SAMPLES / "2026-05-04_left-cheek.jpg"))[:, ::-1]).save(mirrored, quality=92)
    with app_driver.running_app(data) as url, app_driver.browser_page(width=1400, height=1000) as page:
        app_driver.log_in(page, url)
        app_driver.create_patient(page, "P-MIRROR", "Mirror Patient")
        app_driver.add_area(page, "left cheek")
        app_driver.open_page(page, "New session")
        app_driver.create_session(page, "2026-05-04")
        app_driver.upload_and_measure(page, [SAMPLES / "2026-05-04_left-cheek.jpg"], area="left cheek")
        page.get_by_text("This is the baseline of this area").wait_for()
        app_driver.create_session(page, "2026-09-28")
        app_driver.upload_and_measure(page, [mirrored], area="left cheek", scored=False)
        page.get_by_text("it is a mirror image of it").wait_for()
        page.get_by_text("turn off the camera's mirroring").wait_for()
        page.get_by_text("it is a mirror image of it").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "mirrored-follow-up.png"))
    records = Records(data)
    photos = records.list_photos(CHECK, records.find_patient(CHECK, "P-MIRROR").id)
    assert [(p.status, p.scores) for p in photos[1:]] == [("not_comparable", {})]
    assert photos[1].alignment["mirrored"] is True
    records.close()
