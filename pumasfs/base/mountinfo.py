"""The kernel's mount table, parsed once for everyone who needs it.

Link strategies (which filesystem), the I/O queue (which drive) and the FUSE
view (which views are mounted) all read ``/proc/self/mountinfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class MountEntry:
    mountpoint: str
    device: str  # "major:minor"
    fstype: str  # as the kernel says: fuseblk for ntfs-3g on a block device, fuse.pumasfs for our views
    source: str


def unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as ``\\ooo`` octal."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse(text: str) -> list[MountEntry]:
    """Entries in mount order (a later entry at the same point shadows an earlier one)."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        a, b = left.split(), right.split()
        if len(a) < 5 or len(b) < 2:
            continue
        out.append(MountEntry(mountpoint=unescape(a[4]), device=a[2], fstype=b[0], source=unescape(b[1])))
    return out


def read(path: Path = MOUNTINFO) -> list[MountEntry]:
    try:
        return parse(Path(path).read_text())
    except OSError:
        return []
