"""`pumas relocate OLD NEW`: a drive's mount point changed; follow it.

Everything recorded under OLD moves to NEW: app folders and the library
path in the registry (and the install paths in apps.json), and every link
whose target text depends on them is rewritten, atomically, but only when the
disk still holds exactly what we wrote.  Absolute links change target;
relative links change only when the library and the app did not move
together (moving both keeps them valid, and then nothing is rewritten).
Hardlinks do not depend on paths.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pumasfs.base.errors import NotFound
from pumasfs.base.paths import Layout

from .links import ABSOLUTE, RELATIVE, on_disk_matches, replace
from .registry import Registry
from .report import SyncReport


def _moved(path: str, old: str, new: str) -> str | None:
    if path == old:
        return new
    if path.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + path[len(old.rstrip("/")):]
    return None


def relocate(reg: Registry, layout: Layout, old: Path, new: Path, *, dry_run: bool = False) -> SyncReport:
    old_s = os.path.abspath(old)
    new_s = os.path.abspath(new)
    if not os.path.isdir(new_s):
        raise NotFound(f"{new_s} does not exist (mount the drive there first)")
    from pumasfs.planning.installs import load_apps

    load_apps(layout)  # a broken apps.json stops us before the registry changes, not after
    report = SyncReport(app="*", mode="relocate", base_dir=f"{old_s} -> {new_s}", dry_run=dry_run)
    for state in reg.states():
        base = _moved(state.base_dir, old_s, new_s) or state.base_dir
        models_real = _moved(state.models_real, old_s, new_s) or state.models_real
        if base == state.base_dir and models_real == state.models_real:
            continue
        if not os.path.isdir(base):
            report.warnings.append(f"{state.app}: {base} does not exist; its links were not checked")
            continue
        if not os.path.isdir(models_real):
            report.warnings.append(f"{state.app}: library {models_real} does not exist; its links were not checked")
            continue
        done = []
        folder_real: dict[str, str] = {}
        for path, spec in sorted(reg.links_of_app(state.app).items()):
            if spec.kind not in (ABSOLUTE, RELATIVE):
                continue
            folder = path.rpartition("/")[0]
            if spec.kind == ABSOLUTE:
                target = f"{models_real}/{spec.source}"
            else:
                if folder not in folder_real:
                    folder_real[folder] = os.path.realpath(f"{base}/{folder}" if folder else base)
                target = f"{os.path.relpath(models_real, folder_real[folder])}/{spec.source}"
            if target == spec.target:
                continue
            new_spec = spec._replace(target=target)
            abs_path = f"{base}/{path}"
            if on_disk_matches(new_spec, abs_path):
                done.append(new_spec)  # already rewritten (an earlier, interrupted relocate)
            elif on_disk_matches(spec, abs_path):
                if not dry_run:
                    try:
                        replace(new_spec, abs_path, models_real, spec)
                    except OSError as e:
                        report.errors.append(f"{abs_path}: cannot rewrite: {e.strerror}")
                        continue
                done.append(new_spec)
            else:
                report.warnings.append(f"{abs_path}: not what pumas wrote; left alone")
                continue
            report.retargeted.append(f"{state.app}:{path}")
        if dry_run:
            continue
        with reg.transaction():
            reg.put(state.app, done, models_real)
            reg.set_paths(state.app, base, models_real)
    if not dry_run:
        report.warnings += _relocate_apps_file(layout, old_s, new_s)
        report.applied = not report.errors
    return report


def _relocate_apps_file(layout: Layout, old: str, new: str) -> list[str]:
    """Install paths in apps.json follow the drive too."""
    from pumasfs.planning.installs import load_apps, update_app

    changed = []
    for app in load_apps(layout).apps:
        path = _moved(str(app.path), old, new)
        models = _moved(str(app.models_dir), old, new) if app.models_dir else None
        if path or models:
            update_app(layout, app.name, path=Path(path or app.path), models_dir=Path(models or app.models_path))
            changed.append(app.name)
        # A yaml/view install's tree and yaml move too; `pumas doctor --fix` then rewrites the yaml's section.
        tree = _moved(str(app.tree_dir), old, new) if getattr(app, "tree_dir", None) else None
        extra = getattr(app, "extra_paths", None)
        yaml_file = _moved(str(extra.file), old, new) if extra is not None else None
        if tree or yaml_file:
            changes: dict[str, Any] = {}
            if tree:
                changes["tree_dir"] = Path(tree)
            if yaml_file and extra is not None:
                changes["extra_paths"] = extra.model_copy(update={"file": Path(yaml_file)})
            update_app(layout, app.name, **changes)
            if app.name not in changed:
                changed.append(app.name)
    return [f"{name}: install path now under {new}" for name in changed]
