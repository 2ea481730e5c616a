"""The records service: every read and write of patient data goes through :class:`Records`.

:class:`Records` is a thin facade. It owns the database engine, the photo store
and the caches, and the one permission check (:meth:`Records.authorize`); each
concern lives in its own module, mixed in here:

===================  ==========================================================
``patients.py``      patients and their treated areas
``sessions.py``      sessions (visits) and photos: intake → gate → normalise →
                     align → score, measurement, rescoring, consent
``archive.py``       export and import of one patient as a zip
``maintenance.py``   ``doctor`` (files vs rows), loading the demo patient
``files.py``         photo files being written (pending writes) and deleting
                     files no row uses, under one lock
``validation.py``    what text, numbers and ids the records accept
===================  ==========================================================

Each public method takes the acting user (:class:`Actor`) first and calls
:meth:`Records.authorize` before touching data. Providers (and admins) may do
everything; a patient may only read their own records.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..photo import Photo, make_private_dirs
from .archive import ArchiveMixin
from .db import make_engine, migrate
from .errors import InvalidInput, NotFound, PermissionDenied, RecordsError, StorageFull
from .files import FilesMixin
from .maintenance import MaintenanceMixin
from .patients import PatientsMixin
from .sessions import SessionsMixin
from .store import PhotoStore
from .validation import is_id
from .views import Actor, AreaView, DoctorReport, Measurement, PatientView, PhotoView, SessionView

__all__ = [
    "Actor",
    "AreaView",
    "DoctorReport",
    "InvalidInput",
    "Measurement",
    "NotFound",
    "PatientView",
    "PermissionDenied",
    "PhotoView",
    "Records",
    "RecordsError",
    "SessionView",
    "StorageFull",
]

READ_ACTIONS = {"read"}


class Records(PatientsMixin, SessionsMixin, ArchiveMixin, MaintenanceMixin, FilesMixin):
    """Patient records in a data folder (or a database URL).

    Parameters
    ----------
    data_dir : path, optional
        Folder holding ``skintrack.db`` and the ``photos/`` store. Default:
        ``$SKINTRACK_DATA`` or ``./skintrack-data``.
    db_url : str, optional
        SQLAlchemy URL; default ``$SKINTRACK_DB_URL`` or SQLite in ``data_dir``.
        PostgreSQL: ``postgresql+psycopg://user:password@host/db``.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, db_url: str | None = None):
        self.data_dir = Path(data_dir or os.environ.get("SKINTRACK_DATA") or "skintrack-data")
        make_private_dirs(self.data_dir)
        os.chmod(self.data_dir, 0o700)  # health data: owner only, whatever the umask or an older version made
        url = db_url or os.environ.get("SKINTRACK_DB_URL") or f"sqlite:///{(self.data_dir / 'skintrack.db').resolve()}"
        self.db_url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.store = PhotoStore(self.data_dir / "photos")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._baseline_cache: OrderedDict[str, tuple[Photo, Photo]] = OrderedDict()
        self._measured: OrderedDict[str, Measurement] = OrderedDict()
        self._cache_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ infrastructure

    @contextmanager
    def _db(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        db = self._sessions()
        try:
            yield db
            db.commit()
        except OperationalError as exc:
            db.rollback()
            if _database_full(exc):
                raise StorageFull("The database's disk is full; nothing was changed. Free some space and try again.") from None
            raise
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def authorize(self, actor: Actor, action: str, patient_id: str | None = None) -> None:
        """The one permission check. Raises :class:`PermissionDenied`."""
        if not isinstance(actor, Actor) or not actor.name:
            raise PermissionDenied("An identified user is required.")
        if actor.role in ("provider", "admin"):
            return
        if actor.role == "patient" and action in READ_ACTIONS and patient_id and patient_id == actor.patient_id:
            return
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not {action} this record.")

    @staticmethod
    def _get(db: Session, model, object_id: str, what: str):
        obj = db.get(model, object_id) if is_id(object_id) else None
        if obj is None:
            raise NotFound(f"No {what} with id {object_id!r}.")
        return obj


def _database_full(exc: OperationalError) -> bool:
    """SQLite's "database or disk is full" or PostgreSQL's disk_full (SQLSTATE 53100)."""
    return "disk is full" in str(exc.orig).lower() or getattr(exc.orig, "sqlstate", None) == "53100"
