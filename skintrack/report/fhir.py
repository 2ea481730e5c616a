"""FHIR R4 export of a patient's course: Patient, Media, Observation, Procedure and Consent in one Bundle.

What each skintrack record becomes (FHIR R4, 4.0.1; plain JSON, validated with
``fhir.resources`` in the tests):

================  ===========================================================
``Patient``       the patient: by default **pseudonymous** — its only
                  identifier is the record's random id (system
                  :data:`SYSTEMS` ``patient``), no name, code or birth year.
                  With ``names=True`` (the clinic's choice) also the clinic's
                  patient code, the name and the birth year.
``Procedure``     one per treatment session (micro-needling, laser, RF,
                  peel): date, provider, the areas treated (SNOMED CT) and
                  the settings (``Procedure.note`` and the extension
                  :data:`SETTING_EXTENSION`, one per setting).
``Media``         one per photo: ``type`` image, ``modality`` DICOM XC
                  (external-camera photography), ``bodySite`` SNOMED CT
                  from the area's name (:func:`body_site`), ``view``, the
                  capture time, size, the photo (a link into the REST API,
                  or embedded), ``partOf`` its session's Procedure.
``Observation``   one per measure of each measured photo: ``valueQuantity``
                  in UCUM (:data:`UCUM`), ``method`` (how the measure is
                  computed), ``derivedFrom`` the Media, ``bodySite``, the
                  change against the baseline and the noise limit (MDC95) as
                  components, and the noise verdict as ``interpretation``
                  (:func:`interpretation`). A measure that could not be
                  computed has ``dataAbsentReason`` ``not-a-number``.
``Consent``       one per photo: what the patient agreed the photo may be
                  used for (record / teaching / publication), ``inactive``
                  once withdrawn; ``provision.data`` points at the Media.
================  ===========================================================

Photos whose consent was withdrawn stay in the clinical record and so in the
export (as with the PDF report for the record), but their image is never
embedded or linked; their Consent says ``inactive``. Times are days (a camera's
clock has no time zone, which FHIR requires with a time).

Codes
-----
Body sites are SNOMED CT skin structures, taken from the SNOMED CT subset that
DICOM publishes (pydicom's ``codes.SCT``). A "left"/"right" area gets its side as
a post-coordinated expression with the Laterality attribute (272741003) and
``Left`` 7771000 or ``Right`` 24028007, e.g. ``36141000:272741003=7771000``,
followed by the plain concept:

===================  ==========  =====================================
area (or face zone)  SNOMED CT   meaning
===================  ==========  =====================================
forehead             68698007    Skin of forehead
cheek                36141000    Skin of cheek
nose                 113179006   Skin of nose
chin                 23747009    Skin of chin
perioral             110488009   Skin of perioral region of face
periorbital, eyes    73897004    Skin of face (no periorbital code in
                                 that subset; the area's name is the text)
temple               16621002    Skin of temporal region
upper / lower lip    16251004 /  Skin of upper lip / Skin of lower lip
                     66934001
eyelid               41310005 /  Skin of upper / lower eyelid
                     40069000
jawline              244097004   Skin of jawline
neck                 43081002    Skin of neck
scalp                43067004    Skin of scalp
ear                  1902009     Skin of ear
face                 73897004    Skin of face
===================  ==========  =====================================

Other areas fall back to the anatomic region DICOM uses (:func:`skintrack.report.dicom.anatomy_of`),
else ``Skin`` (39937001) with the area's name as text. Laser sessions carry
SNOMED CT 445907001 *Laser procedure on skin*; micro-needling, RF and peels
have no code in that subset and carry skintrack's own code with the name as text.

Units (UCUM): a* and L* are CIELAB values, dimensionless, written ``1`` with
the annotation ``{a*}`` / ``{L*}`` / ``{dL*}``; ``%`` for shares of skin;
``{spots}`` for counts; ``deg`` for the ITA angle.

Interpretation: skintrack's own verdict (``improved``, ``worse``, ``within
noise``, ``could be noise``, ``expected post-treatment redness``, ``lighter``,
``darker``, ``baseline``) always, plus HL7 v3 ObservationInterpretation where one
matches: ``B`` (better) for improved, ``W`` (worse) for worse, ``U`` / ``D``
(significant change up / down) for lighter / darker, ``IND`` (indeterminate) for
"could be noise".

References
----------
HL7 FHIR R4 (4.0.1), https://hl7.org/fhir/R4/ ; UCUM, https://ucum.org ;
DICOM PS3.16 (SNOMED CT subset, CID 4029/4031).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .._version import __version__
from ..measure.metrics import METRIC_NAMES, METRICS
from ..progress import TREATMENT_KINDS, area_progress
from ..records import Actor, InvalidInput, Records
from .dicom import anatomy_of
from .phrases import format_settings, method

__all__ = [
    "BUNDLE_TYPES",
    "FHIR_VERSION",
    "SETTING_EXTENSION",
    "SYSTEMS",
    "UCUM",
    "BodySite",
    "body_site",
    "interpretation",
    "patient_bundle",
    "patient_resource",
]

FHIR_VERSION = "4.0.1"
BUNDLE_TYPES = ("collection", "transaction", "searchset")
SNOMED = "http://snomed.info/sct"
#: SNOMED CT's Laterality attribute (272741003), for post-coordinated body sites.
LATERALITY_ATTRIBUTE = "272741003"
UCUM_SYSTEM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"

#: skintrack's own identifier and code systems (URNs: they name skintrack's concepts; no server behind them).
SYSTEMS = {
    "patient": "urn:skintrack:patient",  # the record's random id: a pseudonym outside the clinic
    "patient-code": "urn:skintrack:patient-code",  # the clinic's own patient code (only with names)
    "photo": "urn:skintrack:photo",
    "photo-sha256": "urn:skintrack:photo-sha256",
    "session": "urn:skintrack:session",
    "measure": "urn:skintrack:measure",
    "method": "urn:skintrack:method",
    "component": "urn:skintrack:component",
    "verdict": "urn:skintrack:verdict",
    "treatment": "urn:skintrack:treatment",
    "view": "urn:skintrack:view",
    "consent-level": "urn:skintrack:consent-level",
    "export": "urn:skintrack:export",
}
#: The extension carrying one treatment setting (``name`` and ``value``) on a Procedure.
SETTING_EXTENSION = "urn:skintrack:fhir:StructureDefinition:treatment-setting"

#: UCUM for each measure's unit: (UCUM code, human unit).
UCUM: dict[str, tuple[str, str]] = {
    "redness": ("{a*}", "a*"),
    "red_area_pct": ("%", "% of skin"),
    "red_lesion_count": ("{lesions}", "lesions"),
    "red_lesion_mean_mm2": ("mm2", "mm²"),
    "spot_area_pct": ("%", "% of skin"),
    "spot_count": ("{spots}", "spots"),
    "spot_contrast": ("{dL*}", "ΔL*"),
    "spot_mean_mm2": ("mm2", "mm²"),
    "texture_roughness": ("{L*}", "L*"),
    "line_density": ("%", "% of skin"),
    "ita": ("deg", "°"),
    "evenness": ("{L*}", "L*"),
}

_V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_V3 = {  # skintrack verdict -> (v3 code, display)
    "improved": ("B", "Better"),
    "worse": ("W", "Worse"),
    "lighter": ("U", "Significant change up"),
    "darker": ("D", "Significant change down"),
    "could be noise": ("IND", "Indeterminate"),
}
_SKIN_SITES = (  # area words -> pydicom codes.SCT name; longest, most specific first
    ("upper lip", "SkinOfUpperLip"), ("lower lip", "SkinOfLowerLip"), ("upper eyelid", "SkinOfUpperEyelid"),
    ("lower eyelid", "SkinOfLowerEyelid"), ("eyelid", "SkinOfUpperEyelid"), ("perioral", "SkinOfPerioralRegionOfFace"),
    ("periorbital", "SkinOfFace"), ("crow", "SkinOfFace"), ("forehead", "SkinOfForehead"), ("cheek", "SkinOfCheek"),
    ("nose", "SkinOfNose"), ("chin", "SkinOfChin"), ("temple", "SkinOfTemporalRegion"), ("jawline", "SkinOfJawline"),
    ("neck", "SkinOfNeck"), ("scalp", "SkinOfScalp"), ("ear", "SkinOfEar"), ("face", "SkinOfFace"),
)  # fmt: skip
_LATERALITY = (("left", "Left"), ("right", "Right"))
_TREATMENT_CODES = {"laser": "LaserProcedureOnSkin"}
_CONSENT_PURPOSES = {  # level -> what it allows, in words
    "record": "the clinical record only",
    "teaching": "the clinical record and teaching (de-identified)",
    "publication": "the clinical record, teaching and publication (de-identified)",
}
_NAMESPACE = uuid.UUID("6f1d2c4e-8b1a-5c3e-9d2f-4a7b6c5d3e21")


@dataclass(frozen=True)
class BodySite:
    """Where an area is, as a FHIR CodeableConcept's parts."""

    code: str  #: SNOMED CT concept id
    display: str
    laterality: tuple[str, str] | None  #: (SNOMED CT code, display), or None
    text: str  #: the area's own name

    def concept(self) -> dict:
        """The CodeableConcept. R4 has no laterality element: a side is given as a SNOMED CT post-coordinated
        expression (``36141000:272741003=7771000``, skin of cheek with laterality left), followed by the
        plain concept for receivers that do not read expressions."""
        codings = [{"system": SNOMED, "code": self.code, "display": self.display}]
        if self.laterality:
            expression = f"{self.code}:{LATERALITY_ATTRIBUTE}={self.laterality[0]}"
            codings.insert(0, {"system": SNOMED, "code": expression, "display": f"{self.display}, {self.laterality[1].lower()}"})
        return {"coding": codings, "text": self.text}


