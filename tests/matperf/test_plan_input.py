"""The full sync's fast paths give exactly what the slow ones gave.

- ``plan_input.plan_records`` (only the planner's fields, decoded from models.db) plans the
  same tree as the whole records ``Index.records`` returns, on a library with every kind of
  model the planner treats differently;
- ``naming.safe_filename`` / ``stem_of`` with their fast paths return, for tricky names, what
  the implementation before them returned (``names_before.json``, recorded from it);
- a full sync leaves Python's garbage collector as it found it.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

from materializer import api
from pumasfs.planning.plan_input import PlanRecord, plan_records
from pumasfs.planning.planner import build_plan
from pumasfs.store.index import Index, record_row
from pumasfs.store.metadata import Pin
from pumasfs.store.model_record import ModelRecord
from pumasfs.store.naming import safe_filename, stem_of
from tests.planner.conftest import comfy_app, record
from tests.planner.test_planner import COMFY_MAP, _library


def _varied() -> list[ModelRecord]:
    recs = _library(120)  # collisions, folder models, excluded llms, several subtypes
    recs += [
        record("diffusion/sdxl/sharded", "checkpoints", files=[
            ("sharded-00001-of-00002.safetensors", "weights"), ("sharded-00002-of-00002.safetensors", "weights"),
            ("sharded-00001-of-00002.preview.png", "preview")]),
        record("diffusion/sd1/previews", "loras", files=[
            ("look.safetensors", "weights"), ("cover.jpg", "preview"), ("look.civitai.info", "info"),
            ("look.yaml", "config"), ("notes.txt", "other")], tags=["style", "Style"]),
        record("diffusion/sd1/oddname", "loras", files=[("con.safetensors", "weights")]),
        record("diffusion/sd1/spaces", "loras", files=[("my lora v1..safetensors", "weights")]),
        record("diffusion/sd1/unicode", "vae", files=[("vae-é.safetensors", "weights")]),
        record("diffusion/sd1/capfoo", "checkpoints", files=[("FOO.safetensors", "weights")],
               added="2020-01-01T00:00:00Z"),
        record("diffusion/sd1/old-comfy", "checkpoints", overrides={"version_ranges": {"comfyui": "<0.1"}}),
        record("diffusion/sd1/broken-overrides", "checkpoints", overrides_error="overrides.json: not JSON"),
        record("diffusion/sd1/nosub", None),
        record("diffusion/sd1/twoweights", "checkpoints", primary=None,
               files=[("a.safetensors", "weights"), ("b.safetensors", "weights")]),
        record("diffusion/flux/hubbed", "unet", hub_repo="black-forest-labs/FLUX.1-dev", base_model="flux"),
    ]
    pinned = record("diffusion/sdxl/pinned", "loras", files=[("pinned.safetensors", "weights"),
                                                              ("pinned.preview.png", "preview")])
    pinned.meta.pins = [Pin(app="comfyui", path="loras/mine/pinned.safetensors"),
                        Pin(app="comfyui", path="loras/exact/x.safetensors",
                            files={"loras/exact/x.safetensors": "pinned.safetensors"}),
                        Pin(app="other", path="loras/elsewhere.safetensors")]
    recs.append(pinned)
    return list({r.model_id: r for r in recs}.values())  # the sample may draw a folder model's id twice


def test_plan_records_plan_exactly_what_whole_records_plan(tmp_path: Path) -> None:
    recs = _varied()
    index = Index(tmp_path / "models.db")
    with index.transaction():
        index.upsert_many([(r, record_row(r)) for r in recs])
    slim = plan_records(index)
    whole = list(index.records())
    assert [r.model_id for r in slim] == [r.model_id for r in whole] == sorted(r.model_id for r in recs)
    assert all(isinstance(r, PlanRecord) for r in slim)
    for app in (comfy_app(), comfy_app(version="0.0.9"), comfy_app(name="other")):
        want = build_plan(whole, COMFY_MAP, app)
        got = build_plan(slim, COMFY_MAP, app)
        assert got == want
        assert list(got.entries) == list(want.entries)
    plan = build_plan(slim, COMFY_MAP, comfy_app())
    # The sample reaches the paths that matter: pins, shards, companions, renames, exclusions.
    assert "loras/mine/pinned.safetensors" in plan.entries and "loras/exact/x.safetensors" in plan.entries
    assert "checkpoints/sharded-00002-of-00002.safetensors" in plan.entries
    assert "loras/look.civitai.info" in plan.entries and "loras/look.preview.jpg" in plan.entries
    assert "loras/_con.safetensors" in plan.entries
    reasons = {e.reason for e in plan.excluded}
    assert {"overrides", "overrides-invalid", "excluded-type"} <= reasons, reasons
    assert plan.collisions
    index.close()


def test_safe_filename_and_stem_of_return_what_they_returned_before() -> None:
    cases = json.loads((Path(__file__).parent / "names_before.json").read_text())
    assert len(cases) > 20
    for name, safe, stem in cases:
        assert safe_filename(name) == safe, name
        assert stem_of(name) == stem, name


def test_a_full_sync_leaves_the_garbage_collector_as_it_found_it(library, tmp_path: Path) -> None:
    from pumasfs.planning.installs import add_app
    from pumasfs.planning.map_store import ensure_default_map
    from tests.materializer.conftest import make_comfyui

    app = add_app(library.layout, "comfyui", make_comfyui(tmp_path / "ComfyUI"), name="comfy")
    ensure_default_map(library.layout, app)
    assert gc.isenabled()
    api.materialize(library.layout, library, app)
    assert gc.isenabled()
    gc.disable()
    try:
        api.materialize(library.layout, library, app, dry_run=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_remembered_rule_verdict_is_the_one_walking_the_rules_gives() -> None:
    """The planner remembers each kind of model's first matching rule; tags, names and sizes
    that rules read must still tell models apart, and tags no rule names must not."""
    from pumasfs.planning.map_schema import Match, Rule, TranslationMap
    from pumasfs.planning.planner import _group, _RuleBook

    rules = [
        Rule(name="styles", priority=90, target="loras/styles", match=Match(tags_any=["Style"], exclude_tags=["nsfw"])),
        Rule(name="big", priority=80, target="checkpoints/big", match=Match(subtype=["checkpoints"], min_size=1000)),
        Rule(name="pony", priority=70, target="loras/pony", match=Match(filename_glob=["*pony*"])),
        Rule(name="by-family", priority=10, target="{family}/{subtype}"),
    ]
    tmap = TranslationMap(app="comfyui", rules=rules)
    recs = [
        record("diffusion/sd1/a", "loras", tags=["style", "unique-1"]),
        record("diffusion/sd1/b", "loras", tags=["STYLE", "nsfw", "unique-2"]),  # blocked, then by family
        record("diffusion/sd1/c", "loras", tags=["unique-3"]),
        record("diffusion/sd1/d", "checkpoints", size_bytes=5000),
        record("diffusion/sd1/e", "checkpoints", size_bytes=10),
        record("diffusion/sd1/ponyxl", "loras", files=[("ponyxl.safetensors", "weights")]),
        record("diffusion/sdxl/f", "loras", tags=["other"]),
    ]
    book = _RuleBook(tmap.ordered_rules())
    got = [_group(r, tmap, comfy_app(), book) for r in recs]
    assert got == [_group(r, tmap, comfy_app()) for r in recs]  # a fresh book (nothing remembered) each
    folders = [getattr(g, "folder", getattr(g, "reason", None)) for g in got]
    assert folders == ["loras/styles", "sd1/loras", "sd1/loras", "checkpoints/big", "sd1/checkpoints",
                       "loras/pony", "sdxl/loras"], folders
