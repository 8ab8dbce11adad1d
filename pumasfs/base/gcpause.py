"""Bulk reads without the cyclic garbage collector.

Reading a 100,000-model index or library builds hundreds of thousands of dicts, lists and
records that live until the read is over and hold no reference cycles.  The collector does
not know that: every few hundred new containers it walks the young ones, and as they pile up
it walks all of them again and again (`pumas list --json` of 100,000 models: 7 s of CPU, 3 s of
it in the collector; a full sync of 10,000 models decoded its index rows in 0.35-0.6 s with
the collector on and 0.09 s paused).  Plain reference counting frees everything these reads drop, so the
collector pauses while they run.  It is process-wide, so it is turned back on only by whoever
turned it off (nested or concurrent pauses leave it as the outermost found it).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
