"""Database schema (SQLAlchemy 2) and engine set-up: SQLite by default, PostgreSQL by URL.

The schema is created and upgraded by Alembic migrations
(``skintrack/records/migrations``), never by ``create_all``, so a database
made by one version upgrades cleanly to the next.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Area",
    "AuditRecord",
    "Base",
    "InvitationRecord",
    "MetricScore",
    "Patient",
    "PendingFile",
    "PhotoRecord",
    "TreatmentSession",
    "User",
    "make_engine",
    "migrate",
]

TREATMENTS = ("baseline", "micro-needling", "laser", "RF", "peel", "other")
CONSENT_LEVELS = ("record", "teaching", "publication")  # each includes the ones before it
PHOTO_STATUSES = ("scored", "not_comparable", "blocked")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fitzpatrick: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    areas: Mapped[list["Area"]] = relationship(back_populates="patient", cascade="all, delete-orphan", passive_deletes=True)
    sessions: Mapped[list["TreatmentSession"]] = relationship(back_populates="patient", cascade="all, delete-orphan", passive_deletes=True)


class Area(Base):
    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("patient_id", "name", name="uq_area_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The photo every follow-up of this area is normalised to, aligned to and measured against.
    baseline_photo_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The treated region drawn on the baseline (skintrack.measure.roi.Region.to_dict() + "photo_id"), or NULL.
    roi: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    patient: Mapped[Patient] = relationship(back_populates="areas")


class TreatmentSession(Base):
    __tablename__ = "sessions"
    # One visit per patient, date and treatment: two imports of the same course cannot both add it.
    __table_args__ = (Index("uq_session_visit", "patient_id", "date", "treatment", unique=True),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    treatment: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    provider: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    patient: Mapped[Patient] = relationship(back_populates="sessions")
    photos: Mapped[list["PhotoRecord"]] = relationship(back_populates="session", cascade="all, delete-orphan", passive_deletes=True)


class PhotoRecord(Base):
    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("session_id", "area_id", "view", "original_sha256", name="uq_photo_once"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    view: Mapped[str] = mapped_column(String(64), default="front")
    file_name: Mapped[str] = mapped_column(String(128))  # in the content-addressed store
    stored_sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    captured_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source_format: Mapped[str] = mapped_column(String(16))
    camera: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    normalization: Mapped[dict] = mapped_column(JSON, default=dict)
    alignment: Mapped[dict] = mapped_column(JSON, default=dict)
    quality: Mapped[list] = mapped_column(JSON, default=list)
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    consent: Mapped[str] = mapped_column(String(16), default="record")
    consent_withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    session: Mapped[TreatmentSession] = relationship(back_populates="photos")
    scores: Mapped[list["MetricScore"]] = relationship(back_populates="photo", cascade="all, delete-orphan", passive_deletes=True)


class MetricScore(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("photo_id", "metric", name="uq_score_metric"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    photo_id: Mapped[str] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL = not computable (NaN)
    engine_version: Mapped[str] = mapped_column(String(32))
    settings_hash: Mapped[str] = mapped_column(String(32))
    provenance: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    photo: Mapped[PhotoRecord] = relationship(back_populates="scores")


class User(Base):
    """An account: who may log in, with which role; a patient account is linked to one patient."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, unique=True)  # lower case; OIDC log-in
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)  # argon2id; NULL: OIDC only
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    # Sessions signed in before this are over (password reset, account disabled); NULL: none ended.
    sessions_valid_after: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InvitationRecord(Base):
    """A one-time invitation code for a patient; only the code's sha256 is stored."""

    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the username it created
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditRecord(Base):
    """One line of the append-only audit log (database triggers refuse UPDATE and DELETE).

    No foreign keys: a line outlives the patient or account it names, so the
    patient's code is copied in.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    patient_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class PendingFile(Base):
    """A photo file being written whose row is not committed yet: ``doctor --repair`` must not delete it.

    Committed before the file is written and deleted in the transaction that
    commits the photo's row (or when the write fails). A pending write whose
    writer (``<host>-<pid>``) is gone was abandoned by a crash.
    """

    __tablename__ = "pending_files"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    file_name: Mapped[str] = mapped_column(String(128), index=True)
    writer: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys, and a file only its owner reads."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(connection, _record):
            connection.isolation_level = None  # we issue BEGIN ourselves (below)
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA busy_timeout=60000")  # writers wait for each other instead of failing
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA secure_delete=ON")  # deleted rows (patients, photos' rows) are overwritten
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Take the write lock when a transaction starts, so two writers never deadlock
            # upgrading read locks (SQLite's "database is locked" surprise); WAL readers still read.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_sqlite_file(url: str) -> None:
    """Create the database file ``0600`` before SQLite does (it would use ``0644``); tighten an existing one.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they follow.

    The live database file is never opened (nor closed) from Python: closing *any* descriptor of a file
    releases every POSIX lock this process holds on it (fcntl semantics), so another ``Records`` on the
    same folder in this process would lose SQLite's locks, and another process (the command line, the
    app) would then checkpoint and delete the ``-wal`` and ``-shm`` files under it. A new file is made
    private under a temporary name and linked into place (never replacing one that appeared meanwhile);
    an existing file is only ``chmod``-ed by its path.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will say so
    if not path.exists():
        _create_private_file(path)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def _create_private_file(path: Path) -> None:
    """An empty file (an empty SQLite database) at ``path`` with mode 0600, unless one exists by then."""
    spare = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    os.close(os.open(spare, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # a file no one else knows of
    try:
        os.link(spare, path)  # atomic, and never replaces a database another process created meanwhile
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: create it in place (it is new: no one holds locks on it)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
    finally:
        os.unlink(spare)


#: PostgreSQL advisory lock held while the schema is created or upgraded (any number; skintrack's own).
MIGRATION_LOCK = 0x5C1A7AC4


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision.

    Several servers starting at once take turns (a PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE``):
    the first upgrades, the others then find the schema current.
    """
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
