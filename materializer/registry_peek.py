"""Read-only looks into registry.db for listings (`pumas list`'s USED BY column).

Kept apart from ``registry.py`` so that a listing loads neither the link strategies nor the
writer's setup (WAL mode, checkpoints): it opens the file read-only and creates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def peek_apps_by_model(path: Path, model_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """For `pumas list`: the apps each model has links in, read-only (no WAL setup, no checkpoint,
    nothing created); an absent or unreadable registry gives {}.

    ``model_ids``: only these models (a listing's page), so that a first page reads 50 models'
    links, not a 100,000-model library's."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return {}
    out: dict[str, list[str]] = {}
    try:
        if model_ids is None:
            rows = conn.execute("SELECT DISTINCT model_id, app FROM links ORDER BY model_id, app").fetchall()
        else:
            rows = []
            for at in range(0, len(model_ids), 500):  # under SQLite's bound-parameter limit
                chunk = list(model_ids[at:at + 500])
                rows += conn.execute(
                    f"SELECT DISTINCT model_id, app FROM links WHERE model_id IN ({','.join('?' * len(chunk))})"
                    " ORDER BY model_id, app", chunk).fetchall()
        for mid, app in rows:
            out.setdefault(mid, []).append(app)
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return out
