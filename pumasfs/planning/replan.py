"""The incremental replanner: from "what a view shows" and the index's change log to the next plan.

Both views follow the library the same way, through this module: the
materializer (``materializer/sync.py``, links on disk) and the FUSE view
(``view/source.py``, a tree in memory).  Each keeps a :class:`Cursor` (the
index epoch and change-log position it shows, and the key of the plan inputs
it was planned with) and asks :func:`replan` for what to do next:

- nothing changed: ``None``;
- the index was rebuilt (another epoch), the consumer never planned, or the
  map or install changed (:func:`full_reason`, the one check for it): a full
  plan, which replaces everything the consumer shows;
- otherwise a partial plan for the changed models plus every model that can
  share a link name (stem) with them, new or old (``planner.related_records``):
  collisions are the one case where a model's place depends on other models.
  A partial plan covers exactly ``plan.models`` (removed models included:
  they have no entries, so theirs go); the consumer replaces those models'
  entries and leaves every other one alone.

The names a changed model held before come from the consumer (``shown``):
its registry rows, or the view's own tree.  The names models are pinned at
come from the index (its ``pins`` rows), so a model pinned at a name unlike
its file's is found when another model wants that name.

This is the planning layer: it reads the index through its public API and
knows nothing of links or FUSE.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `pumas sync` with nothing to do stays light
    from pumasfs.base.paths import Layout
    from pumasfs.planning.installs import AppInstall
    from pumasfs.planning.map_schema import TranslationMap
    from pumasfs.planning.plan import Plan
    from pumasfs.store.index import Index


@dataclass(frozen=True)
class PlanInputs:
    """Everything besides the library that an install's plan depends on."""

    install: AppInstall
    tmap: TranslationMap
    map_reason: str  # why this map (``maps.select_map``)
    base: Path  # the folder plan paths are relative to (``maps.plan_root``)
    key: str  # a digest of all of the above: another key, another plan


def inputs_key(layout: Layout, install: AppInstall, tmap: TranslationMap, base: Path) -> str:
    """A digest of the map, the install record, the plan's base folder and the library's place.

    Content, not file dates: editing apps.json for another install, or
    touching a map file, changes nothing here.
    """
    from pumasfs import __version__

    # What pumas wrote into the app's yaml (extra_paths) does not change the plan.
    app_json = install.model_dump_json(exclude={"added_date", "extra_paths"})
    parts = [__version__, planner_code(), tmap.model_dump_json(), app_json, str(base),
             os.path.realpath(layout.models_dir)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


# The modules whose code decides a plan from its inputs (the planner is pure: nothing else does).
_PLANNER_MODULES = ("pumasfs.planning.planner", "pumasfs.planning.plan_input", "pumasfs.planning.plan",
                    "pumasfs.planning.map_schema", "pumasfs.store.naming", "pumasfs.base.relpath")


@functools.cache
def planner_code() -> str:
    """A digest of the planner's source: a plan kept from another planner (the plan memo, the
    fingerprint of a no-op sync) is not this one's, even when ``__version__`` did not change
    (a development checkout, a patched install).  Read once per process: about 0.3 ms."""
    import importlib

    digest = hashlib.sha256()
    for name in _PLANNER_MODULES:
        path = getattr(importlib.import_module(name), "__file__", None)
        try:
            digest.update(Path(path).read_bytes() if path else name.encode())
        except OSError:
            digest.update(name.encode())  # no source beside the code (a frozen build): the version decides
    return digest.hexdigest()


def plan_inputs(layout: Layout, install: AppInstall) -> PlanInputs:
    """The map selected for ``install`` now, and the key of the inputs (reads apps' maps, not the index)."""
    from pumasfs.planning.map_selection import plan_root, select_map

    selected = select_map(layout, install)
    base = Path(plan_root(install, selected.map))
    return PlanInputs(install, selected.map, selected.reason, base, inputs_key(layout, install, selected.map, base))


@dataclass(frozen=True)
class Cursor:
    """Where a consumer stands: the library as of ``(epoch, seq)``, planned with inputs ``key``."""

    epoch: str
    seq: int
    key: str


@dataclass(frozen=True)
class Replan:
    """The next plan to apply, and where the consumer stands once it is applied."""

    plan: Plan  # ``plan.full``: replace everything; else replace exactly the entries of ``plan.models``
    cursor: Cursor
    why_full: str | None = None  # for a full plan, why (words for a log); None for a partial one


def full_reason(cursor: Cursor | None, index: Index, inputs: PlanInputs) -> str | None:
    """Why only a full plan can be trusted, or None when the change log suffices.

    The one "did the index, the map or the install change" check of both views.
    """
    if cursor is None:
        return "never planned"
    if cursor.epoch != index.epoch:
        return "the index was rebuilt"
    if cursor.key != inputs.key:
        return "the map or the install changed"
    return None


def full_replan(index: Index, inputs: PlanInputs, why: str = "asked") -> Replan:
    """The whole library planned for the install."""
    from pumasfs.base.gcpause import gc_paused
    from pumasfs.planning.plan_input import plan_records
    from pumasfs.planning.planner import build_plan

    # Read the position first: a change racing with the read is applied again
    # next time, which is harmless (plans are idempotent).
    cursor = Cursor(index.epoch, index.latest_seq(), inputs.key)
    with gc_paused():  # a few hundred thousand short-lived containers, no cycles (gcpause.py)
        plan = build_plan(plan_records(index), inputs.tmap, inputs.install, full=True)
    return Replan(plan, cursor, why)


def partial_replan(index: Index, inputs: PlanInputs, cursor: Cursor,
                   shown: Callable[[set[str]], Iterable[str]]) -> Replan | None:
    """The plan of what changed since ``cursor`` (trusted: see :func:`full_reason`), or None.

    ``shown(model_ids)`` gives the app-relative paths the consumer shows now
    for those models (and any name a removed model left behind): a name a
    changed model frees goes back to the model that would hold it.
    """
    from pumasfs.planning.planner import build_plan, index_stem_lookup, related_records
    from pumasfs.store.naming import stem_of

    changes = index.changes_since(cursor.seq)
    if not changes:
        return None
    changed = {c.model_id for c in changes}
    old_stems = {stem_of(p.rsplit("/", 1)[-1]) for p in shown(changed)}
    records = related_records(list(index.records(changed)), index_stem_lookup(index), inputs.tmap,
                              inputs.install, extra_stems=old_stems)
    plan = build_plan(records, inputs.tmap, inputs.install, full=False)
    # Removed models have no record: the plan still covers them (their entries go).
    plan = replace(plan, models=frozenset(changed) | plan.models)
    return Replan(plan, Cursor(cursor.epoch, changes[-1].seq, cursor.key))


def replan(index: Index, inputs: PlanInputs, cursor: Cursor | None,
           shown: Callable[[set[str]], Iterable[str]]) -> Replan | None:
    """What to apply to get from ``cursor`` to the library now: a full plan, a partial one, or None."""
    why = full_reason(cursor, index, inputs)
    if why is not None or cursor is None:
        return full_replan(index, inputs, why or "never planned")
    return partial_replan(index, inputs, cursor, shown)
