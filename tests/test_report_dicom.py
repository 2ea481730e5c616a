"""DICOM VL Photographic Image export (skintrack/report/dicom.py), read back with pydicom.

When dicom3tools' validator (dciodvfy) is installed (.ci/run installs it), every
file is also checked against the VL Photographic Image IOD.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from PIL import Image
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, VLPhotographicImageStorage

from skintrack.cli import main
from skintrack.records import Actor, InvalidInput, PermissionDenied, Records
from skintrack.report.dicom import anatomy_of, export_session_dicom, session_datasets

from .conftest import REPO

DOCTOR = Actor("Dr Ada")
SAMPLES = REPO / "sample_images"
REQUIRED = [  # type 1 and 2 attributes of the VL Photographic Image IOD's modules (PS3.3 A.32.4)
    "SOPClassUID", "SOPInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
    "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber", "Modality", "SeriesInstanceUID",
    "SeriesNumber", "Manufacturer", "InstanceNumber", "PatientOrientation", "ImageType", "SamplesPerPixel",
    "PhotometricInterpretation", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "PlanarConfiguration", "AcquisitionContextSequence", "PixelData",
]  # fmt: skip


def _exif_jpeg(path) -> bytes:
    image = Image.open(path)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R6"
    exif.get_ifd(0x8769)[0x9003] = "2026:06:01 14:30:05"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def session_records(tmp_path_factory):
    """A visit with three photos: a baseline JPEG with EXIF, a lossless PNG, and a withdrawn one."""
    records = Records(tmp_path_factory.mktemp("dicom"))
    person = records.add_patient(DOCTOR, "P-0042", "Zoë Ødegård-Łukasz", birth_year=1987)
    cheek = records.add_area(DOCTOR, person.id, "left cheek")
    forehead = records.add_area(DOCTOR, person.id, "forehead")
    visit = records.add_session(DOCTOR, person.id, "2026-06-01", "laser", settings={"energy_J_cm2": 12})
    jpeg = records.add_photo(DOCTOR, visit.id, cheek.id, _exif_jpeg(SAMPLES / "2026-06-01_left-cheek.jpg"))
    png_bytes = io.BytesIO()
    Image.open(SAMPLES / "2026-05-04_left-cheek.jpg").save(png_bytes, "PNG")
    png = records.add_photo(DOCTOR, visit.id, forehead.id, png_bytes.getvalue())
    withdrawn = records.add_photo(DOCTOR, visit.id, cheek.id, SAMPLES / "2026-09-28_left-cheek.jpg", view="oblique")
    records.set_consent(DOCTOR, withdrawn.id, withdrawn=True)
    yield records, person, visit, {"jpeg": jpeg, "png": png, "withdrawn": withdrawn, "cheek": cheek, "forehead": forehead}
    records.close()


@pytest.fixture(scope="module")
def exported(session_records, tmp_path_factory):
    records, _, visit, _ = session_records
    folder = tmp_path_factory.mktemp("dicom-out")
    names = export_session_dicom(records, DOCTOR, visit.id, folder)
    return folder, names, [pydicom.dcmread(folder / name) for name in names]


def _by_series(datasets, description):
    return next(ds for ds in datasets if ds.SeriesDescription == description)


def test_round_trip_required_attributes(session_records, exported):
    records, person, visit, photos = session_records
    folder, names, datasets = exported
    assert len(datasets) == 2  # the withdrawn photo never leaves the record
    for ds in datasets:
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == VLPhotographicImageStorage
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        for keyword in REQUIRED:
            assert keyword in ds, keyword
        assert ds.Modality == "XC" and ds.PatientID == "P-0042" and str(ds.PatientName) == ""
        assert ds.StudyDate == "20260601" and "laser" in ds.StudyDescription
        assert ds.SamplesPerPixel == 3 and ds.BitsAllocated == 8 and ds.ImageType == ["ORIGINAL", "PRIMARY"]
        assert len(ds.ICCProfile) > 100
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1  # one study: the visit
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 2  # one series per area
    assert len({ds.SOPInstanceUID for ds in datasets}) == 2


def test_body_part_laterality_and_acquisition_from_the_record(exported):
    _, _, datasets = exported
    cheek, forehead = _by_series(datasets, "left cheek"), _by_series(datasets, "forehead")
    assert cheek.BodyPartExamined == "CHEEK" and cheek.ImageLaterality == "L"
    region = cheek.AnatomicRegionSequence[0]
    assert (region.CodeValue, region.CodingSchemeDesignator) == ("60819002", "SCT")
    assert region.AnatomicRegionModifierSequence[0].CodeMeaning == "Left"
    assert cheek.AcquisitionDate == "20260601" and cheek.AcquisitionTime == "143005"  # the camera's capture time
    assert cheek.ManufacturerModelName == "Canon EOS R6"
    assert forehead.BodyPartExamined == "FACE" and forehead.ImageLaterality == "U"
    assert forehead.AcquisitionDate == "20260601" and "AcquisitionTime" not in forehead  # no EXIF: the visit's date


def test_pixel_data_reads_back_as_the_stored_photo(session_records, exported):
    records, _, _, photos = session_records
    _, _, datasets = exported
    cheek, forehead = _by_series(datasets, "left cheek"), _by_series(datasets, "forehead")
    assert cheek.file_meta.TransferSyntaxUID == JPEGBaseline8Bit and cheek.PhotometricInterpretation == "YBR_FULL_422"
    stored = records.photo_bytes(DOCTOR, photos["jpeg"].id)
    assert bytes(stored) in bytes(cheek.PixelData)  # the JPEG embedded unchanged, no second lossy step
    expected = np.asarray(Image.open(io.BytesIO(stored)).convert("RGB"))
    pixels = cheek.pixel_array
    assert pixels.shape == expected.shape == (cheek.Rows, cheek.Columns, 3)
    assert np.abs(pixels.astype(int) - expected).mean() < 1.0
    assert forehead.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian and forehead.PhotometricInterpretation == "RGB"
    assert forehead.LossyImageCompression == "00"
    assert np.array_equal(forehead.pixel_array, records.load_photo(DOCTOR, photos["png"].id).rgb)


def test_same_session_gives_the_same_uids_and_a_zip(session_records, exported, tmp_path):
    records, _, visit, _ = session_records
    _, names, datasets = exported
    buffer = io.BytesIO()
    assert export_session_dicom(records, DOCTOR, visit.id, buffer) == names
    again = [pydicom.dcmread(io.BytesIO(zipfile.ZipFile(buffer).read(n))) for n in names]
    assert [d.SOPInstanceUID for d in again] == [d.SOPInstanceUID for d in datasets]
    assert [d.StudyInstanceUID for d in again] == [d.StudyInstanceUID for d in datasets]


def test_name_only_on_request_and_in_utf8(session_records):
    records, _, visit, photos = session_records
    (ds,) = session_datasets(records, DOCTOR, visit.id, area_id=photos["forehead"].id, include_name=True)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    assert str(pydicom.dcmread(io.BytesIO(out.getvalue())).PatientName) == "Zoë Ødegård-Łukasz"


def test_only_providers_export_and_bad_ids_are_refused(session_records):
    records, person, visit, _ = session_records
    with pytest.raises(PermissionDenied):
        session_datasets(records, Actor("patient", role="patient", patient_id=person.id), visit.id)
    with pytest.raises(InvalidInput):
        session_datasets(records, DOCTOR, visit.id, area_id="not-an-area")
    with pytest.raises(Exception, match="No session"):
        session_datasets(records, DOCTOR, "not-a-session")


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools' dciodvfy is not installed")
def test_files_pass_the_dicom_validator(exported):
    folder, names, _ = exported
    for name in names:
        done = subprocess.run(["dciodvfy", str(folder / name)], capture_output=True, text=True)
        output = done.stdout + done.stderr
        assert "VLPhotographicImage" in output
        assert "Error" not in output, output


@pytest.mark.parametrize(
    "name, part, side",
    [("left cheek", "CHEEK", "L"), ("Right upper arm", "ARM", "R"), ("forehead", "FACE", None), ("both cheeks", "CHEEK", "B"),
     ("décolleté", "CHEST", None), ("chin", "FACE", None), ("belly button", None, None)],
)  # fmt: skip
def test_anatomy_from_the_area_name(name, part, side):
    anatomy = anatomy_of(name)
    assert anatomy.body_part == part and anatomy.laterality == side


def test_cli_exports_a_session(session_records, tmp_path):
    records, _, _, _ = session_records
    out = tmp_path / "visit.zip"
    result = CliRunner().invoke(main, ["dicom", "P-0042", "--session", "2026-06-01", "-o", str(out), "--data", str(records.data_dir)])
    assert result.exit_code == 0, result.output
    assert len(zipfile.ZipFile(out).namelist()) == 2 and "2 DICOM files" in result.output
    result = CliRunner().invoke(main, ["dicom", "P-0042", "--session", "2026-01-01", "-o", str(tmp_path / "none.zip"), "--data", str(records.data_dir)])
    assert result.exit_code != 0 and "no session on 2026-01-01" in result.output and not (tmp_path / "none.zip").exists()


def test_a_long_name_fits_patients_name_and_its_separators_cannot_add_components(session_records):
    """Issue 22 item 13: Patient's Name is at most 64 characters (PS3.5), one component group."""
    records, person, visit, photos = session_records
    records.update_patient(DOCTOR, person.id, display_name="Zoë " + "Ødegård-Łukasz^Very=Long\\Name " * 6)
    try:
        (ds,) = session_datasets(records, DOCTOR, visit.id, area_id=photos["forehead"].id, include_name=True)
        out = io.BytesIO()
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
        name = str(pydicom.dcmread(io.BytesIO(out.getvalue())).PatientName)
        assert 0 < len(name) <= 64 and name.startswith("Zoë Ødegård-Łukasz Very Long Name")
        assert not set("^=\\") & set(name)
    finally:
        records.update_patient(DOCTOR, person.id, display_name="Zoë Ødegård-Łukasz")


