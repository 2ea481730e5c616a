"""Plain words for measures, units and changes: one place for the app and the reports.

Verdicts are never decided here. Whether a change is beyond photo-to-photo
variation, an improvement or expected redness comes from
:mod:`skintrack.progress` (``Point.label``, ``Point.beyond_noise``); this module
only puts the engine's numbers and verdicts into words:

* :func:`explain` — one line per measure: what it shows and its unit
  (from :data:`skintrack.measure.metrics.METRICS`);
* :func:`title` — the measure's name with its unit, never doubled
  ("Skin tone (ITA°)", not "Skin tone (ITA°) (°)");
* :func:`format_value`, :func:`format_pct` — numbers as people read them:
  "−99.5 %" stays −99.5 %, never rounded to "−100 %";
* :func:`change_sentence` — "Redness down 14 % since the first visit — more
  than photo-to-photo variation, an improvement."; an angle (ITA°) changes by
  degrees, never by a percentage;
* :func:`light_words`, :func:`retake_advice` — what the light correction did
  and what to do when a photo cannot be compared, without jargon;
* :func:`unmeasured_words` — why a photo's measures are missing (no face, a zone
  covered by hair or in shadow, outside the photo), from its stored provenance;
* :func:`pair_processing`, :func:`course_processing` — what was done to the
  photos being compared, or to all of a course's photos, read from their
  stored provenance (``normalization["method"]``, the alignment): a photo
  without a neutral reference is never said to be colour-corrected.
"""

from __future__ import annotations

import math
from typing import Any

from .measure.metrics import METRICS, NO_SCALE

__all__ = [
    "NOISE_WORDS",
    "UNIT_WORDS",
    "aligned_words",
    "change_sentence",
    "change_words",
    "explain",
    "format_pct",
    "format_value",
    "course_processing",
    "light_words",
    "overlap_words",
    "pair_processing",
    "pct_applies",
    "retake_advice",
    "title",
    "partly_measured_words",
    "unmeasured_words",
    "unscaled_words",
    "verdict_words",
]

#: What each unit means, in one short phrase (shown under a measure's name).
UNIT_WORDS = {
    "a*": "a* is the red–green value of CIELAB colour: higher is redder",
    "% of skin": "in % of the measured skin",
    "spots": "a count of spots",
    "ΔL*": "ΔL* is a difference in lightness on the 0 (black) to 100 (white) scale",
    "L*": "L* is lightness on the 0 (black) to 100 (white) scale",
    "°": "an angle in degrees: higher is lighter skin, lower is darker",
}

#: How the app and the reports name measurement noise (the engine's "beyond noise" verdict).
NOISE_WORDS = "photo-to-photo variation"

#: Units in which a change is a count of units, not a share: an angle has no meaningful "%".
_NO_PERCENT_UNITS = ("°",)


def title(name: str) -> str:
    """The measure's name with its unit, the unit written once: "Redness (a*)", "Skin tone (ITA°)"."""
    info = METRICS[name]
    unit = info.unit
    if unit in info.label or unit in ("spots",):
        return info.label
    return f"{info.label} ({unit})"


def explain(name: str) -> str:
    """One line: what the measure shows, then its unit in words (from the engine's description)."""
    info = METRICS[name]
    unit = UNIT_WORDS.get(info.unit, info.unit)
    better = {"lower": "Lower is better.", "higher": "Higher is better.", None: "Neither direction is better."}[info.better]
    return f"{info.description} Unit: {unit}. {better}"


def pct_applies(name: str) -> bool:
    """Whether a change of this measure may be given in %: not for an angle (ITA°)."""
    return METRICS[name].unit not in _NO_PERCENT_UNITS


