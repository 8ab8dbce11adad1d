"""A registry.db that had to be set aside is rebuilt from the app folders themselves.

The registry is the only record of which links in an app folder are ours.
When it is not a database any more, the links are still on disk: for every
registered install, the plan says exactly which link (path, kind, target or
inode) pumas would write for each model.  A link on disk that matches that
exactly is ours again (the same test a sync uses to adopt a link a killed run
made); anything else (a user's file, a link someone changed) stays unowned.
An install with at least one such link was materialized, so it is marked for
a full check at its next sync; an install with none (viewed through FUSE
only, or never materialized) gets no links.  Folders pumas created are not
recoverable this way: `app remove` then leaves them (empty) in place.
"""

from __future__ import annotations

from typing import Any

from pumasfs.base.errors import PumasError

from .registry import Registry


def rebuild(reg: Registry, layout: Any) -> dict[str, int]:
    """Adopt every link that is exactly what a plan would write; returns app -> links adopted."""
    from pumasfs.planning.installs import load_apps
    from pumasfs.planning.planner import build_plan
    from pumasfs.store.library import Library

    from .apply import diff
    from .links import Targets
    from .report import SyncReport
    from .sync import _override, _plan_inputs, desired_links

    adopted: dict[str, int] = {}
    try:
        apps = list(load_apps(layout).apps)
    except PumasError:
        return adopted  # no list of installs (apps.json broken): doctor says so; nothing to adopt from
    lib = Library(layout)
    try:
        records = list(lib.index.records())
        for app in apps:
            try:
                tmap, base = _plan_inputs(layout, app)
            except PumasError:
                continue
            if not base.is_dir():
                continue
            plan = build_plan(records, tmap, app, full=True)
            targets = Targets(layout.models_dir, base, _override(app, None))
            desired = desired_links(plan, targets, SyncReport(app=app.name, mode="rebuild"))
            acts = diff(str(base), targets.models_real, desired, {}, variants=targets.variants)
            if not acts.adopt:
                continue
            with reg.transaction():
                reg.put(app.name, acts.adopt, targets.models_real)
            reg.set_dirty(app.name, str(base), targets.models_real)  # the next sync checks everything
            adopted[app.name] = len(acts.adopt)
    finally:
        lib.close()
    reg.rebuilt()
    return adopted
