"""Shared fixtures: synthetic scenes (cached per session) and the real photos folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from skintrack.synthetic import Capture, SkinScene, SkinState

REPO = Path(__file__).resolve().parents[1]
REAL_PHOTOS = Path(os.environ.get("SKINTRACK_REAL_PHOTOS", REPO.parent / "shared" / "real_photos"))

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One process per core (make test): each scores on one thread, OpenCV included (same numbers, less
    # switching between the two processes' threads).
    from skintrack.measure.scoring import set_single_threaded

    set_single_threaded(True)

# Keep freed photo-sized arrays in the process, as batch workers and the CLI do (same numbers): fewer fresh
# pages faulted in by the kernel (tests/test_corrections.py: 17.7 -> 11.7 s of system time).
from skintrack.batch import tune_allocator  # noqa: E402

tune_allocator()


#: argon2id at a low cost for the tests that are not about password hashing: accounts for every app test,
#: log-ins and API tokens hash or check hundreds of passwords (287 in the API, app-text, log-in and
#: app-account tests: 33 s at the shipped 64 MiB, 3 passes, 4 lanes). Same algorithm and code paths.
_QUICK_HASHER = None


@pytest.fixture(autouse=True)
def _quick_password_hashing(request, monkeypatch):
    """Quick argon2 parameters, except for tests marked ``real_password_hashing`` (those about the shipped ones)."""
    global _QUICK_HASHER
    if request.node.get_closest_marker("real_password_hashing"):
        return
    from argon2 import PasswordHasher

    from skintrack.records import accounts

    if _QUICK_HASHER is None:
        _QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", _QUICK_HASHER)
    monkeypatch.setattr(accounts, "_dummy_hash", None)  # made again with these parameters


@pytest.fixture(autouse=True)
def _forget_the_apps_recent_changes():
    """The app remembers a form's change for a double click's second click, per browser session and for a
    few seconds (``skintrack_app.state.carried_out``); AppTest sessions of different tests must not see
    each other's."""
    yield
    state = sys.modules.get("skintrack_app.state")
    if state is not None:
        state.forget_recent_changes()


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest installs the app script as ``__main__`` and leaves it there;
    put pytest's back so later tests that start processes (Dask's LocalCluster) are not affected."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


def real_photo(name: str) -> Path:
    """Path of one photo in ../shared/real_photos (skips the test when absent)."""
    for sub in ("pad_ufes_20", "public_domain"):
        path = REAL_PHOTOS / sub / name
        if path.exists():
            return path
    pytest.skip(f"real photo {name} not available in {REAL_PHOTOS}")


@pytest.fixture(scope="session")
def real_photos_dir() -> Path:
    if not REAL_PHOTOS.exists():
        pytest.skip(f"{REAL_PHOTOS} not available")
    return REAL_PHOTOS


@pytest.fixture(scope="session")
def scene() -> SkinScene:
    """The standard synthetic cheek with backdrop and grey card."""
    return SkinScene(seed=11)


@pytest.fixture(scope="session")
def baseline_photo(scene):
    return render(scene)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


_RENDERS: dict = {}


def render(scene: SkinScene, state: SkinState | None = None, capture: Capture | None = None):
    """Render (and remember) a synthetic photo; tests share renders to stay fast."""
    key = (id(scene), state or SkinState(), capture or Capture(seed=1))
    if key not in _RENDERS:
        _RENDERS[key] = scene.render(key[1], key[2])
    return _RENDERS[key]


@pytest.fixture(scope="session")
def baseline_score(scene):
    import skintrack

    return skintrack.score(render(scene).rgb)


def working(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A truth mask resampled to a score's working resolution."""
    import cv2

    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


DEMO_LOADER_NAME = "Dr Demo"  # who loaded the demo patients in :func:`demo_folder`


def built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(folder)`` once per run, also when the suite runs in several processes (pytest-xdist): the
    first worker to need it builds it under a lock, the others wait and use it. Only for templates that
    tests copy (:func:`copy_of_demo`) and never open in place."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this run
    return _built(base, name, build)


def _built(base: Path, name: str, build) -> Path:
    import fcntl

    folder = base / name / "data"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / name / "complete").exists():
            shutil.rmtree(base / name, ignore_errors=True)  # a worker that died half-way
            folder.parent.mkdir(parents=True)
            build(folder)
            (base / name / "complete").touch()
    return folder


def _build_demo_template(folder: Path) -> None:
    from skintrack.records import Actor, Records

    records = Records(folder)
    records.load_demo(Actor(DEMO_LOADER_NAME), REPO / "sample_images")
    records.close()


def _build_cohort_template(folder: Path) -> None:
    from skintrack.cohort.demo import GROUPS, load_demo_cohort
    from skintrack.records import Actor, Records

    records = Records(folder)
    load_demo_cohort(records, Actor(DEMO_LOADER_NAME, role="admin"), n_patients=10, visits=3,
                     groups=(GROUPS[1], GROUPS[2]), workers=2)  # fmt: skip
    records.close()


#: The templates :func:`built_once` makes, by name.
TEMPLATES = {"demo-template": _build_demo_template, "cohort-template": _build_cohort_template}


