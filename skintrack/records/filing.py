"""Filing: filing one photo into the visit and area the user chose, and measuring it.

:class:`Filing` takes a photo from reading it to its committed row: refuse what was not chosen
(a stale selection), what is already filed (a duplicate) and what was taken on another day (unless
confirmed); store the file without identifying metadata (content-addressed) and claim it; measure
it through the one comparable-session pipeline (:func:`skintrack.comparison.compare.compare`: quality gate →
normalise → align to the area's baseline → score with the baseline's yardstick;
:func:`~skintrack.comparison.compare.measure_baseline` for the area's first photo); then commit the photo and
score rows in one transaction. A crash leaves at most a file no row refers to, which
:meth:`~skintrack.records.Records.doctor` finds and removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Callable, ContextManager

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..intake.photo import Photo, _read_source, clean_bytes, load_photo
from ..jsonsafe import plain
from . import validation
from .audit import add_line
from .db import Area, Patient, PhotoRecord, TreatmentSession
from .errors import CaptureDateMismatch, DuplicatePhoto, InvalidInput, NotFound, RecordsError, StaleSelection
from .files import PhotoFiles
from .mapping import add_scores, measurement_of, normalization_record, photo_view, status_reason
from .measurement import MeasurementCache, current_baseline, measuring_copy_of
from .rescoring import Rescorer
from .store import PhotoStore
from .views import Actor, PhotoView

__all__ = [
    "CAPTURE_DATE_TOLERANCE_DAYS", "EXPECT_KEYS", "Filing", "changed_words", "check_capture_date", "check_expected",
    "expected_selection", "visit_words",
]  # fmt: skip

#: A photo whose own capture date (EXIF) is more than this many days from its visit's date is filed only
#: when the caller confirms (``allow_date_mismatch=True``): it is probably another visit's photo.
CAPTURE_DATE_TOLERANCE_DAYS = 7
#: What a caller of :meth:`~skintrack.records.Records.add_photo` may say it showed the user (``expect=``).
EXPECT_KEYS = ("session_date", "treatment", "area")


class Filing:
    """Files one photo into a chosen visit and area, and measures it.

    Contract: :meth:`add` stores the photo's file, measures it and commits its rows, or stores nothing
    (but a file no row names, which :meth:`PhotoFiles.discard <skintrack.records.files.PhotoFiles.discard>`
    or ``doctor`` removes) and raises. It is given everything it uses: the transaction factory, the photo
    store, the :class:`~skintrack.records.measurement.MeasurementCache` (measuring, per-area locks), the
    :class:`~skintrack.records.files.PhotoFiles` (claims on files being written) and the
    :class:`~skintrack.records.rescoring.Rescorer` (an area measured again under a new, earlier baseline).
    It checks nobody's permission: its caller has (:meth:`target` is given the visit the actor may
    update). It writes the ``upload`` audit line in the photo's transaction. Thread-safe: concurrent
    uploads to one area are ordered by the area's row lock and this process's area lock; an upload that
    lost its baseline to another one measures again (at most five times).
    """

    def __init__(
        self, transaction: Callable[[], ContextManager[Session]], store: PhotoStore, measurements: MeasurementCache,
        files: PhotoFiles, rescorer: Rescorer,
    ):  # fmt: skip
        self._db = transaction
        self.store = store
        self.measurements = measurements
        self.files = files
        self.rescorer = rescorer

    def add(
        self, actor: Actor, target: dict, zone: str | None, region: Any, source: Any, *, view: str, consent: str,
        allow_duplicate: bool = False, allow_date_mismatch: bool = False,
    ) -> PhotoView:  # fmt: skip
        """Store and measure one photo in ``target`` (from :meth:`target`; ``zone`` and ``region``: what of the
        area is measured). See :meth:`~skintrack.records.Records.add_photo` for what is refused and how."""
        session_id, area_id, session_date = target["session_id"], target["area_id"], target["session_date"]
        data = _read_source(source) if not isinstance(source, Photo) else None
        photo = load_photo(data if data is not None else source)
        original_sha = photo.sha256
        existing = self.existing(session_id, area_id, view, original_sha)
        if existing is not None:
            existing.duplicate = True
            return existing
        if not allow_date_mismatch:
            check_capture_date(photo, session_date)
        clean, suffix = clean_bytes(photo, data)
        reencoded_lossily = suffix != ".png" and not (data is not None and _kept_as_is(photo))
        data = None  # the upload's bytes are no longer needed: a large photo keeps its memory for measuring
        if reencoded_lossily:
            # Re-encoded lossily for storage: measure the stored pixels, so rescoring reproduces every
            # number. (A PNG stores exactly ``photo.rgb``; an upright JPEG its own compressed data.)
            kept = {key: photo.metadata.get(key) for key in ("captured_at", "camera", "sha256", "format")}
            photo = None  # free the full-resolution pixels before decoding the stored copy
            photo = load_photo(clean).with_metadata(**kept)
        original_size = photo.size
        photo = measuring_copy_of(photo)  # all measuring needs: a large photo's full pixels can go
        self.store.check_space(len(clean))  # a full disk is refused before minutes of measuring
        file_name, stored_sha = self.store.name_for(clean, suffix)
        if not allow_duplicate:
            self.refuse_duplicate(target, view, original_sha, stored_sha)
        area_lock = self.measurements.area_lock(area_id)
        for attempt in range(5):
            # After a first try lost to a new baseline, measure again holding the area: this process's
            # other uploads to it then wait instead of overtaking this one again and again. (Another
            # process still can, but each time the baseline moves to an earlier session, so this ends.)
            with area_lock if attempt else contextlib.nullcontext():
                with self._db() as db:
                    baseline = current_baseline(db, area_id)
                becomes_baseline = baseline is None or session_date < baseline["session_date"]
                outcome = self.measurements.process(photo, None if becomes_baseline else baseline, zone, region)
                issues = [issue.to_dict() for issue in outcome.quality]
                claims = self.files.claim([file_name])  # doctor --repair leaves the file alone until its row commits
                try:
                    self.store.put(clean, suffix)
                    stored = self.commit(
                        actor, session_id, area_id, view, photo, issues, outcome, file_name, stored_sha,
                        consent, baseline_used=baseline, becomes_baseline=becomes_baseline, original_size=original_size,
                        claims=claims, target=target,
                    )  # fmt: skip
                except _BaselineChanged:
                    self.files.release(claims)
                    continue  # another photo became this area's baseline meanwhile: measure again
                except IntegrityError:
                    self.files.release(claims)
                    existing = self.existing(session_id, area_id, view, original_sha)
                    if existing is None:
                        self.files.abandon(file_name)
                        raise
                    existing.duplicate = True
                    return existing
                except BaseException:
                    self.files.release(claims)
                    self.files.abandon(file_name)
                    raise
                if outcome.photo is not None:
                    self.measurements.remember(stored.id, measurement_of(stored, outcome))
                if stored.is_baseline and outcome.scored:
                    # Follow-ups will need the measured baseline (normalised, with its yardstick): keep it.
                    self.measurements.keep_baseline(stored.file_name, outcome.baseline)
                return stored
        raise RecordsError("The area's baseline kept changing while this photo was added; please try again.")

    def existing(self, session_id: str, area_id: str, view: str, original_sha: str) -> PhotoView | None:
        """The photo already filed with this sha256 in this visit, area and view, if any."""
        with self._db() as db:
            record = db.scalar(
                select(PhotoRecord).where(
                    PhotoRecord.session_id == session_id,
                    PhotoRecord.area_id == area_id,
                    PhotoRecord.view == view,
                    PhotoRecord.original_sha256 == original_sha,
                )
            )
            return photo_view(db, record) if record else None

    @staticmethod
    def target(db: Session, session: TreatmentSession | None, area_id: str, expected: dict) -> dict:
        """Where a photo is to be filed (checked: the visit and area exist, belong to one patient and are
        what the user was shown), as a dict :meth:`commit` checks again. ``session`` is the visit the actor
        may update, or None when it is gone (then ``expected`` is not empty: the caller raised otherwise)."""
        if session is None:
            raise StaleSelection(f"The visit you chose ({visit_words(expected)}) no longer exists: it was deleted "
                                 "meanwhile. Nothing was filed; choose the visit again.")  # fmt: skip
        area = db.get(Area, area_id) if validation.is_id(area_id) else None
        if area is None:
            if not expected:
                raise NotFound(f"No area with id {area_id!r}.")
            raise StaleSelection(f"The area you chose ({expected.get('area', 'unnamed')}) no longer exists: it was "
                                 "deleted meanwhile. Nothing was filed; choose the area again.")  # fmt: skip
        if area.patient_id != session.patient_id:
            raise InvalidInput("The area and the session belong to different patients.")
        target = {"session_id": session.id, "area_id": area.id, "patient_id": session.patient_id,
                  "session_date": session.date, "treatment": session.treatment, "area": area.name}  # fmt: skip
        check_expected(target, expected)
        return target

    def refuse_duplicate(self, target: dict, view: str, original_sha: str, stored_sha: str) -> None:
        """:class:`DuplicatePhoto` when this photo is already filed under another visit (of any patient) or
        under another view of the same area and visit."""
        with self._db() as db:
            rows = db.execute(
                select(PhotoRecord.session_id, PhotoRecord.area_id, PhotoRecord.view, TreatmentSession.date,
                       TreatmentSession.patient_id, Area.name, Patient.code)  # fmt: skip
                .join(TreatmentSession, PhotoRecord.session_id == TreatmentSession.id)
                .join(Area, PhotoRecord.area_id == Area.id)
                .join(Patient, TreatmentSession.patient_id == Patient.id)
                .where(or_(PhotoRecord.original_sha256 == original_sha, PhotoRecord.stored_sha256 == stored_sha))
                .order_by(TreatmentSession.date)
            ).all()
        clashes = [
            row for row in rows
            if row.session_id != target["session_id"] or (row.area_id == target["area_id"] and row.view != view)
        ]  # fmt: skip
        if not clashes:
            return
        places = []
        for row in clashes[:3]:
            whose = "this patient" if row.patient_id == target["patient_id"] else f"patient {row.code}"
            places.append(f"{whose}, {row.name}, visit of {row.date.isoformat()}")
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        raise DuplicatePhoto(
            f"This photo is already in the record ({'; '.join(places)}{more}). Filed again it would be measured "
            "as a new photo and counted as progress. Nothing was stored; add it only if it really belongs here "
            "too (confirm the duplicate).",
            matches=[(row.code, row.name, row.date) for row in clashes],
        )  # fmt: skip

    def commit(
        self, actor, session_id, area_id, view, photo, issues, outcome, file_name, stored_sha, consent,
        *, baseline_used, becomes_baseline, original_size, claims=(), target=None,
    ) -> PhotoView:  # fmt: skip
        """File the measured photo: its row, scores and audit line in one transaction, after checking again
        that the visit and area are the chosen ones and the area's baseline is the one measured against
        (:class:`_BaselineChanged` otherwise). A photo that becomes the baseline has the area measured again."""
        with self.measurements.area_lock(area_id), self._db() as db:
            # Lock the area row (SQLite's BEGIN IMMEDIATE already holds the write lock), so two
            # photos never both become the baseline or miss the baseline the other set.
            area = db.get(Area, area_id, with_for_update=True)
            if target is not None:  # the visit and area are still the ones chosen (not deleted or changed meanwhile)
                session = db.get(TreatmentSession, session_id)
                now = None if session is None or area is None else {
                    "session_date": session.date, "treatment": session.treatment, "area": area.name}  # fmt: skip
                if now is None or any(now[key] != target[key] for key in EXPECT_KEYS):
                    raise StaleSelection(changed_words(target, now))
            if area.baseline_photo_id != (baseline_used["id"] if baseline_used else None):
                raise _BaselineChanged()
            if not becomes_baseline and area.baseline_photo_id is None:
                raise _BaselineChanged()
            result = outcome.score
            captured = photo.metadata.get("captured_at")
            record = PhotoRecord(
                session_id=session_id,
                area_id=area_id,
                view=view,
                file_name=file_name,
                stored_sha256=stored_sha,
                original_sha256=photo.sha256,
                captured_at=_parse_datetime(captured),
                width=original_size[0],
                height=original_size[1],
                source_format=str(photo.metadata.get("format")),
                camera=photo.metadata.get("camera"),
                status=outcome.status,
                status_reason=status_reason(outcome),
                normalization=normalization_record(outcome),
                alignment=plain(outcome.alignment.summary() if outcome.alignment is not None else {}),
                quality=issues,
                thresholds=plain(result.thresholds) if result is not None else {},
                consent=consent,
                created_by=actor.name,
            )
            db.add(record)
            db.flush()
            if result is not None:
                add_scores(db, record, result)
            add_line(db, actor, "upload", patient_id=area.patient_id, target=record.id,
                     detail=f"{area.name}, {outcome.status}")  # fmt: skip
            if becomes_baseline and outcome.scored:
                previous = area.baseline_photo_id
                area.baseline_photo_id = record.id
                db.flush()
                if previous:
                    self.rescorer.rescore_area(db, area, force=True)
            self.files.settle(db, list(claims))
            return photo_view(db, record)


class _BaselineChanged(Exception):
    pass


def expected_selection(expect: dict | None) -> dict:
    """``expect`` checked: known keys, a date as a date."""
    if not expect:
        return {}
    unknown = set(expect) - set(EXPECT_KEYS)
    if unknown:
        raise InvalidInput(f"expect takes {', '.join(EXPECT_KEYS)}, not {', '.join(sorted(unknown))}.")
    expected = {key: value for key, value in expect.items() if value is not None}
    if "session_date" in expected:
        expected["session_date"] = validation.parse_date(expected["session_date"])
    return expected


def visit_words(visit: dict) -> str:
    date = visit.get("session_date")
    words = date.isoformat() if isinstance(date, dt.date) else "unknown date"
    if visit.get("treatment"):
        words += f", {visit['treatment']}"
    if visit.get("area"):
        words += f", {visit['area']}"
    return words


def check_expected(target: dict, expected: dict) -> None:
    if any(target[key] != value for key, value in expected.items()):
        shown = {key: expected.get(key, target[key]) for key in EXPECT_KEYS}
        raise StaleSelection(changed_words(shown, target))


def changed_words(chosen: dict, now: dict | None) -> str:
    if now is None:
        return (f"The visit or area you chose ({visit_words(chosen)}) was deleted meanwhile. Nothing was filed; "
                "choose where the photo belongs again.")  # fmt: skip
    return (f"The visit you chose ({visit_words(chosen)}) was changed meanwhile: it is now {visit_words(now)}. "
            "Nothing was filed; check the visit and add the photo again.")  # fmt: skip


def check_capture_date(photo: Photo, visit_date: dt.date) -> None:
    """:class:`CaptureDateMismatch` when the photo's own capture date is far from the visit's date."""
    captured = photo.metadata.get("captured_at")
    if not captured:
        return
    try:
        day = dt.datetime.fromisoformat(str(captured)).date()  # the camera's local day, as it wrote it
    except ValueError:
        return
    days = abs((day - visit_date).days)
    if days > CAPTURE_DATE_TOLERANCE_DAYS:
        raise CaptureDateMismatch(
            f"This photo was taken on {day.isoformat()} (its own date), {days} days from the visit of "
            f"{visit_date.isoformat()}: it may belong to another visit. Nothing was stored; add it to this visit "
            "only if it belongs here (confirm the date), e.g. when the camera's clock is wrong.",
            captured_on=day, visit_date=visit_date,
        )  # fmt: skip


def _kept_as_is(photo: Photo) -> bool:
    """True when storage keeps the photo's own compressed data (an upright JPEG, metadata removed)."""
    return photo.metadata.get("format") == "JPEG" and photo.metadata.get("orientation", 1) == 1



def _parse_datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed
