"""Giving memory a long-lived process no longer uses back to the operating system.

CPython frees an arena of small objects only when every object in it is gone,
and glibc keeps freed heap pages unless asked (``malloc_trim``).  A process
that builds a large temporary structure once and then runs for days (the FUSE
view's daemon after its first plan) keeps that peak resident unless it asks.
"""

from __future__ import annotations

import ctypes
import gc


def release_free_memory() -> None:
    """Collect what is unreachable, then ask the C allocator to return free pages (glibc only)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to ask
