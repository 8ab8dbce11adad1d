"""App installs: registration, version reading, folder discovery, sandbox detection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pumasfs.base.errors import Conflict, NotFound, PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.app_discovery import autodiscover_comfyui, resolve_apps
from pumasfs.planning.app_versions import read_app_version
from pumasfs.planning.installs import AppInstall, add_app, get_app, load_apps, remove_app_record
from pumasfs.planning.model_folders import discover_model_folders
from pumasfs.planning.sandbox import detect_sandbox
from tests.planner.conftest import COMFYUI_STANDARD, make_comfyui


@pytest.fixture
def layout(tmp_path) -> Layout:
    return Layout(tmp_path / "root").ensure()


# -- versions ---------------------------------------------------------------------


def test_version_from_comfyui_version_py(comfy_tree):
    assert read_app_version("comfyui", comfy_tree) == "0.3.64"


def test_version_falls_back_to_pyproject(tmp_path):
    tree = make_comfyui(tmp_path / "c", version=None)
    assert read_app_version("comfyui", tree) is None
    (tree / "pyproject.toml").write_text('[project]\nname = "ComfyUI"\nversion = "0.6.0"\n')
    assert read_app_version("comfyui", tree) == "0.6.0"
    (tree / "comfyui_version.py").write_text("__version__ = 'v0.7.1'\n")
    assert read_app_version("comfyui", tree) == "0.7.1"
    (tree / "comfyui_version.py").write_text("__version__ = 'garbage'\n")
    assert read_app_version("comfyui", tree) == "0.6.0"
    (tree / "pyproject.toml").write_text("not toml [[[")
    assert read_app_version("comfyui", tree) is None


# -- discovery --------------------------------------------------------------------


def test_discovers_every_folder_including_custom_nodes(comfy_tree):
    (comfy_tree / "models" / "LLM").mkdir()
    (comfy_tree / "models" / ".cache").mkdir()
    elsewhere = comfy_tree.parent / "elsewhere"
    elsewhere.mkdir()
    (comfy_tree / "models" / "linked").symlink_to(elsewhere)  # maybe ours: not the app's own folder
    (comfy_tree / "models" / "checkpoints" / "sdxl").mkdir()  # a user's sub-folder stays inside checkpoints
    app = AppInstall(name="c", kind="comfyui", path=comfy_tree)
    found = discover_model_folders(app)
    assert set(COMFYUI_STANDARD) <= set(found)
    assert {"ipadapter", "ultralytics/bbox", "ultralytics/segm", "sams", "LLM"} <= set(found)
    assert "ultralytics" not in found and "linked" not in found and ".cache" not in found
    assert "checkpoints/sdxl" not in found
    assert found == sorted(found)


# -- registration -------------------------------------------------------------------


def test_add_names_first_after_kind_then_numbers(layout, tmp_path, comfy_tree):
    a = add_app(layout, "comfyui", comfy_tree)
    assert (a.name, a.kind, a.version, a.link_type) == ("comfyui", "comfyui", "0.3.64", "auto")
    assert a.path == comfy_tree and a.models_dir == comfy_tree / "models"
    b = add_app(layout, "comfyui", make_comfyui(tmp_path / "c2", "0.6.0"))
    c = add_app(layout, "comfyui", make_comfyui(tmp_path / "c3"), name="test", version="1.0",
                link_type="hardlink")
    assert (b.name, b.version) == ("comfyui-2", "0.6.0")
    assert (c.name, c.version, c.link_type) == ("test", "1.0", "hardlink")
    assert [x.name for x in load_apps(layout).apps] == ["comfyui", "comfyui-2", "test"]
    saved = json.loads(layout.apps_file.read_text())
    assert saved["apps"][0]["path"] == str(comfy_tree)


def test_add_refuses_bad_input_and_creates_nothing(layout, tmp_path, comfy_tree):
    with pytest.raises(NotFound):
        add_app(layout, "comfyui", tmp_path / "missing")
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(PumasError, match="no models/ folder"):
        add_app(layout, "comfyui", bare)
    assert list(bare.iterdir()) == []
    add_app(layout, "comfyui", comfy_tree)
    with pytest.raises(Conflict, match="already registered"):
        add_app(layout, "comfyui", str(comfy_tree) + "/")
    with pytest.raises(Conflict, match="already exists"):
        add_app(layout, "comfyui", make_comfyui(tmp_path / "x"), name="comfyui")
    with pytest.raises(PumasError, match="unknown app kind"):
        add_app(layout, "paint", make_comfyui(tmp_path / "y"), known_kinds={"comfyui"})
    with pytest.raises(PumasError, match="app name"):
        add_app(layout, "comfyui", make_comfyui(tmp_path / "z"), name="bad/name")
    with pytest.raises(PumasError, match="link type"):
        add_app(layout, "comfyui", make_comfyui(tmp_path / "w"), link_type="copy")


def test_unknown_keys_in_apps_file_survive(layout, comfy_tree):
    add_app(layout, "comfyui", comfy_tree)
    data = json.loads(layout.apps_file.read_text())
    data["future"] = {"x": 1}
    data["apps"][0]["gpu"] = "cuda:1"
    layout.apps_file.write_text(json.dumps(data))
    add_app(layout, "comfyui", make_comfyui(comfy_tree.parent / "second"))
    again = json.loads(layout.apps_file.read_text())
    assert again["future"] == {"x": 1} and again["apps"][0]["gpu"] == "cuda:1"


def test_resolve_by_kind_or_name_and_remove(layout, tmp_path, comfy_tree):
    add_app(layout, "comfyui", comfy_tree)
    add_app(layout, "comfyui", make_comfyui(tmp_path / "c2"), name="other")
    assert [a.name for a in resolve_apps(layout, "comfyui")] == ["comfyui", "other"]
    assert [a.name for a in resolve_apps(layout, "other")] == ["other"]
    assert get_app(layout, "comfyui").name == "comfyui"
    with pytest.raises(NotFound):
        resolve_apps(layout, "nothing")
    assert remove_app_record(layout, "other") is True
    assert remove_app_record(layout, "other") is False
    with pytest.raises(NotFound):
        get_app(layout, "other")


def test_autodiscover_comfyui_versions(layout):
    versions = layout.comfyui_versions_dir
    make_comfyui(versions / "v0.6.0", "0.6.0")
    make_comfyui(versions / "v0.3.64", "0.3.64")
    (versions / "installing").mkdir(parents=True)  # no models/ yet: skipped
    added = autodiscover_comfyui(layout)
    assert [(a.name, a.version) for a in added] == [("comfyui", "0.3.64"), ("comfyui-0.6.0", "0.6.0")]
    assert autodiscover_comfyui(layout) == []
    make_comfyui(versions / "v0.7.0", None)  # version from the folder name
    (added,) = autodiscover_comfyui(layout)
    assert (added.name, added.version) == ("comfyui-0.7.0", "0.7.0")
    # A removed one stays removed, until added by hand again.
    assert remove_app_record(layout, "comfyui-0.7.0")
    assert autodiscover_comfyui(layout) == []
    assert add_app(layout, "comfyui", versions / "v0.7.0", name="back").version is None
    assert load_apps(layout).ignored_paths == []


# -- sandboxes -------------------------------------------------------------------------


def _sandbox(app_path: Path, home: Path, sysroot: Path, **env) -> list[str]:
    app = AppInstall(name="c", kind="comfyui", path=app_path)
    return detect_sandbox(app, library_root=Path("/lib"), environ={"HOME": str(home), **env}, system_root=sysroot)


def test_no_sandbox_no_warning(tmp_path):
    sysroot = tmp_path / "sys"
    sysroot.mkdir()
    assert _sandbox(tmp_path / "ComfyUI", tmp_path / "home", sysroot) == []


def test_flatpak_app_home(tmp_path):
    home, sysroot = tmp_path / "home", tmp_path / "sys"
    sysroot.mkdir()
    app_path = home / ".var" / "app" / "io.github.comfy" / "data" / "ComfyUI"
    (w,) = _sandbox(app_path, home, sysroot)
    assert "Flatpak" in w and "pumas mount --content" in w
    assert "flatpak override --user --filesystem=/lib io.github.comfy" in w


def test_flatpak_info_snap_and_containers(tmp_path):
    home, sysroot = tmp_path / "home", tmp_path / "sys"
    (sysroot / "run").mkdir(parents=True)
    (sysroot / ".flatpak-info").write_text("[Application]\n")
    warnings = _sandbox(tmp_path / "ComfyUI", home, sysroot)
    assert len(warnings) == 1 and "Flatpak" in warnings[0]

    (sysroot / ".flatpak-info").unlink()
    w = _sandbox(home / "snap" / "comfy" / "common" / "ComfyUI", home, sysroot)
    assert len(w) == 1 and "Snap" in w[0] and "pumas mount --content" in w[0] and "bind" in w[0]
    w = _sandbox(tmp_path / "ComfyUI", home, sysroot, SNAP="/snap/comfy/12")
    assert len(w) == 1 and "$SNAP" in w[0]

    (sysroot / "run" / ".containerenv").write_text("")
    (w,) = _sandbox(tmp_path / "ComfyUI", home, sysroot)
    assert "Podman" in w and "-v /lib:/lib" in w and "pumas mount --content" in w
    (sysroot / ".dockerenv").write_text("")
    (w,) = _sandbox(tmp_path / "ComfyUI", home, sysroot)
    assert "Docker" in w

    (sysroot / ".dockerenv").unlink()
    (sysroot / "run" / ".containerenv").unlink()
    (sysroot / "proc" / "1").mkdir(parents=True)
    (sysroot / "proc" / "1" / "cgroup").write_text("0::/kubepods/besteffort/pod1234\n")
    (w,) = _sandbox(tmp_path / "ComfyUI", home, sysroot)
    assert "kubepods" in w
    (sysroot / "proc" / "1" / "cgroup").write_text("0::/\n")
    assert _sandbox(tmp_path / "ComfyUI", home, sysroot) == []


def test_app_paths_are_absolute():
    with pytest.raises(ValueError):
        AppInstall(name="x", kind="comfyui", path=Path("relative/path"))
    app = AppInstall(name="x", kind="a1111", path=Path("/srv/webui"))
    assert app.base_dir("models") == Path("/srv/webui/models") and app.base_dir(".") == Path("/srv/webui")
    moved = AppInstall(name="y", kind="comfyui", path=Path("/srv/c"), models_dir=Path("/data/models"))
    assert moved.base_dir() == Path("/data/models")
    assert os.fspath(moved.path) == "/srv/c"
