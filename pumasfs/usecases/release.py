"""``pumas release APP`` (``pumas adopt --undo APP``): the way back from adoption.

Every pinned link in the install becomes a real file with the same bytes
again, by one rename over the link: moved back (a hardlink, no byte copied)
when no other install or pin uses the model, which then leaves the library;
copied and verified otherwise.  Then pumas's other links in the install are
removed and the install is no longer kept in sync.

Order: each file is restored before its pin is dropped, so a killed run
leaves every path resolving to its bytes; a marker in the run folder tells
``finish_pending`` (adopt, doctor) not to link a released file again until a
``pumas release`` run completes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pumasfs.adopt.swap import restore_file
from pumasfs.base import locks
from pumasfs.base.errors import PumasError
from pumasfs.base.testhooks import kill_point
from pumasfs.planning.installs import get_app
from pumasfs.planning.map_selection import plan_root, select_map
from pumasfs.planning.planner import build_plan
from pumasfs.usecases.adopt import ADOPT_LOCK
from pumasfs.usecases.workspace import Workspace


@dataclass
class ReleaseResult:
    app: str
    dry_run: bool
    restored: list[str] = field(default_factory=list)
    moved: int = 0
    copied: int = 0
    models_removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def release_marker(ws: Workspace, app: str) -> str:
    return str(ws.layout.run_dir / f"release-{app}.marker")


def release(ws: Workspace, app_name: str, *, dry_run: bool = False) -> ReleaseResult:
    from materializer.api import locked_registry, uninstall

    layout = ws.layout
    app = get_app(layout, app_name)
    tmap = select_map(layout, app).map
    base = plan_root(app, tmap)
    lib = ws.library
    result = ReleaseResult(app=app_name, dry_run=dry_run)
    models_real = os.path.realpath(layout.models_dir)
    with locks.exclusive(layout.run_dir / ADOPT_LOCK):
        marker = release_marker(ws, app_name)
        if not dry_run:
            layout.run_dir.mkdir(parents=True, exist_ok=True)
            with open(marker, "w") as f:
                f.write(app_name + "\n")
        for rec in [r for r in lib.index.records() if r.meta.pins_of(app_name)]:
            meta = rec.meta
            mid = meta.model_id
            others = [p for p in meta.pins if p.app != app_name]
            other_links = {}
            if layout.registry_db.exists():
                with locked_registry(layout) as reg:
                    other_links = {a: rows for a, rows in reg.apps_of_model(mid).items() if a != app_name}
            move = not others and not other_links
            plan = build_plan([rec], tmap, app, full=False)
            paths = sorted(plan.entries)
            done: list[str] = []
            failed_here = False
            for path in paths:
                entry = plan.entries[path]
                abs_path = str(base / path)
                lib_file = os.path.join(models_real, entry.source)
                if not _is_our_link(abs_path, lib_file):
                    if os.path.lexists(abs_path):
                        result.notes.append(f"{abs_path}: not a pumas link any more; left as it is")
                    continue
                if dry_run:
                    result.restored.append(path)
                    continue
                try:
                    restore_file(abs_path, lib_file, move=move)
                except PumasError as e:
                    result.failures.append(e.message)
                    failed_here = True
                    continue
                kill_point("restored")
                done.append(path)
                result.restored.append(path)
                if move and os.stat(abs_path).st_ino == os.stat(lib_file).st_ino:
                    result.moved += 1
                else:
                    result.copied += 1
            if dry_run or failed_here:
                continue  # its pins stay: a later run finishes
            if layout.registry_db.exists():
                with locked_registry(layout) as reg, reg.transaction():
                    reg.delete(app_name, paths)
            meta = lib.get(mid)
            meta.pins = [p for p in meta.pins if p.app != app_name]
            if move:
                lib.remove(mid)  # its bytes live on at the restored paths (same inode)
                result.models_removed.append(mid)
            else:
                lib.save(meta)
        if dry_run:
            return result
        report = uninstall(layout, app)
        result.notes += report.warnings
        result.failures += report.errors
        if not result.failures:
            try:
                os.unlink(marker)
            except OSError:
                pass
    return result


def _is_our_link(abs_path: str, lib_file: str) -> bool:
    """A symlink leading to the library file, or a hardlink of it (NTFS installs)."""
    try:
        st = os.lstat(abs_path)
        lst = os.stat(lib_file)
    except OSError:
        return False
    if os.path.islink(abs_path):
        return os.path.realpath(abs_path) == os.path.realpath(lib_file)
    return (st.st_dev, st.st_ino) == (lst.st_dev, lst.st_ino)
