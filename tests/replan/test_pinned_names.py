"""A model pinned at a name that is not its library file's name, in both views.

Its pinned name is found through the index (``pins`` rows), so an incremental
sync, and a mounted view's poll, give exactly what a full plan gives, without
a conflict, whatever changes: the pinned model itself (edit, unpin, re-pin,
rm) or a model whose natural name is the pinned one (edit, import).  Before
the index knew pinned names, editing ``foo`` below was a conflict for links
("run a full `pumas sync`") and a clash the view settled by rebuilding itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from materializer import api
from pumasfs.base.paths import Layout
from pumasfs.store.library import Library
from pumasfs.store.metadata import Pin
from pumasfs.view.backing import resolve_plan
from pumasfs.view.live import models_root_of
from pumasfs.view.source import AppPlanSource
from pumasfs.view.tree import Tree
from tests.materializer.conftest import add_model
from tests.materializer.helpers import assert_consistent, full_plan
from tests.view.conftest import fuse_skip_reason, wait_for

Step = tuple[str, Callable[[], object]]


def _pin(library: Library, model_id: str, app: str, *paths: str, files: bool = False) -> None:
    """Pin at ``paths`` in ``app`` (none: unpin there); ``files`` records the exact files, as adoption does."""
    meta = library.get(model_id)
    primary = meta.primary_file or ""
    meta.pins = [p for p in meta.pins if p.app != app] + [
        Pin(app=app, path=p, files={p: primary} if files else {}) for p in paths
    ]
    library.save(meta)


def _steps(library: Library, app_name: str, *, files: bool) -> list[Step]:
    """The models, then each change after which the view must equal a full plan."""
    add_model(library, "zeta", subtype="loras")
    alpha = add_model(library, "alpha", subtype="loras", added="2024-06-01T00:00:00Z").model_id
    foo = add_model(library, "foo", subtype="loras", added="2020-01-01T00:00:00Z", data=b"f" * 32).model_id
    later: dict[str, str] = {}

    def import_another_foo() -> None:
        later["foo2"] = add_model(library, "foo", family="sdxl", subtype="loras", added="2019-01-01T00:00:00Z",
                                  data=b"g" * 32).model_id

    def pin_alpha(*paths: str) -> Callable[[], None]:
        return lambda: _pin(library, alpha, app_name, *paths, files=files)

    return [
        # alpha (file alpha.safetensors) takes foo's name: foo, placed by the map, is renamed.
        ("pin alpha at foo", pin_alpha("loras/foo.safetensors")),
        # foo changes: its natural name is alpha's pinned one, which only the index can tell.
        ("edit foo", lambda: library.edit(foo, {"notes": "touched"})),
        ("import an older foo", import_another_foo),
        ("edit the older foo", lambda: library.edit(later["foo2"], {"notes": "touched"})),
        ("edit alpha", lambda: library.edit(alpha, {"notes": "touched"})),
        ("re-pin alpha elsewhere", pin_alpha("loras/sdxl/characters/foo.safetensors")),
        ("pin alpha back", pin_alpha("loras/foo.safetensors")),
        ("unpin alpha", pin_alpha()),
        ("pin alpha again", pin_alpha("loras/foo.safetensors")),
        ("rm foo", lambda: library.remove(foo)),
        ("edit the older foo again", lambda: library.edit(later["foo2"], {"notes": "again"})),
        ("rm alpha", lambda: library.remove(alpha)),
    ]


def _planned(library: Library, app) -> dict[str, str]:
    """A full plan: app path -> library source."""
    plan, _ = full_plan(library, app)
    return {p: e.source for p, e in plan.entries.items()}


@pytest.mark.parametrize("files", [False, True], ids=["pin", "adopted-pin"])
def test_links_follow_a_pin_named_unlike_its_file(library: Library, app, files: bool) -> None:
    """``files``: adoption records the exact files (``Pin.files``), the planner's other branch."""
    steps = _steps(library, app.name, files=files)
    api.materialize(library.layout, library, app)
    for name, step in steps:
        step()
        [r] = api.sync_pending(library.layout, library)
        assert (r.mode, r.conflicts, r.errors) == ("incremental", [], []), name
        assert_consistent(library, app)  # plan == registry == disk, the plan being a full one
    assert not any("foo" in p and "alpha" in s for p, s in _planned(library, app).items())


