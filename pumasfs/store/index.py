"""models.db: a disposable SQLite index of the library, plus its change log.

Nothing here is the truth: every row is rebuilt from metadata.json files by a
deep scan (``Library.scan``).  The index exists for fast listing, full-text
search, duplicate detection by hash, and the **change log**: every write to
the library appends ``(seq, model_id, op)`` in the same transaction, so that
``pumas sync`` and mounted views can ask "what changed since seq N?" instead
of walking the library.  Each database gets a random ``epoch``; a consumer
that sees another epoch (the index was deleted and rebuilt) does a full sync.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pumasfs.base.errors import PumasError, os_error_text

if TYPE_CHECKING:  # pydantic loads only when records are built: `pumas list` reads rows
    from pumasfs.store.metadata import ModelMetadata
    from pumasfs.store.model_record import ModelRecord

INDEX_SCHEMA = 4  # 3: pins; 4: facets and tags (an older index is rebuilt by a scan, which fills them)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,  -- the full-text row's rowid: stable across VACUUM
    model_id TEXT NOT NULL UNIQUE,
    model_type TEXT NOT NULL,
    subtype TEXT,
    family TEXT NOT NULL,
    cleaned_name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    added_date TEXT NOT NULL,
    metadata TEXT NOT NULL,
    overrides TEXT,
    overrides_error TEXT
);
CREATE TABLE IF NOT EXISTS files (
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    basename TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER NOT NULL,
    PRIMARY KEY (model_id, name)
);
-- Pinned placements (metadata.json's ``pins``): a model shown at ``path`` in install ``app``.
-- ``name`` (the path's last component) lets an incremental replan find the model pinned at
-- a name that is not its file's name (a collision is decided by names).
CREATE TABLE IF NOT EXISTS pins (
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (model_id, app, path)
);
-- What the web UI filters and counts on besides the columns above, out of the JSON: counting
-- the choices of every filter over 100,000 models parsed each row's JSON (0.6 s after every
-- change); over these narrow rows it is a scan of a few pages.  The badges' raw inputs, not
-- the badges: which badge they make is the hub's rule (pumasfs.hub.badge), not the index's.
CREATE TABLE IF NOT EXISTS facets (
    id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    base_model TEXT,
    match_method TEXT,
    hub_badge TEXT,  -- metadata's hub_match.badge ("modified": same name, other bytes)
    civitai_version INTEGER,  -- civitai.version_id: NULL when CivitAI does not know the model
    civitai_trust TEXT
);
-- Each tag of a model once, ordered by tag: a tag filter and the tag counts read this in order.
CREATE TABLE IF NOT EXISTS tags (
    tag TEXT NOT NULL,
    id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, id)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS models_fts USING fts5(body, tokenize='unicode61 remove_diacritics 2');
-- What a deep scan or `doctor` found true of a model folder, so that the next one skips what
-- did not change: with metadata.json (and overrides.json) as ``stamp`` says (inode, size, times),
-- the files were valid and equal to the row whose checksum is ``row_sum``; ``identity``: the
-- header identification agreed with that row for the weight file as stamped there.  A cache
-- of a cache: any change to a file or to the row makes a stamp miss, and a miss re-reads.
CREATE TABLE IF NOT EXISTS checked (
    model_id TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    row_sum TEXT NOT NULL,
    identity TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('upsert', 'remove')),
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""


# The secondary indexes, apart: a rebuild (:meth:`Index.fill`) creates them after its inserts,
# one sort each instead of a B-tree insert per row.
_INDEXES = {
    "models_type": "CREATE INDEX IF NOT EXISTS models_type ON models(model_type, subtype, family);",
    "models_cleaned": "CREATE INDEX IF NOT EXISTS models_cleaned ON models(cleaned_name);",
    "files_sha256": "CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);",
    "files_basename": "CREATE INDEX IF NOT EXISTS files_basename ON files(basename);",
    "files_basename_nocase": "CREATE INDEX IF NOT EXISTS files_basename_nocase ON files(basename COLLATE NOCASE);",
    "files_size": "CREATE INDEX IF NOT EXISTS files_size ON files(size);",
    "pins_name_nocase": "CREATE INDEX IF NOT EXISTS pins_name_nocase ON pins(name COLLATE NOCASE);",
    "tags_id": "CREATE INDEX IF NOT EXISTS tags_id ON tags(id);",  # a model's removal finds its tags
}
_SCHEMA += "\n".join(_INDEXES.values()) + "\n"


def peek_column(path: Path, column: str) -> list[str]:
    """Distinct values of model_id, model_type, subtype or family, read-only (shell completion):
    never creates, migrates or locks anything; an absent or unreadable index gives []."""
    if column not in ("model_id", "model_type", "subtype", "family"):
        raise ValueError(column)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        return [r[0] for r in conn.execute(f"SELECT DISTINCT {column} FROM models ORDER BY 1") if r[0]]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


@dataclass(frozen=True)
class Change:
    seq: int
    model_id: str
    op: str  # "upsert" | "remove"


def connect(path: Path) -> sqlite3.Connection:
    """A WAL-mode connection that waits for other writers instead of failing."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _facet_row(i: int, meta: ModelMetadata) -> tuple[Any, ...]:
    """The ``facets`` row of a model (hub_match is an open field, kept among the unknown keys)."""
    extra = meta.__pydantic_extra__  # not getattr: a missing open field raises inside pydantic (2 us a model)
    hub = extra.get("hub_match") if extra else None
    civ = meta.civitai
    return (i, meta.base_model, meta.match_method, hub.get("badge") if isinstance(hub, dict) else None,
            civ.version_id if civ is not None else None, civ.trust if civ is not None else None)


