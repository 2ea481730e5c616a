"""The REST API (skintrack.api): every endpoint, its permissions, versions, pages and hostile input.

The endpoints are enumerated from the app itself: a new route that is not in ``ENDPOINTS`` below fails
``test_every_endpoint_is_listed``, and every listed one is called by a provider, without a token, and
by a patient's token for someone else's record.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from skintrack.api import create_app
from skintrack.records import Actor, Records
from skintrack.records.versions import version_of

from .conftest import REPO
from .hostile import png_bomb

SAMPLES = REPO / "sample_images"
FIRST = SAMPLES / "2026-05-04_left-cheek.jpg"
LATER = sorted(SAMPLES.glob("*_left-cheek.jpg"))[2]
PASSWORD = "a-long-password-1"
OPERATOR = Actor("op (local operator)", role="admin", source="cli")
MISSING = "00000000-0000-0000-0000-000000000000"


def _upload(client, token, visit_id, area_id, path=FIRST, **fields):
    with open(path, "rb") as handle:
        return client.post(f"/api/v1/visits/{visit_id}/photos", headers=_auth(token),
                           files={"file": (Path(path).name, handle, "image/jpeg")}, data={"area_id": area_id, **fields})  # fmt: skip


def _auth(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two patients; A has a left cheek photographed at two visits. Tokens for an admin, a provider and each patient."""
    records = Records(tmp_path_factory.mktemp("api") / "data")
    a = records.add_patient(OPERATOR, "P-A", "Ann Example", birth_year=1980)
    b = records.add_patient(OPERATOR, "P-B", "Bob Example")
    for username, role, patient in (("boss", "admin", None), ("dr-ana", "provider", None), ("ann", "patient", a),
                                    ("bob", "patient", b)):  # fmt: skip
        records.add_user(OPERATOR, username, PASSWORD, role=role, patient_id=patient.id if patient else None)
    tokens = {name: records.create_api_token(OPERATOR, name, name="tests").token for name in ("boss", "dr-ana", "ann", "bob")}
    client = TestClient(create_app(records))
    provider = tokens["dr-ana"]
    area = client.post(f"/api/v1/patients/{a.id}/areas", json={"name": "left cheek"}, headers=_auth(provider)).json()
    first = client.post(f"/api/v1/patients/{a.id}/visits", headers=_auth(provider),
                        json={"date": "2026-05-04", "treatment": "micro-needling", "settings": {"needle_depth_mm": 1.0}}).json()  # fmt: skip
    later = client.post(f"/api/v1/patients/{a.id}/visits", json={"date": "2026-06-29", "treatment": "micro-needling"},
                        headers=_auth(provider)).json()  # fmt: skip
    baseline = _upload(client, provider, first["id"], area["id"]).json()
    follow_up = _upload(client, provider, later["id"], area["id"], LATER).json()
    area_b = records.add_area(OPERATOR, b.id, "forehead")
    visit_b = records.add_session(OPERATOR, b.id, "2026-05-04", "laser")
    yield SimpleNamespace(
        records=records, client=client, tokens=tokens, a=a, b=b, area=area, visit=first, later=later, baseline=baseline,
        follow_up=follow_up, area_b=area_b, visit_b=visit_b,
    )  # fmt: skip
    records.close()


# --------------------------------------------------------------------------- every endpoint

