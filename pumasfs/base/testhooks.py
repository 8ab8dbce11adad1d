"""Named kill points for crash tests (the one mechanism every crash test uses).

Some crash windows are a few microseconds wide (between a rename and the
index row that follows it); a test cannot hit them by timing a SIGKILL from
outside.  Instead the code calls :func:`kill_point` at each such step, and a
test sets ``PUMAS_TEST_KILL_AT=<step name>`` so that the process kills itself
there with a real SIGKILL: no cleanup, no ``finally``, exactly like a power
cut for everything above the kernel.  Unset, it costs one dict lookup.

The value is a comma-separated list of ``step`` or ``step:n``; ``step:n``
(n digits; step names may themselves hold colons) dies on the n-th time this process reaches that step (a step inside a loop,
such as adoption's per-file swap, can then be hit in the middle of the run).
"""

from __future__ import annotations

import os
import signal

ENV = "PUMAS_TEST_KILL_AT"

_hits: dict[str, int] = {}


def kill_point(name: str) -> None:
    """Die here, now, by SIGKILL, when the test asked for this step (``step`` or ``step:n``, comma-separated)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    for item in wanted.split(","):
        step, _, nth = item.strip().rpartition(":")
        if not nth.isdigit():  # step names hold colons too ("commit:after-rename")
            step, nth = item.strip(), ""
        if step != name:
            continue
        count = _hits.get(name, 0) + 1
        _hits[name] = count
        if count >= int(nth or "1"):
            os.kill(os.getpid(), signal.SIGKILL)
        return
