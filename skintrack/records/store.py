"""Content-addressed photo store: each file is named by a hash of its bytes (keyed when encrypted).

Files are written atomically (temporary file, fsync, rename) into
``<root>/<first two hex digits>/<hash><suffix>``, so a crash leaves either
the whole file or nothing but a ``.tmp-*`` file that
:meth:`PhotoStore.temporary_files` reports. The same bytes are stored once, however often they are added.

Only names of the form ``<64 lowercase hex digits>.jpg`` or ``.png`` are ever
turned into paths (:meth:`PhotoStore.path` refuses anything else), so no name
read from a database row or an archive can reach a file outside the store.
Folders are created ``0700`` and files ``0600``, whatever the umask. A write
that would leave less than :data:`MIN_FREE_BYTES` free on the disk, or that
fails for lack of space, raises :class:`~skintrack.records.StorageFull` and
leaves nothing behind.

Temporary files are named ``.tmp-<host>-<pid>-*`` after the process writing
them, so ``doctor --repair`` can tell a write in progress from one a crash
abandoned (:func:`writer_alive`).

**Encryption at rest** (optional): with a key (``$SKINTRACK_KEY``, 32 random
bytes in URL-safe base64, made by :func:`generate_key` or ``skintrack keygen``)
every file written is sealed with AES-256-GCM: ``MAGIC | 12-byte nonce |
ciphertext | 16-byte tag``, the file's name as associated data (a file copied
over another name fails to open).

**File names.** With a key, a file is named by a *keyed* hash of the plain
photo, HMAC-SHA-256 under a name key derived from ``SKINTRACK_KEY``
(:func:`name_key`): the same photo is still stored once, but someone who can
list the folder (a backup, a shared disk) and holds a photo cannot tell
whether it is stored here. Without a key the name is the plain sha256: whoever
can read such a store can read the photos themselves, so a keyed name would
hide nothing, and the name stays checkable with no secret (``doctor``,
archives). Either way the database row's ``stored_sha256`` keeps the plain
sha256 for provenance, and an archive names its photos by it (archives are
portable between stores with different keys or none).

**Every read is checked against its name** (:meth:`PhotoStore.get`): an
encrypted file must decrypt (GCM's tag, under this name); a file that is not
encrypted is served only when its bytes hash to its name (sha256). So a plain
file written over an encrypted one, or another photo written over a file, is
refused with :class:`~skintrack.records.RecordsError`, never shown.

**Stores from before keyed names** (skintrack 0.3.0 and older, or files stored
before the key was set): their files are named by the plain sha256 and stay
readable as they are (an encrypted one decrypts under its old name, a plain one
matches its sha256). ``doctor`` lists them as ``unkeyed_files`` and
``skintrack doctor --repair`` (with the key set) re-writes each one encrypted
under its keyed name and moves its rows to it, one file at a time, with the same
crash-safety as every other write (the old file is deleted only after its rows
point at the new one).

References
----------
NIST SP 800-38D, "Recommendation for Block Cipher Modes of Operation: Galois/Counter Mode (GCM)" (2007).
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path

from ..private_files import atomic_write, make_private_dirs
from .errors import RecordsError, StorageFull

__all__ = [
    "MAGIC",
    "MIN_FREE_BYTES",
    "STORED_SUFFIXES",
    "PhotoStore",
    "StorageFull",
    "is_stored_name",
    "generate_key",
    "name_key",
    "without_metadata",
    "writer_alive",
    "writer_id",
]

#: First bytes of an encrypted file (no image format starts like this).
MAGIC = b"SKTENC\x01"
_NONCE = 12


def generate_key() -> str:
    """A new random key for ``SKINTRACK_KEY``: 32 bytes, URL-safe base64 (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def name_key(key: bytes) -> bytes:
    """The key that names files in an encrypted store, derived from the 32-byte encryption key.

    HMAC-SHA-256(key, "skintrack photo file names/1"): a separate key for a separate use (the
    encryption key itself never meets the photo's bytes outside AES-GCM).
    """
    return hmac.new(key, b"skintrack photo file names/1", hashlib.sha256).digest()


def _parse_key(key: str | bytes) -> bytes:
    text = key.decode() if isinstance(key, bytes) else str(key)
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise RecordsError(
            "SKINTRACK_KEY must be 32 random bytes in URL-safe base64 (44 characters); make one with `skintrack keygen`."
        )
    return raw


#: Suffixes of stored photos (what :func:`skintrack.intake.photo.clean_bytes` writes).
STORED_SUFFIXES = (".jpg", ".png")
_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")
#: A write is refused when it would leave less free space than this on the disk.
MIN_FREE_BYTES = 64 * 2**20
#: A temporary file or pending write whose writer cannot be checked (another
#: machine) is treated as abandoned after this many seconds.
ABANDONED_AFTER_S = 24 * 3600
_TEMP = re.compile(r"^\.tmp-([0-9a-f]{8})-(\d+)-")
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_stored_name(file_name: object) -> bool:
    """True for a name the store could have written: ``<64 lowercase hex digits>.jpg`` or ``.png``."""
    return isinstance(file_name, str) and bool(_NAME.match(file_name))


def _host() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def writer_id() -> str:
    """``<host>-<pid>`` of this process, as recorded with its temporary files and pending writes."""
    return f"{_host()}-{os.getpid()}"


def writer_alive(writer: str, started: float, now: float | None = None) -> bool:
    """Whether the writer ``<host>-<pid>`` that started at ``started`` (epoch s) may still be writing.

    On this machine the process is asked directly; for another machine (or a
    name that cannot be read) the write counts as in progress for
    :data:`ABANDONED_AFTER_S`.
    """
    now = time.time() if now is None else now
    host, _, pid = writer.partition("-")
    if host == _host() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # another user's process of that number
        return True
    return now - started < ABANDONED_AFTER_S


def without_metadata(data: bytes, file_name: str) -> bytes:
    """A stored photo's bytes without identifying metadata (pixels untouched); ``data`` itself when it has none.

    Photos stored before MPO frames and data after the image were stripped (or
    brought in by an old archive) may still carry EXIF with GPS there.

    Raises
    ------
    ValueError
        When the file is not a well-formed JPEG or PNG.
    """
    from ..intake import png
    from ..intake.photo import PhotoError, strip_jpeg_metadata

    try:
        if file_name.endswith(".jpg"):
            return strip_jpeg_metadata(data)
        return png.strip_metadata(data) if png.has_metadata(data) else data
    except (PhotoError, png.PngError) as exc:
        raise ValueError(str(exc)) from None


def no_space(exc: BaseException) -> bool:
    """True when ``exc`` is the operating system saying the disk (or quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


class PhotoStore:
    def __init__(self, root: str | os.PathLike, *, key: str | bytes | None = None):
        self.root = Path(root)
        make_private_dirs(self.root)
        for folder in (self.root, *(p for p in self.root.iterdir() if p.is_dir())):
            if folder.stat().st_mode & 0o077:
                os.chmod(folder, 0o700)  # folders an older version made 0755
        self._cipher = None
        self._name_key: bytes | None = None
        #: Called with a file's name after it is deleted: whoever keeps data derived from a photo registers here.
        self.on_delete: list = []
        if key:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            raw = _parse_key(key)
            self._cipher = AESGCM(raw)
            self._name_key = name_key(raw)

    @property
    def encrypted(self) -> bool:
        """True when new files are encrypted."""
        return self._cipher is not None

    def path(self, file_name: str) -> Path:
        """Where ``file_name`` lives. Refuses (``ValueError``) anything but a stored photo's name."""
        if not is_stored_name(file_name):
            raise ValueError(f"{file_name!r} is not the name of a stored photo.")
        return self.root / file_name[:2] / file_name

    def name_for(self, data: bytes, suffix: str) -> tuple[str, str]:
        """``(file_name, sha256)`` under which ``data`` is (or would be) stored.

        The name is the keyed hash of ``data`` in an encrypted store, its sha256
        otherwise; the second value is always the plain sha256 (provenance).
        """
        if suffix not in STORED_SUFFIXES:
            raise ValueError(f"Photos are stored as {' or '.join(STORED_SUFFIXES)}, not {suffix!r}.")
        digest = hashlib.sha256(data).hexdigest()
        return f"{self._keyed(data) or digest}{suffix}", digest

    def _keyed(self, data: bytes) -> str | None:
        if self._name_key is None:
            return None
        return hmac.new(self._name_key, data, hashlib.sha256).hexdigest()

    def is_keyed(self, file_name: str, data: bytes) -> bool:
        """True when ``file_name`` is where this store would put ``data`` now (an old-style name in an
        encrypted store is not: ``doctor --repair`` moves it)."""
        return is_stored_name(file_name) and self.name_for(data, "." + file_name.split(".")[1])[0] == file_name

    def put(self, data: bytes, suffix: str) -> tuple[str, str]:
        """Store ``data``; returns ``(file_name, sha256)``. An intact existing copy is not rewritten.

        Raises
        ------
        StorageFull
            The disk would be (or is) full; nothing was written.
        """
        file_name, digest = self.name_for(data, suffix)
        target = self.path(file_name)
        if not target.exists() or not self.verify(file_name):  # a damaged or replaced copy is written again
            self.check_space(len(data))
            try:
                atomic_write(target, self._seal(file_name, data), temp_prefix=f".tmp-{writer_id()}-")
            except OSError as exc:
                if no_space(exc):
                    raise StorageFull(_full_message(self.root)) from None
                raise
        return file_name, digest

    def check_space(self, needed: int) -> None:
        """Raise :class:`StorageFull` unless ``needed`` bytes fit with :data:`MIN_FREE_BYTES` to spare."""
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            return
        if free < needed + MIN_FREE_BYTES:
            raise StorageFull(_full_message(self.root))

    def get(self, file_name: str) -> bytes:
        try:
            path = self.path(file_name)
        except ValueError as exc:
            raise FileNotFoundError(str(exc)) from None
        return self._open(file_name, path.read_bytes())

    def _seal(self, file_name: str, data: bytes) -> bytes:
        if self._cipher is None:
            return data
        nonce = secrets.token_bytes(_NONCE)
        return MAGIC + nonce + self._cipher.encrypt(nonce, data, file_name.encode())

    def _open(self, file_name: str, raw: bytes) -> bytes:
        if not raw.startswith(MAGIC):
            # Stored without a key: served only when the bytes are the ones the name promises (a plain file
            # written over an encrypted one, under a keyed name, never matches).
            if not hmac.compare_digest(hashlib.sha256(raw).hexdigest(), file_name.split(".")[0]):
                raise RecordsError(
                    f"The file {file_name} is not the photo stored under that name (written over or damaged); "
                    "refused. `skintrack doctor` lists such files."
                )
            return raw
        if self._cipher is None:
            raise RecordsError("The photos are encrypted: set SKINTRACK_KEY to the key they were stored with.")
        from cryptography.exceptions import InvalidTag

        nonce = raw[len(MAGIC) : len(MAGIC) + _NONCE]
        try:
            return self._cipher.decrypt(nonce, raw[len(MAGIC) + _NONCE :], file_name.encode())
        except InvalidTag:
            raise RecordsError(
                f"Cannot decrypt {file_name}: SKINTRACK_KEY is not the key it was stored with, or the file was damaged."
            ) from None

    def seal_derived(self, name: str, data: bytes) -> bytes:
        """``data`` worked out from a stored photo (e.g. a measured baseline), sealed like a photo when the
        store is encrypted (its ``name`` as associated data, apart from photo names); as is otherwise."""
        if self._cipher is None:
            return data
        nonce = secrets.token_bytes(_NONCE)
        return MAGIC + nonce + self._cipher.encrypt(nonce, data, b"derived:" + name.encode())

    def open_derived(self, name: str, raw: bytes) -> bytes:
        """What :meth:`seal_derived` sealed. :class:`RecordsError` when it cannot be opened with this
        store's key (another key, none, damaged, or a plain file in an encrypted store)."""
        if self._cipher is None:
            if raw.startswith(MAGIC):
                raise RecordsError(f"{name} is encrypted and this store has no key.")
            return raw
        if not raw.startswith(MAGIC):
            raise RecordsError(f"{name} is not encrypted although this store is.")
        from cryptography.exceptions import InvalidTag

        nonce = raw[len(MAGIC) : len(MAGIC) + _NONCE]
        try:
            return self._cipher.decrypt(nonce, raw[len(MAGIC) + _NONCE :], b"derived:" + name.encode())
        except InvalidTag:
            raise RecordsError(f"Cannot open {name} with this key (another key, or damaged).") from None

    def exists(self, file_name: str) -> bool:
        return is_stored_name(file_name) and self.path(file_name).exists()

    def delete(self, file_name: str) -> None:
        if not is_stored_name(file_name):
            return  # nothing of that name can be in the store
        try:
            self.path(file_name).unlink()
        except FileNotFoundError:
            pass
        for forget in self.on_delete:  # what was worked out from the photo goes with it (e.g. its measured baseline)
            forget(file_name)

    def files(self) -> set[str]:
        """Names of all stored photos (temporary and foreign files excluded)."""
        return {p.name for p in self.root.glob("*/*") if p.is_file() and is_stored_name(p.name)}

    def temporary_files(self, *, abandoned_only: bool = True) -> list[Path]:
        """Half-written files: by default only those whose writer is gone (a crash), not writes in progress."""
        found = []
        now = time.time()
        for path in self.root.glob("*/.tmp-*"):
            if not path.is_file():
                continue
            match = _TEMP.match(path.name)
            if abandoned_only and match:
                try:
                    started = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if writer_alive(f"{match.group(1)}-{match.group(2)}", started, now):
                    continue
            found.append(path)
        return found

    def verify(self, file_name: str) -> bool:
        """True when the file's bytes (decrypted) still hash to its name (keyed, or an old sha256 name);
        False for a damaged or replaced file."""
        try:
            data = self.get(file_name)
        except RecordsError:  # cannot be decrypted or does not match: damaged (or the wrong key)
            return False
        return self.matches(file_name, data)

    def matches(self, file_name: str, data: bytes) -> bool:
        """Whether ``data`` is the photo ``file_name`` names: its keyed hash (this store's key) or its sha256."""
        stem = file_name.split(".")[0]
        return stem == hashlib.sha256(data).hexdigest() or stem == self._keyed(data)


def _full_message(root: Path) -> str:
    return (
        f"The disk holding {root} is full (less than {MIN_FREE_BYTES / 2**20:.0f} MiB would be left); "
        "nothing was stored. Free some space and try again."
    )
