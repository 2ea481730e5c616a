"""What the records accept: the same rules on SQLite and PostgreSQL, checked before the database sees a value.

PostgreSQL refuses a code longer than its column (``DataError``) or any text
holding a NUL character, while SQLite stores both; neither can store a lone
UTF-16 surrogate. Every text the records store or search for passes through
:func:`text` first, so both databases accept exactly the same values and a
refusal is always an :class:`~skintrack.records.InvalidInput` saying which
field and why.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from .errors import InvalidInput

__all__ = [
    "ID_PATTERN",
    "MAX_CODE",
    "MAX_NAME",
    "MAX_NOTES",
    "MAX_SETTINGS",
    "MAX_VIEW",
    "integer",
    "is_id",
    "parse_date",
    "patient_code",
    "settings",
    "text",
]

#: Longest patient code (the column is ``VARCHAR(64)``).
MAX_CODE = 64
#: Longest name: patient display name, area, provider, user (``VARCHAR(200)``).
MAX_NAME = 200
#: Longest photo view label (``VARCHAR(64)``).
MAX_VIEW = 64
#: Longest free text (notes): about ten pages.
MAX_NOTES = 20_000
#: Most entries in a session's treatment settings.
MAX_SETTINGS = 50
#: Record ids: what :func:`uuid.uuid4` writes (and archives carry).
ID_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,36}$")

_ALLOWED_IN_NOTES = {"\n", "\r", "\t"}


def text(value: Any, field: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
    """``value`` as text the records can store, or :class:`InvalidInput` naming ``field``.

    Refused: anything but ``str``; control characters (NUL and the rest of
    Unicode category Cc; line breaks and tabs are allowed where
    ``multiline``); lone surrogates; more than ``max_length`` characters
    (counted as PostgreSQL counts them, in code points); empty when
    ``required``.
    """
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}.")
    if len(value) > max_length:
        raise InvalidInput(f"{field} is {len(value)} characters long; at most {max_length} are allowed.")
    for character in value:
        if unicodedata.category(character) == "Cc" and not (multiline and character in _ALLOWED_IN_NOTES):
            raise InvalidInput(f"{field} contains a control character ({character!r}); remove it.")
        if "\ud800" <= character <= "\udfff":
            raise InvalidInput(f"{field} contains an invalid character (a lone surrogate); remove it.")
    if required and not value.strip():
        raise InvalidInput(f"{field} is required.")
    return value


#: Unicode categories refused in a patient code besides control characters: format characters
#: (zero-width spaces and joiners, bidi overrides and isolates, soft hyphen), private use,
#: unassigned code points, line and paragraph separators, and combining marks NFKC leaves
#: standing alone (the combining grapheme joiner, variation selectors: invisible too).
_REFUSED_IN_CODES = {"Cf", "Co", "Cn", "Zl", "Zp", "Mn", "Me"}


def patient_code(value: Any, field: str = "The patient code") -> str:
    """A patient code as stored: NFKC-normalised, trimmed, without invisible or direction-changing characters.

    ``"DEMO-001\u200b"`` (a zero-width space) or ``"\u202eDEMO-001"`` (a
    right-to-left override) would look like ``DEMO-001`` on screen and in
    print while being another patient. NFKC folds look-alike forms
    (full-width ``ＤＥＭＯ－００１``, ligatures, non-breaking spaces) into their
    plain form, so two codes that read the same are the same code; format
    characters (Unicode category Cf), private-use, unassigned and
    separator characters other than the plain space are refused with
    :class:`InvalidInput`, as is anything :func:`text` refuses.
    """
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
    value = text(value, field, max_length=MAX_CODE, required=True)
    for character in value:
        category = unicodedata.category(character)
        if category in _REFUSED_IN_CODES or (category == "Zs" and character != " "):
            raise InvalidInput(
                f"{field} contains an invisible or direction-changing character (U+{ord(character):04X}); "
                "type the code again without it."
            )
    return value


def integer(value: Any, field: str, low: int, high: int) -> int | None:
    """``value`` as an int within ``[low, high]`` (None stays None), or :class:`InvalidInput`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidInput(f"{field} must be a whole number between {low} and {high}.")
    try:
        number = int(value) if not isinstance(value, float) else value
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number between {low} and {high}.") from None
    if isinstance(number, float) and (not math.isfinite(number) or number != int(number)):
        raise InvalidInput(f"{field} must be a whole number between {low} and {high}.")
    number = int(number)
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be between {low} and {high}.")
    return number


def is_id(value: Any) -> bool:
    """True when ``value`` has the shape of a record id (it may still not exist)."""
    return isinstance(value, str) and bool(ID_PATTERN.match(value))


def settings(values: Any) -> dict:
    """Treatment settings: at most :data:`MAX_SETTINGS` entries of short names and simple values.

    Values may be text (as :func:`text`, up to :data:`MAX_NAME` characters),
    finite numbers, booleans or None: what both databases store as JSON.
    """
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidInput("Treatment settings must be a mapping of names to values.")
    if len(values) > MAX_SETTINGS:
        raise InvalidInput(f"At most {MAX_SETTINGS} treatment settings are allowed.")
    checked = {}
    for key, value in values.items():
        name = text(key, "A setting's name", max_length=MAX_VIEW, required=True)
        if isinstance(value, str):
            value = text(value, f"Setting {name!r}", max_length=MAX_NAME)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"Setting {name!r} must be a finite number.")
        elif not (value is None or isinstance(value, (bool, int, float))):
            raise InvalidInput("Treatment settings must be simple values (numbers, text).")
        checked[name] = value
    return checked


def parse_date(value: dt.date | str) -> dt.date:
    """A date, or an ISO ``YYYY-MM-DD`` string as one (a datetime's day)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD).") from None
