"""Thin glue for the web UI until the use cases it needs exist in this package.

Each function here repeats, step for step, what the CLI command of the same
name does today (the library call, then the cascade or the sync that follows
it), and nothing more: when ``usecases/library.py``, ``usecases/remove.py``
and friends land, the UI calls those and the matching function here goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PumasError
from ..metadata import ModelMetadata
from .progress import NULL_REPORTER, Reporter
from .workspace import Workspace


@dataclass
class SyncOutcome:
    warnings: list[str] = field(default_factory=list)


def sync_apps(ws: Workspace) -> SyncOutcome:
    """Incremental sync of every registered app, as `cli.hooks.sync_apps` does."""
    from materializer.api import sync_pending

    out = SyncOutcome()
    try:
        reports = sync_pending(ws.layout, ws.library)
    except PumasError as e:
        out.warnings.append(f"library changed, but syncing apps failed: {e.message} (run `pumas sync`)")
        return out
    for report in reports:
        out.warnings += list(getattr(report, "warnings", []) or []) + list(getattr(report, "errors", []) or [])
        conflicts = getattr(report, "conflicts", []) or []
        if conflicts:
            out.warnings.append(f"{report.app}: {len(conflicts)} conflict(s) left untouched; see `pumas sync {report.app}`")
    return out


def edit_model(ws: Workspace, ref: str, changes: dict[str, Any]) -> tuple[ModelMetadata, SyncOutcome]:
    """`pumas edit`: a user edit (fields become user-owned), then the apps follow."""
    lib = ws.library
    meta = lib.edit(lib.resolve_id(ref), changes)
    return meta, sync_apps(ws)


def remove_models(ws: Workspace, refs: list[str], *, reporter: Reporter = NULL_REPORTER) -> list[str]:
    """`pumas rm`: links in every app, then the model, then the apps catch up."""
    from materializer.api import remove_model_links

    lib = ws.library
    ids = [lib.resolve_id(r) for r in refs]
    reporter.start("removing", len(ids), unit="models")
    for model_id in ids:
        reporter.item(model_id)
        remove_model_links(ws.layout, model_id)
        lib.remove(model_id)
        reporter.advance(1)
    for w in sync_apps(ws).warnings:
        reporter.warn(w)
    return ids


class _Sink:
    """The importer's progress sink, turned into Reporter calls."""

    def __init__(self, reporter: Reporter, label: str) -> None:
        self.reporter, self.label = reporter, label

    def advance(self, n: int = 1) -> None:
        self.reporter.advance(n)

    def update(self, **kw: Any) -> None:
        if "total" in kw:
            self.reporter.start(self.label, kw["total"], unit="bytes")


def import_models(
    ws: Workspace, paths: list[Path], *, move: bool = False, lookup: bool = True, reporter: Reporter = NULL_REPORTER
) -> list[Any]:
    """`pumas import`: import, a bounded hub lookup, then sync the apps."""
    from ..importer import ImportOptions, import_paths

    results = import_paths(ws.library, paths, ImportOptions(move=move), progress=_Sink(reporter, "importing"),
                           notify=reporter.warn)
    imported = [r.model_id for r in results if r.status == "imported"]
    if imported:
        if lookup:
            from ..hub import enrich_after_import

            reporter.start("looking up on the hub", None, unit="models")
            enrich_after_import(ws.library, imported, deadline_s=3.0)
        for w in sync_apps(ws).warnings:
            reporter.warn(w)
    return results


def download(
    ws: Workspace, repo: str, files: list[str], *, revision: str | None = None, reporter: Reporter = NULL_REPORTER,
    cancelled: Callable[[], bool] | None = None,
) -> Any:
    """`pumas download`: fetch, verify, import, then sync the apps."""
    from ..hub.download import download_repo
    from .progress import Cancelled

    def start(total: int) -> Callable[[int], None] | None:
        reporter.start(f"downloading {repo}", total, unit="bytes")

        def advance(n: int) -> None:
            if cancelled is not None and cancelled():
                raise Cancelled()
            reporter.advance(n)

        return advance

    result = download_repo(ws.library, repo, files, (), revision, progress_total=start)  # type: ignore[arg-type]
    if result.changed or result.model_ids:
        for w in sync_apps(ws).warnings:
            reporter.warn(w)
    return result
