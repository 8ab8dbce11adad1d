"""Full and incremental sync: from a Plan to links, through the registry.

A full sync diffs the whole plan against every registry row of the app.  An
incremental sync asks the replanner (``pumasfs.planning.replan``, shared with the FUSE
view) for the plan of what changed since the position the app last applied:
the changed models and the models whose names they may collide with, diffed
against the registry rows of those models alone (an indexed lookup).
Nothing walks the library or the app folder, so its cost does not grow with
the library.

Whenever the recorded state cannot be trusted (the replanner's check: a
different index epoch, another map or install; and ours: a run that was
killed, another link type or filesystem), the incremental sync falls back to
a full one, and after a killed run every row is checked on disk (``verify``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.gcpause import gc_paused
from pumasfs.base.notices import new_notices
from pumasfs.base.paths import Layout
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.plan import Plan
from pumasfs.planning.sandbox import detect_sandbox

from .apply import diff, execute, fill_report, sweep_temps
from .links import LinkSpec, Targets, UnsafePath
from .registry import AppState, Registry
from .report import ConflictInfo, SyncReport

if TYPE_CHECKING:
    from pumasfs.planning.map_schema import TranslationMap
    from pumasfs.planning.replan import Cursor, PlanInputs
    from pumasfs.store.index import Index
    from pumasfs.store.library import Library


def desired_links(plan: Plan, targets: Targets, report: SyncReport) -> dict[str, LinkSpec]:
    out, failed = targets.specs_for(plan.entries)
    for path, entry, e in failed:
        if isinstance(e, UnsafePath):
            report.conflicts.append(ConflictInfo(f"{targets.base}/{path}", "unsafe-path", e.message))
        elif isinstance(e, OSError):
            report.errors.append(f"{entry.model_id}: cannot read {entry.source}: {e.strerror}; not linked")
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
    memo: tuple[str, bytes] | None = None,
) -> SyncReport:
    """Make ``base`` show ``plan``: the core every sync goes through.

    A full plan (``plan.full``) is diffed against all of the app's rows; a
    partial one against the rows of ``owners`` (default ``plan.models``)
    plus whatever is registered at the paths it wants.  With a conflict,
    nothing is applied unless ``allow_conflicts``; the app's change-log
    position (``epoch``/``seq``) advances only after a clean apply.
    ``memo`` (key, encoded plan: ``plan_memo``) is stored with the first
    write of the apply.
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
        sweep_temps(str(base), desired, rows)
    keep = reg.state(name)
    pending = [memo] if memo is not None else []

    def finish() -> None:
        if pending:
            reg.put_plan_memo(name, *pending.pop())
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
        reg.set_dirty(name, str(base), targets.models_real, memo=pending.pop() if pending else None)
    execute(reg, name, str(base), targets.models_real, acts, report, finish=finish)
    report.applied = True
    return report


# -- with the replanner ------------------------------------------------------------------


def _inputs(layout: Layout, app: AppInstall) -> PlanInputs:
    from pumasfs.planning.replan import plan_inputs

    if app.mode == "view":
        # Its tree is a FUSE view's mount point: links written there would
        # hide under (or fail against) the view.
        raise PumasError(f"{app.name} is shown through a live view (mode view) at {app.tree_dir}: pumas writes no "
                         f"links for it (`pumas app set {app.name} --mode yaml` builds a tree of links instead)")
    return plan_inputs(layout, app)


def _plan_inputs(layout: Layout, app: AppInstall) -> tuple[TranslationMap, Path]:
    inputs = _inputs(layout, app)
    return inputs.tmap, inputs.base


def _override(app: AppInstall, link_type: str | None) -> str | None:
    lt = link_type or app.link_type
    return None if lt in (None, "", "auto") else lt


@gc_paused()
def full_sync(reg: Registry, layout: Layout, library: Library, app: AppInstall, *, dry_run: bool = False,
              link_type: str | None = None, allow_conflicts: bool = False, verify: bool | None = None,
              use_fingerprint: bool = True, use_memo: bool = True) -> SyncReport:
    """Make the install show the whole library.

    Nothing is looked at when the fingerprint says the last clean sync had
    the same inputs and links (unless ``verify``: every link is then read
    back).  Otherwise the plan comes from the app's plan memo when the
    planner's inputs are unchanged (``plan_memo``), else from the planner.
    """
    inputs = _inputs(layout, app)
    base = inputs.base
    index = library.index
    override = _override(app, link_type)
    links = links_key(layout, base, override)
    fp = sync_fingerprint(inputs, links, index.epoch, index.latest_seq())
    state = reg.state(app.name)
    if (use_fingerprint and not verify and state is not None and not state.dirty and state.fingerprint == fp):
        # Same library state, same map, same install, same filesystems: the
        # plan, and so the diff, would be identical to the last clean one.
        report = SyncReport(app=app.name, mode="full", base_dir=str(base), dry_run=dry_run,
                            applied=not dry_run, unchanged=reg.count(app.name))
    else:
        plan, at, memo = _full_plan(reg, index, inputs, app.name, use_memo=use_memo)
        report = apply_plan(reg, layout.models_dir, plan, base, app=app.name, link_type=override,
                            dry_run=dry_run, allow_conflicts=allow_conflicts, verify=verify, epoch=at.epoch,
                            seq=at.seq, fingerprint=sync_fingerprint(inputs, links, at.epoch, at.seq),
                            memo=None if dry_run else memo)
    _sandbox_warnings(layout, app, report)
    return report


