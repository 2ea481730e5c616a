"""The one comparable-session pipeline (skintrack/comparison/compare.py): statuses, settings hash, ROI, doors."""

from __future__ import annotations

import dataclasses
import importlib
import math
import shutil

import cv2
import numpy as np
import pytest

from skintrack import ScoreConfig, load_photo
from skintrack.comparison.align import AlignConfig
from skintrack.comparison.compare import CompareConfig, compare, measure_baseline, roi_hash
from skintrack.comparison.normalize import NormalizeConfig
from skintrack.comparison.quality import QualityConfig
from skintrack.measure.face import FaceConfig
from skintrack.measure.metrics import METRIC_NAMES
from skintrack.measure.skin import SkinConfig
from skintrack.synthetic import Capture, SkinState

from .conftest import REPO, render, same_numbers

#: The module (``skintrack.compare`` the attribute is the function).
compare_module = importlib.import_module("skintrack.comparison.compare")


@pytest.fixture(scope="module")
def measured_baseline(baseline_photo):
    return measure_baseline(baseline_photo.encoded)


def test_a_follow_up_is_scored_against_the_baselines_yardstick(scene, measured_baseline):
    follow_up = render(scene, SkinState(erythema=4.0), Capture(seed=8, rotation_deg=4, shift=(30, -20)))
    result = compare(measured_baseline, follow_up.encoded)
    assert result.status == "scored" and result.role == "follow-up"
    assert result.score.thresholds == measured_baseline.score.thresholds
    assert result.conditions.reference in ("grey_card", "chart", "backdrop")
    assert result.conditions.alignment_quality == result.alignment.quality
    for name in METRIC_NAMES:
        expected = result.score.metrics[name] - measured_baseline.score.metrics[name]
        assert same_numbers(result.changes[name], expected), name
    # A verdict for every change measured (the sizes in mm² are not: no chart or face on this cheek).
    assert set(result.verdicts) == {name for name in METRIC_NAMES if math.isfinite(result.changes[name])}
    assert set(METRIC_NAMES) - set(result.verdicts) == {"red_lesion_mean_mm2", "spot_mean_mm2"}
    assert result.provenance["baseline_sha256"] == measured_baseline.score.provenance["photo_sha256"]
    assert result.summary()["status"] == "scored"


def test_a_blurred_follow_up_is_blocked_with_the_reason(baseline_photo, measured_baseline):
    blurred = cv2.GaussianBlur(baseline_photo.rgb, (0, 0), 5.0)
    result = compare(measured_baseline, blurred)
    assert result.status == "blocked" and result.score is None and result.verdicts == {}
    assert any("blurred" in reason for reason in result.reasons)


def test_a_follow_up_showing_part_of_the_baseline_is_compared_over_the_skin_both_show(measured_baseline, baseline_photo):
    """Issue 20: the same photo cut to its left 60 % is unchanged skin. Against the whole baseline its spot
    count, red area and line density differ (the cut-off part had its own); against the baseline measured
    over the overlap they do not, and the provenance says how much of the baseline's skin was left out."""
    rgb = load_photo(baseline_photo.encoded).rgb
    part = compare(measured_baseline, np.ascontiguousarray(rgb[:, : int(rgb.shape[1] * 0.6)]))
    assert part.scored, part.reason
    record = part.score.provenance["baseline_on_overlap"]
    assert record["skin_left_out_pct"] > 10 and record["metrics"] is not None
    whole, overlap, follow_up = part.baseline_score.metrics, part.compared_with.metrics, part.score.metrics
    assert part.compared_with is not part.baseline_score
    assert set(record["metrics"]) == set(overlap)
    for name, value in overlap.items():  # stored as JSON: a NaN (sizes without a measured scale) is null
        assert record["metrics"][name] == pytest.approx(value) if math.isfinite(value) else record["metrics"][name] is None
    assert follow_up["spot_count"] == overlap["spot_count"] != whole["spot_count"]
    for name in ("red_area_pct", "line_density", "redness"):
        assert abs(follow_up[name] - overlap[name]) < 0.2 * abs(follow_up[name] - whole[name]), name
    assert part.changes == pytest.approx({name: follow_up[name] - overlap[name] for name in METRIC_NAMES}, nan_ok=True)
    assert part.summary()["compared_with_metrics"]["spot_count"] == overlap["spot_count"]
    assert not any(v.beyond for v in part.verdicts.values())
    # A follow-up that shows all of the baseline's skin is compared with the whole baseline (nothing re-measured).
    same = compare(measured_baseline, rgb)
    assert same.compared_with is same.baseline_score
    assert same.score.provenance["baseline_on_overlap"] == {"skin_left_out_pct": 0.0, "metrics": None}


