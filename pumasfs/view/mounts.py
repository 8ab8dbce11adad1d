"""Which views are mounted: daemon records in the run dir, checked against the kernel.

A record (``run/views/<hash>.json``) says who serves a mountpoint; the
kernel's mount table (``/proc/self/mountinfo``, fstype ``fuse.pumasfs``)
says what is really mounted.  A mount whose daemon died answers every access
with "transport endpoint is not connected": that is a *stale* view, which
``pumas umount`` and ``pumas mount`` clean up with a lazy unmount.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from pumasfs.base import atomic, mountinfo
from pumasfs.base.errors import PumasError
from pumasfs.base.mountinfo import MountEntry
from pumasfs.base.paths import Layout
from pumasfs.store.metadata import utcnow
from pumasfs.store.naming import short_hash

FSTYPE = "fuse.pumasfs"
FSNAME = "pumasfs"

State = Literal["active", "stale", "unmounted"]


class MountRecord(BaseModel):
    """run/views/<hash>.json, written by a view's daemon once it serves."""

    pid: int
    mountpoint: str
    app: str
    mode: Literal["preview", "content"]
    root: str
    started: str = ""
    log: str | None = None
    allow_other: bool = False


def records_dir(layout: Layout) -> Path:
    return layout.run_dir / "views"


def record_path(layout: Layout, mountpoint: str) -> Path:
    return records_dir(layout) / f"{short_hash(mountpoint, 16)}.json"


def write_record(layout: Layout, rec: MountRecord) -> Path:
    path = record_path(layout, rec.mountpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not rec.started:
        rec.started = utcnow()
    atomic.write_bytes(path, (rec.model_dump_json(indent=2) + "\n").encode())
    return path


def read_record(path: Path) -> MountRecord | None:
    try:
        return MountRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def remove_record(layout: Layout, mountpoint: str, pid: int | None = None) -> None:
    """Remove the record, but only our own when ``pid`` is given (a newer daemon may own it)."""
    path = record_path(layout, mountpoint)
    if pid is not None:
        rec = read_record(path)
        if rec is not None and rec.pid != pid:
            return
    path.unlink(missing_ok=True)


def all_records(layout: Layout) -> list[MountRecord]:
    try:
        paths = sorted(records_dir(layout).glob("*.json"))
    except OSError:
        return []
    return [r for r in (read_record(p) for p in paths) if r is not None]


# -- the kernel's view -------------------------------------------------------


def kernel_mounts(path: str = "/proc/self/mountinfo") -> list[MountEntry]:
    return mountinfo.read(Path(path))


def view_mounts() -> dict[str, MountEntry]:
    """pumasfs mounts by mountpoint (the last one wins when stacked)."""
    return {m.mountpoint: m for m in kernel_mounts() if m.fstype == FSTYPE}


def is_stale(mountpoint: str) -> bool:
    """True when the view's daemon is gone (the kernel answers ENOTCONN)."""
    try:
        os.stat(mountpoint)
    except OSError as e:
        return e.errno == errno.ENOTCONN
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie is dead for our purposes.
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def fuse_unmount(mountpoint: str, *, lazy: bool = False) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool is None:
        raise PumasError("fusermount3 is not installed (package fuse3)")
    res = subprocess.run([tool, "-uz" if lazy else "-u", mountpoint], check=False, capture_output=True, text=True)
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip().splitlines()
        detail = msg[-1] if msg else f"exit status {res.returncode}"
        if "busy" in detail.lower():
            raise PumasError(f"{mountpoint} is busy (an app still uses it); close it, or `pumas umount --lazy`")
        raise PumasError(f"cannot unmount {mountpoint}: {detail}")


def state_of(mountpoint: str, rec: MountRecord | None, mounted: dict[str, MountEntry]) -> State:
    if mountpoint not in mounted:
        return "unmounted"
    if rec is not None and not pid_alive(rec.pid):
        return "stale"
    return "stale" if is_stale(mountpoint) else "active"


# -- listing -------------------------------------------------------------------


class ViewInfo(BaseModel):
    """One mounted view as `pumas mounts` shows it; ``root`` is None for a view no known library recorded."""

    mountpoint: str
    app: str | None
    mode: str | None
    pid: int | None
    state: State
    started: str | None
    root: str | None
    log: str | None


class ViewListing(BaseModel):
    """The views of one library root, and how many views of other roots (or of none known) are mounted."""

    root: str
    views: list[ViewInfo]
    others: int = 0  # views of other roots left out (all of them listed with ``all_roots``)


def _info(rec: MountRecord, state: State) -> ViewInfo:
    return ViewInfo(mountpoint=rec.mountpoint, app=rec.app, mode=rec.mode, pid=rec.pid, state=state,
                    started=rec.started, root=rec.root, log=rec.log)


def _live_records(layout: Layout, mounted: dict[str, MountEntry], *, tidy: bool) -> list[ViewInfo]:
    """A root's recorded views with their state; a crashed daemon's leftover record is skipped (removed if ``tidy``)."""
    out = []
    for rec in all_records(layout):
        state = state_of(rec.mountpoint, rec, mounted)
        if state == "unmounted" and not pid_alive(rec.pid):
            if tidy:
                remove_record(layout, rec.mountpoint, rec.pid)
            continue
        out.append(_info(rec, state))
    return out


def list_views(layout: Layout, *, all_roots: bool = False, known_roots: list[Path] | None = None) -> ViewListing:
    """The views of ``layout``'s root; with ``all_roots``, every pumasfs view mounted on this machine.

    The kernel's mount table says which views are mounted, each root's records
    (``run/views/``) whose they are.  Other roots are found among the libraries
    this user has opened (``known_roots``, by default the remembered list); a view
    none of them recorded is shown without an app or root.  Only this root's
    stale records are tidied: another library's run dir is only read.
    """
    from pumasfs.store.libmarker import known_roots as remembered

    mounted = view_mounts()
    mine = _live_records(layout, mounted, tidy=True)
    here = {v.mountpoint for v in mine}
    other: list[ViewInfo] = []
    seen = set(here)
    root = layout.root.absolute()
    for r in known_roots if known_roots is not None else remembered():
        if r.absolute() == root:
            continue
        for v in _live_records(Layout(r), mounted, tidy=False):
            if v.mountpoint in mounted and v.mountpoint not in seen:
                seen.add(v.mountpoint)
                other.append(v)
    unknown = [ViewInfo(mountpoint=mp, app=None, mode=None, pid=None, state="stale" if is_stale(mp) else "active",
                        started=None, root=None, log=None)
               for mp in sorted(set(mounted) - seen)]
    others = sorted(other, key=lambda v: v.mountpoint) + unknown
    if all_roots:
        return ViewListing(root=str(root), views=mine + others, others=0)
    return ViewListing(root=str(root), views=mine, others=len(others))
