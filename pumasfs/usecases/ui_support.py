"""Thin glue for the web UI until the use cases it needs exist in this package.

The apps pages read here what no use case returns yet: link counts per folder
and the last sync (``app_links``), the full Plan for an install (``preview_plan``, the
same inputs ``materialize`` plans with), and ComfyUI installs found in the
folders the user allowed (``find_installs``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.planning.installs import AppInstall
    from pumasfs.planning.plan import Plan, PlanEntry


# -- apps: what the apps pages read, until usecases/apps.py offers it ---------------------------------------------


@dataclass
class AppLinks:
    """How far an install is linked: link rows per folder and the last sync (registry.db)."""

    total: int = 0
    per_folder: dict[str, int] = field(default_factory=dict)
    synced_at: str | None = None
    dirty: bool = False


def app_links(ws: Workspace, name: str) -> AppLinks:
    out = AppLinks()
    if not ws.layout.registry_db.exists():
        return out
    conn = sqlite3.connect(f"file:{ws.layout.registry_db}?mode=ro", uri=True, timeout=30.0)
    try:
        for path, n in conn.execute(
            "SELECT rtrim(target_app_path, replace(target_app_path, '/', '')), COUNT(*) FROM links WHERE app=? "
            "GROUP BY 1 ORDER BY 1", (name,)):
            folder = str(path).rstrip("/") or "."
            out.per_folder[folder] = int(n)
            out.total += int(n)
        row = conn.execute("SELECT synced_at, dirty FROM app_state WHERE app=?", (name,)).fetchone()
        if row:
            out.synced_at, out.dirty = row[0], bool(row[1])
    finally:
        conn.close()
    return out


@dataclass
class PlanPreview:
    """The app's tree exactly as the planner computes it for the current map (the Plan, not the disk)."""

    install: AppInstall
    map_source: str
    map_reason: str
    base_dir: Path
    plan: Plan
    folders: dict[str, list[tuple[str, PlanEntry]]]  # folder -> (app-relative path, entry), sorted

    @property
    def entry_paths(self) -> list[str]:
        return sorted(self.plan.entries)


def preview_plan(ws: Workspace, name: str) -> PlanPreview:
    """The full plan `pumas materialize NAME` would apply, with the map that made it (no disk is read but the index)."""
    from pumasfs.planning.installs import get_app
    from pumasfs.planning.map_selection import plan_root, select_map
    from pumasfs.planning.planner import build_plan
    from pumasfs.usecases.apps import discover_installs

    discover_installs(ws)
    install = get_app(ws.layout, name)
    selected = select_map(ws.layout, install)
    plan = build_plan(list(ws.library.index.records()), selected.map, install, full=True)
    folders: dict[str, list[tuple[str, PlanEntry]]] = {}
    for path in sorted(plan.entries):
        folders.setdefault(path.rsplit("/", 1)[0] if "/" in path else ".", []).append((path, plan.entries[path]))
    return PlanPreview(install=install, map_source=selected.source, map_reason=selected.reason,
                       base_dir=Path(plan_root(install, selected.map)), plan=plan, folders=folders)


@dataclass
class FoundInstall:
    path: Path
    kind: str
    version: str | None


def find_installs(roots: list[Path], registered: list[Path], *, depth: int = 3) -> list[FoundInstall]:
    """ComfyUI installs under ``roots`` (a ``comfyui_version.py`` or ``comfy/`` beside ``main.py``) not yet registered."""
    from pumasfs.planning.app_versions import read_app_version

    known = {os.path.realpath(p) for p in registered}
    found: list[FoundInstall] = []
    stack = [(Path(r), 0) for r in roots]
    seen: set[str] = set()
    while stack and len(found) < 50:
        d, level = stack.pop()
        real = os.path.realpath(d)
        if real in seen:
            continue
        seen.add(real)
        if (d / "comfyui_version.py").is_file() or ((d / "main.py").is_file() and (d / "comfy").is_dir()):
            if real not in known:
                found.append(FoundInstall(d, "comfyui", read_app_version("comfyui", d)))
            continue
        if level >= depth:
            continue
        try:
            children = sorted(e.path for e in os.scandir(d)
                              if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
        except OSError:
            continue
        stack += [(Path(c), level + 1) for c in reversed(children)]
    return found


@dataclass
class Filesystems:
    """Where the install's models folder and the library live, and whether links can join them."""

    app: str
    library: str
    same: bool
    links_possible: bool


def filesystems(ws: Workspace, install: AppInstall) -> Filesystems | None:
    from materializer.fsinfo import mount_of

    try:
        app_fs, lib_fs = mount_of(install.models_path), mount_of(ws.layout.models_dir)
    except OSError:
        return None
    return Filesystems(app=app_fs.describe(), library=lib_fs.describe(), same=app_fs.mountpoint == lib_fs.mountpoint,
                       links_possible=app_fs.supports_links)


MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".sft")


def unmanaged_files(ws: Workspace, install: AppInstall, *, limit: int = 200) -> list[tuple[str, int]]:
    """Model files in the install's folders that pumas did not put there (``pumas adopt`` brings them in)."""
    base = install.models_path
    ours: set[str] = set()
    if ws.layout.registry_db.exists():
        conn = sqlite3.connect(f"file:{ws.layout.registry_db}?mode=ro", uri=True, timeout=30.0)
        try:
            ours = {r[0] for r in conn.execute("SELECT target_app_path FROM links WHERE app=?", (install.name,))}
        finally:
            conn.close()
    out: list[tuple[str, int]] = []
    for d, dirs, files in os.walk(base):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            p = Path(d) / f
            if not f.lower().endswith(MODEL_SUFFIXES) or p.is_symlink():
                continue
            rel = p.relative_to(base).as_posix()
            if rel in ours:
                continue  # a hardlink pumas made
            try:
                out.append((rel, p.stat().st_size))
            except OSError:
                continue
            if len(out) >= limit:
                return out
    return out
