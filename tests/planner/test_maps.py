"""Translation maps: strict validation, selection by specificity, the defaults written on `app add`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.installs import AppInstall, add_app
from pumasfs.planning.map_schema import TranslationMap, map_json, parse_map
from pumasfs.planning.map_selection import range_width, select_map
from pumasfs.planning.map_store import builtin_maps, ensure_default_map, known_kinds, load_map, load_maps
from tests.planner.conftest import comfy_app, make_comfyui

REPO = Path(__file__).resolve().parents[2]


def write_map(layout: Layout, name: str, data: dict) -> Path:
    layout.maps_dir.mkdir(parents=True, exist_ok=True)
    path = layout.maps_dir / name
    path.write_text(json.dumps(data))
    return path


def base_map(**kw) -> dict:
    return {"schema_version": 1, "app": "comfyui", "version_range": "*",
            "rules": [{"name": "c", "target": "checkpoints", "match": {"subtype": ["checkpoints"]}}], **kw}


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, field, words",
    [
        ({"name": "x", "target": "../outside"}, "rules[1].target", ".."),
        ({"name": "x", "target": "/etc"}, "rules[1].target", "relative"),
        ({"name": "x", "target": "a//b"}, "rules[1].target", "empty"),
        ({"name": "x", "target": ""}, "rules[1].target", "relative"),
        ({"name": "x", "target": "{nope}/x"}, "rules[1].target", "placeholder"),
        ({"name": "x", "target": "t", "match": {"subtpye": ["loras"]}}, "rules[1].match.subtpye", "unknown field"),
        ({"name": "x", "target": "t", "priorty": 3}, "rules[1].priorty", "unknown field"),
        ({"name": "x", "target": "t", "match": {"layout": ["dir"]}}, "rules[1].match.layout", "layout"),
        ({"name": "x", "target": "t", "match": {"min_size": -1}}, "rules[1].match.min_size", ""),
        ({"target": "t"}, "rules[1].name", "required"),
    ],
)
def test_invalid_rules_name_the_file_and_the_field(tmp_path, rule, field, words):
    data = base_map()
    data["rules"].append(rule)
    path = tmp_path / "comfyui-default.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PumasError) as e:
        load_map(path)
    msg = e.value.message
    assert msg.startswith(f"{path}: {field}: "), msg
    assert words in msg


@pytest.mark.parametrize(
    "top, field",
    [
        ({"version_range": ">=banana"}, "version_range"),
        ({"app": "Comfy UI"}, "app"),
        ({"schema_version": 99}, "schema_version"),
        ({"base": "../up"}, "base"),
        ({"colour": "blue"}, "colour"),
        ({"exclude": {"model_types": ["llm"]}}, "exclude.model_types"),
    ],
)
def test_invalid_top_level_fields(top, field):
    with pytest.raises(PumasError) as e:
        parse_map(json.dumps(base_map(**top)), "m.json")
    assert e.value.message.startswith(f"m.json: {field}: "), e.value.message


def test_not_json_is_refused_with_the_file_name():
    with pytest.raises(PumasError, match=r"^broken\.json: not valid JSON"):
        parse_map("{nope", "broken.json")


def test_map_json_round_trips_and_is_compact():
    m = default_comfyui_map(["checkpoints", "clip", "diffusers"])
    text = map_json(m)
    assert parse_map(text, "x") == m
    assert '"tags_any"' not in text  # empty match fields left out


# -- loading and selection -------------------------------------------------------------


@pytest.fixture
def layout(tmp_path) -> Layout:
    return Layout(tmp_path / "root").ensure()


def test_invalid_file_contributes_nothing_and_blocks_its_kind_only(layout):
    write_map(layout, "comfyui-default.json", base_map())
    bad = base_map(install="comfyui")
    bad["rules"][0]["target"] = "../../x"
    write_map(layout, "comfyui-override.json", bad)
    write_map(layout, "a1111-default.json", {**base_map(), "app": "a1111"})
    maps = load_maps(layout)
    assert [p.name for p, _ in maps.maps] == ["a1111-default.json", "comfyui-default.json"]
    assert [(e.path.name, e.app) for e in maps.errors] == [("comfyui-override.json", "comfyui")]
    with pytest.raises(PumasError) as e:
        select_map(layout, comfy_app())
    assert "comfyui-override.json: rules[0].target" in e.value.message
    # Another kind is not held hostage by a broken ComfyUI map.
    a1111 = AppInstall(name="a1111", kind="a1111", path=Path("/srv/a1111"))
    assert select_map(layout, a1111).path.name == "a1111-default.json"


def test_selection_override_then_narrowest_range_then_any(layout):
    write_map(layout, "any.json", base_map())
    write_map(layout, "zero-three.json", base_map(version_range=">=0.3,<0.4"))
    write_map(layout, "zero-three-64.json", base_map(version_range=">=0.3.60,<0.3.70"))
    write_map(layout, "from-zero-three.json", base_map(version_range=">=0.3"))
    write_map(layout, "exact.json", base_map(version_range="==0.2.1"))
    write_map(layout, "mine.json", base_map(install="comfy-b"))

    s = select_map(layout, comfy_app("comfy-a", "0.3.64"))
    assert s.path.name == "zero-three-64.json"
    assert "narrowly" in s.reason and "0.3.64" in s.reason
    assert select_map(layout, comfy_app("comfy-a", "0.3.10")).path.name == "zero-three.json"
    assert select_map(layout, comfy_app("comfy-a", "0.5.0")).path.name == "from-zero-three.json"
    assert select_map(layout, comfy_app("comfy-a", "0.2.1")).path.name == "exact.json"
    s = select_map(layout, comfy_app("comfy-a", None))
    assert s.path.name == "any.json" and "any version" in s.reason
    s = select_map(layout, comfy_app("comfy-b", "0.3.64"))
    assert s.path.name == "mine.json" and "per-install override for comfy-b" in s.reason


def test_equally_specific_maps_are_reported(layout):
    write_map(layout, "b.json", base_map())
    write_map(layout, "a.json", base_map())
    s = select_map(layout, comfy_app())
    assert s.path.name == "a.json" and "b.json" in s.reason


def test_variants_fall_back_to_default(layout):
    write_map(layout, "default.json", base_map())
    write_map(layout, "gguf.json", base_map(variant="gguf"))
    plain = comfy_app()
    assert select_map(layout, plain).path.name == "default.json"
    wants = plain.model_copy(update={"variant": "gguf"})
    assert select_map(layout, wants).path.name == "gguf.json"
    other = plain.model_copy(update={"variant": "other"})
    assert select_map(layout, other).path.name == "default.json"


def test_range_width_orders_specificity():
    order = ["==0.3.64", ">=0.3.60,<0.3.70", "~=0.3.1", ">=0.3,<0.4", ">=0.3", "*"]
    assert sorted(order, key=range_width) == order


def test_builtin_map_used_when_maps_folder_has_none(layout):
    app = AppInstall(name="lmstudio", kind="lmstudio", path=Path("/srv/lms"))
    s = select_map(layout, app)
    assert s.path is None and "shipped with pumas" in s.reason and s.map.app == "lmstudio"


# -- defaults on `app add` ---------------------------------------------------------------


def test_ensure_default_map_writes_once_from_discovered_folders(layout, comfy_tree):
    app = add_app(layout, "comfyui", comfy_tree)
    path = ensure_default_map(layout, app)
    assert path == layout.maps_dir / "comfyui-default.json"
    m = load_map(path)
    targets = {r.target for r in m.rules}
    assert {"checkpoints", "loras", "text_encoders", "diffusion_models", "diffusers", "ipadapter",
            "ultralytics/bbox", "ultralytics/segm", "sams", "controlnet"} <= targets
    assert not {"clip", "unet", "configs"} & targets
    assert m.exclude.model_type == ["llm"]
    assert "ultralytics/bbox" in m.discovered_folders
    # Never rewritten, even when the user changed it.
    data = json.loads(path.read_text())
    data["rules"] = [r for r in data["rules"] if r["target"] != "ipadapter"]
    path.write_text(json.dumps(data, indent=1))
    edited = path.read_bytes()
    assert ensure_default_map(layout, app) is None
    assert path.read_bytes() == edited
    s = select_map(layout, app)
    assert s.path == path
    assert "ipadapter" not in {r.target for r in s.map.rules}  # the user's map, not a fresh default


def test_ensure_default_map_copies_the_builtin_for_other_kinds(layout, tmp_path):
    a1111 = tmp_path / "webui"
    (a1111 / "models" / "Stable-diffusion").mkdir(parents=True)
    app = add_app(layout, "a1111", a1111)
    path = ensure_default_map(layout, app)
    assert load_map(path) == dict(builtin_maps())["a1111.json"]


def test_known_kinds_include_builtin_and_user_maps(layout):
    write_map(layout, "invokeai.json", {**base_map(), "app": "invokeai"})
    assert {"comfyui", "a1111", "forge", "lmstudio", "invokeai"} <= known_kinds(layout)


def test_contrib_maps_are_the_packaged_maps():
    contrib = sorted((REPO / "contrib" / "maps").glob("*.json"))
    packaged = sorted((REPO / "pumasfs" / "data" / "maps").glob("*.json"))
    assert [p.name for p in contrib] == [p.name for p in packaged] == ["a1111.json", "forge.json", "lmstudio.json"]
    for c, p in zip(contrib, packaged):
        assert c.read_bytes() == p.read_bytes(), f"{c} and {p} differ: keep them identical"
        assert isinstance(load_map(c), TranslationMap)


def test_old_comfyui_tree_gets_legacy_alias_targets(tmp_path, layout):
    tree = make_comfyui(tmp_path / "old", "0.1.0")
    for new in ("text_encoders", "diffusion_models"):
        for f in (tree / "models" / new).iterdir():
            f.unlink()
        (tree / "models" / new).rmdir()
    app = add_app(layout, "comfyui", tree)
    m = load_map(ensure_default_map(layout, app))
    targets = {r.target for r in m.rules}
    assert {"clip", "unet"} <= targets and not {"text_encoders", "diffusion_models"} & targets
