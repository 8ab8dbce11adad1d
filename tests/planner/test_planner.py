"""The planner: a pure, deterministic function from records + map + install to a Plan."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.map_schema import MapExclude, Match, Rule, TranslationMap
from pumasfs.planning.planner import build_plan, index_stem_lookup, related_records
from pumasfs.store.index import Index
from pumasfs.store.naming import disambiguate
from tests.planner.conftest import COMFYUI_STANDARD, comfy_app, record

CUSTOM = ["ipadapter", "ultralytics/bbox", "ultralytics/segm", "sams"]
COMFY_MAP = default_comfyui_map(COMFYUI_STANDARD + CUSTOM)


def tmap(*rules: Rule, **kw) -> TranslationMap:
    return TranslationMap(app="comfyui", rules=list(rules), **kw)


def test_places_file_models_by_subtype_with_companions():
    rec = record(
        "diffusion/sd1/dreamshaper-8", "checkpoints",
        files=[("dreamshaper_8.safetensors", "weights"), ("dreamshaper_8.yaml", "config"),
               ("dreamshaper_8.preview.png", "preview"), ("README.md", "info")],
    )
    plan = build_plan([rec], COMFY_MAP, comfy_app())
    assert sorted(plan.entries) == [
        "checkpoints/dreamshaper_8.preview.png",
        "checkpoints/dreamshaper_8.safetensors",
        "checkpoints/dreamshaper_8.yaml",
    ]
    entry = plan.entries["checkpoints/dreamshaper_8.safetensors"]
    assert entry.source == "diffusion/sd1/dreamshaper-8/dreamshaper_8.safetensors"
    assert entry.model_id == "diffusion/sd1/dreamshaper-8" and not entry.is_dir
    assert plan.app == "comfyui" and plan.full and plan.models == {rec.model_id}
    assert plan.excluded == [] and plan.collisions == []


def test_preview_with_another_name_is_named_after_the_main_file():
    rec = record("diffusion/sdxl/juggernaut", "checkpoints",
                 files=[("juggernaut.safetensors", "weights"), ("cover.jpg", "preview")])
    plan = build_plan([rec], COMFY_MAP, comfy_app())
    assert plan.entries["checkpoints/juggernaut.preview.jpg"].source == "diffusion/sdxl/juggernaut/cover.jpg"


def test_rule_can_turn_companions_off():
    rec = record("diffusion/sd1/a", files=[("a.safetensors", "weights"), ("a.yaml", "config")])
    m = tmap(Rule(name="c", target="checkpoints", companions=False))
    assert list(build_plan([rec], m, comfy_app()).entries) == ["checkpoints/a.safetensors"]


def test_folder_model_is_one_directory_entry():
    rec = record("diffusion/sdxl/sdxl-base", "diffusers", layout="folder",
                 files=[("model_index.json", "config"), ("unet/diffusion_pytorch_model.safetensors", "weights")],
                 format="diffusers-folder")
    plan = build_plan([rec], COMFY_MAP, comfy_app())
    assert plan.entries == {
        "diffusers/sdxl-base": plan.entries["diffusers/sdxl-base"],
    }
    entry = plan.entries["diffusers/sdxl-base"]
    assert entry.is_dir and entry.source == "diffusion/sdxl/sdxl-base"


def test_folder_model_with_a_file_subtype_does_not_go_into_the_file_folder():
    # A Diffusers checkpoint must not appear as a directory inside checkpoints/.
    rec = record("diffusion/sd1/sd15", "checkpoints", layout="folder", files=[("model_index.json", "config")])
    plan = build_plan([rec], COMFY_MAP, comfy_app())
    assert list(plan.entries) == ["diffusers/sd15"]


def test_sharded_gguf_links_every_shard_beside_the_first():
    rec = record("llm/llama/big", None, files=[
        ("big-00001-of-00002.gguf", "weights"), ("big-00002-of-00002.gguf", "weights"), ("other.gguf", "weights"),
    ], primary="big-00001-of-00002.gguf", hub_repo="bartowski/Big-GGUF")
    m = TranslationMap(app="lmstudio", rules=[Rule(name="g", target="{publisher}/{repo}",
                                                    match=Match(model_type=["llm"], filename_glob=["*.gguf"]))])
    plan = build_plan([rec], m, comfy_app())
    assert sorted(plan.entries) == [
        "bartowski/Big-GGUF/big-00001-of-00002.gguf", "bartowski/Big-GGUF/big-00002-of-00002.gguf",
    ]


def test_placeholders_fall_back_and_cannot_escape():
    m = TranslationMap(app="x", rules=[Rule(name="g", target="{publisher}/{repo}/{subtype}")])
    plain = record("llm/qwen2/qwen-7b", None, files=[("qwen.gguf", "weights")])
    assert list(build_plan([plain], m, comfy_app()).entries) == ["pumas/qwen-7b/unknown/qwen.gguf"]
    evil = record("llm/qwen2/evil", "../../etc", files=[("e.gguf", "weights")], hub_repo="../..")
    plan = build_plan([evil], m, comfy_app())
    (path,) = plan.entries
    assert ".." not in path.split("/"), path


def test_unsafe_primary_file_is_excluded():
    rec = record("diffusion/sd1/bad", files=[("../../../etc/passwd", "weights")])
    plan = build_plan([rec], COMFY_MAP, comfy_app())
    assert plan.entries == {}
    assert [(e.model_id, e.reason) for e in plan.excluded] == [("diffusion/sd1/bad", "unsafe-path")]


def test_link_name_is_made_safe():
    rec = record("diffusion/sd1/odd", files=[('we:ird*"name.safetensors', "weights")])
    (path,) = build_plan([rec], COMFY_MAP, comfy_app()).entries
    assert path == "checkpoints/we_ird__name.safetensors"


# -- matching --------------------------------------------------------------------


def test_exclude_tags_always_wins_and_falls_through_to_later_rules():
    rules = [
        Rule(name="nsfw-free", priority=10, target="a", match=Match(tags_any=["anime"], exclude_tags=["nsfw"])),
        Rule(name="fallback", priority=1, target="b", match=Match(model_type=["diffusion"])),
    ]
    tagged = record("diffusion/sd1/x", tags=["Anime", "NSFW"])
    clean = record("diffusion/sd1/y", tags=["anime"])
    plan = build_plan([tagged, clean], tmap(*rules), comfy_app())
    assert plan.entries["a/y.safetensors"].model_id == clean.model_id
    assert plan.entries["b/x.safetensors"].model_id == tagged.model_id
    only = build_plan([tagged], tmap(rules[0]), comfy_app())
    assert [(e.reason) for e in only.excluded] == ["excluded-tag"]


def test_map_exclude_guard_tags():
    m = tmap(Rule(name="all", target="all"), exclude=MapExclude(tags=["private"]))
    plan = build_plan([record("diffusion/sd1/p", tags=["private"])], m, comfy_app())
    assert plan.entries == {} and plan.excluded[0].reason == "excluded-tag"


def test_priorities_higher_first_ties_by_order():
    rec = record("diffusion/sdxl/z")
    rules = [
        Rule(name="low", priority=1, target="low"),
        Rule(name="first-high", priority=5, target="high1"),
        Rule(name="second-high", priority=5, target="high2"),
    ]
    assert list(build_plan([rec], tmap(*rules), comfy_app()).entries) == ["high1/z.safetensors"]


@pytest.mark.parametrize(
    "match, hit",
    [
        (Match(family=["SDXL"]), True),
        (Match(family=["sd1"]), False),
        (Match(base_model=["sdxl 1.0"]), True),
        (Match(filename_glob=["*.SAFETENSORS"]), True),
        (Match(filename_glob=["*.gguf"]), False),
        (Match(min_size=100), True),
        (Match(min_size=101), False),
        (Match(max_size=99), False),
        (Match(format=["safetensors"]), True),
        (Match(layout=["folder"]), False),
        (Match(model_type=["diffusion"], subtype=["loras"]), True),
        (Match(model_type=["diffusion"], subtype=["vae"]), False),
        (Match(tags_any=["a", "style"]), True),
        (Match(tags_any=["a", "b"]), False),
    ],
)
def test_match_fields(match: Match, hit: bool):
    rec = record("diffusion/sdxl/m", "loras", base_model="SDXL 1.0", size_bytes=100, format="safetensors",
                 tags=["style"])
    plan = build_plan([rec], tmap(Rule(name="r", target="t", match=match)), comfy_app())
    assert bool(plan.entries) is hit
    if not hit:
        assert plan.excluded[0].reason == "no-rule"


# -- ComfyUI specifics -------------------------------------------------------------


def test_aliased_pairs_get_one_folder_only():
    te = record("diffusion/t5/t5xxl", "text_encoders")
    legacy = record("diffusion/clip-l/clip-l", "clip")
    unet = record("diffusion/flux/flux-dev", "diffusion_models")
    old_unet = record("diffusion/flux/flux-schnell", "unet")
    plan = build_plan([te, legacy, unet, old_unet], COMFY_MAP, comfy_app())
    folders = {p.split("/")[0] for p in plan.entries}
    assert folders == {"text_encoders", "diffusion_models"}
    for a, b in (("clip", "text_encoders"), ("unet", "diffusion_models")):
        assert not (any(p.startswith(a + "/") for p in plan.entries) and any(p.startswith(b + "/") for p in plan.entries))
    # Old installs with only the legacy names get the legacy folder.
    old = default_comfyui_map(["checkpoints", "clip", "unet"])
    plan = build_plan([te, unet], old, comfy_app())
    assert sorted(plan.entries) == ["clip/t5xxl.safetensors", "unet/flux-dev.safetensors"]


def test_no_rule_of_the_default_map_targets_both_names_of_a_pair():
    targets = {r.target for r in COMFY_MAP.rules}
    assert not {"clip", "unet"} & targets
    assert {"text_encoders", "diffusion_models", "ipadapter", "ultralytics/bbox", "sams"} <= targets


def test_llm_never_goes_into_comfyui_whatever_its_subtype():
    llms = [
        record("llm/llama/llama-3-8b", None, files=[("llama.gguf", "weights")]),
        record("llm/qwen2/qwen-te", "text_encoders", files=[("qwen.safetensors", "weights")]),
        record("llm/llama/llama-dir", "diffusers", layout="folder", files=[("config.json", "config")]),
    ]
    plan = build_plan(llms, COMFY_MAP, comfy_app())
    assert plan.entries == {}
    assert {e.reason for e in plan.excluded} == {"excluded-type"}


def test_custom_node_folders_by_subtype():
    recs = [record("vision/ipadapter/ip-plus", "ipadapter"), record("vision/yolo/face-yolo", "ultralytics/bbox")]
    plan = build_plan(recs, COMFY_MAP, comfy_app())
    assert sorted(plan.entries) == ["ipadapter/ip-plus.safetensors", "ultralytics/bbox/face-yolo.safetensors"]


def test_a1111_map_puts_embeddings_at_the_install_root():
    from pumasfs.planning.map_selection import plan_root
    from pumasfs.planning.map_store import builtin_maps

    a1111 = dict(builtin_maps())["a1111.json"]
    app = comfy_app().model_copy(update={"kind": "a1111", "name": "a1111"})
    recs = [record("diffusion/sd1/easyneg", "embeddings"), record("diffusion/sd1/ckpt", "checkpoints"),
            record("diffusion/sd1/lyco", "lycoris")]
    plan = build_plan(recs, a1111, app)
    assert sorted(plan.entries) == ["embeddings/easyneg.safetensors", "models/Lora/lyco.safetensors",
                                    "models/Stable-diffusion/ckpt.safetensors"]
    assert plan_root(app, a1111) == Path("/srv/ComfyUI")


# -- overrides ------------------------------------------------------------------------


def test_overrides_in_range_out_of_range_and_invalid():
    ok = record("diffusion/sd1/ok", overrides={"version_ranges": {"comfyui": ">=0.3,<0.4"}})
    old = record("diffusion/sd1/old", overrides={"version_ranges": {"comfyui": "<0.3"}})
    by_name = record("diffusion/sd1/byname", overrides={"version_ranges": {"comfyui": "<0.3", "comfy-b": "*"}})
    bad = record("diffusion/sd1/bad", overrides_error="overrides.json: invalid at version_ranges: nope")
    other_app = record("diffusion/sd1/a1111only", overrides={"version_ranges": {"a1111": "<1"}})
    plan = build_plan([ok, old, by_name, bad, other_app], COMFY_MAP, comfy_app("comfy-b"))
    assert {e.model_id for e in plan.entries.values()} == {ok.model_id, by_name.model_id, other_app.model_id}
    reasons = {e.model_id: (e.reason, e.detail) for e in plan.excluded}
    assert reasons[old.model_id][0] == "overrides"
    assert reasons[bad.model_id] == ("overrides-invalid", "overrides.json: invalid at version_ranges: nope")


def test_unknown_app_version_passes_only_unconstrained_overrides():
    ranged = record("diffusion/sd1/r", overrides={"version_ranges": {"comfyui": ">=0.3"}})
    free = record("diffusion/sd1/f", overrides={"version_ranges": {"comfyui": "*"}})
    plan = build_plan([ranged, free], COMFY_MAP, comfy_app(version=None))
    assert {e.model_id for e in plan.entries.values()} == {free.model_id}


# -- collisions -----------------------------------------------------------------------


def test_collision_earliest_added_keeps_the_name_and_all_entries_are_renamed():
    early = record("diffusion/sdxl/foo", files=[("foo.safetensors", "weights")], added="2023-01-01T00:00:00Z")
    late = record("diffusion/sd1/foo", added="2024-06-01T00:00:00Z",
                  files=[("foo.safetensors", "weights"), ("foo.yaml", "config"), ("foo.preview.png", "preview")])
    plan = build_plan([late, early], COMFY_MAP, comfy_app())
    assert plan.entries["checkpoints/foo.safetensors"].model_id == early.model_id
    renamed = disambiguate("foo.safetensors", late.model_id)
    stem = renamed.rsplit(".", 1)[0]
    assert plan.entries[f"checkpoints/{renamed}"].model_id == late.model_id
    assert plan.entries[f"checkpoints/{stem}.yaml"].source == "diffusion/sd1/foo/foo.yaml"
    assert plan.entries[f"checkpoints/{stem}.preview.png"].model_id == late.model_id
    assert len(plan.collisions) == 1
    c = plan.collisions[0]
    assert c.path == "checkpoints/foo.safetensors" and c.winner == early.model_id
    assert c.renamed == ((late.model_id, f"checkpoints/{renamed}"),)


def test_same_stem_other_extension_is_a_collision():
    # ComfyUI pairs foo.yaml / foo.preview.png with both foo.ckpt and foo.safetensors.
    a = record("diffusion/sd1/a", files=[("foo.ckpt", "weights")], added="2023-01-01T00:00:00Z")
    b = record("diffusion/sd1/b", files=[("foo.safetensors", "weights")], added="2023-01-01T00:00:00Z")
    plan = build_plan([a, b], COMFY_MAP, comfy_app())
    assert "checkpoints/foo.ckpt" in plan.entries
    assert "checkpoints/foo.safetensors" not in plan.entries
    assert plan.collisions[0].winner == a.model_id  # same date: model id decides


def test_collision_ties_broken_by_model_id_and_same_name_in_other_folders_is_fine():
    x = record("diffusion/sd1/x", files=[("same.safetensors", "weights")])
    y = record("diffusion/sd2/y", files=[("same.safetensors", "weights")])
    z = record("diffusion/sd1/z", "loras", files=[("same.safetensors", "weights")])
    plan = build_plan([y, z, x], COMFY_MAP, comfy_app())
    assert plan.entries["checkpoints/same.safetensors"].model_id == x.model_id
    assert plan.entries["loras/same.safetensors"].model_id == z.model_id
    assert len(plan.entries) == 3


def test_folder_model_collisions():
    a = record("diffusion/sdxl/base", "diffusers", layout="folder", files=[], added="2023-01-01T00:00:00Z")
    b = record("diffusion/sd3/base", "diffusers", layout="folder", files=[], added="2024-01-01T00:00:00Z")
    plan = build_plan([a, b], COMFY_MAP, comfy_app())
    assert plan.entries["diffusers/base"].model_id == a.model_id
    assert plan.entries[f"diffusers/{disambiguate('base', b.model_id)}"].is_dir


# -- purity and determinism -----------------------------------------------------------------


def _library(n: int = 60) -> list:
    rng = random.Random(7)
    subtypes = ["checkpoints", "loras", "vae", "text_encoders", "clip", "unet", "diffusers", "ipadapter", None]
    out = []
    for i in range(n):
        sub = rng.choice(subtypes)
        stem = rng.choice(["foo", "bar", "baz", f"m{i}"])
        if sub == "diffusers":
            out.append(record(f"diffusion/fam{i % 3}/{stem}", sub, layout="folder", files=[],
                              added=f"2024-01-{1 + i % 5:02d}T00:00:00Z"))
        else:
            mt = "llm" if sub is None else "diffusion"
            out.append(record(f"{mt}/fam{i % 3}/{stem}-{i}", sub, files=[(f"{stem}.safetensors", "weights"),
                              (f"{stem}.yaml", "config")], added=f"2024-01-{1 + i % 5:02d}T00:00:00Z"))
    return out


def test_deterministic_whatever_the_input_order():
    recs = _library()
    first = build_plan(recs, COMFY_MAP, comfy_app())
    for seed in range(5):
        shuffled = recs[:]
        random.Random(seed).shuffle(shuffled)
        again = build_plan(shuffled, COMFY_MAP, comfy_app())
        assert again == first
        assert list(again.entries) == list(first.entries)
    assert first.collisions, "the sample library should contain collisions"
    assert len({p for p in first.entries}) == len(first.entries)


# Run in a child process: an audit hook can never be removed, and this one must not watch the rest of
# the session.  The records are built before the hook is installed; only build_plan runs under it.
_PURITY_CHECK = """
import json, sys
from tests.planner.test_planner import COMFY_MAP, _library, build_plan, comfy_app

