"""Patients, their treated areas and visits: ``/api/v1/patients``, ``/api/v1/visits``.

Every endpoint is a thin door onto :class:`skintrack.records.Records`: the
records check the token's account (a patient's token reads only its patient),
validate the fields and write the audit log. Changes quote the version they
read in ``If-Match`` and get 412 when someone else changed the record since.
"""

from __future__ import annotations

from contextlib import nullcontext

from fastapi import APIRouter, Query, Request, Response, status

from ..records import NotFound
from ..records.versions import expect
from . import schemas
from .http import ActorDep, IdPath, Limit, Offset, RecordsDep, VersionDep, etag, link_header, page

router = APIRouter(prefix="/api/v1")

_ERRORS = {401: {"model": schemas.Problem}, 403: {"model": schemas.Problem}, 404: {"model": schemas.Problem},
           422: {"model": schemas.Problem}}  # fmt: skip
_CHANGE_ERRORS = {**_ERRORS, 412: {"model": schemas.Problem}, 428: {"model": schemas.Problem}}


def changing(kind: str, object_id: str, versions: tuple[str, ...] | None):
    """The change happens only while the record still has one of ``versions`` (None: ``If-Match: *``)."""
    return nullcontext() if versions is None else expect(kind, object_id, versions)


def _area_of(records, actor, patient_id: str, area_id: str):
    for area in records.list_areas(actor, patient_id):
        if area.id == area_id:
            return area
    raise NotFound(f"Patient {patient_id!r} has no area {area_id!r}.")


# --------------------------------------------------------------------------- who am I


@router.get("/me", response_model=schemas.Me, tags=["account"], responses=_ERRORS)
def me(actor: ActorDep):
    """The account the token acts as."""
    return schemas.Me(name=actor.name, username=actor.username, role=actor.role, patient_id=actor.patient_id)


@router.get("/tokens", response_model=list[schemas.Token], tags=["account"], responses=_ERRORS)
def my_tokens(records: RecordsDep, actor: ActorDep):
    """This account's API tokens (never the secrets). Make them with `skintrack tokens create`."""
    return [schemas.Token(**{k: getattr(t, k) for k in schemas.Token.model_fields}) for t in records.list_api_tokens(actor)]