def body_site(area_name: str) -> BodySite:
    """The SNOMED CT skin structure (and side) an area's name describes (see the module's table)."""
    from pydicom.sr.codedict import codes

    words = " ".join(re.sub(r"[-_/,]+", " ", area_name.lower()).split())

    def has(word: str) -> bool:
        return re.search(rf"\b{re.escape(word)}s?\b", words) is not None or (word == "crow" and "crow" in words)

    side = None
    for word, name in _LATERALITY:
        if has(word):
            concept = getattr(codes.SCT, name)
            side = (concept.value, concept.meaning)
            break
    for word, name in _SKIN_SITES:
        if has(word):
            concept = getattr(codes.SCT, name)
            return BodySite(concept.value, concept.meaning, side, area_name)
    anatomy = anatomy_of(area_name)
    if anatomy.code is not None:
        return BodySite(anatomy.code[0], anatomy.code[2], side, area_name)
    skin = codes.SCT.Skin
    return BodySite(skin.value, skin.meaning, side, area_name)


def interpretation(verdict: str) -> dict:
    """The noise verdict (``Point.label`` of :mod:`skintrack.progress`) as an ``Observation.interpretation`` entry."""
    codings = []
    if verdict in _V3:
        code, display = _V3[verdict]
        codings.append({"system": _V3_INTERPRETATION, "code": code, "display": display})
    codings.append({"system": SYSTEMS["verdict"], "code": _slug(verdict), "display": verdict})
    return {"coding": codings, "text": verdict}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _rid(*parts: str) -> str:
    """A stable resource id for skintrack records ``parts`` (the same record always gets the same id)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _ref(kind: str, rid: str) -> dict:
    return {"reference": f"urn:uuid:{rid}", "type": kind}


def _instant(value: dt.datetime) -> str:
    """A stored UTC time as a FHIR dateTime with its zone."""
    return value.replace(microsecond=0).isoformat() + "Z"


def _day(captured: dt.datetime | None, visit: dt.date) -> str:
    """The day a photo was taken. Only the day: FHIR needs a time zone with a time, and a camera's clock
    often has none (the time itself is in the DICOM export)."""
    return (captured.date() if captured is not None else visit).isoformat()


def _quantity(value: float, metric: str) -> dict:
    code, unit = UCUM[metric]
    return {"value": _number(value), "unit": unit, "system": UCUM_SYSTEM, "code": code}


def _number(value: float) -> float | int:
    """A finite float as JSON with 6 significant digits (more than any measure resolves); whole numbers as integers."""
    if float(value).is_integer():
        return int(value)
    return float(f"{value:.6g}")


def patient_resource(records: Records, actor: Actor, patient_id: str, *, names: bool = False) -> dict:
    """The ``Patient`` resource of one patient (pseudonymous unless ``names``). Providers and admins."""
    records.authorize(actor, "export", patient_id)
    patient = records.get_patient(actor, patient_id)
    return _patient(patient, names)


def _patient(patient, names: bool) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient.id,
        "meta": {"tag": [{"system": SYSTEMS["export"], "code": "identified" if names else "pseudonymous"}]},
        "identifier": [{"use": "secondary", "system": SYSTEMS["patient"], "value": patient.id}],
        "active": True,
    }
    if names:
        resource["identifier"].insert(0, {"use": "usual", "system": SYSTEMS["patient-code"], "value": patient.code})
        resource["name"] = [{"text": patient.display_name}]
        if patient.birth_year:
            resource["birthDate"] = f"{patient.birth_year:04d}"
    return resource


def patient_bundle(
    records: Records,
    actor: Actor,
    patient_id: str,
    *,
    area_id: str | None = None,
    names: bool = False,
    photos: str = "link",
    photo_url: str = "/api/v1/photos/{id}/file",
    bundle_type: str = "collection",
    now: dt.datetime | None = None,
) -> dict:
    """A patient's course (or one area's) as a FHIR R4 Bundle (a ``dict`` ready for ``json.dumps``).

    Parameters
    ----------
    records, actor
        The records and who exports (providers and admins: an export, logged like the others).
    patient_id : str
    area_id : str, optional
        Only this treated area (default: all).
    names : bool
        Name the patient (code, name, birth year). Default: pseudonymous (see :func:`patient_resource`).
    photos : {"link", "embed", "none"}
        Each Media's image: a link (``photo_url`` with the photo's id), the stored file embedded
        (base64, with its SHA-1 and size), or left out. Withdrawn photos are never linked or embedded.
    bundle_type : {"collection", "transaction", "searchset"}
        ``transaction`` adds a ``PUT`` request per entry (ids are stable, so loading it again
        into a FHIR server updates instead of duplicating); ``searchset`` is what
        ``Patient/$everything`` answers.

    Returns
    -------
    dict
        ``Bundle`` with one Patient, then per session a Procedure (treatments), per photo a Media and a
        Consent, per measured photo and measure an Observation.
    """
    if photos not in ("link", "embed", "none"):
        raise InvalidInput("photos must be 'link', 'embed' or 'none'.")
    if bundle_type not in BUNDLE_TYPES:
        raise InvalidInput(f"The bundle type must be one of {', '.join(BUNDLE_TYPES)}.")
    records.authorize(actor, "export", patient_id)
    patient = records.get_patient(actor, patient_id)
    areas = {a.id: a for a in records.list_areas(actor, patient_id)}
    if area_id is not None and area_id not in areas:
        raise InvalidInput("That area does not belong to this patient.")
    chosen = [areas[area_id]] if area_id else sorted(areas.values(), key=lambda a: a.name)
    sessions = {s.id: s for s in records.list_sessions(actor, patient_id)}
    patient_ref = _ref("Patient", patient.id)
    resources: list[dict] = [_patient(patient, names)]
    photos_by_area = {area.id: records.list_photos(actor, patient_id, area.id) for area in chosen}

    # Procedures: one per treatment session that photographed a chosen area (or any session, for the whole course).
    photographed: dict[str, set[str]] = {}
    for area in chosen:
        for photo in photos_by_area[area.id]:
            photographed.setdefault(photo.session_id, set()).add(area.id)
    procedure_of: dict[str, str] = {}
    for session in sessions.values():
        if session.treatment not in TREATMENT_KINDS:
            continue
        if area_id is not None and session.id not in photographed:
            continue
        rid = _rid("procedure", session.id)
        procedure_of[session.id] = rid
        resources.append(_procedure(session, rid, patient_ref, [areas[a] for a in sorted(photographed.get(session.id, ()))]))

    for area in chosen:
        site = body_site(area.name)
        progress = area_progress(records, actor, patient_id, area.id)
        points = {(name, p.photo_id): (p, mp) for name, mp in progress.metrics.items() for p in mp.points}
        for photo in photos_by_area[area.id]:
            session = sessions[photo.session_id]
            media_id = _rid("media", photo.id)
            resources.append(
                _media(records, actor, photo, session, media_id, patient_ref, site, procedure_of.get(session.id),
                       photos, photo_url)
            )  # fmt: skip
            resources.append(_consent(photo, media_id, patient_ref))
            if photo.status != "scored":
                continue
            for name in METRIC_NAMES:
                point, metric = points.get((name, photo.id), (None, progress.metrics.get(name)))
                resources.append(_observation(name, photo, session, media_id, patient_ref, site, point, metric))
    return _bundle(resources, bundle_type, now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))


def _bundle(resources: list[dict], bundle_type: str, now: dt.datetime) -> dict:
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        elif bundle_type == "searchset":  # Patient/$everything: the patient matched, the rest is theirs
            entry["search"] = {"mode": "match" if resource["resourceType"] == "Patient" else "include"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _instant(now), "tag": [{"system": SYSTEMS["export"], "code": f"skintrack-{__version__}"}]},
        "type": bundle_type,
        "timestamp": _instant(now),
        "entry": entries,
    }


def _procedure(session, rid: str, patient_ref: dict, areas: list) -> dict:
    code: dict[str, Any] = {"coding": [{"system": SYSTEMS["treatment"], "code": _slug(session.treatment), "display": session.treatment}],
                            "text": session.treatment}  # fmt: skip
    if session.treatment in _TREATMENT_CODES:
        from pydicom.sr.codedict import codes

        concept = getattr(codes.SCT, _TREATMENT_CODES[session.treatment])
        code["coding"].insert(0, {"system": SNOMED, "code": concept.value, "display": concept.meaning})
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": rid,
        "identifier": [{"system": SYSTEMS["session"], "value": session.id}],
        "status": "completed",
        "code": code,
        "subject": patient_ref,
        "performedDateTime": session.date.isoformat(),
    }
    if session.provider:
        resource["performer"] = [{"actor": {"display": session.provider}}]
    if areas:
        resource["bodySite"] = [body_site(a.name).concept() for a in areas]
    notes = []
    if session.settings:
        notes.append(f"Settings: {format_settings(session.settings)}")
        resource["extension"] = [
            {"url": SETTING_EXTENSION, "extension": [{"url": "name", "valueString": str(name)}, _setting_value(value)]}
            for name, value in session.settings.items()
        ]
    if session.notes:
        notes.append(session.notes)
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def _setting_value(value: Any) -> dict:
    """A setting's value as the ``value`` sub-extension (FHIR strings may not be empty)."""
    if isinstance(value, bool):
        return {"url": "value", "valueBoolean": value}
    if isinstance(value, int) and -(2**31) <= value < 2**31:
        return {"url": "value", "valueInteger": value}
    if isinstance(value, (int, float)):
        return {"url": "value", "valueDecimal": _number(value)}
    return {"url": "value", "valueString": str(value) if value not in (None, "") else "(none)"}


