"""Sending DICOM to a PACS (skintrack.report.pacs): C-STORE and STOW-RS to a real Orthanc, retries, reports.

The Orthanc tests run when ``.ci/start-orthanc.sh`` started one (``SKINTRACK_TEST_ORTHANC_URL`` and
``SKINTRACK_TEST_ORTHANC_DICOM`` set; ``.ci/run`` does); the retry and refusal tests need no PACS.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from skintrack.records import Actor, Records
from skintrack.report.dicom import session_datasets
from skintrack.report.pacs import (
    PacsError,
    parse_dicom_destination,
    send_cstore,
    send_datasets,
    send_session,
    send_stow,
)

from .conftest import REPO

ADMIN = Actor("op", role="admin", source="cli")
FIRST = REPO / "sample_images" / "2026-05-04_left-cheek.jpg"
ORTHANC_URL = os.environ.get("SKINTRACK_TEST_ORTHANC_URL")
ORTHANC_DICOM = os.environ.get("SKINTRACK_TEST_ORTHANC_DICOM")
needs_orthanc = pytest.mark.skipif(not (ORTHANC_URL and ORTHANC_DICOM), reason="no Orthanc (.ci/start-orthanc.sh)")


def _small_jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(FIRST).convert("RGB").resize((640, 480)).point(lambda v: min(255, v + shade)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def visit(tmp_path):
    """A patient (unique code: the PACS is shared by the tests) with one laser visit: left cheek and forehead."""
    records = Records(tmp_path / "data")
    code = f"P-PACS-{uuid.uuid4().hex[:8]}"
    patient = records.add_patient(ADMIN, code, "Zoë Ødegård")
    session = records.add_session(ADMIN, patient.id, "2026-05-04", "laser")
    for shade, name in enumerate(("left cheek", "forehead")):
        area = records.add_area(ADMIN, patient.id, name)
        records.add_photo(ADMIN, session.id, area.id, _small_jpeg(shade))
    yield records, patient, session
    records.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- Orthanc


def _orthanc(path: str, body: dict | None = None):
    parts = urllib.parse.urlsplit(ORTHANC_URL)
    url = f"{parts.scheme}://{parts.hostname}:{parts.port}{path}"
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None)
    credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password)}"
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
    return json.loads(data) if response.headers.get_content_type().endswith("json") else data


def _cfind(level: str, **keys) -> list:
    """C-FIND (Study Root) against the Orthanc, as a PACS client would query it."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    aet, host, port = parse_dicom_destination(ORTHANC_DICOM)
    ae = AE(ae_title="SKINTRACK-TEST")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel = level
    for name in ("PatientID", "StudyInstanceUID", "StudyDate", "SeriesInstanceUID", "Modality", "BodyPartExamined",
                 "SeriesDescription", "SOPInstanceUID"):  # fmt: skip
        setattr(query, name, keys.get(name, ""))
    assoc = ae.associate(host, port, ae_title=aet)
    assert assoc.is_established
    found = []
    try:
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01) and identifier is not None:
                found.append(identifier)
    finally:
        assoc.release()
    return found


def _check_arrived(records, patient, session) -> None:
    """The instances are in the PACS, queryable by C-FIND, with the right patient, study and series."""
    sent = session_datasets(records, ADMIN, session.id)
    studies = _cfind("STUDY", PatientID=patient.code)
    assert [str(s.StudyInstanceUID) for s in studies] == [str(sent[0].StudyInstanceUID)]
    assert studies[0].StudyDate == "20260504" and studies[0].PatientID == patient.code
    series = _cfind("SERIES", PatientID=patient.code, StudyInstanceUID=str(sent[0].StudyInstanceUID))
    assert {str(s.SeriesInstanceUID) for s in series} == {str(ds.SeriesInstanceUID) for ds in sent}
    assert {(s.Modality, s.BodyPartExamined, s.SeriesDescription) for s in series} == {
        ("XC", "CHEEK", "left cheek"), ("XC", "FACE", "forehead")}  # fmt: skip
    images = _cfind("IMAGE", PatientID=patient.code, StudyInstanceUID=str(sent[0].StudyInstanceUID),
                    SeriesInstanceUID=str(sent[0].SeriesInstanceUID))  # fmt: skip
    assert [str(i.SOPInstanceUID) for i in images] == [str(sent[0].SOPInstanceUID)]
    # And through Orthanc's REST API: the stored file holds the photo as sent.
    (instance,) = _orthanc("/tools/find", {"Level": "Instance", "Query": {"SOPInstanceUID": str(sent[0].SOPInstanceUID)}})
    from pydicom import dcmread

    stored = dcmread(io.BytesIO(_orthanc(f"/instances/{instance}/file")))
    assert stored.PatientID == patient.code and stored.PixelData == sent[0].PixelData
    assert str(stored.PatientName) == ""  # the name only when asked for


