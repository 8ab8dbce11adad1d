"""registry.db: the only record of what pumas made inside app folders.

A link is ours only while a row here says so AND the disk still holds what
the row says we wrote (``link_target`` for a symlink, ``dev``/``ino`` for a
hardlink).  Rows name the link by its path relative to the app's base folder
(recorded once in ``app_state``), so moving a library together with its apps
keeps every row valid.  ``source_model_path`` follows the seed's rule:
relative to the library's models dir for internal links, absolute for links
that point across filesystems (what ``pumas relocate`` rewrites).  The seed's
``idx_target_path`` is covered by ``UNIQUE (app, target_app_path)`` (every
lookup by path names the app); each index costs every materialized link a
B-tree insert, so there is no other.

``dirs`` lists folders we created in app trees: uninstall removes those and
only those, and only when empty.  ``app_state`` holds per app the index epoch
and change-log position it has applied, and a ``dirty`` flag set while an
apply is under way: a run killed in the middle leaves it set, and the next
sync then checks every row against the disk.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pumasfs.store.index import Transaction, cannot_write_reason, connect, connect_read_only, is_corrupt

from .links import ABSOLUTE, HARDLINK, LinkSpec

REGISTRY_SCHEMA = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    link_id INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    model_id TEXT NOT NULL,
    target_app_path TEXT NOT NULL,
    source_model_path TEXT NOT NULL,
    is_external BOOLEAN NOT NULL DEFAULT 0,
    link_type TEXT NOT NULL CHECK (link_type IN ('symlink', 'hardlink')),
    link_kind TEXT NOT NULL CHECK (link_kind IN ('relative-symlink', 'absolute-symlink', 'hardlink')),
    source_rel TEXT NOT NULL,
    link_target TEXT,
    dev INTEGER,
    ino INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (app, target_app_path)
);
CREATE INDEX IF NOT EXISTS idx_model_id ON links(model_id);
CREATE TABLE IF NOT EXISTS dirs (
    app TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (app, path)
);
CREATE TABLE IF NOT EXISTS vacated (
    app TEXT NOT NULL,
    link_name TEXT NOT NULL,
    PRIMARY KEY (app, link_name)
);
-- The app's last full plan (plan_memo.py), under the digest of the planner's inputs: a cache.
CREATE TABLE IF NOT EXISTS plan_memo (
    app TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    entries BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS app_state (
    app TEXT PRIMARY KEY,
    base_dir TEXT NOT NULL,
    models_real TEXT NOT NULL DEFAULT '',
    epoch TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT,
    synced_at TIMESTAMP
);
"""

_COLS = "target_app_path, model_id, source_rel, link_kind, link_target, dev, ino"


@dataclass(frozen=True)
class AppState:
    app: str
    base_dir: str
    models_real: str
    epoch: str | None
    last_seq: int
    dirty: bool
    fingerprint: str | None = None


