"""Patient records: SQLAlchemy database, content-addressed photo store, accounts, audit log, and the
service layer.

Use :class:`Records` for every read and write; see :mod:`skintrack.records.service`.
"""

from .db import CONSENT_LEVELS, TREATMENTS
from .errors import CaptureDateMismatch, DuplicatePhoto, NeedsConfirmation, StaleSelection
from .service import (
    AccountLocked,
    Actor,
    AreaView,
    AuditEntry,
    AuthenticationFailed,
    DoctorReport,
    InvalidInput,
    Invitation,
    Measurement,
    NotFound,
    PatientView,
    PermissionDenied,
    PhotoView,
    Records,
    RecordsError,
    SessionView,
    StorageFull,
    UncheckedCall,
    UserView,
)
from .views import ROLES

__all__ = [
    "CONSENT_LEVELS",
    "ROLES",
    "TREATMENTS",
    "AccountLocked",
    "Actor",
    "AreaView",
    "AuditEntry",
    "AuthenticationFailed",
    "CaptureDateMismatch",
    "DoctorReport",
    "DuplicatePhoto",
    "InvalidInput",
    "Invitation",
    "Measurement",
    "NeedsConfirmation",
    "NotFound",
    "PatientView",
    "PermissionDenied",
    "PhotoView",
    "Records",
    "RecordsError",
    "SessionView",
    "StaleSelection",
    "UncheckedCall",
    "UserView",
    "StorageFull",
]
