"""Log-in throttling: guesses still being checked are counted apart (``login_throttle.pending``).

A right password clears its user name's buckets, but not the guesses of the same burst that are still
being checked: they keep counting (:func:`skintrack.records.throttle.settle`), so twelve parallel attempts
with the right password among them still get at most ``LOCK_AFTER`` checked. One new column, default 0.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_throttle") as table:
        table.add_column(sa.Column("pending", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("login_throttle") as table:
        table.drop_column("pending")
