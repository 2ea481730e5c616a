"""Spacing and adherence: were a course's sessions spaced as its treatment's protocol says?

A **protocol** is the allowed interval between two sessions of one treatment, in
days: micro-needling and RF micro-needling every 4-6 weeks, fractional laser
every 4-8 weeks, superficial peels every 2-4 weeks. The lower limits are the
engine's spacing rule (:data:`skintrack.progress.MIN_SPACING_DAYS`, after
Alster & Graham, *Microneedling: a review and practical guide*, Dermatol Surg
44 (2018) 397-404), so a course inside its protocol never gets a spacing
warning on the Progress page; the upper limits are the usual maxima in the
same review. A clinic sets its own with ``protocols={"micro-needling": (28, 35)}``
(``skintrack cohort --protocol micro-needling=28-35``; the app's Outcomes page).

A course (patient x area x treatment) is **within protocol** when every
interval between its consecutive sessions lies within the limits (inclusive);
a course of one session has no interval and is not counted either way.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Mapping

from ..progress import MIN_SPACING_DAYS

__all__ = ["MAX_SPACING_DAYS", "PROTOCOLS", "Protocol", "course_adherence", "parse_protocol", "protocols"]

#: Longest usual interval between sessions (days); the shortest is the engine's spacing rule.
MAX_SPACING_DAYS = {"micro-needling": 42, "RF": 42, "laser": 56, "peel": 28}


@dataclass(frozen=True)
class Protocol:
    """The allowed interval between two sessions of one treatment, in days (inclusive)."""

    treatment: str
    min_days: int
    max_days: int

    def __post_init__(self):
        if not (0 < self.min_days <= self.max_days):
            raise ValueError(f"A protocol needs 0 < min_days <= max_days (got {self.min_days}-{self.max_days}).")

    def allows(self, days: int) -> bool:
        return self.min_days <= days <= self.max_days

    @property
    def words(self) -> str:
        if self.min_days % 7 == 0 and self.max_days % 7 == 0:
            return f"{self.min_days // 7}-{self.max_days // 7} weeks"
        return f"{self.min_days}-{self.max_days} days"


#: The default protocol per treatment (see the module docstring).
PROTOCOLS: dict[str, Protocol] = {
    kind: Protocol(kind, MIN_SPACING_DAYS[kind], MAX_SPACING_DAYS[kind]) for kind in MAX_SPACING_DAYS
}


def protocols(overrides: Mapping[str, Protocol | tuple[int, int]] | None = None) -> dict[str, Protocol]:
    """The default protocols with a clinic's ``overrides`` (``{treatment: (min_days, max_days)}``)."""
    result = dict(PROTOCOLS)
    for kind, value in (overrides or {}).items():
        result[kind] = value if isinstance(value, Protocol) else Protocol(kind, int(value[0]), int(value[1]))
    return result


_PROTOCOL = re.compile(r"^\s*([^=]+?)\s*=\s*(\d+)\s*-\s*(\d+)\s*(d|days|w|weeks)?\s*$")


def parse_protocol(text: str) -> Protocol:
    """``"micro-needling=28-42"`` (days) or ``"micro-needling=4-6w"`` (weeks) as a :class:`Protocol`."""
    match = _PROTOCOL.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not TREATMENT=MIN-MAX (days, or weeks with a 'w'), e.g. micro-needling=28-42.")
    kind, low, high, unit = match.groups()
    factor = 7 if unit in ("w", "weeks") else 1
    return Protocol(kind, int(low) * factor, int(high) * factor)


def course_adherence(dates: list[dt.date], protocol: Protocol | None) -> tuple[float, bool | None]:
    """Mean interval (days) between a course's sessions and whether all lie within ``protocol``.

    Returns ``(nan, None)`` with fewer than two sessions; ``(mean, None)`` without a protocol.
    """
    dates = sorted(dates)
    intervals = [(b - a).days for a, b in zip(dates, dates[1:])]
    if not intervals:
        return float("nan"), None
    mean = sum(intervals) / len(intervals)
    if protocol is None:
        return mean, None
    return mean, all(protocol.allows(days) for days in intervals)
