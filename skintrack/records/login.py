"""Logging in: passwords with lockout, the clinic's identity provider (OIDC), acting as an account.

After :data:`LOCK_AFTER` wrong passwords in a row the account is locked for
:data:`LOCK_BASE`, doubling with every further wrong password after the lock
ends, up to :data:`LOCK_MAX`; while locked even the right password is refused
(:class:`~skintrack.records.AccountLocked`). A successful log-in resets the
count. The lock lives in the database, so every server process sees it, and is
logged (logger ``skintrack.records.accounts``) and in the audit log.

References
----------
NIST SP 800-63B, section 5.2.2 "Rate Limiting (Throttling)".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select

from . import accounts as _accounts
from .accounts import _actor, _hasher, _normal_email, _normal_username, _verify
from .db import User
from .errors import AccountLocked, AuthenticationFailed, NotFound
from .views import Actor

__all__ = ["LOCK_AFTER", "LOCK_BASE", "LOCK_MAX", "WRONG_CREDENTIALS", "LoginMixin"]

log = logging.getLogger("skintrack.records.accounts")

#: Wrong passwords in a row before the account is locked.
LOCK_AFTER = 5
#: The first lock; each further wrong password after a lock doubles it.
LOCK_BASE = dt.timedelta(minutes=1)
LOCK_MAX = dt.timedelta(hours=1)
WRONG_CREDENTIALS = "Wrong user name or password."


def _now() -> dt.datetime:
    return _accounts._now()  # one clock for accounts and log-in (tests move it)


def _lock_for(failures: int) -> dt.timedelta:
    """Lock length after ``failures`` wrong passwords in a row (>= LOCK_AFTER): 1, 2, 4, … minutes, ≤ LOCK_MAX."""
    doublings = min(failures - LOCK_AFTER, 20)
    return min(LOCK_BASE * (2**doublings), LOCK_MAX)


class LoginMixin:
    """Log-in by password or identity provider, re-checking a signed-in account, log-out."""

    def authenticate(self, username: str, password: str) -> Actor:
        """Log in with a user name and password; returns the :class:`Actor` to act as.

        Raises
        ------
        AuthenticationFailed
            Wrong user name or password (the same message for both), or a disabled account.
        AccountLocked
            After :data:`LOCK_AFTER` wrong passwords in a row, until the lock ends — even for the right password.
        """
        name = _normal_username(username)
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == name)) if name else None
            snapshot = None if user is None else (user.id, user.password_hash, user.locked_until)
        now = _now()
        if snapshot is None or snapshot[1] is None:
            _verify(None, password)  # the same work as a real check: no timing hint that the name is unknown
            with self._db() as db:
                target = name if snapshot is not None else "(unknown user)"
                hint = "" if snapshot is not None else f"name sha256 {hashlib.sha256(name.encode()).hexdigest()[:12]}"
                self._audit(db, None, "login_failed", target=target, detail=hint or "no password (identity provider only)")
            raise AuthenticationFailed(WRONG_CREDENTIALS)
        user_id, password_hash, locked_until = snapshot
        if locked_until is not None and locked_until > now:
            with self._db() as db:
                user = db.get(User, user_id)
                self._audit(db, _actor(user, "password"), "login_failed", patient_id=user.patient_id,
                            target=user.username, detail="account locked")  # fmt: skip
            raise AccountLocked(_locked_message(locked_until, now), locked_until)
        if not _verify(password_hash, password):
            with self._db() as db:
                user = db.get(User, user_id, with_for_update=True)
                user.failed_attempts = (user.failed_attempts or 0) + 1
                who = _actor(user, "password")
                self._audit(db, who, "login_failed", patient_id=user.patient_id, target=user.username,
                            detail=f"wrong password ({user.failed_attempts} in a row)")  # fmt: skip
                locked = None
                if user.failed_attempts >= LOCK_AFTER:
                    locked = user.locked_until = now + _lock_for(user.failed_attempts)
                    self._audit(db, who, "lockout", patient_id=user.patient_id, target=user.username,
                                detail=f"{user.failed_attempts} wrong passwords in a row; locked until "
                                       f"{locked.isoformat(timespec='seconds')} UTC")  # fmt: skip
                    log.warning("account %s locked until %s UTC after %d wrong passwords in a row",
                                user.username, locked.isoformat(timespec="seconds"), user.failed_attempts)  # fmt: skip
            if locked is not None:
                raise AccountLocked(_locked_message(locked, now), locked)
            raise AuthenticationFailed(WRONG_CREDENTIALS)
        with self._db() as db:
            user = db.get(User, user_id, with_for_update=True)
            if user.disabled_at is not None:
                self._audit(db, _actor(user, "password"), "login_failed", patient_id=user.patient_id,
                            target=user.username, detail="account disabled")  # fmt: skip
                disabled = True
            else:
                disabled = False
                user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                actor = _actor(user, "password")
                self._audit(db, actor, "login", patient_id=user.patient_id, target=user.username)
        if disabled:
            raise AuthenticationFailed("This account is disabled; ask the clinic's administrator.")
        return actor

    def authenticate_oidc(self, email: str, *, email_verified: bool | None = None) -> Actor:
        """Log in someone the identity provider (Streamlit's ``st.login``) vouched for, by their e-mail.

        The e-mail must belong to an enabled account (its ``email``, or its user
        name when that is the address). An address the provider says is not
        verified (``email_verified`` False) is refused.
        """
        address = _normal_email(email)
        with self._db() as db:
            user = None
            if address and email_verified is not False:
                user = db.scalar(select(User).where(User.email == address)) or db.scalar(
                    select(User).where(User.username == address)
                )
            if user is None or user.disabled_at is not None:
                reason = "unverified e-mail" if email_verified is False else ("account disabled" if user else "no account")
                self._audit(db, _actor(user, "oidc") if user else None, "login_failed",
                            patient_id=user.patient_id if user else None,
                            target=user.username if user else "(unknown user)", detail=f"identity provider: {reason}")  # fmt: skip
                refused = True
            else:
                refused = False
                user.last_login_at = _now()
                actor = _actor(user, "oidc")
                self._audit(db, actor, "login", patient_id=user.patient_id, target=user.username,
                            detail="identity provider")  # fmt: skip
        if refused:
            raise AuthenticationFailed(
                f"No enabled skintrack account for {address or 'this sign-in'}; ask the clinic's administrator."
            )
        return actor

    def refresh_actor(self, actor: Actor) -> Actor:
        """The actor again, as its account stands now: raises :class:`AuthenticationFailed` when the account
        was disabled or deleted since log-in (the app calls this on every page run)."""
        if not isinstance(actor, Actor) or not actor.username:
            raise AuthenticationFailed("Not logged in.")
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == actor.username))
            if user is None or user.disabled_at is not None:
                raise AuthenticationFailed("This account is no longer enabled; you have been logged out.")
            return _actor(user, actor.source)

    def act_as(self, actor: Actor, username: str) -> Actor:
        """The actor of an enabled account, for an admin who acts on its behalf with its (narrower or equal)
        rights: the command line's ``--user``. Logged."""
        self.authorize(actor, "manage_accounts")
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == _normal_username(username)))
            if user is None or user.disabled_at is not None:
                raise NotFound(f"No enabled account {_normal_username(username)!r}; see `skintrack users list`.")
            self._audit(db, actor, "login", patient_id=user.patient_id, target=user.username,
                        detail=f"acting as this account ({actor.source})")  # fmt: skip
            return _actor(user, actor.source)

    def logged_out(self, actor: Actor, *, reason: str = "") -> None:
        """Record a log-out (by the user, or after the idle timeout: ``reason``)."""
        self.authorize(actor, "own_account")
        with self._db() as db:
            self._audit(db, actor, "logout", patient_id=actor.patient_id, target=actor.username or "", detail=reason)

    def has_accounts(self) -> bool:
        """Whether any account exists (the log-in page says how to create the first one otherwise)."""
        with self._db() as db:
            return db.scalar(select(func.count()).select_from(User)) > 0

    def demo_accounts(self) -> list[str]:
        """User names of the enabled demo accounts (none may exist in production)."""
        with self._db() as db:
            query = select(User.username).where(User.is_demo.is_(True), User.disabled_at.is_(None))
            return sorted(db.scalars(query))


def _locked_message(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return (
        f"Too many wrong passwords: this account is locked for {minutes} minute{'s' if minutes != 1 else ''} "
        f"(until {until.strftime('%H:%M')} UTC). An administrator can unlock it."
    )
