"""Photos (upload, fetch, consent, filing), scores, progress and reports: the measuring end of the API.

An upload runs the same pipeline as the app (:meth:`skintrack.records.Records.add_photo`:
intake → quality gate → normalise → align to the area's baseline → score) and
answers with the stored photo and its scores. Scores and progress carry the
engine's change against the baseline, the noise limit and the verdict
(:func:`skintrack.progress.area_progress`), exactly what the app, the PDF report
and the CSV export say.

A patient's token sees its own photos except those whose consent was withdrawn
(as in the patient portal), and gets only the patient's version of the report.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from ..intake.photo import MAX_FILE_BYTES, PhotoError
from ..jsonsafe import finite
from ..records import PermissionDenied
from . import schemas
from .http import ActorDep, IdPath, Limit, Offset, RecordsDep, VersionDep, etag, link_header, page
from .patients import _area_of, changing

router = APIRouter(prefix="/api/v1")

_ERRORS = {401: {"model": schemas.Problem}, 403: {"model": schemas.Problem}, 404: {"model": schemas.Problem},
           422: {"model": schemas.Problem}}  # fmt: skip
_CHANGE_ERRORS = {**_ERRORS, 412: {"model": schemas.Problem}, 428: {"model": schemas.Problem}}


def _visible(actor, photo) -> bool:
    """What a patient sees of their own record: not the photos whose consent was withdrawn (as the portal)."""
    return actor.role != "patient" or not photo.consent_withdrawn


def _photo(records, actor, photo_id: str):
    view = records.get_photo(actor, photo_id)
    if not _visible(actor, view):
        raise PermissionDenied(f"{actor.name} (patient) may not read this record.")
    return view


# --------------------------------------------------------------------------- photos


@router.get("/patients/{patient_id}/photos", response_model=schemas.Page[schemas.Photo], tags=["photos"], responses=_ERRORS)
def list_photos(
    patient_id: IdPath, request: Request, response: Response, records: RecordsDep, actor: ActorDep,
    offset: Offset = 0, limit: Limit = 50,
    area_id: Annotated[str | None, Query(max_length=64, description="Only this area's photos.")] = None,
    visit_id: Annotated[str | None, Query(max_length=64, description="Only this visit's photos.")] = None,
):  # fmt: skip
    """The patient's photos, oldest visit first, with their scores."""
    records.get_patient(actor, patient_id)
    photos = [p for p in records.list_photos(actor, patient_id, area_id) if _visible(actor, p)]
    if visit_id:
        photos = [p for p in photos if p.session_id == visit_id]
    result = page(request, photos, offset, limit, schemas.Photo.of)
    response.headers.update(link_header(result))
    return result


@router.post(
    "/visits/{visit_id}/photos", response_model=schemas.Photo, status_code=201, tags=["photos"],
    responses={**_ERRORS, 200: {"model": schemas.Photo, "description": "This exact photo was already stored."},
               409: {"model": schemas.Problem}, 413: {"model": schemas.Problem}, 507: {"model": schemas.Problem}},
)  # fmt: skip
def upload_photo(
    visit_id: IdPath,
    request: Request,
    response: Response,
    records: RecordsDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="The photo: JPEG, PNG, TIFF, WebP, BMP or HEIF, up to 200 MiB.")],
    area_id: Annotated[str, Form(max_length=64, description="The treated area it shows.")],
    view: Annotated[str, Form(max_length=64)] = "front",
    consent: Annotated[schemas.ConsentLevel, Form()] = "record",
    confirm_duplicate: Annotated[bool, Form(description="File it although the same photo is already under "
                                                        "another visit or patient (refused with 422 otherwise).")] = False,
    confirm_capture_date: Annotated[bool, Form(description="File it although its capture date is more than 7 days "
                                                           "from the visit's (refused with 422 otherwise).")] = False,
):
    """Store and measure a photo of an area at this visit; answers with its scores.

    The area's first photo becomes its baseline; later ones are measured against it. A photo the
    quality gate blocks is kept with status "blocked", one that does not align with "not_comparable",
    each with the reason (no scores). Uploading the same photo again stores nothing (200, ``duplicate``).
    """
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PhotoError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
    if not data:
        raise PhotoError("the file is empty")
    with request.app.state.measuring:  # at most so many photos measured at once per process (memory, fairness)
        stored = records.add_photo(actor, visit_id, area_id, data, view=view, consent=consent,
                                   allow_duplicate=confirm_duplicate, allow_date_mismatch=confirm_capture_date)
    result = schemas.Photo.of(stored)
    if stored.duplicate:
        response.status_code = 200
    response.headers.update({"ETag": etag(result.version), "Location": f"/api/v1/photos/{stored.id}"})
    return result


