"""`pumas doctor` on links, and moving a whole tree (library + apps) somewhere else."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from materializer import api
from pumasfs.base.paths import Layout
from pumasfs.planning.installs import get_app
from pumasfs.store.library import Library
from tests.materializer.conftest import add_model, make_comfyui, register, snapshot
from tests.materializer.helpers import assert_consistent, registry_rows


def kinds(findings) -> list[str]:
    return sorted(f.kind for f in findings)


def test_doctor_finds_every_kind_of_link_problem_and_fixes_only_the_safe_ones(library: Library, app, comfy: Path):
    a = add_model(library, "Alpha")
    add_model(library, "Beta")
    c = add_model(library, "Gamma")
    add_model(library, "Delta")
    api.materialize(library.layout, library, app)
    assert api.doctor(library.layout, library) == []
    ckpt = comfy / "models/checkpoints"
    # broken: the library file vanished behind our back
    (library.layout.models_dir / a.model_id / "Alpha.safetensors").unlink()
    # vanished: someone deleted our link
    (ckpt / "Beta.safetensors").unlink()
    # changed: someone replaced our link by a file of theirs
    (ckpt / "Gamma.safetensors").unlink()
    (ckpt / "Gamma.safetensors").write_bytes(b"theirs")
    # orphaned: a link into the library we never made
    (ckpt / "by-hand.safetensors").symlink_to(library.layout.models_dir / c.model_id / "Gamma.safetensors")
    # a temp link left by a killed run
    os.symlink(os.path.relpath(library.layout.models_dir / "x", ckpt), ckpt / ".Delta.safetensors.pumas-tmp")
    # and an app whose folder is gone
    gone = register(library, make_comfyui(comfy.parent / "gone"), name="gone")
    api.materialize(library.layout, library, gone)
    shutil.rmtree(comfy.parent / "gone")

    found = api.doctor(library.layout, library)
    assert kinds(found) == ["app-missing", "broken-link", "changed-link", "orphaned-link", "temp-leftover",
                            "vanished-link"]
    assert {f.kind for f in found if f.fixable} == {"broken-link", "changed-link", "temp-leftover", "vanished-link"}

    fixed = api.doctor(library.layout, library, fix=True)
    assert all(f.fixed for f in fixed if f.fixable)
    assert not (ckpt / "Alpha.safetensors").is_symlink()  # our broken link: removed
    assert (ckpt / "Gamma.safetensors").read_bytes() == b"theirs"  # theirs: untouched
    assert (ckpt / "by-hand.safetensors").is_symlink()  # not ours: untouched
    assert not os.path.lexists(ckpt / ".Delta.safetensors.pumas-tmp")
    # The next sync recreates the vanished link (the fix marked the app for a full check); the user's
    # file where Gamma's link was is now a conflict, and stays theirs.
    [r] = api.sync_pending(library.layout, library, [app], allow_conflicts=True)
    assert r.mode == "verify"
    assert "checkpoints/Beta.safetensors" in r.created
    assert [(Path(c.path).name, c.reason) for c in r.conflicts] == [("Gamma.safetensors", "exists")]
    assert (ckpt / "Beta.safetensors").read_bytes() == b"Beta" * 8
    assert (ckpt / "Gamma.safetensors").read_bytes() == b"theirs"
    # Alpha's library file is still missing (a library problem, which the library's doctor reports):
    # sync does not re-create a link that would dangle, it says why.
    assert not os.path.lexists(ckpt / "Alpha.safetensors")
    assert any("Alpha.safetensors" in e for e in r.errors)
    assert kinds(api.doctor(library.layout, library)) == ["app-missing", "orphaned-link"]


def test_moving_the_whole_tree_keeps_relative_links_working(tmp_path: Path, pumas):
    top = tmp_path / "everything"
    root = top / "pumas"
    Layout(root).ensure()
    lib = Library(Layout(root))
    comfy = make_comfyui(top / "ComfyUI")
    app = register(lib, comfy)
    add_model(lib, "Alpha")
    add_model(lib, "FluxDev", family="flux", subtype="diffusers", folder=True)
    api.materialize(lib.layout, lib, app)
    lib.close()

    moved = tmp_path / "elsewhere" / "everything-now"
    moved.parent.mkdir()
    os.rename(top, moved)
    new_comfy, new_root = moved / "ComfyUI", moved / "pumas"
    # Links still resolve right after the move: they are relative.
    assert (new_comfy / "models/checkpoints/Alpha.safetensors").read_bytes() == b"Alpha" * 8
    assert (new_comfy / "models/diffusers/fluxdev/unet/diffusion_pytorch_model.safetensors").is_file()
    before = snapshot(new_comfy)

    # Tell pumas: recorded paths follow; no link needs rewriting.
    out = pumas("--root", str(new_root), "relocate", str(top), str(moved), "--json").json()
    assert out["retargeted"] == [] and out["applied"] is True
    lib2 = Library(Layout(new_root))
    app2 = get_app(lib2.layout, "comfyui")
    assert app2.path == new_comfy
    data = pumas("--root", str(new_root), "sync", "--json").json()
    assert data[0]["changed"] == 0 and data[0]["conflicts"] == []
    assert snapshot(new_comfy) == before
    assert_consistent(lib2, app2)
    assert api.doctor(lib2.layout, lib2) == []
    assert len(registry_rows(lib2, "comfyui")) == 2
    lib2.close()
