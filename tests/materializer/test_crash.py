"""A real `pumas materialize` killed with SIGKILL mid-apply; the next `pumas sync` repairs everything."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from materializer import api
from materializer.registry import Registry
from pumasfs.store.library import Library
from pumasfs.store.metadata import FileEntry, ModelMetadata, save_metadata
from pumasfs.store.model_record import ModelRecord
from tests.materializer.conftest import snapshot
from tests.materializer.helpers import assert_consistent, disk_links
from tests.support.cli import cli_env, pumas_argv, run_pumas
from tests.support.processes import kill_when

N = 1500


def bulk_models(lib: Library, n: int) -> None:
    """n small models written as the library stores them, indexed in one transaction."""
    records = []
    for i in range(n):
        mid = f"diffusion/sd1/m{i:05d}"
        d = lib.layout.models_dir / mid
        d.mkdir(parents=True)
        (d / f"m{i:05d}.safetensors").write_bytes(b"w")
        meta = ModelMetadata(model_id=mid, family="sd1", model_type="diffusion", subtype="checkpoints",
                             official_name=f"m{i:05d}", cleaned_name=f"m{i:05d}", primary_file=f"m{i:05d}.safetensors",
                             files=[FileEntry(name=f"m{i:05d}.safetensors", original_name="x", size=1)])
        save_metadata(d, meta)
        records.append(ModelRecord(meta))
    with lib.index.transaction():
        for r in records:
            lib.index.upsert(r)


def _env(root: Path) -> dict[str, str]:
    return cli_env(root.parent / "home")  # offline, no token, no root of the caller's


def _start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(pumas_argv(*args, root=root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(root))


def _kill_when(proc: subprocess.Popen, ready) -> bool:
    return kill_when(proc, ready, what="materialize getting going")


def _sync(root: Path) -> None:
    run_pumas("sync", root=root, env=_env(root))


def test_sigkill_during_materialize_is_repaired_by_sync(library: Library, app, comfy: Path, root: Path):
    bulk_models(library, N)
    user = snapshot(comfy)
    ckpt = comfy / "models/checkpoints"
    rng = random.Random(1234)
    killed_midway = 0
    for _ in range(3):
        k = rng.randrange(1, N - 1)
        proc = _start(root, "materialize", "comfyui")
        if _kill_when(proc, lambda k=k: len(os.listdir(ckpt)) > k):
            killed_midway += 1
            n = len(disk_links(comfy / "models"))
            assert 0 < n < N + 1, n
        _sync(root)
        assert_consistent(library, app)
        assert {k: v for k, v in snapshot(comfy).items() if v[0] != "link"} == user
        api.uninstall(library.layout, app)  # start the next round from an empty install
        assert snapshot(comfy) == user
    assert killed_midway >= 2, "the kills must land in the middle of the apply"


def test_sigkill_while_replacing_links_leaves_no_temp_and_sync_repairs(library: Library, app, comfy: Path, root: Path):
    bulk_models(library, N)
    api.materialize(library.layout, library, app)
    user = {k: v for k, v in snapshot(comfy).items() if v[0] != "link"}
    ckpt = comfy / "models/checkpoints"
    probe = ckpt / f"m{N // 2:05d}.safetensors"
    # Switching to absolute links replaces every link (temp name + rename); kill half-way.
    proc = _start(root, "materialize", "comfyui", "--link-type", "absolute-symlink")
    assert _kill_when(proc, lambda: os.readlink(probe).startswith("/")), "the kill must land mid-replace"
    kinds = {os.readlink(p).startswith("/") for p in ckpt.glob("m*.safetensors")}
    assert kinds == {True, False}
    reg = Registry(library.layout.registry_db)
    assert reg.state("comfyui").dirty
    reg.close()
    _sync(root)  # finishes the switch: --link-type is now the install's setting
    assert_consistent(library, app)
    assert all(os.readlink(p).startswith("/") for p in ckpt.glob("m*.safetensors"))
    assert {k: v for k, v in snapshot(comfy).items() if v[0] != "link"} == user