@needs_orthanc
def test_c_store_to_orthanc_arrives_and_is_queryable(visit):
    records, patient, session = visit
    report = send_session(records, ADMIN, session.id, f"dicom://{ORTHANC_DICOM}", retries=1, backoff=0.1)
    assert report.ok and report.stored == 2 and report.attempts == 1, report.summary()
    assert all(i.status == "stored" for i in report.instances)
    logged = records.audit_log(ADMIN, action="export")[0]
    assert logged.patient_code == patient.code and "2 of 2 instances stored on ORTHANC@" in logged.detail
    _check_arrived(records, patient, session)
    again = send_session(records, ADMIN, session.id, f"dicom://{ORTHANC_DICOM}", retries=0)
    assert again.ok
    study_uid = str(session_datasets(records, ADMIN, session.id)[0].StudyInstanceUID)
    assert len(_cfind("IMAGE", PatientID=patient.code, StudyInstanceUID=study_uid)) == 2  # updated, not duplicated


@needs_orthanc
def test_stow_rs_to_orthanc_arrives_and_is_queryable(visit):
    records, patient, session = visit
    report = send_session(records, ADMIN, session.id, f"{ORTHANC_URL}/dicom-web", retries=1, backoff=0.1)
    assert report.ok and report.stored == 2, report.summary()
    assert "***" in report.destination and urllib.parse.urlsplit(ORTHANC_URL).password not in report.summary()
    _check_arrived(records, patient, session)
    studies = _orthanc(f"/dicom-web/studies?PatientID={patient.code}")  # QIDO-RS
    assert [s["0020000D"]["Value"][0] for s in studies] == [str(session_datasets(records, ADMIN, session.id)[0].StudyInstanceUID)]


@needs_orthanc
def test_wrong_credentials_or_ae_title_are_refused_and_reported(visit):
    records, _, session = visit
    parts = urllib.parse.urlsplit(ORTHANC_URL)
    wrong = f"http://skintrack:wrong@{parts.hostname}:{parts.port}/dicom-web"
    report = send_session(records, ADMIN, session.id, wrong, retries=3, backoff=0.01)
    assert not report.ok and report.attempts == 1  # a wrong password does not get better by retrying
    assert all(i.status == "refused" and "401" in i.detail for i in report.instances)
    _, host, port = parse_dicom_destination(ORTHANC_DICOM)
    report = send_session(records, ADMIN, session.id, f"dicom://NOT-ORTHANC@{host}:{port}", retries=1, backoff=0.01)
    assert not report.ok and report.attempts == 1  # a permanent rejection is not asked again
    assert all(i.status == "refused" and "rejected the association" in i.detail for i in report.instances)


