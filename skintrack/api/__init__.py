"""The REST API (FastAPI) over the records service, with a FHIR R4 view.

=================  ==========================================================
``app.py``         :func:`create_app`: routers, error handlers, request limits
``http.py``        the token's actor, ETag / If-Match, pages, problem details
``schemas.py``     request and response models (the OpenAPI schema)
``patients.py``    ``/api/v1/patients``, areas, ``/api/v1/visits``, tokens
``photos.py``      uploads, photo files, scores, progress, reports, exports
``fhir.py``        ``/fhir/metadata``, ``/fhir/Patient/{id}[/$everything]``
``server.py``      ``skintrack api``: uvicorn on localhost
=================  ==========================================================

Every endpoint goes through :class:`skintrack.records.Records` with the
:class:`~skintrack.records.Actor` of the request's API token, so the API has
exactly the app's permissions, validation and audit log.
"""

from .app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