def format_value(name: str | None, value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits and the measure's unit ("14.2 a*", "11 spots", "32.3°")."""
    if value is None or not math.isfinite(value):
        return "–"
    number = _significant(value, digits)
    if name is None:
        return number
    unit = METRICS[name].unit
    if unit == "°":
        return f"{number}°"
    return f"{number} {unit}"


def format_pct(value: float | None, *, signed: bool = True) -> str:
    """A percentage as people read it: "−14 %", "+0.4 %", "−99.5 %" (never "−100 %" unless it is).

    Whole numbers from 10 % up, one decimal below; a value that would round to
    ±100 % (or to 0) without being it keeps the decimals that show it is not.
    """
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    decimals = 0 if magnitude >= 10 else 1
    while decimals < 4:
        shown = round(magnitude, decimals)
        near_whole = shown in (0.0, 100.0) and shown != magnitude
        if not near_whole:
            break
        decimals += 1
    text = f"{magnitude:.{decimals}f}"
    if not signed:
        return f"{text} %"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{text} %"


def change_words(name: str, change: float, change_pct: float) -> str:
    """ "down 14 %", "up 0.6 a*" (no usable %), "up 1.4°" (an angle): the size and direction of a change."""
    if not math.isfinite(change):
        return "not measured"
    if change == 0:
        return "unchanged"
    direction = "down" if change < 0 else "up"
    if pct_applies(name) and math.isfinite(change_pct):
        return f"{direction} {format_pct(change_pct, signed=False)}"
    unit = METRICS[name].unit
    amount = _significant(abs(change), 2)
    return f"{direction} {amount}°" if unit == "°" else f"{direction} {amount} {unit}"


def verdict_words(label: str) -> str:
    """The engine's verdict (``Point.label``) in words for a sentence's end."""
    return {
        "improved": f"more than {NOISE_WORDS}, an improvement",
        "worse": f"more than {NOISE_WORDS}, a worsening",
        "within noise": f"within {NOISE_WORDS}",
        "could be noise": f"more than usual {NOISE_WORDS}, but these photo conditions have too little evidence to "
        "call it real",
        "expected post-treatment redness": "expected in the days after a treatment; it usually settles",
        "lighter": f"more than {NOISE_WORDS} (lighter)",
        "darker": f"more than {NOISE_WORDS} (darker)",
        "baseline": "the first visit",
    }.get(label, label)


def change_sentence(progress: Any) -> str:
    """One sentence on a measure's course (``progress``: a :class:`~skintrack.progress.MetricProgress`).

    "Redness down 14 % since the first visit — more than photo-to-photo variation, an improvement."
    """
    name = progress.metric
    label = METRICS[name].label
    if not progress.points:
        return f"{label}: no measurement yet."
    first = progress.points[0]
    if len(progress.points) == 1:
        return f"{label}: {format_value(name, first.value)} at the first visit; no follow-up yet."
    last = progress.points[-1]
    before = format_value(name, first.value)
    compared_with = getattr(last, "compared_with", math.nan)
    if math.isfinite(compared_with) and compared_with != first.value:
        # The latest photo shows only part of the baseline's skin: its change is taken over that part.
        before = f"{format_value(name, compared_with)} over the part both photos show"
    return (
        f"{label} {change_words(name, last.change, last.change_pct)} since the first visit "
        f"({before} → {format_value(name, last.value)}) — {verdict_words(last.label)}."
    )


def light_words(normalization: dict | None) -> str:
    """What the light correction did, in words ("Light: none" was jargon)."""
    method = str((normalization or {}).get("method") or "none")
    if method == "none":
        return ("Colours not corrected: no colour chart, grey card or plain backdrop was found, so colours are "
                "as the camera saw them. Put a grey card in the frame to make colours comparable.")  # fmt: skip
    words = {"chart": "the colour chart", "grey_card": "the grey card", "backdrop": "the plain backdrop"}
    source = words.get(method, method.replace("_", " "))
    confidence = (normalization or {}).get("confidence")
    sure = ""
    if isinstance(confidence, (int, float)) and math.isfinite(confidence):
        sure = " (reliable)" if confidence >= 0.7 else " (the reference was hard to read: check the framing)"
    return f"Colours corrected from {source} in the photo{sure}, so sessions compare under the same light."


def retake_advice(alignment: dict | None, quality: list | None = None) -> str:
    """Why a follow-up could not be compared with the baseline, and what to do, in plain words.

    ``alignment`` is the stored :meth:`skintrack.Alignment.summary`: its reason and, beside it, the
    diagnostics it was judged by (``scale`` is the framing's scale change, >1 farther away; ``overlap`` the
    share of the baseline covered; ``mirrored`` when only the follow-up's mirror image fits). ``quality`` is
    the photo's stored quality issues
    (:func:`skintrack.check_quality`, as dicts): when the fit failed on a photo that is out of focus or far
    too dark or bright, that is named as the likely reason.
    """
    alignment = alignment or {}
    reason = str(alignment.get("reason") or "")
    scale = alignment.get("scale")
    codes = {str(issue.get("code")) for issue in (quality or []) if isinstance(issue, dict)}
    if alignment.get("mirrored") is True:
        return ("This photo cannot be compared with the baseline: it is a mirror image of it (left and right are "
                "swapped, as a selfie camera or a flipped export does). Upload the photo as the camera took it, or "
                "turn off the camera's mirroring and retake it.")  # fmt: skip
    if "scale" in reason and isinstance(scale, (int, float)) and scale > 0:
        why = ("it was taken much closer than the baseline" if scale < 1 else "it was taken much farther away than the baseline")
    elif "overlap" in reason:
        overlap = alignment.get("overlap")
        share = f" (only {100 * overlap:.0f} % of it)" if isinstance(overlap, (int, float)) and math.isfinite(overlap) else ""
        why = f"it shows mostly different skin than the baseline{share}: the framing moved"
    elif "blurred" in codes:
        why = "it is out of focus, so the skin's fine features could not be matched with the baseline's"
    elif codes & {"underexposed", "overexposed", "clipped"}:
        light = "dark" if "underexposed" in codes else "bright"
        why = f"it is much too {light}, so the skin's features could not be matched with the baseline's"
    elif alignment.get("face") is True:
        why = ("the skin of the face does not line up with the baseline's: it may be another person's photo (check "
               "that it was filed under the right patient), or was taken in very different light or focus")  # fmt: skip
    else:
        why = ("skintrack could not find the same skin features as in the baseline: it may show other skin (check "
               "that it was filed under the right area), or was taken from a different angle, distance or light")  # fmt: skip
    return (f"This photo cannot be compared with the baseline: {why}. Retake it from the same distance and angle, "
            "in the same light, lining the skin up with the baseline's outline (the ghost shown here).")  # fmt: skip


def aligned_words(alignment: dict | None) -> str:
    """How a compared follow-up was lined up with its baseline, from the stored alignment ("" when it was not):
    its fit (0-1) and, for a face, that the face was what was lined up (not the background)."""
    alignment = alignment or {}
    fit = alignment.get("quality")
    if alignment.get("ok") is not True or not isinstance(fit, (int, float)) or not math.isfinite(fit):
        return ""
    how = " by the face" if alignment.get("face") is True else ""
    return f"Lined up with the baseline{how} (fit {fit:.2f} of 1)."


def _measured_area(provenance: dict) -> str:
    """What a score measured, as a provider names it: the face zone, the outlined region or the photo."""
    zone = provenance.get("zone")
    if zone:
        return str(zone).replace("_", " ")
    return "outlined region" if "outlined" in str(provenance.get("roi") or "") else "photo"


def unmeasured_words(provenance: dict | None) -> str:
    """Why a photo's measures are missing, and what to do, in plain words ("" when every measure was made).

    Read from the score's stored provenance: its ``errors`` (the engine's reason per missing measure), the
    ``zone`` and ``area_cover`` (what covered the area to measure: skin, hair, shadow, shine, in %). The
    largest cover that is not skin is named ("The forehead is covered by hair (62 % of it)").
    """
    provenance = provenance or {}
    errors = _missing(provenance)  # sizes that only lacked a scale are said by unscaled_words
    if not errors:
        return ""
    where = _measured_area(provenance)
    reasons = set(errors.values())
    if any("no face found" in r for r in reasons):
        return (f"No face was found in this photo, so the {where} could not be outlined: photograph the whole "
                "face, looking at the camera.")  # fmt: skip
    if any("low confidence" in r for r in reasons):
        return (f"The face was not seen clearly enough to outline the {where} (turned away, covered or blurred): "
                "retake it facing the camera.")  # fmt: skip
    if any("outside the photo" in r for r in reasons):
        outside = next(r for r in reasons if "outside the photo" in r).split(":")[-1].strip()
        return f"Part of the {where} is not in the photo ({outside.split(' of ')[0]} of it): frame the whole face."
    if any("turned away from the camera" in r for r in reasons):
        turned = _turn(next(r for r in reasons if "turned away from the camera" in r))
        return (f"The face is {turned}, so the {where} faces away from the camera and could not be measured: "
                "retake it with the face turned less, or photograph this side facing the camera.")  # fmt: skip
    if any("edge-on" in r for r in reasons):
        return f"The face is turned too far to see the {where}: retake it facing the camera."
    if any("skin pixels" in r for r in reasons):
        cover = provenance.get("area_cover") or {}
        causes = {
            "hair_pct": ("covered by hair", "move the hair away from the skin"),
            "shadow_pct": ("in shadow", "light the skin evenly, from the front"),
            "shine_pct": ("shiny", "use diffuse light or a cross-polarised flash"),
        }
        found = [(float(cover.get(key) or 0.0), key) for key in causes]
        pct, key = max(found)
        if pct >= 25:
            what, fix = causes[key]
            return f"The {where} is {what} ({pct:.0f} % of it), so too little skin could be measured: {fix}, and retake it."
        return f"Too little skin could be measured in the {where}: frame more of the skin, in even light."
    if len(errors) < len(METRICS):
        names = ", ".join(METRICS[name].label.lower() for name in METRICS if name in errors)
        return f"Some measures could not be computed on this photo: {names}."
    return "The measures could not be computed on this photo."


def unscaled_words(provenance: dict | None) -> str:
    """Which sizes in mm² were not measured for want of a measured scale, and what gives one ("" when none).

    Read from the score's stored ``errors``: the sizes whose reason is :data:`skintrack.measure.metrics.NO_SCALE`.
    """
    errors = (provenance or {}).get("errors") or {}
    unscaled = [METRICS[name].label.lower() for name in METRICS if str(errors.get(name, "")).startswith(NO_SCALE)]
    if not unscaled:
        return ""
    source = str(((provenance or {}).get("scale") or {}).get("source") or "")
    if source == "baseline":  # a follow-up takes the baseline's scale, like its thresholds
        return (f"The {' and '.join(unscaled)} in mm² are measured at the baseline's scale, and the baseline had no "
                "colour chart and no face looking at the camera to give one: sizes can be followed from a new "
                "baseline that has one.")  # fmt: skip
    if source.startswith("face turned"):
        turned = source.split("(")[0].strip().removeprefix("face ")
        return (f"The {' and '.join(unscaled)} in mm² need the face looking at the camera (it is {turned}, which "
                "shortens the pupil distance that gives the scale), or a colour chart beside the skin.")  # fmt: skip
    return (f"The {' and '.join(unscaled)} in mm² need a colour chart beside the skin, or the whole face in the "
            "photo (its pupils give the scale): include one to measure sizes.")  # fmt: skip


def _missing(provenance: dict) -> dict[str, str]:
    """The stored reasons for missing measures, without the sizes that only lacked a measured scale."""
    errors = {k: str(v) for k, v in (provenance.get("errors") or {}).items()}
    return {k: v for k, v in errors.items() if not v.startswith(NO_SCALE)}


def partly_measured_words(provenance: dict | None) -> str:
    """What kept part of a measured area from being measured ("Hair covers 63 % of the forehead: the measures
    are of the skin around it (35 %)."), from the score's stored ``area_cover``; "" when at least three
    quarters of it was skin or the measures are missing (see :func:`unmeasured_words`)."""
    provenance = provenance or {}
    overlap = " ".join(filter(None, (turned_words(provenance), overlap_words(provenance.get("baseline_on_overlap")))))
    cover = provenance.get("area_cover") or {}
    if _missing(provenance) or not cover or float(cover.get("skin_pct") or 0.0) >= 75:
        return overlap
    where = _measured_area(provenance)
    names = {"hair_pct": "Hair covers", "shadow_pct": "Shadow covers", "shine_pct": "Shine covers"}
    pct, key = max((float(cover.get(key) or 0.0), key) for key in names)
    if pct < 10:
        return overlap
    return " ".join(filter(None, (f"{names[key]} {pct:.0f} % of the {where}: the measures are of the skin there "
                                  f"({float(cover['skin_pct']):.0f} % of it).", overlap)))  # fmt: skip


def turned_words(provenance: dict | None) -> str:
    """For a whole face turned away from the camera, which zones were not measured and why, from the stored
    ``face["zone_issues"]`` ("" for a zone's own score, whose reason :func:`unmeasured_words` gives, or a face
    looking at the camera)."""
    provenance = provenance or {}
    issues = (provenance.get("face") or {}).get("zone_issues") or {}
    turned = {zone: reason for zone, reason in issues.items() if "turned away from the camera" in str(reason)}
    if not turned or provenance.get("zone"):
        return ""
    how = _turn(str(next(iter(turned.values()))))
    names = " and ".join(zone.replace("_periorbital", " eye area").replace("_", " ") for zone in turned)
    return f"The face is {how}: the {names} face away from the camera and are not measured."


def _turn(reason: str) -> str:
    """How the face is turned, from a stored zone reason "turned away from the camera (the face is turned 44° to
    the patient's right; ...)" -> "turned 44° to the patient's right"."""
    return reason.split("(", 1)[1].split(";")[0].removeprefix("the face is ") if "(" in reason else "turned"


def overlap_words(baseline_on_overlap: dict | None) -> str:
    """For a follow-up that shows only part of the baseline's skin, from its stored ``baseline_on_overlap``
    (:attr:`skintrack.records.PhotoView.baseline_on_overlap`); "" when it was compared with the whole baseline."""
    record = baseline_on_overlap or {}
    left_out = float(record.get("skin_left_out_pct") or 0.0)
    if not record.get("metrics") or left_out <= 0:
        return ""
    return (f"This photo shows {100 - left_out:.0f} % of the baseline's skin: its changes are measured against "
            f"the baseline over that part only.")


def _significant(value: float, digits: int) -> str:
    text = f"{value:.{digits}g}"
    if "e" in text:  # very large or small: plain decimals read better in a clinic
        text = f"{value:.{max(digits - 1, 0)}f}" if abs(value) >= 1 else f"{value:.{digits + 2}f}".rstrip("0")
    return text.replace("-", "−")


# --------------------------------------------------------------------------- what was done to the photos

#: Each neutral reference as a provider and as a patient reads it.
_REFERENCES = {"chart": "the colour chart", "grey_card": "the grey card", "backdrop": "the plain backdrop"}
_REFERENCES_PLAIN = {"chart": "a colour chart", "grey_card": "a grey reference card", "backdrop": "a plain grey background"}


def _reference(photo: Any) -> str:
    """The neutral reference a stored photo's colours were corrected from (``"none"``: not corrected)."""
    normalization = getattr(photo, "normalization", None) if not isinstance(photo, dict) else photo.get("normalization")
    method = str((normalization or {}).get("method") or "none")
    return method if method in _REFERENCES else "none"


def _listed(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def pair_processing(before: Any, after: Any, *, plain: bool = False) -> str:
    """What was done to two stored photos before they were compared, from their provenance.

    ``before`` and ``after`` are stored photos (:class:`~skintrack.records.PhotoView`: ``normalization``,
    ``is_baseline``, ``status``, ``alignment``). The colour sentence says which photos were corrected and
    from what (a follow-up is corrected only from a reference of the same kind as the baseline's, matched
    to it), and says so when a photo was not corrected; the alignment sentence says which photos were lined
    up with the baseline. ``plain``: the patient's words.
    """
    photos = [("before", before), ("after", after)]
    corrected = {role: _reference(photo) for role, photo in photos}
    names = _REFERENCES_PLAIN if plain else _REFERENCES
    if all(kind != "none" for kind in corrected.values()):
        source = _listed([names[kind] for kind in corrected.values()])
        colour = (f"Both photos were colour-corrected with {source} in view, so they compare under the same light."
                  if plain else f"Both photos colour-normalised on {source} in the frame (never on the skin), so "
                  "they compare under the same light.")  # fmt: skip
    elif all(kind == "none" for kind in corrected.values()):
        colour = ("The colours of these photos could not be corrected (no grey reference card was in view), so part "
                  "of a change in redness or skin tone may come from different light."
                  if plain else "Colours not corrected: neither photo had a neutral reference (colour chart, grey "
                  "card or plain backdrop) in the frame, so colours are as the cameras recorded them and colour "
                  "measures include any difference in light.")  # fmt: skip
    else:
        done = next(role for role, kind in corrected.items() if kind != "none")
        undone = "after" if done == "before" else "before"
        which = {"before": "earlier", "after": "later"}
        colour = (f"Only the {which[done]} photo's colours could be corrected ({names[corrected[done]]} was in view); "
                  f"the {which[undone]} one's could not, so part of a change in redness or skin tone may come from "
                  "different light."
                  if plain else f"Colours corrected only in the {which[done]} photo (from {names[corrected[done]]}); "
                  f"the {which[undone]} photo had no neutral reference matching the baseline's, so its colours are as "
                  "the camera recorded them and colour measures include any difference in light.")  # fmt: skip
    follow_ups = [role for role, photo in photos if not getattr(photo, "is_baseline", False)]
    aligned = [role for role in follow_ups if getattr(dict(photos)[role], "status", "scored") == "scored"]
    first = "your first visit" if plain else "the baseline"
    # A face is lined up by the face, not by what is behind it (engine 0.9.0 records ``face`` with the fit).
    by_face = bool(aligned) and all((getattr(dict(photos)[role], "alignment", None) or {}).get("face") is True for role in aligned)
    first_by = f"{first} by the face" if by_face else first
    if not follow_ups:
        lined = ""
    elif len(aligned) == 2:
        lined = f" Both were lined up with {first_by}, so the same skin is compared."
    elif aligned == follow_ups:
        other = "earlier" if aligned == ["before"] else "later"
        lined = (f" The {other} photo was lined up with {first_by}, so the same skin is compared." if plain
                 else f" The {other} photo aligned onto {first_by}, so the same skin is compared pixel for pixel.")  # fmt: skip
    else:
        lined = " A photo could not be lined up with the baseline: it is shown as taken, not compared."
    return colour + lined


def course_processing(photos: list, *, plain: bool = False) -> str:
    """What was done to the colours of a course's measured photos, counted from their provenance (for a
    report's methods): which references were used and how many photos had none."""
    kinds = [_reference(photo) for photo in photos]
    used = [kind for kind in kinds if kind != "none"]
    missing = len(kinds) - len(used)
    names = _REFERENCES_PLAIN if plain else _REFERENCES
    if not kinds:
        return "No photo of this area has been measured yet." if not plain else "No photo has been measured yet."
    if not used:
        if plain:
            return ("Your photos had no grey reference card in view, so their colours could not be corrected: part of "
                    "a change in redness or skin tone may come from different light.")  # fmt: skip
        return ("No photo of this area had a neutral reference (colour chart, grey card or plain backdrop) in the "
                "frame, so colours were not corrected: they are as the cameras recorded them, and colour measures "
                "(redness, tone) include any difference in light between the visits.")  # fmt: skip
    counts = ", ".join(f"{names[kind]}: {used.count(kind)} photo{'s' if used.count(kind) != 1 else ''}"
                       for kind in dict.fromkeys(used))  # fmt: skip
    if plain:
        if missing:
            others = "the other photo" if missing == 1 else f"the other {missing} photos"
            return (f"{len(used)} of your {len(kinds)} photos had {_listed([names[k] for k in used])} in view, which "
                    f"lets the software correct their colours the same way; {others} had none, so part of a change "
                    "in redness or skin tone there may come from different light.")  # fmt: skip
        return (f"Your photos were taken with {_listed([names[k] for k in used])} in view, which lets the software "
                "correct the colours of every photo the same way.")  # fmt: skip
    text = f"Colours normalised from neutral references in the frame, never from the skin ({counts})"
    if missing:
        text += (f"; {missing} photo{'s' if missing != 1 else ''} had none and {'were' if missing != 1 else 'was'} "
                 "not corrected: colours as the camera recorded them")  # fmt: skip
    return text + "."