def _media(records, actor, photo, session, rid, patient_ref, site, procedure_id, photos, photo_url) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Media",
        "id": rid,
        "identifier": [
            {"system": SYSTEMS["photo"], "value": photo.id},
            {"system": SYSTEMS["photo-sha256"], "value": photo.original_sha256},
        ],
        "status": "completed",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/media-type", "code": "image", "display": "Image"}]},
        "modality": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "XC",
                                 "display": "External-camera Photography"}]},  # fmt: skip
        "view": {"coding": [{"system": SYSTEMS["view"], "code": _slug(photo.view) or "view", "display": photo.view}],
                 "text": photo.view},  # fmt: skip
        "subject": patient_ref,
        "createdDateTime": _day(photo.captured_at, session.date),
        "bodySite": site.concept(),
        "width": photo.width,
        "height": photo.height,
    }
    if procedure_id:
        resource["partOf"] = [_ref("Procedure", procedure_id)]
    if photo.camera:
        resource["deviceName"] = photo.camera
    content_type = "image/png" if photo.file_name.endswith(".png") else "image/jpeg"
    content: dict[str, Any] = {"contentType": content_type, "title": f"{session.date.isoformat()} {photo.area} ({photo.view})"}
    if not photo.consent_withdrawn and photos == "link":
        content["url"] = photo_url.format(id=photo.id)
    elif not photo.consent_withdrawn and photos == "embed":
        data = records.photo_bytes(actor, photo.id)
        content["data"] = base64.b64encode(data).decode("ascii")
        content["size"] = len(data)
        content["hash"] = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")  # R4: SHA-1, base64
    resource["content"] = content
    notes = []
    if photo.status != "scored":
        notes.append(f"Not measured ({photo.status}): {photo.status_reason}")
    elif photo.is_baseline:
        notes.append("Baseline of this area: later photos are measured against it.")
    if photo.consent_withdrawn:
        notes.append("Consent withdrawn: the image is not part of this export.")
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def _consent(photo, media_id: str, patient_ref: dict) -> dict:
    levels = ("record", "teaching", "publication")
    allowed = levels[: levels.index(photo.consent) + 1] if photo.consent in levels else ("record",)
    return {
        "resourceType": "Consent",
        "id": _rid("consent", photo.id),
        "status": "inactive" if photo.consent_withdrawn else "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy",
                              "display": "Privacy Consent"}]},  # fmt: skip
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}],
                      "text": "Use of a clinical photograph"}],  # fmt: skip
        "patient": patient_ref,
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN",
                                   "display": "opt-in"}]},  # fmt: skip
        "provision": {
            "type": "permit",
            "purpose": [{"system": SYSTEMS["consent-level"], "code": level, "display": _CONSENT_PURPOSES[level]} for level in allowed],
            "data": [{"meaning": "instance", "reference": _ref("Media", media_id)}],
        },
    }


