"""From plan entries to the library files behind them, refusing anything unsafe.

A plan is trusted to be what the materializer would write, but names in maps
and metadata come from users and downloads: a path with ``..``, an absolute
source, or a source that resolves (through a symlink) outside the library is
dropped here, so nothing outside the library can ever be reached through a
view.  The stat taken here gives each entry an identity (device, inode): a
library file replaced under the same name is a new file for the view.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass

from pumasfs.base.relpath import is_safe_relpath
from pumasfs.planning.plan import Plan, PlanEntry

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 255


@dataclass(frozen=True, slots=True)
class Backing:
    """The library file (or folder) an entry shows, as it was when last looked at."""

    path: str  # absolute, under the library's real models dir
    dev: int
    ino: int
    size: int
    mtime_ns: int
    is_dir: bool
    nlink: int = 1

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> Backing:
        return cls(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, stat.S_ISDIR(st.st_mode), st.st_nlink)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A plan entry with its library path; ``backing`` is None when the library file is missing."""

    entry: PlanEntry
    target: str  # absolute path of the library file, what a preview symlink points to
    backing: Backing | None


def safe_relpath(path: str) -> bool:
    """A relative posix path made only of ordinary names (no '', '.', '..', NUL, overlong parts)."""
    if not is_safe_relpath(path):
        return False
    # A name of at most MAX_NAME_BYTES // 4 characters fits in any encoding: encode only when
    # a name is longer (rare; this runs twice per entry of a plan).
    parts = path.split("/")
    if max(map(len, parts)) <= MAX_NAME_BYTES // 4:
        return True
    return all(len(os.fsencode(part)) <= MAX_NAME_BYTES for part in parts)


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _RealDirs:
    """Real paths of library folders, each found once per plan (``os.path.realpath`` would
    ``lstat`` every component of every entry again: 100,000 entries, ~8 calls each)."""

    def __init__(self, models_root: str) -> None:
        self.models_root = models_root
        self._real: dict[str, str] = {models_root: models_root}

    def real(self, folder: str) -> str:
        found = self._real.get(folder)
        if found is None:
            head, _, name = folder.rpartition("/")
            found = f"{self.real(head) if head else ''}/{name}" if head != folder else folder
            try:
                if stat.S_ISLNK(os.lstat(found).st_mode):
                    found = os.path.realpath(found)
            except OSError:
                found = os.path.realpath(found)  # missing: resolved as far as it exists
            self._real[folder] = found
        return found


def resolve_entry(path: str, entry: PlanEntry, models_root: str, dirs: _RealDirs | None = None) -> Resolved | None:
    """The library side of one entry, or None when the entry must not be shown.

    ``models_root`` is the real path of the library's models dir.
    """
    if not safe_relpath(path) or not safe_relpath(entry.source):
        log.warning("refusing unsafe plan entry %r -> %r", path, entry.source)
        return None
    target = os.path.join(models_root, entry.source)
    head, _, name = target.rpartition("/")
    real = f"{(dirs or _RealDirs(models_root)).real(head)}/{name}"
    st: os.stat_result | None
    try:
        st = os.lstat(real)
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(real)
            st = os.stat(real)
    except OSError:
        st = None
    if not within(real, models_root) or real == models_root:
        log.warning("refusing plan entry %r: %r resolves outside the library", path, entry.source)
        return None
    if st is None:
        return Resolved(entry, target, None)  # shown (the plan has it) but cannot be opened
    # One string for both when no symlink is in the way (the usual case): a view keeps both.
    return Resolved(entry, target, Backing.of(target if real == target else real, st))


def resolve_plan(plan: Plan, models_root: str) -> dict[str, Resolved]:
    out: dict[str, Resolved] = {}
    dirs = _RealDirs(models_root)
    for path, entry in plan.entries.items():
        r = resolve_entry(path, entry, models_root, dirs)
        if r is not None:
            out[path] = r
    return out


def stat_child(parent: Backing, name: str, models_root: str) -> Backing | None:
    """One name inside a library folder shown as a directory (content mode, folder models).

    Symlinks are followed only while they stay inside the library.
    """
    if name in (".", "..") or "/" in name or "\0" in name:
        return None
    path = os.path.join(parent.path, name)
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            path = os.path.realpath(path)
            if not within(path, models_root):
                return None
            st = os.stat(path)
    except OSError:
        return None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return None
    return Backing.of(path, st)


def list_children(parent: Backing, models_root: str) -> list[str]:
    """Names inside a library folder that ``stat_child`` would show, sorted."""
    try:
        names = sorted(e.name for e in os.scandir(parent.path))
    except OSError:
        return []
    return [n for n in names if stat_child(parent, n, models_root) is not None]
