"""Fixtures for the materializer: a real ComfyUI folder tree, models in a real library, real mounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from materializer.registry import close_shared
from pumasfs.store.library import Library
from tests.support import mounts
from tests.support.comfyui import COMFYUI_STANDARD, make_comfyui
from tests.support.fs import snapshot
from tests.support.models import add_model

__all__ = ["COMFY_FOLDERS", "add_model", "add_rule", "make_comfyui", "register", "snapshot"]

# Every folder a fresh ComfyUI checkout ships under models/, each with its placeholder file.
COMFY_FOLDERS = list(COMFYUI_STANDARD)


@pytest.fixture
def comfy(tmp_path: Path) -> Path:
    return make_comfyui(tmp_path / "ComfyUI")


@pytest.fixture
def app(library: Library, comfy: Path):
    return register(library, comfy)


def register(library: Library, comfy: Path, name: str | None = None, **kw):
    """What `pumas app add comfyui PATH` does: record the install and write its default map."""
    from pumasfs.planning.installs import add_app
    from pumasfs.planning.map_store import ensure_default_map

    app = add_app(library.layout, "comfyui", comfy, name=name, **kw)
    ensure_default_map(library.layout, app)
    return app


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A real tmpfs mount (another filesystem than the test's tmp dir); always unmounted."""
    with mounts.tmpfs(tmp_path / "tmpfs", "64m", before_unmount=close_shared) as mnt:
        yield mnt


@pytest.fixture
def ntfs(tmp_path: Path):
    """A real NTFS volume: an image file formatted by mkfs.ntfs, mounted with ntfs-3g; always unmounted."""
    with mounts.ntfs(tmp_path / "ntfs.img", tmp_path / "ntfs", before_unmount=close_shared) as mnt:
        yield mnt


def add_rule(library: Library, app, folder: str, subtypes: list[str]) -> None:
    """A per-install map: the default ComfyUI map plus a rule sending ``subtypes`` to ``folder``."""
    from pumasfs.planning.comfyui_map import default_comfyui_map
    from pumasfs.planning.map_schema import Match, Rule, map_json
    from pumasfs.planning.model_folders import discover_model_folders

    tmap = default_comfyui_map(discover_model_folders(app))
    tmap.rules.append(Rule(name=folder.replace("/", "-"), priority=60, target=folder,
                           match=Match(subtype=subtypes, layout=["file"])))
    tmap.install = app.name
    library.layout.maps_dir.mkdir(parents=True, exist_ok=True)
    (library.layout.maps_dir / f"{app.name}-test.json").write_text(map_json(tmap))
