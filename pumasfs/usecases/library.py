"""Use cases over the library itself: show, edit and scan models (listing: ``listing.py``)."""

from __future__ import annotations

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