def _observation(name, photo, session, media_id, patient_ref, site, point, metric) -> dict:
    info = METRICS[name]
    value = photo.scores.get(name, math.nan)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _rid("observation", photo.id, name),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging",
                                  "display": "Imaging"}]}],  # fmt: skip
        "code": {"coding": [{"system": SYSTEMS["measure"], "code": name, "display": info.label}], "text": f"{info.label} ({info.unit})"},
        "subject": patient_ref,
        "effectiveDateTime": _day(photo.captured_at, session.date),
        "bodySite": site.concept(),
        "method": {"coding": [{"system": SYSTEMS["method"], "code": name, "display": info.label}], "text": method(name)},
        "derivedFrom": [_ref("Media", media_id)],
    }
    if math.isfinite(value):
        resource["valueQuantity"] = _quantity(value, name)
    else:
        resource["dataAbsentReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-a-number"}],
            "text": "not computable on this photo",
        }  # fmt: skip
    if point is not None:
        resource["interpretation"] = [interpretation(point.label)]
        components = []
        if point.label != "baseline":
            components.append(_component("change", "Change against the baseline", _quantity(point.change, name)))
            if math.isfinite(point.change_pct):
                pct = {"value": _number(point.change_pct), "unit": "%", "system": UCUM_SYSTEM, "code": "%"}
                components.append(_component("change-pct", "Change against the baseline, in % of it", pct))
        if math.isfinite(point.mdc95):
            components.append(_component("mdc95", "Noise limit: smallest real change (MDC95)", _quantity(point.mdc95, name)))
        if point.noise:
            components.append({"code": {"coding": [{"system": SYSTEMS["component"], "code": "noise", "display": "Noise verdict"}]},
                               "valueString": point.noise})  # fmt: skip
        if components:
            resource["component"] = components
    notes = [f"skintrack {photo.engine_version or __version__}, settings {photo.settings_hash or '-'}"]
    if photo.is_baseline:
        notes.append("Baseline of this area.")
    resource["note"] = [{"text": text} for text in notes]
    return resource


def _component(code: str, display: str, quantity: dict) -> dict:
    return {"code": {"coding": [{"system": SYSTEMS["component"], "code": code, "display": display}]}, "valueQuantity": quantity}
