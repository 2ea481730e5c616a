"""Photo files and the rows that claim them: writing a file before its row, deleting files no one uses.

A photo file is written to the store before its row commits, so for a moment a
file exists that no row refers to. ``doctor --repair`` deletes such orphans, and
deleting a photo deletes its file when no other row uses it; neither may delete
a file another process is about to commit. So:

1. a writer first commits a *pending write* (:class:`~skintrack.records.db.PendingFile`:
   file name, writer ``<host>-<pid>``, time) — :meth:`PhotoFiles.claim`;
2. writes the file;
3. commits the photo row and deletes its pending write in the same transaction
   (or releases it when anything fails — :meth:`PhotoFiles.release`).

Whoever deletes files (:meth:`PhotoFiles.discard`, used by deletes and
``doctor --repair``) does it inside a transaction that holds the *files lock*
(:meth:`PhotoFiles.lock`): on PostgreSQL ``LOCK TABLE pending_files IN
EXCLUSIVE MODE``, on SQLite the database's write lock (``BEGIN IMMEDIATE``). No
pending write can be committed meanwhile, and a file is only deleted when no
photo row and no pending write names it — read while the lock holds. A pending write whose writer died (a crash) no longer protects its
file: ``doctor`` reports the file as an orphan and removes the stale entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, ContextManager, Iterable

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from .db import PendingFile, PhotoRecord
from .store import PhotoStore, writer_alive, writer_id

__all__ = ["PhotoFiles"]


class PhotoFiles:
    """Claims on photo files being written, and deletion of files no row or claim uses.

    Contract: given the records' transaction factory (``transaction()``: a context manager
    yielding a database session, committed on success) and the photo store, it writes and reads
    only :class:`~skintrack.records.db.PendingFile` rows and deletes only store files that no
    photo row and no live pending write names. It holds no state of its own, so it is safe to
    use from any thread or process (the database's files lock orders them).
    """

    def __init__(self, transaction: Callable[[], ContextManager[Session]], store: PhotoStore):
        self._db = transaction
        self.store = store

    def claim(self, file_names: Iterable[str]) -> list[str]:
        """Commit a pending write for each file about to be written; returns the claim ids."""
        claims = [PendingFile(file_name=name, writer=writer_id()) for name in dict.fromkeys(file_names)]
        with self._db() as db:
            db.add_all(claims)
            db.flush()
            return [claim.id for claim in claims]

    def release(self, claim_ids: list[str]) -> None:
        """Drop pending writes after a failed write (best effort: doctor treats a dead writer's as abandoned)."""
        if claim_ids:
            try:
                with self._db() as db:
                    db.execute(delete(PendingFile).where(PendingFile.id.in_(claim_ids)))
            except Exception:
                pass

    @staticmethod
    def settle(db: Session, claim_ids: list[str]) -> None:
        """Inside the transaction that commits the rows: the files are now theirs."""
        if claim_ids:
            db.execute(delete(PendingFile).where(PendingFile.id.in_(claim_ids)))

    def lock(self, db: Session) -> None:
        """Hold the files lock until ``db`` ends: no pending write can be committed meanwhile."""
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("LOCK TABLE pending_files IN EXCLUSIVE MODE"))
        # SQLite: every transaction starts with BEGIN IMMEDIATE, which already holds the write lock.

    def in_use(self, db: Session, *, ignore_abandoned: bool) -> tuple[set[str], list[str]]:
        """Files named by a photo row or a pending write, and the ids of abandoned pending writes.

        Call with the files lock held: pending writes cannot change meanwhile,
        and a photo row cannot commit without first settling its pending write.
        With ``ignore_abandoned``, a pending write whose writer is gone protects nothing.
        """
        in_use = set(db.scalars(select(PhotoRecord.file_name)))
        abandoned = []
        for claim_id, file_name, writer, created_at in db.execute(
            select(PendingFile.id, PendingFile.file_name, PendingFile.writer, PendingFile.created_at)
        ):
            started = created_at.replace(tzinfo=dt.timezone.utc).timestamp()
            if ignore_abandoned and not writer_alive(writer, started):
                abandoned.append(claim_id)
            else:
                in_use.add(file_name)
        return in_use, abandoned

    def discard(self, file_names: Iterable[str]) -> list[str]:
        """Delete those of ``file_names`` that no photo row and no pending write uses; returns them."""
        names = set(file_names)
        if not names:
            return []
        with self._db() as db:
            self.lock(db)
            in_use, _ = self.in_use(db, ignore_abandoned=False)
            unused = sorted(names - in_use)
            for name in unused:
                self.store.delete(name)
        return unused

    def abandon(self, file_name: str) -> None:
        """After a failed write: delete the file unless someone uses it (best effort; doctor finds the rest)."""
        self.abandon_all([file_name])

    def abandon_all(self, file_names: list[str]) -> None:
        try:
            self.discard(file_names)
        except Exception:
            pass
