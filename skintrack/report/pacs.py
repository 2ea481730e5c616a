"""Send a session's DICOM photos to a PACS: DIMSE C-STORE (pynetdicom) or DICOMweb STOW-RS.

The instances are those of :func:`skintrack.report.dicom.session_datasets`
(VL Photographic Image, one study per session, one series per area; UIDs
derived from the record ids, so sending again updates the PACS's copy
instead of duplicating it).

Failures are retried and reported, never silently dropped: a connection that
cannot be opened, an association that is aborted or rejected for now, a timeout or an
HTTP 5xx is tried again (``retries`` more times, waiting ``backoff`` seconds,
doubling), and only the instances not yet stored are sent again. The result
(:class:`SendReport`) lists every instance with its outcome, the attempts it
took and the PACS's own words when it refused one. Passwords in a destination
address never appear in a report or an error.

Destinations
------------
``dicom://AET@host:port`` (or ``AET@host:port``)
    C-STORE to the PACS whose application entity title is ``AET``; skintrack calls
    itself ``SKINTRACK`` unless ``calling_aet`` is given.
``http(s)://[user:password@]host[:port]/dicom-web``
    STOW-RS to that DICOMweb root (``POST {root}/studies``); credentials in the address
    are sent as HTTP basic authentication, or pass ``headers`` (e.g. a bearer token).

References
----------
DICOM PS3.4 Annex B (Storage Service Class), PS3.7 9.1.1 (C-STORE),
PS3.18 10.5 (Store Transaction, STOW-RS).
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Sequence

__all__ = [
    "CALLING_AET",
    "PacsError",
    "SendReport",
    "SentInstance",
    "send_cstore",
    "send_datasets",
    "send_session",
    "send_stow",
]

#: The application entity title skintrack uses when it calls a PACS.
CALLING_AET = "SKINTRACK"
_AET = re.compile(r"^[\x20-\x7e]{1,16}$")
_SUCCESS_CODES = {0x0000}
_WARNING_CODES = {0x0001, 0x0107, 0x0116, 0xB000, 0xB006, 0xB007}
_REJECTED_PERMANENT = 0x01  # A-ASSOCIATE-RJ result (PS3.8 9.3.4); 0x02 is transient and worth another try


class PacsError(ValueError):
    """A destination skintrack cannot use (a bad address); the message says why. Nothing was sent."""


@dataclass
class SentInstance:
    """One DICOM instance and what became of it."""

    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    stored: bool = False
    attempts: int = 0
    status: str = "not sent"  #: "stored", "stored with warning", "refused", "failed"
    detail: str = ""  #: the PACS's status or the error of the last attempt


@dataclass
class SendReport:
    """What a send did: per instance, stored or not and why."""

    destination: str  #: without any password
    protocol: str  #: "C-STORE" or "STOW-RS"
    instances: list[SentInstance] = field(default_factory=list)
    attempts: int = 0  #: connections (associations or HTTP requests) made
    errors: list[str] = field(default_factory=list)  #: what went wrong on each failed attempt

    @property
    def ok(self) -> bool:
        """True when every instance was stored."""
        return all(i.stored for i in self.instances)

    @property
    def stored(self) -> int:
        return sum(i.stored for i in self.instances)

    def summary(self) -> str:
        text = f"{self.stored} of {len(self.instances)} instances stored on {self.destination} ({self.protocol})"
        failed = [i for i in self.instances if not i.stored]
        if failed:
            text += f"; {len(failed)} not stored: {failed[0].detail or failed[0].status}"
            if self.attempts > 1:
                text += f" (after {self.attempts} attempts)"
        return text


def _safe_url(url: str) -> str:
    """``url`` without its password."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_dicom_destination(address: str) -> tuple[str, str, int]:
    """``dicom://AET@host:port`` or ``AET@host:port`` → (AET, host, port)."""
    text = address[len("dicom://") :] if address.lower().startswith("dicom://") else address
    match = re.fullmatch(r"(?P<aet>[^@]+)@(?P<host>\[[0-9a-fA-F:]+\]|[^:@/]+):(?P<port>\d{1,5})", text.strip())
    if not match:
        raise PacsError(f"{address!r} is not a DICOM destination; write it as dicom://AET@host:port.")
    aet, host, port = match["aet"].strip(), match["host"].strip("[]"), int(match["port"])
    if not _AET.match(aet) or "\\" in aet:
        raise PacsError(f"{aet!r} is not an application entity title (1 to 16 printable characters).")
    if not 0 < port < 65536:
        raise PacsError(f"{port} is not a TCP port.")
    return aet, host, port