def test_the_output_folder_is_private_whatever_the_umask(session_records, tmp_path):
    """Issue 22 item 13: under umask 000 the folders made for the files were 0777."""
    import os

    records, _, visit, _ = session_records
    old = os.umask(0)
    try:
        target = tmp_path / "new" / "visit"
        export_session_dicom(records, DOCTOR, visit.id, target)
    finally:
        os.umask(old)
    for folder in (target, target.parent):
        assert folder.stat().st_mode & 0o777 == 0o700, oct(folder.stat().st_mode)
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in target.iterdir())


@pytest.fixture(scope="module")
def two_visits(tmp_path_factory):
    """One area photographed at two visits (one photo each)."""
    records = Records(tmp_path_factory.mktemp("dicom-two-visits"))
    person = records.add_patient(DOCTOR, "P-2V")
    cheek = records.add_area(DOCTOR, person.id, "left cheek")
    visits = []
    for date, name in (("2026-05-04", "2026-05-04_left-cheek.jpg"), ("2026-06-01", "2026-06-01_left-cheek.jpg")):
        visit = records.add_session(DOCTOR, person.id, date, "laser")
        photo = records.add_photo(DOCTOR, visit.id, cheek.id, SAMPLES / name)
        visits.append((visit, photo))
    yield records, cheek, visits
    records.close()


def test_a_sessions_export_holds_only_that_sessions_photos(two_visits, tmp_path):
    """Exporting one visit writes that visit's photos only, never those of the patient's other visits."""
    records, cheek, visits = two_visits
    exported = {}
    for visit, photo in visits:
        folder = tmp_path / visit.id
        names = export_session_dicom(records, DOCTOR, visit.id, folder)
        datasets = [pydicom.dcmread(folder / name) for name in names]
        assert len(datasets) == 1
        (ds,) = datasets
        assert ds.StudyDate == visit.date.strftime("%Y%m%d") and ds.AcquisitionContextSequence is not None
        stored = Image.open(io.BytesIO(records.photo_bytes(DOCTOR, photo.id))).convert("RGB")
        assert np.array_equal(ds.pixel_array, np.asarray(stored))
        exported[visit.id] = ds.SOPInstanceUID
        # Asking for the area gives the same single photo.
        by_area = session_datasets(records, DOCTOR, visit.id, area_id=cheek.id)
        assert [d.SOPInstanceUID for d in by_area] == [ds.SOPInstanceUID]
    assert len(set(exported.values())) == 2  # each visit its own image
