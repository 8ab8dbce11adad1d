"""The plan memo (materializer/plan_memo.py): a full sync with unchanged planner inputs reuses the
stored plan, and its check of the disk still finds every link that is missing or wrong.

Real library, real install, real links and registry; the damage is done on disk as a user (or a
crash) would.  A check with the memo must report exactly what the same check with the planner
reports; a memo is used only under its exact key (another index position plans again); a memo
that is not a plan is ignored; a run killed mid-apply leaves the memo for the repair.
"""

from __future__ import annotations

import os
from pathlib import Path

from materializer import api, plan_memo
from materializer.registry import Registry
from materializer.report import SyncReport
from materializer.sync import full_sync
from pumasfs.planning.plan import Plan
from pumasfs.planning.replan import Cursor, plan_inputs
from pumasfs.store.library import Library
from tests.materializer.conftest import add_model
from tests.materializer.helpers import assert_consistent, disk_links, full_plan
from tests.materializer.test_crash import N, _kill_when, _start, _sync, bulk_models


def _key(library: Library, app) -> str:
    inputs = plan_inputs(library.layout, app)
    return plan_memo.memo_key(Cursor(library.index.epoch, library.index.latest_seq(), inputs.key))


def _stored(library: Library, app) -> bytes | None:
    with Registry(library.layout.registry_db) as reg:
        return reg.plan_memo(app.name, _key(library, app))


def _check(library: Library, app, *, memo: bool = True, dry_run: bool = False) -> SyncReport:
    with api.locked_registry(library.layout) as reg:
        return full_sync(reg, library.layout, library, app, verify=True, use_memo=memo, dry_run=dry_run,
                         allow_conflicts=True)


def _words(r: SyncReport) -> dict[str, object]:
    return {"created": sorted(r.created), "adopted": sorted(r.adopted), "removed": sorted(r.removed),
            "retargeted": sorted(r.retargeted), "forgotten": sorted(r.forgotten), "unchanged": r.unchanged,
            "conflicts": sorted((c.path, c.reason) for c in r.conflicts), "errors": sorted(r.errors)}


def _models(library: Library) -> None:
    for name in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot"):
        add_model(library, name)
    add_model(library, "lora-one", subtype="loras")
    add_model(library, "diffusers-pipe", folder=True)


def test_materialize_stores_the_plan_under_its_inputs(library: Library, app, comfy: Path) -> None:
    _models(library)
    api.materialize(library.layout, library, app)
    blob = _stored(library, app)
    assert blob is not None
    stored = plan_memo.decode(app.name, blob)
    plan, _ = full_plan(library, app)
    assert stored is not None and stored.entries == plan.entries


def test_a_check_from_the_memo_finds_every_missing_or_wrong_link(library: Library, app, comfy: Path,
                                                                   tmp_path: Path) -> None:
    _models(library)
    api.materialize(library.layout, library, app)
    assert _stored(library, app) is not None
    ckpt = comfy / "models/checkpoints"
    elsewhere = tmp_path / "elsewhere.safetensors"
    elsewhere.write_bytes(b"the user's")
    (ckpt / "alpha.safetensors").unlink()  # missing
    (ckpt / "bravo.safetensors").unlink()
    os.symlink(elsewhere, ckpt / "bravo.safetensors")  # someone else's link
    (ckpt / "charlie.safetensors").unlink()
    (ckpt / "charlie.safetensors").write_bytes(b"a real file")  # a file in its place
    delta_target = os.readlink(ckpt / "delta.safetensors")
    (ckpt / "delta.safetensors").unlink()
    os.symlink(os.readlink(ckpt / "echo.safetensors"), ckpt / "delta.safetensors")  # into the library, wrong model
    foxtrot = library.layout.models_dir / library.index.get("diffusion/sd1/foxtrot").meta.model_id
    (foxtrot / "foxtrot.safetensors").unlink()  # the library file is gone: its link must go

    with_memo = _check(library, app, dry_run=True)
    planned = _check(library, app, memo=False, dry_run=True)
    assert _words(with_memo) == _words(planned)
    words = _words(with_memo)
    assert words["created"] == ["checkpoints/alpha.safetensors"]
    assert words["conflicts"] == sorted((str(ckpt / f"{n}.safetensors"), "changed") for n in ("bravo", "charlie", "delta"))
    assert words["removed"] == ["checkpoints/foxtrot.safetensors"]
    assert [e for e in with_memo.errors if "foxtrot" in e and "not linked" in e]

    applied = _check(library, app)
    assert _words(applied) == words
    assert os.readlink(ckpt / "alpha.safetensors") == delta_target.replace("delta", "alpha")
    assert not os.path.lexists(ckpt / "foxtrot.safetensors")
    assert os.readlink(ckpt / "bravo.safetensors") == str(elsewhere)  # never touched
    assert (ckpt / "charlie.safetensors").read_bytes() == b"a real file"


