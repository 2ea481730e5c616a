"""Start the Streamlit app on a free localhost port and drive it with Debian's Chromium.

Shared by the browser test (tests/test_browser.py), the app benchmark
(bench/app_bench.py) and the screenshot script (tools/screenshots.py).
Chromium is Debian's (/usr/bin/chromium), launched headless; Playwright never
downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The provider account :func:`running_app` creates in the data folder (log in with :func:`log_in`).
PROVIDER = ("dr-browser", "browser-test-password")


def add_account(data_dir: Path, username: str, password: str | None, *, role: str = "provider", **fields) -> None:
    """Create an account in ``data_dir`` (as the local operator would with `skintrack users add`)."""
    from skintrack.records import Actor, Records

    records = Records(data_dir)
    try:
        operator = Actor("app driver (local operator)", role="admin", source="cli")
        if username not in {u.username for u in records.list_users(operator)}:
            records.add_user(operator, username, password, role=role, **fields)
    finally:
        records.close()


@contextlib.contextmanager
def running_app(data_dir: Path, *, demo: bool = False, timeout: float = 120.0, host: str = "127.0.0.1",
                env: dict | None = None, secrets: str | None = None, port: int | None = None,
                provider_account: bool = True):  # fmt: skip
    """Run ``streamlit run app.py`` with its data in ``data_dir``; yields the base URL.

    The provider account :data:`PROVIDER` is created first (unless not ``provider_account``; log in
    with :func:`log_in`); with ``demo``
    the app loads the demo patient and its demo accounts on first start. ``secrets`` is the text of a
    secrets.toml (e.g. the ``[auth]`` section for ``st.login``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if provider_account:
        add_account(data_dir, *PROVIDER, display_name="Dr Browser")
    port = port or free_port()
    environment = dict(os.environ, SKINTRACK_DATA=str(data_dir), **(env or {}))
    if not demo:
        environment["SKINTRACK_NO_DEMO"] = "1"
    streamlit = Path(sys.executable).with_name("streamlit")
    log = open(data_dir.parent / f"streamlit-{port}.log", "wb")
    command = [str(streamlit), "run", str(REPO / "app.py"), "--server.port", str(port), "--server.address", host,
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    if secrets is not None:
        secrets_file = data_dir.parent / f"secrets-{port}.toml"
        secrets_file.write_text(secrets)
        command += ["--secrets.files", str(secrets_file)]
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


#: A phone: 390 x 844 CSS pixels, touch.
PHONE = {"width": 390, "height": 844}


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, *, touch: bool = False, args: list[str] | None = None,
                 permissions: list[str] | None = None):  # fmt: skip
    """A Chromium page of ``width`` x ``height``; ``touch`` makes it a phone (touch events, mobile viewport);
    ``args`` are extra Chromium switches (e.g. a fake camera)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(args or []))
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch,
                                    permissions=permissions or [])  # fmt: skip
            page.set_default_timeout(120_000)
            yield page
        finally:
            browser.close()


#: True in the page once Streamlit shows no "Running…" status (the script has finished).
SCRIPT_DONE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def wait_idle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)  # the status widget appears only once the rerun has been requested
    page.wait_for_function(SCRIPT_DONE, timeout=180_000)


def go(page, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_role("heading").first.wait_for()
    wait_idle(page)


def log_in(page, url: str, username: str = PROVIDER[0], password: str = PROVIDER[1], *, heading: str = "Patients") -> None:
    """Open the app and log in through its log-in page; waits for the first page (``heading``)."""
    go(page, url, "")
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    wait_idle(page)


def open_page(page, title: str) -> None:
    """Go to a page through the sidebar (keeps the browser's Streamlit session and its selection).

    On a phone the sidebar is folded away: it is opened first, like a person would."""
    link = page.get_by_role("link", name=title)
    if not sidebar_open(page):
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]').getBoundingClientRect().right > 100")
    link.click()  # Playwright waits until the link stands still (the sidebar has finished sliding in)
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


def create_patient(page, code: str, name: str) -> None:
    field = page.get_by_label("Patient code (unique)")
    if not field.is_visible():  # the "New patient" section is folded when patients exist
        page.get_by_text("New patient", exact=True).click()
        field.wait_for(state="visible")
    field.fill(code)
    page.get_by_label("Display name").first.fill(name)
    page.get_by_role("button", name="Create patient").click()
    page.get_by_text(f"Patient {code} created").wait_for()
    wait_idle(page)


def add_area(page, name: str) -> None:
    page.get_by_label("Add a treated area").fill(name)
    page.get_by_role("button", name="Add area").click()
    page.get_by_text(f"Area {name} added").wait_for()
    wait_idle(page)


def create_session(page, date_text: str, treatment: str | None = None) -> None:
    """date_text as YYYY-MM-DD; typed into the date field's year, month and day segments.

    Opens the visit form first when the patient already has visits (it closes after each Create)."""
    new_visit = page.get_by_role("button", name="+ Record a new visit")
    if new_visit.count():
        new_visit.click()
        page.get_by_role("button", name="Create session").wait_for()
        wait_idle(page)
    if treatment:
        page.get_by_label("Treatment").first.click()
        page.get_by_role("option", name=treatment, exact=True).click()
    year, month, day = date_text.split("-")
    for part, value in (("year", year), ("month", month), ("day", day)):
        segment = page.get_by_role("spinbutton", name=f"{part}, Date")
        segment.focus()  # a click would open the calendar over the field
        page.keyboard.type(value)
    page.keyboard.press("Escape")  # close the calendar if it opened
    page.locator('[data-baseweb="calendar"]').wait_for(state="detached")
    page.get_by_role("button", name="Create session").click()
    page.get_by_text("now add its photos").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Create session").wait_for(state="detached")  # the form closed


def sidebar_open(page) -> bool:
    box = page.locator('[data-testid="stSidebar"]').bounding_box()
    return bool(box and box["width"] > 0 and box["x"] + box["width"] > 0)


def drag(page, locator, start: float, end: float, *, touch: bool = False, steps: int = 10) -> None:
    """Drag across ``locator`` horizontally from ``start`` to ``end`` (fractions of its width), with the
    mouse, or with a finger (touch events through the DevTools protocol, as a phone sends them)."""
    box = locator.bounding_box()
    y = box["y"] + box["height"] / 2
    xs = [box["x"] + box["width"] * (start + (end - start) * i / steps) for i in range(steps + 1)]
    if not touch:
        page.mouse.move(xs[0], y)
        page.mouse.down()
        for x in xs[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": xs[0], "y": y}]})
    for x in xs[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def upload_and_measure(
    page, files: list[Path], *, area: str | None = None, new_area: str | None = None, scored: bool = True
) -> float:
    """Upload photos and press "Add photos"; returns seconds until the scores are shown (with ``scored=False``,
    until the last file's result is shown: a refused photo has no score tiles)."""
    if new_area:
        choose(page, "Area", "+ new area…")
        page.get_by_label("New area name").fill(new_area)
    elif area:
        choose(page, "Area", area)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files([str(f) for f in files])
    # Each file shows as a chip (its name shortened in the middle); the spinner goes when it has reached the server.
    page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stFileChip\"]').length >= n", arg=len(files))
    page.locator('[data-testid="stFileChipIconSpinner"]').first.wait_for(state="detached")
    wait_idle(page)
    started = time.perf_counter()
    page.get_by_role("button", name="Add photos").click()
    page.get_by_text("Done.").wait_for(timeout=180_000)
    # This upload's result (its file name), then its scores: one tile per measure.
    page.get_by_text(files[-1].name).first.wait_for()
    if scored:
        page.locator('[data-testid="stMetric"]').last.wait_for()
    elapsed = time.perf_counter() - started
    wait_idle(page)
    return elapsed


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option).click()
    wait_idle(page)