recs = _library(30)
before = [r.meta.model_dump() for r in recs]
watched = {"open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rename", "os.symlink", "os.link",
           "shutil.rmtree", "socket.connect", "subprocess.Popen", "os.system"}
events = []
watching = [True]

def hook(event, args):
    if watching[0] and event in watched:
        events.append(event)

sys.addaudithook(hook)
build_plan(recs, COMFY_MAP, comfy_app(path="/nonexistent/app"))
watching[0] = False
print(json.dumps({"events": events, "inputs_untouched": [r.meta.model_dump() for r in recs] == before}))
"""


def test_pure_no_filesystem_access_and_inputs_untouched():
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", _PURITY_CHECK], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == {"events": [], "inputs_untouched": True}


# -- incremental == slice of full -------------------------------------------------------------


def _slice(plan, ids):
    return {p: e for p, e in plan.entries.items() if e.model_id in ids}


def test_incremental_plan_equals_the_slice_of_the_full_plan(tmp_path):
    recs = _library(80)
    index = Index(tmp_path / "models.db")
    try:
        with index.transaction():
            for r in recs:
                index.upsert(r)
        full = build_plan(recs, COMFY_MAP, comfy_app())
        lookup = index_stem_lookup(index)
        for changed in recs[::7]:
            picked = related_records([changed], lookup, COMFY_MAP, comfy_app())
            ids = {r.model_id for r in picked}
            part = build_plan(picked, COMFY_MAP, comfy_app(), full=False)
            assert not part.full and part.models == ids
            assert part.entries == _slice(full, ids), changed.model_id

        # A removed winner: its old stem (from the registry) brings back its loser's natural name.
        winner = full.collisions[0].winner
        loser = full.collisions[0].renamed[0][0]
        remaining = [r for r in recs if r.model_id != winner]
        with index.transaction():
            index.remove(winner)
        stem = full.collisions[0].path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        picked = related_records([], lookup, COMFY_MAP, comfy_app(), extra_stems=[stem])
        ids = {r.model_id for r in picked}
        assert loser in ids
        after = build_plan(remaining, COMFY_MAP, comfy_app())
        part = build_plan(picked, COMFY_MAP, comfy_app(), full=False)
        assert part.entries == _slice(after, ids)
    finally:
        index.close()
