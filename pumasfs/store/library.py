"""The library: model folders with metadata.json (the truth) and the index over them.

Every write goes to metadata.json first, atomically, then to the index and
its change log in one transaction.  Changes that take several steps (commit,
removal, identity moves) write an intent first (:mod:`pumasfs.store.journal`); if a
process dies between the steps, whoever opens the library next finishes them
(:meth:`Library.recover`), so the index never lists a model that is gone or
misses one that is there.  ``scan`` (or ``pumas doctor --fix``) remains the
deep repair for anything else.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pumasfs import __version__
from pumasfs.base.atomic import fsync_dir
from pumasfs.base.errors import NotFound, PumasError, os_error_text
from pumasfs.base.gcpause import gc_paused
from pumasfs.base.paths import Layout
from pumasfs.base.testhooks import kill_point
from pumasfs.store import journal, staging, trash
from pumasfs.store.index import Index, record_row, row_sum
from pumasfs.store.metadata import (
    METADATA_FILE,
    OVERRIDES_FILE,
    ModelMetadata,
    load_metadata,
    load_overrides,
    save_metadata,
)
from pumasfs.store.model_record import ModelRecord
from pumasfs.store.naming import short_hash, slugify
from pumasfs.store.xattrs import tag_model_files

IDENTITY_FIELDS = ("model_type", "family", "cleaned_name")


WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
MUTABLE_FILES = frozenset({METADATA_FILE, OVERRIDES_FILE})


def seal_files(folder: Path) -> None:
    """Make a model's files read-only (0444-style): the library holds the only copy of their bytes.

    Apps see the same inodes through hardlinks and the preview view through
    symlinks; a tool that opens one for writing, truncates or chmods it would
    change the library's bytes.  Without write bits an ordinary user's
    process gets EACCES instead.  metadata.json and overrides.json stay
    writable: they are replaced whole by atomic writes, never edited in place.
    Folders stay writable, so `edit` (a rename) and removal still work.
    """
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            if dirpath == str(folder) and name in MUTABLE_FILES:
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mode & WRITE_BITS:
                    os.chmod(path, stat.S_IMODE(st.st_mode) & ~WRITE_BITS)
            except OSError:
                continue  # gone meanwhile, or a filesystem without modes (exFAT): nothing to protect with


@contextmanager
def unsealed(folder: Path, meta: ModelMetadata) -> Iterator[None]:
    """Owner write on the weight files for a moment (user xattrs need it for a non-root owner)."""
    paths = [folder / f.name for f in meta.weight_files()]
    for p in paths:
        try:
            os.chmod(p, stat.S_IMODE(os.lstat(p).st_mode) | stat.S_IWUSR)
        except OSError:
            pass
    try:
        yield
    finally:
        seal_files(folder)


def model_id_for(model_type: str, family: str, cleaned_name: str) -> str:
    return f"{slugify(model_type, fallback='unknown')}/{slugify(family, fallback='unknown')}/{cleaned_name}"


@dataclass
class ScanReport:
    loaded: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Library:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._index: Index | None = None
        self._models_resolved: Path | None = None

    @classmethod
    def open(cls, root: Path) -> Library:
        return cls(Layout(Path(root)))

    @property
    def index(self) -> Index:
        if self._index is None:
            self.layout.models_dir.mkdir(parents=True, exist_ok=True)
            self._index = Index(self.layout.index_db)
            if self._index.reset:
                if self._has_any_model_folder():
                    # models.db is a cache: rebuild it silently when someone deleted it.
                    self.scan()
                elif self._index.read_only is None:
                    self._index.mark_filled()  # empty, like the library: nothing to rescan later
            if self._index.read_only is None:
                self.recover()
        return self._index

    def recover(self) -> list[str]:
        """Finish the changes that killed processes left half done; return the model ids touched.

        One listing of ``.journal/`` (empty in the normal case).  Each intent
        is completed forward from the folders' state: a committed folder gets
        its index row, a removal goes into the trash and leaves the index, a
        move's row follows its folder.
        """
        index = self._index
        if index is None:
            return []
        done = []
        models = self.layout.models_dir
        for path, intent, fd in journal.orphans(models):
            try:
                if intent is not None:
                    self._complete(index, intent)
                    done += intent.touched()
            except (OSError, sqlite3.Error):
                os.close(fd)  # a full disk, say: keep the intent for the next open to finish
                continue
            except PumasError:
                pass  # a broken metadata.json: `pumas doctor` names it; nothing more to finish here
            journal.finish(path, fd)
        return done

    def _complete(self, index: Index, intent: journal.Intent) -> None:
        models = self.layout.models_dir
        if intent.op in ("commit", "commit-batch"):
            for model_id in intent.touched():
                if (models / model_id / METADATA_FILE).is_file() and index.get(model_id) is None:
                    try:
                        self._index_folder(index, model_id)
                    except PumasError:
                        continue  # a broken metadata.json (`pumas doctor` names it): the others still count
        elif intent.op == "update":
            if (models / intent.model_id / METADATA_FILE).is_file():
                self._index_folder(index, intent.model_id)
        elif intent.op == "remove":
            assert intent.trash_id is not None
            self._finish_removal(index, intent.model_id, intent.trash_id)
        elif intent.op == "move":
            assert intent.old_id is not None
            new_there = (models / intent.model_id / METADATA_FILE).is_file()
            old_there = (models / intent.old_id / METADATA_FILE).is_file()
            with index.transaction():
                if new_there and not old_there:
                    index.remove(intent.old_id)
            if new_there and not old_there:
                self._index_folder(index, intent.model_id)
                self._prune_empty_parents((models / intent.old_id).parent)
            elif old_there:
                self._index_folder(index, intent.old_id)

    def _index_folder(self, index: Index, model_id: str) -> None:
        d = self.layout.models_dir / model_id
        meta = load_metadata(d)
        meta.model_id = model_id  # the folder's place wins over a stale recorded id
        overrides, error = load_overrides(d)
        with index.transaction():
            index.upsert(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def _has_any_model_folder(self) -> bool:
        return any(True for _ in self.model_folders(limit=1))

    # -- reading -------------------------------------------------------------

    def model_dir(self, model_id: str) -> Path:
        path = (self.layout.models_dir / model_id).resolve()
        models = self._models_resolved
        if models is None:  # resolved once: a lookup of thousands of models asks thousands of times
            models = self._models_resolved = self.layout.models_dir.resolve()
        if models not in path.parents or model_id.startswith(".") or "/." in model_id:
            raise NotFound(f"no model {model_id!r}")
        return path

    def get(self, model_id: str) -> ModelMetadata:
        """The truth, from metadata.json."""
        d = self.model_dir(model_id)
        if not (d / METADATA_FILE).is_file():
            raise NotFound(f"no model {model_id!r} (see `pumas list`)")
        meta = load_metadata(d)
        meta.model_id = model_id
        return meta

    def record(self, model_id: str) -> ModelRecord:
        meta = self.get(model_id)
        overrides, error = load_overrides(self.model_dir(model_id))
        return ModelRecord(meta=meta, overrides=overrides, overrides_error=error)

    def resolve_id(self, ref: str) -> str:
        """Accept a full model id, or a unique cleaned name / id suffix."""
        ref = ref.strip("/")
        if self.index.get(ref) is not None:
            return ref
        matches = [m for m in self.index.model_ids() if m.endswith("/" + ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise PumasError(f"{ref!r} is ambiguous: {', '.join(matches)}")
        raise NotFound(f"no model {ref!r} (see `pumas list`)")

    # -- writing -------------------------------------------------------------

    def index_if_unlisted(self, model_id: str) -> bool:
        """Index a model folder that is on disk but has no row; True when one was added.

        The intent journal covers every commit this version makes; a folder committed by an
        older version, or copied in by hand, has none.  The importer asks this for the names it
        is about to use, so such a model is found as a duplicate instead of copied again: two
        ``stat`` calls, not a scan.
        """
        d = self.layout.models_dir / model_id
        if not (d / METADATA_FILE).is_file() or self.index.get(model_id) is not None:
            return False
        try:
            record = self.record(model_id)
        except PumasError:
            return False  # a broken metadata.json: doctor reports it; the import picks another name
        self._index_record(record)
        return True

    def _index_record(self, record: ModelRecord) -> None:
        with self.index.transaction():
            self.index.upsert(record)

    def commit_staged(self, stage: staging.StagingDir, meta: ModelMetadata) -> ModelMetadata:
        """Move a fully written staging folder into place: the commit point of an import.

        The staged folder holds every file, fsynced; this writes metadata.json
        into it and renames the folder to its final place in one step, so the
        model appears whole or not at all.  Two different models that want
        the same folder get distinct, stable names (a suffix from the hash).
        """
        _ = self.index  # open (and, if it was deleted, rebuild) before the model appears
        content = stage.content
        base = meta.cleaned_name
        candidates = [base, f"{base}-{(meta.hashes.sha256 or short_hash(meta.original_name or base, 12))[:8]}"]
        candidates += [f"{base}-{i}" for i in range(2, 100)]
        for name in candidates:
            meta.cleaned_name = name
            meta.model_id = model_id_for(meta.model_type, meta.family, name)
            final = self.layout.models_dir / meta.model_id
            if final.exists():
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            save_metadata(content, meta, touch=False)
            tag_model_files(content, meta, final)
            seal_files(content)
            # The intent goes first: once the rename is done the model exists, and a kill
            # before its index row must not make it invisible (and imported twice).
            held = journal.begin(self.layout.models_dir, journal.Intent(op="commit", model_id=meta.model_id))
            kill_point("commit:before-rename")
            try:
                os.rename(content, final)
            except OSError as e:
                held.done()
                if final.exists():
                    continue  # lost a race with a concurrent import; try the next name
                raise PumasError(f"cannot move staged model into {final}: {os_error_text(e)}") from None
            stage.committed = True
            kill_point("commit:after-rename")
            try:
                fsync_dir(final.parent)
                overrides, error = load_overrides(final)
                self._index_record(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
            except (sqlite3.Error, OSError):
                # The model is committed; only its row is missing (a full disk, say).  The
                # intent stays, so the next open of the library adds the row.
                held.release()
                return meta
            kill_point("commit:after-index")
            held.done()
            return meta
        raise PumasError(f"no free folder name for {base!r}")

    def save(self, meta: ModelMetadata) -> None:
        d = self.model_dir(meta.model_id)
        index = self.index
        if index.read_only is not None:
            raise PumasError(f"cannot change the library now: {index.read_only}")
        # metadata.json, then its row: an intent covers the gap, so a full disk or a kill
        # between the two leaves a row that the next open brings up to date.
        held = journal.begin(self.layout.models_dir, journal.Intent(op="update", model_id=meta.model_id))
        try:
            save_metadata(d, meta)
        except BaseException:
            held.done()  # nothing changed
            raise
        try:
            kill_point("update:after-metadata")
            overrides, error = load_overrides(d)
            self._index_record(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
        except BaseException:
            held.release()
            raise
        held.done()

    def edit(self, model_id: str, changes: dict[str, Any]) -> ModelMetadata:
        """A user's edit: marks fields as user-owned; identity changes move the folder."""
        meta = self.get(model_id)
        for key, value in changes.items():
            if key == "cleaned_name" and value is not None:
                value = slugify(str(value))
            meta.apply_user_edit(key, value)
        return self.store(meta, model_id)

    def reidentify(self, model_id: str, fields: dict[str, Any]) -> ModelMetadata:
        """An automatic correction of type/family/subtype; user-edited fields stay."""
        meta = self.get(model_id)
        meta.apply_enrichment(fields)
        return self.store(meta, model_id)

    def store(self, meta: ModelMetadata, model_id: str) -> ModelMetadata:
        """Write changed metadata of ``model_id``; moves the folder if its identity changed."""
        for key in IDENTITY_FIELDS:
            if getattr(meta, key) in (None, ""):
                raise PumasError(f"{key} cannot be empty")
        new_id = model_id_for(meta.model_type, meta.family, meta.cleaned_name)
        if new_id == model_id:
            self.save(meta)
            return meta
        return self._move(meta, model_id, new_id)

    def enrich(self, model_id: str, fields: dict[str, Any]) -> list[str]:
        """Automatic enrichment: never overwrites a user-edited field."""
        meta = self.get(model_id)
        changed = meta.apply_enrichment(fields)
        if changed:
            self.save(meta)
        return changed

    def _move(self, meta: ModelMetadata, old_id: str, new_id: str) -> ModelMetadata:
        old_dir = self.model_dir(old_id)
        new_dir = self.layout.models_dir / new_id
        if new_dir.exists():
            raise PumasError(f"cannot rename {old_id} to {new_id}: that model already exists")
        new_dir.parent.mkdir(parents=True, exist_ok=True)
        meta.model_id = new_id
        # metadata.json first: a crash before the rename leaves a folder whose
        # path wins over the recorded id at the next scan.
        save_metadata(old_dir, meta)
        with journal.begin(self.layout.models_dir, journal.Intent(op="move", model_id=new_id, old_id=old_id)):
            os.rename(old_dir, new_dir)
            kill_point("move:after-rename")
            fsync_dir(new_dir.parent)
            with unsealed(new_dir, meta):
                tag_model_files(new_dir, meta)
            self._prune_empty_parents(old_dir.parent)
            overrides, error = load_overrides(new_dir)
            with self.index.transaction():
                self.index.remove(old_id)
                self.index.upsert(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
        return meta

    def remove(self, model_id: str) -> None:
        """Delete a model for good (no trash): into the trash, then the bytes."""
        item = self.to_trash(model_id)
        trash.delete_item(self.layout.models_dir, item.id)

    def to_trash(self, model_id: str, before: Callable[[], object] | None = None) -> trash.TrashItem:
        """Move a model into the trash: resumable from any step.

        ``before`` runs once the intent is durable and before the folder moves
        (the use case removes the model's links there).  A process killed
        anywhere in here leaves an intent that the next open of the library
        completes: folder into the trash, row out of the index (whose change
        log then makes the next sync drop any link left).
        """
        d = self.model_dir(model_id)
        if not (d / METADATA_FILE).is_file():
            raise NotFound(f"no model {model_id!r}")
        index = self.index
        models = self.layout.models_dir
        try:
            meta = load_metadata(d)
            size, name = meta.size_bytes, meta.official_name
        except PumasError:
            size, name = 0, ""
        item = trash.TrashItem(
            id=trash.new_item_id(), model_id=model_id, removed_at=_utcnow(), size_bytes=size, official_name=name
        )
        try:
            trash.write_item(models, item)
            held = journal.begin(models, journal.Intent(op="remove", model_id=model_id, trash_id=item.id))
        except OSError:
            trash.drop_unfilled(models, item.id)  # a full disk: nothing moved, nothing left behind
            raise
        try:
            kill_point("rm:after-intent")
            if before is not None:
                before()
            kill_point("rm:after-unlink")
            self._finish_removal(index, model_id, item.id)
        except BaseException:
            if (trash.item_dir(models, item.id) / trash.MODEL_DIR).exists():
                held.release()  # the folder is in the trash: the next open drops the index row
            else:
                trash.drop_unfilled(models, item.id)  # nothing moved: the removal did not happen
                held.done()
            raise
        held.done()
        return item

    def _finish_removal(self, index: Index, model_id: str, trash_id: str) -> None:
        models = self.layout.models_dir
        d = models / model_id
        dest = trash.item_dir(models, trash_id) / trash.MODEL_DIR
        if (d / METADATA_FILE).is_file() and not dest.exists():
            os.rename(d, dest)
            fsync_dir(dest.parent)
            kill_point("rm:after-trash")
            self._prune_empty_parents(d.parent)
        elif not dest.exists():
            trash.drop_unfilled(models, trash_id)  # the model is gone some other way: nothing to keep
        with index.transaction():
            if index.get(model_id) is not None:
                index.remove(model_id)
        kill_point("rm:after-index")

    def restore(self, item_id: str) -> ModelMetadata:
        """Put a trashed model back where it was; the next sync brings its links back."""
        models = self.layout.models_dir
        item = trash.get_item(models, item_id)
        index = self.index
        src = trash.item_dir(models, item_id) / trash.MODEL_DIR
        final = models / item.model_id
        if final.exists():
            raise PumasError(
                f"cannot restore {item_id}: a model {item.model_id} exists again; rename it first (`pumas edit`)"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        with journal.begin(models, journal.Intent(op="commit", model_id=item.model_id)):
            os.rename(src, final)
            fsync_dir(final.parent)
            kill_point("restore:after-rename")
            self._index_folder(index, item.model_id)
        trash.drop_unfilled(models, item_id)
        return self.get(item.model_id)

    def _prune_empty_parents(self, d: Path) -> None:
        models = self.layout.models_dir
        while d != models and models in d.parents:
            try:
                d.rmdir()
            except OSError:
                return
            d = d.parent

    # -- deep scan -----------------------------------------------------------

    def model_folders(self, limit: int | None = None) -> Iterable[Path]:
        """Model folders under models_dir: every folder holding metadata.json.

        Hidden folders (staging, trash) are skipped, and a model folder is not
        descended into: a Diffusers model's subfolders are part of it.
        """
        for d, _ in self.walk_model_folders(limit):
            yield Path(d)

    def walk_model_folders(self, limit: int | None = None) -> Iterator[tuple[str, set[str]]]:
        """(folder path, the names in it) for every model folder, as plain strings.

        Plain strings and the listing's own names keep a deep scan of 100,000 folders from
        paying for path objects, for opening an overrides.json that is not there, and (doctor)
        for listing each folder a second time.
        """
        root = str(self.layout.models_dir)
        found = 0
        stack = [root]
        while stack:
            d = stack.pop()
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            names = {e.name for e in entries}
            if d != root and METADATA_FILE in names:
                yield d, names
                found += 1
                if limit is not None and found >= limit:
                    return
                continue
            stack.extend(
                e.path for e in reversed(entries) if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            )

    def stamped_model_folders(self) -> Iterator[tuple[str, bool, str | None]]:
        """(folder, whether overrides.json is there, :func:`folder_stamp`) of every model folder,
        in :meth:`walk_model_folders`' order, without listing the model folders.

        A deep scan needs of a model folder only its two files' ``stat``, which the stamp takes
        anyway: a ``stat`` of ``metadata.json`` in each subfolder tells a model folder (found:
        not descended into) from one to list (not there).  Listing each of 10,000 model folders
        (open, read, close, a DirEntry per file) was a third of a deep scan's walk.
        """
        root = str(self.layout.models_dir)

        def visit(d: str) -> Iterator[tuple[str, bool, str | None]]:
            try:
                entries = sorted(os.scandir(d), key=_entry_name)
            except OSError:
                return
            if d != root and any(e.name == METADATA_FILE for e in entries):
                # A folder whose metadata.json a stat could not see (a dangling link, no search
                # permission): a model folder all the same, whose reading will say what is wrong.
                has_overrides = any(e.name == OVERRIDES_FILE for e in entries)
                yield d, has_overrides, folder_stamp(d, has_overrides)
                return
            for e in entries:
                if e.name.startswith(".") or not e.is_dir(follow_symlinks=False):
                    continue
                path = e.path
                try:
                    st = os.stat(path + _SEP_METADATA)
                except OSError:
                    yield from visit(path)
                    continue
                try:
                    os.lstat(path + _SEP_OVERRIDES)
                except FileNotFoundError:
                    yield path, False, f"{__version__}/{_stat_part(st)}"
                    continue
                except OSError:
                    pass
                yield path, True, folder_stamp(path, True)  # the uncommon case: stat both again

        yield from visit(root)

    def scan(self, progress: Callable[[int], None] | None = None) -> ScanReport:
        with gc_paused():  # 100,000 records read and compared: no cycles among them
            return self._scan(progress)

    def _scan(self, progress: Callable[[int], None] | None) -> ScanReport:
        """Rebuild the index from metadata.json files alone, logging what changed.

        A folder whose metadata.json (and overrides.json) is as the last scan or doctor found it
        valid and equal to its row (:func:`folder_stamp`, the index's ``checked`` cache) is not
        read again: a re-scan of an unchanged library costs a ``stat`` per model, not a parse.
        """
        report = ScanReport()
        index = self._index or Index(self.layout.index_db)
        self._index = index
        before_scan = index.stored_rows()
        known = index.checked()
        records: dict[str, ModelRecord] = {}
        kept: dict[str, str] = {}  # model_id -> the row sum it was found equal to
        stamps: dict[str, str] = {}
        prefix = len(str(self.layout.models_dir)) + 1
        # The stamp is taken before reading: a write meanwhile makes it miss.
        for d, has_overrides, stamp in self.stamped_model_folders():
            model_id = d[prefix:].replace(os.sep, "/")
            seen, row = known.get(model_id), before_scan.get(model_id)
            if stamp is not None and seen is not None and row is not None and seen[0] == stamp \
                    and seen[1] == row_sum(row):
                kept[model_id] = seen[1]
                report.loaded += 1
                if progress:
                    progress(1)
                continue
            try:
                meta = load_metadata(d)
            except PumasError as e:
                report.errors.append(e.message)
                continue
            named_right = meta.model_id == model_id  # else doctor has an id-mismatch to say: no cache
            if not named_right:  # (an assignment is validated: 5 us a model when always done)
                meta.model_id = model_id  # the folder's place wins over a stale recorded id
            overrides, error = load_overrides(d) if has_overrides else (None, None)
            records[model_id] = ModelRecord(meta=meta, overrides=overrides, overrides_error=error)
            if stamp is not None and named_right:
                stamps[model_id] = stamp
            report.loaded += 1
            if progress:
                progress(1)
        with index.transaction(bulk=True):
            old = index.stored_rows()
            for mid, was in kept.items():  # changed by another process since: read it after all
                now = old.get(mid)
                if now is None or row_sum(now) != was:
                    try:
                        records[mid] = self.record(mid)
                    except PumasError as e:
                        report.errors.append(e.message)
            for mid in old.keys() - records.keys() - kept.keys():
                index.remove(mid)
                report.removed.append(mid)
            writes = []
            checked = []
            for mid, rec in records.items():
                row = record_row(rec)
                if mid in stamps:
                    checked.append((mid, stamps[mid], row_sum(row)))
                before = old.get(mid)
                if before is None:
                    report.added.append(mid)
                elif before != row:
                    report.changed.append(mid)
                else:
                    continue
                writes.append((rec, row))
            if old:
                index.upsert_many(writes)
            elif writes:
                index.fill(writes)  # a rebuild: in bulk, under a new epoch
            index.remember_checked(checked)
            if report.removed:
                index.forget_unlisted_checks()
            index.mark_filled()
            kill_point("scan:before-commit")
        return report


def folder_stamp(model_dir: str, has_overrides: bool) -> str | None:
    """metadata.json (and overrides.json) as ``stat`` sees them, and the pumas that read them.

    An atomic write (tmp + rename) gives a new inode and ctime, so any rewrite changes the
    stamp; the version makes a new pumas (another schema, other defaults) read everything once.
    None when a file cannot be stat'ed (it is then read, and not cached).
    """
    parts = [__version__]
    try:
        for name in (METADATA_FILE, OVERRIDES_FILE) if has_overrides else (METADATA_FILE,):
            parts.append(_stat_part(os.stat(os.path.join(model_dir, name))))
    except OSError:
        return None
    return "/".join(parts)


def _stat_part(st: os.stat_result) -> str:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _entry_name(e: os.DirEntry[str]) -> str:
    return e.name


_SEP_METADATA = os.sep + METADATA_FILE
_SEP_OVERRIDES = os.sep + OVERRIDES_FILE


def _utcnow() -> str:
    from pumasfs.store.metadata import utcnow

    return utcnow()
