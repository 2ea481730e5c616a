"""API tokens: per-account secrets for the REST API (:mod:`skintrack.api`), stored hashed, revocable, audited.

A token acts as the account it belongs to, with that account's role: a
patient's token reads only that patient's record, a provider's does clinical
work, an admin's everything. It stops working when it is revoked, when it
expires, and while its account is disabled; deleting the account (or the
patient it belongs to) deletes its tokens.

The token is shown once, when it is made (``skt_`` and 43 URL-safe characters:
256 random bits). Only its SHA-256 is stored: with that much randomness a
slow password hash would add nothing, and every API request can check it with
one indexed look-up. The first 12 characters are kept to tell tokens apart in
lists. Made, revoked and refused tokens are written to the audit log
(``token_created``, ``token_revoked``, ``login_failed``); what a token reads
or changes is logged like any other access, with source ``api``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import validation
from .accounts import actor_for, normal_username
from .db import Base, User, new_id, utcnow
from .errors import AuthenticationFailed, InvalidInput, NotFound
from .validation import MAX_NAME
from .views import Actor

__all__ = ["DEFAULT_TOKEN_DAYS", "MAX_TOKEN_DAYS", "TOKEN_PREFIX", "ApiToken", "ApiTokenView", "NewApiToken", "TokensMixin"]

#: Every token starts with this (so secret scanners and people recognise one).
TOKEN_PREFIX = "skt_"
#: A token is valid this long unless asked otherwise, and at most :data:`MAX_TOKEN_DAYS`.
DEFAULT_TOKEN_DAYS = 365
MAX_TOKEN_DAYS = 5 * 365
#: ``last_used_at`` is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_SHOWN = 12  # characters of the token kept to tell tokens apart ("skt_" + 8)


class ApiToken(Base):
    """An API token of an account; only its SHA-256 is stored (table ``api_tokens``, migration 0006)."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # what it is for, e.g. "EMR bridge"
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    shown: Mapped[str] = mapped_column(String(16))  # the token's first characters, to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


@dataclass
class ApiTokenView:
    """An API token as listed (never the secret)."""

    id: str
    username: str
    role: str
    patient_id: str | None
    name: str
    shown: str  #: the token's first characters, e.g. "skt_3kPq9a1Z"
    created_at: dt.datetime  #: UTC
    created_by: str
    expires_at: dt.datetime  #: UTC
    last_used_at: dt.datetime | None  #: UTC, to the minute
    revoked_at: dt.datetime | None
    status: str  #: "active", "expired", "revoked" or "account disabled"