def _instances(datasets: Sequence) -> list[SentInstance]:
    return [SentInstance(str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)) for ds in datasets]


def _encode(ds) -> bytes:
    from pydicom.filewriter import dcmwrite

    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _as_written(ds):
    from pydicom import dcmread

    return dcmread(io.BytesIO(_encode(ds)))


def _wait(backoff: float, attempt: int) -> None:
    if backoff > 0:
        time.sleep(backoff * 2 ** (attempt - 1))


# --------------------------------------------------------------------------- C-STORE


def send_cstore(
    datasets: Sequence,
    host: str,
    port: int,
    called_aet: str,
    *,
    calling_aet: str = CALLING_AET,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
) -> SendReport:
    """C-STORE ``datasets`` (pydicom Datasets) to the PACS ``called_aet`` at ``host:port``.

    Parameters
    ----------
    retries : int
        Further attempts after a failed one (a connection refused, an association
        aborted or rejected as transient, a timeout, a store that failed). A PACS
        that rejects the association for good (an unknown AE title) or refuses an
        instance for what it is (status 0xA9xx, 0xC...) is not asked again.
    backoff : float
        Seconds before the first retry, doubling each time.
    timeout : float
        Seconds for connecting, for each network read and for each C-STORE response.
    """
    from pynetdicom import AE
    from pynetdicom.sop_class import VLPhotographicImageStorage  # noqa: F401 (registered UIDs)

    for aet in (called_aet, calling_aet):
        if not _AET.match(aet or "") or "\\" in aet:
            raise PacsError(f"{aet!r} is not an application entity title (1 to 16 printable characters).")
    report = SendReport(f"{called_aet}@{host}:{port}", "C-STORE", _instances(datasets))
    if not datasets:
        return report
    # Send each instance exactly as the file export writes it (encoded, then read back): the in-memory
    # dataset lacks the encoding state pynetdicom needs for encapsulated (JPEG) pixel data.
    datasets = [_as_written(ds) for ds in datasets]
    contexts: dict[str, set[str]] = {}
    for ds in datasets:
        contexts.setdefault(str(ds.SOPClassUID), set()).add(str(ds.file_meta.TransferSyntaxUID))
    pending = list(range(len(datasets)))
    for attempt in range(1, retries + 2):
        if attempt > 1:
            _wait(backoff, attempt - 1)
        report.attempts = attempt
        ae = AE(ae_title=calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
        ae.connection_timeout = timeout
        for sop_class, syntaxes in contexts.items():
            for syntax in sorted(syntaxes):
                ae.add_requested_context(sop_class, [syntax])
        try:  # a plain TCP connect first: "connection refused" says more than pynetdicom's "aborted"
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            assoc, error = None, f"attempt {attempt}: cannot connect to {host}:{port}: {exc.strerror or exc}"
        else:
            assoc, error = ae.associate(host, port, ae_title=called_aet), None
        if assoc is None or not assoc.is_established:
            status = "failed"
            if assoc is not None and assoc.is_rejected:
                answer = getattr(assoc.acceptor, "primitive", None)  # the A-ASSOCIATE-RJ the PACS sent
                reason = getattr(answer, "reason_str", "") or f"called AE title {called_aet!r}?"
                error = f"attempt {attempt}: the PACS rejected the association ({reason})"
                if getattr(answer, "result", None) == _REJECTED_PERMANENT:  # asking again gets the same answer
                    status = "refused"
            elif assoc is not None and assoc.is_aborted:
                error = f"attempt {attempt}: the association was aborted"
            else:
                error = error or f"attempt {attempt}: no association with {called_aet}@{host}:{port} (connection refused or timed out)"
            report.errors.append(error)
            for index in pending:
                report.instances[index].attempts = attempt
                report.instances[index].status, report.instances[index].detail = status, error
            if status == "refused":
                break
            continue
        still: list[int] = []
        try:
            for index in pending:
                instance = report.instances[index]
                instance.attempts = attempt
                try:
                    status = assoc.send_c_store(datasets[index])
                except (RuntimeError, ValueError, OSError) as exc:
                    instance.status, instance.detail = "failed", f"attempt {attempt}: {exc}"
                    still.append(index)
                    continue
                code = int(getattr(status, "Status", -1)) if status else -1
                if code in _SUCCESS_CODES:
                    instance.stored, instance.status, instance.detail = True, "stored", ""
                elif code in _WARNING_CODES:
                    instance.stored, instance.status = True, "stored with warning"
                    instance.detail = f"status 0x{code:04X}" + _comment(status)
                elif code == -1:  # no response: timed out or the association dropped
                    instance.status, instance.detail = "failed", f"attempt {attempt}: no response to C-STORE"
                    still.append(index)
                else:
                    instance.status, instance.detail = "refused", f"the PACS refused it: status 0x{code:04X}" + _comment(status)
                    if (code & 0xF000) == 0xA000 and (code & 0xFF00) == 0xA700:  # out of resources: worth another try
                        still.append(index)
        finally:
            if assoc.is_established:
                assoc.release()
        if still:
            report.errors.append(f"attempt {attempt}: {len(still)} instances not stored")
        pending = still
        if not pending:
            break
    return report


def _comment(status) -> str:
    comment = getattr(status, "ErrorComment", None)
    return f" ({comment})" if comment else ""


# --------------------------------------------------------------------------- STOW-RS


def send_stow(
    datasets: Sequence,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> SendReport:
    """STOW-RS ``datasets`` to the DICOMweb root ``url`` (``POST {url}/studies``, multipart/related).

    Credentials in ``url`` (``http://user:password@host/dicom-web``) are sent as basic
    authentication. The PACS's answer (``application/dicom+json``) says which
    instances it stored (ReferencedSOPSequence) and which it refused, and why
    (FailedSOPSequence, FailureReason); a connection error, timeout or 5xx is retried.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PacsError(f"{_safe_url(url)!r} is not a DICOMweb address (http(s)://host[:port]/path).")
    report = SendReport(_safe_url(url), "STOW-RS", _instances(datasets))
    if not datasets:
        return report
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    endpoint = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/studies", "", ""))
    base_headers = {"Accept": "application/dicom+json", **(headers or {})}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        base_headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    encoded = [_encode(ds) for ds in datasets]
    pending = list(range(len(datasets)))
    for attempt in range(1, retries + 2):
        if attempt > 1:
            _wait(backoff, attempt - 1)
        report.attempts = attempt
        boundary = f"skintrack-{uuid.uuid4().hex}"
        body = b"".join(
            b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + encoded[i] + b"\r\n" for i in pending
        ) + b"--" + boundary.encode() + b"--\r\n"
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            **base_headers, "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})  # fmt: skip
        for index in pending:
            report.instances[index].attempts = attempt
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read() if exc.fp else b""
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"attempt {attempt}: cannot reach {_safe_url(url)}: {reason}"
            report.errors.append(error)
            for index in pending:
                report.instances[index].status, report.instances[index].detail = "failed", error
            continue
        answered = _stow_answer(payload)
        if status in (401, 403):
            error = f"attempt {attempt}: the DICOMweb server refused the credentials (HTTP {status})"
            report.errors.append(error)
            for index in pending:
                report.instances[index].status, report.instances[index].detail = "refused", error
            break  # wrong credentials do not get better by retrying
        if status >= 500 or status in (408, 429):
            error = f"attempt {attempt}: HTTP {status} from the DICOMweb server"
            report.errors.append(error)
            for index in pending:
                report.instances[index].status, report.instances[index].detail = "failed", error
            continue
        still = []
        for index in pending:
            instance = report.instances[index]
            uid = instance.sop_instance_uid
            if uid in answered["stored"]:
                instance.stored, instance.status, instance.detail = True, "stored", ""
            elif uid in answered["failed"]:
                instance.status, instance.detail = "refused", f"the PACS refused it: {answered['failed'][uid]}"
            elif status == 200 and not answered["stored"] and not answered["failed"]:
                # A server that answers 200 without the (optional) instance list stored them all.
                instance.stored, instance.status, instance.detail = True, "stored", "HTTP 200 without details"
            else:
                instance.status, instance.detail = "failed", f"attempt {attempt}: HTTP {status}, not in the answer"
                still.append(index)
        if still:
            report.errors.append(f"attempt {attempt}: HTTP {status}; {len(still)} instances not confirmed")
        pending = still
        if not pending:
            break
    return report


def _stow_answer(payload: bytes) -> dict:
    """The STOW-RS response (DICOM JSON): {"stored": set of SOP instance UIDs, "failed": {uid: reason}}."""
    answer: dict = {"stored": set(), "failed": {}}
    try:
        data = json.loads(payload.decode("utf-8")) if payload else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return answer
    if isinstance(data, list):
        data = data[0] if data and isinstance(data[0], dict) else {}
    if not isinstance(data, dict):
        return answer
    for item in (data.get("00081199") or {}).get("Value", []) or []:
        uid = ((item or {}).get("00081155") or {}).get("Value", [None])[0]
        if uid:
            answer["stored"].add(str(uid))
    for item in (data.get("00081198") or {}).get("Value", []) or []:
        uid = ((item or {}).get("00081155") or {}).get("Value", [None])[0]
        reason = ((item or {}).get("00081197") or {}).get("Value", [None])[0]
        if uid:
            answer["failed"][str(uid)] = f"failure reason 0x{int(reason):04X}" if isinstance(reason, int) else "refused"
    return answer


# --------------------------------------------------------------------------- a session


def send_datasets(datasets: Sequence, destination: str, **options) -> SendReport:
    """Send to ``destination``: ``dicom://AET@host:port`` (C-STORE) or an ``http(s)://`` DICOMweb root (STOW-RS)."""
    if re.match(r"^https?://", destination, re.I):
        options.pop("calling_aet", None)
        return send_stow(datasets, destination, **options)
    options.pop("headers", None)
    aet, host, port = parse_dicom_destination(destination)
    return send_cstore(datasets, host, port, aet, **options)


def send_session(
    records,
    actor,
    session_id: str,
    destination: str,
    *,
    area_id: str | None = None,
    include_name: bool = False,
    **options,
) -> SendReport:
    """Send a session's photos (:func:`skintrack.report.dicom.session_datasets`) to ``destination``.

    An export (providers and admins), written to the audit log with its outcome (``export``: where to, how
    many instances stored). ``options`` go to :func:`send_cstore` / :func:`send_stow` (``retries``,
    ``backoff``, ``timeout``, ``calling_aet``, ``headers``).
    """
    from .dicom import session_datasets

    datasets = session_datasets(records, actor, session_id, area_id=area_id, include_name=include_name)
    report = send_datasets(datasets, destination, **options)
    session = records.get_session(actor, session_id)
    records.note_export(actor, session.patient_id, f"DICOM of {session.date.isoformat()} to {report.destination}: "
                                                   f"{report.summary()}")  # fmt: skip
    return report
