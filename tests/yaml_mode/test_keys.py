"""Which yaml keys name which tree folders, and where an install's plan is built (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.planning.install_mode import comfyui_yaml_folders, literal_folder, plan_folders
from pumasfs.planning.installs import AppInstall, AppsFile
from tests.yaml_mode import comfy_loader


def test_aliased_folders_join_comfyuis_key() -> None:
    keys = comfyui_yaml_folders(["clip", "unet", "t2i_adapter", "controlnet", "checkpoints"])
    assert keys == {"checkpoints": ["checkpoints"], "controlnet": ["controlnet", "t2i_adapter"],
                    "diffusion_models": ["unet"], "text_encoders": ["clip"]}
    # Every key is one ComfyUI knows, so each tree folder is read by the loader that wants it.
    assert set(keys) <= set(comfy_loader.KEYS)


def test_nested_custom_node_folders_get_the_nodes_keys() -> None:
    keys = comfyui_yaml_folders(["ultralytics/bbox", "ultralytics/segm", "loras/sdxl", "ipadapter"])
    assert keys == {"ipadapter": ["ipadapter"], "loras": ["loras"], "ultralytics": ["ultralytics"],
                    "ultralytics_bbox": ["ultralytics/bbox"], "ultralytics_segm": ["ultralytics/segm"]}


def test_folders_come_from_the_map_and_from_the_plan() -> None:
    assert literal_folder("loras/{family}") == "loras"
    assert literal_folder("{subtype}/x") is None
    folders = plan_folders(["checkpoints", "loras/{family}", "{subtype}"],
                           ["checkpoints/a.safetensors", "loras/sdxl/b.safetensors", "sams/pinned.pth"])
    assert folders == {"checkpoints", "loras", "sams"}


def test_old_apps_json_means_links_and_a_yaml_install_never_falls_back_to_models() -> None:
    old = AppsFile.model_validate_json(
        '{"schema_version": 1, "apps": [{"name": "c", "kind": "comfyui", "path": "/srv/C"}]}')
    assert old.apps[0].mode == "links" and old.apps[0].plan_dir() == Path("/srv/C/models")
    tree = AppInstall(name="c", kind="comfyui", path=Path("/srv/C"), mode="yaml", tree_dir=Path("/lib/trees/c"))
    assert tree.plan_dir() == Path("/lib/trees/c")
    with pytest.raises(PumasError, match="no tree recorded"):
        AppInstall(name="c", kind="comfyui", path=Path("/srv/C"), mode="yaml").plan_dir()
    with pytest.raises(PumasError, match="relative to models/"):
        tree.plan_dir(".")