@dataclass
class NewApiToken:
    """A token just made: ``token`` is the secret, shown this once."""

    token: str
    view: ApiTokenView


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _status(row: ApiToken, user: User, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    if user.disabled_at is not None:
        return "account disabled"
    return "active"


def _view(row: ApiToken, user: User, now: dt.datetime) -> ApiTokenView:
    return ApiTokenView(
        id=row.id, username=user.username, role=user.role, patient_id=user.patient_id, name=row.name,
        shown=row.shown, created_at=row.created_at, created_by=row.created_by, expires_at=row.expires_at,
        last_used_at=row.last_used_at, revoked_at=row.revoked_at, status=_status(row, user, now),
    )  # fmt: skip


class TokensMixin:
    """Make, list, revoke and check API tokens."""

    def create_api_token(
        self, actor: Actor, username: str | None = None, *, name: str, valid_days: int = DEFAULT_TOKEN_DAYS
    ) -> NewApiToken:
        """Make an API token for an account (default: the actor's own) and return it, shown this once.

        Anyone may make tokens for their own account; admins for any account, providers for their
        patients' accounts (the same rule as managing those accounts).

        Parameters
        ----------
        username : str, optional
            The account the token acts as (default: the actor's own).
        name : str
            What the token is for ("EMR bridge", "research export"); shown in lists and the audit log.
        valid_days : int
            Days until it expires, 1 to :data:`MAX_TOKEN_DAYS`.
        """
        label = validation.text(name, "The token's name", max_length=MAX_NAME, required=True).strip()
        days = validation.integer(valid_days, "Days the token is valid", 1, MAX_TOKEN_DAYS)
        with self._db() as db:
            user = self._token_account(db, actor, username)
            if user.disabled_at is not None:
                raise InvalidInput(f"The account {user.username!r} is disabled; enable it before making a token.")
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            now = utcnow()
            row = ApiToken(
                user_id=user.id, name=label, token_sha256=_digest(token), shown=token[:_SHOWN], created_at=now,
                created_by=actor.name, expires_at=now + dt.timedelta(days=days),
            )  # fmt: skip
            db.add(row)
            db.flush()
            self._audit(db, actor, "token_created", patient_id=user.patient_id, target=user.username,
                        detail=f"{row.shown}… {label!r}, valid {days} days")  # fmt: skip
            return NewApiToken(token, _view(row, user, now))

    def list_api_tokens(self, actor: Actor, username: str | None = None) -> list[ApiTokenView]:
        """Tokens of one account (default: the actor's own), or with ``username="*"`` every account's (admins).

        Newest first; revoked and expired ones are listed too (with their status).
        """
        with self._db() as db:
            query = select(ApiToken, User).join(User, ApiToken.user_id == User.id)
            if username == "*":
                self.authorize(actor, "manage_accounts")
            else:
                user = self._token_account(db, actor, username)
                query = query.where(ApiToken.user_id == user.id)
            now = utcnow()
            rows = db.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id)).all()
            return [_view(row, user, now) for row, user in rows]

    def revoke_api_token(self, actor: Actor, token_id: str) -> ApiTokenView:
        """Revoke a token at once (its owner, an admin, or a provider for a patient's token). Revoking
        a revoked token changes nothing."""
        with self._db() as db:
            row = db.get(ApiToken, token_id) if validation.is_id(token_id) else None
            user = db.get(User, row.user_id) if row is not None else None
            if row is None or user is None:
                if isinstance(actor, Actor) and actor.role == "admin":
                    self.authorize(actor, "manage_accounts")
                else:
                    self.authorize(actor, "own_account")
                raise NotFound(f"No API token {token_id!r} of yours.")
            self._token_account(db, actor, user.username)
            now = utcnow()
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = now, actor.name
                self._audit(db, actor, "token_revoked", patient_id=user.patient_id, target=user.username,
                            detail=f"{row.shown}… {row.name!r}")  # fmt: skip
            return _view(row, user, now)

    def authenticate_token(self, token: str) -> Actor:
        """The :class:`Actor` an API token acts as (source ``"api"``).

        Raises
        ------
        AuthenticationFailed
            Unknown, revoked or expired token, or a disabled account; the refusal is logged
            (``login_failed``) without the token.
        """
        now = utcnow()
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 256:
            self._refuse_token(None, None, "not a skintrack API token")
        digest = _digest(token)
        with self._db() as db:
            found = db.execute(
                select(ApiToken, User).join(User, ApiToken.user_id == User.id).where(ApiToken.token_sha256 == digest)
            ).first()
            if found is None or not hmac.compare_digest(found[0].token_sha256, digest):
                reason, row, user = "unknown token", None, None
            else:
                row, user = found
                status = _status(row, user, now)
                reason = None if status == "active" else f"{status} token"
            if reason is None:
                actor = actor_for(user, "api")
                if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
                    row.last_used_at = now.replace(second=0, microsecond=0)
                return actor
            shown = row.shown if row is not None else token[:_SHOWN]
            who = (actor_for(user, "api"), user.patient_id, user.username) if user is not None else (None, None, "(unknown token)")
        self._refuse_token(who, shown, reason)

    def _refuse_token(self, who, shown: str | None, reason: str):
        actor, patient_id, target = who if who else (None, None, "(unknown token)")
        with self._db() as db:
            detail = f"API token {shown}…: {reason}" if shown else f"API token: {reason}"
            self._audit(db, actor, "login_failed", patient_id=patient_id, target=target, detail=detail[:500])
        raise AuthenticationFailed("The API token is not valid (unknown, revoked or expired, or its account is disabled).")

    def _token_account(self, db: Session, actor: Actor, username: str | None) -> User:
        """The account whose tokens ``actor`` may manage: their own, or one they manage (see ``Records._managed_account``)."""
        if username is None or (isinstance(actor, Actor) and actor.username and normal_username(username) == actor.username):
            self.authorize(actor, "own_account")
            if not isinstance(actor, Actor) or not actor.username:
                raise InvalidInput("Only an account can have API tokens; name the account (e.g. `--user`).")
            user = db.scalar(select(User).where(User.username == actor.username))
            if user is None:
                raise NotFound(f"No account {actor.username!r}.")
            return user
        return self._managed_account(db, actor, username)
