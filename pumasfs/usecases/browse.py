"""Browsing the library one page at a time: the web UI's grid and list.

``pumas list`` reads every matching record; a browser showing a library of
10,000 models must never receive (or make the server decode) all of them.
This use case answers one page: the filters run in SQLite over the index's
narrow columns and tables (``models``, ``facets``, ``tags``, the full-text
table; never the JSON of ``metadata.json`` it keeps, which costs a parse per
row), the total comes from a ``COUNT``, and only the page's rows are decoded
into records.  How many apps link each model comes from the link registry
(``registry.db``), attached to the same read-only connection.

Read-only and stateless: a fresh connection per call, so a page never waits
on a writer (WAL) and never holds a write lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pumasfs.hub.badge import CIVITAI_LINKED, CIVITAI_VERIFIED, trust_badge
from pumasfs.store.index import search_terms
from pumasfs.store.metadata import ModelMetadata
from pumasfs.usecases.workspace import Workspace

Sort = Literal["name", "size", "added", "-name", "-size", "-added"]
SORTS: dict[str, str] = {
    "name": "m.cleaned_name COLLATE NOCASE ASC, m.model_id",
    "-name": "m.cleaned_name COLLATE NOCASE DESC, m.model_id",
    "size": "m.size_bytes ASC, m.model_id",
    "-size": "m.size_bytes DESC, m.model_id",
    "added": "m.added_date ASC, m.model_id",
    "-added": "m.added_date DESC, m.model_id",
}
TRUSTS = ("verified", "probable", "modified", "unknown", CIVITAI_VERIFIED, CIVITAI_LINKED)
MAX_PAGE_SIZE = 200

# The trust badge (pumasfs.hub.badge.trust_badge) as SQL over the index's ``facets`` row
# (``x``) of a model, so that a trust filter pages in the database like every other filter.
_TRUST_SQL = (
    "CASE WHEN x.match_method='hash' THEN 'verified' WHEN x.hub_badge='modified' THEN 'modified' "
    "WHEN x.match_method IN ('filename_exact','filename_fuzzy') THEN 'probable' ELSE 'unknown' END"
)
# The CivitAI badge (pumasfs.hub.badge.civitai_badge), shown beside the one above: a
# model can be both "probable" and "civitai-verified", so it is its own test.
_CIVITAI_SQL = {
    CIVITAI_LINKED: "x.civitai_trust = 'user'",
    CIVITAI_VERIFIED: "x.civitai_version IS NOT NULL AND COALESCE(x.civitai_trust, '') <> 'user'",
}


@dataclass(frozen=True)
class BrowseQuery:
    """What the user filters on; every field is optional."""

    search: str | None = None
    model_type: str | None = None
    subtype: str | None = None
    family: str | None = None
    base_model: str | None = None
    tag: str | None = None
    trust: str | None = None
    app: str | None = None
    sort: str = "name"
    page: int = 1
    page_size: int = 48


@dataclass
class ModelCard:
    """One model as a card or a list row shows it."""

    meta: ModelMetadata
    trust: str
    app_count: int


@dataclass
class Facet:
    value: str
    count: int


@dataclass
class BrowsePage:
    query: BrowseQuery
    total: int
    items: list[ModelCard]
    page: int
    pages: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)


def _connect(ws: Workspace) -> sqlite3.Connection:
    _ = ws.library.index  # creates (or rebuilds) the index if it is missing
    uri = f"file:{ws.layout.index_db}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False)
    conn.execute("PRAGMA query_only=1")
    reg = ws.layout.registry_db
    if reg.exists():
        conn.execute("ATTACH DATABASE ? AS reg", (f"file:{reg}?mode=ro",))
    return conn


def _has_registry(conn: sqlite3.Connection) -> bool:
    return any(r[1] == "reg" for r in conn.execute("PRAGMA database_list"))


def _where(q: BrowseQuery, has_reg: bool) -> tuple[str, str, list[object]]:
    joins, where, args = "", [], []  # type: tuple[str, list[str], list[object]]
    terms, term_args = search_terms(q.search)  # the same search as `pumas list --search`
    if terms:
        joins += " JOIN models_fts f ON f.rowid = m.id"
        where += terms
        args += term_args
    for col, val in (("model_type", q.model_type), ("subtype", q.subtype), ("family", q.family)):
        if val:
            where.append(f"m.{col} = ? COLLATE NOCASE")  # any case, as `pumas list --family SDXL`
            args.append(val)
    if q.base_model or q.trust:
        joins += " JOIN facets x ON x.id = m.id"
    if q.base_model:
        where.append("x.base_model = ?")
        args.append(q.base_model)
    if q.tag:
        where.append("m.id IN (SELECT id FROM tags WHERE tag = ?)")
        args.append(q.tag)
    if q.trust in _CIVITAI_SQL:
        where.append(_CIVITAI_SQL[q.trust])
    elif q.trust:
        where.append(f"{_TRUST_SQL} = ?")
        args.append(q.trust)
    if q.app:
        if has_reg:
            where.append("m.model_id IN (SELECT model_id FROM reg.links WHERE app = ?)")
            args.append(q.app)
        else:
            where.append("0")
    return joins, (" WHERE " + " AND ".join(where)) if where else "", args


def browse_models(ws: Workspace, q: BrowseQuery, *, facets: bool = True) -> BrowsePage:
    """One page of the models matching ``q``, with the total and the filter choices."""
    size = max(1, min(q.page_size, MAX_PAGE_SIZE))
    order = SORTS.get(q.sort, SORTS["name"])
    conn = _connect(ws)
    try:
        has_reg = _has_registry(conn)
        joins, where, args = _where(q, has_reg)
        total = conn.execute(f"SELECT COUNT(*) FROM models m{joins}{where}", args).fetchone()[0]
        pages = max(1, -(-total // size))
        page = max(1, min(q.page, pages))
        # Sort and skip over the narrow columns only, then read the page's JSON: a late
        # page must not drag every earlier row's metadata through the sorter.
        ids = [r[0] for r in conn.execute(
            f"SELECT m.id FROM models m{joins}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, size, (page - 1) * size],
        )]
        rows: list[tuple[str, str]] = []
        if ids:
            marks = ",".join("?" * len(ids))
            found = {r[0]: (r[1], r[2]) for r in conn.execute(
                f"SELECT id, model_id, metadata FROM models WHERE id IN ({marks})", ids)}
            rows = [found[i] for i in ids if i in found]
        counts: dict[str, int] = {}
        if has_reg and rows:
            marks = ",".join("?" * len(rows))
            counts = dict(
                conn.execute(
                    f"SELECT model_id, COUNT(DISTINCT app) FROM reg.links WHERE model_id IN ({marks}) GROUP BY model_id",
                    [r[0] for r in rows],
                ).fetchall()
            )
        items = []
        for model_id, raw in rows:
            meta = ModelMetadata.model_validate_json(raw)
            items.append(ModelCard(meta=meta, trust=trust_badge(meta), app_count=counts.get(model_id, 0)))
        result = BrowsePage(query=q, total=total, items=items, page=page, pages=pages)
        if facets:
            result.facets = _cached_facets(ws, conn, has_reg)
        return result
    finally:
        conn.close()


# (index file, epoch, last change seq, registry stamp) -> facets.  The change log makes
# "has anything changed?" one cheap query, so the choices are recomputed only after a change.
_FACETS: dict[tuple[object, ...], dict[str, list[Facet]]] = {}
_FACETS_LOCK = threading.Lock()


def _registry_stamp(ws: Workspace) -> tuple[int, ...]:
    out: list[int] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{ws.layout.registry_db}{suffix}")
            out += [st.st_mtime_ns, st.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return tuple(out)


def _cached_facets(ws: Workspace, conn: sqlite3.Connection, has_reg: bool) -> dict[str, list[Facet]]:
    epoch = conn.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
    seq = conn.execute("SELECT MAX(seq) FROM changes").fetchone()[0] or 0
    key = (str(ws.layout.index_db), epoch[0] if epoch else "", seq, _registry_stamp(ws))
    with _FACETS_LOCK:
        hit = _FACETS.get(key)
    if hit is not None:
        return hit
    value = _facets(conn, has_reg)
    with _FACETS_LOCK:
        for old in [k for k in _FACETS if k[0] == key[0]]:
            del _FACETS[old]
        _FACETS[key] = value
    return value


def _facets(conn: sqlite3.Connection, has_reg: bool) -> dict[str, list[Facet]]:
    """The values each filter can take, with counts over the whole library."""

    def rows(sql: str) -> list[Facet]:
        return [Facet(str(v), int(n)) for v, n in conn.execute(sql).fetchall() if v not in (None, "")]

    def ranked(counter: Counter[str]) -> list[Facet]:
        pairs = sorted(((v, n) for v, n in counter.items() if v), key=lambda p: (-p[1], p[0]))
        return [Facet(v, n) for v, n in pairs]

    # Base model, trust and tags from the index's narrow ``facets`` and ``tags`` rows (never
    # the JSON: parsing it for 100,000 models took 0.6 s); the trust groups are a handful.
    base: Counter[str] = Counter()
    for b, n in conn.execute("SELECT base_model, COUNT(*) FROM facets GROUP BY 1"):
        base[str(b or "")] += n
    trust: Counter[str] = Counter()
    for method, badge, civ_known, civ_trust, n in conn.execute(
        "SELECT match_method, hub_badge, civitai_version IS NOT NULL, civitai_trust, COUNT(*) FROM facets "
        "GROUP BY 1, 2, 3, 4"
    ):
        trust[_trust_of(method, badge)] += n
        if civ_known:  # counted beside the Hugging Face badge (a model has both)
            trust[CIVITAI_LINKED if civ_trust == "user" else CIVITAI_VERIFIED] += n
    tags = [Facet(str(t), int(n)) for t, n in conn.execute(
        "SELECT tag, COUNT(*) FROM tags WHERE tag <> '' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 40")]
    return {
        "model_type": rows("SELECT model_type, COUNT(*) FROM models GROUP BY 1 ORDER BY 2 DESC, 1"),
        "subtype": rows("SELECT subtype, COUNT(*) FROM models GROUP BY 1 ORDER BY 2 DESC, 1"),
        "family": rows("SELECT family, COUNT(*) FROM models GROUP BY 1 ORDER BY 2 DESC, 1"),
        "base_model": ranked(base),
        "tag": tags,
        "trust": ranked(trust),
        "app": rows("SELECT app, COUNT(DISTINCT model_id) FROM reg.links GROUP BY 1 ORDER BY 1") if has_reg else [],
    }


def _trust_of(method: str | None, badge: str | None) -> str:
    """:func:`pumasfs.hub.badge.trust_badge` from the two fields it reads (kept equal to _TRUST_SQL)."""
    if method == "hash":
        return "verified"
    if badge == "modified":
        return "modified"
    if method in ("filename_exact", "filename_fuzzy"):
        return "probable"
    return "unknown"
