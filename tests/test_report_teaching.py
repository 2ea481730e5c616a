"""De-identified teaching / publication sets (skintrack/records/deidentify.py, skintrack/report/teaching.py).

Consent decides which photos leave the record; nothing that names the patient
leaves with them, in the manifest or in the photo files.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from skintrack.cli import main
from skintrack.records import Actor, InvalidInput, PermissionDenied, Records
from skintrack.records.deidentify import TEACHING_FORMAT
from skintrack.report.teaching import add_watermark, export_teaching_set

from .conftest import REPO

DOCTOR = Actor("Dr Secret Uploader")
SAMPLES = REPO / "sample_images"
SECRETS = ["Zoë", "Ødegård", "Łukasz", "P-SECRET-77", "1987", "Elm Street", "divorce", "Dr Secret", "SecretCam",
           "2026-05-04", "2026:05:04", "10:11:12", "2026-06-29"]  # fmt: skip
FORBIDDEN_KEYS = {"display_name", "code", "birth_year", "notes", "captured_at", "camera", "created_by", "provider", "date",
                  "id", "patient_id", "photo_id", "file_name", "original_sha256", "stored_sha256", "photo_sha256"}  # fmt: skip


def _with_exif(path) -> bytes:
    """A sample photo carrying a capture time, a camera model and an ICC profile, as phones write them."""
    image = Image.open(path)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "SecretCam X100"  # Model
    exif.get_ifd(0x8769)[0x9003] = "2026:05:04 10:11:12"  # DateTimeOriginal
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, icc_profile=icc)
    return out.getvalue()


@pytest.fixture(scope="module")
def consent_records(tmp_path_factory):
    records = Records(tmp_path_factory.mktemp("consent"))
    person = records.add_patient(DOCTOR, "P-SECRET-77", "Zoë Ødegård-Łukasz", birth_year=1987, fitzpatrick=2,
                                 notes="lives at 12 Elm Street")  # fmt: skip
    area = records.add_area(DOCTOR, person.id, "left cheek")
    photos = {}
    for date, file, consent in (("2026-05-04", "2026-05-04_left-cheek.jpg", "publication"),
                                ("2026-06-01", "2026-06-01_left-cheek.jpg", "record"),
                                ("2026-06-29", "2026-06-29_left-cheek.jpg", "teaching"),
                                ("2026-09-28", "2026-09-28_left-cheek.jpg", "publication")):  # fmt: skip
        session = records.add_session(DOCTOR, person.id, date, "micro-needling", settings={"needle_depth_mm": 1.5},
                                      provider="Dr Secret", notes="talked about her divorce")  # fmt: skip
        source = _with_exif(SAMPLES / file) if date == "2026-05-04" else SAMPLES / file
        photos[consent if date != "2026-09-28" else "withdrawn"] = records.add_photo(DOCTOR, session.id, area.id, source, consent=consent)
    records.set_consent(DOCTOR, photos["withdrawn"].id, withdrawn=True)
    other = records.add_patient(DOCTOR, "P-2", "Only Record")
    other_area = records.add_area(DOCTOR, other.id, "chin")
    session = records.add_session(DOCTOR, other.id, "2026-05-04", "laser")
    photos["other"] = records.add_photo(DOCTOR, session.id, other_area.id, SAMPLES / "2026-05-07_left-cheek.jpg")
    yield records, person, other, photos
    records.close()


def _read(data: bytes) -> tuple[dict, dict[str, np.ndarray], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("teaching-set.json"))
    images = {n: np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB")) for n in archive.namelist() if n != "teaching-set.json"}
    return manifest, images, archive


def _export(records, patient_ids, **kwargs) -> tuple[dict, bytes]:
    buffer = io.BytesIO()
    result = export_teaching_set(records, DOCTOR, patient_ids, buffer, **kwargs)
    return result, buffer.getvalue()


def _matches(image: np.ndarray, stored: np.ndarray) -> bool:
    return image.shape == stored.shape and float(np.abs(image.astype(float) - stored).mean()) < 2.0


def test_only_consented_photos_that_were_not_withdrawn_leave(consent_records):
    records, person, other, photos = consent_records
    stored = {k: records.load_photo(DOCTOR, p.id).rgb for k, p in photos.items()}
    result, data = _export(records, [person.id, other.id], purpose="teaching")
    manifest, images, _ = _read(data)
    assert manifest["format"] == TEACHING_FORMAT and manifest["purpose"] == "teaching"
    assert result["photos"] == 2 and result["cases"] == 1  # P-2 has only "record" consent: not a case at all
    assert set(result["key"]["photos"].values()) == {photos["publication"].id, photos["teaching"].id}
    for name, image in images.items():
        source = result["key"]["photos"][name]
        kind = next(k for k, p in photos.items() if p.id == source)
        assert _matches(image, stored[kind])
        for never in ("record", "withdrawn", "other"):
            assert not _matches(image, stored[never]), f"{never} photo found in a teaching set"
    publication, data = _export(records, [person.id, other.id], purpose="publication")
    assert list(publication["key"]["photos"].values()) == [photos["publication"].id]


def test_withdrawing_consent_removes_the_photo(consent_records):
    records, person, _, photos = consent_records
    records.set_consent(DOCTOR, photos["publication"].id, withdrawn=True)
    try:
        result, data = _export(records, person.id, purpose="publication")
        assert result["photos"] == 0 and result["cases"] == 0 and _read(data)[0]["cases"] == []
        result, _ = _export(records, person.id, purpose="teaching")
        assert list(result["key"]["photos"].values()) == [photos["teaching"].id]
    finally:
        records.set_consent(DOCTOR, photos["publication"].id, withdrawn=False)


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_nothing_that_names_the_patient_leaves(consent_records):
    records, person, _, photos = consent_records
    assert records.get_photo(DOCTOR, photos["publication"].id).captured_at is not None  # the source did carry them
    result, data = _export(records, person.id, purpose="teaching")
    manifest, _, archive = _read(data)
    everything = b"".join(archive.read(n) for n in archive.namelist()) + "".join(archive.namelist()).encode()
    for secret in SECRETS:
        assert secret.encode() not in everything, secret
    for identifier in [person.id, *(p.id for p in photos.values()), *(records.get_photo(DOCTOR, p.id).original_sha256 for p in photos.values())]:
        assert identifier.encode() not in everything
    assert not (_keys(manifest) & FORBIDDEN_KEYS), _keys(manifest) & FORBIDDEN_KEYS
    (case,) = manifest["cases"]
    assert [s["day"] for s in case["sessions"]] == [0, 28, 56, 147] and case["fitzpatrick"] == 2
    assert case["sessions"][1]["settings"] == {"needle_depth_mm": 1.5}
    assert {p["day"] for p in case["photos"]} == {0, 56} and all(p["scores"] for p in case["photos"])
    for name in archive.namelist():
        if name.endswith(".jpg"):
            image = Image.open(io.BytesIO(archive.read(name)))
            assert not image.getexif() and "icc_profile" not in image.info and "exif" not in image.info


def test_the_publication_archive_path_is_de_identified_too(consent_records, tmp_path):
    records, person, _, photos = consent_records
    buffer = io.BytesIO()
    manifest = records.export_patient_archive(DOCTOR, person.id, buffer, purpose="publication")
    assert manifest["photos"] == 1 and list(manifest["key"]["photos"].values()) == [photos["publication"].id]
    content = b"".join(zipfile.ZipFile(buffer).read(n) for n in zipfile.ZipFile(buffer).namelist())
    assert not any(secret.encode() in content for secret in SECRETS)
    with pytest.raises(InvalidInput):  # a teaching set is not a backup
        records.import_patient_archive(DOCTOR, buffer.getvalue())
    out = tmp_path / "publication.zip"
    result = CliRunner().invoke(main, ["archive", "export", "P-SECRET-77", str(out), "--purpose", "publication", "--data", str(records.data_dir)])
    assert result.exit_code == 0 and "1 photos" in result.output, result.output
    assert not any(secret.encode() in zipfile.ZipFile(out).read("teaching-set.json") for secret in SECRETS)


def test_watermark_marks_the_corner_only():
    grey = np.full((600, 800, 3), 128, np.uint8)
    marked = add_watermark(grey, "Klinik Ærø")
    changed = np.abs(marked.astype(int) - grey).sum(axis=2) > 0
    rows, cols = np.nonzero(changed)
    assert changed.any() and rows.min() > 600 * 0.8 and cols.min() > 800 * 0.5  # lower right
    assert marked[changed].max() > 200 and marked[changed].min() < 60  # white letters, dark outline
    assert np.array_equal(add_watermark(grey, "  "), grey)


def test_exported_photos_carry_the_watermark_after_anonymisation(consent_records):
    records, person, _, _ = consent_records
    _, plain = _export(records, person.id)

    def black_top_half(photo):
        rgb = np.array(photo.rgb)
        rgb[: rgb.shape[0] // 2] = 0
        return rgb

    result, marked = _export(records, person.id, watermark="Klinik Ærø", anonymise=black_top_half)
    manifest, images, _ = _read(marked)
    _, originals, _ = _read(plain)
    assert manifest["processing"] == {"anonymised": "black_top_half", "watermark": "Klinik Ærø"}
    for name, image in images.items():
        original = originals[next(n for n in originals if n.split("_")[-1] == name.split("_")[-1])]
        h, w = image.shape[:2]
        assert image[: h // 2].mean() < 3  # the anonymiser ran
        corner = np.abs(image[int(h * 0.85):, int(w * 0.6):].astype(int) - original[int(h * 0.85):, int(w * 0.6):]).mean()
        middle = np.abs(image[h // 2 : int(h * 0.8), : w // 2].astype(int) - original[h // 2 : int(h * 0.8), : w // 2]).mean()
        assert corner > 5 * max(middle, 0.2)  # the watermark, and nothing else moved


def test_only_providers_export_and_a_failed_step_writes_nothing(consent_records, tmp_path):
    records, person, _, _ = consent_records
    with pytest.raises(PermissionDenied):
        export_teaching_set(records, Actor("pat", role="patient", patient_id=person.id), person.id, tmp_path / "x.zip")
    with pytest.raises(InvalidInput):
        export_teaching_set(records, DOCTOR, person.id, tmp_path / "x.zip", anonymise=lambda photo: np.zeros((4, 4), np.uint8))
    with pytest.raises(InvalidInput, match="purpose"):
        export_teaching_set(records, DOCTOR, person.id, tmp_path / "x.zip", purpose="record")
    assert not (tmp_path / "x.zip").exists()


def test_cli_teaching_set_with_the_clinics_watermark(consent_records, tmp_path):
    records, _, _, _ = consent_records
    (records.data_dir / "clinic.json").write_text(json.dumps({"name": "Klinik Ærø"}))
    try:
        out = tmp_path / "set.zip"
        result = CliRunner().invoke(main, ["teaching-set", "P-SECRET-77", "P-2", "-o", str(out), "--clinic-watermark", "--data", str(records.data_dir)])
        assert result.exit_code == 0, result.output
        assert "2 photos of 1 of 2 patients" in result.output
        # Faces are blurred unless the exporter says otherwise (these close-ups have none, so they pass unchanged).
        assert _read(out.read_bytes())[0]["processing"] == {"faces": "every face hidden", "anonymised": "blur_face", "watermark": "Klinik Ærø"}
        result = CliRunner().invoke(main, ["teaching-set", "NOPE", "-o", str(tmp_path / "no.zip"), "--data", str(records.data_dir)])
        assert result.exit_code != 0 and "No patient" in result.output and not (tmp_path / "no.zip").exists()
    finally:
        (records.data_dir / "clinic.json").unlink()


def test_cli_teaching_set_hides_a_full_face(tmp_path):
    from skintrack.anonymise import PRIVACY_FACE_CONFIG
    from skintrack.face import find_face

    records = Records(tmp_path / "data")
    try:
        person = records.add_patient(DOCTOR, "FACE-1", "Face Person")
        area = records.add_area(DOCTOR, person.id, "full face")
        session = records.add_session(DOCTOR, person.id, "2026-03-02", "peel")
        records.add_photo(DOCTOR, session.id, area.id, SAMPLES / "demo-002" / "2026-03-02_full-face.jpg", consent="teaching")
        images = {}
        for hide in ("default", "none", "eye-bar"):
            out = tmp_path / f"{hide}.zip"
            args = ["teaching-set", "FACE-1", "-o", str(out), "--data", str(records.data_dir)]
            result = CliRunner().invoke(main, args + ([] if hide == "default" else ["--hide-face", hide]))
            assert result.exit_code == 0, result.output
            manifest, files, _ = _read(out.read_bytes())
            (images[hide],) = files.values()
            assert manifest.get("processing", {}).get("anonymised") == {"default": "blur_face", "none": None, "eye-bar": "eye_bar"}[hide]
        assert find_face(images["default"], PRIVACY_FACE_CONFIG) is None  # blurred by default
        face = find_face(images["none"])
        assert face is not None  # left as taken on request
        for x, y in np.round(face.pupils).astype(int):
            assert (images["eye-bar"][y, x] < 10).all()  # barred
        result = CliRunner().invoke(main, ["teaching-set", "FACE-1", "-o", str(tmp_path / "x.zip"), "--hide-face", "mask",
                                           "--data", str(records.data_dir)])  # fmt: skip
        assert result.exit_code != 0 and "mask" in result.output and not (tmp_path / "x.zip").exists()
    finally:
        records.close()


def test_an_unknown_anonymiser_is_refused_before_anything_is_written(consent_records, tmp_path):
    records, person, _, _ = consent_records
    with pytest.raises(ValueError, match="blur"):
        export_teaching_set(records, DOCTOR, person.id, tmp_path / "x.zip", anonymise="smudge")
    assert not (tmp_path / "x.zip").exists()
