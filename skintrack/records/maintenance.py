"""Maintenance of a data folder: checking files against rows, and loading the demo patient."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from sqlalchemy import delete, select, update

from .errors import RecordsError
from .db import PendingFile, PhotoRecord
from .store import without_metadata
from .views import Actor, DoctorReport, PatientView

__all__ = ["MaintenanceMixin"]


class MaintenanceMixin:
    """``doctor`` (files vs rows) and ``load_demo``."""

    def doctor(self, actor: Actor, *, repair: bool = False) -> DoctorReport:
        """Check that every photo row has its file and every file a row.

        Reports files no row refers to (e.g. after a crash between writing the
        file and committing its row), half-written temporary files, rows whose
        file is missing, files whose bytes no longer match their name, and
        files that still carry identifying metadata (stored by a version that
        kept MPO frames or data after the image, with their EXIF). A photo being
        added right now is none of these: its file is protected by its pending
        write until its row commits (see :mod:`skintrack.records.files`).

        With ``repair``, orphan and temporary files are deleted (rows are never
        deleted: a missing file needs a human), under the files lock, and
        identifying files are cleaned — same pixels, so the scores stay valid —
        and stored under their new hash, their rows following. Admins only (the command line's local
        operator is one).
        """
        self.authorize(actor, "maintain")
        with self._db() as db:
            rows = db.execute(select(PhotoRecord.id, PhotoRecord.file_name)).all()
            in_use, _ = self._files_in_use(db, ignore_abandoned=True)
        referenced = {name for _, name in rows}
        stored = self.store.files()
        corrupt, identifying = [], []
        for name in sorted(stored & referenced):
            try:
                data = self.store.get(name)
            except RecordsError:  # an encrypted file that cannot be decrypted: damaged (or the wrong key)
                corrupt.append(name)
                continue
            if hashlib.sha256(data).hexdigest() != name.split(".")[0]:
                corrupt.append(name)
                continue
            try:
                if without_metadata(data, name) != data:
                    identifying.append(name)
            except ValueError:
                corrupt.append(name)  # no longer a well-formed photo
        report = DoctorReport(
            orphan_files=sorted(stored - in_use),
            temporary_files=sorted(str(p) for p in self.store.temporary_files()),
            missing_files=sorted(photo_id for photo_id, name in rows if name not in stored),
            corrupt_files=corrupt,
            identifying_files=identifying,
        )
        if repair:
            if identifying:
                self._clean_identifying_files(identifying)
            with self._db() as db:
                self._lock_files(db)
                in_use, abandoned = self._files_in_use(db, ignore_abandoned=True)
                for name in self.store.files() - in_use:
                    self.store.delete(name)
                for path in self.store.temporary_files():
                    path.unlink(missing_ok=True)
                if abandoned:
                    db.execute(delete(PendingFile).where(PendingFile.id.in_(abandoned)))
            report.repaired = True
            self._audit_later(actor, "doctor", detail=(
                f"repaired: {len(report.orphan_files)} orphan and {len(report.temporary_files)} half-written files deleted"
            ))  # fmt: skip
        return report

    def _clean_identifying_files(self, names: list[str]) -> None:
        """Store each file without its identifying metadata and point its rows at the clean copy."""
        cleaned = {}
        for name in names:
            clean = without_metadata(self.store.get(name), name)
            cleaned[name] = self.store.name_for(clean, "." + name.split(".")[1])
        claims = self._claim(new for new, _ in cleaned.values())
        try:
            for name, (new, _) in cleaned.items():
                self.store.put(without_metadata(self.store.get(name), name), "." + name.split(".")[1])
            with self._db() as db:
                self._lock_files(db)
                for name, (new, digest) in cleaned.items():
                    db.execute(
                        update(PhotoRecord).where(PhotoRecord.file_name == name).values(file_name=new, stored_sha256=digest)
                    )
                self._settle_claims(db, claims)
        except BaseException:
            self._release(claims)
            raise
        with self._cache_lock:
            self._baseline_cache.clear()
            self._measured.clear()
        self._discard_files(cleaned)  # the old copies, unless a photo being added claims one

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
