"""Cross-process locks: an exclusive ``flock`` on a lock file, held for a ``with`` block.

Each lock serializes one read-modify-write between pumas processes: apps.json
edits, an import's duplicate check and commit, changes to app folders.  The
lock files live in folders we own and are never deleted (deleting one while
someone waits on it would let two holders in).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
