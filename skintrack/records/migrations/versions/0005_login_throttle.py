"""Security, second round (issue 22): log-in throttling, a keyed-hash secret, ending sessions,
revocable invitations and audit retention.

* ``login_throttle``: one row per throttling bucket (a user name from one client,
  a user name from anywhere, one client for any name), counted and checked under
  a row lock (:mod:`skintrack.records.throttle`).
* ``instance_secrets``: a random key made here, for keyed hashes of what failed
  log-ins typed and of clients (never a plain hash a word list reverses).
* ``users.sessions_valid_after``: sessions signed in before it are over
  (a password reset, a disabled account).
* ``invitations.revoked_at`` / ``revoked_by``: a revoked code is refused.
* The audit log stays append-only, except that lines older than the retention
  period may be deleted (``skintrack audit prune``): failed log-ins after
  90 days, everything after 6 years. The database enforces those floors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Kept in step with skintrack.records.audit (the database enforces these floors).
NOISE_DAYS = 90
KEEP_DAYS = 2190
NOISE_ACTIONS = "('login_failed', 'invitation_failed')"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION skintrack_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND (
        OLD.at < (now() AT TIME ZONE 'utc') - interval '{KEEP_DAYS} days'
        OR (OLD.action IN {NOISE_ACTIONS} AND OLD.at < (now() AT TIME ZONE 'utc') - interval '{NOISE_DAYS} days')
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: rows are never changed, and deleted only after the retention period';
END;
$$ LANGUAGE plpgsql
"""
_PG_FUNCTION_0003 = """
CREATE OR REPLACE FUNCTION skintrack_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: rows are never changed or deleted';
END;
$$ LANGUAGE plpgsql
"""
_SQLITE_DELETE = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"WHEN NOT (OLD.at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{KEEP_DAYS} days') "
    f"OR (OLD.action IN {NOISE_ACTIONS} AND OLD.at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{NOISE_DAYS} days'))) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows are never changed, and deleted only after the "
    "retention period'); END"
)


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("bucket", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False, index=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locks", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime, nullable=True),
        sa.Column("last_failure_at", sa.DateTime, nullable=True),
    )
    secrets_table = op.create_table(
        "instance_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.bulk_insert(secrets_table, [{"name": "hash_key", "value": secrets.token_hex(32)}])
    op.add_column("users", sa.Column("sessions_valid_after", sa.DateTime, nullable=True))
    op.add_column("invitations", sa.Column("revoked_at", sa.DateTime, nullable=True))
    op.add_column("invitations", sa.Column("revoked_by", sa.String(200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(_SQLITE_DELETE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION_0003)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows are never changed or deleted'); END"
        )
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sessions_valid_after")
    op.drop_table("instance_secrets")
    op.drop_table("login_throttle")
