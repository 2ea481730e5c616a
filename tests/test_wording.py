"""Plain words for measures and changes (skintrack/wording.py), shared by the app and the reports."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from skintrack.measure.metrics import METRICS
from skintrack.progress import MetricProgress, Point
from skintrack.wording import change_sentence, explain, format_pct, format_value, light_words, retake_advice, title


def _progress(metric: str, values: list[float], labels: list[str], mdc: float = 0.5) -> MetricProgress:
    info = METRICS[metric]
    points = []
    for index, (value, label) in enumerate(zip(values, labels)):
        change = value - values[0]
        pct = 100 * change / abs(values[0]) if values[0] else math.nan
        points.append(Point("s", "p", dt.date(2026, 1, 1 + index), "peel", value, change, pct, label not in ("baseline", "within noise"), label, None))
    return MetricProgress(metric, info.unit, info.label, info.better, mdc, points, None, None, "")


def test_every_measure_has_one_line_with_its_unit_in_words():
    for name, info in METRICS.items():
        line = explain(name)
        assert info.description in line and "\n" not in line
        assert "Unit:" in line
    assert "red–green" in explain("redness") and "0 (black) to 100 (white)" in explain("texture_roughness")


def test_titles_never_double_the_unit():
    assert title("ita") == "Skin tone (ITA°)"  # not "Skin tone (ITA°) (°)"
    assert title("redness") == "Redness (a*)"
    assert title("spot_count") == "Dark spots"
    for name in METRICS:
        assert title(name).count(METRICS[name].unit) <= 1


@pytest.mark.parametrize(
    "value, text",
    [(-14.2, "−14 %"), (-99.5, "−99.5 %"), (-99.96, "−99.96 %"), (-100.0, "−100 %"), (0.4, "+0.4 %"), (0.04, "+0.04 %"),
     (0.0, "±0.0 %"), (5.26, "+5.3 %"), (150.2, "+150 %"), (math.nan, "–")],
)
def test_percentages_are_never_rounded_to_what_they_are_not(value, text):
    assert format_pct(value) == text


def test_a_change_reads_as_a_clinic_would_say_it():
    redness = _progress("redness", [14.2, 12.2], ["baseline", "improved"])
    assert change_sentence(redness) == (
        "Redness down 14 % since the first visit (14.2 a* → 12.2 a*) — more than photo-to-photo variation, an improvement."
    )
    red_area = _progress("red_area_pct", [7.36, 0.0342], ["baseline", "improved"])
    assert "down 99.5 %" in change_sentence(red_area)  # not "−100 %"
    noise = _progress("evenness", [1.72, 1.70], ["baseline", "within noise"])
    assert change_sentence(noise).endswith("— within photo-to-photo variation.")


def test_an_angle_changes_by_degrees_never_by_a_percentage():
    ita = _progress("ita", [30.9, 32.3], ["baseline", "lighter"])
    sentence = change_sentence(ita)
    assert "up 1.4°" in sentence and "%" not in sentence and "lighter" in sentence
    assert format_value("ita", 32.34) == "32.3°"


def test_first_visit_only_and_nothing_measured():
    assert "no follow-up yet" in change_sentence(_progress("redness", [14.2], ["baseline"]))
    assert "no measurement" in change_sentence(_progress("redness", [], []))


def test_light_and_retake_words_have_no_jargon():
    assert "grey card" in light_words({"method": "none"}) and "none" not in light_words({"method": "none"}).split()
    assert "grey card" in light_words({"method": "grey_card", "confidence": 0.9})
    advice = retake_advice({"reason": "no consistent transform (3 consistent points); ECC did not converge"})
    assert "ECC" not in advice and "transform" not in advice
    assert "same distance and angle" in advice and "same light" in advice and "ghost" in advice
    # The words read the figures the stored summary keeps beside its reason (Alignment.summary()).
    farther = retake_advice({"reason": "implausible scale change (2.60x)", "scale": 2.6, "ok": False})
    assert "much farther away than the baseline" in farther and "angle, distance or light" not in farther
    closer = retake_advice({"reason": "implausible scale change (0.30x)", "scale": 0.3, "ok": False})
    assert "much closer than the baseline" in closer
    moved = retake_advice({"reason": "the photos overlap only 15% (need 50%)", "overlap": 0.15, "ok": False})
    assert "mostly different skin than the baseline (only 15 % of it)" in moved
    # A failed fit on a photo the quality gate found out of focus, or far too bright: that is the likely reason.
    poor = {"reason": "poor fit (quality 0.12, correlation 0.20)", "ok": False}
    blurred = retake_advice(poor, [{"code": "blurred", "severity": "warn", "message": "..."}])
    assert "out of focus" in blurred and "other skin" not in blurred
    assert "much too bright" in retake_advice(poor, [{"code": "overexposed", "severity": "warn"}])
    assert "much too dark" in retake_advice(poor, [{"code": "underexposed", "severity": "warn"}])
    # Otherwise other skin is named as a possibility: the provider checks where it was filed.
    assert "may show other skin" in retake_advice(poor, [{"code": "low_resolution", "severity": "warn"}])


def test_retake_advice_for_a_mirrored_follow_up_says_so_and_how_to_fix_it():
    advice = retake_advice({"reason": "the follow-up is a mirror image of the baseline (left and right swapped)",
                            "mirrored": True, "ok": False, "quality": 0.0})  # fmt: skip
    assert "mirror image" in advice and "as the camera took it" in advice
    assert "same distance and angle" not in advice  # retaking the same way would mirror it again
    assert "mirror" not in retake_advice({"reason": "poor fit (quality 0.10, correlation 0.20)", "ok": False})


def test_missing_measures_are_explained_from_the_stored_provenance():
    """Issue 19: a zone with no skin came back NaN with "only 0 skin pixels in the ROI" and nothing for the
    provider. The words come from the score's provenance: its reasons and what covered the area."""
    from skintrack.wording import partly_measured_words, unmeasured_words

    all_missing = lambda reason: {name: reason for name in METRICS}  # noqa: E731
    hair = {"zone": "forehead", "errors": all_missing("only 0 skin pixels in the ROI (need 2000); of the area: hair 98 %"),
            "area_cover": {"skin_pct": 0.0, "hair_pct": 98.0, "shadow_pct": 1.0, "shine_pct": 0.0}}  # fmt: skip
    assert unmeasured_words(hair) == (
        "The forehead is covered by hair (98 % of it), so too little skin could be measured: move the hair away "
        "from the skin, and retake it."
    )
    shade = {**hair, "zone": "left_cheek", "area_cover": {"skin_pct": 5.0, "hair_pct": 0.0, "shadow_pct": 90.0}}
    assert "left cheek is in shadow (90 % of it)" in unmeasured_words(shade) and "light the skin evenly" in unmeasured_words(shade)
    little = {**hair, "zone": None, "roi": "outlined rectangle 1a2b", "area_cover": {"skin_pct": 4.0}}
    assert unmeasured_words(little).startswith("Too little skin could be measured in the outlined region")
    assert "No face was found" in unmeasured_words({"zone": "chin", "errors": all_missing("no face found in the photo, so the zone 'chin' cannot be measured")})
    low = {"zone": "nose", "errors": all_missing("zone 'nose': face found with low confidence (0.41 < 0.60); zones are not measured")}
    assert "not seen clearly enough to outline the nose" in unmeasured_words(low)
    out = {"zone": "chin", "errors": all_missing("zone 'chin': 40 % of the zone is outside the photo")}
    assert unmeasured_words(out) == "Part of the chin is not in the photo (40 % of it): frame the whole face."
    some = {"errors": {"texture_roughness": "ValueError: boom", "line_density": "ValueError: boom"}}
    assert unmeasured_words(some) == "Some measures could not be computed on this photo: roughness, fine lines."
    assert "ValueError" not in unmeasured_words(some)
    assert unmeasured_words({"errors": {}}) == "" and unmeasured_words(None) == ""
    # Measured, but a fringe covers most of the forehead: said, with the share measured.
    fringe = {"zone": "forehead", "errors": {}, "area_cover": {"skin_pct": 36.0, "hair_pct": 63.0, "shadow_pct": 0.0}}
    assert partly_measured_words(fringe) == "Hair covers 63 % of the forehead: the measures are of the skin there (36 % of it)."
    assert partly_measured_words({**fringe, "area_cover": {"skin_pct": 90.0, "hair_pct": 9.0}}) == ""
    assert partly_measured_words(hair) == ""  # nothing measured: unmeasured_words says why


