"""What goes into a report, gathered from the records and the engine (no layout here).

Every number and verdict comes from :func:`skintrack.progress.area_progress`;
every photo is the engine's measured copy (:meth:`Records.measurement`:
normalised on its neutral references and aligned onto the baseline), so the
report shows what the app shows.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .._version import __version__
from ..measure.roi import Region, RegionError
from ..measure.scoring import OVERLAYS
from ..progress import AreaProgress, area_progress
from ..records import Actor, AreaView, InvalidInput, PatientView, PhotoView, Records, SessionView
from .clinic import Clinic, load_clinic

__all__ = ["AUDIENCES", "Frame", "LogEntry", "ReportContent", "gather"]

AUDIENCES = ("provider", "patient")
#: Long side of photos in the PDF: 1200 px over a half-page column (~87 mm) is about 350 dpi.
PRINT_PX = 1200


@dataclass
class LogEntry:
    """One session in the treatment log."""

    session: SessionView
    days_since_previous: int | None  # since the patient's previous session
    photo: PhotoView | None  # this area's photo in the session, if any
    warnings: list[str] = field(default_factory=list)  # spacing warnings for this session


@dataclass
class Frame:
    """One photo ready to print: normalised and aligned onto the baseline, with optional overlays."""

    photo: PhotoView
    image: np.ndarray  # HxWx3 uint8
    overlays: dict[str, np.ndarray]  # overlay name -> HxWx3 uint8 (working resolution)
    comparable: bool  # aligned onto the baseline (or is the baseline)


@dataclass
class ReportContent:
    audience: str
    patient: PatientView
    area: AreaView
    show_name: bool
    clinic: Clinic
    prepared_by: str
    log: list[LogEntry]
    progress: AreaProgress
    baseline: Frame | None
    latest: Frame | None
    series: list[Frame]  # every (or each chosen) session, when asked for
    overlays: tuple[str, ...]
    engine_versions: list[str]
    settings_hashes: list[str]
    normalizations: list[str]
    withheld_photos: int  # photos left out of a patient's report (consent withdrawn)
    generated_on: dt.date
    #: The treated region the scores were measured in (drawn on every photo), or None: the whole area.
    area_region: Region | None = None
    #: Every measured photo of the area (for what the methods say was done to their colours).
    measured_photos: list[PhotoView] = field(default_factory=list)


def check_access(records: Records, actor: Actor, patient_id: str, audience: str) -> None:
    """A patient may only get their own report, in the patient's words; providers may export any."""
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}.")
    records.authorize(actor, "patient_report" if audience == "patient" else "export", patient_id)


def gather(
    records: Records,
    actor: Actor,
    patient_id: str,
    area_id: str,
    *,
    audience: str = "provider",
    sessions: str | Sequence[str] | None = None,
    full_name: bool = False,
    overlays: Sequence[str] = (),
    clinic: Clinic | None = None,
    today: dt.date | None = None,
) -> ReportContent:
    """Collect everything a report shows; see :func:`skintrack.report.build_pdf` for the parameters."""
    check_access(records, actor, patient_id, audience)
    overlays = tuple(overlays or ())
    unknown = [o for o in overlays if o not in OVERLAYS]
    if unknown:
        raise InvalidInput(f"Unknown overlay {', '.join(unknown)}; choose from {', '.join(OVERLAYS)}.")
    patient = records.get_patient(actor, patient_id)
    areas = {a.id: a for a in records.list_areas(actor, patient_id)}
    if area_id not in areas:
        raise InvalidInput("That area does not belong to this patient.")
    today = today or dt.date.today()
    progress = area_progress(records, actor, patient_id, area_id, today=today)
    all_sessions = records.list_sessions(actor, patient_id)
    photos = records.list_photos(actor, patient_id, area_id)
    withheld = 0
    if audience == "patient":  # a withdrawn photo never leaves the clinical record
        withheld = sum(p.consent_withdrawn for p in photos)
        photos = [p for p in photos if not p.consent_withdrawn]

    log = _treatment_log(all_sessions, photos, progress)
    scored = [p for p in photos if p.status == "scored"]
    baseline_photo = next((p for p in scored if p.is_baseline), None)
    # The latest visit's photo that counts (progress: one photo per visit, the first stored), so the pair
    # shows the photo the numbers below come from.
    by_id = {p.id: p for p in scored}
    counted = [by_id[i] for i in progress.photo_ids if i in by_id and (baseline_photo is None or i != baseline_photo.id)]
    latest_photo = counted[-1] if counted else None
    chosen = _series_photos(photos, all_sessions, sessions)
    wanted = {p.id: p for p in [baseline_photo, latest_photo, *chosen] if p is not None}
    region = _region(areas[area_id])
    frames = _frames(records, actor, list(wanted.values()), overlays, region)
    return ReportContent(
        audience=audience,
        patient=patient,
        area=areas[area_id],
        show_name=bool(full_name),
        clinic=clinic if clinic is not None else load_clinic(records.data_dir),
        prepared_by=actor.name,
        log=log,
        progress=progress,
        baseline=frames.get(baseline_photo.id) if baseline_photo else None,
        latest=frames.get(latest_photo.id) if latest_photo else None,
        series=[frames[p.id] for p in chosen if p.id in frames],
        overlays=overlays,
        engine_versions=sorted({p.engine_version for p in scored if p.engine_version}) or [__version__],
        settings_hashes=sorted({p.settings_hash for p in scored if p.settings_hash}),
        normalizations=sorted({str(p.normalization.get("method")) for p in scored if p.normalization.get("method")}),
        withheld_photos=withheld,
        generated_on=today,
        area_region=region,
        measured_photos=scored,
    )


