"""The shared replanner (``pumasfs.planning.replan``) over a real library and its real SQLite index.

A consumer here is what both views are: a map path -> (model, source) it
shows, a cursor, and the names it shows per model.  Applying every replan
must give, at every step, exactly the full plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.planner import build_plan
from pumasfs.planning.replan import Cursor, Replan, full_reason, plan_inputs, replan
from pumasfs.store.library import Library
from pumasfs.store.metadata import Pin
from pumasfs.view.source import AppPlanSource
from tests.materializer.conftest import add_model, add_rule, make_comfyui, register


@dataclass
class Consumer:
    """What a view shows, and where it stands."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (model id, source)
    cursor: Cursor | None = None

    def shown(self, model_ids: set[str]) -> list[str]:
        return [p for p, (mid, _) in self.entries.items() if mid in model_ids]

    def apply(self, rp: Replan) -> None:
        plan = rp.plan
        if plan.full:
            self.entries = {}
        else:
            self.entries = {p: v for p, v in self.entries.items() if v[0] not in plan.models}
        for path, e in plan.entries.items():
            assert e.model_id in plan.models
            assert path not in self.entries, f"{path} is held by {self.entries[path][0]}, not covered by the plan"
            self.entries[path] = (e.model_id, e.source)
        self.cursor = rp.cursor

    def step(self, library: Library, app: AppInstall) -> Replan | None:
        rp = replan(library.index, plan_inputs(library.layout, app), self.cursor, self.shown)
        if rp is not None:
            self.apply(rp)
        return rp


def full_entries(library: Library, app: AppInstall) -> dict[str, tuple[str, str]]:
    tmap = plan_inputs(library.layout, app).tmap
    plan = build_plan(list(library.index.records()), tmap, app)
    return {p: (e.model_id, e.source) for p, e in plan.entries.items()}


def test_nothing_then_full_then_only_what_changed(library: Library, app: AppInstall) -> None:
    a = add_model(library, "alpha", subtype="loras")
    c = Consumer()
    rp = c.step(library, app)
    assert rp is not None and rp.plan.full and rp.why_full == "never planned"
    assert c.step(library, app) is None  # nothing changed
    b = add_model(library, "beta", subtype="loras")
    rp = c.step(library, app)
    assert rp is not None and not rp.plan.full and rp.why_full is None
    assert rp.plan.models == {b.model_id}  # alpha shares no name with beta: not replanned
    assert c.entries == full_entries(library, app)
    library.remove(a.model_id)
    rp = c.step(library, app)
    assert rp is not None and rp.plan.models == {a.model_id} and rp.plan.entries == {}  # a removal covers it
    assert c.entries == full_entries(library, app)
    assert rp.cursor.seq == library.index.latest_seq()


def test_a_rebuilt_index_and_another_map_replan_in_full_another_install_does_not(
        library: Library, app: AppInstall, tmp_path: Path) -> None:
    add_model(library, "alpha", subtype="loras")
    c = Consumer()
    c.step(library, app)
    # Another install registered: apps.json changes, but not this install's inputs.
    register(library, make_comfyui(tmp_path / "other"), name="other")
    inputs = plan_inputs(library.layout, app)
    assert c.cursor is not None and inputs.key == c.cursor.key
    assert c.step(library, app) is None
    # A per-install map sending LoRAs elsewhere: the one check says so, and the plan follows.
    add_rule(library, app, "loras/mine", ["loras"])
    assert full_reason(c.cursor, library.index, plan_inputs(library.layout, app)) == "the map or the install changed"
    rp = c.step(library, app)
    assert rp is not None and rp.plan.full and list(c.entries) == ["loras/mine/alpha.safetensors"]
    # models.db deleted and rebuilt from the metadata: another epoch.
    library.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{library.layout.index_db}{suffix}").unlink(missing_ok=True)
    library.scan()
    rp = c.step(library, app)
    assert rp is not None and rp.plan.full and rp.why_full == "the index was rebuilt"
    assert c.entries == full_entries(library, app)


def test_pinned_names_are_in_the_index_and_survive_its_rebuild(library: Library, app: AppInstall) -> None:
    meta = add_model(library, "alpha", subtype="loras")
    meta.pins = [Pin(app=app.name, path="loras/chars/Foo.safetensors"),
                 Pin(app="other", path="loras/x.safetensors", files={"loras/x.preview.png": "alpha.png"})]
    library.save(meta)
    index = library.index
    assert meta.model_id in index.models_with_stem("foo")  # by pinned name, without case
    assert meta.model_id in index.models_with_stem("x")  # any app: a superset is harmless
    library.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{library.layout.index_db}{suffix}").unlink(missing_ok=True)
    library.scan()
    assert meta.model_id in library.index.models_with_stem("foo")
    library.remove(meta.model_id)
    assert library.index.models_with_stem("foo") == set()


