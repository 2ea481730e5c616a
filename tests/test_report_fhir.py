"""FHIR R4 export (skintrack.report.fhir): bundles validate with fhir.resources and say what the engine says."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import subprocess
import sys

import pytest
from fhir.resources.R4B.bundle import Bundle
from PIL import Image

from skintrack.measure.metrics import METRIC_NAMES
from skintrack.progress import TREATMENT_KINDS, area_progress
from skintrack.records import Actor, PermissionDenied, Records
from skintrack.report.fhir import SYSTEMS, UCUM, body_site, interpretation, patient_bundle, patient_resource
from skintrack.report.phrases import method

from .conftest import DEMO_LOADER_NAME, REPO

DOCTOR = Actor(DEMO_LOADER_NAME)
ADMIN = Actor("op", role="admin", source="cli")
FIRST = REPO / "sample_images" / "2026-05-04_left-cheek.jpg"


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture(scope="module")
def demo_bundle(demo_records):
    records, patient, _ = demo_records
    return patient_bundle(records, DOCTOR, patient.id)


def test_the_bundle_validates_as_fhir(demo_bundle, demo_records):
    records, patient, _ = demo_records
    bundle = Bundle.model_validate(demo_bundle)
    assert bundle.type == "collection" and len(bundle.entry) == len(demo_bundle["entry"])
    for kind in ("transaction", "searchset"):
        other = patient_bundle(records, DOCTOR, patient.id, bundle_type=kind, photos="none")
        assert Bundle.model_validate(other).type == kind
    transaction = patient_bundle(records, DOCTOR, patient.id, bundle_type="transaction", photos="none")
    assert all(e["request"]["url"] == f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in transaction["entry"])


def test_every_reference_resolves_inside_the_bundle(demo_bundle):
    full_urls = {e["fullUrl"] for e in demo_bundle["entry"]}
    assert len(full_urls) == len(demo_bundle["entry"])  # ids are unique
    references = re.findall(r'"reference": "([^"]+)"', json.dumps(demo_bundle))
    assert references and set(references) <= full_urls


def test_one_resource_per_record(demo_bundle, demo_records):
    records, patient, _ = demo_records
    photos = records.list_photos(DOCTOR, patient.id)
    sessions = records.list_sessions(DOCTOR, patient.id)
    assert len(_resources(demo_bundle, "Patient")) == 1
    assert len(_resources(demo_bundle, "Media")) == len(photos) == len(_resources(demo_bundle, "Consent"))
    assert len(_resources(demo_bundle, "Procedure")) == sum(s.treatment in TREATMENT_KINDS for s in sessions)
    scored = [p for p in photos if p.status == "scored"]
    assert len(_resources(demo_bundle, "Observation")) == len(scored) * len(METRIC_NAMES)


def test_the_patient_is_pseudonymous_unless_the_clinic_chooses_names(demo_records):
    records, patient, _ = demo_records
    text = json.dumps(patient_bundle(records, DOCTOR, patient.id, photos="none"), ensure_ascii=False)
    full = records.get_patient(DOCTOR, patient.id)
    assert full.code not in text and full.display_name not in text
    if full.birth_year:
        assert f'"{full.birth_year}"' not in text
    resource = patient_resource(records, DOCTOR, patient.id)
    assert resource["identifier"] == [{"use": "secondary", "system": SYSTEMS["patient"], "value": patient.id}]
    assert "name" not in resource and resource["meta"]["tag"][0]["code"] == "pseudonymous"
    named = patient_resource(records, DOCTOR, patient.id, names=True)
    assert {"use": "usual", "system": SYSTEMS["patient-code"], "value": full.code} in named["identifier"]
    assert named["name"] == [{"text": full.display_name}]


def test_observations_carry_the_engines_numbers_units_methods_and_verdicts(demo_bundle, demo_records):
    records, patient, _ = demo_records
    media_of = {f"urn:uuid:{m['id']}": m for m in _resources(demo_bundle, "Media")}
    photos = {p.id: p for p in records.list_photos(DOCTOR, patient.id)}
    points = {}
    for area in records.list_areas(DOCTOR, patient.id):
        for name, series in area_progress(records, DOCTOR, patient.id, area.id).metrics.items():
            points.update({(name, p.photo_id): p for p in series.points})
    checked = 0
    for observation in _resources(demo_bundle, "Observation"):
        name = observation["code"]["coding"][0]["code"]
        media = media_of[observation["derivedFrom"][0]["reference"]]
        photo = photos[next(i["value"] for i in media["identifier"] if i["system"] == SYSTEMS["photo"])]
        value = photo.scores[name]
        assert observation["method"]["text"] == method(name)
        assert observation["bodySite"] == media["bodySite"]
        if not math.isfinite(value):
            assert observation["dataAbsentReason"]["coding"][0]["code"] == "not-a-number"
            continue
        quantity = observation["valueQuantity"]
        assert quantity["value"] == pytest.approx(value, rel=1e-5)
        assert (quantity["system"], quantity["code"]) == ("http://unitsofmeasure.org", UCUM[name][0])
        point = points.get((name, photo.id))
        if point is not None:
            assert observation["interpretation"][0]["text"] == point.label
            parts = {c["code"]["coding"][0]["code"]: c for c in observation.get("component", [])}
            if point.label != "baseline":
                assert parts["change"]["valueQuantity"]["value"] == pytest.approx(point.change, rel=1e-5, abs=1e-9)
                assert parts["noise"]["valueString"] == point.noise
            assert parts["mdc95"]["valueQuantity"]["value"] == pytest.approx(point.mdc95, rel=1e-5)
            checked += 1
    assert checked >= len(METRIC_NAMES) * 2


def test_ucum_codes_are_ucum():
    """Each unit is a UCUM unit (mm2: square millimetres) or a dimensionless annotation ({...}, printable ASCII without braces)."""
    for name in METRIC_NAMES:
        code, _ = UCUM[name]
        assert code in ("%", "deg", "1", "mm2") or re.fullmatch(r"\{[!-z|~]+\}", code), (name, code)


def test_verdicts_map_to_hl7_interpretations():
    assert interpretation("improved")["coding"][0]["code"] == "B"
    assert interpretation("worse")["coding"][0]["code"] == "W"
    assert interpretation("could be noise")["coding"][0]["code"] == "IND"
    within = interpretation("within noise")
    assert [c["system"] for c in within["coding"]] == [SYSTEMS["verdict"]] and within["text"] == "within noise"


@pytest.mark.parametrize(
    "area, code, side",
    [
        ("left cheek", "36141000", "7771000"),
        ("Right-Cheek", "36141000", "24028007"),
        ("forehead", "68698007", None),
        ("nose", "113179006", None),
        ("chin", "23747009", None),
        ("perioral", "110488009", None),
        ("left periorbital", "73897004", "7771000"),
        ("left_periorbital", "73897004", "7771000"),
        ("upper lip", "16251004", None),
        ("neck", "43081002", None),
        ("right hand", "85562004", "24028007"),  # no skin code: the region DICOM uses (Hand)
        ("mystery area", "39937001", None),  # Skin
    ],
)
def test_body_sites_are_snomed_ct_skin_structures(area, code, side):
    from pydicom.sr.codedict import codes

    site = body_site(area)
    assert site.code == code and site.text == area
    assert (site.laterality or (None,))[0] == side
    concepts = [getattr(codes.SCT, n) for n in dir(codes.SCT) if not n.startswith("_")]
    meanings: dict[str, set] = {}
    for concept in concepts:
        if hasattr(concept, "value") and hasattr(concept, "meaning"):
            meanings.setdefault(concept.value, set()).add(concept.meaning)
    assert site.display in meanings[code]  # one of the concept's names in DICOM's SNOMED CT subset
    concept = site.concept()
    if side:
        assert concept["coding"][0]["code"] == f"{code}:272741003={side}"  # post-coordinated: site with laterality
    assert concept["coding"][-1]["code"] == code


@pytest.fixture
def course(tmp_path):
    """A small course: a laser session with settings and a follow-up, two small photos of the left cheek."""
    records = Records(tmp_path / "data")
    patient = records.add_patient(ADMIN, "P-FHIR", "Zoë Ødegård", birth_year=1979)
    area = records.add_area(ADMIN, patient.id, "left cheek")
    first = records.add_session(ADMIN, patient.id, "2026-05-04", "laser", settings={"energy_J_cm2": 12.5, "passes": 2,
                                "handpiece": "fractional", "cooling": True})  # fmt: skip
    later = records.add_session(ADMIN, patient.id, "2026-06-15", "other")
    image = Image.open(FIRST).convert("RGB").resize((800, 600))
    photos = []
    for session, shade in ((first, 0), (later, 3)):
        buffer = io.BytesIO()
        image.point(lambda v: min(255, v + shade)).save(buffer, format="JPEG", quality=92)
        photos.append(records.add_photo(ADMIN, session.id, area.id, buffer.getvalue()))
    yield records, patient, area, photos
    records.close()


def test_consent_per_photo_and_withdrawn_photos_never_leave(course):
    records, patient, _, (first, second) = course
    records.set_consent(ADMIN, first.id, "teaching")
    records.set_consent(ADMIN, second.id, withdrawn=True)
    bundle = patient_bundle(records, ADMIN, patient.id, photos="embed")
    Bundle.model_validate(bundle)
    consents = {c["provision"]["data"][0]["reference"]["reference"]: c for c in _resources(bundle, "Consent")}
    media = {next(i["value"] for i in m["identifier"] if i["system"] == SYSTEMS["photo"]): m for m in _resources(bundle, "Media")}
    given = consents[f"urn:uuid:{media[first.id]['id']}"]
    assert given["status"] == "active"
    assert [p["code"] for p in given["provision"]["purpose"]] == ["record", "teaching"]
    withdrawn = consents[f"urn:uuid:{media[second.id]['id']}"]
    assert withdrawn["status"] == "inactive"
    assert "data" not in media[second.id]["content"] and "url" not in media[second.id]["content"]
    embedded = media[first.id]["content"]
    data = base64.b64decode(embedded["data"])
    assert data == records.photo_bytes(ADMIN, first.id) and embedded["size"] == len(data)
    assert embedded["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_a_treatment_becomes_a_procedure_with_its_settings(course):
    records, patient, _, (first, _) = course
    bundle = patient_bundle(records, ADMIN, patient.id, photos="none")
    (procedure,) = _resources(bundle, "Procedure")  # the "other" visit is not a treatment
    assert procedure["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "445907001",
                                              "display": "Laser procedure on skin"}  # fmt: skip
    assert procedure["performedDateTime"] == "2026-05-04" and procedure["status"] == "completed"
    settings = {e["extension"][0]["valueString"]: e["extension"][1] for e in procedure["extension"]}
    assert settings["energy_J_cm2"] == {"url": "value", "valueDecimal": 12.5}
    assert settings["passes"] == {"url": "value", "valueInteger": 2}
    assert settings["cooling"] == {"url": "value", "valueBoolean": True}
    assert "12.5 J/cm²" in procedure["note"][0]["text"]  # the settings in words, as in the PDF report
    media = next(m for m in _resources(bundle, "Media") if m["createdDateTime"] == "2026-05-04")
    assert media["partOf"] == [{"reference": f"urn:uuid:{procedure['id']}", "type": "Procedure"}]
    assert procedure["bodySite"][0]["coding"][0]["code"] == "36141000:272741003=7771000"


def test_the_same_record_gets_the_same_ids_in_every_export(course):
    records, patient, _, _ = course
    one = patient_bundle(records, ADMIN, patient.id, photos="none")
    two = patient_bundle(records, ADMIN, patient.id, photos="none")
    assert [e["fullUrl"] for e in one["entry"]] == [e["fullUrl"] for e in two["entry"]]


def test_only_staff_may_export(course):
    records, patient, _, _ = course
    records.add_user(ADMIN, "zoe", "a-long-password-1", role="patient", patient_id=patient.id)
    zoe = records.authenticate("zoe", "a-long-password-1")
    with pytest.raises(PermissionDenied):
        patient_bundle(records, zoe, patient.id)
    with pytest.raises(PermissionDenied):
        patient_resource(records, zoe, patient.id)


def test_the_fhir_command_writes_a_valid_bundle_and_logs_it(course, tmp_path):
    records, patient, _, _ = course
    output = tmp_path / "course.json"
    result = subprocess.run([sys.executable, "-m", "skintrack", "fhir", "P-FHIR", "-o", str(output), "--names",
                             "--data", str(records.data_dir)], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    bundle = json.loads(output.read_text())
    Bundle.model_validate(bundle)
    assert "Zoë Ødegård" in output.read_text(encoding="utf-8") and "2 Media" in result.stderr
    assert records.audit_log(ADMIN, action="export")[0].detail.startswith("FHIR bundle to course.json")
    refused = subprocess.run([sys.executable, "-m", "skintrack", "fhir", "NOPE", "-o", str(output), "--data",
                              str(records.data_dir)], capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 1 and "No patient" in refused.stderr and "Traceback" not in refused.stderr
