"""What the CLI and the rest of pumas call.  Every entry point holds the root's link lock.

``app`` arguments are ``pumasfs.planning.installs.AppInstall`` objects; ``uninstall``
also takes a bare name (the install may already be gone from apps.json).
The folder plan paths are relative to is ``maps.plan_root(app, map)``; the
materializer records it per app (``app_state.base_dir``) so that uninstall,
cascade delete and doctor need no map.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumasfs.base import locks
from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.installs import AppInstall
from pumasfs.store.health import Finding

from . import doctor as _doctor
from . import relocate as _relocate
from .apply import prune_dirs
from .links import on_disk_matches
from .registry import Registry, close_shared, shared
from .report import SyncReport
from .sync import full_sync, incremental_sync

if TYPE_CHECKING:
    from pumasfs.store.library import Library


@contextmanager
def locked_registry(layout: Layout) -> Iterator[Registry]:
    """The registry, with the root's link lock held: one process changes links at a time."""
    with locks.exclusive(layout.run_dir / "links.lock"):
        reg = shared(layout.registry_db)
        if reg.needs_rebuild():
            from .rebuild import rebuild

            rebuild(reg, layout)
        yield reg


def materialize(layout: Layout, library: Library, app: AppInstall, *, dry_run: bool = False, link_type: str | None = None,
                allow_conflicts: bool = False) -> SyncReport:
    """Full sync of one install: make its models folder show the whole plan."""
    if getattr(app, "mode", "links") == "view":
        # A kind selector (`pumas materialize comfyui`) may name an install shown through a live view.
        report = SyncReport(app=app.name, mode="full", base_dir=str(app.tree_dir), dry_run=dry_run,
                            applied=not dry_run)
        report.warnings.append(f"{app.name} is shown through a live view (mode view) at {app.tree_dir}: pumas "
                               f"writes no links for it (`pumas app set {app.name} --mode yaml` builds a tree "
                               "of links instead)")
        return report
    with locked_registry(layout) as reg:
        report = full_sync(reg, layout, library, app, dry_run=dry_run, link_type=link_type,
                           allow_conflicts=allow_conflicts)
    _refresh_yaml(layout, library, app, report)
    return report


def _refresh_yaml(layout: Layout, library: Any, app: Any, report: SyncReport) -> None:
    """A yaml-mode install's tree may have gained a folder its extra_model_paths.yaml must name."""
    if getattr(app, "mode", "links") != "yaml" or report.dry_run or report.mode == "incremental" \
            or not report.applied:
        return
    from pumasfs.usecases.install_mode import refresh_section

    warning = refresh_section(layout, app)
    if warning:
        report.warnings.append(warning)


def _registered_apps(layout: Layout) -> list[AppInstall]:
    from pumasfs.planning.installs import load_apps

    return list(load_apps(layout).apps)


def sync_pending(layout: Layout, library: Library, apps: Iterable[AppInstall] | None = None, *,
                 dry_run: bool = False, allow_conflicts: bool = False) -> list[SyncReport]:
    """Incremental sync of every materialized app (or the given ones).

    With ``apps=None`` only installs that were materialized before are
    touched: an install someone only views through FUSE gets no links.
    Given apps that were never materialized get a full sync.  One app's
    failure (say, its drive is unmounted) is reported and the others go on.
    """
    if apps is None:
        if not layout.registry_db.exists():
            return []
        candidates = _registered_apps(layout)
    else:
        candidates = list(apps)
    reports: list[SyncReport] = []
    with locked_registry(layout) as reg:
        known = {s.app for s in reg.states()}
        for app in candidates:
            if apps is None and app.name not in known:
                continue
            if getattr(app, "mode", "links") == "view":
                continue  # a live view follows the library by itself: nothing to link
            try:
                report = incremental_sync(reg, layout, library, app, dry_run=dry_run,
                                          allow_conflicts=allow_conflicts)
                reports.append(report)
            except PumasError as e:
                r = SyncReport(app=app.name, mode="incremental", dry_run=dry_run)
                r.errors.append(e.message)
                reports.append(r)
    for app in candidates:
        for report in reports:
            if report.app == app.name:
                _refresh_yaml(layout, library, app, report)
    return reports


