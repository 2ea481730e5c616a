"""Accounts: creating and looking after them, their argon2id passwords, patient invitations, the demo accounts.

Logging in (passwords, lockout, the identity provider) is in :mod:`skintrack.records.login`.

Roles (:data:`~skintrack.records.views.ROLES`): ``admin`` manages accounts and
may do all clinical work, ``provider`` does all clinical work and manages the
accounts of patients, ``patient`` reads their own record only.

Passwords are hashed with **argon2id** (argon2-cffi's defaults, the RFC 9106
"low memory" profile: 64 MiB, 3 passes, 4 lanes) and never stored, logged or
returned. At most :data:`MAX_CONCURRENT_HASHES` hashes run at once in a
process (each takes 64 MiB): 32 parallel log-ins queue instead of taking 2 GB.
A new password must be at least :data:`MIN_PASSWORD_LENGTH` characters and
score at least :data:`MIN_PASSWORD_SCORE` in zxcvbn's estimate of how many
guesses it would take (dictionary words, names, keyboard patterns, repeats,
dates, l33t; the user name, e-mail and the demo passwords count as known words).

References
----------
A. Biryukov, D. Dinu, D. Khovratovich, S. Josefsson, "Argon2 Memory-Hard
Function for Password Hashing and Proof-of-Work Applications", RFC 9106 (2021).
D. L. Wheeler, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security 2016.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import throttle
from .db import InvitationRecord, Patient, User, utcnow
from .errors import AuthenticationFailed, InvalidInput, NotFound
from .views import ROLES, Actor, Invitation, InvitationView, UserView

__all__ = ["DEMO_ACCOUNTS", "INVITATION_DAYS", "MAX_CONCURRENT_HASHES", "MIN_PASSWORD_LENGTH", "MIN_PASSWORD_SCORE",
           "AccountsMixin", "HashKey", "actor_for", "clock", "hash_password", "needs_rehash", "normal_email",
           "normal_username", "password_problem", "verify_password"]  # fmt: skip

MIN_PASSWORD_LENGTH = 10
#: Least zxcvbn score (0-4) of a new password: 3 = "safely unguessable", about 10^8 guesses or more.
MIN_PASSWORD_SCORE = 3
#: Only the first characters are scored (zxcvbn's time grows fast with length; past this any password is long).
_SCORED_CHARACTERS = 100
#: argon2 hashes or checks running at once in this process (64 MiB each).
MAX_CONCURRENT_HASHES = max(1, min(4, os.cpu_count() or 1))
#: Seconds a log-in waits for a free hashing slot before it is refused as "busy".
HASH_WAIT_SECONDS = 60
MAX_PASSWORD_LENGTH = 1024
INVITATION_DAYS = 7
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{2,63}$")
_EMAIL = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper

#: The demo accounts ``make run`` creates for the demo patient (documented in the README; the app
#: refuses to start with ``SKINTRACK_ENV=production`` while one of them is enabled).
DEMO_ACCOUNTS = {
    "demo-provider": ("provider", "demo-provider-pw"),
    "demo-patient": ("patient", "demo-patient-pw"),
}

_hasher = PasswordHasher()  # argon2id
_dummy_hash: str | None = None
_dummy_lock = threading.Lock()
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


class _HashSlot:
    """Hold one of the :data:`MAX_CONCURRENT_HASHES` slots while hashing (memory stays bounded)."""

    def __enter__(self):
        if not _hashing.acquire(timeout=HASH_WAIT_SECONDS):
            raise AuthenticationFailed("skintrack is busy checking other log-ins; try again in a moment.")
        return self

    def __exit__(self, *exc):
        _hashing.release()
        return False


def hash_password(password: str) -> str:
    with _HashSlot():
        return _hasher.hash(password)


def clock() -> dt.datetime:
    """UTC now, naive (as stored). A function so tests can move the clock."""
    return utcnow()


def normal_username(username: str) -> str:
    return (username or "").strip().lower() if isinstance(username, str) else ""


def normal_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = str(email).strip().lower()
    return email or None


def password_problem(password: str, *known: str | None) -> str | None:
    """Why ``password`` is not good enough for an account, or ``None`` when it is.

    At least :data:`MIN_PASSWORD_LENGTH` characters, and a zxcvbn score of at
    least :data:`MIN_PASSWORD_SCORE`, where ``known`` words (the user name,
    e-mail, display name) and skintrack's own words and demo passwords are
    what an attacker tries first.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
        return f"A password may have at most {MAX_PASSWORD_LENGTH} characters and no NUL."
    words = [w.strip().lower() for w in known if isinstance(w, str) and w.strip()]
    if password.strip().lower() in words:
        return "The password must not be the user name."
    from zxcvbn import zxcvbn

    inputs = words + [part for w in words for part in re.split(r"[^a-z0-9]+", w) if len(part) >= 3]
    inputs += ["skintrack", "clinic", "patient", "provider", "admin", "demo", *(pw for _, pw in DEMO_ACCOUNTS.values())]
    result = zxcvbn(password[:_SCORED_CHARACTERS], user_inputs=inputs)
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = (result.get("feedback") or {}).get("warning") or ""
        return ("This password is too easy to guess" + (f" ({hint.rstrip('.').lower()})" if hint else "")
                + ": use a few unrelated words or a longer phrase.")  # fmt: skip
    return None


