"""The view's tree without a mount: inodes, updates, lookup counts, unsafe entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.planning.plan import Plan, PlanEntry
from pumasfs.view.backing import Backing, Resolved, resolve_plan, safe_relpath
from pumasfs.view.tree import ROOT_INODE, PartialClash, Tree

pytestmark = pytest.mark.nofuse


def r(model_id: str, source: str, ino: int = 1, is_dir: bool = False) -> Resolved:
    return Resolved(PlanEntry(model_id, source, is_dir), f"/lib/{source}", Backing(f"/lib/{source}", 1, ino, 10, 0, is_dir))


def test_full_plan_makes_folders_and_entries():
    t = Tree(content=False)
    t.apply({"checkpoints/a.safetensors": r("m/a", "m/a/a.safetensors"), "loras/sub/b.safetensors": r("m/b", "m/b/b.safetensors", 2)})
    assert t.paths() == {"checkpoints", "checkpoints/a.safetensors", "loras", "loras/sub", "loras/sub/b.safetensors"}
    assert t.listing(ROOT_INODE) == ["checkpoints", "loras"]
    node = t.child(t.by_path["checkpoints"], "a.safetensors")
    assert node.kind == "link" and node.target == "/lib/m/a/a.safetensors"
    assert t.root.subdirs == 2


def test_inodes_are_stable_and_never_reused_for_another_file():
    t = Tree(content=True)
    a = r("m/a", "m/a/a.safetensors", ino=1)
    t.apply({"c/a": a, "c/b": r("m/b", "m/b/b", ino=2)})
    ino_a = t.by_path["c/a"]
    # Unchanged entries keep their inode across a full re-apply.
    t.apply({"c/a": a, "c/b": r("m/b", "m/b/b", ino=2)})
    assert t.by_path["c/a"] == ino_a
    # The library file replaced (new device inode): a new inode for the same name.
    changes = t.apply({"c/a": r("m/a", "m/a/a.safetensors", ino=99), "c/b": r("m/b", "m/b/b", ino=2)})
    assert t.by_path["c/a"] != ino_a
    assert (t.by_path["c"], "a") in changes.invalidate
    # Removed, then the original file back: its old number again, nothing else ever got it.
    t.apply({"c/b": r("m/b", "m/b/b", ino=2)})
    assert "c/a" not in t.by_path
    t.apply({"c/a": a, "c/b": r("m/b", "m/b/b", ino=2)})
    assert t.by_path["c/a"] == ino_a
    all_inos = t.allocated()
    assert len(all_inos) == len(set(all_inos))


def test_removed_node_stays_known_until_forgotten():
    t = Tree(content=True)
    t.apply({"c/a": r("m/a", "m/a/a")})
    node = t.nodes[t.by_path["c/a"]]
    t.remember(node, 3)
    changes = t.apply({})
    assert t.paths() == set()
    assert {name for _, name in changes.invalidate} == {"a", "c"}
    assert node.inode in t.nodes  # the kernel still holds it
    t.forget(node.inode, 2)
    assert node.inode in t.nodes
    t.forget(node.inode, 1)
    assert node.inode not in t.nodes
    assert t.known() == 0


def test_partial_plan_touches_only_its_models():
    t = Tree(content=False)
    t.apply({"c/a": r("m/a", "m/a/a"), "c/b": r("m/b", "m/b/b", 2)})
    ino_b = t.by_path["c/b"]
    changes = t.apply({"c/a2": r("m/a", "m/a/a")}, frozenset({"m/a"}))
    assert t.paths() == {"c", "c/a2", "c/b"}
    assert t.by_path["c/b"] == ino_b
    assert changes.added == 1 and changes.removed == 1
    # A removed model: covered by the plan, no entries.
    t.apply({}, frozenset({"m/a"}))
    assert t.paths() == {"c", "c/b"}


def test_partial_plan_taking_another_models_name_is_refused_before_any_change():
    t = Tree(content=False)
    t.apply({"c/a": r("m/a", "m/a/a"), "c/b": r("m/b", "m/b/b", 2)})
    before = dict(t.by_path)
    with pytest.raises(PartialClash):
        t.apply({"c/b": r("m/new", "m/new/b", 3)}, frozenset({"m/new"}))
    with pytest.raises(PartialClash):
        t.apply({"c/a/x": r("m/new", "m/new/x", 3)}, frozenset({"m/new"}))
    assert t.by_path == before


def test_full_plan_with_a_file_where_a_folder_is_needed_skips_the_entry():
    t = Tree(content=False)
    changes = t.apply({"c/a": r("m/a", "m/a/a"), "c/a/b": r("m/b", "m/b/b", 2)})
    assert changes.skipped == ["c/a/b"]
    assert t.paths() == {"c", "c/a"}


@pytest.mark.parametrize("path", ["", "/etc", "a/../b", "..", "a//b", "./a", "a/\0b", "x" * 256])
def test_unsafe_paths_are_refused(path):
    assert not safe_relpath(path)


def test_resolve_refuses_entries_reaching_outside_the_library(tmp_path: Path):
    lib = tmp_path / "lib"
    (lib / "m").mkdir(parents=True)
    (lib / "m" / "ok.bin").write_bytes(b"ok")
    (tmp_path / "secret").write_bytes(b"secret")
    (lib / "m" / "escape.bin").symlink_to(tmp_path / "secret")
    plan = Plan(app="x", entries={
        "c/ok.bin": PlanEntry("m", "m/ok.bin"),
        "c/escape.bin": PlanEntry("m", "m/escape.bin"),
        "c/dots.bin": PlanEntry("m", "m/../../secret"),
        "../out.bin": PlanEntry("m", "m/ok.bin"),
        "c/abs.bin": PlanEntry("m", "/etc/passwd"),
        "c/missing.bin": PlanEntry("m", "m/missing.bin"),
    })
    out = resolve_plan(plan, str(lib.resolve()))
    assert set(out) == {"c/ok.bin", "c/missing.bin"}
    assert out["c/missing.bin"].backing is None  # in the plan, so shown; it just cannot be opened
