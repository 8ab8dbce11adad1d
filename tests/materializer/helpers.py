"""Checks shared by the materializer tests: plan == registry == disk."""

from __future__ import annotations

import os
from pathlib import Path

from materializer.registry import Registry
from pumasfs.planning.map_selection import plan_root, select_map
from pumasfs.planning.planner import build_plan
from pumasfs.store.library import Library
from tests.support.fs import disk_links

__all__ = ["assert_consistent", "disk_links", "full_plan", "registry_rows"]


def full_plan(lib: Library, app):
    sel = select_map(lib.layout, app)
    return build_plan(list(lib.index.records()), sel.map, app), Path(plan_root(app, sel.map))


def registry_rows(lib: Library, app_name: str):
    reg = Registry(lib.layout.registry_db)
    try:
        return reg.links_of_app(app_name)
    finally:
        reg.close()


def assert_consistent(lib: Library, app) -> None:
    """The plan, the registry and the disk say the same thing, and nothing half-made is left."""
    plan, base = full_plan(lib, app)
    models_real = os.path.realpath(lib.layout.models_dir)
    want = {p: f"{models_real}/{e.source}" for p, e in plan.entries.items()}
    rows = registry_rows(lib, app.name)
    assert set(rows) == set(want), (set(rows) ^ set(want))
    links = disk_links(base)
    assert links == want
    for path, spec in rows.items():
        assert os.readlink(base / path) == spec.target
        assert spec.model_id == plan.entries[path].model_id
    leftovers = [p for p in base.rglob("*.pumas-tmp")]
    assert leftovers == []