def _check_password(password: str, username: str, *known: str | None) -> None:
    problem = password_problem(password, username, *known)
    if problem:
        raise InvalidInput(problem)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other argon2 parameters than today's (rehash it at the next log-in)."""
    return _hasher.check_needs_rehash(password_hash)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash in constant work; a missing hash still costs one verification
    (against a hash made with the same parameters), under the same bound on concurrent hashing."""
    global _dummy_hash
    password = password if isinstance(password, str) else ""
    if password_hash is None:
        with _dummy_lock:
            if _dummy_hash is None:
                _dummy_hash = hash_password(secrets.token_hex(16))
        with _HashSlot():
            try:
                _hasher.verify(_dummy_hash, password)
            except (VerificationError, InvalidHashError):
                pass
        return False
    with _HashSlot():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _code_hash(code: str) -> str:
    cleaned = "".join(ch for ch in str(code or "").upper() if ch in _CODE_ALPHABET)
    return hashlib.sha256(cleaned.encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def actor_for(user: User, source: str, signed_in_at: dt.datetime | None = None) -> Actor:
    return Actor(user.display_name or user.username, role=user.role, patient_id=user.patient_id,
                 username=user.username, source=source, signed_in_at=signed_in_at)  # fmt: skip


class HashKey:
    """The instance's key for keyed hashes of user names and clients (:func:`~skintrack.records.throttle.hash_key`),
    read from the database the first time it is asked for and then kept (it never changes)."""

    def __init__(self):
        self._key: bytes | None = None

    def __call__(self, db: Session) -> bytes:
        if self._key is None:
            self._key = throttle.hash_key(db)
        return self._key


class AccountsMixin:
    """Accounts, password changes, patient invitations, demo accounts."""

    # ------------------------------------------------------------------ creating accounts

    def add_user(
        self,
        actor: Actor,
        username: str,
        password: str | None = None,
        *,
        role: str,
        patient_id: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        demo: bool = False,
    ) -> UserView:
        """Create an account (admins only).

        Parameters
        ----------
        username : str
            3-64 characters: lower-case letters, digits and ``. _ @ + -`` (stored lower case).
        password : str, optional
            At least :data:`MIN_PASSWORD_LENGTH` characters. ``None`` makes an account that can only
            log in through the identity provider, by ``email``.
        role : {"admin", "provider", "patient"}
        patient_id : str, optional
            Required for, and only for, a patient account: the record they may read.
        email : str, optional
            The address an identity provider (``st.login``) reports for this person.
        demo : bool
            Mark the account as a demo account.
        """
        self.authorize(actor, "manage_accounts")
        return self._create_user(actor, username, password, role=role, patient_id=patient_id, email=email,
                                 display_name=display_name, demo=demo)  # fmt: skip

    def add_patient_account(
        self, actor: Actor, patient_id: str, username: str, password: str, *, email: str | None = None
    ) -> UserView:
        """Create the log-in of a patient for their own record (providers and admins)."""
        self.authorize(actor, "manage_patient_accounts", patient_id)
        return self._create_user(actor, username, password, role="patient", patient_id=patient_id, email=email)

    def _create_user(
        self, actor, username, password, *, role, patient_id=None, email=None, display_name=None, demo=False,
        source_action: str = "account_created", db: Session | None = None,
    ) -> UserView:  # fmt: skip
        username = normal_username(username)
        if not _USERNAME.match(username):
            raise InvalidInput(
                "A user name has 3 to 64 characters: letters, digits and . _ @ + - (starting with a letter or digit)."
            )
        if role not in ROLES:
            raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
        if (role == "patient") != bool(patient_id):
            raise InvalidInput("A patient account needs its patient record, and only a patient account has one.")
        email = normal_email(email)
        if email is not None and not _EMAIL.match(email):
            raise InvalidInput(f"{email!r} is not an e-mail address.")
        if password is None and email is None:
            raise InvalidInput("An account needs a password, or an e-mail address to log in through the identity provider.")
        if password is not None and not demo:  # the demo passwords are public: they are demo accounts
            _check_password(password, username, email, display_name)
        elif password is not None:
            problem = password_problem(password, username)
            if problem and not problem.startswith("This password is too easy"):
                raise InvalidInput(problem)
        password_hash = hash_password(password) if password is not None else None
        if db is None:
            with self._db() as db:
                return self._insert_user(db, actor, username, password_hash, role, patient_id, email, display_name, demo)
        return self._insert_user(db, actor, username, password_hash, role, patient_id, email, display_name, demo)

    def _insert_user(self, db, actor, username, password_hash, role, patient_id, email, display_name, demo) -> UserView:
        if patient_id is not None and db.get(Patient, patient_id) is None:
            raise NotFound(f"No patient with id {patient_id!r}.")
        if db.scalar(select(User.id).where(User.username == username)):
            raise InvalidInput(f"The user name {username!r} is taken.")
        if email is not None and db.scalar(select(User.id).where(User.email == email)):
            raise InvalidInput(f"Another account already uses {email!r}.")
        now = clock()
        user = User(
            username=username,
            display_name=(display_name or "").strip()[:200] or username,
            role=role,
            patient_id=patient_id,
            email=email,
            password_hash=password_hash,
            is_demo=bool(demo),
            failed_attempts=0,
            password_changed_at=now if password_hash else None,
            created_at=now,
            created_by=actor.name if isinstance(actor, Actor) else "",
        )
        db.add(user)
        try:
            db.flush()
        except IntegrityError:
            raise InvalidInput(f"The user name {username!r} or e-mail is taken.") from None
        detail = f"role {role}" + (", demo" if demo else "") + (", identity provider only" if password_hash is None else "")
        self._audit(db, actor, "account_created", patient_id=patient_id, target=username, detail=detail)
        return self._user_view(db, user)

    # ------------------------------------------------------------------ reading accounts

    def list_users(self, actor: Actor) -> list[UserView]:
        """Every account, by user name (admins only)."""
        self.authorize(actor, "manage_accounts")
        with self._db() as db:
            return [self._user_view(db, u) for u in db.scalars(select(User).order_by(User.username))]

    def patient_accounts(self, actor: Actor, patient_id: str) -> list[UserView]:
        """The log-ins linked to one patient (providers and admins)."""
        self.authorize(actor, "manage_patient_accounts", patient_id)
        with self._db() as db:
            users = db.scalars(select(User).where(User.patient_id == patient_id).order_by(User.username))
            return [self._user_view(db, u) for u in users]

    def get_user(self, actor: Actor, username: str) -> UserView:
        """One account: admins any, providers patients' accounts, everyone their own."""
        with self._db() as db:
            user = self._managed_account(db, actor, username, own_ok=True)
            return self._user_view(db, user)

    def _user_view(self, db: Session, user: User) -> UserView:
        failures, locked = throttle.name_lock(db, self._hash_key(db), user.username, clock())
        status = "disabled" if user.disabled_at is not None else ("locked" if locked else "active")
        code = None
        if user.patient_id:
            patient = db.get(Patient, user.patient_id)
            code = patient.code if patient else None
        return UserView(
            id=user.id, username=user.username, role=user.role, display_name=user.display_name,
            patient_id=user.patient_id, patient_code=code, email=user.email, is_demo=bool(user.is_demo),
            disabled=user.disabled_at is not None, has_password=user.password_hash is not None,
            failed_attempts=failures,
            locked_until=locked, last_login_at=user.last_login_at, created_at=user.created_at,
            created_by=user.created_by, status=status,
        )  # fmt: skip

    # ------------------------------------------------------------------ changing accounts

    def disable_user(self, actor: Actor, username: str) -> UserView:
        """Disable an account: it can no longer log in (and an open app session ends at its next click)."""
        with self._db() as db:
            user = self._managed_account(db, actor, username)
            if actor.username and user.username == actor.username:
                raise InvalidInput("You cannot disable your own account.")
            if user.disabled_at is None:
                user.disabled_at = user.sessions_valid_after = clock()  # open sessions end at their next click
                self._audit(db, actor, "account_disabled", patient_id=user.patient_id, target=user.username)
            if user.patient_id is not None:
                # A patient's log-in disabled: no older invitation may make them a new one.
                self._revoke_open_invitations(db, actor, user.patient_id, reason=f"log-in {user.username} disabled")
            return self._user_view(db, user)

    def enable_user(self, actor: Actor, username: str) -> UserView:
        with self._db() as db:
            user = self._managed_account(db, actor, username)
            if user.disabled_at is not None:
                user.disabled_at = None
                self._audit(db, actor, "account_enabled", patient_id=user.patient_id, target=user.username)
            return self._user_view(db, user)

    def unlock_user(self, actor: Actor, username: str) -> UserView:
        """End a lockout now, from every client, and forget the wrong passwords.

        The command line (``skintrack users unlock NAME``) does this as the local
        operator, without logging in: no one guessing passwords can stop it.
        """
        with self._db() as db:
            user = self._managed_account(db, actor, username)
            user.failed_attempts, user.locked_until = 0, None
            throttle.clear_name(db, self._hash_key(db), user.username)
            self._audit(db, actor, "account_unlocked", patient_id=user.patient_id, target=user.username)
            return self._user_view(db, user)

    def reset_password(self, actor: Actor, username: str, new_password: str) -> UserView:
        """Set a new password for someone who lost theirs (admins; providers for patients' accounts).

        Also ends a lockout, and every open session of the account (at its next click).
        """
        with self._db() as db:
            user = self._managed_account(db, actor, username)
            _check_password(new_password, user.username, user.email, user.display_name)
            user.password_hash = hash_password(new_password)
            user.password_changed_at = user.sessions_valid_after = clock()
            user.failed_attempts, user.locked_until = 0, None
            throttle.clear_name(db, self._hash_key(db), user.username)
            self._audit(db, actor, "password_reset", patient_id=user.patient_id, target=user.username)
            return self._user_view(db, user)

    def change_password(self, actor: Actor, current_password: str, new_password: str, *, client: str | None = None) -> None:
        """Change one's own password; the current one must be given (and counts as a log-in attempt from
        ``client``, throttled like one: see :meth:`authenticate`)."""
        self.authorize(actor, "own_account")
        if not actor.username:
            raise InvalidInput("Only an account has a password to change.")
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == actor.username))
            has_password = user is not None and user.password_hash is not None
        if not has_password:
            raise InvalidInput("This account logs in through the identity provider; change the password there.")
        self.authenticate(actor.username, current_password, client=client)  # throttled like a log-in
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == actor.username))
            known = (user.email, user.display_name)
        _check_password(new_password, actor.username, *known)
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == actor.username))
            user.password_hash = hash_password(new_password)
            user.password_changed_at = clock()
            self._audit(db, actor, "password_changed", patient_id=user.patient_id, target=user.username)

    # ------------------------------------------------------------------ invitations

    def invite_patient(self, actor: Actor, patient_id: str, *, valid_for: dt.timedelta | None = None) -> Invitation:
        """A one-time code with which the patient sets up their own log-in (valid :data:`INVITATION_DAYS` days).

        The code is returned once; only its sha256 is stored.
        """
        self.authorize(actor, "manage_patient_accounts", patient_id)
        valid_for = valid_for or dt.timedelta(days=INVITATION_DAYS)
        if not dt.timedelta(minutes=5) <= valid_for <= dt.timedelta(days=90):
            raise InvalidInput("An invitation is valid for 5 minutes to 90 days.")
        code = _new_code()
        expires = clock() + valid_for
        with self._db() as db:
            self._get(db, Patient, patient_id, "patient")
            record = InvitationRecord(code_sha256=_code_hash(code), patient_id=patient_id, created_at=clock(),
                                      created_by=actor.name, expires_at=expires)  # fmt: skip
            db.add(record)
            db.flush()
            self._audit(db, actor, "invitation_issued", patient_id=patient_id, target=record.id,
                        detail=f"valid until {expires.isoformat(timespec='minutes')} UTC")  # fmt: skip
        return Invitation(code=code, patient_id=patient_id, expires_at=expires, id=record.id)

    def list_invitations(self, actor: Actor, patient_id: str) -> list[InvitationView]:
        """A patient's invitations, newest first, with their status (providers and admins)."""
        self.authorize(actor, "manage_patient_accounts", patient_id)
        now = clock()
        with self._db() as db:
            rows = db.scalars(select(InvitationRecord).where(InvitationRecord.patient_id == patient_id)
                              .order_by(InvitationRecord.created_at.desc()))  # fmt: skip
            return [
                InvitationView(
                    id=r.id, patient_id=r.patient_id, created_at=r.created_at, created_by=r.created_by,
                    expires_at=r.expires_at, used_by=r.used_by, revoked_at=r.revoked_at,
                    status="revoked" if r.revoked_at else "used" if r.used_at else "expired" if r.expires_at <= now else "open",
                )
                for r in rows
            ]  # fmt: skip

    def revoke_invitation(self, actor: Actor, invitation_id: str) -> InvitationView:
        """Revoke an unused invitation: its code no longer works (providers and admins)."""
        with self._db() as db:
            record = db.get(InvitationRecord, invitation_id) if isinstance(invitation_id, str) else None
            if record is None:
                self.authorize(actor, "manage_patient_accounts")
                raise NotFound(f"No invitation {invitation_id!r}.")
            self.authorize(actor, "manage_patient_accounts", record.patient_id)
            if record.used_at is not None:
                raise InvalidInput("This invitation was already used; disable the account it made instead.")
            if record.revoked_at is None:
                record.revoked_at, record.revoked_by = clock(), actor.name
                self._audit(db, actor, "invitation_revoked", patient_id=record.patient_id, target=record.id)
            patient_id = record.patient_id
        return next(i for i in self.list_invitations(actor, patient_id) if i.id == invitation_id)

    def revoke_invitations(self, actor: Actor, patient_id: str) -> int:
        """Revoke every open invitation of a patient; returns how many."""
        self.authorize(actor, "manage_patient_accounts", patient_id)
        with self._db() as db:
            return self._revoke_open_invitations(db, actor, patient_id, reason="revoked")

    def _revoke_open_invitations(self, db: Session, actor: Actor, patient_id: str, *, reason: str) -> int:
        now = clock()
        open_ones = list(db.scalars(select(InvitationRecord).where(
            InvitationRecord.patient_id == patient_id, InvitationRecord.used_at.is_(None),
            InvitationRecord.revoked_at.is_(None), InvitationRecord.expires_at > now).with_for_update()))  # fmt: skip
        for record in open_ones:
            record.revoked_at, record.revoked_by = now, actor.name
            self._audit(db, actor, "invitation_revoked", patient_id=patient_id, target=record.id, detail=reason)
        return len(open_ones)

    def redeem_invitation(self, code: str, username: str, password: str) -> Actor:
        """Create the patient's own account from an invitation code and log them in.

        Raises
        ------
        AuthenticationFailed
            The code is unknown, used or expired.
        InvalidInput
            A bad user name or password (the code stays valid).
        """
        digest = _code_hash(code)
        now = clock()
        with self._db() as db:
            invitation = db.scalar(select(InvitationRecord).where(InvitationRecord.code_sha256 == digest).with_for_update())
            valid = (invitation is not None and invitation.used_at is None and invitation.revoked_at is None
                     and invitation.expires_at > now)  # fmt: skip
            if valid:
                newcomer = Actor(normal_username(username) or "(invited patient)", role="patient",
                                 patient_id=invitation.patient_id, source="invitation")  # fmt: skip
                view = self._create_user(newcomer, username, password, role="patient",
                                         patient_id=invitation.patient_id, db=db)  # fmt: skip
                invitation.used_at, invitation.used_by = now, view.username
                user = db.get(User, view.id)
                user.last_login_at = now
                actor = actor_for(user, "invitation", now)
                self._audit(db, actor, "invitation_redeemed", patient_id=invitation.patient_id, target=view.username)
                self._audit(db, actor, "login", patient_id=invitation.patient_id, target=view.username)
                return actor
        with self._db() as db:
            self._audit(db, None, "invitation_failed", target="(invited patient)",
                        detail=f"unknown, used, revoked or expired code; user name hmac "
                               f"{throttle.keyed(self._hash_key(db), 'user', normal_username(username))[:16]}")  # fmt: skip
        raise AuthenticationFailed("This invitation code is not valid or has expired; ask your clinic for a new one.")

    # ------------------------------------------------------------------ log-in

    def create_demo_accounts(self, actor: Actor, patient_id: str) -> dict[str, str]:
        """Create the :data:`DEMO_ACCOUNTS` (a provider, and a patient for ``patient_id``) unless they exist.

        Returns ``{username: password}`` of every demo account (to print for the person trying the demo).
        """
        self.authorize(actor, "manage_accounts")
        with self._db() as db:
            existing = set(db.scalars(select(User.username).where(User.username.in_(DEMO_ACCOUNTS))))
        for username, (role, password) in DEMO_ACCOUNTS.items():
            if username not in existing:
                label = "Demo provider" if role == "provider" else "Demo patient"
                self._create_user(actor, username, password, role=role, demo=True, display_name=label,
                                  patient_id=patient_id if role == "patient" else None)  # fmt: skip
        return {username: password for username, (_, password) in DEMO_ACCOUNTS.items()}

