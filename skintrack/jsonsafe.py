"""The one NaN-to-JSON-null cleaner: numbers that are not finite become ``None`` (JSON ``null``).

Strict JSON (PostgreSQL's ``json`` type, browsers, FHIR) has no NaN or Infinity; skintrack's
engine uses NaN for "not computable". Everything stored or sent as JSON goes through
:func:`finite` (one number) or :func:`plain` (a nested value). Only numbers are touched: a
string such as ``"NaN clinic"`` stays as it is.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["finite", "plain"]


def finite(value: Any) -> float | None:
    """``float(value)``, or ``None`` for ``None``, NaN and ±Infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def plain(value: Any) -> Any:
    """Plain JSON types only: mappings, lists, strings, numbers, booleans, ``None``.

    Floats that are not finite become ``None``; tuples become lists; keys and any other object
    (a date, a path) become their ``str`` (as ``json.dumps(..., default=str)`` writes them).
    """
    return json.loads(json.dumps(_finite_floats(value), default=str, allow_nan=False))


def _finite_floats(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_floats(item) for item in value]
    return value
