"""The PDF report (skintrack/report/pdf.py, content.py, charts.py, clinic.py, fonts.py) and `skintrack report`.

Read back with pypdf (text, images, fonts) and rendered with poppler's
pdftoppm, as a person would open it. No measured value is hard-coded: the
expected numbers come from the engine (area_progress).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from skintrack.cli import main
from skintrack.measure.metrics import METRICS
from skintrack.progress import area_progress
from skintrack.records import Actor, InvalidInput, PermissionDenied, Records
from skintrack.report import build_pdf
from skintrack.report.clinic import Clinic, ClinicError, load_clinic
from skintrack.report.phrases import CLINICAL_TERMS, METHODS, PLAIN, format_value

from .conftest import REPO

DOCTOR = Actor("Dr Demo")
SAMPLES = REPO / "sample_images"
TODAY = dt.date(2026, 10, 5)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _images(pdf: bytes) -> list[int]:
    return [len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages]


def _render_page(pdf: bytes, tmp_path, page: int = 1, dpi: int = 50) -> np.ndarray:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", str(source), str(tmp_path / "page")], check=True)
    (rendered,) = tmp_path.glob("page-*.png")
    return np.asarray(Image.open(rendered).convert("RGB"))


@pytest.fixture(scope="module")
def provider_pdf(demo_records):
    records, patient, area = demo_records
    return build_pdf(records, DOCTOR, patient.id, area.id, today=TODAY)


@pytest.fixture(scope="module")
def patient_pdf(demo_records):
    records, patient, area = demo_records
    me = Actor("demo patient", role="patient", patient_id=patient.id)
    return build_pdf(records, me, patient.id, area.id, audience="patient", today=TODAY)


# --------------------------------------------------------------------------- the provider report


def test_demo_report_opens_and_names_the_measures_sessions_and_code_but_not_the_name(demo_records, provider_pdf):
    records, patient, area = demo_records
    assert provider_pdf.startswith(b"%PDF")
    text = _text(provider_pdf)
    assert patient.code in text and area.name in text
    assert patient.display_name not in text  # the full name only on request
    for info in METRICS.values():
        assert info.label in text
    for session in records.list_sessions(DOCTOR, patient.id):
        assert session.date.isoformat() in text
    assert "needle depth 1.5 mm" in text  # the treatment log with settings
    assert "Not a diagnostic device" in text


def test_the_numbers_and_verdicts_are_the_engines(demo_records, provider_pdf):
    records, patient, area = demo_records
    text = _text(provider_pdf)
    progress = area_progress(records, DOCTOR, patient.id, area.id)
    # The demo photos have no chart or face: the sizes in mm² are not measured (no points), the rest are.
    assert {n for n, m in progress.metrics.items() if not m.points} == {"red_lesion_mean_mm2", "spot_mean_mm2"}
    for metric in progress.metrics.values():
        if not metric.points:
            continue
        assert format_value(metric.baseline.value) in text and format_value(metric.latest.value) in text
        assert metric.latest.label in text
    photos = records.list_photos(DOCTOR, patient.id)
    assert f"settings hash {photos[0].settings_hash}" in text and f"Engine version {photos[0].engine_version}" in text
    for name in METRICS:
        assert METHODS[name][:40] in text.replace("\n", " ")  # how each measure is computed


def test_report_has_the_photos_and_page_one_is_not_blank(provider_pdf, tmp_path):
    pages = _images(provider_pdf)
    assert pages[0] >= 2  # baseline and latest, normalised and aligned
    pixels = _render_page(provider_pdf, tmp_path)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 300
    not_white = (pixels < 240).any(axis=2).mean()
    assert 0.1 < not_white < 0.9 and pixels.std() > 20


def test_charts_are_vector_graphics(provider_pdf):
    reader = PdfReader(io.BytesIO(provider_pdf))
    chart_pages = [p for p in reader.pages if "Progress per measure" in (p.extract_text() or "")]
    assert chart_pages and len(chart_pages[0].images) == 0  # drawn, not pasted as pictures
    assert "Redness (a*)" in chart_pages[0].extract_text()


def test_full_name_only_on_request(demo_records):
    records, patient, area = demo_records
    assert patient.display_name in _text(build_pdf(records, DOCTOR, patient.id, area.id, full_name=True, today=TODAY))


def test_every_session_and_overlays_add_print_quality_photos(demo_records, provider_pdf):
    records, patient, area = demo_records
    full = build_pdf(records, DOCTOR, patient.id, area.id, sessions="all", overlays=["redness"], today=TODAY)
    assert sum(_images(full)) >= sum(_images(provider_pdf)) + 2 + len(records.list_sessions(DOCTOR, patient.id))
    reader = PdfReader(io.BytesIO(full))
    widths = [image.image.width for page in reader.pages for image in page.images]
    assert min(widths) >= 700  # a ~87 mm column at >= 200 dpi
    assert "Every session" in _text(full)


def test_bad_options_are_refused(demo_records):
    records, patient, area = demo_records
    with pytest.raises(InvalidInput, match="overlay"):
        build_pdf(records, DOCTOR, patient.id, area.id, overlays=["x-ray"])
    with pytest.raises(InvalidInput, match="audience"):
        build_pdf(records, DOCTOR, patient.id, area.id, audience="press")
    with pytest.raises(InvalidInput, match="sessions"):
        build_pdf(records, DOCTOR, patient.id, area.id, sessions=["not-a-session"])
    with pytest.raises(InvalidInput, match="area"):
        build_pdf(records, DOCTOR, patient.id, "not-an-area")


# --------------------------------------------------------------------------- the patient report


def test_patient_report_is_in_plain_words(patient_pdf, provider_pdf, demo_records):
    records, patient, _ = demo_records
    text = _text(patient_pdf)
    for term in CLINICAL_TERMS:
        assert term not in text, term
    for name in METRICS:
        assert PLAIN[name].title in text
    assert "Your skin progress" in text and patient.code in text and patient.display_name not in text
    assert _images(patient_pdf)[0] >= 2  # the same photos
    assert "not a diagnosis" in text


def test_a_patient_gets_only_their_own_plain_report(demo_records):
    records, patient, area = demo_records
    me = Actor("demo patient", role="patient", patient_id=patient.id)
    with pytest.raises(PermissionDenied):
        build_pdf(records, me, patient.id, area.id)  # the provider version
    with pytest.raises(PermissionDenied):
        build_pdf(records, Actor("someone else", role="patient", patient_id="another"), patient.id, area.id, audience="patient")
    with pytest.raises(PermissionDenied):
        build_pdf(records, Actor(""), patient.id, area.id)


@pytest.fixture(scope="module")
def small_records(tmp_path_factory):
    """A patient with a Unicode name, markup in their code and a withdrawn follow-up photo."""
    records = Records(tmp_path_factory.mktemp("small"))
    person = records.add_patient(DOCTOR, "<b>P&1</b>", "Zoë Ødegård-Łukasz")
    area = records.add_area(DOCTOR, person.id, "right cheek")
    for date, name, treatment in (("2026-05-04", "2026-05-04_left-cheek.jpg", "micro-needling"),
                                  ("2026-06-01", "2026-06-01_left-cheek.jpg", "micro-needling"),
                                  ("2026-09-28", "2026-09-28_left-cheek.jpg", "other")):  # fmt: skip
        session = records.add_session(DOCTOR, person.id, date, treatment, settings={"needle_depth_mm": 1.0})
        photo = records.add_photo(DOCTOR, session.id, area.id, SAMPLES / name)
    records.set_consent(DOCTOR, photo.id, withdrawn=True)
    yield records, person, area
    records.close()


def test_unicode_names_render_with_embedded_fonts(small_records, tmp_path):
    records, person, area = small_records
    pdf = build_pdf(records, DOCTOR, person.id, area.id, full_name=True, today=TODAY)
    assert "Zoë Ødegård-Łukasz" in _text(pdf)
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            descendant = font.get("/DescendantFonts") or [font]
            descriptor = descendant[0].get_object().get("/FontDescriptor")
            assert descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile2", "/FontFile")), font
    assert any("DejaVuSans" in f for f in fonts) and not any("Helvetica" in f for f in fonts)


def test_user_text_is_printed_not_interpreted(small_records):
    records, person, area = small_records
    text = _text(build_pdf(records, DOCTOR, person.id, area.id, today=TODAY))
    assert "<b>P&1</b>" in text


def _image_data(pdf: bytes) -> set[bytes]:
    return {image.data for page in PdfReader(io.BytesIO(pdf)).pages for image in page.images}


def test_withdrawn_photos_stay_out_of_the_patient_report(small_records):
    records, person, area = small_records
    provider = build_pdf(records, DOCTOR, person.id, area.id, sessions="all", today=TODAY)
    me = Actor("patient", role="patient", patient_id=person.id)
    mine = build_pdf(records, me, person.id, area.id, audience="patient", sessions="all", today=TODAY)
    assert "Latest · 2026-09-28" in _text(provider)  # the withdrawn photo is still in the clinical record
    assert _image_data(mine) < _image_data(provider)
    assert len(_image_data(provider) - _image_data(mine)) == 1  # only the withdrawn photo is missing
    text = _text(mine)
    assert "Latest visit · 1 June 2026" in text and "withdrew your consent" in text


# --------------------------------------------------------------------------- the clinic


def _logo() -> bytes:
    image = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    image.paste((31, 78, 121, 255), (0, 0, 80, 80))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_clinic_name_and_logo_in_the_header(demo_records, provider_pdf):
    records, patient, area = demo_records
    pdf = build_pdf(records, DOCTOR, patient.id, area.id, clinic=Clinic("Klinik Ærøskøbing", _logo()), today=TODAY)
    assert "Klinik Ærøskøbing" in _text(pdf)
    assert [n - 1 for n in _images(pdf)] == _images(provider_pdf)  # the logo on every page


def test_clinic_settings_from_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SKINTRACK_CLINIC_NAME", raising=False)
    assert load_clinic(tmp_path).name == "skintrack"
    (tmp_path / "logo.png").write_bytes(_logo())
    (tmp_path / "clinic.json").write_text('{"name": "Haut & Laser", "logo": "logo.png", "address": "Hauptstraße 1"}')
    clinic = load_clinic(tmp_path)
    assert clinic.name == "Haut & Laser" and clinic.address == "Hauptstraße 1" and clinic.logo_png().startswith(b"\x89PNG")


@pytest.mark.parametrize("content", [b"not an image", b"GIF89a" + b"\x00" * 40])
def test_a_bad_logo_is_refused_clearly(tmp_path, content):
    (tmp_path / "logo.png").write_bytes(content)
    with pytest.raises(ClinicError):
        Clinic.from_files("Clinic", tmp_path / "logo.png")
    with pytest.raises(ClinicError, match="No logo"):
        Clinic.from_files("Clinic", tmp_path / "missing.png")


# --------------------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def demo_data(demo_records):
    return str(demo_records[0].data_dir)


def test_cli_writes_the_report(demo_data, tmp_path):
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(main, ["report", "DEMO-001", "--area", "left cheek", "-o", str(out), "--data", demo_data])
    assert result.exit_code == 0, result.output
    assert "DEMO-001" in _text(out.read_bytes()) and "Demo patient" not in _text(out.read_bytes())
    patient = tmp_path / "patient.pdf"
    result = CliRunner().invoke(main, ["report", "DEMO-001", "-o", str(patient), "--for", "patient", "--full-name", "--data", demo_data])
    assert result.exit_code == 0, result.output
    text = _text(patient.read_bytes())
    assert "Demo patient" in text and "Your skin progress" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "NOPE", "--area", "left cheek"], "No patient with code 'NOPE'"),
        (["report", "DEMO-001", "--area", "nose"], "has no area 'nose'"),
        (["report", "DEMO-001", "--area", "left cheek", "--logo", "/no/such/logo.png"], "No logo"),
    ],
)
def test_cli_unknown_patient_or_area_fails_with_one_line_and_no_file(demo_data, tmp_path, args, message):
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(main, [*args, "-o", str(out), "--data", demo_data])
    assert result.exit_code != 0
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_exports_scores(demo_data, tmp_path):
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(main, ["export-scores", "DEMO-001", "-o", str(out), "--data", demo_data])
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_parquet(out)
    assert {"unit", "change", "mdc95", "beyond_noise", "verdict", "settings", "provider"} <= set(table.columns)
    assert re.search(r"\d+ rows written", result.output)


def test_an_area_without_photos_gives_a_report_that_says_so(tmp_path):
    records = Records(tmp_path)
    person = records.add_patient(DOCTOR, "P-NEW", "New Patient")
    area = records.add_area(DOCTOR, person.id, "chin")
    for audience in ("provider", "patient"):
        text = _text(build_pdf(records, DOCTOR, person.id, area.id, audience=audience, today=TODAY))
        assert "P-NEW" in text and "no sessions yet" in text
    records.add_photo(DOCTOR, records.add_session(DOCTOR, person.id, "2026-05-04", "baseline").id, area.id, SAMPLES / "2026-05-04_left-cheek.jpg")
    text = _text(build_pdf(records, DOCTOR, person.id, area.id, today=TODAY))
    assert "baseline only" in text and "no comparable photo yet" in text


def test_the_documents_metadata_holds_no_free_text(tmp_path):
    """Issue 22 item 3: the PDF's title carried the area name (free text: "left cheek, before her wedding ..."),
    which file browsers, mail previews and document stores show and index without opening the report."""
    records = Records(tmp_path)
    person = records.add_patient(DOCTOR, "ZOE-SECRETNAME", "Zoë Secretname")
    area = records.add_area(DOCTOR, person.id, "left cheek (Zoë Secretname, before her wedding on 2026-06-12)")
    for audience, full_name in (("provider", False), ("provider", True), ("patient", False)):
        pdf = build_pdf(records, DOCTOR, person.id, area.id, audience=audience, full_name=full_name, today=TODAY)
        reader = PdfReader(io.BytesIO(pdf))
        info = " ".join(f"{k}={v}" for k, v in (reader.metadata or {}).items())
        assert "/Title=" in info and "2026-10-05" in info, info  # still a title: the kind of report and its date
        for secret in ("Zoë", "Secretname", "SECRETNAME", "wedding", "2026-06-12", "cheek"):
            assert secret not in info, (audience, secret, info)
        assert reader.xmp_metadata is None
        assert "Secretname" in _text(pdf)  # the report itself still says whose it is and which area


def test_every_overlay_has_a_title_in_both_reports():
    """An overlay the engine draws is named in words in the provider's and the patient's report (the red lesions,
    added in 0.6.0, were titled "red_lesions")."""
    from skintrack.measure.scoring import OVERLAYS
    from skintrack.report.layout import OVERLAY_TITLES, PLAIN_OVERLAY_TITLES

    assert set(OVERLAY_TITLES) == set(PLAIN_OVERLAY_TITLES) == set(OVERLAYS)
    assert all("_" not in title for title in (*OVERLAY_TITLES.values(), *PLAIN_OVERLAY_TITLES.values()))


def test_the_command_line_report_offers_every_overlay():
    """`skintrack report --overlay` takes each overlay the engine draws (it listed four by hand and refused
    red_lesions)."""
    from skintrack.cli_exports import report_command
    from skintrack.measure.scoring import OVERLAYS

    option = next(p for p in report_command.params if p.name == "overlays")
    assert tuple(option.type.choices) == tuple(OVERLAYS)
