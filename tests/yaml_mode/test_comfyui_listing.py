"""ComfyUI's own loader lists the same names from the yaml mode as from the links mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.yaml_mode import comfy_loader
from tests.yaml_mode.conftest import NODES, World, models_snapshot

KEYS = comfy_loader.KEYS + list(NODES)


def _listings(world: World) -> tuple[dict, dict]:
    return (comfy_loader.listing(world.links, KEYS, NODES), comfy_loader.listing(world.yaml, KEYS, NODES))


def test_yaml_mode_lists_what_links_mode_lists(world: World) -> None:
    before = models_snapshot(world.yaml)
    world.pumas("app", "add", "comfyui", world.yaml, "--name", "comfy-yaml", "--mode", "yaml")
    assert models_snapshot(world.yaml) == before  # not one write into the app's models/
    links, via_yaml = _listings(world)
    assert via_yaml == links
    # The comparison means something: every kind of model is there, aliases included.
    assert "v1-5-pruned-emaonly.safetensors" in links["checkpoints"]
    assert "only-new-comfy.safetensors" not in links["checkpoints"]  # overrides.json version range
    assert "my_own_lora.safetensors" in links["loras"]  # the user's own file, in both
    assert len([n for n in links["loras"] if n.startswith("sdxl_detail_tweaker")]) == 2  # collision renamed
    assert {"clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"} <= set(links["text_encoders"])
    assert links["diffusion_models"] == ["flux1-dev-fp8.safetensors"]
    assert {"control_v11p_sd15_canny_fp16.safetensors", "t2iadapter_canny.safetensors"} <= set(links["controlnet"])
    assert links["ipadapter"] == ["ip-adapter-plus_sdxl.safetensors"]
    assert links["ultralytics_bbox"] == ["face_yolov8m.pt"]
    assert links["ultralytics"] == ["bbox/face_yolov8m.pt"]
    # Companions made it into the tree as they do into models/.
    tree = world.tree()
    previews = sorted(p.name for p in (tree / "loras").glob("sdxl_detail_tweaker*.preview.png"))
    assert len(previews) == 1 and (tree / "loras" / previews[0]).exists()  # beside its own LoRA's name
    assert (tree / "loras" / previews[0].replace(".preview.png", ".safetensors")).exists()
    assert previews == sorted(p.name for p in (world.links / "models" / "loras").glob("*.preview.png"))
    section = yaml.safe_load((world.yaml / "extra_model_paths.yaml").read_text())["pumas"]
    assert section["base_path"] == str(tree)
    assert section["text_encoders"] == "text_encoders"
    assert section["controlnet"].split() == ["controlnet", "t2i_adapter"]
    assert section["ultralytics_bbox"] == "ultralytics/bbox"


def test_real_comfyui_agrees_with_the_helper(world: World) -> None:
    checkout = os.environ.get("PUMAS_TEST_COMFYUI")
    if not checkout:
        pytest.skip("set PUMAS_TEST_COMFYUI to a ComfyUI checkout to run its own folder_paths/extra_config")
    if not (Path(checkout) / "folder_paths.py").is_file():
        pytest.skip(f"PUMAS_TEST_COMFYUI={checkout} has no folder_paths.py")
    world.pumas("app", "add", "comfyui", world.yaml, "--name", "comfy-yaml", "--mode", "yaml")
    links, via_yaml = _listings(world)
    real_links = comfy_loader.real_listing(Path(checkout), world.links, KEYS, NODES)
    real_yaml = comfy_loader.real_listing(Path(checkout), world.yaml, KEYS, NODES)
    assert real_yaml == real_links
    assert real_links == links
    assert real_yaml == via_yaml
