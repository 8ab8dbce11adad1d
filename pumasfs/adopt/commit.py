"""Committing a batch of adopted models: one filesystem sync per step instead of several per model.

Adoption brings thousands of small files in; an fsync of every metadata.json
and folder would cost more than reading the bytes.  Per batch instead: every
staged model gets its final name and its metadata.json, one ``syncfs`` makes
all of it durable, a journal names the models about to appear, each staged
folder is renamed into place (the commit point of that model), a second
``syncfs`` makes the renames durable, and one index transaction records them.
A run killed between the renames and the index leaves the journal: the next
adoption (:func:`recover`) indexes what it names, so no model goes unseen
(an unseen model would be adopted a second time: two copies of its bytes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import atomic
from ..library import Library, model_id_for
from ..metadata import METADATA_FILE, ModelMetadata
from ..model_record import ModelRecord
from ..naming import short_hash
from ..testhooks import kill_point
from ..xattrs import tag_model_files

JOURNAL = "adopt-journal.json"


class Journal(BaseModel):
    model_ids: list[str]


def _load_syncfs() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_syncfs = _load_syncfs()


def syncfs(path: Path) -> None:
    """Flush everything written on ``path``'s filesystem (data, inodes, directory entries)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs is None or _syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _choose_name(meta: ModelMetadata, models_dir: Path, taken: set[str]) -> bool:
    base = meta.cleaned_name
    sha = meta.hashes.sha256 or short_hash(meta.original_name or base, 12)
    for name in [base, f"{base}-{sha[:8]}", *(f"{base}-{i}" for i in range(2, 100))]:
        mid = model_id_for(meta.model_type, meta.family, name)
        if mid in taken or (models_dir / mid).exists():
            continue
        meta.cleaned_name, meta.model_id = name, mid
        taken.add(mid)
        return True
    return False


def commit_batch(lib: Library, staged: list[tuple[Path, ModelMetadata]]) -> list[ModelMetadata | None]:
    """Move staged model folders into the library; per entry the committed metadata, or None.

    The caller holds the import commit lock and has checked that none of
    these models is in the library already.
    """
    layout = lib.layout
    models_dir = layout.models_dir
    _ = lib.index  # open (and rebuild, if it was deleted) before any model appears
    taken: set[str] = set()
    ready: list[tuple[Path, ModelMetadata] | None] = []
    for content, meta in staged:
        if not _choose_name(meta, models_dir, taken):
            ready.append(None)
            continue
        data = meta.model_dump_json(indent=2, exclude_none=False) + "\n"
        (content / METADATA_FILE).write_bytes(data.encode("utf-8"))
        tag_model_files(content, meta, models_dir / meta.model_id)
        ready.append((content, meta))
    syncfs(models_dir)
    journal = layout.run_dir / JOURNAL
    atomic.write_bytes(journal, Journal(model_ids=[m.model_id for _, m in filter(None, ready)])
                       .model_dump_json().encode())
    out: list[ModelMetadata | None] = []
    for item in ready:
        if item is None:
            out.append(None)
            continue
        content, meta = item
        final = models_dir / meta.model_id
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(content, final)
        except OSError:
            shutil.rmtree(content, ignore_errors=True)
            out.append(None)
            continue
        out.append(meta)
    kill_point("renamed")
    syncfs(models_dir)
    with lib.index.transaction():
        for done in out:
            if done is not None:
                lib.index.upsert(ModelRecord(meta=done))
    journal.unlink(missing_ok=True)
    return out


def recover(lib: Library) -> list[str]:
    """Index the models a killed batch renamed into place but did not record."""
    journal = lib.layout.run_dir / JOURNAL
    try:
        ids = Journal.model_validate_json(journal.read_bytes()).model_ids
    except FileNotFoundError:
        return []
    except (OSError, ValidationError, ValueError):
        lib.scan()  # an unreadable journal: the whole index, from the metadata files
        journal.unlink(missing_ok=True)
        return []
    found = []
    for mid in ids:
        if (lib.layout.models_dir / mid / METADATA_FILE).is_file() and lib.index.get(mid) is None:
            lib.save(lib.get(mid))
            found.append(mid)
    journal.unlink(missing_ok=True)
    return found
