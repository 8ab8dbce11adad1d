"""Installs found on disk, and the selectors that name installs.

ComfyUI installs under ``<root>/comfyui-versions/*/`` count as registered
from the moment they exist, whichever command names them first; each one
found gets the default map ``pumas app add`` would write.

Selectors: ``resolve_apps`` takes an install name or a kind.  A kind means
*every* install of that kind, even though the first install of a kind is
named after it: ``pumas sync comfyui`` syncs all ComfyUI installs.  Commands
about exactly one install use ``installs.get_app``, which only takes names.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from pumasfs.base.errors import NotFound
from pumasfs.base.paths import Layout
from pumasfs.planning.app_versions import clean_version, read_app_version, version_key
from pumasfs.planning.installs import AppInstall, apps_locked, free_name, load_apps, same_path, save_apps
from pumasfs.planning.map_store import ensure_default_map


def resolve_apps(layout: Layout, selector: str) -> list[AppInstall]:
    """A kind selects every install of that kind; otherwise an install's name."""
    autodiscover_comfyui(layout)
    apps = load_apps(layout).apps
    of_kind = [a for a in apps if a.kind == selector]
    if of_kind:
        return of_kind
    named = [a for a in apps if a.name == selector]
    if named:
        return named
    known = ", ".join(sorted({a.name for a in apps} | {a.kind for a in apps})) or "none registered"
    raise NotFound(f"no app install or kind {selector!r} (known: {known}; see `pumas app add`)")


def autodiscover_comfyui(layout: Layout) -> list[AppInstall]:
    """Register ComfyUI installs under ``<root>/comfyui-versions/*/`` not yet known.

    Each one added gets the default map ``pumas app add`` would write.

    Folders without ``models/`` are skipped silently (an install in
    progress).  The first ComfyUI install gets the name ``comfyui``, the
    others ``comfyui-<version>``.
    """
    base = layout.comfyui_versions_dir
    try:
        dirs = [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]
    except OSError:
        return []
    found = []
    for d in dirs:
        if (d / "models").is_dir():
            version = read_app_version("comfyui", d) or clean_version(d.name)
            found.append((version_key(version, d.name), d, version))
    if not found:
        return []
    added: list[AppInstall] = []
    with apps_locked(layout):
        apps = load_apps(layout)
        for _, d, version in sorted(found, key=lambda t: t[0]):
            root = Path(os.path.abspath(d))
            if any(same_path(a.path, root) for a in apps.apps):
                continue
            if any(same_path(Path(p), root) for p in apps.ignored_paths):
                continue
            taken = {a.name for a in apps.apps}
            if "comfyui" not in taken:
                name = "comfyui"
            else:
                name = free_name(f"comfyui-{version or d.name}", taken)
            try:
                app = AppInstall(name=name, kind="comfyui", path=root, version=version)
            except ValidationError:
                app = AppInstall(name=free_name("comfyui", taken), kind="comfyui", path=root, version=version)
            apps.apps.append(app)
            added.append(app)
        if added:
            save_apps(layout, apps)
    # Same map as `pumas app add` writes: an install's map must not depend on
    # which command (app add, materialize, sync, mount) saw it first.
    for app in added:
        ensure_default_map(layout, app)
    return added
