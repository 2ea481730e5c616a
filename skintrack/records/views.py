"""Who acts (:class:`Actor`) and what the records hand back: detached views, not database rows."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ..intake.photo import Photo

__all__ = [
    "ROLES",
    "Actor",
    "AreaView",
    "AuditEntry",
    "DoctorReport",
    "Invitation",
    "InvitationView",
    "Measurement",
    "PatientView",
    "PhotoView",
    "SessionView",
    "UserView",
]

#: ``admin`` manages accounts (and may do everything a provider does), ``provider`` does all clinical
#: work, ``patient`` reads their own record only.
ROLES = ("admin", "provider", "patient")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a provider (or admin) by name, or a patient with their patient id.

    The app and the command line only ever build an ``Actor`` from an account
    (:meth:`~skintrack.records.Records.authenticate`, ``authenticate_oidc``,
    ``redeem_invitation``) or, for the command line, from the local operator
    (see the README, "Security and accounts"). Python code that opens the
    records directly already has the database in hand, so an ``Actor`` it
    builds is its own word about who acts, recorded as such in the audit log.

    Attributes
    ----------
    name : str
        Shown in records and the audit log (the account's display name).
    role : str
        One of :data:`ROLES`.
    patient_id : str, optional
        For a patient: the one patient record they may read.
    username : str, optional
        The account acted through (``None`` for Python code and the local operator).
    source : str
        How the actor was identified: ``"password"``, ``"oidc"``, ``"invitation"``,
        ``"cli"`` (local operator or ``--user``), ``"system"`` (the app itself, e.g.
        loading the demo) or ``"library"`` (Python code).
    signed_in_at : datetime, optional
        When this session signed in (UTC, naive). A password reset or a disabled
        account ends every session signed in before it
        (:meth:`~skintrack.records.Records.refresh_actor`).
    """

    name: str
    role: str = "provider"  # one of ROLES
    patient_id: str | None = None
    username: str | None = None
    source: str = "library"
    signed_in_at: dt.datetime | None = None

    @property
    def is_staff(self) -> bool:
        """Providers and admins: may know which records exist."""
        return self.role in ("provider", "admin")


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
    #: The treated region (``{"shape", "points", "photo_id"}``, see :mod:`skintrack.measure.roi`), or None.
    roi: dict | None = None

    @property
    def region_active(self) -> bool:
        """True when the region was drawn on the current baseline (and so is used for the scores)."""
        return bool(self.roi) and self.roi.get("photo_id") == self.baseline_photo_id


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
    camera: str | None = None  # make and model from the photo's EXIF, when it had them
    baseline_photo_id: str | None = None  # the area's baseline when this view was read
    region: str | None = None  # hash of the area's region of interest in use, if any
    #: What part of the photo was measured, from its scores' provenance: ``{"region": "whole photo" |
    #: "outlined rectangle" | "outlined polygon" | "face zone: left cheek", "region_pct": share of the photo
    #: (baseline's frame) inside the region measured, "skin_pct": share of the photo measured as skin}``;
    #: empty for a photo without scores.
    measured: dict = field(default_factory=dict)
    #: Why some or all of its measures are missing, in plain words, from its scores' provenance
    #: (:func:`skintrack.wording.unmeasured_words`: no face, a zone covered by hair or in shadow...), or
    #: what kept part of the area from being measured (:func:`skintrack.wording.partly_measured_words`).
    unmeasured: str = ""
    partly_measured: str = ""
    #: Which sizes in mm² need a measured scale (a chart or the face) to be given
    #: (:func:`skintrack.wording.unscaled_words`).
    unscaled: str = ""
    #: For a follow-up, from its scores' provenance: ``{"skin_left_out_pct": share of the baseline's measured
    #: skin this photo does not show, "metrics": the baseline's measures over the skin both show, or None when
    #: the whole baseline was the comparison}``; empty for a baseline or a photo scored before engine 0.5.0.
    baseline_on_overlap: dict = field(default_factory=dict)

    @property
    def compared_with(self) -> dict[str, float]:
        """The baseline's figures this follow-up's changes are taken from, where they differ from the whole
        baseline's (the baseline measured over the overlap); ``{}`` when the whole baseline was used."""
        metrics = (self.baseline_on_overlap or {}).get("metrics") or {}
        return {name: (math.nan if value is None else float(value)) for name, value in metrics.items()}

    @property
    def measurement_key(self) -> tuple:
        """What this photo's measurement depends on: a cached measurement is stale when any part changes
        (the photo, the engine settings, the area's baseline, its region of interest)."""
        return (self.id, self.settings_hash, self.engine_version, self.baseline_photo_id, self.region)


@dataclass
class Measurement:
    """A photo as measured: the view, the image in the baseline's geometry, its score, its alignment."""

    photo: PhotoView
    image: Photo  # normalised (and aligned onto the baseline for follow-ups)
    score: Any  # skintrack.Score, or None when the photo could not be compared
    alignment: Any  # skintrack.Alignment, or None for the baseline
    comparison: Any = None  # the skintrack.comparison.compare.Comparison it came from (changes, noise verdicts)


@dataclass
class DoctorReport:
    orphan_files: list[str]
    temporary_files: list[str]
    missing_files: list[str]  # photo ids whose file is gone
    corrupt_files: list[str]  # files whose bytes no longer match their hash
    repaired: bool = False
    # Files still carrying identifying metadata (stored before MPO frames and trailing data were stripped).
    identifying_files: list[str] = field(default_factory=list)
    # Files of an encrypted store not yet under their keyed name (stored by 0.3.0 or before the key was set).
    unkeyed_files: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        problems = (self.orphan_files, self.temporary_files, self.missing_files, self.corrupt_files,
                    self.identifying_files, self.unkeyed_files)  # fmt: skip
        return not any(problems)


@dataclass
class UserView:
    """An account, without its password hash."""

    id: str
    username: str
    role: str
    display_name: str
    patient_id: str | None
    patient_code: str | None
    email: str | None
    is_demo: bool
    disabled: bool
    has_password: bool
    failed_attempts: int
    locked_until: dt.datetime | None  # UTC; set while locked
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    status: str  # "active", "locked" or "disabled"


@dataclass
class Invitation:
    """A one-time code a patient uses to set up their own account (shown once; only its hash is stored)."""

    code: str
    patient_id: str
    expires_at: dt.datetime  # UTC
    id: str | None = None  # to revoke it (Records.revoke_invitation)


@dataclass
class InvitationView:
    """An invitation as the clinic sees it later (the code itself is never stored)."""

    id: str
    patient_id: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    status: str  # "open", "used", "expired" or "revoked"
    used_by: str | None = None
    revoked_at: dt.datetime | None = None


@dataclass
class AuditEntry:
    """One line of the audit log: who did what, when, to which patient."""

    id: int
    at: dt.datetime  # UTC
    actor: str
    actor_role: str
    username: str | None
    source: str
    action: str
    patient_id: str | None
    patient_code: str | None
    target: str
    detail: str