@pytest.mark.parametrize("files", [False, True], ids=["pin", "adopted-pin"])
def test_the_views_partial_plans_follow_a_pin_named_unlike_its_file(library: Library, app, files: bool) -> None:
    """The view's tree, fed by the poll's partial plans, equals a full plan at every step; a partial
    plan never clashes with another model's entry (the view would rebuild itself in full)."""
    steps = _steps(library, app.name, files=files)
    source = AppPlanSource(Layout(library.layout.root), app.name)
    root = models_root_of(library.layout.models_dir)
    tree = Tree(content=False)
    try:
        tree.apply(resolve_plan(source.full(), root), None)
        for name, step in steps:
            step()
            plan = source.poll()
            assert plan is not None and not plan.full, name
            tree.apply(resolve_plan(plan, root), plan.models)  # PartialClash: not the full plan's slice
            shown = {p: os.path.relpath(n.target or "", root) for p, n in tree.entries().items()}
            assert shown == _planned(library, app), name
            assert source.poll() is None
    finally:
        source.close()


def test_a_mounted_view_follows_a_pin_named_unlike_its_file(library: Library, app, pumas, tmp_path: Path,
                                                           cli_mounts: list[Path]) -> None:
    if reason := fuse_skip_reason():
        pytest.skip(reason)
    steps = _steps(library, app.name, files=True)
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    pumas("mount", app.name, mp)
    models = os.path.realpath(library.layout.models_dir)

    def links() -> dict[str, str]:
        out = {}
        for dirpath, dirs, names in os.walk(mp):
            for n in dirs + names:
                p = Path(dirpath) / n
                if p.is_symlink():
                    out[p.relative_to(mp).as_posix()] = os.path.relpath(os.readlink(p), models)
        return out

    for name, step in steps:
        step()
        want = _planned(library, app)
        wait_for(lambda want=want: links() == want, what=f"the view after {name}")
    [view] = [v for v in pumas("mounts", "--json").json() if v["mountpoint"] == str(mp)]
    pumas("umount", mp)
    log = Path(view["log"]).read_text()
    assert "rebuilding the whole view" not in log and "Traceback" not in log, log


def test_the_cli_pins_edits_and_syncs_without_a_conflict(library: Library, app, pumas) -> None:
    """Through the real CLI: `pumas pin` at another model's name, `pumas edit` of that model (its catch-up
    sync), `pumas unpin`, then `pumas sync`: incremental, no conflict, the full plan on disk."""
    foo = add_model(library, "foo", subtype="loras", added="2020-01-01T00:00:00Z").model_id
    alpha = add_model(library, "alpha", subtype="loras").model_id
    library.close()
    pumas("materialize", app.name)
    for args in (("pin", alpha, app.name, "loras/foo.safetensors"), ("edit", foo, "--set", "notes=touched"),
                 ("unpin", alpha, app.name), ("pin", alpha, app.name, "loras/foo.safetensors"),
                 ("edit", foo, "--set", "notes=again")):
        out = pumas(*args)
        assert "conflict" not in out.stderr, (args, out.stderr)
        [report] = pumas("sync", "--json").json()
        assert (report["mode"], report["conflicts"]) == ("incremental", []), args
        assert_consistent(library, app)
    assert _planned(library, app)["loras/foo.safetensors"] == f"{alpha}/alpha.safetensors"


def test_an_adopted_duplicate_pinned_unlike_its_file_is_followed_incrementally(library: Library, app, comfy: Path,
                                                                                 pumas) -> None:
    """`pumas adopt` of the same LoRA at two names makes one model with a pin at each: one of them is not
    its library file's name.  A model imported later with that natural name, edited, then the adopted
    model removed: every `pumas sync` is incremental, conflict-free and equal to a full plan."""
    from tests.adopt.conftest import lora

    lora(comfy / "models/loras/bar.safetensors", 1)
    lora(comfy / "models/loras/foo.safetensors", 1)  # the same bytes under another name
    library.close()
    pumas("materialize", app.name)
    pumas("adopt", app.name)
    [adopted] = [m for m in pumas("list", "--json").json()]
    meta = library.get(adopted["model_id"])
    names = {p.path: f for p in meta.pins for f in p.files.values()}
    assert set(names) == {"loras/bar.safetensors", "loras/foo.safetensors"}
    assert len(set(names.values())) == 1  # one library file, so one pin is named unlike it
    later = add_model(library, "foo", subtype="loras", added="2001-01-01T00:00:00Z").model_id
    library.close()
    for args in (("sync",), ("edit", later, "--set", "notes=touched"), ("rm", adopted["model_id"], "--yes")):
        out = pumas(*args)
        assert "conflict" not in out.stderr, (args, out.stderr)
        [report] = pumas("sync", "--json").json()
        assert (report["mode"], report["conflicts"]) == ("incremental", []), args
        assert_consistent(library, app)
    assert _planned(library, app) == {"loras/foo.safetensors": f"{later}/foo.safetensors"}