def _spec(row: tuple[Any, ...]) -> LinkSpec:
    return LinkSpec(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


_SHARED: dict[tuple[int, str], tuple[Registry, int]] = {}


def shared(path: Path) -> Registry:
    """This process's long-lived handle on a registry.

    Opening SQLite in WAL mode, making the first commit and closing (which
    checkpoints) cost tens of milliseconds of fsync on a busy disk; a sync
    of one model costs well under one.  So a process keeps its handle: a
    CLI run closes it at exit, a long-running launcher reuses it.  A
    registry file replaced behind our back (another inode) gets a new handle.
    """
    key = (os.getpid(), os.path.abspath(path))
    try:
        ino = os.stat(path).st_ino
    except FileNotFoundError:
        ino = -1
    hit = _SHARED.get(key)
    if hit is not None and hit[1] == ino and ino != -1:
        return hit[0]
    if hit is not None:
        hit[0].close()
    reg = Registry(path)
    _SHARED[key] = (reg, os.stat(path).st_ino)
    return reg


def close_shared() -> None:
    """Close every shared handle (before unmounting the drive a registry lives on, say)."""
    for key, (reg, _) in list(_SHARED.items()):
        if key[0] == os.getpid():
            reg.close()
        _SHARED.pop(key, None)


atexit.register(close_shared)



class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.read_only: str | None = None
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            reason = None if is_corrupt(e) else cannot_write_reason(e)
            if reason is not None and self.path.exists():
                # A full disk or a read-only drive: what the registry says can still be read
                # (`show`, `doctor`); a write fails with the reason, in one line.
                self.read_only = reason
                self.conn = connect_read_only(self.path)
                return
            if not is_corrupt(e):
                raise
            # Not a database (a bad disk, a stray write).  Refusing every command would leave
            # no way out; the registry is rebuilt from the links found in the app folders
            # (materializer/rebuild.py), so the broken file is only set aside, never deleted.
            self._set_aside()
            self._open()
            with self.transaction():
                self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('rebuild', '1')")

    def _open(self) -> None:
        self.conn = connect(self.path)
        # A 10,000-link materialize writes a few MB of WAL; checkpointing in the
        # middle of it (every 1000 pages by default) costs fsyncs that can
        # double its time on a busy disk.  Checkpoint at close instead.
        self.conn.execute("PRAGMA wal_autocheckpoint=16384")
        self.conn.executescript(_SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(REGISTRY_SCHEMA),))

    def _set_aside(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        stamp = uuid.uuid4().hex[:8]
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                os.replace(p, self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}"))

    def needs_rebuild(self) -> bool:
        if self.read_only is not None:
            return False
        row = self.conn.execute("SELECT value FROM meta WHERE key='rebuild'").fetchone()
        return row is not None and row[0] == "1"

    def rebuilt(self) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM meta WHERE key='rebuild'")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> Transaction:
        return Transaction(self.conn)

    # -- links -------------------------------------------------------------------

    def links_of_app(self, app: str) -> dict[str, LinkSpec]:
        rows = self.conn.execute(f"SELECT {_COLS} FROM links WHERE app=?", (app,)).fetchall()
        # The row is the spec, field for field (_COLS): one C call each.
        return dict(zip([r[0] for r in rows], map(LinkSpec._make, rows), strict=True))

    def links_of_models(self, app: str, model_ids: Iterable[str]) -> dict[str, LinkSpec]:
        out: dict[str, LinkSpec] = {}
        for mid in set(model_ids):
            for r in self.conn.execute(f"SELECT {_COLS} FROM links WHERE app=? AND model_id=?", (app, mid)):
                out[r[0]] = _spec(r)
        return out

    def links_at(self, app: str, paths: Iterable[str]) -> dict[str, LinkSpec]:
        out: dict[str, LinkSpec] = {}
        for p in paths:
            r = self.conn.execute(f"SELECT {_COLS} FROM links WHERE app=? AND target_app_path=?", (app, p)).fetchone()
            if r:
                out[p] = _spec(r)
        return out

    def apps_of_model(self, model_id: str) -> dict[str, dict[str, LinkSpec]]:
        out: dict[str, dict[str, LinkSpec]] = {}
        for r in self.conn.execute(f"SELECT app, {_COLS} FROM links WHERE model_id=?", (model_id,)):
            out.setdefault(r[0], {})[r[1]] = _spec(r[1:])
        return out

    def rows_of_model(self, model_id: str) -> list[dict[str, Any]]:
        """For `pumas show`: every link of a model, with the app's absolute path."""
        cur = self.conn.execute(
            "SELECT l.app, s.base_dir, l.target_app_path, l.source_model_path, l.link_kind, l.created_at "
            "FROM links l LEFT JOIN app_state s ON s.app = l.app WHERE l.model_id=? ORDER BY l.app, l.target_app_path",
            (model_id,),
        )
        return [
            {"app": a, "path": f"{b}/{p}" if b else p, "app_path": p, "source": s, "link_type": k, "created_at": c}
            for a, b, p, s, k, c in cur
        ]

    def put(self, app: str, specs: Iterable[LinkSpec], models_real: str) -> None:
        """Insert or replace rows (call inside a transaction)."""
        # The columns that follow from the kind are filled by SQLite: a 10,000-link materialize
        # binds 9 values a row, from tuples built by one unpacking, instead of 11 worked out here.
        self.conn.executemany(
            "INSERT OR REPLACE INTO links (app, target_app_path, model_id, source_rel, link_kind, link_target, "
            "dev, ino, source_model_path, is_external, link_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
            f"CASE WHEN ?5 = '{ABSOLUTE}' THEN ?9 || '/' || ?4 ELSE ?4 END, ?5 = '{ABSOLUTE}', "
            f"CASE WHEN ?5 = '{HARDLINK}' THEN 'hardlink' ELSE 'symlink' END)",
            ((app, *s, models_real) for s in specs),
        )

    def delete(self, app: str, paths: Iterable[str]) -> None:
        self.conn.executemany(
            "DELETE FROM links WHERE app=? AND target_app_path=?", [(app, p) for p in paths]
        )

    # -- names given up by a cascade delete ---------------------------------------------

    def add_vacated(self, app: str, names: Iterable[str]) -> None:
        """Link names a removed model gave up: the next incremental sync re-plans their rivals."""
        self.conn.executemany("INSERT OR IGNORE INTO vacated VALUES (?, ?)", [(app, n) for n in names])

    def vacated(self, app: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT link_name FROM vacated WHERE app=?", (app,))}

    def clear_vacated(self, app: str, names: Iterable[str]) -> None:
        self.conn.executemany("DELETE FROM vacated WHERE app=? AND link_name=?", [(app, n) for n in names])

    # -- folders we created ----------------------------------------------------------

    def dirs_of_app(self, app: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT path FROM dirs WHERE app=?", (app,))}

    def add_dirs(self, app: str, paths: Iterable[str]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO dirs (app, path) VALUES (?, ?)", [(app, p) for p in paths])

    def delete_dirs(self, app: str, paths: Iterable[str]) -> None:
        self.conn.executemany("DELETE FROM dirs WHERE app=? AND path=?", [(app, p) for p in paths])

    # -- per-app state ---------------------------------------------------------------

    def state(self, app: str) -> AppState | None:
        r = self.conn.execute(
            "SELECT app, base_dir, models_real, epoch, last_seq, dirty, fingerprint FROM app_state WHERE app=?", (app,)
        ).fetchone()
        return AppState(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) if r else None

    def states(self) -> list[AppState]:
        rows = self.conn.execute(
            "SELECT app, base_dir, models_real, epoch, last_seq, dirty, fingerprint FROM app_state ORDER BY app")
        return [AppState(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def apps_with_links(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT app FROM links")}

    def mark_dirty(self, app: str, dirty: bool) -> None:
        """Flag (or clear) an app's apply as unfinished, nothing else (the caller holds the transaction)."""
        self.conn.execute("UPDATE app_state SET dirty=? WHERE app=?", (1 if dirty else 0, app))

    def set_dirty(self, app: str, base_dir: str, models_real: str, memo: tuple[str, bytes] | None = None) -> None:
        """Mark an apply under way; committed before the first change on disk (with the plan's
        memo, if given: a run killed in the middle is then checked without planning again)."""
        with self.transaction():
            if memo is not None:
                self.put_plan_memo(app, *memo)
            self.conn.execute(
                "INSERT INTO app_state (app, base_dir, models_real, dirty) VALUES (?, ?, ?, 1) "
                "ON CONFLICT(app) DO UPDATE SET dirty=1, fingerprint=NULL, base_dir=excluded.base_dir, "
                "models_real=excluded.models_real",
                (app, base_dir, models_real),
            )

    def set_synced(self, app: str, base_dir: str, models_real: str, epoch: str | None, last_seq: int,
                   fingerprint: str | None = None) -> None:
        """The app shows the library as of (epoch, last_seq); ``fingerprint`` names a full plan's inputs."""
        self.conn.execute(
            "INSERT INTO app_state (app, base_dir, models_real, epoch, last_seq, dirty, fingerprint, synced_at) "
            "VALUES (?, ?, ?, ?, ?, 0, ?, CURRENT_TIMESTAMP) ON CONFLICT(app) DO UPDATE SET base_dir=excluded.base_dir, "
            "models_real=excluded.models_real, epoch=excluded.epoch, last_seq=excluded.last_seq, dirty=0, "
            "fingerprint=excluded.fingerprint, synced_at=CURRENT_TIMESTAMP",
            (app, base_dir, models_real, epoch, last_seq, fingerprint),
        )

    def plan_memo(self, app: str, key: str) -> bytes | None:
        """The app's stored full plan if it was planned from inputs ``key`` (``plan_memo.memo_key``)."""
        try:
            r = self.conn.execute("SELECT entries FROM plan_memo WHERE app=? AND key=?", (app, key)).fetchone()
        except sqlite3.OperationalError:
            return None  # a registry of an older pumas opened read-only: no such table, no memo
        return bytes(r[0]) if r else None

    def put_plan_memo(self, app: str, key: str, entries: bytes) -> None:
        """Keep one full plan per app (call inside a transaction).

        The same memo again (a check re-planned with the memo off, say) is not written again:
        a megabyte of WAL per 10,000 entries, for nothing."""
        self.conn.execute(
            "INSERT INTO plan_memo (app, key, entries) VALUES (?, ?, ?) ON CONFLICT(app) DO UPDATE SET "
            "key=excluded.key, entries=excluded.entries WHERE key != excluded.key OR entries != excluded.entries",
            (app, key, entries))

    def count(self, app: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM links WHERE app=?", (app,)).fetchone()[0])

    def set_paths(self, app: str, base_dir: str, models_real: str) -> None:
        self.conn.execute("UPDATE app_state SET base_dir=?, models_real=?, fingerprint=NULL WHERE app=?",
                          (base_dir, models_real, app))

    def forget_app(self, app: str) -> None:
        self.conn.execute("DELETE FROM links WHERE app=?", (app,))
        self.conn.execute("DELETE FROM dirs WHERE app=?", (app,))
        self.conn.execute("DELETE FROM vacated WHERE app=?", (app,))
        self.conn.execute("DELETE FROM plan_memo WHERE app=?", (app,))
        self.conn.execute("DELETE FROM app_state WHERE app=?", (app,))
