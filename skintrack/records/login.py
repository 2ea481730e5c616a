"""Logging in: passwords with throttling, the clinic's identity provider (OIDC), acting as an account.

Every guess is claimed in the throttling buckets before the password is checked
(:mod:`skintrack.records.throttle`): at most :data:`LOCK_AFTER` guesses at one
user name from one client, then a lock of 1, 2, 4, … minutes (≤ 1 hour) for
that client; :data:`~skintrack.records.throttle.NAME_LIMIT` guesses from all
clients together lock the name for everyone for 15 minutes. Counting and
checking happen under a row lock, so parallel attempts cannot slip past the
count. An administrator ends any lock at once (``skintrack users unlock NAME``
on the server needs no log-in, so no guessing can block it).

Every failure gets the same answer, :data:`WRONG_CREDENTIALS`, after the same
work (one argon2 verification): a wrong password, an unknown user name, a
disabled account (even with its right password) and a lock in force. The audit
log (for admins) says which it was; what was typed as a user name is recorded
only as a keyed hash.

References
----------
NIST SP 800-63B, section 5.2.2 "Rate Limiting (Throttling)".
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, ContextManager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import accounts, throttle
from .accounts import HashKey, actor_for, hash_password, needs_rehash, normal_email, normal_username, verify_password
from .audit import add_line
from .db import User
from .errors import AccountLocked, AuthenticationFailed, NotFound
from .throttle import LOCK_AFTER, LOCK_BASE, LOCK_MAX
from .views import Actor

__all__ = ["LOCK_AFTER", "LOCK_BASE", "LOCK_MAX", "WRONG_CREDENTIALS", "Login", "LoginMixin"]

log = logging.getLogger("skintrack.records.accounts")

#: The one answer to every failed log-in (which user names exist, which are locked or disabled, is not said).
WRONG_CREDENTIALS = (
    "Wrong user name or password. After several wrong tries log-in pauses for a few minutes; "
    "an administrator can end the pause."
)
#: The client recorded when the caller does not say which one (Python code, tests).
UNKNOWN_CLIENT = "unknown"


def _now() -> dt.datetime:
    return accounts.clock()  # one clock for accounts and log-in (tests move it)


def _lock_for(locks: int) -> dt.timedelta:
    """Lock length of one user name from one client the ``locks``-th time it locks (0 = first): 1, 2, 4, … min ≤ 1 h."""
    return throttle.lock_length("name+client", locks)


class Login:
    """Log-in: checks a password or the identity provider's word, and re-checks a signed-in account.

    Contract: each method returns the :class:`~skintrack.records.Actor` to act as, or raises
    :class:`~skintrack.records.AuthenticationFailed` (every password failure with the same
    :data:`WRONG_CREDENTIALS`, after the same work). It is given the transaction factory and the
    instance's :class:`~skintrack.records.accounts.HashKey`; it reads accounts, claims and settles
    guesses in the throttling buckets (:mod:`~skintrack.records.throttle`) and writes the ``login``,
    ``login_failed`` and ``lockout`` audit lines in its own transactions. It checks no actor's
    permission: it is how an actor is obtained. Thread-safe (throttling counts under row locks; the
    memo of logged refusals is only an audit-volume limit).
    """

    def __init__(self, transaction: Callable[[], ContextManager[Session]], hash_key: HashKey):
        self._db = transaction
        self._hash_key = hash_key
        self._refusals_logged: dict = {}

    def authenticate(self, username: str, password: str, *, client: str | None = None) -> Actor:
        """The :class:`Actor` of a right user name and password (see :meth:`LoginMixin.authenticate`)."""
        name = normal_username(username)
        source = str(client or UNKNOWN_CLIENT)[:200]
        now = _now()
        with self._db() as db:
            key = self._hash_key(db)
            user = db.scalar(select(User).where(User.username == name)) if name else None
            snapshot = None if user is None else (user.id, user.password_hash, user.disabled_at is not None)
            claim = throttle.claim(db, key, name, source, now)
        # One argon2 verification on every path: against the account's hash when the guess may be checked,
        # else against a dummy hash of the same cost (no timing says which case this was).
        checkable = claim.allowed and snapshot is not None and snapshot[1] is not None
        right = verify_password(snapshot[1] if checkable else None, password)
        disabled = snapshot is not None and snapshot[2]
        if right and not disabled:
            with self._db() as db:
                throttle.settle(db, claim, right=True, now=now)
                user = db.get(User, snapshot[0], with_for_update=True)
                user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
                if needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                actor = actor_for(user, "password", now)
                add_line(db, actor, "login", patient_id=user.patient_id, target=user.username,
                         detail=f"client {throttle.keyed(key, 'client', source)[:16]}")  # fmt: skip
            return actor
        with self._db() as db:
            locked = throttle.settle(db, claim, right=False, now=now) if claim.allowed else []
            user = db.get(User, snapshot[0]) if snapshot is not None else None
            who = actor_for(user, "password") if user is not None else None
            client_hash = throttle.keyed(key, "client", source)[:16]
            if not claim.allowed:
                reason = "refused unchecked: too many wrong guesses, locked"
            elif user is None:
                reason = f"unknown user name (hmac {throttle.keyed(key, 'user', name)[:16]})"
            elif user.password_hash is None:
                reason = "no password (identity provider only)"
            elif disabled:
                reason = "account disabled" + (" (right password)" if right else "")
            else:
                reason = "wrong password"
            if claim.allowed or not self._recently_refused(claim, now):
                add_line(db, who, "login_failed", patient_id=user.patient_id if user else None,
                         target=user.username if user else "(unknown user)",
                         detail=f"{reason}; client {client_hash}")  # fmt: skip
            for rule, until in locked:
                scope = {"name+client": "from one client", "name": "from every client", "client": "this client, any user name"}[rule]
                add_line(db, who, "lockout", patient_id=user.patient_id if user else None,
                         target=user.username if user else "(unknown user)",
                         detail=f"too many wrong guesses {scope} (client {client_hash}); locked until "
                                f"{until.isoformat(timespec='seconds')} UTC")  # fmt: skip
                log.warning("log-in locked %s until %s UTC (user %s, client %s)", scope,
                            until.isoformat(timespec="seconds"), user.username if user else "(unknown)", client_hash)  # fmt: skip
        until = max([u for _, u in locked] + ([claim.locked_until] if claim.locked_until else []), default=None)
        if until is not None:
            raise AccountLocked(WRONG_CREDENTIALS, until)
        raise AuthenticationFailed(WRONG_CREDENTIALS)

    def authenticate_oidc(self, email: str, *, email_verified: bool | None = None) -> Actor:
        """The :class:`Actor` of an account the identity provider vouched for (see :meth:`LoginMixin.authenticate_oidc`)."""
        address = normal_email(email)
        verified = email_verified is True or (isinstance(email_verified, str) and email_verified.lower() == "true")
        with self._db() as db:
            user = None
            if address and verified:
                user = db.scalar(select(User).where(User.email == address))
            if user is None or user.disabled_at is not None:
                reason = "e-mail not verified by the provider" if not verified else ("account disabled" if user else "no account")
                add_line(db, actor_for(user, "oidc") if user else None, "login_failed",
                         patient_id=user.patient_id if user else None,
                         target=user.username if user else "(unknown user)", detail=f"identity provider: {reason}")  # fmt: skip
                refused = True
            else:
                refused = False
                user.last_login_at = _now()
                actor = actor_for(user, "oidc", user.last_login_at)
                add_line(db, actor, "login", patient_id=user.patient_id, target=user.username,
                         detail="identity provider")  # fmt: skip
        if refused and not verified:
            raise AuthenticationFailed(
                f"Your identity provider has not confirmed that {address or 'this sign-in'} is your verified e-mail "
                "address; skintrack signs in only with a verified address. Verify it with the provider, or ask the "
                "clinic's administrator."
            )
        if refused:
            raise AuthenticationFailed(
                f"No enabled skintrack account for {address or 'this sign-in'}; ask the clinic's administrator."
            )
        return actor

    def refresh_actor(self, actor: Actor) -> Actor:
        """The actor again, as its account stands now (see :meth:`LoginMixin.refresh_actor`)."""
        if not isinstance(actor, Actor) or not actor.username:
            raise AuthenticationFailed("Not logged in.")
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == actor.username))
            if user is None or user.disabled_at is not None:
                raise AuthenticationFailed("This account is no longer enabled; you have been logged out.")
            ended = user.sessions_valid_after
            if ended is not None and (actor.signed_in_at is None or actor.signed_in_at < ended):
                raise AuthenticationFailed("This account's password was reset; log in again with the new one.")
            return actor_for(user, actor.source, actor.signed_in_at)

    def _recently_refused(self, claim, now: dt.datetime) -> bool:
        """Whether a refusal for the same client was logged in the last minute (refusals while locked are logged
        at most once a minute per client, so a flood of guesses cannot flood the audit log)."""
        memo = self._refusals_logged
        bucket = claim.buckets.get("client")
        last = memo.get(bucket)
        if last is not None and now - last < dt.timedelta(minutes=1):
            return True
        if len(memo) > 10_000:
            memo.clear()
        memo[bucket] = now
        return False


class LoginMixin:
    """The records' log-in methods (``self._login`` does the checking), acting as an account, log-out."""

    _login: Login

    def authenticate(self, username: str, password: str, *, client: str | None = None) -> Actor:
        """Log in with a user name and password; returns the :class:`Actor` to act as.

        Parameters
        ----------
        username, password : str
        client : str, optional
            Where the attempt comes from (the app passes the browser's address):
            guesses are throttled per user name and client, per user name and
            per client (:mod:`skintrack.records.throttle`).

        Raises
        ------
        AuthenticationFailed
            With :data:`WRONG_CREDENTIALS` for every failure: wrong password, unknown
            user name, a disabled account, or too many guesses (then the subclass
            :class:`AccountLocked`, whose ``locked_until`` Python callers may read;
            its message is the same).
        """
        return self._login.authenticate(username, password, client=client)

    def authenticate_oidc(self, email: str, *, email_verified: bool | None = None) -> Actor:
        """Log in someone the identity provider (Streamlit's ``st.login``) vouched for, by their e-mail.

        The e-mail must be the ``email`` of an enabled account, and the
        provider must say it verified it (``email_verified`` true): an address
        it does not vouch for (false or missing) never logs in, and a user name
        that looks like the address is not matched (anyone may choose an
        unverified address at some identity providers).
        """
        return self._login.authenticate_oidc(email, email_verified=email_verified)

    def refresh_actor(self, actor: Actor) -> Actor:
        """The actor again, as its account stands now (the app calls this on every page run).

        Raises :class:`AuthenticationFailed` when the account was disabled or
        deleted since log-in, or its password was reset after this session
        signed in (``actor.signed_in_at``; a session that does not say when it
        signed in ends too once any reset happened).
        """
        return self._login.refresh_actor(actor)

    def act_as(self, actor: Actor, username: str) -> Actor:
        """The actor of an enabled account, for an admin who acts on its behalf with its (narrower or equal)
        rights: the command line's ``--user``. Logged."""
        self.authorize(actor, "manage_accounts")
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == normal_username(username)))
            if user is None or user.disabled_at is not None:
                raise NotFound(f"No enabled account {normal_username(username)!r}; see `skintrack users list`.")
            self._audit(db, actor, "login", patient_id=user.patient_id, target=user.username,
                        detail=f"acting as this account ({actor.source})")  # fmt: skip
            return actor_for(user, actor.source)

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

