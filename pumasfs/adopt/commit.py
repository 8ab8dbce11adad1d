"""Committing a batch of adopted models: one filesystem sync per step instead of several per model.

Adoption brings thousands of small files in; an fsync of every metadata.json
and folder would cost more than reading the bytes.  Per batch instead: every
staged model gets its final name and its metadata.json, one ``syncfs`` makes
all of it durable, one intent of the library's journal (:mod:`pumasfs.store.journal`,
``commit-batch``) names the models about to appear, each staged folder is
renamed into place (the commit point of that model), a second ``syncfs`` makes
the renames durable, and one index transaction records them.  A run killed
between the renames and the index leaves the intent: whoever opens the library
next (the next adoption, ``pumas doctor --fix``, any command) indexes what it
names, as it finishes any other killed commit, so no model goes unseen (an
unseen model would be adopted a second time: two copies of its bytes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from pumasfs.base.testhooks import kill_point
from pumasfs.store import journal
from pumasfs.store.index import record_row
from pumasfs.store.library import Library, model_id_for
from pumasfs.store.metadata import METADATA_FILE, ModelMetadata
from pumasfs.store.model_record import ModelRecord
from pumasfs.store.naming import short_hash
from pumasfs.store.xattrs import tag_model_files


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


def _choose_name(meta: ModelMetadata, models_dir: str, taken: set[str]) -> ModelMetadata | None:
    """``meta`` under the first free folder name (its own, then suffixed), or None."""
    base = meta.cleaned_name
    prefix = model_id_for(meta.model_type, meta.family, "")
    sha = meta.hashes.sha256 or short_hash(meta.original_name or base, 12)
    names = itertools.chain((base, f"{base}-{sha[:8]}"), (f"{base}-{i}" for i in range(2, 100)))
    for name in names:
        mid = prefix + name
        if mid in taken or os.path.lexists(f"{models_dir}/{mid}"):
            continue
        taken.add(mid)
        # (a copy, not two validated assignments: thousands of models per batch)
        return meta.model_copy(update={"cleaned_name": name, "model_id": mid})
    return None


def commit_batch(lib: Library, staged: list[tuple[Path, ModelMetadata]]) -> list[ModelMetadata | None]:
    """Move staged model folders into the library; per entry the committed metadata, or None.

    The caller holds the import commit lock and has checked that none of
    these models is in the library already.
    """
    layout = lib.layout
    models_dir = layout.models_dir
    models_real = os.path.realpath(models_dir)
    _ = lib.index  # open (and rebuild, if it was deleted) before any model appears
    taken: set[str] = set()
    ready: list[tuple[Path, ModelMetadata] | None] = []
    for content, draft in staged:
        meta = _choose_name(draft, models_real, taken)
        if meta is None:
            ready.append(None)
            continue
        data = meta.model_dump_json(indent=2, exclude_none=False) + "\n"
        fd = os.open(content / METADATA_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data.encode("utf-8"))  # (made durable by the syncfs below, with everything else)
        finally:
            os.close(fd)
        tag_model_files(content, meta, Path(models_real, meta.model_id), real=True)
        ready.append((content, meta))
    syncfs(models_dir)
    held = journal.begin(models_dir, journal.Intent.batch([m.model_id for _, m in filter(None, ready)]))
    out: list[ModelMetadata | None] = []
    parents: set[Path] = set()
    for item in ready:
        if item is None:
            out.append(None)
            continue
        content, meta = item
        final = models_dir / meta.model_id
        if final.parent not in parents:
            final.parent.mkdir(parents=True, exist_ok=True)
            parents.add(final.parent)
        try:
            os.rename(content, final)
        except OSError:
            shutil.rmtree(content, ignore_errors=True)
            out.append(None)
            continue
        out.append(meta)
    kill_point("renamed")
    try:
        syncfs(models_dir)
        with lib.index.transaction():
            records = [ModelRecord(meta=done) for done in out if done is not None]
            lib.index.upsert_many([(r, record_row(r)) for r in records])
    except (OSError, sqlite3.Error):
        # The models are committed; only their rows are missing (a full disk, say): the intent
        # stays for the next open of the library to add them.
        held.release()
        raise
    held.done()
    return out
