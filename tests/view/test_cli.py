"""End to end: `pumas mount/umount/mounts` over a real library, app, map and planner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from pumasfs.planning.installs import add_app, get_app
from pumasfs.planning.map_selection import plan_root, select_map
from pumasfs.planning.planner import build_plan
from tests.conftest import assert_one_line_error
from tests.support.cli import cli_env, pumas_argv
from tests.support.models import add_model as support_add_model
from tests.view.conftest import is_mounted, wait_for

MAP = {
    "app": "comfyui",
    "version_range": "*",
    "rules": [
        {"name": "diffusers", "priority": 100, "target": "diffusers", "match": {"layout": ["folder"]}},
        {"name": "checkpoints", "target": "checkpoints", "match": {"subtype": ["checkpoints"], "layout": ["file"]}},
        {"name": "loras", "target": "loras/{family}", "match": {"subtype": ["loras"], "layout": ["file"]}},
    ],
}


def add_model(library, name: str, subtype: str | None, data: bytes, *, family: str = "sd1", folder: bool = False,
              file_name: str | None = None, added: str | None = None) -> str:
    return support_add_model(library, name, subtype=subtype, data=data, family=family, folder=folder,
                             file_name=file_name, added=added, format="safetensors").model_id


@pytest.fixture
def setup(root, library, tmp_path):
    """A library with a few models and a registered ComfyUI install with its map."""
    app_dir = tmp_path / "ComfyUI"
    for d in ("checkpoints", "loras", "diffusers"):
        (app_dir / "models" / d).mkdir(parents=True)
    layout = library.layout
    layout.maps_dir.mkdir(parents=True, exist_ok=True)
    (layout.maps_dir / "comfyui.json").write_text(json.dumps(MAP))
    add_app(layout, "comfyui", app_dir)
    ids = [
        add_model(library, "dreamshaper-8", "checkpoints", os.urandom(50_000)),
        add_model(library, "detail-lora", "loras", os.urandom(3_000), family="sdxl"),
        add_model(library, "sd-pipe", None, os.urandom(4_000), folder=True),
        add_model(library, "some-llm", None, b"gguf", family="llama"),  # no rule: not shown
    ]
    return library, ids


def _mounts(pumas, tmp_path: Path) -> list[dict]:
    """`pumas mounts --json`: this root's views, which are this test's (tests/mounts checks other roots')."""
    views = pumas("mounts", "--json").json()
    assert all(v["mountpoint"].startswith(f"{tmp_path}/") for v in views), views
    return views


def planned(library) -> dict[str, str]:
    """What the materializer would write: app path -> library path."""
    app = get_app(library.layout, "comfyui")
    tmap = select_map(library.layout, app).map
    plan = build_plan(list(library.index.records()), tmap, app)
    models = library.layout.models_dir.resolve()
    return {p: str(models / e.source) for p, e in plan.entries.items()}


def view_links(mp: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirs, files in os.walk(mp):
        for name in dirs + files:
            p = Path(dirpath) / name
            if p.is_symlink():
                out[p.relative_to(mp).as_posix()] = os.readlink(p)
    return out


def test_mount_shows_the_plan_and_follows_the_library(setup, pumas, tmp_path, cli_mounts):
    library, ids = setup
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    out = pumas("mount", "comfyui", mp)
    assert "mounted at" in out.stdout
    assert is_mounted(mp)
    want = planned(library)
    assert set(want) == {"checkpoints/dreamshaper-8.safetensors", "loras/sdxl/detail-lora.safetensors", "diffusers/sd-pipe"}
    assert view_links(mp) == want

    views = _mounts(pumas, tmp_path)
    assert [(v["mountpoint"], v["app"], v["mode"], v["state"]) for v in views] == [(str(mp), "comfyui", "preview", "active")]

    # Live: an import appears, a removal disappears, an edit moves, all without remounting.
    new = add_model(library, "juggernaut", "checkpoints", os.urandom(1000))
    wait_for(lambda: (mp / "checkpoints/juggernaut.safetensors").is_symlink(), what="the import")
    library.remove(ids[1])
    wait_for(lambda: not (mp / "loras").exists(), what="the removal")
    # An identity edit moves the model folder: same name in the app, new library path.
    moved = library.edit(new, {"cleaned_name": "juggernaut-xl"}).model_id
    link = mp / "checkpoints/juggernaut.safetensors"
    wait_for(lambda: f"/{moved}/" in os.readlink(link), what="the move")
    assert link.read_bytes() == (library.layout.models_dir / moved / "juggernaut.safetensors").read_bytes()
    # A collision: a later model with the same file name gets the disambiguated name.
    add_model(library, "dreamshaper-copy", "checkpoints", os.urandom(100), file_name="dreamshaper-8.safetensors")
    wait_for(lambda: len(os.listdir(mp / "checkpoints")) == 3, what="the colliding import")
    assert view_links(mp) == planned(library)
    # A model added earlier (older added_date) takes the name: the holder is renamed.
    older = add_model(library, "dreamshaper-orig", "checkpoints", os.urandom(100),
                      file_name="dreamshaper-8.safetensors", added="2001-01-01T00:00:00Z")
    wait_for(lambda: len(os.listdir(mp / "checkpoints")) == 4, what="the older import")
    assert f"/{older}/" in os.readlink(mp / "checkpoints/dreamshaper-8.safetensors")
    assert view_links(mp) == planned(library)
    # The winner goes: its name returns to the next in line.
    library.remove(older)
    wait_for(lambda: f"/{ids[0]}/" in os.readlink(mp / "checkpoints/dreamshaper-8.safetensors"), what="the name back")
    assert view_links(mp) == planned(library)
    # models.db deleted and rebuilt (a new epoch): the view resyncs in full.
    library.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{library.layout.index_db}{suffix}").unlink(missing_ok=True)
    library.scan()
    library.remove(moved)
    wait_for(lambda: len(os.listdir(mp / "checkpoints")) == 2, what="the change after a rebuild")
    assert view_links(mp) == planned(library)

    out = pumas("umount", mp)
    assert not is_mounted(mp)
    assert _mounts(pumas, tmp_path) == []
    log = Path(views[0]["log"]).read_text()
    assert "Traceback" not in log and "ERROR" not in log, log


def test_content_view_equals_the_materialized_links(setup, pumas, tmp_path, cli_mounts):
    library, _ = setup
    from materializer.api import materialize

    app = get_app(library.layout, "comfyui")
    materialize(library.layout, library, app)
    base = plan_root(app, select_map(library.layout, app).map)
    materialized = {}
    for dirpath, dirs, files in os.walk(base):
        for name in dirs + files:
            p = Path(dirpath) / name
            if p.is_symlink() or (p.is_file() and p.stat().st_nlink > 1):
                materialized[p.relative_to(base).as_posix()] = p.resolve()
    mp = tmp_path / "content-view"
    cli_mounts.append(mp)
    pumas("mount", "comfyui", mp, "--content")
    shown = {}
    for path in planned(library):
        p = mp / path
        assert not p.is_symlink()
        shown[path] = p
    assert set(shown) == set(materialized)
    for path, p in shown.items():
        lib_path = materialized[path]
        if lib_path.is_dir():
            assert sorted(os.listdir(p)) == sorted(os.listdir(lib_path))
        else:
            assert p.read_bytes() == lib_path.read_bytes()
    assert _mounts(pumas, tmp_path)[0]["mode"] == "content"
    pumas("umount", mp)
    assert not is_mounted(mp)


def test_killed_daemon_stale_mount_is_cleaned(setup, pumas, tmp_path, cli_mounts):
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    pumas("mount", "comfyui", mp)
    pid = _mounts(pumas, tmp_path)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="the daemon to die")
    with pytest.raises(OSError):
        os.listdir(mp)  # transport endpoint is not connected
    assert _mounts(pumas, tmp_path)[0]["state"] == "stale"
    # A new mount on the same point cleans the stale one first.
    pumas("mount", "comfyui", mp)
    assert "checkpoints" in os.listdir(mp)
    pid = _mounts(pumas, tmp_path)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="the daemon to die")
    out = pumas("umount", mp)
    assert "stale" in out.stdout
    assert not is_mounted(mp)
    assert _mounts(pumas, tmp_path) == []


