"""Maintenance of a data folder: checking files against rows, and loading the demo patient."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import delete, select, update

from .db import PendingFile, PhotoRecord
from .errors import RecordsError
from .store import without_metadata
from .views import Actor, DoctorReport, PatientView

__all__ = ["MaintenanceMixin"]


class MaintenanceMixin:
    """``doctor`` (files vs rows) and ``load_demo``."""

    def doctor(self, actor: Actor, *, repair: bool = False) -> DoctorReport:
        """Check that every photo row has its file and every file a row.

        Reports files no row refers to (e.g. after a crash between writing the
        file and committing its row), half-written temporary files, rows whose
        file is missing, files whose bytes no longer match their name (damaged,
        or another file written over them), files that still carry identifying
        metadata (stored by a version that kept MPO frames or data after the
        image, with their EXIF) and, in an encrypted store, files not yet under
        their keyed name (stored by skintrack 0.3.0 or before the key was set;
        see :mod:`skintrack.records.store`). A photo being added right now is
        none of these: its file is protected by its pending write until its row
        commits (see :mod:`skintrack.records.files`).

        With ``repair``, orphan and temporary files are deleted (rows are never
        deleted: a missing file needs a human), under the files lock;
        identifying files are cleaned — same pixels, so the scores stay valid —
        and unkeyed files encrypted under their keyed name, each stored under
        its new name before its rows follow and its old copy goes. Admins only
        (the command line's local operator is one).
        """
        self.authorize(actor, "maintain")
        with self._db() as db:
            rows = db.execute(select(PhotoRecord.id, PhotoRecord.file_name)).all()
            in_use, _ = self._files.in_use(db, ignore_abandoned=True)
        referenced = {name for _, name in rows}
        stored = self.store.files()
        corrupt, identifying, unkeyed = [], [], []
        for name in sorted(stored & referenced):
            try:
                data = self.store.get(name)
            except RecordsError:  # cannot be decrypted, or not the bytes its name promises: damaged or replaced
                corrupt.append(name)
                continue
            if not self.store.matches(name, data):
                corrupt.append(name)
                continue
            try:
                if without_metadata(data, name) != data:
                    identifying.append(name)
                    continue  # cleaning stores it under its (keyed) name too
            except ValueError:
                corrupt.append(name)  # no longer a well-formed photo
                continue
            if not self.store.is_keyed(name, data):  # (a plain file under a keyed name never reads: corrupt)
                unkeyed.append(name)
        report = DoctorReport(
            orphan_files=sorted(stored - in_use),
            temporary_files=sorted(str(p) for p in self.store.temporary_files()),
            missing_files=sorted(photo_id for photo_id, name in rows if name not in stored),
            corrupt_files=corrupt,
            identifying_files=identifying,
            unkeyed_files=unkeyed,
        )
        if repair:
            if identifying:
                self._move_files(identifying, without_metadata)
            if unkeyed:
                self._move_files(unkeyed, lambda data, name: data)
            with self._db() as db:
                self._files.lock(db)
                in_use, abandoned = self._files.in_use(db, ignore_abandoned=True)
                for name in self.store.files() - in_use:
                    self.store.delete(name)
                for path in self.store.temporary_files():
                    path.unlink(missing_ok=True)
                self.baselines.prune(keep=in_use)  # measured baselines of photos no longer stored
                if abandoned:
                    db.execute(delete(PendingFile).where(PendingFile.id.in_(abandoned)))
            report.repaired = True
            self._audit_later(actor, "doctor", detail=(
                f"repaired: {len(report.orphan_files)} orphan and {len(report.temporary_files)} half-written files "
                f"deleted, {len(identifying)} cleaned of identifying metadata, {len(unkeyed)} moved to keyed names"
            ))  # fmt: skip
        return report

    def _move_files(self, names: list[str], transform, *, batch: int = 100) -> None:
        """Store ``transform(bytes, name)`` of each file under the name the store gives it now, point its rows
        there, then delete the old copy (unless a photo being added claims it).

        In batches: the new files are claimed (pending writes) and written, then the rows of the batch move in
        one transaction. A crash leaves the old files and rows as they were plus new files no row uses yet,
        which the next ``doctor --repair`` deletes: nothing is lost.
        """
        for start in range(0, len(names), batch):
            moved = {}
            for name in names[start : start + batch]:
                moved[name] = self.store.name_for(transform(self.store.get(name), name), "." + name.split(".")[1])
            claims = self._files.claim(new for new, _ in moved.values())
            try:
                for name in moved:  # read again rather than hold a batch of photos in memory
                    self.store.put(transform(self.store.get(name), name), "." + name.split(".")[1])
                with self._db() as db:
                    self._files.lock(db)
                    for name, (new, digest) in moved.items():
                        db.execute(
                            update(PhotoRecord).where(PhotoRecord.file_name == name).values(file_name=new, stored_sha256=digest)
                        )
                    self._files.settle(db, claims)
            except BaseException:
                self._files.release(claims)
                raise
            self._measurements.clear()
            self._files.discard(name for name, (new, _) in moved.items() if new != name)

    def load_demo(self, actor: Actor, folder: str | os.PathLike) -> PatientView:
        """Load the demo patients from ``sample_images/`` (manifest + photos), unless already there.

        ``folder/manifest.json`` is the first demo patient (returned); every
        ``folder/*/manifest.json`` is one more (the face with a simulated course,
        one area per face zone, the same full-face photo in each).
        """
        self.authorize(actor, "create")
        folder = Path(folder)
        first = self._load_demo_patient(actor, folder)
        for extra in sorted(folder.glob("*/manifest.json")):
            self._load_demo_patient(actor, extra.parent)
        return first

    def _load_demo_patient(self, actor: Actor, folder: Path) -> PatientView:
        manifest = json.loads((folder / "manifest.json").read_text())
        info = manifest["patient"]
        existing = self.find_patient(actor, info["code"])
        if existing is not None:
            return existing
        simulated = manifest.get("simulated_course")
        notes = (
            "Simulated course on a public-domain portrait (skimage.data.astronaut, NASA); not a real treatment."
            if simulated
            else "Synthetic demo patient generated by skintrack.synthetic (not a real person)."
        )
        patient = self.add_patient(
            actor, info["code"], info["display_name"], fitzpatrick=info.get("fitzpatrick"), notes=notes,
        )  # fmt: skip
        areas = [self.add_area(actor, patient.id, name) for name in info.get("areas", [info.get("area")])]
        for item in manifest["sessions"]:
            session = self.add_session(
                actor, patient.id, item["date"], item["treatment"], settings=item.get("settings"), notes=item["notes"]
            )
            for area in areas:
                self.add_photo(actor, session.id, area.id, folder / item["file"])
        return self.get_patient(actor, patient.id)
