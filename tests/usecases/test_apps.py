"""App use cases: add, list, show, remove; and one default map whichever command sees an install first."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.errors import NotFound
from pumasfs.base.paths import Layout
from pumasfs.planning.installs import load_apps
from pumasfs.usecases import apps as uc
from pumasfs.usecases import sync as sync_uc
from pumasfs.usecases.workspace import Workspace

from ..materializer.conftest import add_model, make_comfyui
from .conftest import Recorder


def test_add_app_writes_the_default_map_and_says_which_map_applies(ws: Workspace, tmp_path: Path,
                                                                  reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    added = uc.add_app(ws, "comfyui", comfy, reporter=reporter)

    assert added.install.name == "comfyui" and added.install.version == "0.3.64"
    assert added.map_written == ws.layout.maps_dir / "comfyui-default.json" and added.map_written.is_file()
    assert added.map_reason and added.map_error is None
    assert reporter.warnings == added.warnings


def test_unknown_kind_and_missing_path(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as e:
        uc.add_app(ws, "no-such-kind", tmp_path)
    assert "known:" in e.value.message
    with pytest.raises(NotFound):
        uc.add_app(ws, "comfyui", tmp_path / "nowhere")


def _discovered_map(tmp_path: Path, how: str) -> bytes:
    root = tmp_path / how / "root"
    Layout(root).ensure()
    make_comfyui(Layout(root).comfyui_versions_dir / "ComfyUI-0.3.64")
    ws = Workspace(root)
    try:
        if how == "materialize":
            sync_uc.materialize(ws, "comfyui", dry_run=True)
        elif how == "sync":
            sync_uc.sync_apps(ws, "comfyui", dry_run=True)
        elif how == "list":
            uc.list_apps(ws)
        else:
            from pumasfs.planning.app_discovery import resolve_apps  # what the FUSE view calls

            resolve_apps(ws.layout, "comfyui")
    finally:
        ws.close()
    maps = sorted(ws.layout.maps_dir.glob("*.json"))
    assert [m.name for m in maps] == ["comfyui-default.json"], how
    return maps[0].read_bytes()


def test_a_discovered_install_gets_the_same_map_whichever_command_saw_it(tmp_path: Path) -> None:
    by_add_root = tmp_path / "add" / "root"
    Layout(by_add_root).ensure()
    install = make_comfyui(Layout(by_add_root).comfyui_versions_dir / "ComfyUI-0.3.64")
    ws = Workspace(by_add_root)
    uc.add_app(ws, "comfyui", install)
    ws.close()
    reference = (Layout(by_add_root).maps_dir / "comfyui-default.json").read_bytes()

    for how in ("materialize", "sync", "list", "view"):
        assert _discovered_map(tmp_path, how) == reference, how


def test_list_and_show(ws: Workspace, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    (comfy / "models" / "my_custom_folder").mkdir()
    uc.add_app(ws, "comfyui", comfy)

    listing = uc.list_apps(ws)
    assert [a.name for a in listing.apps] == ["comfyui"] and listing.discovered == []

    details = uc.show_app(ws, "comfyui")
    assert details.map is not None and details.map.rules > 0
    assert "my_custom_folder" in details.discovered_folders
    assert details.unmapped_folders is not None and "my_custom_folder" in details.unmapped_folders
    assert "checkpoints" not in details.unmapped_folders
    data = details.to_json()
    assert data["name"] == "comfyui" and data["map"]["rules"] == details.map.rules  # type: ignore[index]
    with pytest.raises(NotFound):
        uc.show_app(ws, "nope")


def test_remove_app_removes_exactly_our_links_then_the_record(ws: Workspace, tmp_path: Path,
                                                             reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    mine = comfy / "models" / "checkpoints" / "my-own.safetensors"
    mine.write_bytes(b"user's file")
    add_model(ws.library, "dreamshaper-8")
    uc.add_app(ws, "comfyui", comfy)
    sync_uc.materialize(ws, "comfyui")
    link = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    assert link.is_symlink()

    dry = uc.remove_app(ws, "comfyui", dry_run=True)
    assert not dry.forgotten and dry.report.removed == ["checkpoints/dreamshaper-8.safetensors"]
    assert link.is_symlink() and [a.name for a in load_apps(ws.layout).apps] == ["comfyui"]

    done = uc.remove_app(ws, "comfyui", reporter=reporter)
    assert done.forgotten and not link.exists() and mine.read_bytes() == b"user's file"
    assert load_apps(ws.layout).apps == []


def test_a_sandbox_warning_shows_once_per_install_until_it_changes(ws: Workspace, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    flatpak = make_comfyui(home / ".var" / "app" / "org.comfy.ComfyUI" / "ComfyUI")
    add_model(ws.library, "dreamshaper-8")

    added = uc.add_app(ws, "comfyui", flatpak)
    assert any("Flatpak" in w for w in added.warnings)
    [full] = sync_uc.materialize(ws, "comfyui")
    assert not any("Flatpak" in w for w in full.warnings)  # said once, at `app add`
    add_model(ws.library, "detail-tweaker", subtype="loras")
    [inc] = sync_uc.sync_apps(ws)
    assert not any("Flatpak" in w for w in inc.warnings)
    assert any("Flatpak" in w for w in uc.show_app(ws, "comfyui").sandbox_warnings)  # app show keeps it

    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))  # the setting changes: the warning is news
    monkeypatch.setenv("SNAP", "/snap/pumas/1")
    [again] = sync_uc.materialize(ws, "comfyui")
    assert any("Snap" in w for w in again.warnings)


def test_the_a1111_map_offers_no_flux_models(ws: Workspace, tmp_path: Path) -> None:
    webui = tmp_path / "stable-diffusion-webui"
    (webui / "models").mkdir(parents=True)
    add_model(ws.library, "flux-lora", family="flux", subtype="loras")
    add_model(ws.library, "flux-vae", family="flux", subtype="vae")
    add_model(ws.library, "sdxl-lora", family="sdxl", subtype="loras")
    add_model(ws.library, "sdxl-vae", family="sdxl", subtype="vae")
    uc.add_app(ws, "a1111", webui)
    uc.add_app(ws, "forge", make_comfyui(tmp_path / "forge-install"))

    [a1111] = sync_uc.materialize(ws, "a1111")
    assert sorted(a1111.created) == ["models/Lora/sdxl-lora.safetensors", "models/VAE/sdxl-vae.safetensors"]
    [forge] = sync_uc.materialize(ws, "forge")
    assert any("flux-lora" in p for p in forge.created)  # Forge loads Flux: it keeps them
