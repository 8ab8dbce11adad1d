"""Staging folders under ``.downloads/``: where imports are built before they exist.

Each import works in its own ``import-*`` folder, on the library's filesystem,
and holds an exclusive ``flock`` on it for as long as it runs.  Whatever is in
a folder nobody holds a lock on was left by a killed process: it was never
visible as a model, and :func:`sweep` removes it.  Deleted models pass through
``trash-*`` folders so that removal is one rename, and a crash half-way
through deleting leaves nothing that looks like a model.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from pathlib import Path

from .atomic import TMP_SUFFIX
from .paths import Layout

LOCK_NAME = ".pumas-lock"
SWEPT_PREFIXES = ("import-", "trash-")


class StagingDir:
    """A locked, private folder under ``.downloads/``; removed on exit unless committed."""

    def __init__(self, layout: Layout, prefix: str = "import-") -> None:
        layout.staging_dir.mkdir(parents=True, exist_ok=True)
        self.path = layout.staging_dir / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        self.path.mkdir()
        self._lock_fd = os.open(self.path / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.committed = False

    @property
    def content(self) -> Path:
        """The folder that becomes the model folder (the lock file stays outside it)."""
        p = self.path / "model"
        p.mkdir(exist_ok=True)
        return p

    def close(self) -> None:
        if self._lock_fd >= 0:
            if not self.committed:
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                (self.path / LOCK_NAME).unlink(missing_ok=True)
                try:
                    self.path.rmdir()
                except OSError:
                    shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> StagingDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_held(path: Path) -> bool:
    lock = path / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
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
        if entry.name.startswith(SWEPT_PREFIXES) and entry.is_dir() and not _is_held(entry):
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
