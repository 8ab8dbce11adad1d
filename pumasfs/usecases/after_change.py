"""What follows a change to the library: links in every app, then hub lookups.

Use cases that change the library call these after their own work is
durable.  A failure here never undoes the library change; it is reported,
and `pumas sync` (or `pumas enrich --pending`) finishes the job later.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from materializer.report import SyncReport
    from pumasfs.hub.enrich import EnrichSummary


@dataclass
class CatchUp:
    """The incremental sync that followed a library change."""

    reports: list[SyncReport] = field(default_factory=list)
    error: str | None = None  # the sync as a whole failed (the library change stands)

    @property
    def conflicts(self) -> int:
        return sum(len(r.conflicts) for r in self.reports)


def catch_up_apps(ws: Workspace, reporter: Reporter = NULL_REPORTER) -> CatchUp:
    """Incremental sync of every materialized app (changed models only).

    Each app's warnings, errors and conflicts go to ``reporter.warn``; a
    failure of the whole sync is in the result, never raised.
    """
    from materializer.api import sync_pending

    try:
        reports = sync_pending(ws.layout, ws.library)
    except PumasError as e:
        message = f"library changed, but syncing apps failed: {e.message} (run `pumas sync`)"
        reporter.warn(message)
        return CatchUp(error=message)
    except (OSError, sqlite3.Error) as e:
        # A full disk or a read-only drive: the library change is done and durable; the
        # apps catch up at the next sync.  Not a reason to report the change as failed.
        message = f"library changed, but syncing apps failed: {e} (run `pumas sync`)"
        reporter.warn(message)
        return CatchUp(error=message)
    for report in reports:
        for line in report.warnings + report.errors:
            reporter.warn(line)
        if report.conflicts:
            reporter.warn(f"{report.app}: {len(report.conflicts)} conflict(s) left untouched; "
                          f"see `pumas sync {report.app}`")
    return CatchUp(reports=reports)


def unlink_everywhere(ws: Workspace, model_id: str) -> int:
    """Cascade delete, step one: remove this model's links in every app; how many were removed."""
    from materializer.api import remove_model_links

    return remove_model_links(ws.layout, model_id)


def lookup_after_import(ws: Workspace, model_ids: list[str], deadline_s: float = 3.0) -> EnrichSummary:
    """Hub lookup right after an import; bounded so that it never stalls the import."""
    from pumasfs.hub.enrich import enrich_after_import

    return enrich_after_import(ws.library, model_ids, deadline_s=deadline_s)
