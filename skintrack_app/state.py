"""The one module that owns ``st.session_state`` and the app's cached resources.

Pages ask this module for the records service, the signed-in user, the
selected patient and the results of the last upload; they never touch
``st.session_state`` themselves.

Who is signed in: the session keeps only the account's user name and how it
signed in, never a password or a role. Every run re-reads the account
(:meth:`~skintrack.records.Records.refresh_actor`), so a disabled account is
signed out at its next click and a role can never come from the session.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import streamlit as st

from skintrack.records import Actor, AuthenticationFailed, Records

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
log = logging.getLogger("skintrack.app")

_PATIENT = "selected_patient_id"
_SESSION = "current_session_id"
_UPLOADS = "upload_results"
_ACCOUNT = "signed_in_account"  # {"username": ..., "source": "password" | "oidc" | "invitation"}
_ACTOR = "signed_in_actor"  # this run's Actor, re-read from the account at the start of every run
_ACTIVITY = "last_activity"  # time.time() of the last run the user caused
_SIGNED_OUT = "signed_out_reason"
_OIDC_REFUSED = "oidc_refused"
_NOTICES = "notices"
_FORM_ERRORS = "form_errors"

#: Minutes without a click after which the user is signed out (``SKINTRACK_IDLE_MINUTES``).
DEFAULT_IDLE_MINUTES = 30.0


@st.cache_resource(show_spinner=False)
def _records(data_dir: str, db_url: str | None) -> Records:
    return Records(data_dir, db_url=db_url)


def records() -> Records:
    """The records service for ``$SKINTRACK_DATA`` (one per server process)."""
    data_dir = os.environ.get("SKINTRACK_DATA") or "skintrack-data"
    return _records(str(Path(data_dir).resolve()), os.environ.get("SKINTRACK_DB_URL"))


# --------------------------------------------------------------------------- signing in and out


def idle_minutes() -> float:
    try:
        return max(0.1, float(os.environ.get("SKINTRACK_IDLE_MINUTES") or DEFAULT_IDLE_MINUTES))
    except ValueError:
        return DEFAULT_IDLE_MINUTES


def production() -> bool:
    return os.environ.get("SKINTRACK_ENV", "").strip().lower() == "production"


def refuse_demo_accounts_in_production() -> None:
    """With ``SKINTRACK_ENV=production`` nothing runs while a demo account is enabled."""
    if not production():
        return
    demo = records().demo_accounts()
    if demo:
        message = (f"skintrack does not start in production while demo accounts are enabled ({', '.join(demo)}). "
                   "Disable them on the server: skintrack users disable " + " ".join(demo))  # fmt: skip
        log.error(message)
        st.error(message)
        st.stop()


def begin_run() -> Actor | None:
    """Called once at the top of every run: the signed-in user (re-read from their account) or ``None``.

    Signs the user out after :func:`idle_minutes` without a click, and signs in
    someone the identity provider (``st.login``) has just vouched for.
    """
    st.session_state.pop(_ACTOR, None)
    if not st.session_state.get(_ACCOUNT):
        _sign_in_from_identity_provider()
    account = st.session_state.get(_ACCOUNT)
    if not account:
        return None
    try:
        actor = records().refresh_actor(Actor(account["username"], username=account["username"], source=account["source"],
                                              signed_in_at=account.get("signed_in_at")))  # fmt: skip
    except AuthenticationFailed as exc:
        _forget_user(str(exc))
        return None
    st.session_state[_ACTOR] = actor
    now = time.time()
    if now - st.session_state.get(_ACTIVITY, now) > idle_minutes() * 60:
        sign_out(f"You were signed out after {idle_minutes():g} minutes without activity.", reason="idle timeout")
        return None
    st.session_state[_ACTIVITY] = now
    return actor


def idle_expired() -> bool:
    """True once the user has been idle for :func:`idle_minutes` (checked by a timer on the page, so an
    unattended screen clears itself)."""
    last = st.session_state.get(_ACTIVITY)
    return bool(st.session_state.get(_ACCOUNT)) and last is not None and time.time() - last > idle_minutes() * 60


def _start_session(actor: Actor) -> None:
    for key in (_PATIENT, _SESSION, _UPLOADS, _SIGNED_OUT, _OIDC_REFUSED, _NOTICES, _CONFIRM, _NEW_VISIT, _SHOWN,
                _PENDING, _MUST_CHOOSE):
        st.session_state.pop(key, None)
    # When it signed in: a password reset or a disabled account ends every session signed in before it.
    st.session_state[_ACCOUNT] = {"username": actor.username, "source": actor.source, "signed_in_at": actor.signed_in_at}
    st.session_state[_ACTIVITY] = time.time()


def sign_in(username: str, password: str) -> str | None:
    """Log in with a password; returns the error to show, or ``None`` when signed in."""
    try:
        actor = records().authenticate(username, password, client=client_address())
    except AuthenticationFailed as exc:
        return str(exc)
    _start_session(actor)
    return None


def client_address() -> str:
    """Where a log-in comes from, for throttling guesses per client: the browser's address as Streamlit sees it.

    Behind reverse proxies, ``SKINTRACK_TRUST_PROXY=N`` (the number of proxies in front, usually 1) takes the
    address the outermost of them saw: the N-th ``X-Forwarded-For`` entry from the right. Entries further left
    are whatever the browser sent, so anyone could rotate them to escape the per-client limit.
    """
    try:
        hops = int(os.environ.get("SKINTRACK_TRUST_PROXY") or 0)
    except ValueError:
        hops = 0
    try:
        if hops > 0:
            forwarded = [a.strip() for a in st.context.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
            if forwarded:
                return forwarded[-min(hops, len(forwarded))]
        return st.context.ip_address or "unknown"
    except Exception:  # outside a server (AppTest)
        return "unknown"


def redeem_invitation(code: str, username: str, password: str) -> str | None:
    """Set up a patient's own account from an invitation code; returns the error to show, or ``None``."""
    from skintrack.records import RecordsError

    try:
        actor = records().redeem_invitation(code, username, password)
    except RecordsError as exc:
        return str(exc)
    _start_session(actor)
    return None


