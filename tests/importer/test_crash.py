"""A process killed mid-copy (a real SIGKILL) leaves no model anywhere and nothing the next run keeps."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

from pumasfs.base.paths import Layout
from pumasfs.store import staging
from pumasfs.store.library import Library
from pumasfs.store.metadata import FileEntry, Hashes, ModelMetadata, save_metadata
from tests.support.cli import cli_env, pumas_argv

from .helpers import LORA, lora, model_dirs, write_safetensors

BIG = 1024 * 1024 * 1024  # sparse at the source; long enough to copy that a kill lands mid-way


def _partial_copies(staging_dir: Path) -> list[Path]:
    if not staging_dir.is_dir():
        return []
    out = []
    for p in staging_dir.glob("import-*/model/*.pumas-tmp"):
        try:
            if p.stat().st_size > 0:
                out.append(p)
        except FileNotFoundError:  # renamed into place while we looked
            pass
    return out


def test_sigkill_mid_copy_leaves_nothing_visible(root: Path, tmp_path: Path, pumas):
    src = write_safetensors(tmp_path / "big.safetensors", LORA, total_size=BIG)
    layout = Layout(root)
    env = cli_env(tmp_path / "home")  # offline: a retry must never reach a real hub with the user's token
    caught = None
    for attempt in range(3):
        proc = subprocess.Popen(
            pumas_argv("import", src, root=root),
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


def test_a_model_committed_by_a_killed_import_is_seen_by_the_next_import(root: Path, tmp_path: Path, pumas):
    """A committed folder with no index row and no intent (left by a version before the intent journal,
    or copied in by hand): the next import finds it instead of storing a second copy.  The kill at that
    exact step with an intent is tests/reliability/test_commit_kill.py."""
    src = lora(tmp_path / "x.safetensors", 3)
    data = src.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    lib = Library(Layout(root))
    try:
        lib.index  # the index exists, as it does before any commit
        with staging.StagingDir(lib.layout) as stage:
            (stage.content / "x.safetensors").write_bytes(data)
            meta = ModelMetadata(
                model_id="diffusion/unknown/x", model_type="diffusion", family="unknown", subtype="loras",
                official_name="x", cleaned_name="x", original_name="x.safetensors", hashes=Hashes(sha256=sha),
                size_bytes=len(data), primary_file="x.safetensors",
                files=[FileEntry(name="x.safetensors", original_name="x.safetensors", size=len(data), sha256=sha)],
            )
            final = lib.layout.models_dir / meta.model_id
            final.parent.mkdir(parents=True, exist_ok=True)
            save_metadata(stage.content, meta, touch=False)
            os.rename(stage.content, final)
            stage.committed = True
    finally:
        lib.close()

    again = pumas("import", "--json", "--no-lookup", src).json()
    assert [(r["status"], r["model_id"]) for r in again] == [("duplicate", "diffusion/unknown/x")]
    assert [m["model_id"] for m in pumas("list", "--json").json()] == ["diffusion/unknown/x"]
