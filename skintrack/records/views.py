"""Who acts (:class:`Actor`) and what the records hand back: detached views, not database rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..photo import Photo

__all__ = ["Actor", "AreaView", "DoctorReport", "Measurement", "PatientView", "PhotoView", "SessionView"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a provider (or admin) by name, or a patient with their patient id."""

    name: str
    role: str = "provider"  # "provider", "admin" or "patient"
    patient_id: str | None = None


@dataclass
class PatientView:
    id: str
    code: str
    display_name: str
    birth_year: int | None
    fitzpatrick: int | None
    notes: str
    areas: list[str] = field(default_factory=list)
    session_count: int = 0
    treatment_count: int = 0
    last_session: dt.date | None = None


@dataclass
class AreaView:
    id: str
    patient_id: str
    name: str
    baseline_photo_id: str | None


@dataclass
class SessionView:
    id: str
    patient_id: str
    date: dt.date
    treatment: str
    settings: dict
    provider: str
    notes: str


@dataclass
class PhotoView:
    id: str
    session_id: str
    area_id: str
    area: str
    session_date: dt.date
    treatment: str
    view: str
    file_name: str
    original_sha256: str
    captured_at: dt.datetime | None
    width: int
    height: int
    status: str
    status_reason: str
    is_baseline: bool
    normalization: dict
    alignment: dict
    quality: list
    consent: str
    consent_withdrawn: bool
    scores: dict[str, float] = field(default_factory=dict)
    engine_version: str | None = None
    settings_hash: str | None = None
    duplicate: bool = False  # True when this exact photo had already been stored


@dataclass
class Measurement:
    """A photo as measured: the view, the image in the baseline's geometry, its score, its alignment."""

    photo: PhotoView
    image: Photo  # normalised (and aligned onto the baseline for follow-ups)
    score: Any  # skintrack.Score, or None when the photo could not be compared
    alignment: Any  # skintrack.Alignment, or None for the baseline


@dataclass
class DoctorReport:
    orphan_files: list[str]
    temporary_files: list[str]
    missing_files: list[str]  # photo ids whose file is gone
    corrupt_files: list[str]  # files whose bytes no longer match their hash
    repaired: bool = False
    # Files still carrying identifying metadata (stored before MPO frames and trailing data were stripped).
    identifying_files: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        problems = (self.orphan_files, self.temporary_files, self.missing_files, self.corrupt_files, self.identifying_files)
        return not any(problems)
