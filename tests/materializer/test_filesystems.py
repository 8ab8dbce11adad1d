"""Link types chosen by real filesystems: a tmpfs mount (another filesystem) and a real NTFS volume (ntfs-3g)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from materializer import api
from pumasfs.base.paths import Layout
from pumasfs.store.library import Library
from tests.materializer.conftest import add_model, make_comfyui, register, snapshot
from tests.materializer.helpers import assert_consistent, registry_rows


@pytest.fixture
def lib_on(request):
    """A library rooted at a given folder, closed at the end."""
    libs: list[Library] = []

    def make(root: Path) -> Library:
        Layout(root).ensure()
        lib = Library(Layout(root))
        libs.append(lib)
        return lib

    yield make
    for lib in libs:
        lib.close()


def test_library_on_another_filesystem_gets_absolute_links_and_a_mount_warning(lib_on, tmpfs: Path, tmp_path: Path):
    lib = lib_on(tmpfs / "pumas")
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app = register(lib, comfy)
    m = add_model(lib, "Alpha")
    report = api.materialize(lib.layout, lib, app)
    assert report.link_types == ["absolute-symlink"]
    link = comfy / "models/checkpoints/Alpha.safetensors"
    assert os.readlink(link) == f"{os.path.realpath(lib.layout.models_dir)}/{m.model_id}/Alpha.safetensors"
    assert link.read_bytes() == b"Alpha" * 8
    [warning] = [w for w in report.warnings if "must stay mounted" in w]
    assert f"mounted at {tmpfs}" in warning
    # The registry keeps absolute source paths for external links (the seed's rule).
    reg_row = registry_rows(lib, app.name)["checkpoints/Alpha.safetensors"]
    assert reg_row.kind == "absolute-symlink"
    assert_consistent(lib, app)
    # Incremental sync keeps using absolute links there.
    add_model(lib, "Beta")
    [r] = api.sync_pending(lib.layout, lib)
    assert r.created == ["checkpoints/Beta.safetensors"] and r.link_types == ["absolute-symlink"]


def test_relocate_follows_a_drive_mounted_elsewhere(lib_on, tmpfs: Path, tmp_path: Path, pumas):
    lib = lib_on(tmpfs / "pumas")
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app = register(lib, comfy)
    add_model(lib, "Alpha")
    add_model(lib, "Beta", subtype="loras")
    api.materialize(lib.layout, lib, app)
    lib.close()
    api.close()  # this process's registry handle lives on the drive we are about to unmount
    # The drive comes back at another mount point (bind it there, drop the old one).
    new_mnt = tmp_path / "renamed-drive"
    new_mnt.mkdir()
    subprocess.run(["mount", "--bind", str(tmpfs), str(new_mnt)], check=True)
    try:
        subprocess.run(["umount", str(tmpfs)], check=True)
        link = comfy / "models/checkpoints/Alpha.safetensors"
        assert not link.exists()  # broken: it points at the old mount point
        lib2 = lib_on(new_mnt / "pumas")
        dry = api.relocate(lib2.layout, tmpfs, new_mnt, dry_run=True)
        assert len(dry.retargeted) == 2 and not link.exists()
        report = api.relocate(lib2.layout, tmpfs, new_mnt)
        assert report.applied and len(report.retargeted) == 2
        assert link.read_bytes() == b"Alpha" * 8
        assert os.readlink(link).startswith(str(new_mnt) + "/")
        # Everything recorded agrees: a sync finds nothing to do.
        [r] = api.sync_pending(lib2.layout, lib2)
        assert r.changed == 0 and not r.conflicts
        assert_consistent(lib2, app)
        lib2.close()
    finally:
        subprocess.run(["umount", "-l", str(new_mnt)], check=False)


def test_ntfs_volume_gets_hardlinks_and_cascade_delete_frees_them(lib_on, ntfs: Path):
    lib = lib_on(ntfs / "pumas")
    comfy = make_comfyui(ntfs / "ComfyUI")
    app = register(lib, comfy)
    before = snapshot(comfy)
    m = add_model(lib, "Alpha")
    flux = add_model(lib, "FluxDev", family="flux", subtype="diffusers", folder=True)
    report = api.materialize(lib.layout, lib, app)
    assert report.link_types == ["hardlink"] and not report.errors, report
    src = lib.layout.models_dir / m.model_id / "Alpha.safetensors"
    link = comfy / "models/checkpoints/Alpha.safetensors"
    assert not link.is_symlink()
    assert (link.stat().st_ino, link.stat().st_dev) == (src.stat().st_ino, src.stat().st_dev)
    assert src.stat().st_nlink == 2
    # A folder model cannot be hardlinked: a real folder tree of hardlinked files (metadata.json left out).
    tree = comfy / "models/diffusers/fluxdev"
    assert tree.is_dir() and not tree.is_symlink()
    inner = tree / "unet/diffusion_pytorch_model.safetensors"
    assert inner.stat().st_ino == (lib.layout.models_dir / flux.model_id / "unet/diffusion_pytorch_model.safetensors").stat().st_ino
    assert not (tree / "metadata.json").exists()
    assert set(report.folders_created) == {"diffusers/fluxdev", "diffusers/fluxdev/unet", "diffusers/fluxdev/vae"}
    rows = registry_rows(lib, app.name)
    assert rows["checkpoints/Alpha.safetensors"].ino == src.stat().st_ino
    assert len(rows) == 4  # Alpha + the three files of FluxDev
    # Re-running changes nothing.
    assert api.materialize(lib.layout, lib, app).changed == 0
    # A user's file at a wanted path is a conflict here too.
    (comfy / "models/checkpoints/Beta.safetensors").write_bytes(b"user")
    add_model(lib, "Beta")
    [r] = api.sync_pending(lib.layout, lib)
    assert [c.reason for c in r.conflicts] == ["exists"] and not r.applied
    (comfy / "models/checkpoints/Beta.safetensors").unlink()
    api.sync_pending(lib.layout, lib)

    # Cascade delete: a leftover hardlink would keep the bytes alive, so it must go.
    n = api.remove_model_links(lib.layout, m.model_id)
    assert n == 1 and not link.exists() and src.stat().st_nlink == 1
    lib.remove(m.model_id)
    # Clean uninstall: the folder tree we made goes, the install is as it was.
    u = api.uninstall(lib.layout, app)
    assert len(u.removed) == 4 and "diffusers/fluxdev" in u.folders_removed
    assert snapshot(comfy) == before