def oidc_providers() -> list[str]:
    """Names of the identity providers configured for ``st.login`` (``[auth]`` in secrets.toml)."""
    try:
        auth = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return []
    if not auth:
        return []
    named = [name for name, value in auth.items() if hasattr(value, "items")]
    return named or (["default"] if auth.get("client_id") else [])


def _oidc_user():
    try:
        return st.user if st.user.is_logged_in else None
    except Exception:  # outside a server (AppTest) or auth not configured
        return None


def _sign_in_from_identity_provider() -> None:
    user = _oidc_user()
    if user is None or st.session_state.get(_OIDC_REFUSED):
        return
    try:
        actor = records().authenticate_oidc(user.get("email"), email_verified=user.get("email_verified"))
    except AuthenticationFailed as exc:
        st.session_state[_OIDC_REFUSED] = str(exc)
        return
    _start_session(actor)


def oidc_refusal() -> str | None:
    """Why the identity provider's sign-in was refused (no account for that e-mail), if it was."""
    return st.session_state.get(_OIDC_REFUSED)


def sign_out(message: str = "You are signed out.", *, reason: str = "") -> None:
    """End the session (and the identity provider's, when signed in through it)."""
    account = st.session_state.get(_ACCOUNT)
    if account:
        try:
            who = st.session_state.get(_ACTOR) or records().refresh_actor(
                Actor(account["username"], username=account["username"], source=account["source"],
                      signed_in_at=account.get("signed_in_at"))
            )  # fmt: skip
            records().logged_out(who, reason=reason)
        except Exception:  # the account may be gone: signing out must still work
            log.warning("could not record the log-out of %s", account["username"])
    _forget_user(message)
    if _oidc_user() is not None:
        st.logout()


def _forget_user(message: str) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[_SIGNED_OUT] = message


def signed_out_reason() -> str | None:
    return st.session_state.get(_SIGNED_OUT)


