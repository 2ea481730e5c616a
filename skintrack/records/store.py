"""Content-addressed photo store: each file is named by the sha256 of its bytes.

Files are written atomically (temporary file, fsync, rename) into
``<root>/<first two hex digits>/<sha256><suffix>``, so a crash leaves either
the whole file or nothing but a ``.tmp-*`` file that :meth:`PhotoStore.orphans`
reports. The same bytes are stored once, however often they are added.

**Encryption at rest** (optional): with a key (``$SKINTRACK_KEY``, 32 random
bytes in URL-safe base64, made by :func:`generate_key` or ``skintrack keygen``)
every file written is sealed with AES-256-GCM: ``MAGIC | 12-byte nonce |
ciphertext | 16-byte tag``, the file's name as associated data (a file copied
over another name fails to open). Files are still named by the sha256 of the
*plain* photo, so duplicates are still stored once and ``doctor`` still checks
them. Files written before a key was set stay readable as they are.

References
----------
NIST SP 800-38D, "Recommendation for Block Cipher Modes of Operation: Galois/Counter Mode (GCM)" (2007).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

from ..photo import atomic_write
from .errors import RecordsError

__all__ = ["MAGIC", "PhotoStore", "generate_key"]

#: First bytes of an encrypted file (no image format starts like this).
MAGIC = b"SKTENC\x01"
_NONCE = 12


def generate_key() -> str:
    """A new random key for ``SKINTRACK_KEY``: 32 bytes, URL-safe base64 (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


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


class PhotoStore:
    def __init__(self, root: str | os.PathLike, *, key: str | bytes | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._cipher = None
        if key:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(_parse_key(key))

    @property
    def encrypted(self) -> bool:
        """True when new files are encrypted."""
        return self._cipher is not None

    def path(self, file_name: str) -> Path:
        return self.root / file_name[:2] / file_name

    def put(self, data: bytes, suffix: str) -> tuple[str, str]:
        """Store ``data``; returns ``(file_name, sha256)``. Existing content is not rewritten."""
        digest = hashlib.sha256(data).hexdigest()
        file_name = f"{digest}{suffix}"
        target = self.path(file_name)
        if not target.exists():
            atomic_write(target, self._seal(file_name, data))
        return file_name, digest

    def get(self, file_name: str) -> bytes:
        """The photo's bytes (decrypted when the file is encrypted)."""
        return self._open(file_name, self.path(file_name).read_bytes())

    def _seal(self, file_name: str, data: bytes) -> bytes:
        if self._cipher is None:
            return data
        nonce = secrets.token_bytes(_NONCE)
        return MAGIC + nonce + self._cipher.encrypt(nonce, data, file_name.encode())

    def _open(self, file_name: str, raw: bytes) -> bytes:
        if not raw.startswith(MAGIC):
            return raw  # stored without a key
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

    def exists(self, file_name: str) -> bool:
        return self.path(file_name).exists()

    def delete(self, file_name: str) -> None:
        try:
            self.path(file_name).unlink()
        except FileNotFoundError:
            pass

    def files(self) -> set[str]:
        """Names of all stored photos (temporary files excluded)."""
        return {p.name for p in self.root.glob("*/*") if p.is_file() and not p.name.startswith(".tmp-")}

    def temporary_files(self) -> list[Path]:
        """Half-written files left by a crash."""
        return [p for p in self.root.glob("*/.tmp-*") if p.is_file()]

    def verify(self, file_name: str) -> bool:
        """True when the file's bytes (decrypted) still hash to its name; False for a damaged file."""
        digest = file_name.split(".")[0]
        try:
            data = self.get(file_name)
        except RecordsError:  # cannot be decrypted: damaged (or the wrong key, which every file then shows)
            return False
        return hashlib.sha256(data).hexdigest() == digest
