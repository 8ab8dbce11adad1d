"""A process killed mid-copy (a real SIGKILL) leaves no model anywhere and nothing the next run keeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pumasfs import staging
from pumasfs.library import Library
from pumasfs.paths import Layout

from .helpers import LORA, lora, model_dirs, write_safetensors

BIG = 1024 * 1024 * 1024  # sparse at the source; long enough to copy that a kill lands mid-way


def _partial_copies(staging_dir: Path) -> list[Path]:
    if not staging_dir.is_dir():
        return []
    return [p for p in staging_dir.glob("import-*/model/*.pumas-tmp") if p.stat().st_size > 0]


def test_sigkill_mid_copy_leaves_nothing_visible(root: Path, tmp_path: Path, pumas):
    src = write_safetensors(tmp_path / "big.safetensors", LORA, total_size=BIG)
    layout = Layout(root)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    env.pop("PUMAS_HOME", None)
    caught = None
    for attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pumasfs", "--root", str(root), "import", str(src)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            partial = _partial_copies(layout.staging_dir)
            if partial:
                os.kill(proc.pid, signal.SIGKILL)
                caught = partial[0]
                break
            time.sleep(0.001)
        proc.wait()
        if caught is not None:
            break
        # The copy won the race (or never started): start again from an empty library.
        assert proc.returncode == 0, f"import failed before it could be killed (exit {proc.returncode})"
        lib = Library(layout)
        for model_id in lib.index.model_ids():
            lib.remove(model_id)
        lib.close()
    assert caught is not None, "never caught the import mid-copy"
    assert proc.returncode == -signal.SIGKILL

    # Nothing is visible: not in the index, not to a deep scan, not as a model folder.
    assert pumas("list", "--json").json() == []
    lib = Library(layout)
    try:
        assert lib.scan().loaded == 0
        assert model_dirs(layout.models_dir) == []
        # The leftovers are recognised as stale (no live process holds their lock)...
        stale = staging.stale_entries(layout)
        assert stale and caught.parents[1] in stale
    finally:
        lib.close()
    assert src.stat().st_size == BIG  # the source is untouched

    # ...and the next import removes them.
    small = lora(tmp_path / "small.safetensors")
    run = pumas("import", "--json", small)
    assert run.json()[0]["status"] == "imported"
    assert not caught.exists() and staging.stale_entries(layout) == []
    assert [p.name for p in layout.staging_dir.iterdir()] == []