# (method, route) -> a function of the world giving (url, request options, status a provider gets).
# Changes use a record made for the purpose, so the shared world stays as it is.
ENDPOINTS = {
    ("GET", "/healthz"): lambda w: ("/healthz", {}, 200),
    ("GET", "/api/v1/me"): lambda w: ("/api/v1/me", {}, 200),
    ("GET", "/api/v1/tokens"): lambda w: ("/api/v1/tokens", {}, 200),
    ("DELETE", "/api/v1/tokens/{token_id}"): lambda w: (f"/api/v1/tokens/{_spare_token(w)}", {}, 204),
    ("GET", "/api/v1/patients"): lambda w: ("/api/v1/patients", {}, 200),
    ("POST", "/api/v1/patients"): lambda w: ("/api/v1/patients", {"json": {"code": _code()}}, 201),
    ("GET", "/api/v1/patients/{patient_id}"): lambda w: (f"/api/v1/patients/{w.a.id}", {}, 200),
    ("PATCH", "/api/v1/patients/{patient_id}"): lambda w: _change(w, "patient", {"json": {"notes": "changed"}}, 200),
    ("DELETE", "/api/v1/patients/{patient_id}"): lambda w: _change(w, "patient", {}, 204),
    ("GET", "/api/v1/patients/{patient_id}/areas"): lambda w: (f"/api/v1/patients/{w.a.id}/areas", {}, 200),
    ("POST", "/api/v1/patients/{patient_id}/areas"): lambda w: (f"/api/v1/patients/{w.b.id}/areas", {"json": {"name": _code()}}, 201),
    ("GET", "/api/v1/patients/{patient_id}/areas/{area_id}"): lambda w: (f"/api/v1/patients/{w.a.id}/areas/{w.area['id']}", {}, 200),
    ("PATCH", "/api/v1/patients/{patient_id}/areas/{area_id}"): lambda w: _change(w, "area", {"json": {"name": "chin"}}, 200),
    ("PUT", "/api/v1/patients/{patient_id}/areas/{area_id}/region"): lambda w: _change(w, "region", {"json": {"region": None}}, 200),
    ("DELETE", "/api/v1/patients/{patient_id}/areas/{area_id}"): lambda w: _change(w, "area", {}, 204),
    ("GET", "/api/v1/patients/{patient_id}/visits"): lambda w: (f"/api/v1/patients/{w.a.id}/visits", {}, 200),
    ("POST", "/api/v1/patients/{patient_id}/visits"): lambda w: (f"/api/v1/patients/{w.b.id}/visits",
                                                                 {"json": {"date": _day(), "treatment": "peel"}}, 201),
    ("GET", "/api/v1/visits/{visit_id}"): lambda w: (f"/api/v1/visits/{w.visit['id']}", {}, 200),
    ("PATCH", "/api/v1/visits/{visit_id}"): lambda w: _change(w, "visit", {"json": {"notes": "corrected"}}, 200),
    ("DELETE", "/api/v1/visits/{visit_id}"): lambda w: _change(w, "visit", {}, 204),
    ("GET", "/api/v1/patients/{patient_id}/photos"): lambda w: (f"/api/v1/patients/{w.a.id}/photos", {}, 200),
    ("POST", "/api/v1/visits/{visit_id}/photos"): lambda w: _photo_upload(w),
    ("GET", "/api/v1/photos/{photo_id}"): lambda w: (f"/api/v1/photos/{w.baseline['id']}", {}, 200),
    ("PATCH", "/api/v1/photos/{photo_id}"): lambda w: (f"/api/v1/photos/{w.follow_up['id']}",
                                                        {"json": {"consent": "teaching"}, "headers": {"If-Match": "*"}}, 200),
    ("DELETE", "/api/v1/photos/{photo_id}"): lambda w: _change(w, "photo", {}, 204),
    ("GET", "/api/v1/photos/{photo_id}/file"): lambda w: (f"/api/v1/photos/{w.baseline['id']}/file", {}, 200),
    ("GET", "/api/v1/photos/{photo_id}/scores"): lambda w: (f"/api/v1/photos/{w.follow_up['id']}/scores", {}, 200),
    ("GET", "/api/v1/patients/{patient_id}/areas/{area_id}/progress"): lambda w: (
        f"/api/v1/patients/{w.a.id}/areas/{w.area['id']}/progress", {}, 200),
    ("GET", "/api/v1/patients/{patient_id}/areas/{area_id}/report"): lambda w: (
        f"/api/v1/patients/{w.a.id}/areas/{w.area['id']}/report", {}, 200),
    ("GET", "/api/v1/patients/{patient_id}/scores"): lambda w: (f"/api/v1/patients/{w.a.id}/scores", {}, 200),
    ("GET", "/api/v1/visits/{visit_id}/dicom"): lambda w: (f"/api/v1/visits/{w.visit['id']}/dicom", {}, 200),
    ("GET", "/fhir/metadata"): lambda w: ("/fhir/metadata", {}, 200),
    ("GET", "/fhir/Patient/{patient_id}"): lambda w: (f"/fhir/Patient/{w.a.id}", {}, 200),
    ("GET", "/fhir/Patient/{patient_id}/$everything"): lambda w: (f"/fhir/Patient/{w.a.id}/$everything", {}, 200),
}
PUBLIC = {("GET", "/healthz"), ("GET", "/fhir/metadata")}  # no token needed, no data in them
_counter = iter(range(10**6))


def _code() -> str:
    return f"X-{next(_counter)}"


def _day() -> str:
    import datetime as dt

    return (dt.date(2020, 1, 1) + dt.timedelta(days=next(_counter))).isoformat()


def _spare_token(w) -> str:
    return w.records.create_api_token(OPERATOR, "dr-ana", name="spare").view.id


def _change(w, kind: str, options: dict, expected: int):
    """A throw-away record of ``kind`` for patient B, and the request changing it with its version in If-Match."""
    records, b = w.records, w.b
    if kind == "patient":
        view = records.add_patient(OPERATOR, _code())
        url = f"/api/v1/patients/{view.id}"
    elif kind in ("area", "region"):
        view = records.add_area(OPERATOR, b.id, _code())
        url = f"/api/v1/patients/{b.id}/areas/{view.id}" + ("/region" if kind == "region" else "")
    elif kind == "visit":
        view = records.add_session(OPERATOR, b.id, _day(), "other")
        url = f"/api/v1/visits/{view.id}"
    else:
        session = records.add_session(OPERATOR, b.id, _day(), "other")
        view = records.add_photo(OPERATOR, session.id, w.area_b.id, _small_jpeg(next(_counter)))
        url = f"/api/v1/photos/{view.id}"
    headers = {**options.get("headers", {}), "If-Match": f'"{version_of(view)}"'}
    return url, {**options, "headers": headers}, expected


def _small_jpeg(seed: int | None = None) -> bytes:
    """A small real photo (the demo's, downscaled; a different seed gives different bytes)."""
    image = Image.open(FIRST).convert("RGB").resize((640, 480))
    if seed is not None:
        # a 16 px block in a colour of its own: one pixel's change can vanish in the JPEG's quantisation
        colour = (seed * 37 % 256, seed * 91 % 256, seed // 256 * 53 % 256)
        image.paste(colour, (0, 0, 16, 16))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _photo_upload(w):
    session = w.records.add_session(OPERATOR, w.b.id, _day(), "other")
    return (f"/api/v1/visits/{session.id}/photos",
            {"files": {"file": ("small.jpg", _small_jpeg(next(_counter)), "image/jpeg")}, "data": {"area_id": w.area_b.id}}, 201)  # fmt: skip


def _routes() -> set[tuple[str, str]]:
    """Every operation of the app (its schema lists them all: no route is left out of it)."""
    schema = create_app(Records(Path(tempfile.mkdtemp()) / "data")).openapi()
    return {(method.upper(), path) for path, operations in schema["paths"].items() for method in operations}


def test_every_endpoint_is_listed():
    """A new endpoint must be added to ENDPOINTS, and so to every test here."""
    assert _routes() == set(ENDPOINTS)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS), ids=lambda e: f"{e[0]} {e[1]}")
