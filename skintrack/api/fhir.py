"""FHIR R4 read access: ``GET /fhir/metadata``, ``/fhir/Patient/{id}``, ``/fhir/Patient/{id}/$everything``.

The resources are those of :mod:`skintrack.report.fhir` (Patient, Procedure,
Media, Observation, Consent), served as ``application/fhir+json``. Providers and
admins only (an export, logged); the patient is pseudonymous unless the server
runs with ``SKINTRACK_FHIR_NAMES=1`` (the clinic's choice, see the README).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from .._version import __version__
from ..report.fhir import FHIR_VERSION, patient_bundle, patient_resource
from . import schemas
from .http import ActorDep, IdPath, RecordsDep

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
_ERRORS = {401: {"model": schemas.Problem}, 403: {"model": schemas.Problem}, 404: {"model": schemas.Problem}}


def _fhir(resource: dict) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False, separators=(",", ":")), media_type=FHIR_JSON)


@router.get("/metadata", response_class=Response, responses={200: {"content": {FHIR_JSON: {}}}})
def capability_statement():
    """What this FHIR endpoint offers (no token needed, as FHIR expects)."""
    return _fhir({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dt.date.today().isoformat(),
        "kind": "instance",
        "software": {"name": "skintrack", "version": __version__},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "Bearer API token of a skintrack account (providers and admins)."},
            "resource": [{"type": "Patient", "interaction": [{"code": "read"}],
                          "operation": [{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]}],
        }],
    })  # fmt: skip


@router.get("/Patient/{patient_id}", response_class=Response, responses={**_ERRORS, 200: {"content": {FHIR_JSON: {}}}})
def read_patient(patient_id: IdPath, request: Request, records: RecordsDep, actor: ActorDep):
    """The Patient resource (pseudonymous unless the server is set to name patients)."""
    return _fhir(patient_resource(records, actor, patient_id, names=request.app.state.fhir_names))


@router.get("/Patient/{patient_id}/$everything", response_class=Response,
            responses={**_ERRORS, 200: {"content": {FHIR_JSON: {}}, "description": "A Bundle (searchset)."}})  # fmt: skip
def everything(
    patient_id: IdPath, request: Request, records: RecordsDep, actor: ActorDep,
    area: Annotated[str | None, Query(max_length=64, description="Only this treated area (its id).")] = None,
    photos: Annotated[Literal["link", "embed", "none"], Query(alias="_photos", description=(
        "Each Media's image: a link into this API, embedded (base64), or left out."))] = "link",
):  # fmt: skip
    """The patient's course as a FHIR Bundle: Patient, a Procedure per treatment session, a Media and a Consent
    per photo, an Observation per measure (UCUM unit, method, noise verdict). Logged as an export."""
    bundle = patient_bundle(records, actor, patient_id, area_id=area, names=request.app.state.fhir_names, photos=photos,
                            photo_url=str(request.base_url).rstrip("/") + "/api/v1/photos/{id}/file",
                            bundle_type="searchset")  # fmt: skip
    media = sum(1 for e in bundle["entry"] if e["resource"]["resourceType"] == "Media")
    records.note_export(actor, patient_id, f"FHIR bundle through the API: {len(bundle['entry'])} resources, "
                                           f"{media} photos ({photos})")  # fmt: skip
    return _fhir(bundle)
