"""A realistic starting state for the yaml mode: a library imported by the real CLI, two ComfyUI installs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pumasfs.sample.samples import write_sample_library
from pumasfs.store.library import Library
from tests.materializer.conftest import add_model, snapshot
from tests.planner.conftest import make_comfyui

# Custom nodes' keys, registered after the yaml is read: key -> folder under models/.
NODES = {"ipadapter": "ipadapter", "ultralytics_bbox": "ultralytics/bbox", "ultralytics": "ultralytics"}
CUSTOM = ("ipadapter", "ultralytics/bbox")


@dataclass
class World:
    root: Path
    pumas: Any
    lib: Library
    links: Path  # a ComfyUI install in links mode
    yaml: Path  # a ComfyUI install in yaml mode

    def tree(self, name: str = "comfy-yaml") -> Path:
        return self.root / "launcher-data" / "trees" / name


def make_install(path: Path) -> Path:
    make_comfyui(path, custom=CUSTOM)
    # The user's own model, a real file in models/: never touched, listed in both modes.
    (path / "models" / "loras" / "my_own_lora.safetensors").write_bytes(b"mine" * 64)
    return path


@pytest.fixture
def world(tmp_path: Path, root: Path, pumas, library: Library) -> World:
    samples = tmp_path / "downloads"
    write_sample_library(samples)
    # A preview beside a LoRA: a companion the plan carries into the tree.
    (samples / "sdxl_detail_tweaker.preview.png").write_bytes(b"\x89PNG\r\n\x1a\npreview")
    pumas("import", *sorted(samples.iterdir()))
    # Same file name, different bytes and family: the plan renames one of them.
    add_model(library, "sdxl_detail_tweaker", family="pony", subtype="loras", data=b"other lora" * 40)
    add_model(library, "t2iadapter_canny", family="sd1", subtype="t2i_adapter")
    add_model(library, "ip-adapter-plus_sdxl", family="sdxl", subtype="ipadapter")
    add_model(library, "face_yolov8m", family="yolo", model_type="detection", subtype="ultralytics/bbox",
              file_name="face_yolov8m.pt")
    # A model whose overrides.json keeps it out of this ComfyUI version (0.3.64).
    old = add_model(library, "only-new-comfy", family="sdxl", subtype="checkpoints")
    (library.layout.model_dir(old.model_id) / "overrides.json").write_text(
        json.dumps({"version_ranges": {"comfyui": ">=0.4"}}))
    library.close()
    pumas("scan")
    links = make_install(tmp_path / "ComfyUI-links")
    yaml_install = make_install(tmp_path / "ComfyUI-yaml")
    pumas("app", "add", "comfyui", links, "--name", "comfy-links")
    pumas("materialize", "comfy-links")
    return World(root, pumas, library, links, yaml_install)


def models_snapshot(install: Path) -> dict:
    return snapshot(install / "models")


def all_links_resolve(tree: Path) -> bool:
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p) and not os.path.exists(p):
                return False
    return True
