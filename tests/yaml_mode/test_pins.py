"""Pins from adoption apply in the yaml mode exactly as in the links mode (issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.yaml_mode import comfy_loader
from tests.yaml_mode.conftest import NODES, World, all_links_resolve

KEYS = comfy_loader.KEYS + list(NODES)
NAME = "comfy-yaml"
PINNED = "loras/sdxl/characters/detail.safetensors"


def places(tree: Path, model_id: str) -> list[str]:
    """The weights links in ``tree`` that lead into this model's library folder."""
    return sorted(
        p.relative_to(tree).as_posix() for p in tree.rglob("*.safetensors")
        if p.is_symlink() and f"/{model_id}/" in os.path.realpath(p)
    )


def test_a_pin_places_the_model_at_its_path_in_the_tree_and_only_there(world: World) -> None:
    w = world
    w.pumas("app", "add", "comfyui", w.yaml, "--name", NAME, "--mode", "yaml")
    lora = next(m for m in w.pumas("list", "--json").json()
                if m["subtype"] == "loras" and m["primary_file"] == "sdxl_detail_tweaker.safetensors")
    tree = w.tree(NAME)
    [default] = places(tree, lora["model_id"])  # where the map puts it, before any pin

    # The same pin in both installs: each then shows the model at that path, and not also at the map's.
    for app in ("comfy-links", NAME):
        w.pumas("pin", lora["model_id"], app, PINNED)
    w.pumas("sync")
    assert os.path.islink(tree / PINNED) and os.path.exists(tree / PINNED)
    assert places(tree, lora["model_id"]) == [PINNED]
    yaml_names = comfy_loader.listing(w.yaml, KEYS, NODES)
    assert "sdxl/characters/detail.safetensors" in yaml_names["loras"]
    assert yaml_names == comfy_loader.listing(w.links, KEYS, NODES)
    assert all_links_resolve(tree)

    # Unpinned: back where the map puts it, in the tree as in models/.
    for app in ("comfy-links", NAME):
        w.pumas("unpin", lora["model_id"], app)
    w.pumas("sync")
    assert places(tree, lora["model_id"]) == [default]
    assert comfy_loader.listing(w.yaml, KEYS, NODES) == comfy_loader.listing(w.links, KEYS, NODES)