def test_every_endpoint_works_for_a_provider(world, endpoint):
    url, options, expected = ENDPOINTS[endpoint](world)
    headers = {**_auth(world.tokens["dr-ana"]), **options.pop("headers", {})}
    response = world.client.request(endpoint[0], url, headers=headers, **options)
    assert response.status_code == expected, response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("endpoint", sorted(set(ENDPOINTS) - PUBLIC), ids=lambda e: f"{e[0]} {e[1]}")
def test_every_endpoint_needs_a_valid_token(world, endpoint):
    url, options, _ = ENDPOINTS[endpoint](world)
    headers = options.pop("headers", {})
    for credentials in ({}, {"Authorization": "Bearer skt_not-a-real-token"}, {"Authorization": "Basic Ym9zczpib3Nz"}):
        response = world.client.request(endpoint[0], url, headers={**headers, **credentials}, **options)
        assert response.status_code == 401, (credentials, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("endpoint", sorted(set(ENDPOINTS) - PUBLIC), ids=lambda e: f"{e[0]} {e[1]}")
def test_another_patients_token_is_refused_everywhere(world, endpoint):
    """Bob's token against Ann's record (or against what only staff may do): 403, and nothing changes."""
    if endpoint in {("GET", "/api/v1/me"), ("GET", "/api/v1/tokens"), ("GET", "/api/v1/patients")}:
        pytest.skip("answers for the patient's own account (tested below)")
    url, options, _ = ENDPOINTS[endpoint](world)
    url = url.replace(world.b.id, world.a.id)  # the throw-away records are B's: aim at A's record instead
    headers = {**_auth(world.tokens["bob"]), **options.pop("headers", {})}
    before = _row_counts(world.records)
    response = world.client.request(endpoint[0], url, headers=headers, **options)
    assert response.status_code == 403, response.text
    assert _row_counts(world.records) == before


def _row_counts(records) -> dict:
    from sqlalchemy import text

    with records.engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in ("patients", "areas", "sessions", "photos", "scores", "users")}  # fmt: skip


# --------------------------------------------------------------------------- a patient's token


