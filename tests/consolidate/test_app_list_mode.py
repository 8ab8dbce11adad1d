"""`pumas app list` shows each install's MODE (links / yaml / view), read from its install record."""

from __future__ import annotations

from ..yaml_mode.conftest import World


def test_app_list_has_a_mode_column(world: World) -> None:
    world.pumas("app", "add", "comfyui", world.yaml, "--name", "viayaml")
    world.pumas("app", "set", "viayaml", "--mode", "yaml")
    lines = world.pumas("app", "list").stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["NAME", "KIND", "VERSION", "MODE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["comfy-links"][3] == "links" and rows["viayaml"][3] == "yaml"
    listed = {a["name"]: a["mode"] for a in world.pumas("app", "list", "--json").json()}
    assert listed == {"comfy-links": "links", "viayaml": "yaml"}
