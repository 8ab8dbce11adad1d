"""Materialize and sync into a real ComfyUI folder tree: links, ownership, conflicts, incremental sync."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from materializer import api
from materializer.registry import Registry
from pumasfs.base.errors import EXIT_CONFLICT
from pumasfs.store.index import Index
from pumasfs.store.library import Library
from tests.conftest import assert_one_line_error
from tests.materializer.conftest import (
    add_model,
    add_rule,
    make_comfyui,
    register,
    snapshot,
)
from tests.materializer.helpers import (
    assert_consistent,
    disk_links,
    registry_rows,
)


def without_links(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if v[0] != "link"}


def test_full_materialize_links_everything_relative_and_touches_nothing_else(library: Library, app, comfy: Path):
    before = snapshot(comfy)
    a = add_model(library, "Alpha")
    add_model(library, "Beta", subtype="loras")
    add_model(library, "TinyVae", subtype="vae")
    add_model(library, "FluxDev", family="flux", subtype="diffusers", folder=True)
    report = api.materialize(library.layout, library, app)
    assert report.applied and not report.conflicts and not report.errors
    assert sorted(report.created) == [
        "checkpoints/Alpha.safetensors", "diffusers/fluxdev", "loras/Beta.safetensors", "vae/TinyVae.safetensors",
    ]
    assert report.link_types == ["relative-symlink"]
    link = comfy / "models/checkpoints/Alpha.safetensors"
    target = os.readlink(link)
    assert not target.startswith("/")
    # Relative target computed from real paths: it resolves to the library file.
    assert os.path.realpath(link) == os.path.realpath(library.layout.models_dir / a.model_id / "Alpha.safetensors")
    assert link.read_bytes() == b"Alpha" * 8
    assert (comfy / "models/diffusers/fluxdev/unet/diffusion_pytorch_model.safetensors").is_file()
    # Placeholders and every other file of the install: byte-identical, same inodes.
    assert without_links(snapshot(comfy)) == before
    assert_consistent(library, app)
    # The registry has the seed's columns plus ours, in WAL mode.
    reg = Registry(library.layout.registry_db)
    cols = {r[1] for r in reg.conn.execute("PRAGMA table_info(links)")}
    assert {"model_id", "target_app_path", "source_model_path", "is_external", "link_type", "created_at",
            "app", "link_target"} <= cols
    assert reg.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row = reg.conn.execute("SELECT source_model_path, is_external, link_type FROM links WHERE model_id=?",
                           (a.model_id,)).fetchone()
    reg.close()
    assert row == (f"{a.model_id}/Alpha.safetensors", 0, "symlink")


def test_rerun_changes_nothing_and_dry_run_writes_nothing(library: Library, app, comfy: Path):
    for i in range(5):
        add_model(library, f"m{i}")
    dry = api.materialize(library.layout, library, app, dry_run=True)
    assert len(dry.created) == 5 and not dry.applied
    assert disk_links(comfy / "models") == {}
    assert registry_rows(library, app.name) == {}
    api.materialize(library.layout, library, app)
    snap = snapshot(comfy)
    again = api.materialize(library.layout, library, app)
    assert again.changed == 0 and again.unchanged == 5
    assert snapshot(comfy) == snap


def test_relative_targets_follow_a_symlinked_app_folder(library: Library, app, comfy: Path, tmp_path: Path):
    """The user keeps checkpoints elsewhere behind a symlink: targets are computed from real paths."""
    elsewhere = tmp_path / "big" / "deep" / "checkpoints"
    elsewhere.mkdir(parents=True)
    ckpt = comfy / "models/checkpoints"
    (ckpt / "put_checkpoints_here").rename(elsewhere / "put_checkpoints_here")
    ckpt.rmdir()
    ckpt.symlink_to(elsewhere)
    m = add_model(library, "Alpha")
    api.materialize(library.layout, library, app)
    link = elsewhere / "Alpha.safetensors"
    assert link.is_symlink() and not os.readlink(link).startswith("/")
    assert link.read_bytes() == (library.layout.models_dir / m.model_id / "Alpha.safetensors").read_bytes()


def test_conflicts_are_all_reported_and_nothing_is_applied(library: Library, app, comfy: Path, pumas):
    add_model(library, "Alpha")
    add_model(library, "Beta")
    add_model(library, "Gamma", subtype="loras")
    mine = comfy / "models/checkpoints/Alpha.safetensors"
    mine.write_bytes(b"the user's own file")
    foreign = comfy / "models/checkpoints/Beta.safetensors"
    foreign.symlink_to("/somewhere/else.safetensors")
    before = snapshot(comfy)

    report = api.materialize(library.layout, library, app)
    assert not report.applied
    assert sorted((Path(c.path).name, c.reason) for c in report.conflicts) == [
        ("Alpha.safetensors", "exists"), ("Beta.safetensors", "exists"),
    ]
    assert "a file" in report.conflicts[0].detail or "a file" in report.conflicts[1].detail
    assert snapshot(comfy) == before  # Gamma, which had no conflict, was not applied either
    assert registry_rows(library, app.name) == {}

    run = pumas("materialize", "comfyui", check=False)
    assert run.returncode == EXIT_CONFLICT
    assert_one_line_error(run)
    assert "Alpha.safetensors" in run.stdout
    assert snapshot(comfy) == before

    # Opting in applies the rest and still leaves the user's things alone.
    report = api.materialize(library.layout, library, app, allow_conflicts=True)
    assert report.created == ["loras/Gamma.safetensors"] and len(report.conflicts) == 2
    assert mine.read_bytes() == b"the user's own file" and os.readlink(foreign) == "/somewhere/else.safetensors"


def test_a_link_someone_changed_is_no_longer_ours(library: Library, app, comfy: Path):
    a = add_model(library, "Alpha")
    b = add_model(library, "Beta")
    api.materialize(library.layout, library, app)
    link_a = comfy / "models/checkpoints/Alpha.safetensors"
    link_b = comfy / "models/checkpoints/Beta.safetensors"
    link_a.unlink()
    link_a.symlink_to("/user/choice.safetensors")  # re-pointed by the user
    link_b.unlink()
    link_b.write_bytes(b"replaced by a real file")
    # Both models go away from the plan: their links would be removed, but they are not ours anymore.
    library.edit(a.model_id, {"subtype": "nothing-maps-this"})
    library.edit(b.model_id, {"subtype": "nothing-maps-this"})
    reports = api.sync_pending(library.layout, library)
    assert sorted(reports[0].forgotten) == ["checkpoints/Alpha.safetensors", "checkpoints/Beta.safetensors"]
    assert os.readlink(link_a) == "/user/choice.safetensors"
    assert link_b.read_bytes() == b"replaced by a real file"
    assert registry_rows(library, app.name) == {}
    assert any("someone changed it" in w for w in reports[0].warnings)


def test_incremental_sync_follows_import_edit_and_rm(library: Library, app, comfy: Path, pumas):
    a = add_model(library, "Alpha")
    api.materialize(library.layout, library, app)
    b = add_model(library, "Beta")
    [r] = api.sync_pending(library.layout, library)
    assert r.mode == "incremental" and r.created == ["checkpoints/Beta.safetensors"] and r.unchanged == 0
    assert_consistent(library, app)

    # A family change moves the model folder; the link keeps its name and is retargeted atomically.
    old_target = os.readlink(comfy / "models/checkpoints/Alpha.safetensors")
    moved = library.edit(a.model_id, {"family": "sdxl"})
    [r] = api.sync_pending(library.layout, library)
    assert r.retargeted == ["checkpoints/Alpha.safetensors"] and not r.created and not r.removed
    assert os.readlink(comfy / "models/checkpoints/Alpha.safetensors") != old_target
    assert moved.model_id == "diffusion/sdxl/alpha"
    assert_consistent(library, app)

    # A subtype change moves the link to another folder.
    library.edit(b.model_id, {"subtype": "loras"})
    [r] = api.sync_pending(library.layout, library)
    assert r.created == ["loras/Beta.safetensors"] and r.removed == ["checkpoints/Beta.safetensors"]
    assert_consistent(library, app)

    # `pumas rm` cascades: links in every app, registry rows, then the folder.
    pumas("rm", moved.model_id)
    assert not (comfy / "models/checkpoints/Alpha.safetensors").exists()
    assert not (library.layout.models_dir / moved.model_id).exists()
    library.close()
    assert set(registry_rows(library, app.name)) == {"loras/Beta.safetensors"}
    assert_consistent(library, app)


def test_incremental_sync_reads_only_the_changed_models(library: Library, app, monkeypatch):
    for i in range(20):
        add_model(library, f"m{i:02d}")
    api.materialize(library.layout, library, app)
    asked: list = []
    real = Index.records

    def spy(self, model_ids=None):
        asked.append(None if model_ids is None else set(model_ids))
        return real(self, model_ids)

    monkeypatch.setattr(Index, "records", spy)
    add_model(library, "newcomer")
    [r] = api.sync_pending(library.layout, library)
    assert r.created == ["checkpoints/newcomer.safetensors"]
    assert None not in asked, "an incremental sync must not read the whole library"
    assert max(len(s) for s in asked) <= 2


def test_collisions_are_settled_incrementally_like_a_full_plan(library: Library, app, comfy: Path):
    """Two models with the same file name: the earlier keeps it; removing it gives the name to the other."""
    first = add_model(library, "Alpha", added="2024-01-01T00:00:00Z", data=b"1" * 16)
    api.materialize(library.layout, library, app)
    second = add_model(library, "Alpha", family="sdxl", added="2025-01-01T00:00:00Z", data=b"2" * 16)
    [r] = api.sync_pending(library.layout, library)
    assert len(r.created) == 1 and r.created[0].startswith("checkpoints/Alpha-")
    assert (comfy / "models/checkpoints/Alpha.safetensors").read_bytes() == b"1" * 16
    assert_consistent(library, app)

    # An older model arrives (an import that kept its added date): it takes the name, the others move.
    third = add_model(library, "Alpha", family="sd2", added="2023-01-01T00:00:00Z", data=b"3" * 16)
    [r] = api.sync_pending(library.layout, library)
    assert (comfy / "models/checkpoints/Alpha.safetensors").read_bytes() == b"3" * 16
    assert_consistent(library, app)

    api.remove_model_links(library.layout, third.model_id)
    library.remove(third.model_id)
    [r] = api.sync_pending(library.layout, library)
    assert (comfy / "models/checkpoints/Alpha.safetensors").read_bytes() == b"1" * 16
    assert_consistent(library, app)
    assert {first.model_id, second.model_id} == {s.model_id for s in registry_rows(library, app.name).values()}


def test_version_constraints_pick_the_installs(library: Library, tmp_path: Path):
    old = register(library, make_comfyui(tmp_path / "old", "0.3.10"), name="old")
    new = register(library, make_comfyui(tmp_path / "new", "0.6.0"), name="new")
    m = add_model(library, "OnlyNew")
    add_model(library, "Anywhere")
    (library.layout.models_dir / m.model_id / "overrides.json").write_text(
        json.dumps({"version_ranges": {"comfyui": ">=0.5,<0.7"}}))
    library.save(library.get(m.model_id))
    r_old = api.materialize(library.layout, library, old)
    r_new = api.materialize(library.layout, library, new)
    assert r_old.created == ["checkpoints/Anywhere.safetensors"]
    assert sorted(r_new.created) == ["checkpoints/Anywhere.safetensors", "checkpoints/OnlyNew.safetensors"]
    # Lifting the constraint reaches the old install through an incremental sync.
    (library.layout.models_dir / m.model_id / "overrides.json").unlink()
    library.save(library.get(m.model_id))
    reports = {r.app: r for r in api.sync_pending(library.layout, library)}
    assert reports["old"].created == ["checkpoints/OnlyNew.safetensors"] and reports["new"].changed == 0
    assert_consistent(library, old)
    assert_consistent(library, new)


def test_uninstall_removes_exactly_what_we_made(library: Library, app, comfy: Path, pumas):
    pristine = snapshot(comfy)
    (comfy / "models/checkpoints/users-own.safetensors").write_bytes(b"mine")
    (comfy / "models/loras/my-link.safetensors").symlink_to("../checkpoints/users-own.safetensors")
    (comfy / "models/ipadapter").mkdir()  # a custom node made this folder
    (comfy / "models/ipadapter/put_here").write_text("")
    user_state = snapshot(comfy)
    add_model(library, "Alpha")
    add_model(library, "Adapter", subtype="ipadapter")
    add_rule(library, app, "ultralytics/segm", ["ultralytics_segm"])
    add_model(library, "Segm", subtype="ultralytics_segm")  # a folder pumas has to create (two levels)
    add_model(library, "FluxDev", family="flux", subtype="diffusers", folder=True)
    report = api.materialize(library.layout, library, app)
    assert "ultralytics" in report.folders_created and "ultralytics/segm" in report.folders_created
    assert (comfy / "models/ultralytics/segm/Segm.safetensors").is_symlink()

    run = pumas("app", "remove", "comfyui")
    assert "remove 4 link(s) and 2 folder(s)" in run.stdout
    assert snapshot(comfy) == user_state
    assert snapshot(comfy) != pristine  # (the user's own additions are still there)
    assert registry_rows(library, "comfyui") == {}
    # The library is untouched.
    assert len(list(library.index.records())) == 4


def test_uninstall_keeps_a_folder_we_made_once_the_user_puts_something_in_it(library: Library, app, comfy: Path):
    add_rule(library, app, "ultralytics/segm", ["ultralytics_segm"])
    add_model(library, "Segm", subtype="ultralytics_segm")
    api.materialize(library.layout, library, app)
    (comfy / "models/ultralytics/segm/users.pt").write_bytes(b"x")
    report = api.uninstall(library.layout, app)
    assert report.removed == ["ultralytics/segm/Segm.safetensors"]
    assert (comfy / "models/ultralytics/segm/users.pt").read_bytes() == b"x"
    assert any("kept" in w for w in report.warnings)


def test_link_type_override(library: Library, app, comfy: Path):
    m = add_model(library, "Alpha")
    r = api.materialize(library.layout, library, app, link_type="absolute-symlink")
    assert r.link_types == ["absolute-symlink"]
    target = os.readlink(comfy / "models/checkpoints/Alpha.safetensors")
    assert target == f"{os.path.realpath(library.layout.models_dir)}/{m.model_id}/Alpha.safetensors"
    # Back to auto: the link is ours, so it is retargeted to a relative one.
    r = api.materialize(library.layout, library, app)
    assert r.retargeted == ["checkpoints/Alpha.safetensors"]
    assert not os.readlink(comfy / "models/checkpoints/Alpha.safetensors").startswith("/")
    assert_consistent(library, app)


def test_cli_materialize_and_sync(library: Library, app, comfy: Path, pumas):
    add_model(library, "Alpha")
    library.close()
    out = pumas("materialize", "comfyui", "--dry-run").stdout
    assert "would create 1" in out and "checkpoints/Alpha.safetensors" in out
    assert disk_links(comfy / "models") == {}
    data = pumas("materialize", "comfyui", "--json").json()
    assert data[0]["created"] == ["checkpoints/Alpha.safetensors"] and data[0]["applied"] is True
    assert pumas("sync", "--json").json()[0]["changed"] == 0
    add_model(library, "Beta")
    library.close()
    [one] = pumas("sync", "comfyui", "--json").json()
    assert (one["app"], one["changed"], one["created"]) == ("comfyui", 1, ["checkpoints/Beta.safetensors"])
    assert (comfy / "models/checkpoints/Beta.safetensors").is_symlink()
    missing = pumas("sync", "nosuchapp", check=False)
    assert_one_line_error(missing)


def test_materialize_replans_when_the_map_changes_even_if_the_library_did_not(library: Library, app, comfy: Path):
    add_model(library, "Segm", subtype="ultralytics_segm")
    first = api.materialize(library.layout, library, app)
    assert first.created == [] and first.unchanged == 0  # no rule takes that subtype yet
    assert api.materialize(library.layout, library, app).changed == 0
    add_rule(library, app, "ultralytics/segm", ["ultralytics_segm"])
    again = api.materialize(library.layout, library, app)
    assert again.created == ["ultralytics/segm/Segm.safetensors"]
    assert_consistent(library, app)
    # And a user turning a model folder into a link elsewhere is noticed too: links follow it.
    elsewhere = comfy.parent / "segm-elsewhere"
    seg = comfy / "models/ultralytics/segm"
    shutil.move(str(seg), elsewhere)
    (elsewhere / "Segm.safetensors").unlink()
    (comfy / "models/ultralytics").rmdir()
    (comfy / "models/ultralytics").symlink_to(comfy.parent / "segm-parent")
    (comfy.parent / "segm-parent").mkdir()
    elsewhere.rename(comfy.parent / "segm-parent" / "segm")
    r = api.materialize(library.layout, library, app)
    assert r.mode == "full" and r.created == ["ultralytics/segm/Segm.safetensors"], r.summary()
    assert (comfy / "models/ultralytics/segm/Segm.safetensors").read_bytes() == b"Segm" * 8


LAST_COPY_COMMANDS = {
    # command -> (its arguments, the exit code it gives in that state)
    "edit": (("edit", "{id}", "--set", "notes=touched"), 0),  # an incremental sync of this model
    "sync": (("sync", "comfyui"), 0),
    "full-sync": (("materialize", "comfyui"), 0),
    "rm": (("rm", "{id}"), 0),
    "doctor --fix": (("doctor", "--fix"), 1),  # the model's file is missing: a problem --fix cannot fix
    "app remove": (("app", "remove", "comfyui"), 0),
}


@pytest.mark.parametrize("command", list(LAST_COPY_COMMANDS))
def test_a_hardlink_that_became_the_last_copy_is_never_deleted(library: Library, comfy: Path, pumas, command):
    """The library file was deleted by hand: the app's hardlink now holds the only copy. Each command
    starts from that state (one command's cleanup must not hide another's guard)."""
    app = register(library, comfy, link_type="hardlink")
    a = add_model(library, "Alpha")
    api.materialize(library.layout, library, app)
    link = comfy / "models/checkpoints/Alpha.safetensors"
    assert link.stat().st_nlink == 2
    (library.layout.models_dir / a.model_id / "Alpha.safetensors").unlink()
    assert link.stat().st_nlink == 1
    assert "checkpoints/Alpha.safetensors" in registry_rows(library, app.name)  # the guard is reached
    api.close()
    args, code = LAST_COPY_COMMANDS[command]
    run = pumas(*(x.format(id=a.model_id) for x in args), check=False)
    assert run.returncode == code, run
    assert "Traceback" not in run.stderr
    assert link.read_bytes() == b"Alpha" * 8 and link.stat().st_nlink == 1


def test_doctor_fix_removes_a_stale_hardlink_but_never_the_last_copy(library: Library, tmp_path: Path, pumas):
    """Two installs hardlinked to one library file that was then deleted: the first link doctor meets is
    stale (another copy exists) and goes; the second is then the last copy and stays."""
    one = register(library, make_comfyui(tmp_path / "one"), name="one", link_type="hardlink")
    two = register(library, make_comfyui(tmp_path / "two"), name="two", link_type="hardlink")
    a = add_model(library, "Alpha")
    api.materialize(library.layout, library, one)
    api.materialize(library.layout, library, two)
    links = [tmp_path / n / "models/checkpoints/Alpha.safetensors" for n in ("one", "two")]
    (library.layout.models_dir / a.model_id / "Alpha.safetensors").unlink()
    assert [p.stat().st_nlink for p in links] == [2, 2]
    api.close()

    report = pumas("doctor", "--json", check=False)
    assert report.returncode == 1
    kinds = sorted((f["kind"], Path(f["path"]).parts[-4]) for f in report.json() if f["kind"] != "missing-file")
    assert kinds == [("stale-hardlink", "one"), ("stale-hardlink", "two")]

    fixed = pumas("doctor", "--fix", "--json", check=False).json()
    by_kind = {f["kind"]: f for f in fixed if f["kind"] != "missing-file"}
    assert by_kind["stale-hardlink"]["fixed"] and Path(by_kind["stale-hardlink"]["path"]) == links[0]
    assert Path(by_kind["changed-link"]["path"]) == links[1]  # by then the last copy: tracked no more
    assert not links[0].exists()
    assert links[1].read_bytes() == b"Alpha" * 8 and links[1].stat().st_nlink == 1
    assert registry_rows(library, "one") == {} and registry_rows(library, "two") == {}


def test_sync_follows_a_changed_map_and_a_changed_link_type(library: Library, app, comfy: Path, pumas):
    add_model(library, "Alpha")
    api.materialize(library.layout, library, app)
    assert (comfy / "models/checkpoints/Alpha.safetensors").is_symlink()
    # The user edits the map (here: a per-install override) with no library change at all.
    add_rule(library, app, "loras", ["checkpoints"])
    reports = api.sync_pending(library.layout, library)
    assert [r.mode for r in reports] == ["full"]
    assert (comfy / "models/loras/Alpha.safetensors").is_symlink()
    assert not (comfy / "models/checkpoints/Alpha.safetensors").exists()
    api.close()
    # --link-type is remembered: a later automatic sync does not undo it.
    pumas("materialize", app.name, "--link-type", "absolute-symlink")
    assert os.readlink(comfy / "models/loras/Alpha.safetensors").startswith("/")
    add_model(library, "Beta")
    pumas("sync")
    assert os.readlink(comfy / "models/loras/Alpha.safetensors").startswith("/")
    assert os.readlink(comfy / "models/loras/Beta.safetensors").startswith("/")


def test_a_folder_model_switches_from_a_hardlink_tree_to_one_symlink(library: Library, comfy: Path, pumas):
    app = register(library, comfy, link_type="hardlink")
    add_model(library, "FluxDev", family="flux", subtype="diffusers", folder=True)
    api.materialize(library.layout, library, app)
    tree = comfy / "models/diffusers/fluxdev"
    assert tree.is_dir() and not tree.is_symlink()
    (comfy / "models/diffusers/user-notes.txt").write_text("mine")
    api.close()
    pumas("materialize", app.name, "--link-type", "relative-symlink")
    assert tree.is_symlink() and (tree / "unet/diffusion_pytorch_model.safetensors").is_file()
    assert (comfy / "models/diffusers/user-notes.txt").read_text() == "mine"
    # A user's file inside the tree makes it theirs too: back to hardlinks is then a conflict, and nothing moves.
    pumas("materialize", app.name, "--link-type", "hardlink")
    assert tree.is_dir() and not tree.is_symlink()
    (tree / "my-lora-notes.txt").write_text("mine")
    r = pumas("materialize", app.name, "--link-type", "relative-symlink", check=False)
    assert r.returncode == 3 and tree.is_dir() and (tree / "my-lora-notes.txt").read_text() == "mine"
