"""Use cases on the Hugging Face side: enrich models from the hub, download repos into the library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.after_change import CatchUp, catch_up_apps
from pumasfs.usecases.library import resolve_model
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.hub.download import DownloadResult
    from pumasfs.hub.enrich import EnrichSummary


@dataclass
class EnrichReport:
    ids: list[str]  # the models looked up (or that would have been)
    summary: EnrichSummary
    apps: CatchUp | None  # None: nothing changed, or a dry run


def enrich(ws: Workspace, models: list[str] | tuple[str, ...] = (), *, all_models: bool = False,
           pending: bool = False, budget: int = 100, dry_run: bool = False,
           reporter: Reporter = NULL_REPORTER) -> EnrichReport:
    """Match models with their hub repo and fill in their metadata (the pending ones by default)."""
    from pumasfs.hub.enrich import all_ids, enrich_models, pending_ids

    if models and (all_models or pending):
        raise PumasError("give model ids, or --all, or --pending, not both")
    if all_models and pending:
        raise PumasError("--all already includes --pending")
    lib = ws.library
    if models:
        ids = [resolve_model(ws, m) for m in models]
    elif all_models:
        ids = all_ids(lib)
    else:
        ids = pending_ids(lib)
    summary = enrich_models(lib, ids, budget=budget, dry_run=dry_run)
    # CivitAI (issue 12): the same models by SHA256; by default those CivitAI has not answered about.
    from pumasfs.usecases.civitai import enrich as enrich_civitai

    summary.civitai = enrich_civitai(ws, [summary.renamed.get(i, i) for i in ids] if models else None,
                                     pending=not all_models, dry_run=dry_run)
    summary.changed = list(dict.fromkeys([*summary.changed, *summary.civitai.changed]))
    apps = catch_up_apps(ws, reporter) if summary.changed and not dry_run else None
    return EnrichReport(ids=ids, summary=summary, apps=apps)


@dataclass
class DownloadReport:
    result: DownloadResult
    apps: CatchUp | None  # None: nothing changed, or a dry run


def download(ws: Workspace, repo: str, files: list[str] | tuple[str, ...] = (),
             include: list[str] | tuple[str, ...] = (), revision: str | None = None, *, dry_run: bool = False,
             reporter: Reporter = NULL_REPORTER) -> DownloadReport:
    """Download a hub repo (or some of its files), verify each file, import it as one model, catch the apps up."""
    from pumasfs.hub.download import download_repo


    def start(total: int) -> Callable[[int], None] | None:
        if total <= 0:
            return None
        reporter.start(repo, total, unit="bytes")
        return reporter.advance

    result = download_repo(ws.library, repo, files, include, revision, dry_run=dry_run, progress_total=start)
    apps = catch_up_apps(ws, reporter) if result.changed and not dry_run else None
    return DownloadReport(result=result, apps=apps)
