"""Named kill points for crash tests.

Some crash windows are a few microseconds wide (between a rename and the
index row that follows it); a test cannot hit them by timing a SIGKILL from
outside.  Instead the code calls :func:`kill_point` at each such step, and a
test sets ``PUMAS_TEST_KILL_AT=<step name>`` so that the process kills itself
there with a real SIGKILL: no cleanup, no ``finally``, exactly like a power
cut for everything above the kernel.  Unset, it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "PUMAS_TEST_KILL_AT"


def kill_point(name: str) -> None:
    """Die here, now, by SIGKILL, when the test asked for this step (comma-separated names)."""
    wanted = os.environ.get(ENV)
    if wanted and name in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
