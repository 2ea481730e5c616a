"""De-identified teaching / publication sets (skintrack/records/deidentify.py, skintrack/privacy/teaching.py).

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
from skintrack.privacy.teaching import add_watermark, export_teaching_set
from skintrack.records import Actor, InvalidInput, PermissionDenied, Records
from skintrack.records.deidentify import TEACHING_FORMAT

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
    from skintrack.measure.face import find_face
    from skintrack.privacy.face_hiding import PRIVACY_FACE_CONFIG

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


# --------------------------------------------------------------------------- issue 22, items 1-4


def _upper_body_photo() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A 1800 x 1350 'chest' photo (real skin, upscaled) with four real faces 40 to 180 px wide pasted in:
    the frame of a chest or upper-body photo where each face is under 10 % of the width."""
    import cv2
    from skimage import data

    face = data.astronaut()[40:260, 150:320]
    from .conftest import real_photo

    skin = np.asarray(Image.open(real_photo("PAT_297_4307_924.png")).convert("RGB"))
    canvas = cv2.resize(skin, (1800, 1350), interpolation=cv2.INTER_CUBIC)
    boxes = []
    for width, (y, x) in ((40, (100, 200)), (60, (400, 900)), (100, (900, 300)), (180, (700, 1400))):
        small = cv2.resize(face, None, fx=width / face.shape[1], fy=width / face.shape[1], interpolation=cv2.INTER_AREA)
        canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
        boxes.append((x, y, small.shape[1], small.shape[0]))
    return canvas, boxes


