"""Patient records: SQLAlchemy database, content-addressed photo store, and the service layer.

Use :class:`Records` for every read and write; see :mod:`skintrack.records.service`.
"""

from .db import CONSENT_LEVELS, TREATMENTS
from .service import (
    Actor,
    AreaView,
    DoctorReport,
    InvalidInput,
    Measurement,
    NotFound,
    PatientView,
    PermissionDenied,
    PhotoView,
    Records,
    RecordsError,
    SessionView,
    StorageFull,
)

__all__ = [
    "CONSENT_LEVELS",
    "TREATMENTS",
    "Actor",
    "AreaView",
    "DoctorReport",
    "InvalidInput",
    "Measurement",
    "NotFound",
    "PatientView",
    "PermissionDenied",
    "PhotoView",
    "Records",
    "RecordsError",
    "SessionView",
    "StorageFull",
]
