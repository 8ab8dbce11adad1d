"""The trash: list what `rm` removed, bring it back, or delete it for good.

Removed models wait in ``models/.trash/`` (see :mod:`pumasfs.store.trash`); the
ones older than the keep setting (``config/trash.json``, 30 days by default)
are deleted whenever a removal runs, and ``pumas trash empty`` deletes them
on demand.  Restoring is one rename back; the next sync, run here, puts the
model's links back in every materialized app.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from pydantic import ValidationError

from pumasfs.base.atomic import write_bytes
from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.store import trash
from pumasfs.store.metadata import validation_error_line
from pumasfs.store.trash import TrashItem, TrashSettings
from pumasfs.usecases.workspace import Workspace

SETTINGS_FILE = "trash.json"
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``2w``, ``90m``, ``0`` (a bare number is days) -> seconds."""
    m = _AGE.match(text)
    if not m:
        raise PumasError(f"not an age: {text!r} (use e.g. 30d, 12h, 2w, or 0 for everything)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def load_settings(layout: Layout) -> TrashSettings:
    path = layout.config_dir / SETTINGS_FILE
    try:
        return TrashSettings.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return TrashSettings()
    except ValidationError as e:
        raise PumasError(f"{path}: {validation_error_line(e)}") from None


def set_keep(ws: Workspace, age: str) -> TrashSettings:
    """How long removed models stay in the trash before a removal deletes them for good."""
    settings = TrashSettings(keep_days=parse_age(age) / 86400)
    ws.layout.config_dir.mkdir(parents=True, exist_ok=True)
    write_bytes(ws.layout.config_dir / SETTINGS_FILE, settings.model_dump_json(indent=2).encode())
    return settings


def list_trash(ws: Workspace) -> list[TrashItem]:
    """Every removed model still in the trash, oldest first."""
    lib = ws.library
    _ = lib.index  # opening the library finishes removals a killed `rm` left half done
    return trash.items(ws.layout.models_dir)


@dataclass
class RestoreResult:
    item: TrashItem
    model_id: str
    warnings: list[str] = field(default_factory=list)


def restore(ws: Workspace, item_id: str, *, dry_run: bool = False, allow_duplicate: bool = False,
            reporter: Reporter = NULL_REPORTER) -> RestoreResult:
    """Put a removed model back where it was; its links come back with the sync that follows.

    If the same bytes were imported again since the removal, restoring would
    make a second copy: refused unless ``allow_duplicate``, like an import.
    """
    from pumasfs.store.metadata import load_metadata
    from pumasfs.usecases.after_change import catch_up_apps

    lib = ws.library
    index = lib.index  # open: finishes what killed processes left
    item = trash.get_item(ws.layout.models_dir, item_id)
    if not allow_duplicate:
        try:
            meta = load_metadata(trash.item_dir(ws.layout.models_dir, item_id) / trash.MODEL_DIR)
        except PumasError:
            meta = None
        for f in meta.weight_files() if meta else []:
            hits = index.find_sha256(f.sha256) if f.sha256 else []
            if hits:
                raise PumasError(
                    f"cannot restore {item_id}: its bytes are in the library again as {hits[0][0]}; "
                    "--allow-duplicate restores a second copy"
                )
    if dry_run:
        if (ws.layout.models_dir / item.model_id).exists():
            raise PumasError(f"cannot restore {item_id}: a model {item.model_id} exists again; rename it first")
        return RestoreResult(item, item.model_id)
    meta = lib.restore(item_id)
    catch_up_apps(ws, reporter)  # the model's links come back in every materialized app
    return RestoreResult(item, meta.model_id)


@dataclass
class EmptyResult:
    deleted: list[TrashItem] = field(default_factory=list)
    kept: int = 0
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(i.size_bytes for i in self.deleted)


def empty_trash(
    ws: Workspace, *, older_than_s: float | None = None, dry_run: bool = False, reporter: Reporter = NULL_REPORTER
) -> EmptyResult:
    """Delete trash items for good: all of them, or those removed more than ``older_than_s`` ago."""
    lib = ws.library
    _ = lib.index  # open: finishes what killed processes left
    models = ws.layout.models_dir
    if not dry_run:
        trash.sweep_deleting(models)
    now = time.time()
    result = EmptyResult(dry_run=dry_run)
    items = trash.items(models)
    reporter.start("emptying the trash", len(items), unit="models")
    for item in items:
        if older_than_s is not None and now - item.removed_epoch() < older_than_s:
            result.kept += 1
            continue
        reporter.item(item.model_id)
        if not dry_run:
            trash.delete_item(models, item.id)
        result.deleted.append(item)
        reporter.advance(1)
    return result


def auto_empty(ws: Workspace) -> list[TrashItem]:
    """Delete what has been in the trash longer than the keep setting."""
    keep = load_settings(ws.layout).keep_days
    return empty_trash(ws, older_than_s=keep * 86400).deleted
