"""Real processes killed at a chosen moment (SIGKILL, as a crash or a power cut would)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], *, timeout: float = 120,
              poll: float = 0.0005, what: str = "the moment to kill") -> bool:
    """SIGKILL ``proc`` as soon as ``ready()``: True; False if it ended first.

    Polls every ``poll`` seconds (by default half a millisecond: a kill must land inside
    short windows).  The test fails if neither happens within ``timeout``; the process
    never outlives the call.
    """
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if ready():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(poll)
        raise AssertionError(f"{what} never came within {timeout:g} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
