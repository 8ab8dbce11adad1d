"""Pinned placements: put a model at an exact path in one install (``pumas pin`` / ``pumas unpin``).

A pin lives in the model's metadata.json (the truth), so it survives a lost
models.db or registry.db and ``pumas scan``.  The planner reads it; both
views follow.  Apps catch up through the index's change log like after any
other metadata change.
"""

from __future__ import annotations

import posixpath

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.planning.installs import get_app
from pumasfs.store.metadata import ModelMetadata, Pin
from pumasfs.usecases.after_change import CatchUp, catch_up_apps
from pumasfs.usecases.workspace import Workspace


def clean_pin_path(path: str) -> str:
    """An app-relative posix path that stays inside the app's folder, or a one-line error."""
    p = path.replace("\\", "/").strip()
    norm = posixpath.normpath(p) if p else ""
    if not p or p.startswith("/") or norm.startswith("..") or norm in (".", "") or "\x00" in p:
        raise PumasError(f"pin path {path!r} must be relative to the app's models folder and stay inside it")
    return norm


def pin_model(ws: Workspace, model: str, app: str, path: str, *,
              reporter: Reporter = NULL_REPORTER) -> tuple[ModelMetadata, CatchUp]:
    """Pin ``model`` at ``path`` in install ``app`` (added beside its other pins there); apps catch up."""
    get_app(ws.layout, app)  # a one-line NotFound for a typo
    rel = clean_pin_path(path)
    lib = ws.library
    mid = lib.resolve_id(model)
    meta = lib.get(mid)
    if any(p.app == app and p.path == rel for p in meta.pins):
        return meta, CatchUp()
    meta.pins = [*meta.pins, Pin(app=app, path=rel)]
    lib.save(meta)
    return meta, catch_up_apps(ws, reporter)


def unpin_model(ws: Workspace, model: str, app: str, path: str | None = None, *,
                reporter: Reporter = NULL_REPORTER) -> tuple[ModelMetadata, list[Pin], CatchUp]:
    """Drop the model's pins in ``app`` (or the one at ``path``): the map places it from then on."""
    lib = ws.library
    mid = lib.resolve_id(model)
    meta = lib.get(mid)
    rel = clean_pin_path(path) if path is not None else None
    gone = [p for p in meta.pins if p.app == app and (rel is None or p.path == rel)]
    if not gone:
        where = f" at {rel}" if rel else ""
        raise NotFound(f"{mid} has no pin in {app}{where} (see `pumas show {mid}`)")
    meta.pins = [p for p in meta.pins if p not in gone]
    lib.save(meta)
    return meta, gone, catch_up_apps(ws, reporter)
