"""The registry rows of a large apply are stored on a thread (``materializer/row_writer.py``).

A materialize of more links than one batch hands its rows to the writer
thread; these tests check that every row arrives, that the thread is gone when
the sync returns, and that a registry that cannot be written (a real full
tmpfs under registry.db) stops the apply half-way with one clear line, leaves
nothing the next sync cannot repair, and touches none of the user's files.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from materializer import api
from materializer.registry import close_shared
from materializer.row_writer import STEP
from pumasfs.store.library import Library
from tests.materializer.conftest import snapshot
from tests.materializer.helpers import assert_consistent, disk_links, registry_rows
from tests.materializer.test_crash import bulk_models
from tests.support import mounts
from tests.support.cli import Run, cli_env, pumas_argv, run_pumas

N = 2 * STEP + STEP // 2  # two whole batches on the thread, the rest in the final transaction


def test_every_row_of_a_large_materialize_is_stored(library: Library, app, comfy: Path):
    bulk_models(library, N)
    report = api.materialize(library.layout, library, app)
    assert len(report.created) == N and not report.errors
    assert_consistent(library, app)  # plan == registry == disk, link for link
    assert not [t for t in threading.enumerate() if t.name == "pumas-registry-rows"]


def test_a_full_registry_disk_stops_the_apply_and_the_next_sync_repairs(
        library: Library, app, comfy: Path, root: Path, tmp_path: Path):
    bulk_models(library, N)
    user = snapshot(comfy)
    db_dir = library.layout.registry_db.parent
    keep = tmp_path / "db-before"
    close_shared()
    shutil.copytree(db_dir, keep)  # what `app add` wrote there, to put back on the small drive
    env = cli_env(tmp_path / "home")
    with mounts.tmpfs(db_dir, "2m", before_unmount=close_shared):
        shutil.copytree(keep, db_dir, dirs_exist_ok=True)
        filler = db_dir / "filler"
        ckpt = comfy / "models/checkpoints"
        proc = subprocess.Popen(pumas_argv("materialize", "comfyui", root=root), env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The moment the first link exists, the drive under registry.db fills up: the rows of
        # the first batch (made a thousand links later) cannot be stored, on the writer thread.
        deadline = time.monotonic() + 60
        while not any(e.name.endswith(".safetensors") for e in os.scandir(ckpt)):
            assert proc.poll() is None and time.monotonic() < deadline, "materialize never began linking"
            time.sleep(0.0005)
        _fill(filler)
        out, err = proc.communicate(timeout=120)
        res = Run(proc.returncode, out, err)
        assert res.returncode != 0, res.stdout
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pumas: cannot change the library now: "), res.stderr
        assert "Traceback" not in res.stderr
        made = len(disk_links(comfy / "models"))
        assert 0 < made < N, f"the apply must stop half-way, not before or after the links ({made})"
        assert {k: v for k, v in snapshot(comfy).items() if v[0] != "link"} == user

        filler.unlink()  # ours: the space comes back
        run_pumas("sync", root=root, env=env)
        assert_consistent(library, app)
        assert {k: v for k, v in snapshot(comfy).items() if v[0] != "link"} == user
        close_shared()


def test_ctrl_c_mid_apply_records_the_queued_rows_and_says_so(
        library: Library, app, comfy: Path, root: Path, tmp_path: Path):
    """SIGINT while links are being made: the batches already handed to the writer are stored
    before the command ends (exit 130, one line: click says "aborted"), every stored row is a link on disk, and the
    next sync adopts the links made after the last batch."""
    bulk_models(library, N)
    user = snapshot(comfy)
    ckpt = comfy / "models/checkpoints"
    env = cli_env(tmp_path / "home")
    proc = subprocess.Popen(pumas_argv("materialize", "comfyui", root=root), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while sum(e.name.endswith(".safetensors") for e in os.scandir(ckpt)) <= STEP + STEP // 5:
        assert proc.poll() is None and time.monotonic() < deadline, "materialize never got past one batch"
        time.sleep(0.0005)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    made = disk_links(comfy / "models")
    if len(made) == N:  # the last links were made before the signal landed: nothing to check
        pytest.skip("the whole apply finished before SIGINT arrived (a very fast disk)")
    assert proc.returncode == 130 and err.strip() == "pumas: aborted", (proc.returncode, err, out)
    rows = registry_rows(library, app.name)
    assert len(rows) >= STEP, "the first batch was queued before the signal: it must be stored"
    base = comfy / "models"  # the plan's root: registry paths are relative to it
    for path, spec in rows.items():
        assert os.readlink(base / path) == spec.target
    run_pumas("sync", root=root, env=env)
    assert_consistent(library, app)
    assert {k: v for k, v in snapshot(comfy).items() if v[0] != "link"} == user


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until its drive is full (a file of ours: the test removes it)."""
    chunk = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    # What the last partial chunk left: a few bytes at most.
    assert os.statvfs(path.parent).f_bavail == 0