def pytest_sessionstart(session):
    """When the whole suite runs in several processes (``make test``), build the templates side by side
    before the workers start, one process each: otherwise the first worker that needs one builds it while
    the other waits for it, and the two are built one after the other (about a minute on 2 cores)."""
    config = session.config
    whole_suite = all(Path(arg).resolve() == REPO / "tests" for arg in config.args)
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None) or not whole_suite:
        return
    if config.option.collectonly or "not slow" not in (config.option.markexpr or ""):
        return
    import multiprocessing

    base = config._tmp_path_factory.getbasetemp()  # the workers' basetemps are inside it
    context = multiprocessing.get_context("fork")
    builders = [context.Process(target=_build_at, args=(base, name)) for name in TEMPLATES]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join()  # a failed build is simply built again, with its error, by the first test that needs it


def _build_at(base: Path, name: str) -> None:
    _built(base, name, TEMPLATES[name])


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory) -> Path:
    """A data folder with both demo patients (sample_images/) loaded by ``Dr Demo``, made once per run.

    Loading measures 31 photos (about half a minute); tests that only need the demo patients as a
    starting point take a copy (:func:`copy_of_demo`) instead. Tests of loading itself still load.
    """
    return built_once(tmp_path_factory, "demo-template", _build_demo_template)


def copy_of_demo(demo_folder: Path, destination: Path) -> Path:
    """A private copy of :func:`demo_folder` at ``destination`` (a data folder to change freely)."""
    shutil.copytree(demo_folder, destination)
    return destination


_RECORDS_TEMPLATES: dict = {}


def add_closer_course(records, actor, treatments: tuple[str, str]):
    """Patient "P-CLOSER" with a cheek photographed twice: the synthetic cheek (800 x 600), then the same photo
    cut to its left 60 % (the same skin framed closer, issue 20). ``treatments`` are the two visits' kinds.
    Returns (patient, the follow-up's PhotoView)."""
    import cv2

    from skintrack import load_photo

    patient = records.add_patient(actor, "P-CLOSER")
    area = records.add_area(actor, patient.id, "cheek")
    photo = SkinScene(seed=11).render(SkinState(spot_contrast=10.0), Capture(seed=1, size=(800, 600))).encoded
    records.add_photo(actor, records.add_session(actor, patient.id, "2026-01-10", treatments[0]).id, area.id, photo)
    rgb = load_photo(photo).rgb
    cut = cv2.imencode(".png", np.ascontiguousarray(rgb[:, : int(rgb.shape[1] * 0.6), ::-1]))[1].tobytes()
    later = records.add_photo(actor, records.add_session(actor, patient.id, "2026-03-10", treatments[1]).id, area.id, cut)
    return patient, later


def same_numbers(a, b) -> bool:
    """Two measures (or dicts of them) are the same number, NaN included (a size in mm² without a measured
    scale is NaN in both)."""
    import math

    if isinstance(a, dict) or isinstance(b, dict):
        return set(a) == set(b) and all(same_numbers(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return a == b or (math.isnan(a) and math.isnan(b))


def copy_of_records(tmp_path_factory, key, build, destination: Path):
    """A private copy at ``destination`` of a data folder that ``build(folder)`` fills once per process.

    For fixtures that give every test the same stored course: measuring its photos once instead of once
    per test. ``build`` closes what it opens and returns what the tests need to know about the course
    (ids and stored rows, which are the same in every copy); that value is returned with each copy.
    ``key`` names the course (a different course, a different key).
    """
    if key not in _RECORDS_TEMPLATES:
        folder = tmp_path_factory.mktemp("records-template") / "data"
        _RECORDS_TEMPLATES[key] = (folder, build(folder))
    folder, value = _RECORDS_TEMPLATES[key]
    shutil.copytree(folder, destination, dirs_exist_ok=True)
    return value


@pytest.fixture(scope="session")
def demo_records(demo_folder, tmp_path_factory):
    """The demo patients (sample_images/) in records once per run: (records, DEMO-001, its area).

    Shared by the report tests; tests must not change it (make their own records for that).
    """
    from skintrack.records import Actor, Records

    records = Records(copy_of_demo(demo_folder, tmp_path_factory.mktemp("demo-records") / "data"))
    loader = Actor(DEMO_LOADER_NAME)
    patient = records.find_patient(loader, "DEMO-001")
    area = records.list_areas(loader, patient.id)[0]
    yield records, patient, area
    records.close()


@pytest.fixture(scope="session")
def real_pair_results(real_photos_dir):
    """The real repeat pairs (untreated skin photographed twice) through the pipeline, once per run,
    with two worker processes as the shipped table was made (``--workers 2``; half the time)."""
    from skintrack.comparison.repeatability import measure_pairs, real_pairs

    return measure_pairs(real_pairs(real_photos_dir), workers=2)


@pytest.fixture(scope="session")
def demo_photo_paths() -> list[Path]:
    """The demo patient's left-cheek photos, oldest first."""
    return sorted((REPO / "sample_images").glob("*_left-cheek.jpg"))


@pytest.fixture(scope="session")
def cohort_folder(tmp_path_factory) -> Path:
    """A small demo clinic in records, made once per run (skintrack.cohort.demo: 10 simulated patients, 5 with
    micro-needling at 1.5 mm and 5 with laser, 3 visits each, 30 small photos measured by the engine).
    Tests that change it take a copy (:func:`copy_of_demo`)."""
    return built_once(tmp_path_factory, "cohort-template", _build_cohort_template)