def test_foreground_mount_ends_cleanly_on_sigterm(setup, root, tmp_path, cli_mounts):
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    proc = subprocess.Popen(pumas_argv("mount", "comfyui", mp, "--foreground", root=root), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(tmp_path / "home"))
    try:
        wait_for(lambda: is_mounted(mp) or proc.poll() is not None, what="the mount")
        assert proc.poll() is None, proc.stderr.read()
        assert "checkpoints" in os.listdir(mp)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not is_mounted(mp)
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_user_errors_are_one_line(setup, pumas, tmp_path, cli_mounts):
    assert_one_line_error(pumas("mount", "nosuchapp", tmp_path / "v", check=False))
    assert_one_line_error(pumas("umount", tmp_path, check=False))
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    pumas("mount", "comfyui", mp)
    again = pumas("mount", "comfyui", mp, check=False)
    assert_one_line_error(again)
    assert "already a pumas view" in again.stderr
    inside = pumas("mount", "comfyui", setup[0].layout.models_dir / "x", check=False)
    assert_one_line_error(inside)
    pumas("umount", mp)


def test_preview_entries_show_their_identity_through_getfattr(setup, pumas, tmp_path, cli_mounts):
    """Symlinks cannot carry user xattrs, so the library file they point to does."""
    library, ids = setup
    mp = tmp_path / "view"
    cli_mounts.append(mp)
    pumas("mount", "comfyui", mp)
    entry = mp / "checkpoints/dreamshaper-8.safetensors"
    assert entry.is_symlink()
    out = subprocess.run(["getfattr", "-d", str(entry)], check=True, capture_output=True, text=True).stdout
    assert f'user.pumas.model_id="{ids[0]}"' in out
    assert f'user.pumas.source="{os.readlink(entry)}"' in out
    # An identity edit moves the folder: the tags follow.
    moved = library.edit(ids[0], {"family": "sd2"}).model_id
    wait_for(lambda: f"/{moved}/" in os.readlink(entry), what="the move")
    assert os.getxattr(entry, "user.pumas.model_id") == moved.encode()
    assert os.getxattr(entry, "user.pumas.source") == os.readlink(entry).encode()
