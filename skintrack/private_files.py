"""Files skintrack writes are health data: written atomically (temp file, fsync, rename, fsync of the
folder), owner-only (``0600`` files, ``0700`` folders) whatever the umask."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, temp_prefix: str = ".tmp-") -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename + fsync of the folder.

    The file is created ``0600`` (owner only) and missing folders ``0700``,
    whatever the umask: what skintrack writes is health data. A failure
    (e.g. a full disk) leaves the previous file, if any, and no temporary file.
    """
    path = Path(path)
    make_private_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix, dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: fsync the directory; not possible on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dirs(folder: str | os.PathLike) -> Path:
    """Create ``folder`` and its missing parents as ``0700`` (owner only), whatever the umask."""
    folder = Path(folder)
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made by someone else meanwhile
        os.chmod(candidate, 0o700)
    return folder
