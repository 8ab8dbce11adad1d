"""Read-only looks into registry.db for listings (`pumas list`'s USED BY column).

Kept apart from ``registry.py`` so that a listing loads neither the link strategies nor the
writer's setup (WAL mode, checkpoints): it opens the file read-only and creates nothing.
"""

from __future__ import annotations

from pathlib import Path


def peek_apps_by_model(path: Path) -> dict[str, list[str]]:
    """For `pumas list`: the apps each model has links in, read-only (no WAL setup, no checkpoint,
    nothing created); an absent or unreadable registry gives {}."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return {}
    out: dict[str, list[str]] = {}
    try:
        for mid, app in conn.execute("SELECT DISTINCT model_id, app FROM links ORDER BY model_id, app"):
            out.setdefault(mid, []).append(app)
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return out
