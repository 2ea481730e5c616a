"""Content-addressed photo store: each file is named by the sha256 of its bytes.

Files are written atomically (temporary file, fsync, rename) into
``<root>/<first two hex digits>/<sha256><suffix>``, so a crash leaves either
the whole file or nothing but a ``.tmp-*`` file that :meth:`PhotoStore.orphans`
reports. The same bytes are stored once, however often they are added.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..photo import atomic_write

__all__ = ["PhotoStore"]


class PhotoStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, file_name: str) -> Path:
        return self.root / file_name[:2] / file_name

    def put(self, data: bytes, suffix: str) -> tuple[str, str]:
        """Store ``data``; returns ``(file_name, sha256)``. Existing content is not rewritten."""
        digest = hashlib.sha256(data).hexdigest()
        file_name = f"{digest}{suffix}"
        target = self.path(file_name)
        if not target.exists():
            atomic_write(target, data)
        return file_name, digest

    def get(self, file_name: str) -> bytes:
        return self.path(file_name).read_bytes()

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
        """True when the file's bytes still hash to its name."""
        digest = file_name.split(".")[0]
        return hashlib.sha256(self.get(file_name)).hexdigest() == digest
