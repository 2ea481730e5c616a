"""The provider's report (for the record): identity, before/after, measures, treatment log, charts, methods."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Paragraph, Spacer, Table

from .._version import __version__
from ..measure.metrics import METRICS
from ..wording import course_processing
from .content import ReportContent
from .layout import (
    NOT_DIAGNOSTIC,
    OVERLAY_TITLES,
    WIDTH,
    before_after,
    charts,
    grid,
    key_values,
    measured_part,
    period,
    ruled_table,
    text,
)
from .phrases import format_change, format_pct, format_settings, format_value, method

__all__ = ["provider_story"]


def provider_story(content: ReportContent, styles) -> list:
    patient, progress = content.patient, content.progress
    story: list = [Paragraph("Treatment progress report", styles["title"])]
    identity = [("Patient code", text(patient.code))]
    if content.show_name:
        identity.append(("Name", text(patient.display_name)))
    identity += [
        ("Treated area", text(content.area.name)),
        ("Sessions", text(period(content, plain=False))),
        ("Fitzpatrick type", text(patient.fitzpatrick or "not recorded")),
        ("Measured", text(measured_part(content))),
    ]
    if progress.last_treatment:
        date, kind = progress.last_treatment
        identity.append(("Last treatment", text(f"{kind} on {date.isoformat()}, {progress.days_since_last_treatment} days before this report")))
    identity.append(("Prepared by", text(f"{content.prepared_by}, {content.generated_on.isoformat()}")))
    story.append(key_values(identity, styles))

    story += before_after(content, styles, plain=False)

    story.append(CondPageBreak(80 * mm))
    story.append(Paragraph("Measures: baseline against latest", styles["h2"]))
    story.append(_measure_table(content, styles))
    story.append(Spacer(1, 1.5 * mm))
    story.append(Paragraph(
        "<b>Beyond noise</b>: the change exceeds the measure's minimal detectable change (MDC95, ± column) for the "
        "conditions of the latest photo (its neutral reference and how well it aligned), even at the upper "
        "confidence limit of that band; a smaller change cannot be told apart from re-taking the photo. "
        "<b>Could be noise</b>: larger than the band, but the evidence for these conditions is too thin to call it "
        "real. Verdicts are the same as in the app.", styles["small"]))  # fmt: skip
    if progress.extra_photos_note:  # which photo of a visit with several counts, and which do not
        story.append(Paragraph(text(progress.extra_photos_note), styles["small"]))

    story.append(CondPageBreak(60 * mm))
    story.append(Paragraph("Treatment log", styles["h2"]))
    story.append(_log_table(content, styles))
    warnings = [w for entry in content.log for w in entry.warnings]
    for warning in warnings:
        story.append(Paragraph(f"⚠ {text(warning)}", styles["small"]))

    story.append(CondPageBreak(120 * mm))
    story.append(Paragraph("Progress per measure", styles["h2"]))
    story += charts(content, plain=False)

    if content.series:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph("Every session", styles["h2"]))
        story.append(Paragraph("Each session's photo, normalised and aligned onto the baseline.", styles["small"]))
        story.append(grid(content.series, None, False, styles))
        for overlay in content.overlays:
            story.append(CondPageBreak(70 * mm))
            story.append(Paragraph(f"Every session, overlay: {OVERLAY_TITLES.get(overlay, overlay)}", styles["small"]))
            story.append(grid(content.series, overlay, False, styles))

    story.append(CondPageBreak(110 * mm))
    story += _methods(content, styles)
    return story


def _measure_table(content: ReportContent, styles) -> Table:
    header = ["Measure", "Unit", "Baseline", "Latest", "Change", "% change", "± noise", "Beyond noise", "Verdict"]
    data = [[Paragraph(f"<b>{h}</b>", styles["cell"]) for h in header]]
    verdict_colours = []
    for row, metric in enumerate(content.progress.metrics.values(), start=1):
        base, latest = metric.baseline, metric.latest
        compared = base is not None and latest is not None and latest is not base
        verdict = latest.label if compared else ("baseline only" if base is not None else "not measured")
        data.append([
            Paragraph(text(metric.label), styles["cell"]),
            Paragraph(text(metric.unit), styles["cell"]),
            format_value(base.value) if base else "–",
            format_value(latest.value) if compared else "–",
            format_change(latest.change) if compared else "–",
            format_pct(latest.change_pct, metric.metric) if compared else "–",
            format_value(metric.mdc95, 2),
            ("yes" if latest.beyond_noise else "no") if compared else "–",
            Paragraph(text(verdict), styles["cell"]),
        ])  # fmt: skip
        colour = {"improved": "#e3f4e8", "worse": "#fbe3e0", "expected post-treatment redness": "#fdebd7"}.get(verdict)
        if colour:
            verdict_colours.append(("BACKGROUND", (8, row), (8, row), colors.HexColor(colour)))
    widths = [27 * mm, 17 * mm, 17 * mm, 15 * mm, 15 * mm, 15 * mm, 14 * mm, 15 * mm]
    return ruled_table(data, widths, ("ALIGN", (2, 1), (7, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), *verdict_colours)


def _photo_note(entry) -> str:
    photo = entry.photo
    if photo is None:
        return "no photo of this area"
    if photo.status == "scored":
        if photo.is_baseline:
            return "baseline photo"
        quality = photo.alignment.get("quality")
        return f"measured, alignment {quality:.2f}" if quality is not None else "measured"
    return f"{photo.status.replace('_', ' ')}: {photo.status_reason}"


def _log_table(content: ReportContent, styles) -> Table:
    header = ["Date", "Day", "Treatment", "Settings", "Interval", "Provider", "Photo"]
    data = [[Paragraph(f"<b>{h}</b>", styles["cell"]) for h in header]]
    first = content.log[0].session.date if content.log else None
    flagged = []
    for row, entry in enumerate(content.log, start=1):
        session = entry.session
        data.append([
            session.date.isoformat(),
            str((session.date - first).days),
            Paragraph(text(session.treatment), styles["cell"]),
            Paragraph(text(format_settings(session.settings)) or "–", styles["cell"]),
            f"{entry.days_since_previous} days" if entry.days_since_previous is not None else "–",
            Paragraph(text(session.provider or "–"), styles["cell"]),
            Paragraph(text(_photo_note(entry)), styles["cell"]),
        ])  # fmt: skip
        if entry.warnings:
            flagged.append(("BACKGROUND", (4, row), (4, row), colors.HexColor("#fdebd7")))
    widths = [18 * mm, 9 * mm, 25 * mm, 34 * mm, 18 * mm, 24 * mm]
    return ruled_table(data, widths, ("ALIGN", (1, 1), (1, -1), "RIGHT"), *flagged)


def _methods(content: ReportContent, styles) -> list:
    story = [Paragraph("Methods", styles["h2"])]
    # What was done to these photos' colours is counted from their stored provenance, never assumed.
    story.append(Paragraph(
        f"{text(course_processing(content.measured_photos))} Follow-up photos are aligned onto the "
        "baseline by feature matching, and photos that do not align are refused rather than compared. Every photo "
        f"is measured at the same working resolution, on skin pixels only ({text(measured_part(content))}), with the "
        "thresholds of the baseline session, in CIELAB (D65, 2°) converted from sRGB in floating point.",
        styles["small"]))  # fmt: skip
    story.append(Spacer(1, 1.5 * mm))
    rows = [[Paragraph("<b>Measure</b>", styles["cell"]), Paragraph("<b>How it is computed</b>", styles["cell"]),
             Paragraph("<b>Better</b>", styles["cell"]), Paragraph("<b>MDC95</b>", styles["cell"])]]  # fmt: skip
    for metric in content.progress.metrics.values():
        info = METRICS[metric.metric]
        rows.append([
            Paragraph(f"{text(info.label)}<br/><font size=6.5 color='#666666'>{text(info.name)}, {text(info.unit)}</font>", styles["cell"]),
            Paragraph(text(method(info.name)), styles["cell"]),
            Paragraph(text(info.better or "no direction"), styles["cell"]),
            f"{format_value(metric.mdc95, 2)} {info.unit}",
        ])  # fmt: skip
    story.append(ruled_table(rows, [38 * mm, WIDTH - 38 * mm - 22 * mm - 24 * mm, 22 * mm]))
    story.append(Spacer(1, 1.5 * mm))
    story.append(Paragraph(_noise_note(), styles["small"]))
    hashes = ", ".join(content.settings_hashes) or "–"
    versions = ", ".join(content.engine_versions)
    mixed = " <b>Measured with more than one engine setting: run <i>skintrack rescore</i>.</b>" if len(content.settings_hashes) > 1 else ""
    story.append(Paragraph(
        f"Engine version {text(versions)} · settings hash {text(hashes)} · report by skintrack {__version__}.{mixed}",
        styles["small"]))  # fmt: skip
    story.append(Paragraph(f"<b>{text(NOT_DIAGNOSTIC)}</b> Results need a clinician's judgement.", styles["small"]))
    return story


def _noise_note() -> str:
    """How the noise bands were made, for a report's methods (from the noise table in use)."""
    from ..comparison.noise import shipped_table

    table = shipped_table()
    study = table["simulated"]["study"]
    real = table["real"]
    return (
        "Measurement noise: MDC95 = 1.96 · √2 · SD<sub>within</sub>, the smallest change distinguishable from "
        "re-photographing the same skin (Weir 2005), chosen for what each comparison had: its neutral reference "
        "(colour chart, grey card, backdrop or none) and how well it aligned (good ≥ 0.8, fair 0.5-0.8). "
        f"SD<sub>within</sub> combines skintrack's simulated re-capture study ({study['n_subjects']} subjects × "
        f"{study['n_repeats']} photographs for each kind of reference) with real repeat photographs of untreated "
        f"skin ({text(real.get('label', real['source']))}: {real['accepted']} of {real['pairs']} pairs comparable), as shot for "
        "comparisons without a reference and with the light difference removed for those with one; for red "
        "area, spot area, spot count and line density the real part is relative to the amount. A change counts "
        "as beyond noise when it is at least MDC95 with the SD at its upper 90 % confidence limit (for the spot "
        "count: more than that); between MDC95 and that limit it <i>could be noise</i>: the evidence for those "
        "conditions is thin."
    )
