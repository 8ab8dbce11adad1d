"""Which filesystem a path lives on, read from /proc/self/mountinfo.

The link strategy depends on it: one filesystem -> relative symlinks, NTFS
-> hardlinks (Windows cannot follow a Linux symlink on a dual-boot drive),
two filesystems -> absolute symlinks.  ntfs-3g shows up as ``fuse`` or
``fuseblk``, so for FUSE mounts we ask ``blkid`` what the source really is.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pumasfs.base import mountinfo

NTFS_TYPES = frozenset({"ntfs", "ntfs3"})
FUSE_TYPES = frozenset({"fuse", "fuseblk"})
# Filesystems on which neither symlinks nor hardlinks work (StabilityMatrix #148, #991).
NO_LINK_TYPES = frozenset({"vfat", "msdos", "exfat", "fat", "umsdos", "cifs", "smb3", "smbfs", "9p-noacl"})


@dataclass(frozen=True)
class Mount:
    mountpoint: str
    fstype: str  # as the kernel says (fuseblk for ntfs-3g on a block device)
    source: str

    @property
    def is_ntfs(self) -> bool:
        if self.fstype in NTFS_TYPES:
            return True
        return self.fstype.split(".")[0] in FUSE_TYPES and _blkid_type(self.source) == "ntfs"

    @property
    def kind(self) -> str:
        """The filesystem's real name for messages (``ntfs`` for ntfs-3g)."""
        return "ntfs" if self.is_ntfs else self.fstype

    @property
    def supports_links(self) -> bool:
        base = self.fstype.split(".")[0]
        if base in FUSE_TYPES:
            return _blkid_type(self.source) not in ("vfat", "exfat")
        return base not in NO_LINK_TYPES

    def describe(self) -> str:
        return f"{self.source} mounted at {self.mountpoint} ({self.kind})"


def parse_mountinfo(text: str) -> list[Mount]:
    return [Mount(mountpoint=e.mountpoint, fstype=e.fstype, source=e.source) for e in mountinfo.parse(text)]


def mounts() -> list[Mount]:
    # Reading is cheap, parsing a container's long table is not: parse each distinct text once.
    return _parsed(Path("/proc/self/mountinfo").read_text())


@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> list[Mount]:
    return parse_mountinfo(text)


def mount_of(path: str | os.PathLike[str], table: list[Mount] | None = None) -> Mount:
    """The mount holding ``path`` (real path, longest mount point wins; later mounts shadow earlier)."""
    real = os.path.realpath(path)
    best: Mount | None = None
    for m in table if table is not None else mounts():
        mp = m.mountpoint
        inside = real == mp or real.startswith(mp.rstrip("/") + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mountpoint)):
            best = m
    return best or Mount("/", "unknown", "unknown")


@functools.lru_cache(maxsize=64)
def _blkid_type(source: str) -> str | None:
    if not source.startswith("/"):
        return None
    try:
        p = subprocess.run(
            ["blkid", "-o", "value", "-s", "TYPE", source], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() or None
