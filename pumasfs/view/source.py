"""Where a view's plans come from: the same planner and replanner the materializer runs.

The view never decides what an app sees.  :class:`AppPlanSource` resolves
the install and its translation map exactly as ``pumas materialize`` does and
asks the planner for the full tree; afterwards ``pumasfs.planning.replan`` (shared
with the materializer) follows the index's change log and gives a partial
plan for the models that changed and those that may share a name with them,
or a full plan when the index was rebuilt (new epoch) or the map or the
install changed.

Anything with ``app``, ``models_dir``, ``full()``, ``poll()`` and ``close()``
can feed a view (tests feed hand-built plans).  ``full`` and ``poll`` run in
a worker thread of the daemon, never in a FUSE handler; they open their own
SQLite connection there, so nothing is shared across the daemon's fork.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.plan import Plan
from pumasfs.store.index import Index

if TYPE_CHECKING:
    from pumasfs.planning.replan import Cursor, PlanInputs, Replan


class PlanSource(Protocol):
    app: str
    models_dir: Path

    def full(self) -> Plan: ...

    def poll(self) -> Plan | None:
        """A plan for whatever changed since the last call (full or partial), or None."""
        ...

    def close(self) -> None: ...


Stamp = tuple[tuple[str, int | None, int | None, int | None], ...]


def _stamp(paths: list[Path]) -> Stamp:
    """Inode, size and mtime of each path: unchanged files need not be read again."""
    out: list[tuple[str, int | None, int | None, int | None]] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((str(p), st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(p), None, None, None))
    return tuple(out)


class AppPlanSource:
    """The plan of one app install, from the library index and the install's map."""

    def __init__(self, layout: Layout, selector: str) -> None:
        from pumasfs.planning.app_discovery import resolve_apps

        installs = resolve_apps(layout, selector)
        if len(installs) > 1:
            names = ", ".join(a.name for a in installs)
            raise PumasError(f"{selector!r} names several installs ({names}); mount one of them by name")
        self.layout = layout
        self.install = installs[0]
        self.app = self.install.name
        self.models_dir = layout.models_dir
        self._index: Index | None = None
        self._db_ino: int | None = None
        self._cursor: Cursor | None = None  # where the plans given so far stand
        self._stamped: Stamp = ()
        self._paths: dict[str, set[str]] = {}  # what the plans given so far hold, per model
        self.inputs: PlanInputs
        self._select()  # a missing or invalid map is the user's error now, not the daemon's later

    # -- inputs ---------------------------------------------------------------

    def _select(self) -> None:
        """Read the install and its map again (their files changed, or first use)."""
        from pumasfs.planning.installs import get_app
        from pumasfs.planning.replan import plan_inputs

        stamped = self._stamp_now()
        self.install = get_app(self.layout, self.install.name)
        self.inputs = plan_inputs(self.layout, self.install)
        self._stamped = stamped  # only now: a broken map is read again at the next poll

    def _stamp_now(self) -> Stamp:
        maps = self.layout.maps_dir
        try:
            files = sorted(p for p in maps.iterdir() if p.suffix == ".json")
        except OSError:
            files = []
        return _stamp([self.layout.apps_file, maps, *files])

    def _open_index(self) -> Index:
        db = self.layout.index_db
        try:
            ino: int | None = os.stat(db).st_ino
        except OSError:
            ino = None
        if self._index is not None and ino != self._db_ino:
            # models.db was deleted (and maybe rebuilt): our connection reads a ghost.
            self._index.close()
            self._index = None
        if self._index is None:
            if ino is None:
                raise PumasError(f"no library index at {db} (run `pumas scan`)")
            self._index = Index(db)
            self._db_ino = ino
        return self._index

    # -- plans ---------------------------------------------------------------

    def _take(self, rp: Replan) -> Plan:
        """Remember what the view shows once ``rp`` is applied: the cursor, and each model's paths."""
        plan = rp.plan
        if plan.full:
            self._paths = {}
        else:
            for mid in plan.models:
                self._paths.pop(mid, None)
        for path, entry in plan.entries.items():
            self._paths.setdefault(entry.model_id, set()).add(path)
        # Advance only once the plan is built: a failure retries the same changes.
        self._cursor = rp.cursor
        return plan

    def _shown(self, model_ids: set[str]) -> list[str]:
        return [p for mid in model_ids for p in self._paths.get(mid, ())]

    def full(self) -> Plan:
        from pumasfs.planning.replan import full_replan

        rp = _made_compact(lambda: full_replan(self._open_index(), self.inputs))
        assert rp is not None  # a full replan always gives a plan
        return self._take(rp)

    def poll(self) -> Plan | None:
        from pumasfs.planning.replan import replan

        if self._stamp_now() != self._stamped:
            # apps.json or a map file changed: read them again.  Whether the plan
            # changed is the replanner's one check (the inputs' key), as for links.
            self._select()
        rp = _made_compact(lambda: replan(self._open_index(), self.inputs, self._cursor, self._shown))
        return None if rp is None else self._take(rp)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def _made_compact(make: Callable[[], Replan | None]) -> Replan | None:
    """``make()``, a full plan copied into memory of its own and the planner's leftovers given back.

    The view keeps a full plan's strings for as long as it is mounted (in its tree and in
    ``_paths``), and they were made among the far more numerous temporary objects of planning
    (every index row decoded).  Freed around them, those leave arenas the allocator cannot
    give back: planning 100,000 models left 370 MiB resident after the tree was built, 194 MiB
    when the plan is pickled, everything else freed, and the plan read back into fresh arenas
    (measured in a process with the daemon's imports, 39 MiB alone; the daemon itself went from
    366 to 193 MiB, its mount from 3.3-3.6 s to 3.6 s).
    ``make`` is called here so that no caller's frame holds the planner's plan meanwhile.
    """
    rp = make()
    if rp is None or not rp.plan.full:
        return rp  # a partial plan: a few models, nothing to give back
    import pickle
    from dataclasses import replace

    from pumasfs.base.memory import release_free_memory

    blob = pickle.dumps(rp.plan, protocol=pickle.HIGHEST_PROTOCOL)
    bare = replace(rp, plan=Plan(app=rp.plan.app, full=True))
    del rp  # the only reference: the planner's objects go with it
    release_free_memory()
    plan: Plan = pickle.loads(blob)  # our own bytes, made above
    return replace(bare, plan=plan)
