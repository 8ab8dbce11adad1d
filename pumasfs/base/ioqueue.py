"""How many file copies to run at once, from the kind of drive each end is on.

A spinning disk that serves two streams at once seeks between them and gets
slower than serving them one after the other; an SSD (or memory) gains from a
little parallelism.  So: at most 2 concurrent file operations when source and
library are both on solid-state (or memory-backed) storage, 1 when either is
on a rotational disk or on something we cannot identify (network shares and
FUSE drives are usually best served sequentially).

The drive behind a path is found from its ``st_dev``: ``/sys/dev/block/M:m``
names the block device; a partition defers to its disk, and a stacked device
(device-mapper, md RAID, ...) to the devices under ``slaves/`` (rotational if
any of them is).  Filesystems without a block device (btrfs subvolumes, ...)
are matched through ``/proc/self/mountinfo``; memory filesystems count as SSD.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pumasfs.base import mountinfo
from pumasfs.base.mountinfo import MountEntry

SSD_CONCURRENCY = 2
HDD_CONCURRENCY = 1

MEMORY_FS = frozenset({"tmpfs", "ramfs", "devtmpfs", "hugetlbfs"})
# Layered filesystems whose speed is their lower layer's; we cannot see it cheaply,
# and in practice they sit on the machine's system disk (containers).
LAYERED_FS = frozenset({"overlay", "overlayfs", "aufs"})

SYS_DEV_BLOCK = Path("/sys/dev/block")
SYS_CLASS_BLOCK = Path("/sys/class/block")
MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class Drive:
    """What we know about the storage under a path."""

    kind: str  # "ssd" | "hdd" | "memory" | "unknown"
    device: str | None  # block device name (e.g. "nvme0n1", "sda"), when there is one
    fstype: str | None

    @property
    def rotational(self) -> bool:
        """Whether to treat it as a seeking disk (unknown storage is, to be safe)."""
        return self.kind in ("hdd", "unknown")


def _mount_of(path: Path, dev: int) -> MountEntry | None:
    """The mount holding ``path``: by device number, else by longest mount-point prefix."""
    mounts = mountinfo.read(MOUNTINFO)
    key = f"{os.major(dev)}:{os.minor(dev)}"
    by_dev = [m for m in mounts if m.device == key]
    if by_dev:
        return by_dev[-1]  # the last one mounted is the one visible
    real = os.path.realpath(path)
    best: MountEntry | None = None
    for m in mounts:
        mp = m.mountpoint.rstrip("/") or "/"
        inside = real == mp or real.startswith(mp + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mountpoint.rstrip("/") or "/")):
            best = m
    return best


def _block_dir_for_name(name: str) -> Path | None:
    p = SYS_CLASS_BLOCK / name
    return p.resolve() if p.exists() else None


def _rotational(block: Path, depth: int = 0) -> bool | None:
    """True/False for a block device's sysfs folder; None when it cannot be told."""
    if depth > 8:
        return None
    if (block / "partition").exists():
        block = block.parent  # a partition's queue settings are its disk's
    slaves_dir = block / "slaves"
    try:
        slaves = sorted(slaves_dir.iterdir()) if slaves_dir.is_dir() else []
    except OSError:
        slaves = []
    if slaves:
        # device-mapper, md, bcache...: as slow as the slowest device under it.
        answers = [_rotational(s.resolve(), depth + 1) for s in slaves]
        if any(a is True for a in answers):
            return True
        if answers and all(a is False for a in answers):
            return False
        return None
    try:
        return (block / "queue" / "rotational").read_text().strip() == "1"
    except OSError:
        return None


def drive_of(path: Path) -> Drive:
    """The drive under ``path`` (an existing file or folder, or the nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.stat(p)
    except OSError:
        return Drive("unknown", None, None)
    mount = _mount_of(p, st.st_dev)
    fstype = mount.fstype if mount else None
    if fstype in MEMORY_FS:
        return Drive("memory", None, fstype)

    block = None
    sys_dev = SYS_DEV_BLOCK / f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    if os.major(st.st_dev) != 0 and sys_dev.exists():
        block = sys_dev.resolve()
    elif mount is not None and mount.source.startswith("/dev/"):
        # btrfs and friends report an anonymous st_dev; the mount's source names the device.
        block = _block_dir_for_name(os.path.basename(os.path.realpath(mount.source)))
    if block is None:
        if fstype in LAYERED_FS:
            return Drive("ssd", None, fstype)
        return Drive("unknown", None, fstype)
    rot = _rotational(block)
    name = block.name
    if rot is None:
        return Drive("unknown", name, fstype)
    return Drive("hdd" if rot else "ssd", name, fstype)


def concurrency_for(paths: Iterable[Path]) -> int:
    """How many file operations may run at once when reading and writing these paths."""
    seen: set[int] = set()
    for path in paths:
        try:
            dev = os.stat(path).st_dev
        except OSError:
            dev = None
        if dev is not None:
            if dev in seen:
                continue
            seen.add(dev)
        if drive_of(path).rotational:
            return HDD_CONCURRENCY
    return SSD_CONCURRENCY


def executor_for(paths: Iterable[Path], jobs: int) -> ThreadPoolExecutor:
    """A thread pool no wider than the drives allow (nor than the number of jobs)."""
    return ThreadPoolExecutor(max_workers=max(1, min(jobs, concurrency_for(paths))), thread_name_prefix="pumas-import")
