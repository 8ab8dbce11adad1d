"""The one flock-held work folder (staging.LockedDir), as imports and downloads use it.

A real child process holds the lock, as a running `pumas import` or `pumas download` would; what the
sweeps remove is decided by that lock, and a download folder is kept for resuming when let go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.hub.cache import HubFile
from pumasfs.hub.work_folder import STALE_WORK_S, WorkDir, sweep_stale
from pumasfs.store.staging import LOCK_NAME, StagingDir, is_held, stale_entries

_HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held_by_another_process(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder / LOCK_NAME)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield
    finally:
        child.kill()
        child.wait()


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_download_folder_held_elsewhere_refuses_a_second_download(root: Path) -> None:
    layout = Layout(root)
    work = WorkDir(layout, "org/model", "a" * 40)
    with held_by_another_process(work.path):
        with pytest.raises(PumasError, match="already fetching"):
            work.open()
        assert not work.locked and is_held(work.path)
    work.open()  # the other process died: its lock went with it
    assert work.locked and is_held(work.path)  # held now: by us


def test_an_interrupted_download_keeps_its_parts_and_a_finished_one_leaves_nothing(root: Path) -> None:
    layout = Layout(root)
    f = HubFile(path="unet/model.safetensors", size=3, sha256="b" * 64)
    work = WorkDir(layout, "org/model", "c" * 40).open()
    work.part(f).write_bytes(b"ab")
    work.unlock()  # interrupted: the next run resumes from here
    again = WorkDir(layout, "org/model", "c" * 40).open()
    assert again.part(f).read_bytes() == b"ab"
    again.remove()
    assert not (layout.staging_dir / "hub").exists()


def test_the_stale_sweep_goes_by_the_lock_and_the_age(root: Path) -> None:
    layout = Layout(root)
    old_free = WorkDir(layout, "org/a", "1" * 40).open()
    old_free.unlock()
    old_held = WorkDir(layout, "org/b", "2" * 40)
    young_free = WorkDir(layout, "org/c", "3" * 40).open()
    young_free.unlock()
    with held_by_another_process(old_held.path):
        _age(old_free.path, STALE_WORK_S + 60)
        _age(old_held.path, STALE_WORK_S + 60)
        assert sweep_stale(layout) == [old_free.path]
        assert old_held.path.is_dir() and young_free.path.is_dir()


def test_an_import_staging_folder_is_the_same_locked_folder(root: Path) -> None:
    layout = Layout(root)
    stage = StagingDir(layout)
    assert stage.locked and is_held(stage.path)  # flock is per open file: our own lock counts
    with held_by_another_process(layout.staging_dir / "import-1-held"):
        assert stale_entries(layout) == []  # ours is held by us, the other by its process
    stage.close()
    assert not stage.path.exists()
