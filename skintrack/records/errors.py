"""Errors the records raise: each a :class:`RecordsError` (a ``ValueError``) whose message says why.

Whenever one is raised, nothing was changed.
"""

from __future__ import annotations

__all__ = ["InvalidInput", "NotFound", "PermissionDenied", "RecordsError", "StorageFull"]


class RecordsError(ValueError):
    """A request the records cannot carry out; the message says why. Nothing was changed."""


class NotFound(RecordsError):
    pass


class InvalidInput(RecordsError):
    pass


class PermissionDenied(RecordsError):
    pass


class StorageFull(RecordsError):
    """The disk holding the data folder (or the database) is full. Nothing was changed."""