def _lbp_faces(rgb: np.ndarray, box) -> list:
    """scikit-image's LBP frontal-face cascade (an independent detector) around one pasted face."""
    from skimage import data
    from skimage.feature import Cascade

    x, y, w, h = box
    pad = w // 2
    crop = rgb[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
    scale = max(1.0, 72 / w)  # the cascade's smallest window is 24 px: look at small faces enlarged
    if scale > 1:
        crop = np.asarray(Image.fromarray(crop).resize((round(crop.shape[1] * scale), round(crop.shape[0] * scale)), Image.Resampling.BICUBIC))
    cascade = Cascade(data.lbp_frontal_face_cascade_filename())
    found = cascade.detect_multi_scale(img=crop, scale_factor=1.1, step_ratio=1, min_size=(24, 24), max_size=(crop.shape[1], crop.shape[0]))
    left, top = (min(x, pad) * scale, min(y, pad) * scale)
    # Only windows centred on the pasted face count (the cascade also fires now and then on plain skin).
    return [d for d in found if left <= d["c"] + d["width"] / 2 <= left + w * scale and top <= d["r"] + d["height"] / 2 <= top + h * scale]


@pytest.fixture(scope="module")
def upper_body(tmp_path_factory):
    photo, boxes = _upper_body_photo()
    records = Records(tmp_path_factory.mktemp("upper-body"))
    person = records.add_patient(DOCTOR, "UB-1", "Zoë Secretname")
    area = records.add_area(DOCTOR, person.id, "décolleté (Zoë Secretname, before her wedding on 2026-06-12)")
    session = records.add_session(DOCTOR, person.id, "2026-03-02", "laser",
                                  settings={"fluence_J_cm2": 12, "other": "Zoë Secretname, before her wedding on 2026-06-12",
                                            "Secretname_wedding_day": 1})  # a setting *name* typed freely  # fmt: skip
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    records.add_photo(DOCTOR, session.id, area.id, buffer.getvalue(), consent="publication")
    yield records, person, photo, boxes
    records.close()


def test_every_face_down_to_40_px_is_hidden_in_a_teaching_set(upper_body):
    """Item 1: a chest photo with four faces (40-180 px): on main only the largest (or none) was hidden."""
    records, person, photo, boxes = upper_body
    for box in boxes:
        assert len(_lbp_faces(photo, box)) >= 1, box  # the independent detector sees every face before...
    result, data = _export(records, person.id, purpose="publication")
    (image,) = _read(data)[1].values()
    assert result["photos"] == 1 and result["left_out"] == []
    for box in boxes:
        assert _lbp_faces(image, box) == [], box  # ...and none after
    x, y, w, h = boxes[0]
    assert np.abs(image[y : y + h, x : x + w].astype(int) - photo[y : y + h, x : x + w]).mean() > 5


def test_a_photo_whose_face_cannot_be_hidden_is_left_out_with_the_reason(upper_body, monkeypatch):
    records, person, _, _ = upper_body
    from skintrack.privacy import face_hiding

    monkeypatch.setattr(face_hiding, "_pixelate", lambda rgb, mask, block: rgb)  # hiding fails
    result, data = _export(records, person.id, purpose="publication")
    manifest, images, _ = _read(data)
    assert result["photos"] == 0 and images == {}
    (left,) = result["left_out"]
    assert "face" in left["reason"] and manifest["left_out"][0]["reason"] == left["reason"]


def test_an_eye_bar_set_checks_the_other_faces_too(upper_body, monkeypatch):
    """Review of issue 22: with eye-bar, the faces other than the barred one were pixelated but never looked for
    again, so a photo whose small faces could not be hidden left as it was."""
    records, person, photo, boxes = upper_body
    result, data = _export(records, person.id, purpose="publication", anonymise="eye-bar")
    if result["photos"]:  # hidden: none of the small faces is found afterwards
        (image,) = _read(data)[1].values()
        assert all(_lbp_faces(image, box) == [] for box in boxes[:3])
    from skintrack.privacy import face_hiding

    monkeypatch.setattr(face_hiding, "_pixelate", lambda rgb, mask, block: rgb)  # hiding fails
    result, data = _export(records, person.id, purpose="publication", anonymise="eye-bar")
    assert result["photos"] == 0 and _read(data)[1] == {}
    assert "face" in result["left_out"][0]["reason"]


def test_every_teaching_path_hides_faces_by_default(upper_body, tmp_path):
    """Item 2: `archive export --purpose teaching|publication` and the Python default hid nothing on main."""
    records, person, photo, boxes = upper_body
    _, default = _export(records, person.id, purpose="publication")  # no anonymise argument
    buffer = io.BytesIO()
    records.export_patient_archive(DOCTOR, person.id, buffer, purpose="publication")
    out = tmp_path / "cli.zip"
    result = CliRunner().invoke(main, ["archive", "export", "UB-1", str(out), "--purpose", "teaching", "--data", str(records.data_dir)])
    assert result.exit_code == 0, result.output
    for data in (default, buffer.getvalue(), out.read_bytes()):
        (image,) = _read(data)[1].values()
        assert all(_lbp_faces(image, box) == [] for box in boxes)
    _, kept = _export(records, person.id, purpose="publication", anonymise="none")  # only when asked
    (image,) = _read(kept)[1].values()
    assert _lbp_faces(image, boxes[-1])


def test_no_free_text_leaves_unless_reviewed(upper_body):
    """Item 3: the area name and 'Other settings' were copied verbatim into the set."""
    records, person, _, _ = upper_body
    result, data = _export(records, person.id, purpose="publication")
    manifest, _, archive = _read(data)
    everything = b"".join(archive.read(n) for n in archive.namelist())
    for secret in ("Zoë", "Secretname", "wedding", "2026-06-12", "décolleté"):
        assert secret.encode() not in everything, secret
    (case,) = manifest["cases"]
    assert case["areas"] == ["chest"] and case["photos"][0]["area"] == "chest"
    assert case["sessions"][0]["settings"]["fluence_J_cm2"] == 12
    assert "withheld" in case["sessions"][0]["settings"]["other"]
    assert case["sessions"][0]["settings_withheld"] == 1  # the freely named one: said, not shown
    reviewed = "Zoë Secretname, before her wedding on 2026-06-12"
    _, data = _export(records, person.id, purpose="publication", reviewed_text=[reviewed])
    assert _read(data)[0]["cases"][0]["sessions"][0]["settings"]["other"] == reviewed  # reviewed: allowed out


def test_every_export_writes_an_audit_line(upper_body, tmp_path):
    """Item 4: PDF reports, DICOM, teaching sets and archive exports wrote no export line on main."""
    from skintrack.report.dicom import export_session_dicom
    from skintrack.report.pdf import build_pdf
    from skintrack.report.scores import scores_table

    records, person, _, _ = upper_body
    admin = Actor("Ada Admin", role="admin")

    def exports():
        return [e for e in records.audit_log(admin, action="export") if e.patient_id == person.id]

    before = len(exports())
    area = records.list_areas(DOCTOR, person.id)[0]
    session = records.list_sessions(DOCTOR, person.id)[0]
    build_pdf(records, DOCTOR, person.id, area.id)
    export_session_dicom(records, DOCTOR, session.id, tmp_path / "d.zip")
    _export(records, person.id, purpose="teaching")
    records.export_patient_archive(DOCTOR, person.id, io.BytesIO())
    records.export_patient_archive(DOCTOR, person.id, io.BytesIO(), purpose="publication")
    scores_table(records, DOCTOR, person.id)
    scores_table(records, DOCTOR, person.id)  # again at once: logged again
    lines = exports()[: len(exports()) - before]
    whats = sorted(e.target for e in lines)
    assert whats == sorted(["PDF report (provider)", "DICOM", "teaching set", "patient archive", "publication set",
                            "scores table", "scores table"]), whats  # fmt: skip
    assert all(e.actor == DOCTOR.name and e.patient_code == "UB-1" and "purpose" in e.detail for e in lines)