def test_a_patients_token_reads_its_own_record_only(world):
    client, ann = world.client, _auth(world.tokens["ann"])
    assert client.get("/api/v1/me", headers=ann).json() == {"name": "ann", "username": "ann", "role": "patient",
                                                              "patient_id": world.a.id}  # fmt: skip
    assert [p["code"] for p in client.get("/api/v1/patients", headers=ann).json()["items"]] == ["P-A"]
    photos = client.get(f"/api/v1/patients/{world.a.id}/photos", headers=ann).json()
    assert {p["id"] for p in photos["items"]} >= {world.baseline["id"], world.follow_up["id"]}
    stored = client.get(f"/api/v1/photos/{world.baseline['id']}/file", headers=ann)
    assert stored.status_code == 200 and stored.content[:2] == b"\xff\xd8"
    progress = client.get(f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/progress", headers=ann)
    assert progress.status_code == 200 and progress.json()["plain"]
    report = client.get(f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/report?audience=patient", headers=ann)
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    for url in (f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/report",  # the clinical version
                f"/api/v1/patients/{world.a.id}/scores", f"/api/v1/visits/{world.visit['id']}/dicom",
                f"/fhir/Patient/{world.a.id}/$everything", f"/api/v1/patients/{world.b.id}"):  # fmt: skip
        assert client.get(url, headers=ann).status_code == 403, url


def test_a_patient_cannot_tell_a_missing_record_from_another_patients(world):
    client, bob = world.client, _auth(world.tokens["bob"])
    for missing, others in ((f"/api/v1/photos/{MISSING}", f"/api/v1/photos/{world.baseline['id']}"),
                            (f"/api/v1/patients/{MISSING}", f"/api/v1/patients/{world.a.id}"),
                            (f"/api/v1/visits/{MISSING}", f"/api/v1/visits/{world.visit['id']}")):  # fmt: skip
        first, second = client.get(missing, headers=bob), client.get(others, headers=bob)
        assert first.status_code == second.status_code == 403
        assert first.json()["detail"] == second.json()["detail"]
    provider = _auth(world.tokens["dr-ana"])
    assert client.get(f"/api/v1/photos/{MISSING}", headers=provider).status_code == 404


def test_a_photo_whose_consent_was_withdrawn_is_hidden_from_the_patient(world):
    client, provider, ann = world.client, _auth(world.tokens["dr-ana"]), _auth(world.tokens["ann"])
    session = world.records.add_session(OPERATOR, world.a.id, "2026-07-20", "other")
    photo = world.records.add_photo(OPERATOR, session.id, world.area["id"], _small_jpeg(next(_counter)))
    changed = client.patch(f"/api/v1/photos/{photo.id}", json={"withdrawn": True},
                           headers={**provider, "If-Match": f'"{version_of(photo)}"'})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["consent_withdrawn"]
    listed = client.get(f"/api/v1/patients/{world.a.id}/photos", headers=ann).json()["items"]
    assert photo.id not in {p["id"] for p in listed}
    assert client.get(f"/api/v1/photos/{photo.id}/file", headers=ann).status_code == 403
    assert client.get(f"/api/v1/photos/{photo.id}/file", headers=provider).status_code == 200
    progress = client.get(f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/progress", headers=ann).json()
    assert photo.id not in {p["photo_id"] for m in progress["metrics"].values() for p in m["points"]}


# --------------------------------------------------------------------------- what the endpoints say


def test_an_upload_is_measured_and_answered_with_its_scores(world):
    client, provider = world.client, _auth(world.tokens["dr-ana"])
    follow_up = world.follow_up
    assert world.baseline["is_baseline"] and world.baseline["status"] == "scored"
    assert follow_up["status"] == "scored" and not follow_up["is_baseline"]
    assert set(follow_up["scores"]) >= {"redness", "spot_area_pct", "texture_roughness", "ita"}
    stored = world.records.get_photo(OPERATOR, follow_up["id"])
    assert follow_up["scores"]["redness"] == pytest.approx(stored.scores["redness"])
    scores = client.get(f"/api/v1/photos/{follow_up['id']}/scores", headers=provider).json()
    redness = next(s for s in scores["scores"] if s["metric"] == "redness")
    assert redness["baseline_value"] == pytest.approx(world.baseline["scores"]["redness"])
    assert redness["change"] == pytest.approx(follow_up["scores"]["redness"] - world.baseline["scores"]["redness"])
    assert redness["noise"] in ("within noise", "could be noise", "beyond noise") and redness["verdict"]
    progress = client.get(f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/progress", headers=provider).json()
    points = progress["metrics"]["redness"]["points"]
    # (Other tests of this module add later photos of the same skin to the area: find the follow-up's point.)
    point = next(p for p in points if p["photo_id"] == follow_up["id"])
    assert points[0]["verdict"] == "baseline"
    assert point["verdict"] == redness["verdict"] and progress["metrics"]["redness"]["summary"]
    again = _upload(client, world.tokens["dr-ana"], world.later["id"], world.area["id"], LATER)
    assert again.status_code == 200 and again.json()["duplicate"] and again.json()["id"] == follow_up["id"]
    stored_file = client.get(follow_up["file"], headers=provider)
    assert stored_file.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(stored_file.content)).getexif().get(0x8825) is None  # no GPS, no EXIF block


def test_an_upload_never_touches_a_temporary_folder(world, tmp_path, monkeypatch):
    """Photos are health data: the multipart upload stays in memory, never spooled to /tmp."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    session = world.records.add_session(OPERATOR, world.b.id, _day(), "other")
    big = FIRST.read_bytes() + b"\0" * (3 * 2**20)  # > the 1 MiB multipart spool threshold
    response = world.client.post(f"/api/v1/visits/{session.id}/photos", headers=_auth(world.tokens["dr-ana"]),
                                 files={"file": ("big.jpg", big, "image/jpeg")},
                                 data={"area_id": world.area_b.id, "confirm_duplicate": "true"})  # the demo's photo again
    assert response.status_code == 201, response.text
    assert list(spool.iterdir()) == []


def test_the_same_photo_in_another_visit_waits_for_the_clients_confirmation(world):
    """Issue 21 item 3 through the API: a photo already filed under another visit is refused (422, saying
    where it is, nothing stored) until the client confirms it with ``confirm_duplicate``."""
    provider = _auth(world.tokens["dr-ana"])
    photo = _small_jpeg(next(_counter))
    first = world.records.add_session(OPERATOR, world.b.id, _day(), "other")
    second = world.records.add_session(OPERATOR, world.b.id, _day(), "other")
    form = {"area_id": world.area_b.id}
    assert world.client.post(f"/api/v1/visits/{first.id}/photos", headers=provider,
                             files={"file": ("a.jpg", photo, "image/jpeg")}, data=form).status_code == 201
    before = len(world.records.list_photos(OPERATOR, world.b.id))
    refused = world.client.post(f"/api/v1/visits/{second.id}/photos", headers=provider,
                                files={"file": ("a.jpg", photo, "image/jpeg")}, data=form)
    assert refused.status_code == 422 and "already in the record" in refused.json()["detail"]
    assert len(world.records.list_photos(OPERATOR, world.b.id)) == before
    confirmed = world.client.post(f"/api/v1/visits/{second.id}/photos", headers=provider,
                                  files={"file": ("a.jpg", photo, "image/jpeg")},
                                  data={**form, "confirm_duplicate": "true"})  # fmt: skip
    assert confirmed.status_code == 201, confirmed.text
    assert len(world.records.list_photos(OPERATOR, world.b.id)) == before + 1


def test_exports_say_what_the_engine_says(world):
    client, provider = world.client, _auth(world.tokens["dr-ana"])
    table = client.get(f"/api/v1/patients/{world.a.id}/scores?format=json", headers=provider).json()
    row = next(r for r in table if r["photo_id"] == world.follow_up["id"] and r["metric"] == "redness")
    assert row["value"] == pytest.approx(world.follow_up["scores"]["redness"])
    csv = client.get(f"/api/v1/patients/{world.a.id}/scores", headers=provider)
    assert csv.headers["content-type"].startswith("text/csv") and b"patient_code" in csv.content
    dicom = client.get(f"/api/v1/visits/{world.visit['id']}/dicom", headers=provider)
    with zipfile.ZipFile(io.BytesIO(dicom.content)) as archive:
        assert len(archive.namelist()) == int(dicom.headers["x-instances"]) >= 1
    report = client.get(f"/api/v1/patients/{world.a.id}/areas/{world.area['id']}/report?every_session=true", headers=provider)
    assert report.content.startswith(b"%PDF") and report.headers["content-type"] == "application/pdf"


def test_fhir_endpoints(world):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.patient import Patient

    client, provider = world.client, _auth(world.tokens["dr-ana"])
    assert client.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"
    patient = client.get(f"/fhir/Patient/{world.a.id}", headers=provider)
    assert patient.headers["content-type"] == "application/fhir+json"
    Patient.model_validate(patient.json())
    assert "Ann" not in patient.text and "P-A" not in patient.text  # pseudonymous by default
    everything = client.get(f"/fhir/Patient/{world.a.id}/$everything", headers=provider)
    bundle = Bundle.model_validate(everything.json())
    assert bundle.type == "searchset"
    media = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "Media"]
    assert {m.content.url for m in media} >= {f"http://testserver/api/v1/photos/{world.baseline['id']}/file"}
    exports = world.records.audit_log(OPERATOR, action="export")
    assert exports[0].source == "api" and exports[0].detail.startswith("FHIR bundle")


def test_api_reads_are_in_the_audit_log_under_the_tokens_account(world):
    world.client.get(f"/api/v1/patients/{world.a.id}", headers=_auth(world.tokens["boss"]))
    views = world.records.audit_log(OPERATOR, action="view_patient", user="boss")
    assert views and views[0].source == "api" and views[0].patient_code == "P-A"


# --------------------------------------------------------------------------- versions


def test_a_change_needs_the_version_it_read(world):
    client, provider = world.client, _auth(world.tokens["dr-ana"])
    patient = client.post("/api/v1/patients", json={"code": _code(), "display_name": "Vera"}, headers=provider)
    url, read = f"/api/v1/patients/{patient.json()['id']}", patient.headers["etag"]
    assert read == f'"{patient.json()["version"]}"'
    assert client.get(url, headers=provider).headers["etag"] == read
    missing = client.patch(url, json={"notes": "no If-Match"}, headers=provider)
    assert missing.status_code == 428
    ok = client.patch(url, json={"notes": "first"}, headers={**provider, "If-Match": read})
    assert ok.status_code == 200 and ok.headers["etag"] != read
    stale = client.patch(url, json={"notes": "second, from an old read"}, headers={**provider, "If-Match": read})
    assert stale.status_code == 412 and stale.headers["etag"] == ok.headers["etag"]
    weak = client.patch(url, json={"notes": "weak"}, headers={**provider, "If-Match": "W/" + ok.headers["etag"]})
    assert weak.status_code == 412
    either = client.patch(url, json={"notes": "listed"}, headers={**provider, "If-Match": f'{read}, {ok.headers["etag"]}'})
    assert either.status_code == 200
    assert client.get(url, headers=provider).json()["notes"] == "listed"
    assert client.delete(url, headers={**provider, "If-Match": read}).status_code == 412
    assert client.delete(url, headers={**provider, "If-Match": "*"}).status_code == 204


def test_two_clients_editing_one_visit_cannot_overwrite_each_other(world):
    client, provider = world.client, _auth(world.tokens["dr-ana"])
    visit = client.post(f"/api/v1/patients/{world.b.id}/visits", json={"date": _day(), "treatment": "RF"}, headers=provider)
    url, read = visit.headers["location"], visit.headers["etag"]
    first = client.patch(url, json={"settings": {"energy_J_cm2": 12}}, headers={**provider, "If-Match": read})
    second = client.patch(url, json={"notes": "other desk"}, headers={**provider, "If-Match": read})
    assert (first.status_code, second.status_code) == (200, 412)
    assert client.get(url, headers=provider).json()["settings"] == {"energy_J_cm2": 12}


# --------------------------------------------------------------------------- pages


def test_lists_are_paged(world):
    client, provider = world.client, _auth(world.tokens["dr-ana"])
    for _ in range(5):
        client.post("/api/v1/patients", json={"code": _code()}, headers=provider)
    total = client.get("/api/v1/patients?limit=500", headers=provider).json()["total"]
    seen, url = [], "/api/v1/patients?limit=2"
    while url:
        response = client.get(url, headers=provider)
        body = response.json()
        assert body["total"] == total and len(body["items"]) <= 2
        seen += [p["id"] for p in body["items"]]
        assert ("link" in response.headers) == (body["next"] is not None)
        url = body["next"]
    assert len(seen) == len(set(seen)) == total
    for bad in ("limit=0", "limit=501", "offset=-1", "limit=two", "offset=1e99"):
        assert client.get(f"/api/v1/patients?{bad}", headers=provider).status_code == 422, bad
    past = client.get(f"/api/v1/patients?offset={total + 10}", headers=provider).json()
    assert past["items"] == [] and past["next"] is None


# --------------------------------------------------------------------------- tokens


def test_a_revoked_token_or_a_disabled_account_is_refused_at_once(world):
    records, client = world.records, world.client
    records.add_user(OPERATOR, "dr-temp", PASSWORD, role="provider")
    first = records.create_api_token(OPERATOR, "dr-temp", name="one").token
    second = records.create_api_token(OPERATOR, "dr-temp", name="two")
    assert client.get("/api/v1/me", headers=_auth(first)).status_code == 200
    listed = client.get("/api/v1/tokens", headers=_auth(first)).json()
    assert {t["name"] for t in listed} == {"one", "two"} and all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{second.view.id}", headers=_auth(first)).status_code == 204
    assert client.get("/api/v1/me", headers=_auth(second.token)).status_code == 401
    records.disable_user(OPERATOR, "dr-temp")
    refused = client.get(f"/api/v1/patients/{world.a.id}", headers=_auth(first))
    assert refused.status_code == 401 and "not valid" in refused.json()["detail"]


# --------------------------------------------------------------------------- hostile input


def _hostile_requests(w) -> list[tuple[str, str, dict, int]]:
    a, area, visit = w.a.id, w.area["id"], w.visit["id"]
    upload = f"/api/v1/visits/{visit}/photos"
    truncated = FIRST.read_bytes()[:5000]
    return [
        ("POST", "/api/v1/patients", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("POST", "/api/v1/patients", {"content": b"\xff\xfe\x00garbage", "headers": {"content-type": "application/json"}}, 400),
        ("POST", "/api/v1/patients", {"json": ["a", "list"]}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": 42}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "X" * 10_000}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "P\x00NUL"}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "P-OK", "fitzpatrick": 9}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "P-OK", "birth_year": "nineteen"}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "P-OK", "is_admin": True}}, 422),
        ("POST", "/api/v1/patients", {"json": {"code": "P-A"}}, 422),  # the code is taken
        ("POST", "/api/v1/patients", {"content": b"code=P-1", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 422),
        ("POST", f"/api/v1/patients/{a}/visits", {"json": {"date": "2999-01-01", "treatment": "laser"}}, 422),
        ("POST", f"/api/v1/patients/{a}/visits", {"json": {"date": "yesterday", "treatment": "laser"}}, 422),
        ("POST", f"/api/v1/patients/{a}/visits", {"json": {"date": "2026-01-01", "treatment": "magic"}}, 422),
        ("POST", f"/api/v1/patients/{a}/visits", {"json": {"date": "2026-01-01", "treatment": "laser",
                                                           "settings": {"deep": {"nested": 1}}}}, 422),  # fmt: skip
        ("POST", f"/api/v1/patients/{a}/areas", {"json": {"name": ""}}, 422),
        ("PUT", f"/api/v1/patients/{a}/areas/{area}/region", {"json": {"region": {"shape": "star"}}, "headers": {"If-Match": "*"}}, 422),
        ("PATCH", f"/api/v1/photos/{w.baseline['id']}", {"json": {"consent": "everything"}, "headers": {"If-Match": "*"}}, 422),
        ("PATCH", f"/api/v1/photos/{w.baseline['id']}", {"json": {"consent": "record", "area_id": area},
                                                          "headers": {"If-Match": "*"}}, 422),  # fmt: skip
        ("GET", "/api/v1/patients/" + "9" * 500, {}, 422),
        ("GET", "/api/v1/patients/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("GET", f"/api/v1/patients/{a}/photos?area_id=" + "z" * 100, {}, 422),
        ("GET", f"/api/v1/patients/{a}/areas/{area}/report?audience=everyone", {}, 422),
        ("GET", f"/fhir/Patient/{a}/$everything?_photos=all", {}, 422),
        ("POST", upload, {"data": {"area_id": area}}, 422),  # no file
        ("POST", upload, {"files": {"file": ("a.jpg", b"", "image/jpeg")}, "data": {"area_id": area}}, 422),
        ("POST", upload, {"files": {"file": ("a.jpg", b"just some text", "image/jpeg")}, "data": {"area_id": area}}, 422),
        ("POST", upload, {"files": {"file": ("a.jpg", truncated, "image/jpeg")}, "data": {"area_id": area}}, 422),
        ("POST", upload, {"files": {"file": ("b.png", _claimed_bomb(), "image/png")}, "data": {"area_id": area}}, 422),
        ("POST", upload, {"files": {"file": ("b.png", png_bomb(2_000, 2_000)[:-30], "image/png")}, "data": {"area_id": area}}, 422),
        ("POST", upload, {"files": {"file": ("a.jpg", _small_jpeg(1), "image/jpeg")}, "data": {"area_id": w.area_b.id}}, 422),
        ("POST", upload, {"files": {"file": ("a.jpg", _small_jpeg(1), "image/jpeg")}, "data": {"area_id": area, "consent": "all"}}, 422),
        ("POST", f"/api/v1/visits/{MISSING}/photos", {"files": {"file": ("a.jpg", _small_jpeg(1), "image/jpeg")},
                                                      "data": {"area_id": area}}, 404),  # fmt: skip
        ("POST", upload, {"content": b"not multipart", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 400),
        ("POST", upload, {"content": b"x" * 16, "headers": {"content-length": str(300 * 2**20)}}, 413),
        ("POST", upload, {"content": b"x" * 16, "headers": {"content-length": "-5"}}, 400),
        ("DELETE", "/api/v1/patients", {}, 405),
    ]


def _claimed_bomb() -> bytes:
    """A PNG whose header claims 30000 x 30000 pixels (900 MP) with a few bytes of data."""
    import struct
    import zlib

    from .hostile import _chunk

    header = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _chunk(b"IEND", b"")


def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(world):
    client, provider = world.client, world.tokens["dr-ana"]
    before = _row_counts(world.records)
    files_before = len(world.records.store.files())
    for method, url, options, expected in _hostile_requests(world):
        headers = {**_auth(provider), **options.pop("headers", {})}
        response = client.request(method, url, headers=headers, **options)
        assert response.status_code == expected, (method, url, response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json", url
        body = response.json()
        assert body["status"] == expected and body["detail"] and "Traceback" not in response.text
    assert _row_counts(world.records) == before
    assert len(world.records.store.files()) == files_before


def test_a_huge_streamed_upload_is_cut_off(world):
    """A chunked body declares no length: it is refused (413) once it passes the limit, not read to the end."""
    from skintrack.api.app import MAX_REQUEST_BYTES

    sent = 0

    def body():
        nonlocal sent
        head = (b"--b\r\nContent-Disposition: form-data; name=\"area_id\"\r\n\r\n" + world.area["id"].encode() +
                b"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.jpg\"\r\n"
                b"Content-Type: image/jpeg\r\n\r\n\xff\xd8")  # fmt: skip
        yield head
        chunk = b"\0" * 2**20
        while sent < MAX_REQUEST_BYTES + 100 * 2**20:
            sent += len(chunk)
            yield chunk

    before = _row_counts(world.records)
    response = world.client.post(f"/api/v1/visits/{world.visit['id']}/photos", content=body(),
                                 headers=_auth(world.tokens["dr-ana"], **{"content-type": "multipart/form-data; boundary=b"}))  # fmt: skip
    assert response.status_code == 413 and "MiB" in response.json()["detail"]
    assert _row_counts(world.records) == before


def test_an_unexpected_failure_is_a_500_without_a_traceback(world, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /srv/skintrack")

    client = TestClient(world.client.app, raise_server_exceptions=False)
    monkeypatch.setattr(world.records, "list_areas", broken)
    response = client.get(f"/api/v1/patients/{world.a.id}/areas", headers=_auth(world.tokens["dr-ana"]))
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text and "Traceback" not in response.text
    reference = response.json()["detail"].split("Reference ")[1].split()[0]
    assert any(reference in record.getMessage() for record in caplog.records)  # the server's log has it


@pytest.mark.slow
def test_no_endpoint_answers_500_to_hostile_parameters(world):
    """A small fuzz over the published schema: every operation with hostile path and query values, and every
    operation taking JSON with hostile bodies aimed at real records. Never a 5xx, and nothing changes (the
    If-Match given is no record's version, so even a body that happens to be valid changes nothing)."""
    client, provider = world.client, _auth(world.tokens["dr-ana"], **{"If-Match": '"0"'})
    schema = client.get("/openapi.json").json()
    hostile = ["", " ", "\x00", "é" * 300, "9" * 70, "-1", "1e309", "null", "../../etc/passwd", "%00", "{}", "[]", "true",
               "<script>", "'; DROP TABLE patients; --", "\ufffd"]
    bodies = [None, [], 0, "text", {}, {"code": None}, {"name": ["x"]}, {"date": 17}, {"region": "x"}, {"consent": {}},
              {"settings": [1, 2]}, {"notes": "x" * 30_000}, {"withdrawn": "maybe"}, {"code": "Z" * 65}]  # fmt: skip
    real = {"patient_id": world.a.id, "area_id": world.area["id"], "visit_id": world.visit["id"],
            "photo_id": world.follow_up["id"], "token_id": MISSING}  # fmt: skip
    before = _row_counts(world.records)
    calls = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "delete":
                continue  # a DELETE with garbage ids is covered above; keep the world intact
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            takes_json = "application/json" in operation.get("requestBody", {}).get("content", {})
            for value in hostile:
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", urllib.request.quote(value, safe="") or "x")
                response = client.request(method.upper(), url, params={q: value for q in queries}, headers=provider,
                                          json={} if takes_json else None)  # fmt: skip
                calls += 1
                assert response.status_code < 500, (method, url, value, response.text[:200])
            if takes_json:
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", real[name])
                for body in bodies:
                    response = client.request(method.upper(), url, json=body, headers=provider)
                    calls += 1
                    assert response.status_code < 500, (method, url, body, response.text[:200])
                    assert response.status_code in (412, 422), (method, url, body, response.status_code)
    assert calls > 400
    assert _row_counts(world.records) == before


# --------------------------------------------------------------------------- the published schema


def test_the_openapi_schema_is_published_and_documented(world):
    schema = world.client.get("/openapi.json").json()
    assert schema["info"]["title"] == "skintrack API"
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops} == set(ENDPOINTS)
    committed = json.loads((REPO / "docs" / "api" / "openapi.json").read_text())
    assert committed == schema, "docs/api/openapi.json is out of date: run .venv/bin/python tools/openapi.py"
    assert world.client.get("/docs").status_code == 404  # Swagger UI would load scripts from a CDN


# --------------------------------------------------------------------------- a real server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_skintrack_api_serves_on_localhost_with_uvicorn(tmp_path):
    """`skintrack api` in its own process on a free port: the schema, a token, an upload over real HTTP."""
    data = tmp_path / "data"
    records = Records(data)
    records.add_user(OPERATOR, "dr-ana", PASSWORD, role="provider")
    token = records.create_api_token(OPERATOR, "dr-ana", name="uvicorn test").token
    patient = records.add_patient(OPERATOR, "P-HTTP")
    area = records.add_area(OPERATOR, patient.id, "left cheek")
    visit = records.add_session(OPERATOR, patient.id, "2026-05-04", "micro-needling")
    records.close()
    port = _free_port()
    log = open(tmp_path / "api.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "skintrack", "api", "--port", str(port), "--data", str(data)],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SKINTRACK_DB_URL": ""})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=2).read())
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
                time.sleep(0.2)
        assert health["status"] == "ok"
        import httpx

        with httpx.Client(base_url=base, headers=_auth(token), timeout=120) as client:
            assert client.get("/openapi.json").json()["info"]["title"] == "skintrack API"
            assert client.get("/api/v1/me").json()["username"] == "dr-ana"
            uploaded = client.post(f"/api/v1/visits/{visit.id}/photos", data={"area_id": area.id},
                                   files={"file": ("p.jpg", FIRST.read_bytes(), "image/jpeg")})  # fmt: skip
            assert uploaded.status_code == 201 and uploaded.json()["status"] == "scored"
            assert client.get("/api/v1/me", headers={"Authorization": "Bearer skt_wrong"}).status_code == 401
            _huge_upload_is_cut_off(client, visit.id, area.id)
        assert "server" not in {k.lower() for k in urllib.request.urlopen(f"{base}/healthz").headers}
        outside = _non_loopback_address()
        if outside:  # it listens on loopback only
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((outside, port)) != 0
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _huge_upload_is_cut_off(client, visit_id: str, area_id: str) -> None:
    """A 600 MB chunked upload over real HTTP: the server answers 413 (or hangs up) near the limit, without
    reading the rest."""
    import httpx

    from skintrack.api.app import MAX_REQUEST_BYTES

    sent = 0

    def body():
        nonlocal sent
        yield (b"--b\r\nContent-Disposition: form-data; name=\"area_id\"\r\n\r\n" + area_id.encode() +
               b"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.jpg\"\r\n\r\n")  # fmt: skip
        chunk = b"\0" * 2**20
        while sent < 600 * 2**20:
            sent += len(chunk)
            yield chunk

    try:
        response = client.post(f"/api/v1/visits/{visit_id}/photos", content=body(),
                               headers={"content-type": "multipart/form-data; boundary=b"})  # fmt: skip
        assert response.status_code == 413
    except httpx.TransportError:
        pass  # the server hung up after answering, while the client was still sending
    assert sent < MAX_REQUEST_BYTES + 64 * 2**20


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing interface
            address = udp.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


