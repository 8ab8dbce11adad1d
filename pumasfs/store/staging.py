"""Staging folders under ``.downloads/``: where imports are built before they exist.

Each import works in its own ``import-*`` folder, on the library's filesystem,
and holds an exclusive ``flock`` on it for as long as it runs.  Whatever is in
a folder nobody holds a lock on was left by a killed process: it was never
visible as a model, and :func:`sweep` removes it.  Downloads keep their
resumable folders under ``.downloads/hub/`` with the same lock
(``hub/work_folder.py``).  Deleted models pass through
``trash-*`` folders so that removal is one rename, and a crash half-way
through deleting leaves nothing that looks like a model.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from pathlib import Path

from pumasfs.base.atomic import TMP_SUFFIX
from pumasfs.base.paths import Layout

LOCK_NAME = ".pumas-lock"
SWEPT_PREFIXES = ("import-", "trash-")


class LockedDir:
    """A work folder held by an exclusive ``flock`` on its lock file for as long as its owner runs.

    The one locked folder of pumas: imports build in one (``StagingDir``),
    downloads resume in one (``hub.work_folder.WorkDir``).  A folder whose
    lock nobody holds belongs to no running process, so the sweeps go by the
    lock, never by guessing from names or ages alone.  The lock file lives
    inside the folder: removing the folder removes it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    @property
    def locked(self) -> bool:
        return self._fd >= 0

    def lock(self, *, wait: bool = True) -> bool:
        """Make the folder if needed and take its lock; False when another process holds it (``wait=False``)."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def unlock(self) -> None:
        """Let go of the lock; the folder stays (to be resumed, or swept)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        """Delete the folder and everything in it, then let go of the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.unlock()


class StagingDir(LockedDir):
    """A locked, private folder under ``.downloads/``; removed on exit unless committed."""

    def __init__(self, layout: Layout, prefix: str = "import-") -> None:
        super().__init__(layout.staging_dir / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}")
        self.lock()
        self.committed = False

    @property
    def content(self) -> Path:
        """The folder that becomes the model folder (the lock file stays outside it)."""
        p = self.path / "model"
        p.mkdir(exist_ok=True)
        return p

    def close(self) -> None:
        if not self.locked:
            return
        if not self.committed:
            self.remove()
            return
        (self.path / LOCK_NAME).unlink(missing_ok=True)
        try:
            self.path.rmdir()
        except OSError:
            shutil.rmtree(self.path, ignore_errors=True)
        self.unlock()

    def __enter__(self) -> StagingDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_held(path: Path) -> bool:
    """Some running process holds the lock of the folder at ``path``."""
    lock = path / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def stale_entries(layout: Layout) -> list[Path]:
    """Staging folders and temp files that no running process owns."""
    root = layout.staging_dir
    if not root.is_dir():
        return []
    out = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(SWEPT_PREFIXES) and entry.is_dir() and not is_held(entry):
            out.append(entry)
        elif entry.name.endswith(TMP_SUFFIX) and entry.is_file():
            out.append(entry)
    return out


def sweep(layout: Layout) -> list[Path]:
    removed = []
    for entry in stale_entries(layout):
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