def actor() -> Actor:
    """The signed-in user of this run (pages run only after :func:`begin_run` found one)."""
    current = st.session_state.get(_ACTOR)
    if current is None:
        st.warning("Please log in.")
        st.stop()
    return current


def require(*roles: str) -> Actor:
    """The signed-in user, when they have one of ``roles``; otherwise the page stops with a refusal.

    Every page calls this first, so a page is refused whichever way it was
    reached (navigation, a URL, a script that calls it).
    """
    me = actor()
    if me.role not in roles:
        st.error("This page is not available to you.")
        st.stop()
    return me


# --------------------------------------------------------------------------- the demo


@st.cache_resource(show_spinner="Loading the demo patient…")
def _demo_loaded(data_dir: str) -> bool:
    store = records()
    loader = Actor("skintrack first start", role="admin", source="system")
    if os.environ.get("SKINTRACK_NO_DEMO") or production() or store.list_patients(loader):
        return False
    patient = store.load_demo(loader, SAMPLES)
    credentials = store.create_demo_accounts(loader, patient.id)
    print("skintrack demo accounts (for trying skintrack only; disable them before real use):", flush=True)
    for username, password in credentials.items():
        print(f"  user name {username:<14} password {password}", flush=True)
    return True


def ensure_demo() -> None:
    """On first start with an empty data folder (not in production), load the demo patient and its
    demo accounts (once per server)."""
    _demo_loaded(str(records().data_dir))


# --------------------------------------------------------------------------- what the pages work on


def selected_patient_id() -> str | None:
    return st.session_state.get(_PATIENT)


def select_patient(patient_id: str | None) -> None:
    if st.session_state.get(_PATIENT) != patient_id:
        st.session_state[_PATIENT] = patient_id
        st.session_state[_SESSION] = None
        st.session_state[_UPLOADS] = []
        st.session_state[_PENDING] = []
        st.session_state.pop(_SHOWN, None)  # nothing of another patient's was shown for this one
        st.session_state.pop(_MUST_CHOOSE, None)
        st.session_state.pop(_NEW_VISIT, None)  # the form opens by itself for a patient without visits


def current_session_id() -> str | None:
    return st.session_state.get(_SESSION)


def set_current_session(session_id: str | None) -> None:
    if st.session_state.get(_SESSION) != session_id:
        st.session_state[_UPLOADS] = []
    st.session_state[_SESSION] = session_id


# --------------------------------------------------------------------------- what the provider was shown
#
# A photo is filed where the provider chose, as it was shown to them: the visit and area drawn in the
# previous run (when "Add photos" was pressed) are remembered here, and the upload carries them to the
# engine (Records.add_photo(expect=...)), which refuses anything else. Another tab may delete or change
# the visit meanwhile; the select box then shows no visit rather than switching to another by itself.

_SHOWN = "shown_for_filing"  # {"visit": {...}, "area": {...}} as drawn in the last run of New session


def shown_for_filing(what: str) -> dict | None:
    """The visit (``"visit"``: id, session_date, treatment) or area (``"area"``: id, name) the New session
    page showed in its previous run, or ``None``."""
    return st.session_state.get(_SHOWN, {}).get(what)


def remember_shown(what: str, value: dict | None) -> None:
    st.session_state.setdefault(_SHOWN, {})[what] = value


def forget_choice(widget_key: str) -> None:
    """Show ``widget_key`` (a select box) empty: the choice it held is gone and must be made again."""
    st.session_state[widget_key] = None


_MUST_CHOOSE = "must_choose"  # {widget key: why its choice is gone}


def must_choose(widget_key: str, reason: str | None, level: str = "error") -> None:
    """The select box ``widget_key`` stays empty, saying ``reason`` (an ``"error"`` or an ``"info"``), until the
    user chooses (``reason=None``: chosen)."""
    waiting = st.session_state.setdefault(_MUST_CHOOSE, {})
    if reason:
        waiting[widget_key] = (reason, level)
        st.session_state[widget_key] = None
    else:
        waiting.pop(widget_key, None)