# --------------------------------------------------------------------------- measuring slots


def test_uploads_beyond_the_measuring_slots_wait_their_turn_in_order(monkeypatch):
    """At most ``slots`` photos are measured at once per process (memory stays bounded); the rest are let in
    first come, first served."""
    import threading

    from skintrack.api.app import _FairSlots, measuring_slots

    slots = _FairSlots(2)
    lock = threading.Lock()
    inside, most, order = [0], [0], []

    def measure(index):
        with slots:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                order.append(index)
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = []
    for index in range(10):
        threads.append(threading.Thread(target=measure, args=(index,)))
        threads[-1].start()
        time.sleep(0.01)  # they arrive in this order
    for thread in threads:
        thread.join(10)
    assert most[0] == 2 and order == list(range(10))
    monkeypatch.setenv("SKINTRACK_API_MEASURING", "3")
    assert measuring_slots() == 3
    monkeypatch.setenv("SKINTRACK_API_MEASURING", "lots")
    assert measuring_slots() == max(1, os.cpu_count() or 1)


def test_skintrack_api_shares_the_cpus_among_its_workers(monkeypatch, tmp_path):
    """`skintrack api --workers N` measures at most one photo per CPU on the machine, not per process (two
    workers on two cores measured four photos at once and every upload waited on the others); a value set
    by the operator is kept."""
    import uvicorn

    from skintrack.api import server

    assert server.default_measuring_slots(2, cpus=2) == 1
    assert server.default_measuring_slots(1, cpus=8) == 8 and server.default_measuring_slots(16, cpus=4) == 1
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(k, slots=os.environ["SKINTRACK_API_MEASURING"]))
    monkeypatch.delenv("SKINTRACK_API_MEASURING", raising=False)
    monkeypatch.setenv("SKINTRACK_DATA", str(tmp_path))  # serve() sets what is unset: undone after the test
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    server.serve(workers=2)
    assert seen["workers"] == 2 and seen["slots"] == "2"
    monkeypatch.setenv("SKINTRACK_API_MEASURING", "3")
    server.serve(workers=2)
    assert seen["slots"] == "3"


def test_the_upload_endpoint_measures_within_the_slots(world, monkeypatch):
    import threading

    lock = threading.Lock()
    inside, most = [0], [0]
    stored = world.records.get_photo(OPERATOR, world.baseline["id"])

    def slow_add_photo(*args, **kwargs):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.3)
        with lock:
            inside[0] -= 1
        return stored

    monkeypatch.setattr(world.records, "add_photo", slow_add_photo)
    client = TestClient(create_app(world.records, measuring=1))
    answers = []

    def upload():
        answers.append(client.post(f"/api/v1/visits/{world.visit['id']}/photos", headers=_auth(world.tokens["dr-ana"]),
                                   files={"file": ("a.jpg", b"\xff\xd8 any bytes", "image/jpeg")},
                                   data={"area_id": world.area["id"]}).status_code)  # fmt: skip

    threads = [threading.Thread(target=upload) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [201, 201, 201] and most[0] == 1
