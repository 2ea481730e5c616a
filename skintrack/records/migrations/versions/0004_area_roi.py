"""The region of interest of a treated area (drawn on its baseline).

``areas.roi``: JSON, NULL when the whole area is measured. Holds the shape
(``rectangle`` or ``polygon``), its points as fractions of the baseline's width
and height, and the id of the baseline photo it was drawn on (see
:mod:`skintrack.roi`). Adding a nullable column rebuilds no table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("areas", sa.Column("roi", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("areas") as batch:
        batch.drop_column("roi")