def _search_body(meta: ModelMetadata) -> str:
    parts = [
        meta.model_id, meta.official_name, meta.cleaned_name, meta.family, meta.model_type,
        meta.subtype or "", meta.variant or "", meta.precision or "", meta.base_model or "",
        meta.original_name or "", meta.notes, " ".join(meta.tags), meta.hub_repo or "",
        " ".join(f.name for f in meta.files),
        # CivitAI (issue 12): a LoRA is found by its trigger words and CivitAI names.
        " ".join(meta.trigger_words),
    ]
    if meta.civitai is not None:
        c = meta.civitai
        parts += [c.model_name, c.version_name, c.creator or "", c.base_model or ""]
    return " ".join(p for p in parts if p)


def _select(columns: str, *, model_type: str | None = None, subtype: str | None = None,
            family: str | None = None, search: str | None = None, ordered: bool = True,
            page: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """The one SELECT of every listing (query, rows, summaries, count_matching): ``columns`` over
    ``models m``, the filters, the order by id and ``page`` = (limit, offset).

    The full-text table is joined only when there is something to search: joined, SQLite walks
    every full-text row to sort or count them (120 ms at 100,000 models, for a first page that
    the id index answers in under a millisecond).
    """
    where: list[str] = []
    args: list[Any] = []
    for col, val in (("model_type", model_type), ("subtype", subtype), ("family", family)):
        if val is not None:
            where.append(f"m.{col} = ? COLLATE NOCASE")
            args.append(val)
    terms, term_args = search_terms(search)
    where += terms
    args += term_args
    sql = f"SELECT {columns} FROM models m"
    if terms:
        sql += " JOIN models_fts f ON f.rowid = m.id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if ordered:
        sql += " ORDER BY m.model_id"
    if page is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [page[0], page[1]]
    return sql, args


def search_terms(search: str | None) -> tuple[list[str], list[str]]:
    """The conditions (over ``models_fts f``) of a search, for every listing (CLI and web UI alike):
    each word of ``search`` is a substring, anywhere, of a model's searchable text (names, file
    names, tags, notes, trigger words, CivitAI names); LIKE is case-insensitive for ASCII."""
    where: list[str] = []
    args: list[str] = []
    for word in (search or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("f.body LIKE ? ESCAPE '\\'")
        args.append(f"%{escaped}%")
    return where, args


def is_corrupt(e: sqlite3.Error) -> bool:
    """The file is not (or no longer) a database: as opposed to a full disk or a read-only drive."""
    name = getattr(e, "sqlite_errorname", "")
    return name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in str(e) or "malformed" in str(e)


def cannot_write_reason(e: BaseException) -> str | None:
    """Why a database cannot be opened for writing, in words; None when that is not the problem."""
    text = str(e).lower()
    if "full" in text:
        return "no space left on device"
    if "readonly" in text or "read-only" in text or "unable to open" in text or "access permission" in text:
        return "the library's folder is read-only"
    if "disk i/o" in text:
        return "disk I/O error (is the disk full or failing?)"
    return None


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Read a database we may not write: read-only if SQLite can share it, else as an immutable file.

    A WAL database needs its ``-shm`` file even to read; on a full disk or a
    read-only drive that file cannot be made, and ``immutable=1`` reads the
    main file without it (what a clean close left there: the WAL is merged
    at every close).
    """
    uri = Path(path).absolute().as_uri()
    for query in ("?mode=ro", "?immutable=1"):
        conn = sqlite3.connect(uri + query, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
    raise sqlite3.OperationalError(f"unable to open {path} read-only")


class Index:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.reset = False  # True when this open found no usable index: the caller must scan
        self.read_only: str | None = None  # why this index cannot be written (a full disk, a read-only drive)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = connect(self.path)
            self.conn.executescript("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except OSError as e:
            self._open_read_only(os_error_text(e))
            return
        except sqlite3.DatabaseError as e:
            reason = None if is_corrupt(e) else cannot_write_reason(e)
            if reason is not None:
                self._open_read_only(reason)
                return
            if not is_corrupt(e):
                raise
            # Not a database any more (a crash on a bad disk, a stray write): it is only a
            # cache, so set it aside and start over; the caller rescans the library.
            self._set_aside()
            self.conn = connect(self.path)
            self.conn.executescript("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            row = None
        if row is None or row[0] != str(INDEX_SCHEMA):
            # Another layout (or an empty file): the index is a cache, so start over.
            for (name,) in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'models_fts_%' AND name != 'meta'"
            ).fetchall():
                self.conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            self.conn.executescript(_SCHEMA)
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('epoch', ?)", (os.urandom(16).hex(),))
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(INDEX_SCHEMA),))
            # Until a scan commits, this index says nothing of the library: a scan killed before
            # its commit leaves the mark, and the next open rescans instead of showing no model.
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('unfilled', '1')")
            self.reset = True
        else:
            self.conn.executescript(_SCHEMA)
            if self.conn.execute("SELECT 1 FROM meta WHERE key='unfilled'").fetchone() is not None:
                self.reset = True

    def _open_read_only(self, reason: str) -> None:
        """Reading commands must work on a full disk or a read-only drive: read what is there.

        With no usable models.db on disk the index is built in memory from the
        model folders (the caller scans, as after any reset); writes are
        refused by :meth:`transaction` with the reason.
        """
        if getattr(self, "conn", None) is not None:
            self.conn.close()
        self.read_only = reason
        try:
            self.conn = connect_read_only(self.path)
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is not None and row[0] == str(INDEX_SCHEMA):
                return
            self.conn.close()
        except sqlite3.Error:
            pass
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(_SCHEMA)
        self.conn.execute("INSERT INTO meta VALUES ('epoch', ?)", (uuid.uuid4().hex,))
        self.conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(INDEX_SCHEMA),))
        self.reset = True
        self._memory = True

    def close(self) -> None:
        self.conn.close()

    def _set_aside(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        stamp = os.urandom(4).hex()
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                os.replace(p, self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}"))

    def transaction(self, *, bulk: bool = False) -> Transaction:
        """``bulk``: without foreign-key checks, for a writer that keeps the tables consistent
        itself (a deep scan: each file row's model is in the same batch, removals delete their
        rows explicitly).  The check of each file row against models doubled a rebuild's inserts."""
        if self.read_only is not None and not getattr(self, "_memory", False):
            raise PumasError(f"cannot change the library now: {self.read_only}")
        return Transaction(self.conn, bulk=bulk)

    # -- change log ----------------------------------------------------------

    @property
    def epoch(self) -> str:
        return str(self.conn.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()[0])

    def latest_seq(self) -> int:
        row = self.conn.execute("SELECT MAX(seq) FROM changes").fetchone()
        return row[0] or 0

    def changes_since(self, seq: int) -> list[Change]:
        rows = self.conn.execute(
            "SELECT seq, model_id, op FROM changes WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
        return [Change(*r) for r in rows]

    def _log(self, model_id: str, op: str) -> None:
        self.conn.execute("INSERT INTO changes (model_id, op) VALUES (?, ?)", (model_id, op))

    # -- writes (call inside a transaction) ---------------------------------

    def upsert(self, record: ModelRecord, *, log: bool = True) -> None:
        self.upsert_many([(record, record_row(record))], log=log)

    def upsert_many(self, rows: list[tuple[ModelRecord, RecordRow]], *, log: bool = True) -> None:
        """Write many records at once: one ``executemany`` per table instead of four statements each.

        ``rows`` pairs each record with its serialized form (:func:`record_row`), which a caller
        comparing against the stored rows (a deep scan) has already computed.  Row ids are given
        here, not left to SQLite, so that the full-text rows can be written in the same batch.
        """
        if not rows:
            return
        if self.conn.execute("SELECT 1 FROM models LIMIT 1").fetchone():  # a rebuild starts empty
            for record, _ in rows:
                self._delete_rows(record.meta.model_id)
        self._insert(rows, (self.conn.execute("SELECT MAX(id) FROM models").fetchone()[0] or 0) + 1)
        if log:
            self.conn.executemany(
                "INSERT INTO changes (model_id, op) VALUES (?, 'upsert')", [(r.meta.model_id,) for r, _ in rows]
            )

    def mark_filled(self) -> None:
        """A scan is committing: from now on the index holds the library (see ``unfilled``)."""
        self.conn.execute("DELETE FROM meta WHERE key='unfilled'")

    def fill(self, rows: list[tuple[ModelRecord, RecordRow]]) -> None:
        """Write every row of an index that holds no model (a deep scan rebuilding it), in bulk.

        The secondary indexes are made after the inserts (a sort each, not a B-tree insert per
        row), and the rebuild takes a new epoch instead of a change-log entry per model: whoever
        read this index before (empty, or another epoch) sees another epoch and reads it whole,
        which is what a consumer does with a rebuilt index anyway.  Call inside a transaction
        opened with ``bulk=True`` (foreign-key checks off: they doubled the time of the inserts).
        """
        for name in _INDEXES:
            self.conn.execute(f"DROP INDEX IF EXISTS {name}")
        for table in ("files", "pins", "facets", "tags", "models_fts"):  # empty with an empty models table; made sure
            self.conn.execute(f"DELETE FROM {table}")
        self._insert(rows, 1)
        for ddl in _INDEXES.values():
            self.conn.execute(ddl)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('epoch', ?)", (os.urandom(16).hex(),))

    def _insert(self, rows: list[tuple[ModelRecord, RecordRow]], first: int) -> None:
        """The rows of records whose models have none, with ids from ``first`` on."""
        models: list[tuple[Any, ...]] = []
        files: list[tuple[Any, ...]] = []
        fts: list[tuple[int, str]] = []
        pins: list[tuple[str, str, str, str]] = []
        facets: list[tuple[Any, ...]] = []
        tags: list[tuple[str, int]] = []
        for i, (record, (meta_json, ov_json, ov_err)) in enumerate(rows, start=first):
            meta = record.meta
            mid = meta.model_id
            models.append((
                i, mid, meta.model_type, meta.subtype, meta.family, meta.cleaned_name,
                meta.size_bytes, meta.added_date, meta_json, ov_json, ov_err,
            ))
            files.extend((mid, f.name, f.name.rsplit("/", 1)[-1], f.sha256, f.size) for f in meta.files)
            fts.append((i, _search_body(meta)))
            facets.append(_facet_row(i, meta))
            if meta.tags:
                tags.extend((t, i) for t in meta.tags)
            if meta.pins:
                pins.extend((mid, app, path, path.rsplit("/", 1)[-1]) for app, path in pinned_paths(meta))
        self.conn.executemany(
            "INSERT INTO models (id, model_id, model_type, subtype, family, cleaned_name, size_bytes, added_date,"
            " metadata, overrides, overrides_error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            models,
        )
        self.conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)", files)
        self.conn.executemany("INSERT INTO models_fts (rowid, body) VALUES (?, ?)", fts)
        self.conn.executemany("INSERT INTO facets VALUES (?,?,?,?,?,?)", facets)
        if tags:
            self.conn.executemany("INSERT OR IGNORE INTO tags VALUES (?,?)", tags)  # a tag listed twice: once
        if pins:
            self.conn.executemany("INSERT OR REPLACE INTO pins VALUES (?,?,?,?)", pins)

    def remove(self, model_id: str, *, log: bool = True) -> None:
        self._delete_rows(model_id)
        if log:
            self._log(model_id, "remove")

    def _delete_rows(self, model_id: str) -> None:
        row = self.conn.execute("SELECT id FROM models WHERE model_id=?", (model_id,)).fetchone()
        if row is None:
            return
        self.conn.execute("DELETE FROM files WHERE model_id=?", (model_id,))
        self.conn.execute("DELETE FROM pins WHERE model_id=?", (model_id,))
        self.conn.execute("DELETE FROM models_fts WHERE rowid=?", row)
        self.conn.execute("DELETE FROM facets WHERE id=?", row)
        self.conn.execute("DELETE FROM tags WHERE id=?", row)
        self.conn.execute("DELETE FROM models WHERE id=?", row)

    # -- reads ---------------------------------------------------------------

    @staticmethod
    def _record(row: tuple[Any, ...]) -> ModelRecord:
        meta_json, ov_json, ov_err = row
        from pumasfs.store.metadata import ModelMetadata, Overrides
        from pumasfs.store.model_record import ModelRecord

        return ModelRecord(
            meta=ModelMetadata.model_validate_json(meta_json),
            overrides=Overrides.model_validate_json(ov_json) if ov_json else None,
            overrides_error=ov_err,
        )

    def get(self, model_id: str) -> ModelRecord | None:
        row = self.conn.execute(
            "SELECT metadata, overrides, overrides_error FROM models WHERE model_id=?", (model_id,)
        ).fetchone()
        return self._record(row) if row else None

    def ordered_rows(self) -> Iterator[RecordRow]:
        """Every model's stored row (as :meth:`stored_rows`), in model id order, one at a time: for
        readers that decode only the fields they need (``plan_input``)."""
        yield from self.conn.execute("SELECT metadata, overrides, overrides_error FROM models ORDER BY model_id")

    def records(self, model_ids: Iterable[str] | None = None) -> Iterator[ModelRecord]:
        """All records ordered by model id, or the given ones (missing ids are skipped)."""
        if model_ids is None:
            for row in self.ordered_rows():
                yield self._record(row)
            return
        for mid in sorted(set(model_ids)):
            rec = self.get(mid)
            if rec is not None:
                yield rec

    def pinned_model_ids(self) -> list[str]:
        """Models with a pinned placement in some app (metadata.json's ``pins``), from the pins table."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT model_id FROM pins ORDER BY model_id")]

    def model_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT model_id FROM models ORDER BY model_id")]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM models").fetchone()[0])

    def distinct(self, column: str) -> set[str]:
        """Every value one classification column holds (model_type, subtype or family)."""
        if column not in ("model_type", "subtype", "family"):
            raise ValueError(column)
        return {r[0] for r in self.conn.execute(f"SELECT DISTINCT {column} FROM models") if r[0]}

    def query(
        self,
        *,
        model_type: str | None = None,
        subtype: str | None = None,
        family: str | None = None,
        search: str | None = None,
    ) -> list[ModelRecord]:
        """Records matching every filter given (see :meth:`rows`)."""
        sql, args = _select("m.metadata, m.overrides, m.overrides_error", model_type=model_type, subtype=subtype,
                            family=family, search=search)
        return [self._record(r) for r in self.conn.execute(sql, args)]

    def rows(
        self,
        *,
        model_type: str | None = None,
        subtype: str | None = None,
        family: str | None = None,
        search: str | None = None,
        page: tuple[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """metadata.json of each matching model as a plain dict, by id: listing 10,000 models
        builds no pydantic object.

        Filters compare case-insensitively (``--family SDXL``); ``search`` keeps the
        models whose names, file names, tags, notes or trigger words contain every
        word of it, anywhere (``pony`` finds ``autismmixSDXL_autismmixPony``).
        """
        sql, args = _select("m.metadata", model_type=model_type, subtype=subtype, family=family, search=search,
                            page=page)
        return [json.loads(r[0]) for r in self.conn.execute(sql, args)]

    def summaries(
        self,
        *,
        model_type: str | None = None,
        subtype: str | None = None,
        family: str | None = None,
        search: str | None = None,
        page: tuple[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`rows`, but only the fields a listing shows (SQLite extracts them: no JSON
        parsing in Python): model_id, subtype, family, size_bytes, precision, match_method, hub_badge."""
        fields = {
            "precision": "$.precision", "match_method": "$.match_method", "hub_badge": "$.hub_match.badge",
            "civitai_trust": "$.civitai.trust", "civitai_model": "$.civitai.model_name",
            "civitai_version": "$.civitai.version_name", "civitai_base": "$.civitai.base_model",
            "trigger_words": "$.trigger_words",  # JSON text of a list
        }
        extracts = ", ".join(f"json_extract(m.metadata, '{path}')" for path in fields.values())
        sql, args = _select(f"m.model_id, m.subtype, m.family, m.size_bytes, {extracts}", model_type=model_type,
                            subtype=subtype, family=family, search=search, page=page)
        keys = ("model_id", "subtype", "family", "size_bytes", *fields)
        rows = self.conn.execute(sql, args)
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def count_matching(
        self,
        *,
        model_type: str | None = None,
        subtype: str | None = None,
        family: str | None = None,
        search: str | None = None,
    ) -> int:
        """How many models a listing with these filters holds (for "50 of 1,234" under a page)."""
        sql, args = _select("COUNT(*)", model_type=model_type, subtype=subtype, family=family, search=search,
                            ordered=False)
        return int(self.conn.execute(sql, args).fetchone()[0])

    # -- the ``checked`` cache (deep scan, doctor) -----------------------------

    def stored_rows(self) -> dict[str, RecordRow]:
        """Every model's stored row: (metadata JSON, overrides JSON, overrides error), by id."""
        return {r[0]: (r[1], r[2], r[3]) for r in
                self.conn.execute("SELECT model_id, metadata, overrides, overrides_error FROM models")}

    def checked(self) -> dict[str, tuple[str, str, str | None]]:
        """model_id -> (stamp, row_sum, identity) of what the last scan or doctor found true."""
        try:
            return {r[0]: (r[1], r[2], r[3]) for r in
                    self.conn.execute("SELECT model_id, stamp, row_sum, identity FROM checked")}
        except sqlite3.Error:  # an index opened read-only from an older version: no cache
            return {}

    def remember_checked(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Record (model_id, stamp, row_sum) of folders found valid and equal to their row.
        The identity verdict survives only while the row is the same one."""
        self.conn.executemany(
            "INSERT INTO checked (model_id, stamp, row_sum) VALUES (?, ?, ?) ON CONFLICT(model_id) DO UPDATE SET "
            "identity = CASE WHEN checked.row_sum = excluded.row_sum THEN checked.identity END, "
            "stamp = excluded.stamp, row_sum = excluded.row_sum", list(rows))

    def remember_identity(self, rows: Iterable[tuple[str, str]]) -> None:
        """Record (model_id, identity stamp) of models whose header identification agreed."""
        self.conn.executemany("UPDATE checked SET identity = ? WHERE model_id = ?", [(v, k) for k, v in rows])

    def forget_unlisted_checks(self) -> None:
        """Drop the cache of models no longer in the index."""
        self.conn.execute("DELETE FROM checked WHERE model_id NOT IN (SELECT model_id FROM models)")

    def find_sha256(self, sha256: str) -> list[tuple[str, str]]:
        """(model_id, file name) of every file with these bytes."""
        return list(
            self.conn.execute("SELECT model_id, name FROM files WHERE sha256=? ORDER BY model_id", (sha256,))
        )

    def models_with_stem(self, stem: str) -> set[str]:
        """Models with a file name, cleaned name or pinned name (in any app) starting with ``stem``.

        A superset of the models whose link name in an app can have this stem,
        found through three index range scans: the planner's collision check
        costs the same in a library of 100 or 100,000 models.
        """
        low = stem.lower()  # cleaned names are lowercase slugs
        # File names without case (ASCII): the planner treats `Foo` and `foo` as one stem.
        rows = self.conn.execute(
            "SELECT model_id FROM files WHERE basename >= ? COLLATE NOCASE AND basename < ? COLLATE NOCASE "
            "UNION SELECT model_id FROM models WHERE cleaned_name >= ? AND cleaned_name < ? "
            "UNION SELECT model_id FROM pins WHERE name >= ? COLLATE NOCASE AND name < ? COLLATE NOCASE",
            (low, low + "\U0010ffff", low, low + "\U0010ffff", low, low + "\U0010ffff"),
        )
        return {r[0] for r in rows}

    def models_with_size(self, size: int) -> list[tuple[str, str, str | None]]:
        """(model_id, file name, sha256) of every file of exactly this size: cheap duplicate candidates."""
        return list(self.conn.execute("SELECT model_id, name, sha256 FROM files WHERE size=?", (size,)))


RecordRow = tuple[str, "str | None", "str | None"]


def row_sum(row: RecordRow) -> str:
    """A checksum of a stored row (metadata, overrides, overrides error), for the ``checked`` cache."""
    import hashlib  # here: OpenSSL's load is 2 ms of every `pumas list`, which never needs it

    h = hashlib.blake2b(row[0].encode(), digest_size=12)
    h.update(b"\0" + (row[1] or "").encode() + b"\0" + (row[2] or "").encode() + (b"\1" if row[1] is None else b""))
    return h.hexdigest()

def pinned_paths(meta: ModelMetadata) -> list[tuple[str, str]]:
    """(app, app-relative path) of every path a model's pins name: each pin's path and its exact files."""
    out = {(p.app, p.path) for p in meta.pins}
    out |= {(p.app, path) for p in meta.pins for path in p.files}
    return sorted(out)


def record_row(record: ModelRecord) -> RecordRow:
    """A record as the index stores it: (metadata JSON, overrides JSON, overrides error)."""
    return (
        record.meta.model_dump_json(),
        record.overrides.model_dump_json() if record.overrides else None,
        record.overrides_error,
    )


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time, all or nothing."""

    def __init__(self, conn: sqlite3.Connection, *, bulk: bool = False) -> None:
        self.conn = conn
        self.bulk = bulk

    def __enter__(self) -> sqlite3.Connection:
        if self.bulk:  # a no-op inside a transaction: set before it
            self.conn.execute("PRAGMA foreign_keys=OFF")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._checks_on()
            raise
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")
            elif self.conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                self.conn.execute("ROLLBACK")
        finally:
            self._checks_on()

    def _checks_on(self) -> None:
        if self.bulk and not self.conn.in_transaction:
            self.conn.execute("PRAGMA foreign_keys=ON")
