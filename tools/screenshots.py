"""Screenshots of every page of the app with the demo patient, for the README (docs/*.png).

Desktop (1400 px wide): log-in, patients, new session (a follow-up measured), photos (consent,
move, delete), region (the treated area outlined), compare (the before/after slider, divider
dragged), progress (goal measures first, compact grid, one legend), export, accounts, audit.
Phone (390 x 844, touch): the provider's compare page and the patient portal.

Run: ``.venv/bin/python tools/screenshots.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import app_driver  # noqa: E402

DOCS = app_driver.REPO / "docs"
SAMPLES = app_driver.REPO / "sample_images"
ADMIN = ("admin-screens", "admin-screens-pw")
PROVIDER = ("demo-provider", "demo-provider-pw")
WIDE = {"width": 1400, "height": 1100}
TALL = {"width": 1400, "height": 1900}  # pages with photos and charts, shown whole
SHOTS = ["login", "patients", "new-session", "photos", "region", "compare", "progress", "export", "accounts", "audit",
         "phone-compare", "phone-progress", "portal", "portal-charts"]  # fmt: skip


def shot(page, name: str, **options) -> None:
    """Screenshot once the page has settled: no element still loading (Streamlit draws a grey skeleton
    while a widget's code loads), every image loaded, the script finished."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"], [data-testid=\"stSkeletonElement\"]')")
    _images_loaded(page)
    page.wait_for_function(app_driver.SCRIPT_DONE)
    page.screenshot(path=str(DOCS / f"{name}.png"), **options)


def _charts_drawn(page) -> None:
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".every(c => c.querySelector('canvas, svg'))"
    )
    app_driver.wait_idle(page)


def _images_loaded(page) -> None:
    page.wait_for_function("() => [...document.images].every(i => i.complete)")


def _slider(page, touch: bool = False):
    slider = page.locator('[data-testid="before-after"]')
    slider.wait_for()
    slider.locator("img").first.evaluate("i => i.complete || new Promise(done => { i.onload = () => done(true); })")
    slider.scroll_into_view_if_needed()
    app_driver.drag(page, slider, 0.5, 0.35, touch=touch)
    return slider


def check_up_photo(folder: Path) -> Path:
    """A new photo of the demo cheek for a check-up visit (the last session's skin, another capture): a photo
    already in the demo would rightly be held back as a duplicate."""
    from skintrack.synthetic import DEMO_SEED, DEMO_SESSIONS, Capture, SkinScene, SkinState

    session = DEMO_SESSIONS[-1]
    scene = SkinScene(seed=DEMO_SEED, size=(1600, 1200), grey_card=True, backdrop=True)
    capture = Capture(size=(1600, 1200), jpeg_quality=90, seed=DEMO_SEED + 100, rotation_deg=1.5, shift=(12, -8))
    path = folder / "2026-10-26_left-cheek.jpg"
    path.write_bytes(scene.render(SkinState(**session["state"]), capture).encoded)
    return path


def provider_desktop(url: str, photo: Path) -> None:
    with app_driver.browser_page(**WIDE) as page:
        app_driver.go(page, url, "")
        shot(page, "login")
        app_driver.log_in(page, url, *PROVIDER)
        page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()  # the table drawn, not its placeholder
        _images_loaded(page)
        shot(page, "patients")
        app_driver.open_page(page, "New session")
        app_driver.create_session(page, "2026-10-26", treatment="other")
        app_driver.upload_and_measure(page, [photo], area="left cheek")
        page.set_viewport_size(TALL)
        page.get_by_text(photo.name).first.scroll_into_view_if_needed()
        _images_loaded(page)
        shot(page, "new-session")
        page.set_viewport_size(WIDE)
        app_driver.open_page(page, "Photos")
        page.get_by_text("Consent", exact=True).first.click()  # the consent editor of the newest photo
        page.get_by_text("Withdraw", exact=False).first.wait_for()
        _images_loaded(page)
        shot(page, "photos")
        page.set_viewport_size(TALL)
        app_driver.open_page(page, "Compare")
        page.get_by_text("Redness heat map").click()
        app_driver.wait_idle(page)
        _slider(page)
        page.mouse.move(0, 0)
        page.evaluate("window.scrollTo(0, 0)")
        _images_loaded(page)
        shot(page, "compare", full_page=True)
        app_driver.open_page(page, "Progress")
        _charts_drawn(page)
        shot(page, "progress", full_page=True)
        page.set_viewport_size(WIDE)
        app_driver.open_page(page, "Export")
        shot(page, "export")
        page.set_viewport_size(TALL)
        app_driver.open_page(page, "Region")  # last: saving a region measures the area again
        stage = page.locator('[data-testid="region-editor"]')
        stage.wait_for()
        stage.locator("img").first.evaluate("i => i.complete || new Promise(done => { i.onload = () => done(true); })")
        stage.scroll_into_view_if_needed()
        page.get_by_role("button", name="⬠ Polygon").click()
        box = stage.bounding_box()
        for fx, fy in ((0.35, 0.35), (0.62, 0.3), (0.7, 0.6), (0.45, 0.72), (0.3, 0.55), (0.35, 0.35)):
            page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        save = page.get_by_role("button", name="Save the region and measure again")
        app_driver.wait_idle(page)
        save.click()
        page.get_by_text("Region saved").wait_for(timeout=180_000)
        page.get_by_text("The region on the latest visit").wait_for(timeout=180_000)  # the last thing measured
        app_driver.wait_idle(page)
        page.evaluate("window.scrollTo(0, 0)")
        _images_loaded(page)
        shot(page, "region", full_page=True)


def provider_phone(url: str) -> None:
    with app_driver.browser_page(**app_driver.PHONE, touch=True) as page:
        app_driver.log_in(page, url, *PROVIDER)
        app_driver.open_page(page, "Compare")
        _slider(page, touch=True)
        shot(page, "phone-compare")
        app_driver.open_page(page, "Progress")
        _charts_drawn(page)
        page.get_by_role("heading", name="Charts").scroll_into_view_if_needed()
        shot(page, "phone-progress")


def admin(url: str) -> None:
    with app_driver.browser_page(width=1400, height=1100) as page:
        app_driver.log_in(page, url, *ADMIN)
        app_driver.open_page(page, "Accounts")
        shot(page, "accounts")
        app_driver.open_page(page, "Audit")
        shot(page, "audit")


def patient_phone(url: str) -> None:
    with app_driver.browser_page(**app_driver.PHONE, touch=True) as page:
        app_driver.log_in(page, url, "demo-patient", "demo-patient-pw", heading="Your skin progress")
        _charts_drawn(page)
        _images_loaded(page)
        shot(page, "portal")
        page.locator('[data-testid="stVegaLiteChart"]').first.scroll_into_view_if_needed()
        shot(page, "portal-charts")


def _load_demo(data: Path) -> None:
    from skintrack.records import Actor, Records

    records = Records(data)
    try:
        loader = Actor("skintrack first start", role="admin", source="system")
        patient = records.load_demo(loader, SAMPLES)
        records.create_demo_accounts(loader, patient.id)
    finally:
        records.close()


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        app_driver.add_account(data, *ADMIN, role="admin", display_name="Ada Admin")
        _load_demo(data)  # as `make run` does before starting the app (a busy machine took minutes on first page)
        photo = check_up_photo(Path(tmp))
        with app_driver.running_app(data, demo=True, provider_account=False) as url:
            provider_desktop(url, photo)
            provider_phone(url)
            admin(url)
            patient_phone(url)
    for name in SHOTS:
        print(DOCS / f"{name}.png")


if __name__ == "__main__":
    main()
