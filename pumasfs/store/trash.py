"""The trash inside the library: where `pumas rm` puts models instead of deleting them.

It lives at ``models/.trash/`` so that moving a model there is one rename on
the same filesystem (instant, and nothing is copied).  Each removed model is
one item folder::

    .trash/<id>/item.json    what it was and when it was removed (written first)
    .trash/<id>/model/       the model folder, as it was

An item folder without ``model/`` is a removal that has not happened yet (or
never will: the journal finishes or drops it).  Emptying renames an item to
``.deleting-<id>`` before deleting its bytes, so a half-deleted item is never
listed or restored; the next empty finishes it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from pumasfs.base.atomic import fsync_dir, write_bytes
from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.testhooks import kill_point

TRASH_DIR = ".trash"
ITEM_FILE = "item.json"
MODEL_DIR = "model"
DELETING_PREFIX = ".deleting-"
DEFAULT_KEEP_DAYS = 30


class TrashItem(BaseModel):
    """One removed model."""

    id: str
    model_id: str
    removed_at: str  # ISO 8601, UTC
    size_bytes: int = 0
    official_name: str = ""

    def removed_epoch(self) -> float:
        return datetime.fromisoformat(self.removed_at.replace("Z", "+00:00")).timestamp()


class TrashSettings(BaseModel):
    """``config/trash.json``: how long removed models are kept before they are deleted for good."""

    keep_days: float = DEFAULT_KEEP_DAYS


def trash_dir(models_dir: Path) -> Path:
    return models_dir / TRASH_DIR


def new_item_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def item_dir(models_dir: Path, item_id: str) -> Path:
    if not item_id or "/" in item_id or item_id.startswith("."):
        raise NotFound(f"no trash item {item_id!r} (see `pumas trash list`)")
    return trash_dir(models_dir) / item_id


def write_item(models_dir: Path, item: TrashItem) -> Path:
    d = item_dir(models_dir, item.id)
    d.mkdir(parents=True, exist_ok=True)
    write_bytes(d / ITEM_FILE, item.model_dump_json(indent=2).encode())
    fsync_dir(d.parent)
    return d


def read_item(d: Path) -> TrashItem | None:
    try:
        return TrashItem.model_validate_json((d / ITEM_FILE).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def items(models_dir: Path) -> list[TrashItem]:
    """Every complete item (its model folder is in), oldest first."""
    root = trash_dir(models_dir)
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    out = []
    for name in names:
        if name.startswith("."):
            continue
        d = root / name
        item = read_item(d)
        if item is not None and item.id == name and (d / MODEL_DIR).is_dir():
            out.append(item)
    out.sort(key=lambda i: i.removed_at)
    return out


def get_item(models_dir: Path, item_id: str) -> TrashItem:
    d = item_dir(models_dir, item_id)
    item = read_item(d)
    if item is None or not (d / MODEL_DIR).is_dir():
        raise NotFound(f"no trash item {item_id!r} (see `pumas trash list`)")
    return item


def delete_item(models_dir: Path, item_id: str) -> None:
    """Delete an item for good: one rename out of sight, then the bytes."""
    d = item_dir(models_dir, item_id)
    doomed = d.with_name(DELETING_PREFIX + item_id)
    try:
        os.rename(d, doomed)
    except FileNotFoundError:
        raise NotFound(f"no trash item {item_id!r}") from None
    except OSError as e:
        raise PumasError(f"cannot delete trash item {item_id}: {e.strerror}") from None
    kill_point("trash:after-hide")
    _rmtree(doomed)


UNFILLED_GRACE_S = 3600


def sweep_deleting(models_dir: Path) -> None:
    """Finish deletions a killed process started, and drop items whose model never came in.

    A removal writes item.json, then its intent: a kill between the two leaves an item
    with no model and no intent.  A live removal takes microseconds there, so an item
    without a model that is an hour old is such a leftover.
    """
    root = trash_dir(models_dir)
    try:
        names = os.listdir(root)
    except OSError:
        return
    now = time.time()
    for name in names:
        if name.startswith(DELETING_PREFIX):
            _rmtree(root / name)
        elif not name.startswith(".") and not (root / name / MODEL_DIR).exists():
            try:
                old = now - (root / name).stat().st_mtime > UNFILLED_GRACE_S
            except OSError:
                continue
            if old:
                drop_unfilled(models_dir, name)


def drop_unfilled(models_dir: Path, item_id: str) -> None:
    """An item whose model never came in (the removal was abandoned): only item.json is there."""
    d = item_dir(models_dir, item_id)
    if (d / MODEL_DIR).exists():
        return
    (d / ITEM_FILE).unlink(missing_ok=True)
    try:
        d.rmdir()
    except OSError:
        pass


def _rmtree(path: Path) -> None:
    def writable(func, p, _exc):  # type: ignore[no-untyped-def]
        # Library weight files are read-only; their folders are ours to empty.
        try:
            os.chmod(os.path.dirname(p), 0o755)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=writable)
