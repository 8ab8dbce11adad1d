"""Where a view's plans come from: the same planner the materializer runs.

The view never decides what an app sees.  :class:`AppPlanSource` resolves
the install and its translation map exactly as ``pumas materialize`` does and
asks ``planner.build_plan`` for the tree; afterwards it follows the index's
change log and returns a partial plan for the models that changed, or a full
plan when the index was rebuilt (new epoch) or a map or apps.json changed.
A partial plan covers the changed models plus every model that shares a name
stem with them (``planner.related_records``): collisions are the one case
where a model's place depends on other models.

Anything with ``app``, ``models_dir``, ``full()``, ``poll()`` and ``close()``
can feed a view (tests feed hand-built plans).  ``full`` and ``poll`` run in
a worker thread of the daemon, never in a FUSE handler; they open their own
SQLite connection there, so nothing is shared across the daemon's fork.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from ..errors import PumasError
from ..index import Index
from ..naming import stem_of
from ..paths import Layout
from ..plan import Plan


class PlanSource(Protocol):
    app: str
    models_dir: Path

    def full(self) -> Plan: ...

    def poll(self) -> Plan | None:
        """A plan for whatever changed since the last call (full or partial), or None."""
        ...

    def close(self) -> None: ...


def _fingerprint(paths: list[Path]) -> tuple[tuple[str, int | None, int | None, int | None], ...]:
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
        from ..app_discovery import resolve_apps

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
        self._epoch: str | None = None
        self._seq = 0
        self._config: tuple = ()
        self._paths: dict[str, set[str]] = {}  # what the plans given so far hold, per model
        self._select()  # a missing or invalid map is the user's error now, not the daemon's later

    # -- inputs --------------------------------------------------------------

    def _select(self) -> None:
        from ..installs import get_app
        from ..map_selection import plan_root, select_map

        self._config = self._config_now()
        self.install = get_app(self.layout, self.install.name)
        selected = select_map(self.layout, self.install)
        self.tmap = selected.map
        self.map_reason = selected.reason
        self.plan_root = plan_root(self.install, self.tmap)

    def _config_now(self) -> tuple:
        maps = self.layout.maps_dir
        try:
            files = sorted(p for p in maps.iterdir() if p.suffix == ".json")
        except OSError:
            files = []
        return _fingerprint([self.layout.apps_file, maps, *files])

    def _open_index(self) -> Index:
        db = self.layout.index_db
        try:
            ino = os.stat(db).st_ino
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

    def _build(self, records, *, full: bool) -> Plan:
        from ..planner import build_plan

        plan = build_plan(records, self.tmap, self.install, full=full)
        if full:
            self._paths = {}
        else:
            for mid in plan.models:
                self._paths.pop(mid, None)
        for path, entry in plan.entries.items():
            self._paths.setdefault(entry.model_id, set()).add(path)
        return plan

    def full(self) -> Plan:
        index = self._open_index()
        # Read the position first: a change racing with the read is applied
        # again at the next poll, which is harmless (plans are idempotent).
        self._epoch, self._seq = index.epoch, index.latest_seq()
        return self._build(list(index.records()), full=True)

    def poll(self) -> Plan | None:
        from ..planner import index_stem_lookup, related_records

        if self._config_now() != self._config:
            self._select()
            return self.full()
        index = self._open_index()
        if index.epoch != self._epoch:
            return self.full()
        seq = index.latest_seq()
        if seq == self._seq:
            return None
        changes = index.changes_since(self._seq)
        ids = {c.model_id for c in changes}
        # A model's place depends on the models sharing its stem (collisions):
        # plan the changed ones with all of those, including the stems they
        # held before, so that a freed name goes back to its natural owner.
        old_stems = {stem_of(p.rsplit("/", 1)[-1]) for mid in ids for p in self._paths.get(mid, ())}
        records = related_records(
            list(index.records(ids)), index_stem_lookup(index), self.tmap, self.install, extra_stems=old_stems
        )
        plan = self._build(records, full=False)
        # Advance only once the plan is built: a failure retries the same changes.
        self._seq = max([seq, *(c.seq for c in changes)])
        # Removed models have no record: the plan still covers them (their entries go).
        for mid in ids - plan.models:
            self._paths.pop(mid, None)
        return replace(plan, models=frozenset(ids) | plan.models, full=False)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
