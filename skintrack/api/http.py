"""What every endpoint shares: the acting user from the token, versions (ETag / If-Match), pages, errors.

Errors are RFC 9457 *problem details* (``application/problem+json``): a
``title``, the HTTP ``status`` and a ``detail`` in words. What the records
refuse keeps their words; an unexpected failure is a 500 with a reference to
the server's log, never a traceback.

=====================================  ======
records / request error                status
=====================================  ======
no, unknown, revoked or expired token  401
``PermissionDenied``                   403
``NotFound``                           404
``InvalidInput``, ``PhotoError``,      422
bad fields, wrong types
malformed JSON                         400
``VersionConflict`` (If-Match)         412
no If-Match on a change                428
body larger than allowed               413
``StorageFull``                        507
other ``RecordsError`` (try again)     409
=====================================  ======
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Callable, Iterable

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..intake.photo import PhotoError
from ..records import (
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Records,
    RecordsError,
    StorageFull,
)
from ..records.versions import PreconditionNotChecked, VersionConflict
from .schemas import Page

__all__ = ["ActorDep", "IdPath", "Limit", "Offset", "RecordsDep", "etag", "install_error_handlers", "page", "required_version"]

log = logging.getLogger("skintrack.api")

_bearer = HTTPBearer(auto_error=False, description="An API token (`skintrack tokens create`): `Authorization: Bearer skt_...`")
PROBLEM = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 412: "Precondition Failed", 413: "Content Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 428: "Precondition Required", 500: "Internal Server Error",
           507: "Insufficient Storage"}  # fmt: skip


def problem(status: int, detail: str, *, headers: dict | None = None, errors: list | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


# --------------------------------------------------------------------------- who acts


def records_of(request: Request) -> Records:
    return request.app.state.records


RecordsDep = Annotated[Records, Depends(records_of)]


def current_actor(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)):
    """The :class:`~skintrack.records.Actor` the request's bearer token acts as (401 without a valid one)."""
    if credentials is None:
        raise HTTPException(401, "An API token is required: send `Authorization: Bearer <token>`.",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return records_of(request).authenticate_token(credentials.credentials)


ActorDep = Annotated[Any, Depends(current_actor)]
IdPath = Annotated[str, Path(min_length=1, max_length=64, description="A record id (UUID).")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Skip this many items.")]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items (1-500).")]


# --------------------------------------------------------------------------- versions


def etag(version: str) -> str:
    return f'"{version}"'


def required_version(
    if_match: Annotated[str | None, Header(description='The ETag (or "version") you read; "*" to change it whatever it is now.')] = None,
) -> tuple[str, ...] | None:
    """The versions the client allows (``If-Match``), or None for ``*``. A change without it is refused (428):
    two people editing the same record must not overwrite each other unknowingly."""
    if if_match is None or not if_match.strip():
        raise HTTPException(428, "Send If-Match with the ETag (the record's version) you read, or If-Match: * "
                                 "to change it whatever it is now.")  # fmt: skip
    text = if_match.strip()
    if text == "*":
        return None
    versions = []
    for part in text.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            continue  # a weak tag never matches (If-Match compares strongly)
        versions.append(tag.strip('"'))
    return tuple(versions) or ("",)


VersionDep = Annotated[tuple[str, ...] | None, Depends(required_version)]


# --------------------------------------------------------------------------- pages


def page(request: Request, items: list, offset: int, limit: int, convert: Callable[[Any], Any]) -> Page:
    """One page of ``items`` (already filtered by the records' permission checks)."""
    chosen = [convert(item) for item in items[offset : offset + limit]]
    following = None
    if offset + limit < len(items):
        following = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    return Page(items=chosen, total=len(items), offset=offset, limit=limit, next=following)


def link_header(result: Page) -> dict[str, str]:
    return {"Link": f'<{result.next}>; rel="next"'} if result.next else {}


# --------------------------------------------------------------------------- errors


def _validation_errors(errors: Iterable[dict]) -> list[dict]:
    """FastAPI's validation errors without the submitted input (it may be huge, or a photo)."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]


def install_error_handlers(app) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = _validation_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(400, "The request body is not valid JSON.", errors=errors)
        words = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:] or e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, f"Some fields are not valid: {words}.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(AuthenticationFailed)
    async def _unauthenticated(request: Request, exc: AuthenticationFailed):
        return problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    @app.exception_handler(PermissionDenied)
    async def _forbidden(request: Request, exc: PermissionDenied):
        return problem(403, str(exc))

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return problem(404, str(exc))

    @app.exception_handler(InvalidInput)
    async def _invalid_input(request: Request, exc: InvalidInput):
        return problem(422, str(exc))

    @app.exception_handler(PhotoError)
    async def _bad_photo(request: Request, exc: PhotoError):
        return problem(422, f"The photo cannot be used: {exc}")

    @app.exception_handler(VersionConflict)
    async def _conflict(request: Request, exc: VersionConflict):
        headers = {"ETag": etag(exc.current)} if exc.current else None
        return problem(412, str(exc), headers=headers)

    @app.exception_handler(StorageFull)
    async def _full(request: Request, exc: StorageFull):
        return problem(507, str(exc))

    @app.exception_handler(RecordsError)
    async def _records_error(request: Request, exc: RecordsError):
        return problem(409, str(exc))

    @app.exception_handler(PreconditionNotChecked)
    async def _unchecked(request: Request, exc: PreconditionNotChecked):
        return _internal(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return _internal(exc)


def _internal(exc: BaseException) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.error("unexpected error %s", reference, exc_info=(type(exc), exc, exc.__traceback__))
    return problem(500, f"Something went wrong on the server; nothing you sent was lost. Reference {reference} "
                        "in the server's log.")  # fmt: skip
