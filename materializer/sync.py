"""Full and incremental sync: from a Plan to links, through the registry.

A full sync diffs the whole plan against every registry row of the app.  An
incremental sync reads the index's change log from the position the app last
applied, plans only the changed models and the models whose names they may
collide with, and diffs against the registry rows of those models alone (an
indexed lookup).  Nothing walks the library or the app folder, so its cost
does not grow with the library.

Whenever the recorded state cannot be trusted (a different index epoch, a
run that was killed, the app or the library moved), the incremental sync
falls back to a full one, and after a killed run every row is checked on
disk (``verify``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pumasfs.errors import NotFound, PumasError
from pumasfs.gcpause import gc_paused
from pumasfs.installs import AppInstall
from pumasfs.model_record import ModelRecord
from pumasfs.notices import new_notices
from pumasfs.paths import Layout
from pumasfs.plan import Plan
from pumasfs.sandbox import detect_sandbox

from .apply import diff, execute, fill_report, sweep_temps
from .links import LinkSpec, Targets, UnsafePath
from .registry import Registry
from .report import ConflictInfo, SyncReport

if TYPE_CHECKING:
    from pumasfs.index import Index
    from pumasfs.library import Library
    from pumasfs.map_schema import TranslationMap


def desired_links(plan: Plan, targets: Targets, report: SyncReport) -> dict[str, LinkSpec]:
    out: dict[str, LinkSpec] = {}
    for path, entry in plan.entries.items():
        try:
            specs = targets.specs(path, entry.model_id, entry.source, entry.is_dir)
        except UnsafePath as e:
            report.conflicts.append(ConflictInfo(f"{targets.base}/{path}", "unsafe-path", e.message))
            continue
        except OSError as e:
            report.errors.append(f"{entry.model_id}: cannot read {entry.source}: {e.strerror}; not linked")
            continue
        for s in specs:
            out[s.path] = s
    return out


@gc_paused()
def apply_plan(
    reg: Registry,
    models_dir: Path,
    plan: Plan,
    base: Path,
    *,
    app: str | None = None,
    link_type: str | None = None,
    dry_run: bool = False,
    allow_conflicts: bool = False,
    verify: bool | None = None,
    owners: frozenset[str] | None = None,
    epoch: str | None = None,
    seq: int | None = None,
    mode: str | None = None,
    mark_dirty: bool = True,
    fingerprint: str | None = None,
) -> SyncReport:
    """Make ``base`` show ``plan``: the core every sync goes through.

    A full plan (``plan.full``) is diffed against all of the app's rows; a
    partial one against the rows of ``owners`` (default ``plan.models``)
    plus whatever is registered at the paths it wants.  With a conflict,
    nothing is applied unless ``allow_conflicts``; the app's change-log
    position (``epoch``/``seq``) advances only after a clean apply.
    """
    name = app or plan.app
    base = Path(os.path.abspath(base))
    if not base.is_dir():
        raise NotFound(f"{name}: folder {base} does not exist (is its drive mounted?)")
    state = reg.state(name)
    if verify is None:
        verify = bool(state and state.dirty)
    report = SyncReport(app=name, mode=mode or ("verify" if verify else "full" if plan.full else "incremental"),
                        base_dir=str(base), dry_run=dry_run)
    if state and state.base_dir != str(base):
        report.warnings.append(f"{name}: its folder moved from {state.base_dir} to {base}; links are updated")
    targets = Targets(models_dir, base, link_type)
    desired = desired_links(plan, targets, report)
    if plan.full:
        rows = reg.links_of_app(name)
    else:
        scope = owners if owners is not None else plan.models
        rows = reg.links_of_models(name, scope)
        rows.update(reg.links_at(name, [p for p in desired if p not in rows]))
    acts = diff(str(base), targets.models_real, desired, rows, verify=verify,
                owners=None if plan.full else (owners if owners is not None else plan.models),
                variants=targets.variants)
    fill_report(report, acts)
    report.link_types = sorted(targets.kinds)
    if plan.full or not acts.empty:
        report.warnings[:0] = targets.warnings
    blocked = bool(report.conflicts) and not allow_conflicts
    if dry_run or blocked:
        return report
    if verify:
        sweep_temps(str(base), list(desired.values()) + list(rows.values()))
    keep = reg.state(name)

    def finish() -> None:
        if report.errors:
            return  # leave the app marked: the next sync checks everything
        if report.conflicts:
            # Conflicts skipped by request: the disk is consistent, but the
            # change-log position stays so that the conflicts are met again.
            reg.mark_dirty(name, False)
            return
        if plan.full:
            reg.clear_vacated(name, reg.vacated(name))
        reg.set_synced(
            name, str(base), targets.models_real,
            epoch if epoch is not None else (keep.epoch if keep else None),
            seq if seq is not None else (keep.last_seq if keep else 0),
            fingerprint,
        )

    if mark_dirty and (not acts.empty or verify):
        # A full apply killed half-way is found by this flag.  An incremental
        # one needs no flag: its change-log position advances only at the
        # end, so the next sync re-plans the same models and adopts or
        # forgets whatever the killed run left.
        reg.set_dirty(name, str(base), targets.models_real)
    execute(reg, name, str(base), targets.models_real, acts, report, finish=finish)
    report.applied = True
    return report


# -- with the planner ------------------------------------------------------------------


def _plan_inputs(layout: Layout, app: AppInstall) -> tuple[TranslationMap, Path]:
    from pumasfs.map_selection import plan_root, select_map

    if app.mode == "view":
        # Its tree is a FUSE view's mount point: links written there would
        # hide under (or fail against) the view.
        raise PumasError(f"{app.name} is shown through a live view (mode view) at {app.tree_dir}: pumas writes no "
                         f"links for it (`pumas app set {app.name} --mode yaml` builds a tree of links instead)")
    selected = select_map(layout, app)
    return selected.map, Path(plan_root(app, selected.map))


def _override(app: AppInstall, link_type: str | None) -> str | None:
    lt = link_type or app.link_type
    return None if lt in (None, "", "auto") else lt


@gc_paused()
def full_sync(reg: Registry, layout: Layout, library: Library, app: AppInstall, *, dry_run: bool = False,
              link_type: str | None = None, allow_conflicts: bool = False, verify: bool | None = None,
              use_fingerprint: bool = True) -> SyncReport:
    from pumasfs.plan_input import plan_records
    from pumasfs.planner import build_plan

    tmap, base = _plan_inputs(layout, app)
    index = library.index
    # Read the log position first: a change made while we plan is applied next time.
    epoch, seq = index.epoch, index.latest_seq()
    override = _override(app, link_type)
    fp = plan_fingerprint(layout, app, tmap, base, epoch, seq, override)
    state = reg.state(app.name)
    if (use_fingerprint and not verify and state is not None and not state.dirty and state.fingerprint == fp):
        # Same library state, same map, same install, same filesystems: the
        # plan, and so the diff, would be identical to the last clean one.
        report = SyncReport(app=app.name, mode="full", base_dir=str(base), dry_run=dry_run,
                            applied=not dry_run, unchanged=reg.count(app.name))
    else:
        plan = build_plan(plan_records(index), tmap, app, full=True)
        report = apply_plan(reg, layout.models_dir, plan, base, app=app.name, link_type=override,
                            dry_run=dry_run, allow_conflicts=allow_conflicts, verify=verify, epoch=epoch, seq=seq,
                            fingerprint=fp)
    _sandbox_warnings(layout, app, report)
    return report


def plan_fingerprint(layout: Layout, app: AppInstall, tmap: TranslationMap, base: Path, epoch: str, seq: int,
                     override: str | None) -> str:
    """Everything a full plan and its link specs depend on: ``<config hash>:<epoch>:<seq>``.

    The config part (map, install, filesystems) lets an incremental sync see
    that something other than the library changed and fall back to a full one.
    """
    return f"{config_fingerprint(layout, app, tmap, base, override)}:{epoch}:{seq}"


def config_fingerprint(layout: Layout, app: AppInstall, tmap: TranslationMap, base: Path, override: str | None) -> str:
    from pumasfs import __version__

    def dev(p: Path) -> int:
        try:
            return os.stat(p).st_dev
        except OSError:
            return -1

    def redirected() -> str:
        # A model folder the user turned into a symlink (say, checkpoints on another drive)
        # changes where relative links must point.
        try:
            with os.scandir(base) as it:
                return "|".join(sorted(f"{e.name}>{os.path.realpath(e.path)}" for e in it if e.is_symlink() and e.is_dir()))
        except OSError:
            return ""

    # What pumas wrote into the app's yaml (extra_paths) does not change the plan or its links.
    app_json = app.model_dump_json(exclude={"added_date", "extra_paths"})
    parts = [
        __version__, tmap.model_dump_json(), app_json, str(base),
        os.path.realpath(layout.models_dir), str(override), str(dev(base)), str(dev(layout.models_dir)),
        redirected(),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def incremental_sync(reg: Registry, layout: Layout, library: Library, app: AppInstall, *, dry_run: bool = False,
                     allow_conflicts: bool = False) -> SyncReport:
    """Apply what changed in the library since this app's last sync."""
    from pumasfs.planner import build_plan

    index = library.index
    state = reg.state(app.name)
    tmap, base = _plan_inputs(layout, app)
    models_real = os.path.realpath(layout.models_dir)
    override = _override(app, None)
    config = config_fingerprint(layout, app, tmap, base, override)
    if (state is None or state.dirty or state.epoch != index.epoch or state.base_dir != str(base)
            or state.models_real != models_real or not (state.fingerprint or "").startswith(config + ":")):
        # Never synced, interrupted, index rebuilt, moved, or the map/install changed: replan everything.
        return full_sync(reg, layout, library, app, dry_run=dry_run, allow_conflicts=allow_conflicts)
    changes = index.changes_since(state.last_seq)
    if not changes:
        return SyncReport(app=app.name, mode="incremental", base_dir=str(base), dry_run=dry_run, applied=not dry_run)
    seq = changes[-1].seq
    changed = {c.model_id for c in changes}
    vacated = reg.vacated(app.name)
    records = affected_records(reg, index, app, tmap, changed)
    plan = build_plan(records, tmap, app, full=False)
    owners = frozenset(changed | set(plan.models))
    report = apply_plan(reg, layout.models_dir, plan, base, app=app.name, link_type=override,
                        dry_run=dry_run, allow_conflicts=allow_conflicts, owners=owners,
                        epoch=index.epoch, seq=seq, mode="incremental", mark_dirty=False,
                        fingerprint=f"{config}:{index.epoch}:{seq}")
    if vacated and report.applied and not report.errors and not report.conflicts:
        with reg.transaction():
            reg.clear_vacated(app.name, vacated)
    return report


def affected_records(reg: Registry, index: Index, app: AppInstall, tmap: TranslationMap,
                     changed: set[str]) -> list[ModelRecord]:
    """The changed models plus every model that may share a link name (stem) with them, old or new.

    The lookup the planner asks for goes through indexed ranges of models.db
    only (file names, cleaned names), so it costs the same in a library of
    100 or 100,000 models.  Names a changed or removed model held come from
    the registry (its rows, or the ``vacated`` names a cascade delete left).
    """
    from pumasfs.naming import stem_of
    from pumasfs.planner import index_stem_lookup, related_records

    seeds = list(index.records(changed))
    old_names = {p.rsplit("/", 1)[-1] for p in reg.links_of_models(app.name, changed)} | reg.vacated(app.name)
    old_stems = {stem_of(n) for n in old_names}

    return related_records(seeds, index_stem_lookup(index), tmap, app, extra_stems=old_stems)


def _sandbox_warnings(layout: Layout, app: AppInstall, report: SyncReport) -> None:
    # Once per install until they change (`pumas app show` prints them every time).
    report.warnings += new_notices(layout, f"sandbox:{app.name}", detect_sandbox(app, library_root=layout.root))
