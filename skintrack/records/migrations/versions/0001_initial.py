"""Initial schema: patients, areas, sessions, photos, scores.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("birth_year", sa.Integer, nullable=True),
        sa.Column("fitzpatrick", sa.Integer, nullable=True),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("baseline_photo_id", sa.String(36), nullable=True),
        sa.UniqueConstraint("patient_id", "name", name="uq_area_name"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("treatment", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("area_id", sa.String(36), sa.ForeignKey("areas.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("view", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(128), nullable=False),
        sa.Column("stored_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("original_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("captured_at", sa.DateTime, nullable=True),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("source_format", sa.String(16), nullable=False),
        sa.Column("camera", sa.String(200), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("normalization", sa.JSON, nullable=False),
        sa.Column("alignment", sa.JSON, nullable=False),
        sa.Column("quality", sa.JSON, nullable=False),
        sa.Column("thresholds", sa.JSON, nullable=False),
        sa.Column("consent", sa.String(16), nullable=False),
        sa.Column("consent_withdrawn_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("session_id", "area_id", "view", "original_sha256", name="uq_photo_once"),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("photo_id", sa.String(36), sa.ForeignKey("photos.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("engine_version", sa.String(32), nullable=False),
        sa.Column("settings_hash", sa.String(32), nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("photo_id", "metric", name="uq_score_metric"),
    )


def downgrade() -> None:
    for table in ("scores", "photos", "sessions", "areas", "patients"):
        op.drop_table(table)