@router.delete("/tokens/{token_id}", status_code=204, tags=["account"], responses=_ERRORS)
def revoke_token(token_id: IdPath, records: RecordsDep, actor: ActorDep):
    """Revoke one of this account's tokens (e.g. the one in use, when a machine is retired)."""
    records.revoke_api_token(actor, token_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- patients


@router.get("/patients", response_model=schemas.Page[schemas.Patient], tags=["patients"], responses=_ERRORS)
def list_patients(
    request: Request, response: Response, records: RecordsDep, actor: ActorDep, offset: Offset = 0, limit: Limit = 50,
    search: str = Query("", max_length=200, description="Part of the code or name (case-insensitive)."),
):  # fmt: skip
    """Patients, newest activity first (a patient's token: only its own)."""
    result = page(request, records.list_patients(actor, search), offset, limit, schemas.Patient.of)
    response.headers.update(link_header(result))
    return result


@router.post("/patients", response_model=schemas.Patient, status_code=201, tags=["patients"], responses=_ERRORS)
def add_patient(body: schemas.PatientCreate, response: Response, records: RecordsDep, actor: ActorDep):
    view = records.add_patient(actor, body.code, body.display_name, birth_year=body.birth_year,
                               fitzpatrick=body.fitzpatrick, notes=body.notes)  # fmt: skip
    created = schemas.Patient.of(view)
    response.headers.update({"ETag": etag(created.version), "Location": f"/api/v1/patients/{view.id}"})
    return created


@router.get("/patients/{patient_id}", response_model=schemas.Patient, tags=["patients"], responses=_ERRORS)
def get_patient(patient_id: IdPath, response: Response, records: RecordsDep, actor: ActorDep):
    result = schemas.Patient.of(records.get_patient(actor, patient_id))
    response.headers["ETag"] = etag(result.version)
    return result


@router.patch("/patients/{patient_id}", response_model=schemas.Patient, tags=["patients"], responses=_CHANGE_ERRORS)
def change_patient(patient_id: IdPath, body: schemas.PatientChange, versions: VersionDep, response: Response,
                   records: RecordsDep, actor: ActorDep):  # fmt: skip
    """Change some fields (only those sent). Needs If-Match."""
    changes = body.model_dump(exclude_unset=True)
    with changing("patient", patient_id, versions):
        view = records.update_patient(actor, patient_id, **changes)
    result = schemas.Patient.of(view)
    response.headers["ETag"] = etag(result.version)
    return result


@router.delete("/patients/{patient_id}", status_code=204, tags=["patients"], responses=_CHANGE_ERRORS)
def delete_patient(patient_id: IdPath, versions: VersionDep, records: RecordsDep, actor: ActorDep):
    """Delete the patient with all sessions, photos and scores. Needs If-Match."""
    with changing("patient", patient_id, versions):
        records.delete_patient(actor, patient_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- areas


@router.get("/patients/{patient_id}/areas", response_model=schemas.Page[schemas.Area], tags=["areas"], responses=_ERRORS)
def list_areas(patient_id: IdPath, request: Request, response: Response, records: RecordsDep, actor: ActorDep,
               offset: Offset = 0, limit: Limit = 50):  # fmt: skip
    records.get_patient(actor, patient_id)  # 404 for an unknown patient rather than an empty list
    result = page(request, records.list_areas(actor, patient_id), offset, limit, schemas.Area.of)
    response.headers.update(link_header(result))
    return result


@router.post("/patients/{patient_id}/areas", response_model=schemas.Area, status_code=201, tags=["areas"], responses=_ERRORS)
def add_area(patient_id: IdPath, body: schemas.AreaCreate, response: Response, records: RecordsDep, actor: ActorDep):
    """Add a treated area (e.g. "left cheek"; a face zone's name measures that zone). An existing area of the same
    name is returned as it is (200)."""
    before = {a.id for a in records.list_areas(actor, patient_id)} if actor.is_staff else set()
    view = records.add_area(actor, patient_id, body.name)
    result = schemas.Area.of(view)
    if view.id in before:
        response.status_code = status.HTTP_200_OK
    response.headers.update({"ETag": etag(result.version), "Location": f"/api/v1/patients/{patient_id}/areas/{view.id}"})
    return result


@router.get("/patients/{patient_id}/areas/{area_id}", response_model=schemas.Area, tags=["areas"], responses=_ERRORS)
def get_area(patient_id: IdPath, area_id: IdPath, response: Response, records: RecordsDep, actor: ActorDep):
    result = schemas.Area.of(_area_of(records, actor, patient_id, area_id))
    response.headers["ETag"] = etag(result.version)
    return result


@router.patch("/patients/{patient_id}/areas/{area_id}", response_model=schemas.Area, tags=["areas"], responses=_CHANGE_ERRORS)
def rename_area(patient_id: IdPath, area_id: IdPath, body: schemas.AreaChange, versions: VersionDep, response: Response,
                records: RecordsDep, actor: ActorDep):  # fmt: skip
    """Rename the area (a name that makes it another face zone measures it again). Needs If-Match."""
    _area_of(records, actor, patient_id, area_id)
    with changing("area", area_id, versions):
        view = records.update_area(actor, area_id, body.name)
    result = schemas.Area.of(view)
    response.headers["ETag"] = etag(result.version)
    return result


@router.put("/patients/{patient_id}/areas/{area_id}/region", response_model=schemas.Area, tags=["areas"],
            responses=_CHANGE_ERRORS)  # fmt: skip
def set_region(patient_id: IdPath, area_id: IdPath, body: schemas.RegionChange, versions: VersionDep, response: Response,
               records: RecordsDep, actor: ActorDep):  # fmt: skip
    """Outline the treated region on the area's baseline (null: the whole area); the area is measured again.
    Needs If-Match."""
    _area_of(records, actor, patient_id, area_id)
    with changing("area", area_id, versions):
        view = records.set_area_roi(actor, area_id, body.region)
    result = schemas.Area.of(view)
    response.headers["ETag"] = etag(result.version)
    return result


@router.delete("/patients/{patient_id}/areas/{area_id}", status_code=204, tags=["areas"], responses=_CHANGE_ERRORS)
def delete_area(patient_id: IdPath, area_id: IdPath, versions: VersionDep, records: RecordsDep, actor: ActorDep):
    """Delete the area with its photos and scores. Needs If-Match."""
    _area_of(records, actor, patient_id, area_id)
    with changing("area", area_id, versions):
        records.delete_area(actor, area_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- visits


@router.get("/patients/{patient_id}/visits", response_model=schemas.Page[schemas.Visit], tags=["visits"], responses=_ERRORS)
def list_visits(patient_id: IdPath, request: Request, response: Response, records: RecordsDep, actor: ActorDep,
                offset: Offset = 0, limit: Limit = 50):  # fmt: skip
    """The patient's visits (sessions), oldest first."""
    records.get_patient(actor, patient_id)
    result = page(request, records.list_sessions(actor, patient_id), offset, limit, schemas.Visit.of)
    response.headers.update(link_header(result))
    return result


@router.post("/patients/{patient_id}/visits", response_model=schemas.Visit, status_code=201, tags=["visits"],
             responses={**_ERRORS, 409: {"model": schemas.Problem}})  # fmt: skip
def add_visit(patient_id: IdPath, body: schemas.VisitCreate, response: Response, records: RecordsDep, actor: ActorDep):
    """Record a visit: date, treatment and its settings (e.g. {"needle_depth_mm": 1.5})."""
    view = records.add_session(actor, patient_id, body.date, body.treatment, settings=body.settings,
                               provider=body.provider, notes=body.notes)  # fmt: skip
    result = schemas.Visit.of(view)
    response.headers.update({"ETag": etag(result.version), "Location": f"/api/v1/visits/{view.id}"})
    return result


@router.get("/visits/{visit_id}", response_model=schemas.Visit, tags=["visits"], responses=_ERRORS)
def get_visit(visit_id: IdPath, response: Response, records: RecordsDep, actor: ActorDep):
    result = schemas.Visit.of(records.get_session(actor, visit_id))
    response.headers["ETag"] = etag(result.version)
    return result


@router.patch("/visits/{visit_id}", response_model=schemas.Visit, tags=["visits"], responses=_CHANGE_ERRORS)
def change_visit(visit_id: IdPath, body: schemas.VisitChange, versions: VersionDep, response: Response,
                 records: RecordsDep, actor: ActorDep):  # fmt: skip
    """Correct the date, treatment, settings, provider or notes (a new date can change an area's baseline: it is
    measured again). Needs If-Match."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    with changing("session", visit_id, versions):
        view = records.update_session(actor, visit_id, **changes)
    result = schemas.Visit.of(view)
    response.headers["ETag"] = etag(result.version)
    return result


@router.delete("/visits/{visit_id}", status_code=204, tags=["visits"], responses=_CHANGE_ERRORS)
def delete_visit(visit_id: IdPath, versions: VersionDep, records: RecordsDep, actor: ActorDep):
    """Delete the visit with its photos and scores. Needs If-Match."""
    with changing("session", visit_id, versions):
        records.delete_session(actor, visit_id)
    return Response(status_code=204)
