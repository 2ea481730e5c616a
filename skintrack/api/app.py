"""The FastAPI application: the routers, the error handlers, the limits on what a request may send.

:func:`create_app` builds it around one :class:`~skintrack.records.Records`
(the same service layer and permission checks as the app and the command
line). ``skintrack api`` serves it with uvicorn on localhost
(:mod:`skintrack.api.server`).
"""

from __future__ import annotations

import os
import threading

from fastapi import FastAPI
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._version import __version__
from ..intake.photo import MAX_FILE_BYTES
from ..records import Records
from . import fhir, patients, photos
from .http import install_error_handlers, problem

__all__ = ["API_PREFIX", "MAX_REQUEST_BYTES", "create_app"]

API_PREFIX = "/api/v1"
#: Largest request body: the largest photo intake accepts, plus room for the form around it.
MAX_REQUEST_BYTES = MAX_FILE_BYTES + 1024 * 1024


def measuring_slots() -> int:
    """Photos one server process measures at once (``$SKINTRACK_API_MEASURING``, default: its CPUs; ``skintrack
    api --workers N`` shares the CPUs out among its N processes). More uploads wait their turn, first come first
    served: memory stays bounded and the earliest upload is answered first."""
    value = os.environ.get("SKINTRACK_API_MEASURING", "")
    return max(1, int(value)) if value.strip().isdigit() else max(1, os.cpu_count() or 1)

DESCRIPTION = """\
The skintrack records over HTTP: patients, treated areas, visits, photos (upload → scores), progress,
reports, and a FHIR R4 view. Every request acts as the account of its **API token**
(`Authorization: Bearer skt_…`; make one with `skintrack tokens create USER --name …`), with that
account's role: a patient's token reads only that patient's record.

* Lists are paged: `offset`, `limit` (≤ 500); the answer has `total` and `next` (also a `Link` header).
* Records that can change carry a `version`, also sent as `ETag`. A change (PATCH, PUT, DELETE) must
  quote it in `If-Match`: if someone changed the record meanwhile the answer is **412** and nothing
  changes; without `If-Match` it is **428** (`If-Match: *` changes it whatever it is now).
* Errors are problem details (`application/problem+json`) with a `detail` in words.

Not a medical device; not for diagnosis.
"""


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes (413) before they are read: by ``Content-Length``,
    and while streaming for chunked requests (which declare no length)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await problem(400, "The Content-Length header is not a valid length.")(scope, _drain, send)
                return
            if declared > self.limit:
                await self._refuse(scope, send, declared)
                return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Answer 413 now and tell the app the client is gone: it stops reading.
                    refused = True
                    if not started:
                        await self._refuse(scope, send, received)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # 413 was sent already; whatever the app says after is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send, size: int) -> None:
        response = problem(413, f"The request body is more than {self.limit // 2**20} MiB; photos up to "
                                f"{MAX_FILE_BYTES // 2**20} MiB are accepted.")
        response.headers["Connection"] = "close"
        await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}


class _FairSlots:
    """A semaphore whose waiters get in in the order they came (``threading.Semaphore`` promises no order)."""

    def __init__(self, slots: int):
        self.slots = slots
        self._lock = threading.Lock()
        self._free = slots
        self._queue: list[threading.Event] = []

    def __enter__(self):
        with self._lock:
            if self._free > 0 and not self._queue:
                self._free -= 1
                return self
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()  # the slot is handed over by __exit__
        return self

    def __exit__(self, *exc):
        with self._lock:
            if self._queue:
                self._queue.pop(0).set()
            else:
                self._free += 1
        return False


class PrivateResponses:
    """Health data: no cache keeps a response (``Cache-Control: no-store``), and browsers never guess a type."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer")]  # fmt: skip
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(records: Records | None = None, *, fhir_names: bool | None = None, max_request_bytes: int = MAX_REQUEST_BYTES,
               measuring: int | None = None) -> FastAPI:
    """The REST API over ``records`` (default: ``Records()`` from ``$SKINTRACK_DATA`` / ``$SKINTRACK_DB_URL``).

    Parameters
    ----------
    fhir_names : bool, optional
        Name patients in FHIR resources (code, name, birth year). Default: ``$SKINTRACK_FHIR_NAMES`` ("1"), else
        pseudonymous.
    max_request_bytes : int
        Larger request bodies are refused with 413 before they are read.
    measuring : int, optional
        Photos measured at once by this process (default: :func:`measuring_slots`).
    """
    app = FastAPI(
        title="skintrack API", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json", license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
    )  # fmt: skip
    app.state.records = records if records is not None else Records()
    app.state.fhir_names = bool(fhir_names) if fhir_names is not None else os.environ.get("SKINTRACK_FHIR_NAMES") == "1"
    app.state.measuring = _FairSlots(measuring or measuring_slots())
    # Uploads stay in memory (the records read them whole anyway): a photo is never spooled to a temporary
    # file outside the data folder.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, max_request_bytes)
    install_error_handlers(app)
    app.include_router(patients.router)
    app.include_router(photos.router)
    app.include_router(fhir.router)

    @app.get("/healthz", tags=["service"], include_in_schema=True)
    def health() -> dict:
        """Whether the server is up and reaches its database (for load balancers; no token, no data)."""
        app.state.records.has_accounts()
        return {"status": "ok", "version": __version__}

    app.add_middleware(PrivateResponses)
    app.add_middleware(BodyLimit, limit=max_request_bytes)
    return app
