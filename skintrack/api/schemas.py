"""What the REST API reads and writes: pydantic models (and so the published OpenAPI schema).

Request bodies forbid unknown fields (a typo is a 422, not a silently ignored
change). Responses are built from the records' views (:mod:`skintrack.records.views`);
every record that can be changed carries its ``version`` (also sent as the
``ETag`` header), which a change must quote in ``If-Match``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..jsonsafe import finite
from ..records import AreaView, PatientView, PhotoView, SessionView
from ..records.versions import version_of

Item = TypeVar("Item")

Treatment = Literal["baseline", "micro-needling", "laser", "RF", "peel", "other"]
ConsentLevel = Literal["record", "teaching", "publication"]
SettingValue = str | int | float | bool | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[Item]):
    """One page of a list: ``items`` from ``offset``, ``total`` in all; ``next`` is the next page's address."""

    items: list[Item]
    total: int
    offset: int
    limit: int
    next: str | None = None


class Problem(BaseModel):
    """An error (RFC 9457 problem details): ``detail`` says what went wrong in words."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class Me(BaseModel):
    """Who the token acts as."""

    name: str
    username: str | None
    role: str
    patient_id: str | None


# --------------------------------------------------------------------------- patients


class Patient(BaseModel):
    id: str
    code: str
    display_name: str
    birth_year: int | None
    fitzpatrick: int | None
    notes: str
    areas: list[str]
    session_count: int
    treatment_count: int
    last_session: dt.date | None
    version: str = Field(description="Quote it in If-Match to change or delete the patient.")

    @classmethod
    def of(cls, view: PatientView) -> "Patient":
        return cls(**{k: getattr(view, k) for k in cls.model_fields if k != "version"}, version=version_of(view))


class PatientCreate(Strict):
    code: str = Field(description="The clinic's unique patient code.", examples=["P-0042"])
    display_name: str | None = None
    birth_year: int | None = None
    fitzpatrick: int | None = Field(None, description="Fitzpatrick skin type, 1 to 6.")
    notes: str = ""


class PatientChange(Strict):
    code: str | None = None
    display_name: str | None = None
    birth_year: int | None = None
    fitzpatrick: int | None = None
    notes: str | None = None


# --------------------------------------------------------------------------- areas


class Area(BaseModel):
    id: str
    patient_id: str
    name: str
    baseline_photo_id: str | None
    region: dict | None = Field(None, description="The treated region drawn on the baseline, or null: the whole area.")
    region_active: bool
    version: str

    @classmethod
    def of(cls, view: AreaView) -> "Area":
        return cls(id=view.id, patient_id=view.patient_id, name=view.name, baseline_photo_id=view.baseline_photo_id,
                   region=view.roi, region_active=view.region_active, version=version_of(view))  # fmt: skip


class AreaCreate(Strict):
    name: str = Field(examples=["left cheek"])


class AreaChange(Strict):
    name: str


class RegionChange(Strict):
    region: dict | None = Field(
        description='{"shape": "rectangle" | "polygon", "points": [[x, y], ...]} as fractions of the baseline\'s '
        "width and height; null clears it (the whole area is measured)."
    )


# --------------------------------------------------------------------------- visits


class Visit(BaseModel):
    id: str
    patient_id: str
    date: dt.date
    treatment: str
    settings: dict[str, SettingValue]
    provider: str
    notes: str
    version: str

    @classmethod
    def of(cls, view: SessionView) -> "Visit":
        return cls(id=view.id, patient_id=view.patient_id, date=view.date, treatment=view.treatment,
                   settings=view.settings, provider=view.provider, notes=view.notes, version=version_of(view))  # fmt: skip


class VisitCreate(Strict):
    date: dt.date
    treatment: Treatment
    settings: dict[str, SettingValue] | None = Field(None, examples=[{"needle_depth_mm": 1.5}])
    provider: str = Field("", description="Default: the token's account.")
    notes: str = ""


class VisitChange(Strict):
    date: dt.date | None = None
    treatment: Treatment | None = None
    settings: dict[str, SettingValue] | None = None
    provider: str | None = None
    notes: str | None = None


# --------------------------------------------------------------------------- photos


class Photo(BaseModel):
    id: str
    session_id: str
    area_id: str
    area: str
    session_date: dt.date
    treatment: str
    view: str
    width: int
    height: int
    captured_at: dt.datetime | None
    camera: str | None
    status: str = Field(description='"scored", "not_comparable" (did not align to the baseline) or "blocked" (quality gate).')
    status_reason: str
    is_baseline: bool
    consent: str
    consent_withdrawn: bool
    scores: dict[str, float | None] = Field(description="Measure name -> value (null: not computable on this photo).")
    engine_version: str | None
    settings_hash: str | None
    sha256: str = Field(description="SHA-256 of the photo as uploaded.")
    quality: list[dict]
    normalization: dict
    alignment: dict
    duplicate: bool = Field(False, description="True when this exact photo was already stored (nothing new was added).")
    file: str = Field(description="Where to fetch the stored photo (no identifying metadata).")
    version: str

    @classmethod
    def of(cls, view: PhotoView, prefix: str = "/api/v1") -> "Photo":
        return cls(
            id=view.id, session_id=view.session_id, area_id=view.area_id, area=view.area, session_date=view.session_date,
            treatment=view.treatment, view=view.view, width=view.width, height=view.height,
            captured_at=view.captured_at, camera=view.camera, status=view.status, status_reason=view.status_reason,
            is_baseline=view.is_baseline, consent=view.consent, consent_withdrawn=view.consent_withdrawn,
            scores={name: finite(value) for name, value in view.scores.items()},
            engine_version=view.engine_version, settings_hash=view.settings_hash, sha256=view.original_sha256,
            quality=view.quality, normalization=view.normalization, alignment=view.alignment,
            duplicate=view.duplicate, file=f"{prefix}/photos/{view.id}/file", version=version_of(view),
        )  # fmt: skip


class PhotoChange(Strict):
    """Either consent (``consent``, ``withdrawn``) or filing (``session_id``, ``area_id``), not both at once."""

    consent: ConsentLevel | None = None
    withdrawn: bool | None = None
    session_id: str | None = None
    area_id: str | None = None


# --------------------------------------------------------------------------- scores and progress


class Score(BaseModel):
    """One measure of a photo, with its change against the area's baseline and the noise verdict."""

    metric: str
    label: str
    unit: str
    better: str | None
    value: float | None
    baseline_value: float | None
    change: float | None
    change_pct: float | None
    mdc95: float | None = Field(description="The noise limit: the smallest change that is real for this photo's conditions.")
    noise: str | None = Field(description='"within noise", "could be noise" or "beyond noise" (null for the baseline).')
    verdict: str | None = Field(description='"baseline", "improved", "worse", "within noise", "could be noise", ...')


