"""A warning for benchmark folders on a filesystem that makes file creation erratic.

On ext4 *without a journal* (this development VM's root disk), the kernel will not reuse an inode
freed in the last minute, or the last six while its inode table block is still dirty
(``recently_deleted()`` in ``fs/ext4/ialloc.c``, checked only when there is no journal).  After a
run that deleted tens of thousands of files, every new file walks past them: ``perf`` showed
``find_inode_bit -> recently_deleted -> find_get_block_common`` as 80% of a 10,000-symlink loop that
took 4-6 s of system time instead of 0.19 s.  Floors and pumas then pay erratic, unequal amounts,
and ratios mean nothing.  A journaled ext4 (every distribution's default) has no such check: the same
loop took 0.19-0.20 s run after run on a loop-mounted journaled image on the same disk.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pumasfs.base import mountinfo


def journal_less_ext4(path: Path) -> str | None:
    """The device of ``path``'s filesystem when it is ext4 without a journal, else None."""
    real = os.path.realpath(path)
    mounts = [m for m in mountinfo.read() if real == m.mountpoint or real.startswith(m.mountpoint.rstrip("/") + "/")]
    if not mounts:
        return None
    m = max(mounts, key=lambda m: len(m.mountpoint))
    if m.fstype != "ext4":
        return None
    name = os.path.basename(m.source)
    try:
        journals = os.listdir("/proc/fs/jbd2")  # one "<device>-<inode>" entry per journal in use
    except OSError:
        journals = []
    return None if any(j.rpartition("-")[0] == name for j in journals) else m.source


def warn_if_erratic(path: Path) -> None:
    """Say on stderr, before any figure, when ``path`` is where file creation is erratic."""
    device = journal_less_ext4(path)
    if device is not None:
        print(f"warning: {path} is on ext4 without a journal ({device}): file creation there slows down "
              "up to 20x for minutes after many files were deleted (see tests/benchmarks/benchdisk.py); "
              "for figures that mean something, pass --dir on a journaled filesystem", file=sys.stderr)