def must_be_chosen(widget_key: str) -> tuple[str, str] | None:
    """Why the select box ``widget_key`` is empty until the user chooses, and how to say it, or ``None``."""
    return st.session_state.get(_MUST_CHOOSE, {}).get(widget_key)


def area_chosen() -> None:
    """``on_change`` of the New session page's area box (emptied by the user: it stays empty)."""
    if st.session_state.get("upload_area") is None:
        must_choose("upload_area", "No area chosen: choose the area the photos show.", "info")
    else:
        must_choose("upload_area", None)


def callback_actor() -> Actor | None:
    """The signed-in user, re-read from their account, for a form's callback (it runs before
    :func:`begin_run`): ``None`` when signed out, disabled or idle too long — then the callback does nothing
    and the run that follows signs the user out."""
    account = st.session_state.get(_ACCOUNT)
    if not account or idle_expired():
        return None
    try:
        return records().refresh_actor(Actor(account["username"], username=account["username"], source=account["source"]))
    except AuthenticationFailed:
        return None


_PENDING = "pending_confirmations"


def pending_confirmations() -> list[dict[str, Any]]:
    """Uploads the engine filed only on confirmation (a duplicate, a far-off capture date), waiting for the
    provider's choice: ``{"id", "name", "data", "session_id", "area_id", "expect", "allow": [...], "message",
    "confirm_with"}``."""
    return st.session_state.setdefault(_PENDING, [])


def set_pending_confirmations(items: list[dict[str, Any]]) -> None:
    st.session_state[_PENDING] = items


# --------------------------------------------------------------------------- forms that a double click must not repeat
#
# A double click sends a form twice: the second submission arrives while the first runs (with the values
# typed, or with the fields already emptied). It must neither repeat the change nor report the emptied form
# as an error. Forms are therefore handled in their submit button's callback (it runs before the page, to
# completion, with that submission's values), which is bound to the form's *generation*: each change
# carried out starts a new generation, so the second click of a double click — sent by the form as it was
# drawn before the first click — is recognised and ignored. (A second click that arrives only after the
# first click's page was drawn anew sends the emptied form: within a few seconds of a change, an empty
# submission is ignored too.) A form sent again on purpose, e.g. the same visit once more, is drawn anew
# first, so it is handled (and refused with the reason).
#
# But when the second click arrives while the first click's run is still in its callbacks, Streamlit starts
# the run again and the session-state changes the first callback made are lost (the database's are not):
# the generation, the emptied fields, the new selection, the "created" message — the callback is stopped at
# its next Streamlit call after the database write (seen in Chromium: the same code sent twice with
# generation 0, then "… already exists" and the previous patient still selected). So a
# change carried out is also remembered outside the session state, per browser session, for the
# double-click window (:func:`carried_out`): a second submission with the same values (or the emptied
# form) within it is not carried out again but re-applies the first one's effects on the session.

_GENERATIONS = "form_generations"
# Measured on the server, from the first click's change to the second click's callback: a busy browser (a phone,
# a loaded machine) can send the second click seconds after its event (a phone's double click in CI once ended
# without the "created" message, as a second click handled after a 3 s window would), so the window is generous.
DOUBLE_CLICK_SECONDS = 10.0


def form_generation(form: str) -> int:
    """The generation of ``form`` now drawn (bind it to its submit button's callback: ``args=(...)``)."""
    return st.session_state.get(_GENERATIONS, {}).get(form, {}).get("generation", 0)


def repeated_submit(form: str, generation: int, values: tuple) -> bool:
    """True when a submission of ``form`` (drawn as ``generation``, holding ``values``) is the second click of
    a double click (see above)."""
    emptied = all(value in ("", None) for value in values)
    change = _recent_change(form)
    if change is not None and (emptied or tuple(values) == change.values):
        change.effects()  # the first click's effects on the session, which its interrupted run may have lost
        return True
    current = st.session_state.get(_GENERATIONS, {}).get(form, {})
    recent = time.monotonic() - current.get("at", -1e9) <= DOUBLE_CLICK_SECONDS
    return generation != current.get("generation", 0) or (recent and emptied)


