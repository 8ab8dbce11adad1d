"""Use cases over the library itself: list, show, edit and scan models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:  # `pumas list` must not pay for pydantic: heavy modules load inside the use cases
    from pumasfs.hub.related import RelatedFile
    from pumasfs.store.library import ScanReport
    from pumasfs.store.metadata import ModelMetadata
    from pumasfs.store.model_record import ModelRecord
    from pumasfs.usecases.after_change import CatchUp


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

        # A page or a search asks for its own models' links; a listing of most of the library
        # reads every link once (as many lookups would cost more than one pass).
        used_by = peek_apps_by_model(ws.layout.registry_db, ids if len(ids) <= _LINK_LOOKUPS else None)
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


@dataclass
class ModelDetails:
    """Everything `pumas show` says about one model."""

    record: ModelRecord
    links: list[dict[str, Any]] = field(default_factory=list)  # registry rows: app, path, link_type, ...
    related: list[RelatedFile] | None = None  # None: not asked for, or unavailable
    related_error: str | None = None

    @property
    def meta(self) -> ModelMetadata:
        return self.record.meta


def links_of_model(ws: Workspace, model_id: str) -> list[dict[str, Any]]:
    """Every link pumas made for this model, in every app."""
    if not ws.layout.registry_db.exists():
        return []
    from materializer.api import links_of_model as rows

    return rows(ws.layout, model_id)


def show_model(ws: Workspace, ref: str, *, related: bool = False, reporter: Reporter = NULL_REPORTER) -> ModelDetails:
    """One model by id or unique name: its record, links and (optionally) the hub repo's other files."""
    ws.require_library()
    lib = ws.library
    record = lib.record(resolve_model(ws, ref))
    details = ModelDetails(record=record, links=links_of_model(ws, record.model_id))
    if related:
        from pumasfs.hub.related import related_files

        try:
            details.related = related_files(lib, record.meta)
        except PumasError as e:  # offline with nothing cached: show the rest anyway
            details.related_error = e.message
            reporter.warn(f"related files unavailable: {e.message}")
    return details


@dataclass
class EditResult:
    """A model after an edit, and how the apps caught up."""

    old_id: str
    meta: ModelMetadata
    apps: CatchUp

    @property
    def moved(self) -> bool:
        return self.old_id != self.meta.model_id


def parse_sets(sets: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``FIELD=VALUE`` texts (from ``--set``) as typed field changes."""
    from pumasfs.store.metadata import parse_edit_value

    changes: dict[str, Any] = {}
    for item in sets:
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise PumasError(f"--set expects FIELD=VALUE, got {item!r}")
        changes[key] = parse_edit_value(key, raw)
    return changes


def edit_model(ws: Workspace, ref: str, changes: dict[str, Any], *, force: bool = False,
               reporter: Reporter = NULL_REPORTER) -> EditResult:
    """A user's edit of a model's metadata; identity changes move the folder, then the apps catch up."""
    from pumasfs.store.metadata import check_vocabulary
    from pumasfs.usecases.after_change import catch_up_apps

    lib = ws.library
    model_id = resolve_model(ws, ref)
    seen = {key: lib.index.distinct(key) for key in ("model_type", "subtype", "family")}
    check_vocabulary(changes, seen=seen, force=force)
    meta = lib.edit(model_id, changes)
    return EditResult(old_id=model_id, meta=meta, apps=catch_up_apps(ws, reporter))


def resolve_model(ws: Workspace, ref: str) -> str:
    """A model id from an id or a unique name; an unknown one says which ids are close."""
    from pumasfs.base.errors import NotFound

    lib = ws.library
    try:
        return lib.resolve_id(ref)
    except NotFound:
        close = suggest_models(ws, ref)
        hint = f"; did you mean {' or '.join(close)}?" if close else " (see `pumas list`)"
        raise NotFound(f"no model {ref!r}{hint}") from None


def suggest_models(ws: Workspace, ref: str, limit: int = 3) -> list[str]:
    """Model ids close to ``ref`` (a typo, another case, a partial name)."""
    import difflib

    ids = ws.library.index.model_ids()
    low = ref.lower().strip("/")
    by_name = {i.rsplit("/", 1)[-1]: i for i in ids}
    exact_case = [i for name, i in by_name.items() if name.lower() == low or i.lower() == low]
    if exact_case:
        return exact_case[:limit]
    contains = [i for name, i in by_name.items() if low and low in name.lower()]
    if contains:
        return sorted(contains)[:limit]
    names = difflib.get_close_matches(low, list(by_name), n=limit, cutoff=0.6)
    return [by_name[n] for n in names]


def scan(ws: Workspace, reporter: Reporter = NULL_REPORTER) -> ScanReport:
    """Rebuild models.db from the metadata.json files alone; broken ones are reported and skipped."""
    ws.require_library()
    reporter.start("scanning", None, unit="models")
    report = ws.library.scan(progress=reporter.advance)
    for err in report.errors:
        reporter.warn(err)
    return report
