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

from .. import atomic, mountinfo
from ..errors import PumasError
from ..metadata import utcnow
from ..mountinfo import MountEntry
from ..naming import short_hash
from ..paths import Layout

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