def test_the_memo_is_used_under_its_exact_key_only(library: Library, app, comfy: Path) -> None:
    _models(library)
    api.materialize(library.layout, library, app)
    plan, _ = full_plan(library, app)
    # A stored plan without one entry, under today's key: the check applies what is stored (the
    # link goes), which shows the planner was not asked.
    gone = "checkpoints/alpha.safetensors"
    short = Plan(app=app.name, entries={p: e for p, e in plan.entries.items() if p != gone})
    with Registry(library.layout.registry_db) as reg, reg.transaction():
        reg.put_plan_memo(app.name, _key(library, app), plan_memo.encode(short))
    r = _check(library, app)
    assert r.removed == [gone] and r.unchanged == len(plan.entries) - 1
    # Another index position (a model added): another key, so the planner plans again.
    add_model(library, "golf")
    r = _check(library, app)
    assert sorted(r.created) == [gone, "checkpoints/golf.safetensors"]
    assert_consistent(library, app)
    assert plan_memo.decode(app.name, _stored(library, app) or b"") is not None


def test_a_memo_that_is_not_a_plan_is_ignored(library: Library, app, comfy: Path) -> None:
    _models(library)
    api.materialize(library.layout, library, app)
    n = len(disk_links(comfy / "models"))
    with Registry(library.layout.registry_db) as reg, reg.transaction():
        reg.put_plan_memo(app.name, _key(library, app), b'{"checkpoints/x.safetensors": "not an entry"')
    r = _check(library, app)
    assert r.changed == 0 and r.unchanged == n and not r.errors
    assert_consistent(library, app)


def test_uninstall_forgets_the_memo(library: Library, app, comfy: Path) -> None:
    _models(library)
    api.materialize(library.layout, library, app)
    api.uninstall(library.layout, app)
    assert _stored(library, app) is None


def test_a_run_killed_mid_apply_leaves_the_memo_for_the_repair(library: Library, app, comfy: Path,
                                                               root: Path) -> None:
    bulk_models(library, N)
    ckpt = comfy / "models/checkpoints"
    proc = _start(root, "materialize", "comfyui")
    assert _kill_when(proc, lambda: len(os.listdir(ckpt)) > N // 2), "the kill must land mid-apply"
    with Registry(library.layout.registry_db) as reg:
        state = reg.state(app.name)
        assert state is not None and state.dirty
    # Stored with the "apply under way" mark, before the first link: the repair needs no planner.
    blob = _stored(library, app)
    assert blob is not None
    plan, _ = full_plan(library, app)
    stored = plan_memo.decode(app.name, blob)
    assert stored is not None and stored.entries == plan.entries
    _sync(root)
    assert_consistent(library, app)


def test_a_changed_planner_gets_another_inputs_key_even_with_the_same_version(tmp_path: Path):
    """The plan memo and the no-op fingerprint hang on the inputs key: a planner whose source
    changed (a development checkout, a patched install: same ``__version__``) must not reuse a
    plan made by the old one.  Same source elsewhere: same digest (content, not place)."""
    import shutil
    import subprocess
    import sys

    import pumasfs
    from pumasfs.planning.replan import planner_code

    src = Path(pumasfs.__file__).parent
    digests = {}
    for variant in ("same", "changed"):
        copy = tmp_path / variant
        shutil.copytree(src, copy / "pumasfs", ignore=shutil.ignore_patterns("__pycache__"))
        if variant == "changed":
            with open(copy / "pumasfs/planning/planner.py", "a") as f:
                f.write("\n# a planner edited without a version bump\n")
        out = subprocess.run([sys.executable, "-c", "from pumasfs.planning.replan import planner_code as p; "
                              "import pumasfs; print(p(), pumasfs.__version__, pumasfs.__file__)"],
                             env={**os.environ, "PYTHONPATH": str(copy)}, cwd=tmp_path, capture_output=True, text=True,
                             check=True)
        digest, version, where = out.stdout.split()
        assert where.startswith(str(copy)) and version == pumasfs.__version__
        digests[variant] = digest
    assert digests["same"] == planner_code()
    assert digests["changed"] != planner_code()
