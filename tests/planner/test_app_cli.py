"""`pumas app ...` through the real command line."""

from __future__ import annotations

import json

from pumasfs.base.paths import Layout
from tests.conftest import assert_one_line_error
from tests.planner.conftest import make_comfyui


def test_add_list_show(pumas, root, tmp_path):
    tree = make_comfyui(tmp_path / "ComfyUI", custom=("ipadapter", "ultralytics/bbox", "mystery"))
    out = pumas("app", "add", "comfyui", tree)
    assert "registered comfyui (comfyui 0.3.64)" in out.stdout
    assert "comfyui-default.json" in out.stdout
    maps_dir = Layout(root).maps_dir
    assert (maps_dir / "comfyui-default.json").is_file()

    apps = pumas("app", "list", "--json").json()
    assert [(a["name"], a["kind"], a["version"], a["link_type"]) for a in apps] == [
        ("comfyui", "comfyui", "0.3.64", "auto")
    ]
    shown = pumas("app", "show", "comfyui", "--json").json()
    assert shown["models_dir"] == str(tree / "models")
    assert {"ipadapter", "ultralytics/bbox", "mystery", "checkpoints"} <= set(shown["discovered_folders"])
    assert shown["map"]["source"] == str(maps_dir / "comfyui-default.json")
    assert "any version" in shown["map"]["reason"]
    assert "mystery" in shown["unmapped_folders"] and "configs" in shown["unmapped_folders"]
    assert "checkpoints" not in shown["unmapped_folders"]
    assert isinstance(shown["sandbox_warnings"], list)
    text = pumas("app", "show", "comfyui").stdout
    assert "why:" in text and "comfyui-default.json" in text

    # A second install of the kind shares the map and is numbered.
    out = pumas("app", "add", "comfyui", make_comfyui(tmp_path / "C2", "0.6.0"), "--link-type", "hardlink")
    assert "comfyui-2" in out.stdout and "wrote the default" not in out.stdout


def test_versions_folder_installs_appear_in_list(pumas, root):
    make_comfyui(Layout(root).comfyui_versions_dir / "v0.6.0", "0.6.0")
    apps = pumas("app", "list", "--json").json()
    assert [(a["name"], a["version"]) for a in apps] == [("comfyui", "0.6.0")]
    assert (Layout(root).maps_dir / "comfyui-default.json").is_file()


def test_contrib_kinds_are_accepted(pumas, root, tmp_path):
    lms = tmp_path / "lmstudio"
    (lms / "models").mkdir(parents=True)
    pumas("app", "add", "lmstudio", lms)
    shown = pumas("app", "show", "lmstudio", "--json").json()
    assert shown["map"]["source"].endswith("lmstudio-default.json")
    assert shown["base_dir"] == str(lms / "models")
    webui = tmp_path / "webui"
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    pumas("app", "add", "a1111", webui)
    assert pumas("app", "show", "a1111", "--json").json()["base_dir"] == str(webui)


def test_user_errors_are_one_line(pumas, root, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    r = pumas("app", "add", "comfyui", bare, check=False)
    assert_one_line_error(r)
    assert "no models/ folder" in r.stderr
    assert list(bare.iterdir()) == []
    r = pumas("app", "add", "photoshop", make_comfyui(tmp_path / "c"), check=False)
    assert_one_line_error(r)
    assert "unknown app kind" in r.stderr
    r = pumas("app", "show", "nothing", check=False)
    assert_one_line_error(r)
    assert r.returncode == 4


def test_invalid_map_is_refused_naming_file_and_field(pumas, root, tmp_path):
    pumas("app", "add", "comfyui", make_comfyui(tmp_path / "c"))
    path = Layout(root).maps_dir / "comfyui-default.json"
    data = json.loads(path.read_text())
    data["rules"][2]["target"] = "../../etc"
    path.write_text(json.dumps(data))
    shown = pumas("app", "show", "comfyui", "--json").json()
    assert shown["map"] is None
    assert f"{path}: rules[2].target:" in shown["map_error"]


def test_remove_forgets_the_install(pumas, root, tmp_path):
    tree = make_comfyui(tmp_path / "c")
    pumas("app", "add", "comfyui", tree, "--name", "gone")
    out = pumas("app", "remove", "gone", "--dry-run")
    assert "dry run" in out.stdout
    assert [a["name"] for a in pumas("app", "list", "--json").json()] == ["gone"]
    pumas("app", "remove", "gone")
    assert pumas("app", "list", "--json").json() == []
    assert (tree / "models" / "checkpoints" / "put_checkpoints_here").is_file()
    assert_one_line_error(pumas("app", "remove", "gone", check=False))


def test_installs_under_comfyui_versions_need_no_registration(pumas, root):
    from pumasfs.sample.demo import make_comfyui_tree

    make_comfyui_tree(root / "comfyui-versions" / "0.3.10", "0.3.10")
    out = pumas("materialize", "comfyui", "--dry-run").stdout
    assert "comfyui" in out
    (app,) = pumas("app", "list", "--json").json()
    assert app["name"] == "comfyui" and app["version"] == "0.3.10"


def test_flatpak_and_snap_installs_are_warned_about_with_the_remedy(pumas, root, tmp_path):
    """An install inside a Flatpak app's data folder cannot follow links out: `app add`, `app show` and
    `materialize` say so, and say what to run."""
    home = tmp_path / "home"  # the HOME the `pumas` fixture gives the CLI
    flat = make_comfyui(home / ".var" / "app" / "org.comfyui.ComfyUI" / "data" / "ComfyUI")
    remedy = f"flatpak override --user --filesystem={root} org.comfyui.ComfyUI"

    added = pumas("app", "add", "comfyui", flat, "--name", "flat")
    assert "lives inside a Flatpak sandbox" in added.stderr and remedy in added.stderr
    assert "pumas mount --content" in added.stderr  # the other way out
    shown = pumas("app", "show", "flat", "--json").json()
    [flatpak] = [w for w in shown["sandbox_warnings"] if "Flatpak" in w]
    assert remedy in flatpak
    assert remedy in pumas("app", "show", "flat").stderr
    # Said at `app add`; not again at every sync until it changes (issue 10); `app show` keeps it.
    assert remedy not in pumas("materialize", "flat").stderr

    snapped = make_comfyui(home / "snap" / "comfyui" / "common" / "ComfyUI")
    out = pumas("app", "add", "comfyui", snapped, "--name", "snapped")
    assert "lives inside a Snap's confined home" in out.stderr and "mount --bind" in out.stderr

    # An install in an ordinary folder gets neither warning.
    plain = pumas("app", "add", "comfyui", make_comfyui(tmp_path / "plain"), "--name", "plain")
    assert "Flatpak" not in plain.stderr and "Snap" not in plain.stderr
    assert not [w for w in pumas("app", "show", "plain", "--json").json()["sandbox_warnings"]
                if "Flatpak" in w or "Snap" in w]