class PhotoScores(BaseModel):
    photo_id: str
    status: str
    status_reason: str
    engine_version: str | None
    settings_hash: str | None
    scores: list[Score]


class ProgressPoint(BaseModel):
    session_id: str
    photo_id: str
    date: dt.date
    treatment: str
    value: float | None
    change: float | None
    change_pct: float | None
    mdc95: float | None
    noise: str
    verdict: str
    days_since_treatment: int | None


class MetricSeries(BaseModel):
    metric: str
    label: str
    unit: str
    better: str | None
    mdc95: float | None
    summary: str
    points: list[ProgressPoint]


class PlainMeasure(BaseModel):
    metric: str
    title: str
    sentence: str
    verdict: str


class Progress(BaseModel):
    patient_id: str
    area_id: str
    area: str
    goal: list[str] = Field(description="The measures that match the goal of the area's treatments, most relevant first.")
    metrics: dict[str, MetricSeries]
    spacing_warnings: list[str]
    last_treatment: dict | None
    days_since_last_treatment: int | None
    plain: list[PlainMeasure] = Field(description="The patient's plain-words version (no units, no jargon).")


# --------------------------------------------------------------------------- tokens


class Token(BaseModel):
    id: str
    username: str
    role: str
    name: str
    shown: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    status: str
