"""Link use cases: materialize, sync, relocate, doctor; and how a batch of syncs ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from materializer.registry import close_shared
from materializer.report import ConflictInfo, SyncReport
from pumasfs.base.errors import EXIT_CONFLICT, EXIT_PARTIAL, NotFound
from pumasfs.usecases import apps as app_uc
from pumasfs.usecases import sync as uc
from pumasfs.usecases.workspace import Workspace

from ..materializer.conftest import add_model, make_comfyui
from .conftest import Recorder


def test_materialize_then_incremental_sync(ws: Workspace, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    add_model(ws.library, "dreamshaper-8")
    app_uc.add_app(ws, "comfyui", comfy)

    dry = uc.materialize(ws, "comfyui", dry_run=True)
    assert dry[0].created == ["checkpoints/dreamshaper-8.safetensors"] and not dry[0].applied
    assert not (comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors").exists()

    [full] = uc.materialize(ws, "comfyui", link_type="absolute-symlink")
    assert full.applied and full.created == ["checkpoints/dreamshaper-8.safetensors"]
    link = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    assert os.path.isabs(os.readlink(link))
    assert app_uc.show_app(ws, "comfyui").install.link_type == "absolute-symlink"  # remembered

    add_model(ws.library, "detail-tweaker", subtype="loras")
    [inc] = uc.sync_apps(ws)
    assert inc.mode == "incremental" and inc.created == ["loras/detail-tweaker.safetensors"]
    assert uc.outcome_error([full, inc], dry_run=False) is None


def test_a_user_file_in_the_way_blocks_the_app(ws: Workspace, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    (comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors").write_bytes(b"mine")
    add_model(ws.library, "dreamshaper-8")
    app_uc.add_app(ws, "comfyui", comfy)

    reports = uc.materialize(ws, "comfyui")

    assert reports[0].conflicts and not reports[0].applied
    error = uc.outcome_error(reports, dry_run=False)
    assert error is not None and error.exit_code == EXIT_CONFLICT and "comfyui" in error.message
    assert (comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors").read_bytes() == b"mine"


def test_outcome_of_errors_and_dry_run_conflicts() -> None:
    failed = SyncReport(app="a", mode="full", errors=["x: cannot link"], applied=True)
    err = uc.outcome_error([failed], dry_run=False)
    assert err is not None and err.exit_code == EXIT_PARTIAL
    planned = SyncReport(app="a", mode="full", dry_run=True,
                         conflicts=[ConflictInfo(path="/x", reason="exists", detail="a file")])
    err = uc.outcome_error([planned], dry_run=True)
    assert err is not None and err.exit_code == EXIT_CONFLICT


def test_relocate_follows_a_drive_that_moved(tmp_path: Path) -> None:
    old_drive, new_drive = tmp_path / "drive-a", tmp_path / "drive-b"
    old_drive.mkdir()
    ws = Workspace(old_drive / "pumas")
    comfy = make_comfyui(tmp_path / "ComfyUI")
    add_model(ws.library, "dreamshaper-8")
    app_uc.add_app(ws, "comfyui", comfy, link_type="absolute-symlink")
    uc.materialize(ws, "comfyui")
    ws.close()
    close_shared()
    os.rename(old_drive, new_drive)  # the drive comes back at another mount point
    link = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    assert not link.exists()
    ws = Workspace(new_drive / "pumas")
    try:
        with pytest.raises(NotFound):  # the new mount point must be there
            uc.relocate(ws, old_drive, tmp_path / "nowhere")
        dry = uc.relocate(ws, old_drive, new_drive, dry_run=True)
        assert dry.retargeted == ["comfyui:checkpoints/dreamshaper-8.safetensors"] and not link.exists()
        done = uc.relocate(ws, old_drive, new_drive)
        assert done.applied and link.read_bytes() == b"dreamshaper-8" * 8
        assert os.readlink(link).startswith(str(new_drive) + "/")
    finally:
        ws.close()
        close_shared()


def test_doctor_finds_and_fixes_a_changed_link(ws: Workspace, tmp_path: Path, reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    add_model(ws.library, "dreamshaper-8")
    app_uc.add_app(ws, "comfyui", comfy)
    uc.materialize(ws, "comfyui")
    link = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    link.unlink()  # a user removed our link by hand

    found = uc.doctor(ws)
    assert not found.healthy and any(f.fixable for f in found.findings) and found.apps is None

    fixed = uc.doctor(ws, fix=True, reporter=reporter)
    assert fixed.healthy and fixed.apps is not None
    assert uc.doctor(ws).findings == []
