"""Log-in throttling: every guess counted and checked atomically, per user name, per client and per both.

Each log-in attempt first *claims* a guess in three buckets, in one transaction
that holds their rows locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
takes its write lock when the transaction begins), before any password is
checked:

===========================  ===================  =====================================
bucket                       guesses              then
===========================  ===================  =====================================
this user name, this client  :data:`LOCK_AFTER`   locked 1, 2, 4, … minutes, ≤ 1 hour
this user name, any client   :data:`NAME_LIMIT`   locked :data:`NAME_LOCK` (no growth)
this client, any user name   :data:`CLIENT_LIMIT` locked :data:`CLIENT_LOCK` (no growth)
===========================  ===================  =====================================

A claim counts as a wrong guess until the password turns out right, so twelve
parallel attempts can never have more than :data:`LOCK_AFTER` of them checked.
A right password clears its user name's buckets (the client's bucket only gives
back that one claim, so logging into one's own account between guesses at
others does not reset it) — unless other guesses in the bucket are still being
checked (``pending``): then the right guess and those keep counting, so a right
password among parallel guesses makes no room for more of them. When a bucket locks, its count starts again: after
the lock a client has :data:`LOCK_AFTER` fresh guesses, not one, so a single
wrong guess each time a lock ends cannot keep an account locked for ever; the
growing lock is per client, so someone guessing from one place does not lock
out the account's owner elsewhere. A bucket forgets its lock history after
:data:`FORGET_AFTER` without a wrong guess. Unknown user names get buckets too
(rate limited the same way, so a lock says nothing about which names exist).

Buckets are keyed by keyed hashes (HMAC-SHA-256 with the instance's secret) of
the user name and the client address, so the table holds no name anyone typed.

References
----------
NIST SP 800-63B, section 5.2.2 "Rate Limiting (Throttling)". OWASP Authentication
Cheat Sheet, "Account Lockout".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

__all__ = [
    "CLIENT_LIMIT",
    "CLIENT_LOCK",
    "FORGET_AFTER",
    "LOCK_AFTER",
    "LOCK_BASE",
    "LOCK_MAX",
    "NAME_LIMIT",
    "NAME_LOCK",
    "Claim",
    "InstanceSecret",
    "LoginThrottle",
]

#: Wrong guesses at one user name from one client before that client is locked out of it.
LOCK_AFTER = 5
#: The first lock of a user name from one client; each further lock doubles it, up to LOCK_MAX.
LOCK_BASE = dt.timedelta(minutes=1)
LOCK_MAX = dt.timedelta(hours=1)
#: Wrong guesses at one user name from all clients together before it is locked for everyone.
NAME_LIMIT = 20
NAME_LOCK = dt.timedelta(minutes=15)
#: Wrong guesses from one client, at any user names, before the client is locked out.
CLIENT_LIMIT = 50
CLIENT_LOCK = dt.timedelta(minutes=15)
#: A bucket without a wrong guess for this long forgets its count and its lock history.
FORGET_AFTER = dt.timedelta(hours=24)
ANY = "*"


class LoginThrottle(Base):
    """One throttling bucket (see the module docstring)."""

    __tablename__ = "login_throttle"
    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash of the user name, or "*"
    client: Mapped[str] = mapped_column(String(64))  # keyed hash of the client, or "*"
    failures: Mapped[int] = mapped_column(Integer, default=0)  # guesses counted: wrong ones and those being checked
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of which still being checked
    locks: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InstanceSecret(Base):
    """Random values made when the database was created (migration 0005), e.g. the key of keyed hashes."""

    __tablename__ = "instance_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


def hash_key(db: Session) -> bytes:
    """The instance's key for keyed hashes (made by the migration; made here if a copy lost it)."""
    value = db.scalar(select(InstanceSecret.value).where(InstanceSecret.name == "hash_key"))
    if value is None:
        value = secrets.token_hex(32)
        try:
            with db.begin_nested():
                db.add(InstanceSecret(name="hash_key", value=value))
        except IntegrityError:
            value = db.scalar(select(InstanceSecret.value).where(InstanceSecret.name == "hash_key"))
    return bytes.fromhex(value)


