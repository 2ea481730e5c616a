"""The patient's report: the same photos and charts, in plain words."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer

from ..wording import course_processing
from .content import ReportContent
from .layout import NOT_DIAGNOSTIC_PLAIN, before_after, charts, grid, key_values, period, text
from .phrases import long_date, patient_sentence

__all__ = ["patient_story"]


def patient_story(content: ReportContent, styles) -> list:
    patient, progress = content.patient, content.progress
    story: list = [Paragraph("Your skin progress", styles["title"])]
    identity = [("For", text(patient.display_name if content.show_name else f"patient {patient.code}"))]
    identity += [("Treated area", text(content.area.name)), ("Your visits", text(period(content, plain=True)))]
    story.append(key_values(identity, styles))

    story += before_after(content, styles, plain=True)
    if content.withheld_photos:
        story.append(Paragraph(f"{content.withheld_photos} photo(s) are not shown because you withdrew your consent for them; the measurements from them are still included below.", styles["small"]))

    story.append(CondPageBreak(70 * mm))
    story.append(Paragraph("What changed", styles["h2"]))
    for metric in progress.metrics.values():
        story.append(Paragraph(text(patient_sentence(metric)), styles["bullet"], bulletText="•"))

    if content.log:
        story.append(CondPageBreak(40 * mm))
        story.append(Paragraph("Your visits", styles["h2"]))
        for entry in content.log:
            kind = entry.session.treatment
            words = {"baseline": "first photos", "other": "check-up"}.get(kind, f"{kind} treatment")
            story.append(Paragraph(f"{long_date(entry.session.date)}: {text(words)}", styles["bullet"], bulletText="•"))

    story.append(CondPageBreak(120 * mm))
    story.append(Paragraph("Your progress, measure by measure", styles["h2"]))
    story.append(Paragraph(
        "Each dot is one visit. The grey band shows how much two photos of the same skin can differ: "
        "changes inside it are not clear changes.", styles["small"]))  # fmt: skip
    story += charts(content, plain=True)

    if content.series:
        story.append(CondPageBreak(90 * mm))
        story.append(Paragraph("Every visit", styles["h2"]))
        story.append(grid(content.series, None, True, styles))

    story.append(CondPageBreak(40 * mm))
    story.append(Paragraph("About these measurements", styles["h2"]))
    story.append(KeepTogether([
        Paragraph(
            f"{text(course_processing(content.measured_photos, plain=True))} Later photos were lined up with your "
            "first photo so that the same skin is compared. Even two photos of the same skin taken minutes apart "
            "differ a little; a change is only called real when it is larger than that normal variation.",
            styles["small"]),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{text(NOT_DIAGNOSTIC_PLAIN)}</b>", styles["small"]),
    ]))  # fmt: skip
    return story