class _Change(NamedTuple):
    """A form's change carried out (see above)."""

    values: tuple  # what the form held
    at: float  # time.monotonic() when it was carried out
    effects: Callable[[], None]  # its effects on the session, applied again by a double click's second click
    replaces: Any  # the selection the effects replaced


_CARRIED_OUT: dict[tuple[str, str], _Change] = {}  # (browser session, form) -> its last change
_CARRIED_OUT_LOCK = threading.Lock()


def _browser_session() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else ""


def _recent_change(form: str) -> _Change | None:
    """The change of ``form`` this browser session carried out within the double-click window, if any."""
    now = time.monotonic()
    with _CARRIED_OUT_LOCK:
        for key in [k for k, change in _CARRIED_OUT.items() if now - change.at > DOUBLE_CLICK_SECONDS]:
            del _CARRIED_OUT[key]
        return _CARRIED_OUT.get((_browser_session(), form))


def carried_out(form: str, values: tuple, effects: Callable[[], None], *, replaces: Any = None) -> None:
    """``form``'s change, made with ``values``, was carried out: start its next generation and apply
    ``effects`` on the session (empty the form, select what was made, say so); a double click's second
    submission applies them again instead of repeating the change (see above). ``replaces``: the selection
    the effects replace (a stale select box sending it back is not a choice: :func:`patient_chosen`)."""
    # Remembered first, before any call into Streamlit: the second click's rerun request stops this
    # callback at its next Streamlit call (seen in Chromium: the patient stored, nothing after it done).
    with _CARRIED_OUT_LOCK:
        _CARRIED_OUT[(_browser_session(), form)] = _Change(tuple(values), time.monotonic(), effects, replaces)
    submitted(form)
    effects()


def forget_recent_changes() -> None:
    """Forget the changes carried out within the double-click window (tests: "a few seconds later")."""
    with _CARRIED_OUT_LOCK:
        _CARRIED_OUT.clear()


def clear_fields(keys, defaults: dict | None = None) -> None:
    """Empty a form's fields (from its callback), e.g. once what they held was stored."""
    for key in keys:
        st.session_state[key] = (defaults or {}).get(key, "")


def submitted(form: str) -> None:
    """``form``'s change was carried out: a new generation starts (the old one's second click is ignored)."""
    generations = st.session_state.setdefault(_GENERATIONS, {})
    generations[form] = {"generation": form_generation(form) + 1, "at": time.monotonic()}


# --------------------------------------------------------------------------- select boxes that follow the state
#
# A select box with a key keeps the value the user last chose, whatever ``index`` says: after
# "Create patient" it stayed on the previous patient, and the next area and visit were filed under
# them (issue 14, items 1 and 2). So the state owns the selection: before the box is drawn its value
# is set from the state (``show``), and the user's choice reaches the state in its ``on_change``
# callback (``chosen``), which runs before the page.


def show(widget_key: str, value: Any, options: list) -> None:
    """Make the select box ``widget_key`` show ``value`` (call before drawing it; ignored if not an option)."""
    if value in options and st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value
    elif options and st.session_state.get(widget_key) not in options:
        st.session_state[widget_key] = options[0]


_RESETS = "widget_resets"


def reset_next_run(widget_key: str, value: Any) -> None:
    """Give a widget ``value`` at the start of the next run (a drawn widget cannot be changed in this one)."""
    st.session_state.setdefault(_RESETS, {})[widget_key] = value


def apply_resets() -> None:
    """Apply :func:`reset_next_run` (call at the top of the page, before its widgets)."""
    for key, value in st.session_state.pop(_RESETS, {}).items():
        st.session_state[key] = value


def keep_valid(widget_key: str, default: Any, options: list) -> None:
    """Leave the user's choice in the select box ``widget_key`` alone while it is still one of ``options``;
    otherwise (first run, or the options changed) show ``default``."""
    if st.session_state.get(widget_key) not in options:
        st.session_state[widget_key] = default if default in options else (options[0] if options else None)