@router.get("/photos/{photo_id}", response_model=schemas.Photo, tags=["photos"], responses=_ERRORS)
def get_photo(photo_id: IdPath, response: Response, records: RecordsDep, actor: ActorDep):
    result = schemas.Photo.of(_photo(records, actor, photo_id))
    response.headers["ETag"] = etag(result.version)
    return result


@router.get("/photos/{photo_id}/file", tags=["photos"], response_class=Response,
            responses={**_ERRORS, 200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The stored photo."}})  # fmt: skip
def photo_file(photo_id: IdPath, records: RecordsDep, actor: ActorDep):
    """The stored photo (upright, without EXIF, GPS or other identifying metadata)."""
    view = _photo(records, actor, photo_id)
    data = records.photo_bytes(actor, photo_id)
    kind = "image/png" if view.file_name.endswith(".png") else "image/jpeg"
    suffix = "png" if kind == "image/png" else "jpg"
    return Response(data, media_type=kind, headers={
        "Content-Disposition": f'inline; filename="photo-{view.id}.{suffix}"', "ETag": etag(view.file_name.split(".")[0][:32])})  # fmt: skip


@router.patch("/photos/{photo_id}", response_model=schemas.Photo, tags=["photos"], responses=_CHANGE_ERRORS)
def change_photo(photo_id: IdPath, body: schemas.PhotoChange, versions: VersionDep, response: Response,
                 records: RecordsDep, actor: ActorDep):  # fmt: skip
    """Change the consent (``consent``, ``withdrawn``) or file the photo under another visit or area of the same
    patient (``session_id``, ``area_id``; the areas are measured again) — one of the two per request. Needs If-Match."""
    changes = body.model_dump(exclude_unset=True)
    consent = {k: changes[k] for k in ("consent", "withdrawn") if changes.get(k) is not None}
    filing = {k: changes[k] for k in ("session_id", "area_id") if changes.get(k) is not None}
    if consent and filing:
        from ..records import InvalidInput

        raise InvalidInput("Change the consent or move the photo, not both in one request.")
    with changing("photo", photo_id, versions):
        if filing:
            view = records.move_photo(actor, photo_id, **filing)
        else:
            view = records.set_consent(actor, photo_id, consent.get("consent"), withdrawn=consent.get("withdrawn"))
    result = schemas.Photo.of(view)
    response.headers["ETag"] = etag(result.version)
    return result


@router.delete("/photos/{photo_id}", status_code=204, tags=["photos"], responses=_CHANGE_ERRORS)
def delete_photo(photo_id: IdPath, versions: VersionDep, records: RecordsDep, actor: ActorDep):
    """Remove the photo (e.g. to retake it); if it was the baseline, the next photo becomes the baseline and the
    area is measured again. Needs If-Match."""
    with changing("photo", photo_id, versions):
        records.delete_photo(actor, photo_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------- scores and progress


@router.get("/photos/{photo_id}/scores", response_model=schemas.PhotoScores, tags=["scores"], responses=_ERRORS)
def photo_scores(photo_id: IdPath, records: RecordsDep, actor: ActorDep):
    """Every measure of the photo with its change against the area's baseline, noise limit and verdict."""
    from ..measure.metrics import METRIC_NAMES, METRICS
    from ..progress import area_progress

    view = _photo(records, actor, photo_id)
    session = records.get_session(actor, view.session_id)
    progress = area_progress(records, actor, session.patient_id, view.area_id)
    scores = []
    for name in METRIC_NAMES:
        info, metric = METRICS[name], progress.metrics[name]
        point = next((p for p in metric.points if p.photo_id == view.id), None)
        baseline = metric.baseline if point is not None else None
        scores.append(schemas.Score(
            metric=name, label=info.label, unit=info.unit, better=info.better, value=finite(view.scores.get(name)),
            baseline_value=finite(baseline.value) if baseline is not None else None,
            change=finite(point.change) if point is not None else None,
            change_pct=finite(point.change_pct) if point is not None else None,
            mdc95=finite(point.mdc95) if point is not None else None,
            noise=(point.noise or None) if point is not None else None,
            verdict=point.label if point is not None else None,
        ))  # fmt: skip
    return schemas.PhotoScores(photo_id=view.id, status=view.status, status_reason=view.status_reason,
                               engine_version=view.engine_version, settings_hash=view.settings_hash, scores=scores)  # fmt: skip


@router.get("/patients/{patient_id}/areas/{area_id}/progress", response_model=schemas.Progress, tags=["scores"],
            responses=_ERRORS)  # fmt: skip
def area_progress_(patient_id: IdPath, area_id: IdPath, records: RecordsDep, actor: ActorDep):
    """The area's course per measure: series, change against the baseline, noise verdicts, one-line summaries,
    treatment spacing warnings, and the patient's plain-words version."""
    from ..progress import area_progress, patient_summary

    _area_of(records, actor, patient_id, area_id)
    progress = area_progress(records, actor, patient_id, area_id)
    if actor.role == "patient":  # the portal's view: withdrawn photos are not shown to the patient
        hidden = {p.id for p in records.list_photos(actor, patient_id, area_id) if p.consent_withdrawn}
        for metric in progress.metrics.values():
            metric.points = [p for p in metric.points if p.photo_id not in hidden]
    metrics = {
        name: schemas.MetricSeries(
            metric=name, label=m.label, unit=m.unit, better=m.better, mdc95=finite(m.mdc95), summary=m.summary,
            points=[schemas.ProgressPoint(
                session_id=p.session_id, photo_id=p.photo_id, date=p.date, treatment=p.treatment, value=finite(p.value),
                change=finite(p.change), change_pct=finite(p.change_pct), mdc95=finite(p.mdc95), noise=p.noise, verdict=p.label,
                days_since_treatment=p.days_since_treatment) for p in m.points],
        )
        for name, m in progress.metrics.items()
    }  # fmt: skip
    last = {"date": progress.last_treatment[0], "treatment": progress.last_treatment[1]} if progress.last_treatment else None
    plain = [schemas.PlainMeasure(metric=m.metric, title=m.title, sentence=m.sentence, verdict=m.verdict)
             for m in patient_summary(progress)]  # fmt: skip
    return schemas.Progress(
        patient_id=patient_id, area_id=area_id, area=progress.area, goal=list(progress.goal), metrics=metrics,
        spacing_warnings=[w.message for w in progress.spacing_warnings], last_treatment=last,
        days_since_last_treatment=progress.days_since_last_treatment, plain=plain,
    )  # fmt: skip


# --------------------------------------------------------------------------- reports and exports


@router.get("/patients/{patient_id}/areas/{area_id}/report", tags=["reports"], response_class=Response,
            responses={**_ERRORS, 200: {"content": {"application/pdf": {}}, "description": "The PDF report."}})  # fmt: skip
def report(
    patient_id: IdPath, area_id: IdPath, records: RecordsDep, actor: ActorDep,
    audience: Literal["provider", "patient"] = Query("provider", description="For the record, or the patient's plain words."),
    full_name: bool = Query(False, description="Print the patient's full name (default: the code only)."),
    every_session: bool = Query(False, description="Also show the photo of every session."),
):  # fmt: skip
    """The PDF report of one treated area (a patient's token: only ``audience=patient``)."""
    from ..report.clinic import load_clinic
    from ..report.pdf import build_pdf

    pdf = build_pdf(records, actor, patient_id, area_id, audience=audience, full_name=full_name,
                    sessions="all" if every_session else None, clinic=load_clinic(records.data_dir))  # fmt: skip
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="report-{audience}-{area_id[:8]}.pdf"'})  # fmt: skip


@router.get("/patients/{patient_id}/scores", tags=["reports"], response_class=Response,
            responses={**_ERRORS, 200: {"content": {"text/csv": {}, "application/json": {}},
                                        "description": "One row per photo and measure."}})  # fmt: skip
def scores_export(
    patient_id: IdPath, records: RecordsDep, actor: ActorDep,
    format: Literal["csv", "json"] = Query("csv"),
    area_id: Annotated[str | None, Query(max_length=64)] = None,
):  # fmt: skip
    """The patient's scores table (as ``skintrack export-scores``): units, change, noise limit, verdict, provenance.
    Providers and admins."""
    from ..report.scores import scores_table
    from ..report.tables import table_bytes

    if area_id is not None:
        _area_of(records, actor, patient_id, area_id)
    table = scores_table(records, actor, patient_id, area_id)
    if format == "json":
        return Response(table.to_json(orient="records", date_format="iso"), media_type="application/json")
    return Response(table_bytes(table, "csv"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="scores-{patient_id[:8]}.csv"'})  # fmt: skip


@router.get("/visits/{visit_id}/dicom", tags=["reports"], response_class=Response,
            responses={**_ERRORS, 200: {"content": {"application/zip": {}}, "description": "DICOM files in a zip."}})  # fmt: skip
def visit_dicom(
    visit_id: IdPath, records: RecordsDep, actor: ActorDep,
    area_id: Annotated[str | None, Query(max_length=64)] = None,
    full_name: bool = Query(False, description="Put the patient's name in the files (default: the code only)."),
):  # fmt: skip
    """The visit's photos as DICOM VL Photographic Images (one study; a series per area) in a zip. Providers and admins."""
    from ..report.dicom import export_session_dicom

    buffer = io.BytesIO()
    names = export_session_dicom(records, actor, visit_id, buffer, area_id=area_id, include_name=full_name)
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="visit-{visit_id[:8]}-dicom.zip"', "X-Instances": str(len(names))})  # fmt: skip