def test_sizes_without_a_measured_scale_ask_for_a_chart_and_hide_nothing_else():
    """Sizes in mm² are missing on every photo without a chart or a face (the reason is NO_SCALE): that is not a
    failure (unmeasured_words stays empty, what covered the area is still said), and unscaled_words asks for a
    chart."""
    from skintrack.measure.metrics import NO_SCALE
    from skintrack.wording import partly_measured_words, unmeasured_words, unscaled_words

    sizes = {name: NO_SCALE for name in ("red_lesion_mean_mm2", "spot_mean_mm2")}
    unscaled = {"zone": "forehead", "errors": sizes, "area_cover": {"skin_pct": 36.0, "hair_pct": 63.0, "shadow_pct": 0.0}}
    assert unmeasured_words(unscaled) == ""
    assert unscaled_words(unscaled) == (
        "The red lesion size and dark spot size in mm² need a colour chart beside the skin, or the whole face in the "
        "photo (its pupils give the scale): include one to measure sizes."
    )
    assert partly_measured_words(unscaled) == "Hair covers 63 % of the forehead: the measures are of the skin there (36 % of it)."
    # A real failure beside them is still named, without the sizes; a photo with a scale needs no such words.
    failed = {"errors": {**sizes, "line_density": "ValueError: boom"}}
    assert unmeasured_words(failed) == "Some measures could not be computed on this photo: fine lines."
    assert unscaled_words({"errors": {"line_density": "ValueError: boom"}}) == "" and unscaled_words(None) == ""


