"""Words that must be true (issue 21): every sentence about processing comes from the stored provenance; the
PDF and the CSV say which part of the photo was measured; one photo per visit; the PDF legend sits beside its
charts and the x-axis starts with the course's first month.

Reports are read back with pypdf and rendered with pdftoppm; no measured value is hard-coded.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from skintrack.progress import ONE_PHOTO_PER_VISIT, area_progress
from skintrack.records import Actor, Records
from skintrack.report import build_pdf, scores_table
from skintrack.report.content import gather
from skintrack.synthetic import Capture, SkinScene, SkinState
from skintrack.wording import course_processing, pair_processing

from .conftest import REPO

DOCTOR = Actor("Dr Demo")
SAMPLES = REPO / "sample_images"
TODAY = dt.date(2026, 11, 30)


def _pages(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _text(pdf: bytes) -> str:
    return " ".join(_pages(pdf))


def _photo(method: str, *, baseline: bool, status: str = "scored", quality: float | None = 0.95):
    return SimpleNamespace(normalization={"method": method}, is_baseline=baseline, status=status,
                           alignment={} if baseline else {"quality": quality})  # fmt: skip


# --------------------------------------------------------------------------- item 5: each wording path


@pytest.mark.parametrize("plain", [False, True])
def test_5_pair_wording_follows_each_photos_reference(plain):
    both = pair_processing(_photo("grey_card", baseline=True), _photo("grey_card", baseline=False), plain=plain)
    neither = pair_processing(_photo("none", baseline=True), _photo("none", baseline=False), plain=plain)
    first_only = pair_processing(_photo("chart", baseline=True), _photo("none", baseline=False), plain=plain)
    later_only = pair_processing(_photo("none", baseline=False), _photo("backdrop", baseline=False), plain=plain)
    corrected = "colour-corrected" if plain else "colour-normalised"
    assert corrected in both and ("grey reference card" if plain else "the grey card") in both
    for sentence in (neither, first_only, later_only):
        assert corrected not in sentence and "Both photos" not in sentence
    assert "could not be corrected" in neither if plain else "Colours not corrected" in neither
    assert ("colour chart" in first_only and "later" in first_only and "could not" in first_only) if plain else (
        "only in the earlier photo (from the colour chart)" in first_only)  # fmt: skip
    assert "plain grey background" in later_only if plain else "only in the later photo (from the plain backdrop)" in later_only
    # Alignment: said for the follow-ups that were lined up, never for the baseline itself.
    assert ("lined up with your first visit" if plain else "aligned onto the baseline") in both
    assert "Both were lined up" in later_only
    failed = pair_processing(_photo("grey_card", baseline=True), _photo("grey_card", baseline=False, status="not_comparable"))
    assert "could not be lined up" in failed and "pixel for pixel" not in failed


def test_5_course_wording_counts_the_photos_with_and_without_a_reference():
    photos = [_photo("grey_card", baseline=True), _photo("grey_card", baseline=False), _photo("none", baseline=False)]
    mixed = course_processing(photos)
    assert "the grey card: 2 photos" in mixed and "1 photo had none and was not corrected" in mixed
    assert "2 of your 3 photos had a grey reference card in view" in course_processing(photos, plain=True)
    none = course_processing(photos[2:])
    assert "colours were not corrected" in none and "normalised from" not in none
    assert "could not be corrected" in course_processing(photos[2:], plain=True)
    assert "grey reference card in view, which lets" in course_processing(photos[:2], plain=True)


@pytest.fixture(scope="module")
def unreferenced(tmp_path_factory):
    """A course of photos without any neutral reference in the frame (no grey card, chart or backdrop)."""
    records = Records(tmp_path_factory.mktemp("no-reference"))
    scene = SkinScene(seed=5, grey_card=False, backdrop=False, size=(800, 600))  # small: the words are checked
    patient = records.add_patient(DOCTOR, "P-NOREF", "No Reference")
    area = records.add_area(DOCTOR, patient.id, "cheek")
    for date, state, seed in (("2026-05-04", SkinState(), 1), ("2026-06-01", SkinState(erythema=4.0), 2)):
        session = records.add_session(DOCTOR, patient.id, date, "laser")
        records.add_photo(DOCTOR, session.id, area.id, scene.render(state, Capture(seed=seed, size=(800, 600))).encoded)
    yield records, patient, area
    records.close()


def test_5_reports_without_a_reference_never_claim_colour_correction(unreferenced):
    records, patient, area = unreferenced
    assert {p.normalization["method"] for p in records.list_photos(DOCTOR, patient.id)} == {"none"}
    provider = _text(build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY))
    assert "Colours not corrected: neither photo had a neutral reference" in provider
    assert "No photo of this area had a neutral reference" in provider  # the methods
    for claim in ("colour-normalised on", "Both photos colour", "Colours normalised from neutral references"):
        assert claim not in provider
    me = Actor("patient", role="patient", patient_id=patient.id)
    plain = _text(build_pdf(records, me, patient.id, area.id, audience="patient", today=TODAY))
    assert "could not be corrected" in plain
    for claim in ("colour-corrected the same way", "taken with a grey reference card in view", "Both photos were colour-corrected"):
        assert claim not in plain


def test_5_reports_with_a_reference_say_which(demo_records):
    records, patient, area = demo_records
    provider = _text(build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY))
    count = len([p for p in records.list_photos(DOCTOR, patient.id, area.id) if p.status == "scored"])
    assert "Both photos colour-normalised on the grey card in the frame" in provider
    assert f"the grey card: {count} photos" in provider and "not corrected" not in provider


# --------------------------------------------------------------------------- item 7: which part was measured


@pytest.fixture(scope="module")
def outlined(tmp_path_factory):
    records = Records(tmp_path_factory.mktemp("outlined"))
    patient = records.add_patient(DOCTOR, "P-ROI")
    area = records.add_area(DOCTOR, patient.id, "left cheek")
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-09-28", "2026-09-28_left-cheek.jpg")):
        records.add_photo(DOCTOR, records.add_session(DOCTOR, patient.id, date, "micro-needling").id, area.id, SAMPLES / name)
    yield records, patient, area
    records.close()


def _yellow_pixels(pdf: bytes, tmp_path) -> int:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-png", str(source), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))[-1]
    rgb = np.asarray(Image.open(rendered).convert("RGB")).astype(int)
    rendered.unlink()
    yellow = (rgb[..., 0] > 220) & (rgb[..., 1] > 180) & (rgb[..., 1] < 240) & (rgb[..., 2] < 70)
    return int(yellow.sum())


def test_7_the_pdf_outlines_the_region_and_the_csv_names_it_with_its_share(outlined, tmp_path):
    records, patient, area = outlined
    whole_pdf = build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY)
    whole_csv = scores_table(records, DOCTOR, patient.id)
    assert set(whole_csv["region"]) == {"whole photo"}
    baseline_rows = whole_csv[whole_csv["is_baseline"]]
    assert set(baseline_rows["region_pct"]) == {100.0}
    assert (whole_csv["skin_pct"] > 0).all() and (whole_csv["skin_pct"] <= whole_csv["region_pct"]).all()
    records.set_area_roi(DOCTOR, area.id, {"shape": "rectangle", "points": [[0.2, 0.3], [0.6, 0.8]]})
    region_pdf = build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY)
    text = _text(region_pdf)
    assert "only the outlined rectangle, 20.0 % of the photo" in text and "Yellow outline" in text
    assert _yellow_pixels(region_pdf, tmp_path) > 5 * max(_yellow_pixels(whole_pdf, tmp_path), 20)
    table = scores_table(records, DOCTOR, patient.id)
    assert set(table["region"]) == {"outlined rectangle"}
    baseline_share = table[table["is_baseline"]]["region_pct"].unique()
    assert baseline_share == pytest.approx([20.0], abs=0.5)  # the drawn rectangle is a fifth of the photo
    follow_share = table[~table["is_baseline"]]["region_pct"].unique()
    assert len(follow_share) == 1 and 10.0 < follow_share[0] <= 20.5  # the part lined up with the baseline
    assert (table["skin_pct"] <= table["region_pct"]).all()
    me = Actor("patient", role="patient", patient_id=patient.id)
    plain = _text(build_pdf(records, me, patient.id, area.id, audience="patient", today=TODAY))
    assert "Only the outlined skin (20 % of the photo) was measured" in plain


# --------------------------------------------------------------------------- item 4: one photo per visit


def test_4_the_report_pairs_the_photo_that_counts_and_says_the_rule(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-TWO")
    area = records.add_area(DOCTOR, patient.id, "left cheek")
    first = records.add_session(DOCTOR, patient.id, "2026-05-04", "micro-needling")
    later = records.add_session(DOCTOR, patient.id, "2026-09-28", "micro-needling")
    records.add_photo(DOCTOR, first.id, area.id, SAMPLES / "2026-05-04_left-cheek.jpg")
    counted = records.add_photo(DOCTOR, later.id, area.id, SAMPLES / "2026-09-28_left-cheek.jpg")
    extra = records.add_photo(DOCTOR, later.id, area.id, SAMPLES / "2026-08-03_left-cheek.jpg")
    progress = area_progress(records, DOCTOR, patient.id, area.id)
    assert [e.photo_id for e in progress.extra_photos] == [extra.id]
    assert progress.photo_ids[-1] == counted.id
    for metric in progress.metrics.values():
        if metric.metric.endswith("_mean_mm2"):  # sizes need a measured scale: none in the demo photos
            assert not metric.points
            continue
        assert [p.date for p in metric.points] == [dt.date(2026, 5, 4), dt.date(2026, 9, 28)]
        assert metric.points[-1].photo_id == counted.id
    content = gather(records, DOCTOR, patient.id, area.id, today=TODAY)
    assert content.latest.photo.id == counted.id  # the pair shows the photo the numbers come from
    text = _text(build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY))
    assert " ".join(ONE_PHOTO_PER_VISIT.split()) in text and "2026-09-28: 2 measured photos, 1 not counted" in text
    table = scores_table(records, DOCTOR, patient.id)
    counted_rows = table.groupby("photo_id")["in_summary"].first()
    assert not counted_rows[extra.id] and counted_rows[counted.id]
    records.close()


# --------------------------------------------------------------------------- item 12: legend beside the charts


def test_12_the_legend_is_on_every_page_with_charts_and_the_first_month_is_labelled(tmp_path):
    records = Records(tmp_path / "data")
    patient = records.add_patient(DOCTOR, "P-AXIS")
    area = records.add_area(DOCTOR, patient.id, "left cheek")
    for date, name in (("2026-05-20", "2026-05-04_left-cheek.jpg"), ("2026-06-17", "2026-06-01_left-cheek.jpg"),
                       ("2026-09-28", "2026-09-28_left-cheek.jpg")):  # fmt: skip
        records.add_photo(DOCTOR, records.add_session(DOCTOR, patient.id, date, "micro-needling").id, area.id, SAMPLES / name)
    for audience, legend_words in (("provider", "baseline ± MDC95 (noise)"), ("patient", "normal variation between photos")):
        actor = DOCTOR if audience == "provider" else Actor("patient", role="patient", patient_id=patient.id)
        pages = _pages(build_pdf(records, actor, patient.id, area.id, audience=audience, today=TODAY))
        chart_pages = [i for i, page in enumerate(pages) if "May 2026" in page]  # each chart's first tick
        assert chart_pages, f"{audience}: no chart labels its first month (the course starts on 20 May)"
        for index in chart_pages:
            assert legend_words in pages[index], f"{audience}: page {index + 1} has charts but no legend"
        assert sum(page.count("May 2026") for page in pages) >= 9  # every chart starts with May
    records.close()


def test_12_the_demo_report_keeps_its_legend_with_its_charts(demo_records):
    records, patient, area = demo_records
    pages = _pages(build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY))
    chart_pages = [i for i, page in enumerate(pages) if re.search(r"May 2026 Jun", page)]
    assert chart_pages
    for index in chart_pages:
        assert "baseline ± MDC95 (noise)" in pages[index], f"page {index + 1} has charts but no legend"


# --------------------------------------------------------------------------- item 6 in the patient's report


def test_6_the_patient_report_gives_each_change_its_number_with_its_verdict(demo_records):
    from skintrack.report.phrases import patient_sentence
    from skintrack.wording import format_pct, pct_applies

    records, patient, area = demo_records
    progress = area_progress(records, DOCTOR, patient.id, area.id)
    unclear = [m for m in progress.metrics.values() if m.points and m.latest.label in ("within noise", "could be noise")
               and pct_applies(m.metric) and abs(m.latest.change_pct) >= 10]  # fmt: skip
    assert unclear, "the demo course has no sizeable change that is not a clear one"
    me = Actor("patient", role="patient", patient_id=patient.id)
    text = _text(build_pdf(records, me, patient.id, area.id, audience="patient", today=TODAY))
    for metric in unclear:
        sentence = patient_sentence(metric)
        assert format_pct(metric.latest.change_pct, signed=False) in sentence and "no clear change" in sentence
        assert " ".join(sentence.split()) in text


@pytest.mark.parametrize("plain", [False, True])
def test_5_a_face_lined_up_by_the_face_is_said_so_from_its_stored_alignment(plain):
    """Engine 0.9.0 records ``face`` with a face's fit; the pair's words say it, and only then."""
    face = SimpleNamespace(normalization={"method": "none"}, is_baseline=False, status="scored",
                           alignment={"quality": 0.99, "face": True})  # fmt: skip
    words = pair_processing(_photo("none", baseline=True), face, plain=plain)
    assert ("lined up with your first visit by the face" if plain else "aligned onto the baseline by the face") in words
    close_up = pair_processing(_photo("none", baseline=True), _photo("none", baseline=False), plain=plain)
    assert "by the face" not in close_up
    # Two follow-ups: said only when both were lined up by the face.
    mixed = pair_processing(face, _photo("none", baseline=False), plain=plain)
    assert "Both were lined up" in mixed and "by the face" not in mixed
