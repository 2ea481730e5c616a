"""Shared fixtures: synthetic scenes (cached per session) and the real photos folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from skintrack.synthetic import Capture, SkinScene, SkinState

REPO = Path(__file__).resolve().parents[1]
REAL_PHOTOS = Path(os.environ.get("SKINTRACK_REAL_PHOTOS", REPO.parent / "shared" / "real_photos"))


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


@pytest.fixture(scope="session")
def demo_records(tmp_path_factory):
    """The demo patient (sample_images/) loaded into records once per run: (records, patient, area).

    Shared by the report tests; tests must not change it (make their own records for that).
    """
    from skintrack.records import Actor, Records

    records = Records(tmp_path_factory.mktemp("demo-records"))
    loader = Actor("Dr Demo")
    patient = records.load_demo(loader, REPO / "sample_images")
    area = records.list_areas(loader, patient.id)[0]
    yield records, patient, area
    records.close()


@pytest.fixture(scope="session")
def real_pair_results(real_photos_dir):
    """The real repeat pairs (untreated skin photographed twice) through the pipeline, once per run."""
    from skintrack.repeatability import measure_pairs, real_pairs

    return measure_pairs(real_pairs(real_photos_dir), workers=1)


@pytest.fixture(scope="session")
def demo_photo_paths() -> list[Path]:
    """The demo patient's left-cheek photos, oldest first."""
    return sorted((REPO / "sample_images").glob("*_left-cheek.jpg"))
