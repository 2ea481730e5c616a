"""Batch scoring from Python and the command line, locally and on a Dask cluster (skintrack/batch.py, cli.py).

A smoke test in the style of aevri/mel's: every CLI command end to end on a temp
folder built from the synthetic generator, with a corrupt file among good ones.
"""

from __future__ import annotations

import math
import platform
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from skintrack import __version__
from skintrack.batch import course_layout, score_course, score_folder, tune_allocator
from skintrack.cli import EXIT_SOME_FAILED, main
from skintrack.measure.metrics import METRIC_NAMES
from skintrack.records import Actor, Records
from skintrack.synthetic import WARM, Capture, SkinScene, SkinState

SIZE = (1024, 768)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """PATIENT/AREA/DATE/*.jpg: two patients, three and two sessions, plus a corrupt file."""
    root = tmp_path_factory.mktemp("course")
    plans = {
        ("P-001", "left-cheek", 41): [
            ("2026-05-04", SkinState(diffuse_redness=2.5), Capture(size=SIZE, seed=1)),
            ("2026-06-01", SkinState(erythema=6.0, diffuse_redness=1.0, spot_contrast=11.0), Capture(size=SIZE, seed=2, rotation_deg=3, exposure=0.9, white_balance=WARM)),
            ("2026-07-01", SkinState(erythema=3.0, spot_contrast=7.0), Capture(size=SIZE, seed=3, rotation_deg=-2, scale=1.04, shift=(20, 10))),
        ],
        ("P-002", "forehead", 42): [
            ("2026-03-10", SkinState(base_lab=(55.0, 13.0, 19.0)), Capture(size=SIZE, seed=4)),
            ("2026-04-10", SkinState(base_lab=(55.0, 13.0, 19.0), roughness=0.6), Capture(size=SIZE, seed=5, rotation_deg=2)),
        ],
    }  # fmt: skip
    for (patient, area, seed), sessions in plans.items():
        scene = SkinScene(seed=seed, size=SIZE)
        for date, state, capture in sessions:
            folder = root / patient / area / date
            folder.mkdir(parents=True)
            (folder / "photo.jpg").write_bytes(scene.render(state, capture).encoded)
    (root / "P-002" / "forehead" / "2026-04-10" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


#: Sizes in mm² need a measured scale (a chart or a face), which the synthetic course lacks.
SIZES = ("red_lesion_mean_mm2", "spot_mean_mm2")
MEASURED = tuple(name for name in METRIC_NAMES if name not in SIZES)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_score_folder_one_row_per_photo_and_a_bad_file_does_not_stop_it(course):
    table = score_folder(course, workers=1, progress=False)
    assert len(table) == 6
    assert list(table.columns[:2]) == ["path", "sha256"] and set(METRIC_NAMES) <= set(table.columns)
    bad = table[table["path"].str.endswith("broken.jpg")]
    assert len(bad) == 1 and "PhotoError" in bad["error"].iloc[0]
    assert all(math.isnan(v) for v in bad[list(METRIC_NAMES)].iloc[0])
    good = table[table["error"].isna()]
    assert len(good) == 5 and good[list(MEASURED)].notna().all().all()
    # No chart or face in these photos: the sizes in mm² are NaN, and the row says why.
    assert good[list(SIZES)].isna().all().all() and good["nan_reasons"].str.contains("measured scale").all()
    assert (good["engine_version"] == __version__).all() and good["settings_hash"].nunique() == 1


def test_same_numbers_whatever_the_number_of_workers(course):
    one = score_folder(course, workers=1, progress=False)
    two = score_folder(course, workers=2, progress=False)
    pd.testing.assert_frame_equal(one, two)


def test_allocator_tuning_changes_no_number(course):
    before = score_folder(course / "P-001", workers=1, progress=False)
    tuned = tune_allocator()
    if platform.libc_ver()[0] == "glibc":
        assert tuned  # the setting a pool worker gets is really applied here
    pd.testing.assert_frame_equal(before, score_folder(course / "P-001", workers=1, progress=False))


def test_workers_never_re_run_the_callers_script(course, tmp_path):
    """A researcher's quick script without a main guard, and Streamlit's fake __main__, both work."""
    script = tmp_path / "quick.py"
    script.write_text(
        "import skintrack\n"
        f"table = skintrack.score_folder({str(course / 'P-001')!r}, workers=2, progress=False)\n"
        "print('rows', len(table), 'errors', int(table['error'].notna().sum()))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["rows", "3", "errors", "0"]

    trap = tmp_path / "app_script.py"
    trap.write_text("raise SystemExit('the caller script was run in a worker')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(trap)  # what Streamlit's script runner leaves in sys.modules
    real_main = sys.modules["__main__"]
    sys.modules["__main__"] = fake_main
    try:
        table = score_folder(course / "P-001", workers=2, progress=False)
    finally:
        sys.modules["__main__"] = real_main
    assert table["error"].isna().all() and len(table) == 3


def test_other_cpu_kernels_move_numbers_only_in_the_sixth_digit(course):
    """Machines differ in the SIMD kernels OpenCV dispatches (AVX-512, AVX2, NEON); running
    without them shows how far that moves a score: far below any metric's MDC."""
    import cv2

    optimised = score_folder(course / "P-001", workers=1, progress=False)
    cv2.setUseOptimized(False)
    try:
        plain = score_folder(course / "P-001", workers=1, progress=False)
    finally:
        cv2.setUseOptimized(True)
    metrics = list(METRIC_NAMES)
    np.testing.assert_allclose(plain[metrics].to_numpy(), optimised[metrics].to_numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # starts a local Dask cluster
def test_same_numbers_on_a_dask_cluster(course):
    distributed = pytest.importorskip("dask.distributed")
    local = score_folder(course, workers=1, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = score_folder(course, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(local, remote)


def test_reference_thresholds_are_used(course):
    baseline = course / "P-001" / "left-cheek" / "2026-05-04" / "photo.jpg"
    own = score_folder(course / "P-001", workers=1, progress=False)
    against = score_folder(course / "P-001", reference=baseline, workers=1, progress=False)
    assert own["red_area_pct"].iloc[0] == against["red_area_pct"].iloc[0]  # the baseline itself
    assert not np.allclose(own["red_area_pct"].iloc[1:], against["red_area_pct"].iloc[1:])
    assert (against["status"] == "scored").all() and (own["status"] == "scored").all()


def test_score_folder_measures_through_compare(course):
    """No reference: each photo as measure_baseline measures it; a reference: compare() against it (the
    baseline photo itself gets its baseline row), with the pipeline's settings hash."""
    from skintrack.comparison.compare import DEFAULT_CONFIG, compare, measure_baseline

    photos = sorted((course / "P-001").rglob("*.jpg"))
    own = score_folder(photos, workers=1, progress=False)
    against = score_folder(photos, reference=photos[0], workers=1, progress=False)
    first = measure_baseline(photos[0])
    for i, photo in enumerate(photos):
        alone = measure_baseline(photo).score.metrics
        later = first.score.metrics if i == 0 else compare(first, photo).score.metrics
        for name in METRIC_NAMES:
            assert _same(own[name].iloc[i], alone[name]) and _same(against[name].iloc[i], later[name]), (photo, name)
    assert (own["settings_hash"] == DEFAULT_CONFIG.settings_hash).all()
    # the measured baseline itself is a reference too, with the same numbers
    pd.testing.assert_frame_equal(against, score_folder(photos, reference=first, workers=2, progress=False))


def test_another_skin_against_the_reference_is_refused_with_the_reason(course):
    baseline = course / "P-001" / "left-cheek" / "2026-05-04" / "photo.jpg"
    other = course / "P-002" / "forehead" / "2026-03-10" / "photo.jpg"
    row = score_folder([other], reference=baseline, workers=1, progress=False).iloc[0]
    assert row["status"] == "not_comparable" and "Not comparable" in row["error"]
    assert all(math.isnan(row[name]) for name in METRIC_NAMES)


def test_a_thresholds_reference_is_refused_with_what_to_pass_instead(course):
    from skintrack.comparison.compare import measure_baseline

    thresholds = measure_baseline(course / "P-001" / "left-cheek" / "2026-05-04" / "photo.jpg").score
    for reference in (thresholds, thresholds.thresholds):
        with pytest.raises(TypeError, match="baseline photo"):
            score_folder(course / "P-001", reference=reference, workers=1, progress=False)


def test_course_is_measured_against_each_area_baseline(course):
    table = score_course(course, workers=2, progress=False)
    photos = table.drop_duplicates("path")
    assert set(photos["patient"]) == {"P-001", "P-002"}
    assert len(table) == len(photos) * len(METRIC_NAMES)
    baselines = photos[photos["role"] == "baseline"]
    assert sorted(baselines["date"]) == ["2026-03-10", "2026-05-04"]
    baseline_rows = table[table["role"] == "baseline"]
    assert (baseline_rows[baseline_rows["metric"].isin(MEASURED)]["change"] == 0).all()
    assert baseline_rows[baseline_rows["metric"].isin(SIZES)]["change"].isna().all()  # not measured: no change
    redness = table[(table["metric"] == "redness") & (table["patient"] == "P-001")].sort_values("date")
    assert (redness["status"] == "scored").all()
    assert redness["change"].iloc[2] < 0 and bool(redness["beyond_noise"].iloc[2])
    broken = table[table["path"].str.endswith("broken.jpg")]
    assert (broken["status"] == "error").all() and broken["error"].str.contains("PhotoError").all()
    assert {"change_pct", "mdc95", "alignment_quality", "normalization"} <= set(table.columns)


def test_a_follow_up_that_does_not_align_gets_no_numbers(tmp_path):
    area = tmp_path / "P-003" / "chin"
    for date, seed in (("2026-01-05", 7), ("2026-02-05", 99)):  # another person's skin as the follow-up
        (area / date).mkdir(parents=True)
        (area / date / "photo.jpg").write_bytes(SkinScene(seed=seed, size=SIZE).render(SkinState(), Capture(size=SIZE, seed=seed)).encoded)
    table = score_course(tmp_path, workers=1, progress=False)
    follow_up = table[table["date"] == "2026-02-05"]
    assert (follow_up["status"] == "not_comparable").all() and follow_up["error"].notna().all()
    assert follow_up["value"].isna().all() and follow_up["beyond_noise"].isna().all()
    assert (table[table["date"] == "2026-01-05"]["status"] == "scored").all()


def test_course_layout_is_checked(tmp_path):
    (tmp_path / "P-1" / "cheek").mkdir(parents=True)
    (tmp_path / "P-1" / "cheek" / "photo.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="PATIENT/AREA/YYYY-MM-DD"):
        course_layout(tmp_path)


# --------------------------------------------------------------------------- the command line


def test_cli_smoke(course, tmp_path):
    runner = CliRunner()
    csv = tmp_path / "scores.csv"
    first = runner.invoke(main, ["score", str(course), "--output", str(csv), "--workers", "2"])
    assert first.exit_code == EXIT_SOME_FAILED, first.output
    assert "broken.jpg" in first.stderr and "scored 5 of 6 photos; 1 failed" in first.stderr
    table = pd.read_csv(csv)
    assert len(table) == 6 and {"path", "sha256", "error", *METRIC_NAMES} <= set(table.columns)

    # Resume: photos already scored (same hash and settings) are skipped.
    again = runner.invoke(main, ["score", str(course), "--output", str(csv)])
    assert "5 already in" in again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)
    forced = runner.invoke(main, ["score", str(course), "--output", str(csv), "--force", "--workers", "1"])
    assert "already in" not in forced.stderr
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)

    parquet = tmp_path / "scores.parquet"
    result = runner.invoke(main, ["score", str(course / "P-001"), "-o", str(parquet), "-w", "1"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(parquet)) == 3

    to_stdout = runner.invoke(main, ["score", str(course / "P-001" / "left-cheek" / "2026-05-04" / "photo.jpg")])
    assert to_stdout.exit_code == 0 and to_stdout.stdout.startswith("path,sha256,")

    bad_output = runner.invoke(main, ["score", str(course), "--output", str(tmp_path / "scores.xlsx")])
    assert bad_output.exit_code == 2 and ".csv or .parquet" in bad_output.output

    tidy = tmp_path / "course.csv"
    result = runner.invoke(main, ["course", str(course), "--output", str(tidy), "--workers", "2"])
    assert result.exit_code == EXIT_SOME_FAILED and "in 2 areas" in result.stderr
    assert set(pd.read_csv(tidy)["metric"]) == set(METRIC_NAMES)

    data = tmp_path / "records"
    result = runner.invoke(main, ["import", str(course), "--data", str(data)])
    assert result.exit_code == EXIT_SOME_FAILED and "imported 5 photos for 2 patients" in result.stderr
    records = Records(data)
    patient = records.find_patient(Actor("t"), "P-001")
    assert patient.session_count == 3 and patient.areas == ["left cheek"]
    assert len(records.list_photos(Actor("t"), patient.id)) == 3
    result = runner.invoke(main, ["import", str(course), "--data", str(data)])
    assert "imported 0 photos" in result.stderr  # nothing stored twice


def test_score_folder_leaves_out_the_photos_in_its_skip_list(course):
    from skintrack.batch import file_sha256
    from skintrack.comparison.compare import CompareConfig

    photos = sorted(course.glob("P-001/**/*.jpg"))
    skip = {file_sha256(photos[0]): CompareConfig().settings_hash, file_sha256(photos[1]): "other-settings"}
    table = score_folder(photos, workers=1, progress=False, skip=skip)
    assert list(table["path"]) == [str(p) for p in photos[1:]]  # other settings: scored again


def test_cli_resume_keeps_every_photo_matched_by_hash(course, tmp_path, monkeypatch):
    """Score, rename a photo, score again: every input photo keeps its row (under its new name), and
    only what is new is scored (the rename is recognised by content)."""
    import shutil

    import skintrack.batch

    folder = tmp_path / "photos"
    shutil.copytree(course / "P-001", folder)
    runner = CliRunner()
    csv = tmp_path / "out.csv"
    first = runner.invoke(main, ["score", str(folder), "-o", str(csv), "-w", "1"])
    assert first.exit_code == 0, first.output
    before = pd.read_csv(csv)
    assert len(before) == 3
    renamed = folder / "left-cheek" / "2026-06-01" / "photo.jpg"
    renamed.rename(renamed.with_name("renamed.jpg"))
    shutil.copy(folder / "left-cheek" / "2026-05-04" / "photo.jpg", folder / "left-cheek" / "2026-05-04" / "copy.jpg")
    scored = []
    real = skintrack.batch.score_one
    monkeypatch.setattr(skintrack.batch, "score_one", lambda path, *a, **k: scored.append(path) or real(path, *a, **k))
    again = runner.invoke(main, ["score", str(folder), "-o", str(csv), "-w", "1"])
    assert again.exit_code == 0, again.output
    assert scored == []  # nothing new: the renamed photo and the copy were scored already
    assert "4 already in" in again.stderr and "scored 4 of 4 photos" in again.stderr
    after = pd.read_csv(csv)
    assert sorted(after["path"]) == sorted(str(p) for p in folder.rglob("*.jpg"))
    by_path = after.set_index("path")
    old = before.set_index("path")
    assert by_path.loc[str(renamed.with_name("renamed.jpg")), "redness"] == old.loc[str(renamed), "redness"]
    assert by_path.loc[str(folder / "left-cheek" / "2026-05-04" / "copy.jpg"), "sha256"] == old.loc[
        str(folder / "left-cheek" / "2026-05-04" / "photo.jpg"), "sha256"]


def test_cli_as_a_program_with_a_quiet_progress_bar(course, tmp_path):
    output = tmp_path / "out.csv"
    run = subprocess.run(
        [sys.executable, "-m", "skintrack", "score", str(course / "P-002"), "--output", str(output), "--workers", "1"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == EXIT_SOME_FAILED
    assert "it/s" not in run.stderr and "%|" not in run.stderr  # not a terminal: no progress bar
    assert "failed: " in run.stderr
    version = subprocess.run([sys.executable, "-m", "skintrack", "--version"], capture_output=True, text=True)
    assert __version__ in version.stdout


def test_cli_refuses_bad_set_ups_before_scoring_anything(course, tmp_path, monkeypatch):
    import skintrack.batch

    runner = CliRunner()
    unwritable = tmp_path / "a-file"
    unwritable.write_text("x")
    result = runner.invoke(main, ["score", str(course), "--output", str(unwritable / "scores.csv")])
    assert result.exit_code == 2 and "cannot write" in result.output
    (tmp_path / "folder.csv").mkdir()
    result = runner.invoke(main, ["score", str(course), "--output", str(tmp_path / "folder.csv")])
    assert result.exit_code == 2 and "is a folder" in result.output

    # A scheduler nobody listens on: a clear error, nothing written, no traceback.
    monkeypatch.setattr(skintrack.batch, "DASK_CONNECT_TIMEOUT_S", 1)
    output = tmp_path / "remote.csv"
    result = runner.invoke(main, ["score", str(course), "-o", str(output), "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1 and "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not output.exists() and "Traceback" not in result.output

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["score", str(empty)])
    assert result.exit_code == 0 and "no photos found" in result.stderr


def test_cli_resume_from_a_damaged_or_foreign_table_is_refused_and_keeps_it(course, tmp_path):
    runner = CliRunner()
    damaged = tmp_path / "scores.parquet"
    damaged.write_bytes(b"PAR1 not really")
    result = runner.invoke(main, ["score", str(course / "P-001"), "-o", str(damaged), "-w", "1"])
    assert result.exit_code == 1 and "cannot be read" in result.output and "--force" in result.output
    assert damaged.read_bytes() == b"PAR1 not really"
    foreign = tmp_path / "other.csv"
    foreign.write_text("name,age\nann,3\n")
    result = runner.invoke(main, ["score", str(course / "P-001"), "-o", str(foreign), "-w", "1"])
    assert result.exit_code == 1 and "not a `skintrack score` table" in result.output
    assert foreign.read_text() == "name,age\nann,3\n"
    result = runner.invoke(main, ["score", str(course / "P-001"), "-o", str(foreign), "-w", "1", "--force"])
    assert result.exit_code == 0 and len(pd.read_csv(foreign)) == 3


def test_two_runs_writing_the_same_output_at_once(course, tmp_path):
    output = tmp_path / "shared.csv"
    command = [sys.executable, "-m", "skintrack", "score", str(course / "P-001"), "-o", str(output), "-w", "1", "--force"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    table = pd.read_csv(output)
    assert len(table) == 3 and table["error"].isna().all()
    assert [p.name for p in tmp_path.iterdir()] == ["shared.csv"]  # no temporary file left behind
