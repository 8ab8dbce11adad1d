"""Hostile conditions: a full library disk, a read-only app folder, and what sync/doctor say about leftovers."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.adopt.conftest import lora, machine_listing
from tests.importer.helpers import LORA, is_root, tmpfs, write_safetensors


@contextmanager
def read_only_bind(path: Path):
    if not is_root():
        pytest.skip("a read-only bind mount needs root")
    p = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {p.stderr.strip()}")
    try:
        q = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True, text=True, check=False)
        if q.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {q.stderr.strip()}")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_read_only_folder_is_left_in_place_with_one_line(machine, pumas):
    before = machine_listing(machine)
    with read_only_bind(machine.comfy / "models/loras"):
        r = pumas("adopt", "comfyui", check=False)
        assert r.returncode == 5
        lines = [l for l in r.stderr.splitlines() if "cannot write links here" in l]
        assert lines and all(l.startswith("pumas: ") for l in lines) and "Traceback" not in r.stderr
        assert not (machine.comfy / "models/loras/style_ink.safetensors").is_symlink()
        assert (machine.comfy / "models/checkpoints/juggernaut_xl.safetensors").is_symlink()
        assert machine_listing(machine) == before
    # Nothing in the library points at the files left in place: a later run adopts them.
    pumas("adopt", "comfyui")
    assert (machine.comfy / "models/loras/style_ink.safetensors").is_symlink()
    assert machine_listing(machine) == before


def test_a_full_library_disk_leaves_the_file_in_place(tmp_path, pumas, root):
    with tmpfs(root / "shared-resources", "1m"):
        app = tmp_path / "ComfyUI"
        from tests.materializer.conftest import make_comfyui

        make_comfyui(app)
        big = write_safetensors(app / "models/loras/big.safetensors", LORA, fill=b"\x01\x02", total_size=3 * 1024 * 1024)
        data = big.read_bytes()
        pumas("app", "add", "comfyui", app, "--name", "comfyui")
        r = pumas("adopt", "comfyui", check=False)
        assert r.returncode == 5
        assert "no space left on device" in r.stderr and "Traceback" not in r.stderr
        assert big.is_file() and not big.is_symlink() and big.read_bytes() == data
        assert pumas("list", "--json").json() == []


def test_sync_and_doctor_name_the_files_adopt_would_bring_in(machine, pumas):
    pumas("import", machine.a1111 / "models/Lora/a1111_only.safetensors")  # a copy: the original stays
    r = pumas("doctor", check=False)
    assert "a1111: 6 model file(s)" in r.stderr and "1 of them already in the library" in r.stderr
    assert "`pumas adopt a1111`" in r.stderr
    r = pumas("sync", check=False)
    assert "`pumas adopt comfyui`" in r.stderr
    pumas("adopt")
    r = pumas("doctor", check=False)
    assert "pumas adopt" not in r.stderr


def test_a_file_open_for_writing_is_left_in_place(machine, pumas):
    """A download still in progress (another process holds it open for writing) is not adopted."""
    import sys

    f = machine.comfy / "models/loras/downloading.safetensors"
    lora(f, 77)
    code = "import sys,time; f=open(sys.argv[1],'r+b'); print('ready', flush=True); time.sleep(60)"
    writer = subprocess.Popen([sys.executable, "-c", code, str(f)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        out = pumas("adopt", "comfyui", "--json").json()
        assert any(x["reason"] == "in-use" and x["path"] == str(f) for x in out["left_alone"])
        assert f.is_file() and not f.is_symlink()
    finally:
        writer.kill()
        writer.wait()
    pumas("adopt", "comfyui")
    assert f.is_symlink()
