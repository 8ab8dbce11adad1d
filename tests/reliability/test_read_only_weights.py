"""Library weight files are read-only; doctor notices a size change, --verify a change of bytes.

"An ordinary user's process" is played by this (root) test's own children
with every capability dropped (``setpriv``): uid 0 without CAP_DAC_OVERRIDE
gets the same permission checks as the files' owner would.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from pumasfs.base.paths import Layout
from tests.importer.helpers import VAE, lora, write_safetensors
from tests.materializer.conftest import make_comfyui

from .conftest import library_models


def as_user(*cmd: str) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a process without privileges")
    return subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-all", *cmd],
                          capture_output=True, text=True, check=False)


def writable(p: Path) -> bool:
    return bool(p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_weights_cannot_be_written_through_an_apps_link(root: Path, tmp_path: Path, pumas):
    srcs = [lora(tmp_path / "dl" / "detail.safetensors", 3), write_safetensors(tmp_path / "dl" / "vae.safetensors", VAE)]
    (tmp_path / "dl" / "detail.preview.png").write_bytes(b"\x89PNG")
    ids = [r["model_id"] for r in pumas("import", "--json", *srcs).json()]
    models = Layout(root).models_dir
    for mid in ids:
        d = models / mid
        for f in d.iterdir():
            if f.name != "metadata.json":
                assert not writable(f), f
        assert writable(d / "metadata.json")  # replaced whole by atomic writes
    assert all(s.stat().st_mode & stat.S_IWUSR for s in srcs)  # the sources are untouched

    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    links = [p for p in (comfy / "models").rglob("*.safetensors") if p.is_symlink()]
    assert links
    sizes = {p: p.stat().st_size for p in links}
    for link in links:
        assert as_user("truncate", "-s", "0", str(link)).returncode != 0
        assert as_user("sh", "-c", f"echo junk >> '{link}'").returncode != 0
        assert link.stat().st_size == sizes[link]
    assert pumas("doctor").returncode == 0

    # The folder, not the bytes: edit (a move) and rm/restore/empty work on read-only files.
    moved = pumas("edit", "--json", ids[0], "--set", "family=sdxl").json()["model_id"]
    assert moved in library_models(models)
    pumas("rm", moved)
    item = pumas("trash", "list", "--json").json()[0]["id"]
    pumas("trash", "restore", item)
    pumas("rm", moved)
    pumas("trash", "empty")
    assert not any((models / ".trash").iterdir())


def test_doctor_notices_a_changed_size_and_verify_a_changed_byte(root: Path, tmp_path: Path, pumas):
    mid = pumas("import", "--json", lora(tmp_path / "dl" / "a.safetensors", 4)).json()[0]["model_id"]
    models = Layout(root).models_dir
    weights = models / mid / "a.safetensors"
    size = weights.stat().st_size
    # Root (or the owner after a chmod) can still write: what doctor is for.
    with open(weights, "r+b") as f:
        f.seek(size - 1)
        f.write(b"\x7f")
    assert pumas("doctor").returncode == 0  # same size: only a re-hash can tell
    v = pumas("doctor", "--verify", "--json", check=False)
    assert v.returncode == 1
    assert [(f["kind"], f["path"]) for f in v.json()] == [("hash-mismatch", str(weights))]

    os.truncate(weights, 0)  # `truncate -s 0` through a preview link, as root
    d = pumas("doctor", "--json", check=False)
    assert d.returncode == 1
    assert [(f["kind"], f["path"]) for f in d.json()] == [("changed-file", str(weights))]
    assert "healthy" not in pumas("doctor", check=False).stdout


def test_doctor_fix_seals_weights_of_an_older_library(root: Path, tmp_path: Path, pumas):
    mid = pumas("import", "--json", lora(tmp_path / "dl" / "a.safetensors", 5)).json()[0]["model_id"]
    weights = Layout(root).models_dir / mid / "a.safetensors"
    os.chmod(weights, 0o644)  # as an earlier pumas left it
    d = pumas("doctor", "--json", check=False)
    assert [f["kind"] for f in d.json()] == ["writable-file"]
    pumas("doctor", "--fix")
    assert not writable(weights)
    assert pumas("doctor").returncode == 0
