"""Hardening: one session per patient, date and treatment; pending photo writes.

* ``uq_session_visit``: a unique index on sessions (patient_id, date,
  treatment), so two concurrent imports of one course cannot both add a visit.
  Duplicates already in the database are merged first, keeping the earliest
  session: the others' photos move to it (a photo already there under the same
  area, view and hash is dropped, its baseline role passed to its twin), their
  notes are appended, and settings that differ are recorded in the notes.
* ``pending_files``: photo files written before their row commits, so
  ``doctor --repair`` never deletes a photo being added.

An index (not a table constraint) keeps SQLite from rebuilding the sessions
table, which would cascade-delete its photos.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _merge_duplicate_sessions(connection) -> None:
    duplicates = connection.execute(
        sa.text(
            "SELECT patient_id, date, treatment FROM sessions GROUP BY patient_id, date, treatment HAVING COUNT(*) > 1"
        )
    ).all()
    for patient_id, date, treatment in duplicates:
        sessions = connection.execute(
            sa.text(
                "SELECT id, notes, settings FROM sessions WHERE patient_id = :p AND date = :d AND treatment = :t "
                "ORDER BY created_at, id"
            ),
            {"p": patient_id, "d": date, "t": treatment},
        ).all()
        keep_id, notes, settings = sessions[0]
        settings = _json(settings)
        notes = notes or ""
        for other_id, other_notes, other_settings in sessions[1:]:
            photos = connection.execute(
                sa.text("SELECT id, area_id, view, original_sha256 FROM photos WHERE session_id = :s"), {"s": other_id}
            ).all()
            for photo_id, area_id, view, sha in photos:
                twin = connection.execute(
                    sa.text(
                        "SELECT id FROM photos WHERE session_id = :s AND area_id = :a AND view = :v "
                        "AND original_sha256 = :h"
                    ),
                    {"s": keep_id, "a": area_id, "v": view, "h": sha},
                ).scalar()
                if twin is None:
                    connection.execute(sa.text("UPDATE photos SET session_id = :s WHERE id = :i"), {"s": keep_id, "i": photo_id})
                    continue
                connection.execute(
                    sa.text("UPDATE areas SET baseline_photo_id = :t WHERE baseline_photo_id = :i"), {"t": twin, "i": photo_id}
                )
                connection.execute(sa.text("DELETE FROM scores WHERE photo_id = :i"), {"i": photo_id})
                connection.execute(sa.text("DELETE FROM photos WHERE id = :i"), {"i": photo_id})
            if other_notes and other_notes not in notes:
                notes = f"{notes}\n{other_notes}".strip()
            other_settings = _json(other_settings)
            if other_settings and other_settings != settings:
                notes = f"{notes}\nAlso recorded with settings {json.dumps(other_settings, sort_keys=True)}.".strip()
            connection.execute(sa.text("DELETE FROM sessions WHERE id = :s"), {"s": other_id})
        connection.execute(sa.text("UPDATE sessions SET notes = :n WHERE id = :s"), {"n": notes, "s": keep_id})


def _json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value or {}


def upgrade() -> None:
    _merge_duplicate_sessions(op.get_bind())
    op.create_index("uq_session_visit", "sessions", ["patient_id", "date", "treatment"], unique=True)
    op.create_table(
        "pending_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("file_name", sa.String(128), nullable=False, index=True),
        sa.Column("writer", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pending_files")
    op.drop_index("uq_session_visit", table_name="sessions")
