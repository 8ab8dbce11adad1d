"""Intents: what a multi-step change of the library is about to do, written before it starts.

A commit is a rename then an index row; a removal is unlinking, a rename
into the trash, then dropping the row; an identity edit is a rename then
two rows.  A process killed between the steps would leave the folders and
models.db disagreeing (a model on disk but not listed, and imported a second
time; a model listed whose folder is in the trash).  So before its first
step each change writes one small file in ``models/.journal/`` and holds an
exclusive ``flock`` on it until its last step is done and the file deleted.

Whoever opens the library next finds the files nobody holds a lock on (their
writer died) and finishes those changes (:meth:`Library.recover`).  That is
one directory listing at every start, not a scan of the library.

A batch (adoption commits thousands of models per filesystem sync) writes
one intent for all of them, ``commit-batch`` with every model id, instead of
one file, fsync and lock per model, and is finished the same way, model by
model.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from pumasfs.base.atomic import fsync_dir
from pumasfs.base.paths import JOURNAL_DIR as JOURNAL_DIR

SUFFIX = ".intent"


class Intent(BaseModel):
    """One change in flight.  ``model_id`` is where the model ends up (or is removed from)."""

    op: Literal["commit", "commit-batch", "update", "remove", "move"]
    model_id: str = ""  # (commit-batch: empty; its models are in model_ids)
    old_id: str | None = None  # move: where the folder was
    trash_id: str | None = None  # remove: the trash item it goes to
    model_ids: list[str] = []  # commit-batch: every model the batch renames into place

    @classmethod
    def batch(cls, model_ids: list[str]) -> Intent:
        return cls(op="commit-batch", model_ids=model_ids)

    def touched(self) -> list[str]:
        """The models this change is about."""
        return list(self.model_ids) if self.op == "commit-batch" else [self.model_id]


class Held:
    """An intent on disk with its lock held by this process; :meth:`done` deletes it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    def done(self) -> None:
        if self._fd < 0:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1

    def release(self) -> None:
        """Give up without finishing: the intent stays for the next process to complete."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        # An exception (not a kill) means the change was abandoned or finished by its caller:
        # either way nothing is left for a later process to complete.
        self.done()


def journal_dir(models_dir: Path) -> Path:
    return models_dir / JOURNAL_DIR


def begin(models_dir: Path, intent: Intent) -> Held:
    """Write ``intent`` durably, locked before it gets its final name (no one can take it for dead)."""
    d = journal_dir(models_dir)
    d.mkdir(exist_ok=True)
    name = f"{intent.op}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp = d / f".{name}.tmp"
    final = d / f"{name}{SUFFIX}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, intent.model_dump_json().encode())
        os.fsync(fd)
        os.rename(tmp, final)
        fsync_dir(d)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return Held(final, fd)


def orphans(models_dir: Path) -> list[tuple[Path, Intent | None, int]]:
    """Intents whose writer is gone: (path, intent or None if unreadable, fd holding its lock now)."""
    d = journal_dir(models_dir)
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return []
    out: list[tuple[Path, Intent | None, int]] = []
    for name in names:
        path = d / name
        if name.startswith(".") and name.endswith(".tmp"):
            # Killed before the rename: the change never started.
            _drop_if_free(path)
            continue
        if not name.endswith(SUFFIX):
            continue
        fd = _take_if_free(path)
        if fd is None:
            continue  # gone, or its writer is alive and working
        try:
            with open(path, "rb") as f:
                intent: Intent | None = Intent.model_validate(json.loads(f.read() or b"null"))
        except (ValueError, ValidationError, OSError):
            intent = None
        out.append((path, intent, fd))
    return out


def _take_if_free(path: Path) -> int | None:
    """An fd holding ``path``'s lock, or None when the file is gone or its writer still holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _drop_if_free(path: Path) -> None:
    fd = _take_if_free(path)
    if fd is not None:
        finish(path, fd)


def finish(path: Path, fd: int) -> None:
    path.unlink(missing_ok=True)
    os.close(fd)
