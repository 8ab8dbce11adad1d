"""Real FUSE mounts for the view tests, always unmounted in teardown.

``view`` serves a hand-built plan (tests/view/planfile.py) through the same
``serve`` the CLI runs, in a subprocess so a bug cannot hang the test
process; ``cli_mounts`` tracks mountpoints made through the real CLI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.view.planfile import write_plan

REPO = Path(__file__).resolve().parents[2]


def fuse_skip_reason() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing: no FUSE on this machine, views cannot be mounted"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return f"/dev/fuse cannot be opened ({e.strerror}): views cannot be mounted"
    return None


@pytest.fixture(autouse=True)
def _need_fuse(request):
    if request.node.get_closest_marker("nofuse") is None and (reason := fuse_skip_reason()):
        pytest.skip(reason)


def pytest_configure(config):
    config.addinivalue_line("markers", "nofuse: runs without /dev/fuse")


def is_mounted(mp: Path | str) -> bool:
    mp = os.path.abspath(mp)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[4] == mp and right.startswith("fuse.pumasfs"):
                return True
    return False


def force_unmount(mp: Path | str) -> None:
    if is_mounted(mp):
        subprocess.run(["fusermount3", "-uz", str(mp)], check=False, capture_output=True)


def wait_for(pred, timeout: float = 15.0, what: str = "condition"):
    """Poll until ``pred()`` is truthy; the bound is generous (a shared, noisy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class View:
    mountpoint: Path
    plan_file: Path
    models_dir: Path
    proc: subprocess.Popen
    app: str = "testapp"
    entries: dict[str, tuple[str, str, bool]] = field(default_factory=dict)

    def set_plan(self, entries: dict[str, tuple[str, str, bool]]) -> None:
        self.entries = dict(entries)
        write_plan(self.plan_file, self.app, self.models_dir, self.entries)

    def stats(self) -> dict:
        return json.loads(os.getxattr(self.mountpoint, "user.pumas.stats"))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def view(tmp_path: Path):
    """``view(entries, models_dir, content=False)`` -> a mounted View of that hand-built plan."""
    made: list[View] = []

    def start(entries: dict[str, tuple[str, str, bool]], models_dir: Path, *, content: bool = False) -> View:
        n = len(made)
        mp = tmp_path / f"mnt{n}"
        mp.mkdir()
        plan_file = tmp_path / f"plan{n}.json"
        write_plan(plan_file, "testapp", models_dir, entries)
        args = [sys.executable, "-m", "tests.view.planfile", str(plan_file), str(mp)]
        if content:
            args.append("--content")
        with open(tmp_path / f"view{n}.log", "w") as log:  # the child keeps its own copy
            proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        v = View(mp, plan_file, models_dir, proc, entries=dict(entries))
        made.append(v)
        line = proc.stdout.readline()  # "ready", or EOF when the daemon failed
        if line.strip() != "ready":
            proc.wait(10)
            raise AssertionError(f"view did not start: {(tmp_path / f'view{n}.log').read_text()}")
        assert is_mounted(mp)
        return v

    yield start
    for v in made:
        v.stop()
        force_unmount(v.mountpoint)
        assert not is_mounted(v.mountpoint)


@pytest.fixture
def cli_mounts():
    """Mountpoints a test mounted through the CLI: unmounted (and daemons killed) in teardown."""
    points: list[Path] = []
    yield points
    for mp in points:
        if is_mounted(mp):
            subprocess.run(["fusermount3", "-u", str(mp)], check=False, capture_output=True)
            time.sleep(0.2)
        force_unmount(mp)
        assert not is_mounted(mp)


def make_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