def remove_model_links(layout: Layout, model_id: str) -> int:
    """Cascade delete, step one: this model's links in every app, then their rows.

    Returns how many links were removed from disk.  Links that someone else
    changed are left alone (their rows dropped); an app whose folder is not
    there (an unmounted drive) keeps its rows so that `pumas doctor` can
    clean up when it is back.
    """
    if not layout.registry_db.exists():
        return 0
    removed = 0
    with locked_registry(layout) as reg:
        for app, rows in reg.apps_of_model(model_id).items():
            state = reg.state(app)
            if state is None or not os.path.isdir(state.base_dir):
                continue
            base = state.base_dir
            reg.set_dirty(app, base, state.models_real)
            done, touched = [], set()
            for path, spec in rows.items():
                abs_path = f"{base}/{path}"
                if on_disk_matches(spec, abs_path):
                    try:
                        os.unlink(abs_path)
                    except FileNotFoundError:
                        pass
                    removed += 1
                    touched.add(path.rpartition("/")[0])
                done.append(path)
            with reg.transaction():
                reg.delete(app, done)
                reg.add_vacated(app, {p.rpartition("/")[2] for p in done})
            prune_dirs(reg, app, base, touched)
            with reg.transaction():
                reg.mark_dirty(app, False)
    return removed


def uninstall(layout: Layout, app: AppInstall | str, *, dry_run: bool = False) -> SyncReport:
    """Remove exactly the links we made in an install and the folders we created that are now empty.

    Anything else (the app's placeholder files, a user's own models, a link
    someone changed) stays as it is.  Afterwards the registry forgets the app.
    """
    name = app if isinstance(app, str) else app.name
    report = SyncReport(app=name, mode="uninstall", dry_run=dry_run)
    if not layout.registry_db.exists():
        report.applied = not dry_run
        return report
    with locked_registry(layout) as reg:
        state = reg.state(name)
        rows = reg.links_of_app(name)
        if state is None and not rows:
            report.applied = not dry_run
            return report
        base = state.base_dir if state else ("" if isinstance(app, str) else str(app.models_dir))
        report.base_dir = base
        if not os.path.isdir(base):
            report.warnings.append(f"{base} is gone (or its drive is not mounted); forgetting its {len(rows)} link(s)")
        gone, touched = [], set()
        for path, spec in sorted(rows.items()):
            abs_path = f"{base}/{path}"
            if on_disk_matches(spec, abs_path):
                if not dry_run:
                    try:
                        os.unlink(abs_path)
                    except OSError as e:
                        report.errors.append(f"{abs_path}: cannot remove: {e.strerror}")
                        continue
                report.removed.append(path)
                touched.add(path.rpartition("/")[0])
            elif os.path.lexists(abs_path):
                report.warnings.append(f"{abs_path}: changed since pumas made it; left alone")
                report.forgotten.append(path)
            else:
                report.forgotten.append(path)
            gone.append(path)
        if dry_run:
            report.folders_removed = sorted(reg.dirs_of_app(name), key=lambda p: (-p.count("/"), p))
            return report
        with reg.transaction():
            reg.delete(app=name, paths=gone)
        if os.path.isdir(base):
            report.folders_removed = prune_dirs(reg, name, base, touched, everything=True)
        if report.errors:
            return report  # the rows of links we could not remove stay: retry later
        for d in sorted(reg.dirs_of_app(name)):
            report.warnings.append(f"{base}/{d}: kept (not empty: something else was put there)")
        with reg.transaction():
            reg.forget_app(name)
        report.applied = True
    return report


def doctor(layout: Layout, library: Library, *, fix: bool = False) -> list[Finding]:
    """Link health over every app: broken, orphaned, vanished or changed links, missing app folders."""
    apps: list[AppInstall] = []
    broken: list[Finding] = []
    if layout.apps_file.exists():
        try:
            apps = _registered_apps(layout)
        except PumasError as e:
            # Without the list of installs no app can be checked: say so, never "healthy".
            broken.append(Finding(kind="broken-apps-file", path=str(layout.apps_file), detail=e.message))
    with locked_registry(layout) as reg:
        return broken + _doctor.check(reg, layout, apps, fix=fix)


def relocate(layout: Layout, old: str | Path, new: str | Path, *, dry_run: bool = False) -> SyncReport:
    """A drive's mount point moved from OLD to NEW: rewrite absolute links and recorded paths."""
    with locked_registry(layout) as reg:
        return _relocate.relocate(reg, layout, Path(old), Path(new), dry_run=dry_run)


def close() -> None:
    """Release this process's registry handles (e.g. before unmounting the drive they live on)."""
    close_shared()


def links_of_model(layout: Layout, model_id: str) -> list[dict[str, Any]]:
    """Every link of a model (for `pumas show`)."""
    if not layout.registry_db.exists():
        return []
    reg = Registry(layout.registry_db)
    try:
        return reg.rows_of_model(model_id)
    finally:
        reg.close()
