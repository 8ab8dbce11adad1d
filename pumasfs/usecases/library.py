"""Use cases over the library itself: list, show, edit and scan models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import PumasError
from ..metadata import ModelMetadata, check_vocabulary, parse_edit_value
from ..plan import ModelRecord
from .after_change import CatchUp, catch_up_apps
from .progress import NULL_REPORTER, Reporter
from .workspace import Workspace

if TYPE_CHECKING:
    from ..hub.related import RelatedFile
    from ..library import ScanReport


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
    """The models matching ``where``, ordered by id."""
    where = where or ModelFilter()
    return ws.library.index.query(model_type=where.model_type, subtype=where.subtype, family=where.family,
                                  search=where.search)


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
    lib = ws.library
    record = lib.record(lib.resolve_id(ref))
    details = ModelDetails(record=record, links=links_of_model(ws, record.model_id))
    if related:
        from ..hub.related import related_files

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
    lib = ws.library
    model_id = lib.resolve_id(ref)
    seen = {key: lib.index.distinct(key) for key in ("model_type", "subtype", "family")}
    check_vocabulary(changes, seen=seen, force=force)
    meta = lib.edit(model_id, changes)
    return EditResult(old_id=model_id, meta=meta, apps=catch_up_apps(ws, reporter))


def scan(ws: Workspace, reporter: Reporter = NULL_REPORTER) -> ScanReport:
    """Rebuild models.db from the metadata.json files alone; broken ones are reported and skipped."""
    reporter.start("scanning", None, unit="models")
    report = ws.library.scan(progress=reporter.advance)
    for err in report.errors:
        reporter.warn(err)
    return report
