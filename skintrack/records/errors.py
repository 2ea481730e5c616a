"""Errors the records raise: each a :class:`RecordsError` (a ``ValueError``) whose message says why.

Whenever one is raised, nothing was changed (except the audit log, which records
refused and failed attempts too).
"""

from __future__ import annotations

__all__ = ["AccountLocked", "AuthenticationFailed", "InvalidInput", "NotFound", "PermissionDenied", "RecordsError", "StorageFull"]


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