def patient_chosen() -> None:
    """``on_change`` of the patient select box.

    A double click on "Create patient" sends with its second click the select box as the browser still
    showed it, the patient selected before: within the double-click window, going back to exactly that
    patient is not a choice (the new patient stays selected)."""
    change = _recent_change("new_patient_form")
    if change is not None and st.session_state.get("patient_select") == change.replaces:
        change.effects()
        st.session_state["patient_select"] = selected_patient_id()
        return
    select_patient(st.session_state.get("patient_select"))


def session_chosen() -> None:
    """``on_change`` of the visit select box (emptied by the user: it stays empty until a visit is chosen)."""
    set_current_session(st.session_state.get("upload_session"))
    if st.session_state.get("upload_session") is None:
        must_choose("upload_session", "No visit chosen: choose the visit the photos belong to.", "info")
    else:
        must_choose("upload_session", None)


# --------------------------------------------------------------------------- forms that close, uploaders that empty

_NEW_VISIT = "new_visit_open"
_UPLOADER = "uploader_generation"
_CONFIRM = "confirming"
_CAPTURED = "captured_photos"


def new_visit_open(default: bool) -> bool:
    return st.session_state.get(_NEW_VISIT, default)


def open_new_visit() -> None:
    st.session_state[_NEW_VISIT] = True


def close_new_visit() -> None:
    st.session_state[_NEW_VISIT] = False


def uploader_key(name: str = "upload_files") -> str:
    """The file uploader's key: a new one after each "Add photos", so the files just added are not
    added again by the next click (issue 14, item 5)."""
    return f"{name}_{st.session_state.get(_UPLOADER, 0)}"


def empty_uploader() -> None:
    st.session_state[_UPLOADER] = st.session_state.get(_UPLOADER, 0) + 1


def ask_to_confirm(action: str) -> None:
    """Remember that ``action`` (e.g. ``"delete_photo:<id>"``) waits for its confirmation."""
    st.session_state[_CONFIRM] = action


def confirming(action: str) -> bool:
    return st.session_state.get(_CONFIRM) == action


def confirmed() -> None:
    st.session_state.pop(_CONFIRM, None)


def capture_seen(capture_id: str) -> bool:
    """True when this camera capture was already handled (a capture is added once)."""
    seen = st.session_state.setdefault(_CAPTURED, [])
    if capture_id in seen:
        return True
    seen.append(capture_id)
    del seen[:-20]
    return False


def upload_results() -> list[dict[str, Any]]:
    return st.session_state.setdefault(_UPLOADS, [])


def set_upload_results(results: list[dict[str, Any]]) -> None:
    st.session_state[_UPLOADS] = results


def notify(message: str) -> None:
    """A success message to show after the next rerun (st.rerun would wipe it otherwise)."""
    queued = st.session_state.setdefault(_NOTICES, [])
    if message not in queued:  # a double click's effects applied twice say it once
        queued.append(message)


def show_notices() -> None:
    from .text import md

    for message in st.session_state.pop(_NOTICES, []):
        st.success(md(message))


# --------------------------------------------------------------------------- forms with passwords
#
# A password field's value would stay in the session after its form is sent. Forms with one are
# therefore handled in the submit button's callback (which runs before the page), which takes the
# password out of the session (take_secret) before doing anything with it.


def widget_value(key: str, default: Any = "") -> Any:
    """A form widget's value, read in its submit button's callback."""
    return st.session_state.get(key, default)


def take_secret(key: str) -> str:
    """A password widget's value, blanked in the session at once (call it from the form's callback)."""
    value = st.session_state.get(key) or ""
    st.session_state[key] = ""
    return value


def report_error(form: str, message: str | None) -> None:
    """An error from a form's callback, shown by :func:`show_error` on the page that follows."""
    errors = st.session_state.setdefault(_FORM_ERRORS, {})
    if message:
        errors[form] = message
    else:
        errors.pop(form, None)


def show_error(form: str) -> None:
    from .text import md

    message = st.session_state.get(_FORM_ERRORS, {}).pop(form, None)
    if message:
        st.error(md(message))