def keyed(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA-256 of ``kind:value`` under the instance key, as 32 hex digits (128 bits)."""
    return hmac.new(key, f"{kind}:{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class _Rule:
    limit: int
    base: dt.timedelta
    grows: bool


_RULES = {
    "name+client": _Rule(LOCK_AFTER, LOCK_BASE, True),
    "name": _Rule(NAME_LIMIT, NAME_LOCK, False),
    "client": _Rule(CLIENT_LIMIT, CLIENT_LOCK, False),
}


def lock_length(rule: str, locks: int) -> dt.timedelta:
    """How long a bucket locks the ``locks``-th time (0 = first): 1, 2, 4, … minutes ≤ 1 h for one user name
    from one client; fixed for the others."""
    spec = _RULES[rule]
    if not spec.grows:
        return spec.base
    return min(spec.base * (2 ** min(locks, 20)), LOCK_MAX)


@dataclass
class Claim:
    """The outcome of claiming one guess: ``allowed`` (the password may be checked) or the lock in force."""

    allowed: bool
    buckets: dict[str, str]  # rule -> bucket key
    locked_until: dt.datetime | None = None


def buckets_for(key: bytes, username: str, client: str) -> dict[str, tuple[str, str, str]]:
    """``{rule: (bucket, subject, client)}`` for a user name typed from a client."""
    subject = keyed(key, "user", username)
    source = keyed(key, "client", client)
    return {
        "name+client": (keyed(key, "bucket", f"{subject}/{source}"), subject, source),
        "name": (keyed(key, "bucket", f"{subject}/{ANY}"), subject, ANY),
        "client": (keyed(key, "bucket", f"{ANY}/{source}"), ANY, source),
    }


def _rows(db: Session, wanted: dict[str, tuple[str, str, str]]) -> dict[str, LoginThrottle]:
    """The buckets' rows, created if new, locked for this transaction (in key order: no deadlocks)."""
    rows = {}
    for rule, (bucket, subject, client) in sorted(wanted.items(), key=lambda item: item[1][0]):
        row = db.scalar(select(LoginThrottle).where(LoginThrottle.bucket == bucket).with_for_update())
        if row is None:
            try:
                with db.begin_nested():
                    db.add(LoginThrottle(bucket=bucket, subject=subject, client=client, failures=0, locks=0))
            except IntegrityError:  # created by a parallel attempt meanwhile
                pass
            row = db.scalar(
                select(LoginThrottle).where(LoginThrottle.bucket == bucket).with_for_update().execution_options(
                    populate_existing=True
                )
            )
        rows[rule] = row
    return rows


def claim(db: Session, key: bytes, username: str, client: str, now: dt.datetime) -> Claim:
    """Count one guess in every bucket, or none when any of them is locked or full. Call inside a transaction."""
    wanted = buckets_for(key, username, client)
    rows = _rows(db, wanted)
    keys = {rule: spec[0] for rule, spec in wanted.items()}
    locked = []
    for rule, row in rows.items():
        if row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER and (
            row.locked_until is None or row.locked_until <= now
        ):
            row.failures, row.locks, row.locked_until, row.pending = 0, 0, None, 0
        if row.locked_until is not None and row.locked_until > now:
            locked.append(row.locked_until)
        elif row.failures >= _RULES[rule].limit:  # full of guesses still being checked
            locked.append(now)
    if locked:
        return Claim(False, keys, max(locked))
    for row in rows.values():
        row.failures += 1
        row.pending = (row.pending or 0) + 1
        row.last_failure_at = now
        if row.locked_until is not None and row.locked_until <= now:
            row.locked_until = None
    return Claim(True, keys)


def settle(db: Session, result: Claim, *, right: bool, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """After the password was checked: a right one clears the name's buckets and gives back the client's
    claim; a wrong one stays counted and locks every bucket that reached its limit.

    Returns ``[(rule, locked_until)]`` of the buckets this guess locked.
    """
    rows = {
        rule: db.scalar(select(LoginThrottle).where(LoginThrottle.bucket == bucket).with_for_update())
        for rule, bucket in sorted(result.buckets.items(), key=lambda item: item[1])
    }
    locked = []
    for rule, row in rows.items():
        if row is None:
            continue
        row.pending = max(0, (row.pending or 0) - 1)
        if right:
            if rule == "client":
                row.failures = max(0, row.failures - 1)
            elif row.pending:
                # Other guesses of the same burst are still being checked: they, and this one, keep counting
                # until they are settled (else a right password among twelve parallel guesses would make
                # room for more of them to be checked).
                row.failures = min(row.failures, row.pending + 1)
            else:
                row.failures, row.locks, row.locked_until = 0, 0, None
            continue
        if row.failures >= _RULES[rule].limit and (row.locked_until is None or row.locked_until <= now):
            row.locked_until = now + lock_length(rule, row.locks)
            row.locks += 1
            row.failures = 0
            locked.append((rule, row.locked_until))
    return locked


def name_lock(db: Session, key: bytes, username: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """``(wrong guesses counted, latest lock in force)`` over every bucket of a user name (for the admin's view)."""
    subject = keyed(key, "user", username)
    rows = list(db.scalars(select(LoginThrottle).where(LoginThrottle.subject == subject)))
    failures = max((r.failures for r in rows), default=0)
    until = max((r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now), default=None)
    return failures, until


def clear_name(db: Session, key: bytes, username: str) -> int:
    """Forget every bucket of a user name (an administrator's unlock); returns how many there were."""
    subject = keyed(key, "user", username)
    return db.execute(delete(LoginThrottle).where(LoginThrottle.subject == subject)).rowcount or 0


def prune(db: Session, now: dt.datetime) -> int:
    """Delete buckets with no lock in force and no wrong guess for :data:`FORGET_AFTER`."""
    stale = now - FORGET_AFTER
    query = delete(LoginThrottle).where(
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until <= now),
        (LoginThrottle.last_failure_at.is_(None)) | (LoginThrottle.last_failure_at < stale),
    )
    return db.execute(query).rowcount or 0
