"""Files some process holds open for writing (a download in progress): adoption leaves them alone.

Read from ``/proc/<pid>/fdinfo/<fd>`` (``flags:`` in octal; O_WRONLY or
O_RDWR means writing) and the ``/proc/<pid>/fd/<fd>`` link's target, once
per run.  Processes we may not look into are skipped: the size/mtime check
before each swap still catches a file that changes.
"""

from __future__ import annotations

import os

_ACCESS = 0o3  # O_ACCMODE


def open_for_writing() -> set[tuple[int, int]]:
    """(st_dev, st_ino) of every regular file open for writing by any process we can see."""
    out: set[tuple[int, int]] = set()
    me = os.getpid()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    except OSError:
        return out
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as f:
                    info = f.read(256)
            except OSError:
                continue
            flags = next((line.split()[1] for line in info.splitlines() if line.startswith(b"flags:")), None)
            if flags is None or int(flags, 8) & _ACCESS == 0:
                continue
            try:
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            out.add((st.st_dev, st.st_ino))
    return out