def test_a_turned_face_says_which_side_faces_away_and_why_sizes_are_missing():
    """Issue 19 item 5: from the stored reasons of a face turned 44° (skintrack.measure.face._zone_issues and
    the scale's source), in words a provider understands, with the angle and what to do."""
    from skintrack.measure.metrics import NO_SCALE
    from skintrack.wording import unmeasured_words, unscaled_words

    reason = ("zone 'left_cheek': turned away from the camera (the face is turned 44° to the patient's right; more "
              "than 25° cannot be measured)")  # fmt: skip
    far = {"zone": "left_cheek", "errors": {name: reason for name in METRICS}}
    assert unmeasured_words(far) == (
        "The face is turned 44° to the patient's right, so the left cheek faces away from the camera and could not "
        "be measured: retake it with the face turned less, or photograph this side facing the camera."
    )
    turned = {"errors": {name: NO_SCALE for name in ("red_lesion_mean_mm2", "spot_mean_mm2")},
              "scale": {"source": "face turned 44° (more than 25°: its pupil distance is foreshortened, so the scale is assumed)",
                        "measured": False}}  # fmt: skip
    assert unmeasured_words(turned) == ""
    # A follow-up measured at a baseline's assumed scale: a chart in the follow-up would not help.
    follow_up = {**turned, "scale": {"source": "baseline", "measured": False}}
    assert "baseline had no colour chart" in unscaled_words(follow_up) and "new baseline" in unscaled_words(follow_up)
    assert unscaled_words(turned) == (
        "The red lesion size and dark spot size in mm² need the face looking at the camera (it is turned 44°, which "
        "shortens the pupil distance that gives the scale), or a colour chart beside the skin."
    )


def test_a_whole_turned_face_names_the_zones_it_left_out():
    from skintrack.wording import partly_measured_words, turned_words

    reason = "turned away from the camera (the face is turned 44° to the patient's right; more than 25° cannot be measured)"
    whole = {"face": {"zone_issues": {"left_cheek": reason, "left_periorbital": reason}},
             "area_cover": {"skin_pct": 90.0}}  # fmt: skip
    words = ("The face is turned 44° to the patient's right: the left cheek and left eye area face away from the "
             "camera and are not measured.")  # fmt: skip
    assert turned_words(whole) == words and partly_measured_words(whole) == words
    assert turned_words({**whole, "zone": "right_cheek"}) == ""  # a zone's own score says its own reason
    assert turned_words({"face": {"zone_issues": {"nose": "9 % of the zone is outside the photo"}}}) == ""


def test_a_face_is_said_to_be_lined_up_by_the_face_and_a_refused_face_names_another_person():
    """From the stored alignment (engine 0.9.0 registers faces by the face): ``face`` True says so."""
    from skintrack.wording import aligned_words

    assert aligned_words({"ok": True, "quality": 0.9934, "face": True}) == "Lined up with the baseline by the face (fit 0.99 of 1)."
    assert aligned_words({"ok": True, "quality": 0.8}) == "Lined up with the baseline (fit 0.80 of 1)."
    assert aligned_words({"ok": False, "quality": 0.2, "face": True}) == "" and aligned_words(None) == ""
    refused = retake_advice({"reason": "poor fit (quality 0.05, correlation 0.40)", "ok": False, "face": True,
                             "method": "face landmarks", "texture_correlation": 0.03})  # fmt: skip
    assert "skin of the face does not line up" in refused and "right patient" in refused
    # The quality gate's reason, when there is one, comes first.
    blurred = retake_advice({"reason": "poor fit", "ok": False, "face": True}, [{"code": "blurred", "severity": "warn"}])
    assert "out of focus" in blurred and "another person" not in blurred