def test_a_photo_of_something_else_is_not_comparable(measured_baseline):
    other = render(SkinScene_other(), SkinState(base_lab=(50.0, 14.0, 20.0)))
    result = compare(measured_baseline, other.encoded)
    assert result.status == "not_comparable" and result.score is None
    assert "Not comparable" in result.reason


def test_a_mirrored_follow_up_is_not_comparable_and_says_it_is_mirrored(measured_baseline, baseline_photo):
    import numpy as np

    result = compare(measured_baseline, np.ascontiguousarray(baseline_photo.rgb[:, ::-1]))
    assert result.status == "not_comparable" and result.score is None and result.verdicts == {}
    assert "mirror image" in result.reason and result.alignment.summary()["mirrored"] is True


def SkinScene_other():
    from skintrack.synthetic import SkinScene

    return SkinScene(seed=97)


def test_a_baseline_that_cannot_be_measured_makes_follow_ups_not_comparable(baseline_photo):
    blurred = cv2.GaussianBlur(baseline_photo.rgb, (0, 0), 5.0)
    result = compare(blurred, baseline_photo.encoded)
    assert result.status == "not_comparable" and "baseline cannot be measured" in result.reason


def test_a_measured_baseline_refuses_other_settings(baseline_photo, measured_baseline):
    with pytest.raises(ValueError, match="other settings"):
        compare(measured_baseline, baseline_photo.encoded, config={"red_k": 2.5})


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1
    if isinstance(value, str):
        return "homography" if value != "homography" else "similarity"
    if isinstance(value, tuple):
        return tuple(v * 2 for v in value)
    raise TypeError(value)


@pytest.mark.parametrize(
    "section, kind",
    [("normalize", NormalizeConfig), ("align", AlignConfig), ("quality", QualityConfig)],
)
def test_every_step_setting_is_in_the_settings_hash(section, kind):
    base = CompareConfig().settings_hash
    for f in dataclasses.fields(kind):
        value = getattr(kind(), f.name)
        if value is None:
            continue
        config = CompareConfig(**{section: dataclasses.replace(kind(), **{f.name: _changed(value)})})
        assert config.settings_hash != base, f"{section}.{f.name}"


def test_every_score_skin_and_face_setting_is_in_the_settings_hash():
    base = CompareConfig().settings_hash
    for kind, wrap in ((ScoreConfig, lambda c: c), (SkinConfig, lambda c: ScoreConfig(skin=c)), (FaceConfig, lambda c: ScoreConfig(face=c))):
        for f in dataclasses.fields(kind):
            value = getattr(kind(), f.name)
            if dataclasses.is_dataclass(value):
                continue
            changed = wrap(dataclasses.replace(kind(), **{f.name: _changed(value)}))
            assert CompareConfig(score=changed).settings_hash != base, f"{kind.__name__}.{f.name}"
    for f in ("measure_size", "check_quality", "align_model"):
        assert CompareConfig(**{f: _changed(getattr(CompareConfig(), f))}).settings_hash != base, f


def test_reference_data_and_constants_are_in_the_settings_hash(monkeypatch):
    from skintrack.comparison import colour_chart
    from skintrack.measure import face, filters

    base = CompareConfig().settings_hash
    for module, name, value in ((colour_chart, "MAX_RESIDUAL", 0.3), (filters, "MAD_TO_SD", 1.5),
                                (face, "ZONE_LANDMARKS", {**face.ZONE_LANDMARKS, "chin": ("face", (1, 2, 3))})):  # fmt: skip
        with monkeypatch.context() as patch:
            patch.setattr(module, name, value)
            compare_module._data_fingerprint.cache_clear()
            assert CompareConfig().settings_hash != base, name
        compare_module._data_fingerprint.cache_clear()
    assert CompareConfig().settings_hash == base
    with monkeypatch.context() as patch:
        patch.setattr(compare_module, "__version__", "9.9.9")
        assert CompareConfig().settings_hash != base


