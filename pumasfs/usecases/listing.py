"""`pumas list`: the library's models as light rows, with the apps that use each.

Its own module so that `pumas list` loads only what a listing needs (start-up is most of
what a listing costs): the show, edit and scan use cases stay in ``library.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.store.model_record import ModelRecord


@dataclass
class ModelFilter:
    """What `pumas list` narrows the library to (every field optional)."""

    model_type: str | None = None
    subtype: str | None = None
    family: str | None = None
    search: str | None = None

    @property
    def active(self) -> bool:
        return any((self.model_type, self.subtype, self.family, self.search))


def list_models(ws: Workspace, where: ModelFilter | None = None) -> list[ModelRecord]:
    """The models matching ``where``, ordered by id, as full records."""
    where = where or ModelFilter()
    ws.require_library()
    return ws.library.index.query(model_type=where.model_type, subtype=where.subtype, family=where.family,
                                  search=where.search)


@dataclass
class ModelRow:
    """One line of `pumas list`: what a table or a web page shows of a model."""

    model_id: str
    subtype: str | None
    family: str
    precision: str | None
    size_bytes: int
    trust: str  # "verified", "probable + civitai-verified", ...
    used_by: list[str]  # apps with links to it
    civitai: str | None  # CivitAI model and version name, when CivitAI knows the model
    civitai_base: str | None
    trigger_words: list[str]
    metadata: dict[str, Any]  # metadata.json as stored (only when asked for: ``full``)


@dataclass
class Listing:
    rows: list[ModelRow]
    total_models: int  # in the whole library, filtered or not
    matching: int = 0  # that the filters match, whether or not a page holds them all

    @property
    def total_bytes(self) -> int:
        return sum(r.size_bytes for r in self.rows)


_LINK_LOOKUPS = 2000  # up to this many rows, `list` reads their links by model id (an index lookup each)


def list_rows(ws: Workspace, where: ModelFilter | None = None, *, full: bool = False,
              page: tuple[int, int] | None = None) -> Listing:
    from pumasfs.base.gcpause import gc_paused

    with gc_paused():  # 100,000 rows are 100,000 dicts that live until the listing is printed
        return _list_rows(ws, where, full=full, page=page)


def _list_rows(ws: Workspace, where: ModelFilter | None, *, full: bool, page: tuple[int, int] | None) -> Listing:
    """The models matching ``where`` as light rows (no pydantic), with the apps using each.

    ``full`` also reads each metadata.json as stored (for ``--json``); ``page`` = (limit,
    offset) reads only that slice, so a first page costs the same at any library size.
    Reading only: a root with no library is NotFound, and nothing is created.
    """
    from pumasfs.hub.badge import trust_text_of

    where = where or ModelFilter()
    index = ws.reading_index()
    filters = {"model_type": where.model_type, "subtype": where.subtype, "family": where.family,
               "search": where.search}
    used_by: dict[str, list[str]] = {}
    if full:
        data = index.rows(**filters, page=page)
        ids = [d["model_id"] for d in data]
    else:
        summaries = index.summaries(**filters, page=page)
        ids = [d["model_id"] for d in summaries]
    if ws.layout.registry_db.exists():
        from materializer.registry_peek import peek_apps_by_model

        # A page or a filter asks for its own models' links; a listing of the whole library, or of
        # many models, reads every link once (as many lookups cost more than one pass: 1.7 ms
        # against 1.1 ms for 1,000 models).
        narrow = (where.active or page is not None) and len(ids) <= _LINK_LOOKUPS
        used_by = peek_apps_by_model(ws.layout.registry_db, ids if narrow else None)
    rows: list[ModelRow] = []
    if full:
        for d in data:
            civ = d.get("civitai") if isinstance(d.get("civitai"), dict) else None
            rows.append(ModelRow(
                model_id=d["model_id"], subtype=d.get("subtype"), family=d.get("family") or "",
                precision=d.get("precision"), size_bytes=int(d.get("size_bytes") or 0),
                trust=trust_text_of(d.get("match_method"), d.get("hub_match"), civ and civ.get("trust")),
                used_by=used_by.get(d["model_id"], []),
                civitai=(civ and f"{civ.get('model_name', '')} {civ.get('version_name', '')}".strip()) or None,
                civitai_base=civ and civ.get("base_model"), trigger_words=list(d.get("trigger_words") or []),
                metadata=d))
    else:
        # One badge text per distinct (match method, hub badge, CivitAI trust): a listing of
        # 10,000 models holds a handful of them.
        badges: dict[tuple[Any, Any, Any], str] = {}
        for d in summaries:
            key = (d["match_method"], d["hub_badge"], d["civitai_trust"])
            badge = badges.get(key)
            if badge is None:
                badge = badges[key] = trust_text_of(key[0], {"badge": key[1]}, key[2])
            words = d["trigger_words"]
            name = f"{d['civitai_model'] or ''} {d['civitai_version'] or ''}".strip() \
                if d["civitai_trust"] is not None else None
            rows.append(ModelRow(
                model_id=d["model_id"], subtype=d["subtype"], family=d["family"] or "", precision=d["precision"],
                size_bytes=int(d["size_bytes"] or 0), trust=badge, used_by=used_by.get(d["model_id"], []),
                civitai=name or None, civitai_base=d["civitai_base"],
                trigger_words=json.loads(words) if words and words != "[]" else [], metadata={}))
    total = index.count() if (where.active or page is not None) else len(rows)
    if page is None:
        matching = len(rows)
    else:
        matching = index.count_matching(**filters) if where.active else total
    return Listing(rows=rows, total_models=total, matching=matching)
