"""Errors the records raise: each a :class:`RecordsError` (a ``ValueError``) whose message says why.

Whenever one is raised, nothing was changed (except the audit log, which records
refused and failed attempts too).
"""

from __future__ import annotations

__all__ = [
    "AccountLocked", "AuthenticationFailed", "CaptureDateMismatch", "DuplicatePhoto", "InvalidInput", "NotFound",
    "NeedsConfirmation", "PermissionDenied", "RecordsError", "StaleSelection", "StorageFull",
]  # fmt: skip


class RecordsError(ValueError):
    """A request the records cannot carry out; the message says why. Nothing was changed."""


class NotFound(RecordsError):
    pass


class InvalidInput(RecordsError):
    pass


class PermissionDenied(RecordsError):
    """The acting user may not do this, or the record does not exist and the user may not know that."""


class AuthenticationFailed(RecordsError):
    """A log-in that did not succeed: wrong user name or password, disabled account, bad invitation code."""


class AccountLocked(AuthenticationFailed):
    """Too many wrong passwords in a row: the account is locked until ``locked_until`` (UTC), even for the
    right password."""

    def __init__(self, message: str, locked_until=None):
        super().__init__(message)
        self.locked_until = locked_until


class StorageFull(RecordsError):
    """The disk holding the data folder (or the database) is full. Nothing was changed."""


class StaleSelection(InvalidInput):
    """The visit or area a photo was to be filed under is no longer what the user chose (deleted, or its
    date, treatment or name changed since it was shown). Nothing was filed."""


class NeedsConfirmation(InvalidInput):
    """A photo that may be filed by mistake; it is stored only when the caller confirms (the keyword
    named in :attr:`confirm_with`). Nothing was stored."""

    confirm_with = ""


class DuplicatePhoto(NeedsConfirmation):
    """The same photo (same sha256) is already in the record under another visit, area or patient.

    ``matches`` lists where, as ``(patient code, area, visit date)``."""

    confirm_with = "allow_duplicate"

    def __init__(self, message: str, matches=()):
        super().__init__(message)
        self.matches = list(matches)


class CaptureDateMismatch(NeedsConfirmation):
    """The photo's own capture date (EXIF) is far from the visit's date: probably another visit's photo."""

    confirm_with = "allow_date_mismatch"

    def __init__(self, message: str, captured_on=None, visit_date=None):
        super().__init__(message)
        self.captured_on, self.visit_date = captured_on, visit_date