NAMES = ["foo", "Foo", "bar", "foo_v2"]
PINS = ["loras/foo.safetensors", "loras/bar.safetensors", "loras/sub/foo.safetensors", "loras/FOO_v2.safetensors",
        "loras/baz.safetensors", "checkpoints/foo.safetensors",
        "loras/foo.ckpt", "loras/bar"]  # names that do not end like the file: the main file alone


@pytest.mark.parametrize("seed", [20261129, 7])
def test_every_replan_equals_the_full_plan_through_random_changes(library: Library, app: AppInstall,
                                                                  seed: int) -> None:
    """Imports with clashing names (and case), edits, pins at other models' names, unpins, removals."""
    rng = random.Random(seed)
    c = Consumer()
    c.step(library, app)
    alive: list[str] = []
    contested = 0  # partial plans that settled a shared name: the case the replanner exists for
    for i in range(60):
        op = rng.choice(["add", "add", "edit", "pin", "pin", "unpin", "rm"] if alive else ["add"])
        if op == "add":
            name = rng.choice(NAMES)
            meta = add_model(library, name, subtype=rng.choice(["loras", "loras", "checkpoints"]),
                             family=rng.choice(["sd1", "sdxl", "pony"]), data=f"{name}-{i}".encode() * 4,
                             added=f"20{rng.randint(10, 25)}-01-01T00:00:00Z")
            alive.append(meta.model_id)
        else:
            mid = rng.choice(alive)
            meta = library.get(mid)
            if op == "edit":
                library.edit(mid, {"notes": f"edit {i}"})
            elif op == "pin":
                path = rng.choice(PINS)
                files = {path: meta.primary_file or ""} if rng.random() < 0.5 else {}
                meta.pins = [p for p in meta.pins if p.app != app.name or rng.random() < 0.5] + [
                    Pin(app=app.name, path=path, files=files)]
                library.save(meta)
            elif op == "unpin":
                meta.pins = []
                library.save(meta)
            else:
                library.remove(mid)
                alive.remove(mid)
        rp = c.step(library, app)
        assert rp is not None and not rp.plan.full, (i, op)
        assert c.entries == full_entries(library, app), (i, op)
        contested += bool(rp.plan.collisions)
    assert contested >= 10, contested


def test_the_views_source_reads_inputs_again_only_when_their_files_change(
        library: Library, app: AppInstall, tmp_path: Path) -> None:
    """The view re-reads apps.json and the maps when their files change; whether that changes the
    plan is the replanner's check: another install's record does not, a map does."""
    add_model(library, "alpha", subtype="loras")
    source = AppPlanSource(Layout(library.layout.root), app.name)
    try:
        assert list(source.full().entries) == ["loras/alpha.safetensors"]
        register(library, make_comfyui(tmp_path / "other"), name="other")
        assert source.poll() is None
        add_rule(library, app, "loras/mine", ["loras"])
        plan = source.poll()
        assert plan is not None and plan.full and list(plan.entries) == ["loras/mine/alpha.safetensors"]
        broken = library.layout.maps_dir / "zz-broken.json"
        broken.write_text("{not json")
        with pytest.raises(PumasError):
            source.poll()  # the daemon logs it and keeps its tree
        with pytest.raises(PumasError):
            source.poll()  # read again, not forgotten
        broken.unlink()
        assert source.poll() is None  # the same inputs as before the broken file
    finally:
        source.close()


def test_the_views_full_plan_is_the_planners_own_after_compaction(library: Library, app: AppInstall) -> None:
    """The view copies a full plan into fresh memory (source._made_compact): every field survives,
    and the cursor with it, so that the next change is a partial plan again."""
    from pumasfs.planning.replan import full_replan

    for name in ("alpha", "Alpha", "beta"):  # a case clash: a collision and a renamed entry
        add_model(library, name, subtype="loras", data=name.encode() * 4)
    add_model(library, "llm", subtype="llm", model_type="llm", family="llama")  # excluded from ComfyUI
    source = AppPlanSource(Layout(library.layout.root), app.name)
    try:
        shown = source.full()
        direct = full_replan(library.index, plan_inputs(library.layout, app)).plan
        assert shown == direct and shown is not direct
        assert shown.collisions and shown.excluded and shown.full
        add_model(library, "gamma", subtype="loras")
        step = source.poll()
        assert step is not None and not step.full and list(step.entries) == ["loras/gamma.safetensors"]
    finally:
        source.close()
