"""Pins: a model placed at its pinned path in one install, by the map elsewhere; kept in metadata.json."""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.planner import build_plan
from pumasfs.store.metadata import Pin
from pumasfs.store.model_record import ModelRecord
from tests.conftest import assert_one_line_error
from tests.materializer.conftest import add_model, make_comfyui


def _app(tmp_path: Path, name: str) -> AppInstall:
    return AppInstall(name=name, kind="comfyui", path=make_comfyui(tmp_path / name))


def test_planner_places_a_pinned_model_only_at_its_pins(tmp_path, library):
    a, b = _app(tmp_path, "comfy-a"), _app(tmp_path, "comfy-b")
    tmap = default_comfyui_map(["loras", "checkpoints"])
    meta = add_model(library, "foo", subtype="loras")
    other = add_model(library, "bar", subtype="loras", file_name="foo.safetensors", added="2020-01-01T00:00:00Z")
    meta.pins = [Pin(app="comfy-a", path="loras/sdxl/characters/foo.safetensors"),
                 Pin(app="comfy-a", path="loras/pony/foo_v2.safetensors")]
    recs = [ModelRecord(meta=meta), ModelRecord(meta=other)]
    plan_a = build_plan(recs, tmap, a)
    assert plan_a.by_model()[meta.model_id] == ["loras/pony/foo_v2.safetensors", "loras/sdxl/characters/foo.safetensors"]
    assert plan_a.entries["loras/foo.safetensors"].model_id == other.model_id  # no pin in the same folder: no clash
    plan_b = build_plan(recs, tmap, b)  # no pin in b: the map decides (and the older model keeps the stem)
    assert plan_b.entries["loras/foo.safetensors"].model_id == other.model_id
    assert plan_b.by_model()[meta.model_id][0].startswith("loras/foo-")


def test_a_pin_wins_its_stem_over_a_map_placed_model(tmp_path, library):
    a = _app(tmp_path, "comfy-a")
    tmap = default_comfyui_map(["loras"])
    older = add_model(library, "foo", subtype="loras", added="2000-01-01T00:00:00Z")
    pinned = add_model(library, "pinned", subtype="loras")
    pinned.pins = [Pin(app="comfy-a", path="loras/foo.safetensors",
                       files={"loras/foo.safetensors": "pinned.safetensors"})]
    plan = build_plan([ModelRecord(meta=older), ModelRecord(meta=pinned)], tmap, a)
    assert plan.entries["loras/foo.safetensors"].model_id == pinned.model_id
    assert plan.by_model()[older.model_id][0].startswith("loras/foo-")
    assert plan.collisions and plan.collisions[0].winner == pinned.model_id


def test_pin_cli_survives_lost_databases_and_links_at_the_pin(tmp_path, library, pumas, root):
    install = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", install, "--name", "comfy")
    add_model(library, "foo", subtype="loras")
    library.close()
    pumas("pin", "foo", "comfy", "loras/sdxl/characters/foo.safetensors")
    pumas("materialize", "comfy")
    link = install / "models/loras/sdxl/characters/foo.safetensors"
    assert link.is_symlink() and link.read_bytes() == (b"foo" * 8)
    assert not (install / "models/loras/foo.safetensors").exists()  # never both
    assert "comfy: loras/sdxl/characters/foo.safetensors" in pumas("show", "foo").stdout
    (root / "shared-resources/models/models.db").unlink()
    (root / "launcher-data/db/registry.db").unlink()
    pumas("scan")
    shown = pumas("show", "foo", "--json").json()
    assert shown["pins"] == [{"app": "comfy", "path": "loras/sdxl/characters/foo.safetensors", "files": {}}]
    pumas("materialize", "comfy")  # the registry is rebuilt: the link at the pin is recognised as ours
    pumas("unpin", "foo", "comfy")
    pumas("materialize", "comfy")
    assert (install / "models/loras/foo.safetensors").is_symlink()
    assert not os.path.lexists(link)
    assert_one_line_error(pumas("unpin", "foo", "comfy", check=False))
    assert_one_line_error(pumas("pin", "foo", "comfy", "../escape.safetensors", check=False))
    assert_one_line_error(pumas("pin", "foo", "nosuchapp", "loras/x.safetensors", check=False))


def test_the_fuse_views_plan_source_honours_pins(tmp_path, library, pumas, root):
    """The view serves the same Plan: the pinned path, not the map's."""
    from pumasfs.base.paths import Layout
    from pumasfs.view.source import AppPlanSource

    install = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", install, "--name", "comfy")
    meta = add_model(library, "foo", subtype="loras")
    library.close()
    pumas("pin", "foo", "comfy", "loras/sdxl/characters/foo.safetensors")
    plan = AppPlanSource(Layout(root), "comfy").full()
    assert plan.by_model()[meta.model_id] == ["loras/sdxl/characters/foo.safetensors"]
