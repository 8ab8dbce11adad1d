"""A daemon that reads requests eagerly (contrib/pyfuse3-cache.patch's ``eager_receive``) still
lets its other tasks run: plan changes are applied and signals end it while a client keeps it busy.

The patched loop takes the next queued request without yielding to trio; it must yield every few
requests and whenever nothing is queued, or the watcher (live.py) and the signal handler starve.
With a stock pyfuse3 the loop is pyfuse3's own and the same behaviour is required.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fuseperf.test_kernel_cache import library
from tests.view.conftest import is_mounted, make_file, wait_for

FLOOD = """
import os, sys
path, stop = sys.argv[1], sys.argv[2]
n = 0
while not os.path.exists(stop):
    os.getxattr(path, "user.pumas.model_id")
    n += 1
print(n)
"""


class Flood:
    """Processes asking the daemon, as fast as they can, something the kernel never caches (an
    extended attribute): its request queue is hardly ever empty, so an eager loop that yields
    only when the queue is empty would never yield."""

    def __init__(self, path: Path, stop: Path, procs: int = 4) -> None:
        self.path, self.stop = path, stop
        self.procs = [subprocess.Popen([sys.executable, "-c", FLOOD, str(path), str(stop)], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True) for _ in range(procs)]
        self.counts: list[int] = []
        self.errors: list[str] = []

    def __enter__(self) -> Flood:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.touch()
        for p in self.procs:
            try:
                out, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            if p.returncode == 0:
                self.counts.append(int(out))
            else:
                self.errors.append(err.strip().splitlines()[-1] if err.strip() else f"exit {p.returncode}")


def test_plan_changes_apply_while_requests_keep_coming(view, tmp_path):
    lib, plan = library(tmp_path, 20)
    v = view(plan, lib, content=True)
    make_file(lib / "diffusion/sd1/new/new.safetensors", b"new")
    new = v.mountpoint / "loras/new.safetensors"
    with Flood(v.mountpoint / "loras/m0.safetensors", tmp_path / "stop") as flood:
        time.sleep(0.5)  # under way
        v.set_plan({**plan, "loras/new.safetensors": ("diffusion/sd1/new", "diffusion/sd1/new/new.safetensors", False)})
        wait_for(new.exists, timeout=10, what="the watcher to apply a plan change under load")
    assert not flood.errors, flood.errors
    assert sum(flood.counts) > 1000, flood.counts  # the flood really kept the daemon busy meanwhile
    assert new.read_bytes() == b"new"


def test_sigterm_unmounts_while_requests_keep_coming(view, tmp_path):
    lib, plan = library(tmp_path, 5)
    v = view(plan, lib, content=True)
    with Flood(v.mountpoint / "loras/m1.safetensors", tmp_path / "stop"):
        time.sleep(0.5)
        t = time.monotonic()
        code = v.stop(signal.SIGTERM, timeout=15)
        took = time.monotonic() - t
    assert code == 0
    assert took < 10, took
    assert not is_mounted(v.mountpoint)


def test_stats_say_which_pyfuse3_serves(view, tmp_path):
    lib, plan = library(tmp_path, 1)
    stats = view(plan, lib).stats()
    from pumasfs.view.fs import EAGER_RECEIVE, KERNEL_CACHES

    assert stats["eager_receive"] is EAGER_RECEIVE
    assert stats["kernel_caches"] is KERNEL_CACHES
