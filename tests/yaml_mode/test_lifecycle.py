"""Switching modes, removing, repairing: the user's yaml and models/ stay theirs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pumasfs.base.paths import Layout
from pumasfs.sample.samples import write_sample_library
from pumasfs.store.library import Library
from tests.conftest import assert_one_line_error
from tests.materializer.conftest import add_model
from tests.materializer.helpers import assert_consistent
from tests.yaml_mode import comfy_loader
from tests.yaml_mode.conftest import NODES, World, all_links_resolve, models_snapshot
from tests.yaml_mode.test_editor import USER_YAML

KEYS = comfy_loader.KEYS + list(NODES)
NAME = "comfy-yaml"


def _yaml(world: World) -> Path:
    return world.yaml / "extra_model_paths.yaml"


def _app(world: World) -> dict:
    return world.pumas("app", "show", NAME, "--json").json()


def _doctor(world: World, *args: str) -> tuple[int, list[dict]]:
    r = world.pumas("doctor", "--json", *args, check=False)
    return r.returncode, r.json()


def test_user_sections_stay_byte_identical_through_add_switch_and_remove(world: World) -> None:
    original = USER_YAML.encode()  # no final newline: the joiner case
    _yaml(world).write_bytes(original)
    before = models_snapshot(world.yaml)

    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    text = _yaml(world).read_bytes()
    assert text.startswith(original) and b"\npumas:\n" in text
    assert models_snapshot(world.yaml) == before
    assert _app(world)["mode"] == "yaml"

    world.pumas("app", "set", NAME, "--mode", "links")
    assert _yaml(world).read_bytes() == original
    assert not world.tree(NAME).exists()
    assert os.path.islink(world.yaml / "models" / "checkpoints" / "v1-5-pruned-emaonly.safetensors")
    assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)

    world.pumas("app", "set", NAME, "--mode", "yaml")
    assert models_snapshot(world.yaml) == before  # the links in models/ went, cleanly
    assert _yaml(world).read_bytes().startswith(original)
    assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)

    # The user edits their own section while ours is there: a new switch keeps their edit.
    edited = _yaml(world).read_bytes().replace(b"models/VAE", b"models/VAE-mine")
    _yaml(world).write_bytes(edited)
    world.pumas("app", "set", NAME, "--mode", "yaml")  # a repair run: nothing to change
    assert _yaml(world).read_bytes() == edited

    world.pumas("app", "remove", NAME)
    assert _yaml(world).read_bytes() == original.replace(b"models/VAE", b"models/VAE-mine")
    assert not world.tree(NAME).exists()
    assert models_snapshot(world.yaml) == before


def test_invalid_yaml_is_refused_and_nothing_changes(world: World) -> None:
    bad = b"a111:\n    base_path: /mnt/sd\n    loras: [models/Lora\n# oops\n"
    _yaml(world).write_bytes(bad)
    before = models_snapshot(world.yaml)
    r = world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml", check=False)
    assert_one_line_error(r)
    assert "not valid YAML" in r.stderr and "extra_model_paths.yaml" in r.stderr
    assert _yaml(world).read_bytes() == bad
    assert NAME not in [a["name"] for a in world.pumas("app", "list", "--json").json()]
    assert not world.tree(NAME).exists()

    # Registered and materialized in links mode: a switch is refused before a link is removed.
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME)
    world.pumas("materialize", NAME)
    linked = models_snapshot(world.yaml)
    assert linked != before
    r = world.pumas("app", "set", NAME, "--mode", "yaml", check=False)
    assert_one_line_error(r)
    assert _yaml(world).read_bytes() == bad
    assert models_snapshot(world.yaml) == linked
    assert _app(world)["mode"] == "links"
    assert [p.name for p in world.yaml.iterdir() if p.name.startswith(".extra")] == []  # no temp file


def test_a_file_pumas_created_goes_when_our_section_goes(world: World) -> None:
    assert not _yaml(world).exists()
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    assert list(yaml.safe_load(_yaml(world).read_text())) == ["pumas"]
    shown = _app(world)
    assert shown["mode_details"]["tree_dir"] == str(world.tree(NAME))
    assert shown["mode_details"]["yaml_section"] == "points at the tree"
    assert shown["extra_paths"]["created"] is True
    text = world.pumas("app", "show", NAME).stdout
    assert "mode:       yaml" in text and f"tree:       {world.tree(NAME)}" in text

    dry = world.pumas("app", "set", NAME, "--mode", "links", "--dry-run", "--json").json()
    assert dry["yaml_deleted"] is True and _yaml(world).exists()  # a dry run changes nothing
    world.pumas("app", "set", NAME, "--mode", "links")
    assert not _yaml(world).exists()

    # Created by pumas, then the user added a section: only ours goes on `app remove`.
    world.pumas("app", "set", NAME, "--mode", "yaml")
    with open(_yaml(world), "a") as f:
        f.write("\nnas:\n  base_path: /net/nas\n  checkpoints: ckpt\n")
    world.pumas("app", "remove", NAME)
    assert _yaml(world).read_text() == "\nnas:\n  base_path: /net/nas\n  checkpoints: ckpt\n"


def test_doctor_finds_an_edited_yaml_and_an_incomplete_tree_and_fixes_them(world: World) -> None:
    _yaml(world).write_bytes(USER_YAML.encode() + b"\n")
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    assert _doctor(world) == (0, [])
    ours = _yaml(world).read_text()
    tree = str(world.tree(NAME))

    # The user points our section elsewhere.
    _yaml(world).write_text(ours.replace(f'base_path: {tree}', 'base_path: /somewhere/else'))
    rc, found = _doctor(world)
    assert rc == 1 and [f["kind"] for f in found] == ["yaml-section-changed"]
    assert "base_path" in found[0]["detail"]
    rc, found = _doctor(world, "--fix")
    assert rc == 0 and found[0]["fixed"]
    assert _yaml(world).read_text() == ours

    # The user deletes our section; then a link of the tree vanishes.
    _yaml(world).write_text(USER_YAML + "\n")
    os.unlink(world.tree(NAME) / "vae" / "sdxl_vae.safetensors")
    rc, found = _doctor(world)
    kinds = {f["kind"] for f in found}
    assert rc == 1 and {"yaml-section-missing", "tree-incomplete"} <= kinds
    rc, found = _doctor(world, "--fix")
    assert rc == 0, found
    assert _yaml(world).read_text() == ours
    assert (world.tree(NAME) / "vae" / "sdxl_vae.safetensors").exists()
    assert _doctor(world) == (0, [])

    # A yaml broken by hand: reported, never "fixed" by rewriting the user's file.
    broken = ours + "oops: [\n"
    _yaml(world).write_text(broken)
    rc, found = _doctor(world, "--fix")
    assert rc == 1 and [f["kind"] for f in found] == ["yaml-invalid"] and not found[0]["fixed"]
    assert _yaml(world).read_text() == broken


def test_incremental_sync_keeps_the_tree_up_to_date(world: World, tmp_path: Path) -> None:
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    lib = Library(Layout(world.root))
    try:
        new = add_model(lib, "fresh-lora", family="sdxl", subtype="loras")
    finally:
        lib.close()
    reports = {r["app"]: r for r in world.pumas("sync", "--json").json()}
    assert reports[NAME]["mode"] == "incremental"
    assert reports[NAME]["created"] == ["loras/fresh-lora.safetensors"]
    assert "fresh-lora.safetensors" in comfy_loader.listing(world.yaml, KEYS, NODES)["loras"]

    # Import and rm catch every app up by themselves (from the change log), the tree included.
    extra = tmp_path / "more"
    write_sample_library(extra)
    lora = extra / "sdxl_detail_tweaker.safetensors"
    with open(lora, "r+b") as f:  # other bytes, same name: a third LoRA of that name
        f.seek(-1, 2)
        f.write(b"\1")
    out = world.pumas("import", lora).stdout
    imported = out.split()[1]
    loras = comfy_loader.listing(world.yaml, KEYS, NODES)["loras"]
    assert len([n for n in loras if n.startswith("sdxl_detail_tweaker")]) == 3
    world.pumas("rm", new.model_id, imported)
    assert not os.path.lexists(world.tree(NAME) / "loras" / "fresh-lora.safetensors")
    assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)
    lib = Library(Layout(world.root))
    try:
        from pumasfs.planning.installs import get_app

        assert_consistent(lib, get_app(lib.layout, NAME))
    finally:
        lib.close()
    assert all_links_resolve(world.tree(NAME))


def _fuse_ok() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse here"
    if os.geteuid() != 0:
        return "FUSE mounts in tests need root"
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return "fusermount3 is not installed"
    return None


def _views(world: World) -> list[dict]:
    """This test's views (the machine may have other libraries' views mounted)."""
    tree = str(world.tree(NAME))
    return [v for v in world.pumas("mounts", "--json").json() if v["mountpoint"] == tree]


def test_view_mode_mounts_a_content_view_on_the_tree(world: World) -> None:
    why = _fuse_ok()
    if why:
        pytest.skip(why)
    _yaml(world).write_bytes(USER_YAML.encode())
    before = models_snapshot(world.yaml)
    tree = world.tree(NAME)
    try:
        world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "view")
        assert [(v["app"], v["mode"], v["state"]) for v in _views(world)] == [(NAME, "content", "active")]
        assert not os.path.islink(tree / "checkpoints" / "v1-5-pruned-emaonly.safetensors")  # real files
        assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)
        assert models_snapshot(world.yaml) == before
        r = world.pumas("materialize", "comfyui")  # a kind: the links install, and a word about the view
        assert "live view" in r.stderr and "comfy-links" in r.stdout
        assert _views(world)[0]["state"] == "active"
        assert _doctor(world) == (0, [])

        world.pumas("app", "set", NAME, "--mode", "yaml")
        assert _views(world) == []
        assert os.path.islink(tree / "checkpoints" / "v1-5-pruned-emaonly.safetensors")
        assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)

        world.pumas("app", "set", NAME, "--mode", "view")
        world.pumas("app", "set", NAME, "--mode", "links")
        assert _views(world) == []
        assert _yaml(world).read_bytes() == USER_YAML.encode()
        assert not tree.exists()
    finally:
        if os.path.ismount(tree):
            subprocess.run(["fusermount3", "-uz", str(tree)], check=False)


def test_only_comfyui_has_the_yaml_modes(world: World, tmp_path: Path) -> None:
    a1111 = tmp_path / "webui"
    (a1111 / "models" / "Stable-diffusion").mkdir(parents=True)
    r = world.pumas("app", "add", "a1111", a1111, "--mode", "yaml", check=False)
    assert_one_line_error(r)
    assert "only comfyui" in r.stderr
    world.pumas("app", "add", "a1111", a1111)
    r = world.pumas("app", "set", "a1111", "--mode", "view", check=False)
    assert_one_line_error(r)
    assert json.loads(world.pumas("app", "show", "a1111", "--json").stdout)["mode"] == "links"


@pytest.mark.parametrize("step", ["old-uninstalled", "mode-recorded", "tree-built"])
def test_a_switch_killed_at_any_step_is_finished_by_the_next_run(world: World, step: str) -> None:
    _yaml(world).write_bytes(USER_YAML.encode())
    before = models_snapshot(world.yaml)
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME)
    world.pumas("materialize", NAME)
    r = world.pumas("app", "set", NAME, "--mode", "yaml", check=False, env_extra={"PUMAS_TEST_KILL_AT": step})
    assert r.returncode == -9  # SIGKILL, at exactly that step
    assert _yaml(world).read_bytes() == USER_YAML.encode()  # the section is written last
    if step != "old-uninstalled":
        # Recorded as yaml but unfinished: doctor says so, and --fix finishes it.
        rc, found = _doctor(world)
        assert rc == 1 and "yaml-section-missing" in {f["kind"] for f in found}
        assert _doctor(world, "--fix")[0] == 0
    else:
        world.pumas("app", "set", NAME, "--mode", "yaml")
    assert models_snapshot(world.yaml) == before
    assert _yaml(world).read_bytes().startswith(USER_YAML.encode())
    assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)
    assert _doctor(world) == (0, [])

    # And back: killed after our section went, the next run removes the tree and links models/.
    r = world.pumas("app", "set", NAME, "--mode", "links", check=False,
                    env_extra={"PUMAS_TEST_KILL_AT": "section-dropped"})
    assert r.returncode == -9 and _yaml(world).read_bytes() == USER_YAML.encode()
    world.pumas("app", "set", NAME, "--mode", "links")
    assert not world.tree(NAME).exists()
    assert comfy_loader.listing(world.yaml, KEYS, NODES) == comfy_loader.listing(world.links, KEYS, NODES)


def test_after_the_drive_moves_doctor_points_the_yaml_at_the_moved_tree(world: World, tmp_path: Path) -> None:
    import sys

    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    moved = tmp_path.with_name(tmp_path.name + "-moved")
    os.rename(tmp_path, moved)
    try:
        root, install = moved / world.root.name, moved / world.yaml.name

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            return subprocess.run([sys.executable, "-m", "pumasfs", "--root", str(root), *args],
                                  capture_output=True, text=True, env=env, timeout=300)

        assert run("relocate", str(tmp_path), str(moved)).returncode == 0
        r = run("doctor", "--json")
        assert r.returncode == 1 and [f["kind"] for f in json.loads(r.stdout)] == ["yaml-section-changed"]
        assert run("doctor", "--fix").returncode == 0
        section = yaml.safe_load((install / "extra_model_paths.yaml").read_text())["pumas"]
        assert section["base_path"] == str(root / "launcher-data" / "trees" / NAME)
        assert comfy_loader.listing(install, KEYS, NODES) == \
            comfy_loader.listing(moved / world.links.name, KEYS, NODES)
        assert "v1-5-pruned-emaonly.safetensors" in comfy_loader.listing(install, KEYS, NODES)["checkpoints"]
    finally:
        os.rename(moved, tmp_path)


def test_a_new_folder_in_the_map_is_named_in_the_yaml_by_the_next_sync(world: World) -> None:
    from pumasfs.planning.installs import get_app
    from tests.materializer.conftest import add_rule

    _yaml(world).write_bytes(USER_YAML.encode())
    world.pumas("app", "add", "comfyui", world.yaml, "--name", NAME, "--mode", "yaml")
    lib = Library(Layout(world.root))
    try:
        add_model(lib, "sam_vit_b_01ec64", family="sam", model_type="segmentation", subtype="sams",
                  file_name="sam_vit_b_01ec64.pth")
        add_rule(lib, get_app(lib.layout, NAME), "sams", ["sams"])  # the user's per-install map
    finally:
        lib.close()
    reports = {r["app"]: r for r in world.pumas("sync", "--json").json()}
    assert reports[NAME]["mode"] == "full"  # the map changed: a full sync
    text = _yaml(world).read_text()
    assert text.startswith(USER_YAML)
    assert yaml.safe_load(text)["pumas"]["sams"] == "sams"
    assert comfy_loader.listing(world.yaml, KEYS + ["sams"], NODES)["sams"] == ["sam_vit_b_01ec64.pth"]
    assert _doctor(world) == (0, [])