@needs_orthanc
def test_send_dicom_command(visit):
    records, patient, _ = visit
    command = [sys.executable, "-m", "skintrack", "send-dicom", patient.code, "--session", "2026-05-04", "--data",
               str(records.data_dir)]  # fmt: skip
    done = subprocess.run(command + ["--to", f"dicom://{ORTHANC_DICOM}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 of 2 instances stored" in done.stderr
    assert records.audit_log(ADMIN, action="export")[0].detail.startswith("DICOM of 2026-05-04 to ORTHANC@")


# --------------------------------------------------------------------------- failures (no PACS needed)


def test_a_closed_port_is_retried_and_reported(visit):
    records, patient, session = visit
    port = _free_port()  # nothing listens there
    report = send_session(records, ADMIN, session.id, f"dicom://PACS@127.0.0.1:{port}", retries=2, backoff=0.01, timeout=2)
    assert not report.ok and report.stored == 0 and report.attempts == 3
    assert len(report.errors) == 3 and all("cannot connect" in e for e in report.errors)
    assert all(i.attempts == 3 and i.status == "failed" for i in report.instances)
    assert "0 of 2 instances stored" in report.summary() and "after 3 attempts" in report.summary()
    stow = send_session(records, ADMIN, session.id, f"http://127.0.0.1:{port}/dicom-web", retries=1, backoff=0.01, timeout=2)
    assert not stow.ok and stow.attempts == 2 and "cannot reach" in stow.errors[0]
    command = [sys.executable, "-m", "skintrack", "send-dicom", patient.code, "--session", "2026-05-04", "--to",
               f"dicom://PACS@127.0.0.1:{port}", "--retries", "1", "--timeout", "2", "--data", str(records.data_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert sum(line.startswith("not stored: 2.25.") for line in done.stderr.splitlines()) == 2  # each instance, with why


def test_a_pacs_that_rejects_the_ae_title_for_good_is_asked_once_and_its_reason_reported(visit):
    from pynetdicom import AE
    from pynetdicom.sop_class import VLPhotographicImageStorage

    records, _, session = visit
    scp = AE(ae_title="REALPACS")
    scp.require_called_aet = True  # any other called AE title: A-ASSOCIATE-RJ, rejected permanent
    scp.add_supported_context(VLPhotographicImageStorage)
    server = scp.start_server(("127.0.0.1", 0), block=False)
    try:
        port = server.server_address[1]
        report = send_session(records, ADMIN, session.id, f"dicom://WRONGPACS@127.0.0.1:{port}", retries=3, backoff=0.01, timeout=5)
    finally:
        server.shutdown()
    assert not report.ok and report.stored == 0 and report.attempts == 1
    assert all(i.status == "refused" and i.attempts == 1 for i in report.instances)
    assert all("rejected the association" in i.detail and "AE title" in i.detail for i in report.instances)


class _FakeStow(BaseHTTPRequestHandler):
    """A DICOMweb server that answers each POST with the next of ``answers``: (status, body builder)."""

    answers: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Content-Type"), body))
        status, build = type(self).answers.pop(0)
        payload = json.dumps(build(body)).encode() if build else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def _uids_in(body: bytes) -> list[str]:
    from pydicom import dcmread

    boundary = body.split(b"\r\n", 1)[0]
    parts = [p for p in body.split(boundary) if b"application/dicom" in p[:200]]
    return [str(dcmread(io.BytesIO(p.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0])).SOPInstanceUID) for p in parts]


def _stored(uids: list[str], failed: dict[str, int] | None = None) -> dict:
    answer = {"00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [u]}} for u in uids if u not in (failed or {})]}}
    if failed:
        answer["00081198"] = {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [u]},
                                                     "00081197": {"vr": "US", "Value": [code]}} for u, code in failed.items()]}  # fmt: skip
    return answer


@pytest.fixture
def fake_stow():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeStow)
    _FakeStow.answers, _FakeStow.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:p%40ss@127.0.0.1:{server.server_address[1]}/dicom-web"
    server.shutdown()
    server.server_close()


def test_stow_retries_a_server_error_and_sends_only_what_is_missing(visit, fake_stow):
    records, _, session = visit
    datasets = session_datasets(records, ADMIN, session.id)
    uids = [str(ds.SOPInstanceUID) for ds in datasets]
    _FakeStow.answers = [
        (503, None),  # busy: try again
        (202, lambda body: _stored(_uids_in(body)[:1])),  # accepted one, said nothing of the other
        (200, lambda body: _stored(_uids_in(body))),
    ]
    report = send_stow(datasets, fake_stow, retries=3, backoff=0.01)
    assert report.ok and report.attempts == 3, report.summary()
    paths, auths, types, bodies = zip(*_FakeStow.seen)
    assert set(paths) == {"/dicom-web/studies"} and set(auths) == {"Basic " + base64.b64encode(b"user:p@ss").decode()}
    assert all(t.startswith('multipart/related; type="application/dicom"; boundary=') for t in types)
    assert [_uids_in(b) for b in bodies] == [uids, uids, uids[1:]]  # the third attempt sent only the missing one


def test_stow_reports_what_the_pacs_refused_and_why(visit, fake_stow):
    records, _, session = visit
    datasets = session_datasets(records, ADMIN, session.id)
    refused = str(datasets[1].SOPInstanceUID)
    _FakeStow.answers = [(409, lambda body: _stored(_uids_in(body), {refused: 0xA900}))]
    report = send_stow(datasets, fake_stow, retries=3, backoff=0.01)
    assert report.attempts == 1 and report.stored == 1
    assert report.instances[1].status == "refused" and "0xA900" in report.instances[1].detail


def test_bad_destinations_are_refused_before_anything_is_sent(visit):
    records, _, session = visit
    for destination in ("pacs.example.org", "dicom://host:104", "dicom://AE@host:99999", "dicom://" + "A" * 17 + "@h:104",
                        "ftp://pacs/dicom-web", "http:///nohost"):  # fmt: skip
        with pytest.raises(PacsError):
            send_session(records, ADMIN, session.id, destination, retries=0)
    assert parse_dicom_destination("dicom://PACS@[::1]:104") == ("PACS", "::1", 104)
    assert send_datasets([], "dicom://PACS@127.0.0.1:1").ok  # nothing to send: nothing fails
    with pytest.raises(PacsError):
        send_cstore([], "127.0.0.1", 104, "BAD\\AE")
