"""An unplugged drive: the library refuses its empty stand-in and no app link is removed.

A "drive" is a real bind mount of a folder; unplugging it is ``umount``,
which leaves the mount point as an empty folder, exactly like a USB disk
that is not mounted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pumasfs.base.paths import Layout
from tests.conftest import assert_one_line_error
from tests.importer.helpers import VAE, lora, write_safetensors
from tests.materializer.conftest import make_comfyui, snapshot


@contextmanager
def drive(data: Path, at: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    data.mkdir(parents=True, exist_ok=True)
    at.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "--bind", str(data), str(at)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {p.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(at)], check=False, capture_output=True)


def unplug(at: Path) -> None:
    subprocess.run(["umount", str(at)], check=True)


def plug(data: Path, at: Path) -> None:
    subprocess.run(["mount", "--bind", str(data), str(at)], check=True)


def populate(tmp_path: Path, pumas) -> tuple[list[str], Path]:
    srcs = [lora(tmp_path / "dl" / "a.safetensors", 1), write_safetensors(tmp_path / "dl" / "vae.safetensors", VAE)]
    ids = [r["model_id"] for r in pumas("import", "--json", *srcs).json()]
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    return ids, comfy


def test_models_folder_on_an_unplugged_drive(root: Path, tmp_path: Path, pumas):
    models = Layout(root).models_dir
    data = tmp_path / "usb-disk" / "models"
    shutil.rmtree(models)  # the empty folders the fixture made: the drive's mount point starts empty
    models.mkdir()
    with drive(data, models):
        ids, comfy = populate(tmp_path, pumas)
        before = snapshot(comfy / "models")
        unplug(models)
        assert list(models.iterdir()) == []  # the stand-in: an empty mount point
        for cmd in (["sync"], ["materialize", "comfyui"], ["list"], ["doctor"], ["import", tmp_path / "dl" / "a.safetensors"],
                    ["rm", "--yes", ids[0]], ["scan"]):
            r = pumas(*cmd, check=False)
            assert_one_line_error(r)
            assert str(models) in r.stderr and "mounted" in r.stderr, r.stderr
        assert snapshot(comfy / "models") == before  # not one link removed
        assert list(models.iterdir()) == []  # nothing written into the stand-in
        plug(data, models)
        assert sorted(m["model_id"] for m in pumas("list", "--json").json()) == sorted(ids)
        pumas("sync")
        assert snapshot(comfy / "models") == before
        assert pumas("doctor").returncode == 0


def test_models_folder_gone_or_another_librarys(root: Path, tmp_path: Path, pumas):
    _ids, comfy = populate(tmp_path, pumas)
    before = snapshot(comfy / "models")
    models = Layout(root).models_dir
    os.rename(models, tmp_path / "elsewhere")
    r = pumas("sync", check=False)
    assert_one_line_error(r)
    assert f"missing: {models}" in r.stderr
    assert not models.exists()
    # Another library's models folder in its place.
    other = tmp_path / "other-root"
    pumas("--root", other, "import", write_safetensors(tmp_path / "dl2" / "vae.safetensors", VAE))
    os.rename(Layout(other).models_dir, models)
    r = pumas("sync", check=False)
    assert_one_line_error(r)
    assert "another library" in r.stderr
    assert snapshot(comfy / "models") == before
    os.rename(models, tmp_path / "other-models")
    os.rename(tmp_path / "elsewhere", models)
    pumas("sync")
    assert snapshot(comfy / "models") == before


def test_root_on_an_unplugged_drive_is_not_recreated_on_the_system_disk(tmp_path: Path, pumas):
    mnt = tmp_path / "media" / "usb"
    data = tmp_path / "usb-disk"
    with drive(data, mnt):
        lib_root = mnt / "pumas"
        pumas("--root", lib_root, "import", lora(tmp_path / "dl" / "a.safetensors", 2))
        pumas("--root", mnt, "import", tmp_path / "dl" / "a.safetensors")  # a library at the mount point too
        unplug(mnt)
        for r in (pumas("--root", lib_root, "import", tmp_path / "dl" / "a.safetensors", check=False),
                  pumas("--root", lib_root, "list", check=False),
                  pumas("--root", mnt, "list", check=False)):
            assert_one_line_error(r)
            assert "is its drive mounted?" in r.stderr
        assert list(mnt.iterdir()) == []  # no new library on the system disk
        plug(data, mnt)
        assert len(pumas("--root", lib_root, "list", "--json").json()) == 1


def test_a_library_from_before_markers_on_an_unplugged_drive(root: Path, tmp_path: Path, pumas):
    """The first run of this version on an older library whose models drive is not mounted."""
    ids, comfy = populate(tmp_path, pumas)
    before = snapshot(comfy / "models")
    models = Layout(root).models_dir
    (root / ".pumas-library.json").unlink()  # as an older pumas left it: no markers
    (models / ".pumas-library.json").unlink()
    os.rename(models, tmp_path / "usb-models")
    models.mkdir()  # the empty mount point
    r = pumas("sync", check=False)
    assert_one_line_error(r)
    assert str(models) in r.stderr and "mounted" in r.stderr
    assert snapshot(comfy / "models") == before
    assert list(models.iterdir()) == []
    models.rmdir()
    os.rename(tmp_path / "usb-models", models)
    assert sorted(m["model_id"] for m in pumas("list", "--json").json()) == sorted(ids)
    assert (root / ".pumas-library.json").is_file() and (models / ".pumas-library.json").is_file()