def _full_plan(reg: Registry, index: Index, inputs: PlanInputs, app: str, *,
               use_memo: bool) -> tuple[Plan, Cursor, tuple[str, bytes] | None]:
    """The full plan and the index position it stands for, and the memo to store (None: it is stored)."""
    from pumasfs.planning.replan import Cursor, full_replan

    from . import plan_memo

    if use_memo:
        # Stored plans are keyed by the position full_replan read before the rows: a change
        # racing with that read makes a stored plan newer than its key, a position the index
        # has then passed (no later sync asks for it); never older.
        at = Cursor(index.epoch, index.latest_seq(), inputs.key)
        blob = reg.plan_memo(app, plan_memo.memo_key(at))
        plan = plan_memo.decode(app, blob) if blob is not None else None
        if plan is not None:
            return plan, at, None
    rp = full_replan(index, inputs)
    return rp.plan, rp.cursor, (plan_memo.memo_key(rp.cursor), plan_memo.encode(rp.plan))


def sync_fingerprint(inputs: PlanInputs, links: str, epoch: str, seq: int) -> str:
    """Everything a full plan and its links depend on: ``<inputs key>:<links key>:<epoch>:<seq>``.

    Stored with the app's state: the same fingerprint means the same plan
    and the same links (a full sync has nothing to do); its first two parts
    tell an incremental sync whether the change log alone can be trusted.
    """
    return f"{inputs.key}:{links}:{epoch}:{seq}"


def links_key(layout: Layout, base: Path, override: str | None) -> str:
    """What the links of a plan depend on beyond the plan: link type, filesystems, redirected folders."""

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

    parts = [str(override), str(dev(base)), str(dev(layout.models_dir)), redirected()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _cursor(state: AppState | None, links: str) -> Cursor | None:
    """Where the app's links stand, or None when only a full sync can be trusted (never synced, a
    killed run, other links: another link type, another filesystem; or an older fingerprint)."""
    from pumasfs.planning.replan import Cursor

    if state is None or state.dirty or state.epoch is None:
        return None
    parts = (state.fingerprint or "").split(":")
    if len(parts) != 4 or parts[1] != links:
        return None
    return Cursor(state.epoch, state.last_seq, parts[0])


def incremental_sync(reg: Registry, layout: Layout, library: Library, app: AppInstall, *, dry_run: bool = False,
                     allow_conflicts: bool = False) -> SyncReport:
    """Apply what changed in the library since this app's last sync (``pumasfs.planning.replan``)."""
    from pumasfs.planning.replan import full_reason, partial_replan

    index = library.index
    inputs = _inputs(layout, app)
    base = inputs.base
    override = _override(app, None)
    links = links_key(layout, base, override)
    cursor = _cursor(reg.state(app.name), links)
    if cursor is None or full_reason(cursor, index, inputs) is not None:
        # Never synced, interrupted, other links, index rebuilt, or the map/install changed.
        return full_sync(reg, layout, library, app, dry_run=dry_run, allow_conflicts=allow_conflicts)
    # Names a changed or removed model held: its rows, or those a cascade delete left.
    vacated = reg.vacated(app.name)
    rp = partial_replan(index, inputs, cursor, lambda ids: [*reg.links_of_models(app.name, ids), *vacated])
    if rp is None:
        return SyncReport(app=app.name, mode="incremental", base_dir=str(base), dry_run=dry_run, applied=not dry_run)
    at = rp.cursor
    report = apply_plan(reg, layout.models_dir, rp.plan, base, app=app.name, link_type=override,
                        dry_run=dry_run, allow_conflicts=allow_conflicts, owners=rp.plan.models,
                        epoch=at.epoch, seq=at.seq, mode="incremental", mark_dirty=False,
                        fingerprint=sync_fingerprint(inputs, links, at.epoch, at.seq))
    if vacated and report.applied and not report.errors and not report.conflicts:
        with reg.transaction():
            reg.clear_vacated(app.name, vacated)
    return report


def _sandbox_warnings(layout: Layout, app: AppInstall, report: SyncReport) -> None:
    # Once per install until they change (`pumas app show` prints them every time).
    report.warnings += new_notices(layout, f"sandbox:{app.name}", detect_sandbox(app, library_root=layout.root))