def _region(area: AreaView) -> Region | None:
    """The area's treated region when it is in use (drawn on the current baseline), else None."""
    if not area.region_active:
        return None
    try:
        return Region.from_dict(area.roi)
    except RegionError:
        return None


def _treatment_log(sessions: list[SessionView], photos: list[PhotoView], progress: AreaProgress) -> list[LogEntry]:
    by_session: dict[str, PhotoView] = {}
    for photo in photos:
        by_session.setdefault(photo.session_id, photo)
    log, previous = [], None
    for session in sessions:
        warnings = [w.message for w in progress.spacing_warnings if w.date == session.date and w.treatment == session.treatment]
        days = (session.date - previous).days if previous else None
        log.append(LogEntry(session, days, by_session.get(session.id), warnings))
        previous = session.date
    return log


def _series_photos(photos: list[PhotoView], sessions: list[SessionView], choice) -> list[PhotoView]:
    """The photos for the every-session section: ``None`` → none, ``"all"`` → all, or chosen session ids."""
    if choice is None:
        return []
    if isinstance(choice, str):
        if choice != "all":
            raise InvalidInput('sessions must be None, "all" or a list of session ids.')
        wanted = {s.id for s in sessions}
    else:
        wanted = set(choice)
        unknown = wanted - {s.id for s in sessions}
        if unknown:
            raise InvalidInput("Some of the chosen sessions are not this patient's.")
    seen, chosen = set(), []
    for photo in photos:  # one photo per session (the first), blocked photos have no measured copy
        if photo.session_id in wanted and photo.session_id not in seen and photo.status != "blocked":
            seen.add(photo.session_id)
            chosen.append(photo)
    return chosen


def _frames(records: Records, actor: Actor, photos: list[PhotoView], overlays: tuple[str, ...],
            region: Region | None = None) -> dict[str, Frame]:  # fmt: skip
    """Measured copies of the photos (two at a time: OpenCV releases the GIL while it works), with the treated
    region outlined on each (only the skin inside it was measured; every photo is in the baseline's frame)."""

    def outlined(rgb: np.ndarray) -> np.ndarray:
        return rgb if region is None else region.draw(rgb)

    def frame(photo: PhotoView) -> Frame | None:
        measured = records.measurement(actor, photo.id)
        if measured.image is None:
            return None
        image = measured.image.resized(min(PRINT_PX, max(measured.image.size)))
        drawn = {}
        if measured.score is not None:
            drawn = {name: outlined(measured.score.overlay(name)) for name in overlays}
        if photo.status != "scored":  # not lined up with the baseline: the outline would mark other skin
            return Frame(photo, image, drawn, comparable=False)
        return Frame(photo, outlined(image), drawn, comparable=True)

    if len(photos) <= 1:
        results = [frame(p) for p in photos]
    else:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(frame, photos))
    return {f.photo.id: f for f in results if f is not None}