def test_the_roi_is_recorded_with_its_hash(baseline_photo):
    mask = np.zeros((120, 160), bool)
    mask[20:100, 30:130] = True
    result = measure_baseline(baseline_photo.encoded, roi=mask)
    assert result.provenance["roi"] == {"kind": "mask", "sha256": roi_hash(mask)}
    assert result.score.provenance["roi_sha256"] == roi_hash(result.baseline.roi_mask)
    assert "mask" in result.score.provenance["roi"] and result.score.provenance["roi"] != "mask"
    other = mask.copy()
    other[50, 50] = False
    assert roi_hash(other) != roi_hash(mask)
    assert roi_hash([10, 20, 30, 40]) == roi_hash((10.0, 20.0, 30.0, 40.0)) != roi_hash([10, 20, 30, 41])
    assert roi_hash(None) is None


def test_same_inputs_give_the_same_numbers_through_every_door(tmp_path):
    """compare(), the records (what the app shows) and batch scoring give the same numbers for the
    same baseline and follow-up."""
    from skintrack.batch import score_course
    from skintrack.records import Actor, Records

    photos = [REPO / "sample_images" / name for name in ("2026-05-04_left-cheek.jpg", "2026-06-01_left-cheek.jpg")]
    first = measure_baseline(photos[0])
    later = compare(first, photos[1])
    assert later.scored

    records = Records(tmp_path / "records")
    actor = Actor("Dr Ada")
    patient = records.add_patient(actor, "P-DOORS", "Doors")
    area = records.add_area(actor, patient.id, "left-cheek")
    for photo, date in zip(photos, ("2026-05-04", "2026-06-01")):
        session = records.add_session(actor, patient.id, date, "micro-needling")
        records.add_photo(actor, session.id, area.id, photo)
    stored = sorted(records.list_photos(actor, patient.id), key=lambda p: p.session_date)

    course = tmp_path / "course" / "P-DOORS" / "left-cheek"
    for photo, date in zip(photos, ("2026-05-04", "2026-06-01")):
        (course / date).mkdir(parents=True)
        shutil.copy(photo, course / date / "photo.jpg")
    table = score_course(tmp_path / "course", workers=1, progress=False)

    for result, view, date in ((first, stored[0], "2026-05-04"), (later, stored[1], "2026-06-01")):
        rows = table[table["date"] == date].set_index("metric")
        for name in METRIC_NAMES:
            value = result.score.metrics[name]
            if math.isnan(value):
                assert math.isnan(view.scores[name]) and math.isnan(rows.loc[name, "value"])
                continue
            assert view.scores[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
            assert rows.loc[name, "value"] == pytest.approx(value, rel=1e-9, abs=1e-9), name
        assert rows["settings_hash"].iloc[0] == result.provenance["settings_hash"] == view.settings_hash
    rows = table[table["date"] == "2026-06-01"].set_index("metric")
    for name, verdict in later.verdicts.items():
        assert rows.loc[name, "noise"] == verdict.wording
        assert rows.loc[name, "mdc95"] == pytest.approx(verdict.mdc95)


def test_an_over_or_underexposed_follow_up_without_a_reference_never_shows_a_tone_change_beyond_noise():
    """Issue 20: an overexposed repeat shot moved ITA by ~100° and was called a change beyond noise. The same
    real close-up, its exposure changed on linear light (nothing else, so alignment is perfect): far too bright,
    the quality gate stops it (clipped skin); half the light, it is compared and warned, the record keeps the
    light difference the words read, and no change of colour or tone is called real, although the ITA change
    is beyond the band of these conditions."""
    from skintrack.comparison.noise import LIGHT_DEPENDENT, Conditions, verdict

    from .conftest import real_photo
    from .test_quality import _exposed

    first = measure_baseline(real_photo("PAT_1428_1489_38.png"))
    burnt = compare(first, _exposed(first.photo.rgb, 1.8))  # so bright that the skin clips: the gate stops it
    assert burnt.status == "blocked" and "clipped" in burnt.reason
    later = compare(first, _exposed(first.photo.rgb, 0.5))
    assert later.status == "scored", later.reasons
    record = later.normalization["light_vs_baseline"]
    assert record["differs"] is True and record["delta_L"] < -record["limit"] == -8.0
    assert later.score.provenance["normalization"]["light_vs_baseline"] == record  # what the stored score keeps
    assert any("darker than in the baseline" in reason for reason in later.reasons)
    assert later.conditions.light_differs
    unguarded = Conditions(later.conditions.reference, later.conditions.alignment_quality)
    assert verdict("ita", later.changes["ita"], unguarded).beyond  # what it would have said
    for metric in LIGHT_DEPENDENT:
        assert not later.verdicts[metric].beyond, (metric, later.changes[metric])
