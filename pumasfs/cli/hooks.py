"""What follows a change to the library: links in every app, then hub lookups.

Library commands call these after their own work is durable.  A failure here
never undoes the library change; it is reported, and `pumas sync` (or
`pumas enrich --pending`) finishes the job later.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import PumasError
from .output import warn


def sync_apps(state: Any, *, quiet: bool = False) -> list[Any]:
    """Incremental sync of every registered app (changed models only)."""
    from materializer.api import sync_pending

    try:
        reports = sync_pending(state.layout, state.library)
    except PumasError as e:
        warn(f"library changed, but syncing apps failed: {e.message} (run `pumas sync`)")
        return []
    except (OSError, sqlite3.Error) as e:
        # A full disk or a read-only drive: the library change is done and durable; the
        # apps catch up at the next sync.  Not a reason to report the change as failed.
        warn(f"library changed, but syncing apps failed: {e} (run `pumas sync`)")
        return []
    if not quiet:
        for report in reports:
            for line in (getattr(report, "warnings", []) or []) + (getattr(report, "errors", []) or []):
                warn(line)
            conflicts = getattr(report, "conflicts", []) or []
            if conflicts:
                warn(f"{report.app}: {len(conflicts)} conflict(s) left untouched; see `pumas sync {report.app}`")
    return reports


def unlink_everywhere(state: Any, model_id: str) -> int:
    """Cascade delete, step one: remove this model's links in every app."""
    from materializer.api import remove_model_links

    return remove_model_links(state.layout, model_id)


def lookup_after_import(state: Any, model_ids: list[str], deadline_s: float = 3.0) -> Any:
    """Hub lookup right after an import; bounded so that it never stalls the import."""
    from ..hub import enrich_after_import

    return enrich_after_import(state.library, model_ids, deadline_s=deadline_s)
