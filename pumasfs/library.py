"""The library: model folders with metadata.json (the truth) and the index over them.

Every write goes to metadata.json first, atomically, then to the index and
its change log in one transaction.  If a process dies between the two, the
folder is right and the index is stale; ``scan`` (or ``pumas doctor --fix``)
brings the index back in line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import staging
from .atomic import fsync_dir
from .errors import NotFound, PumasError
from .index import Index, record_row
from .metadata import (
    METADATA_FILE,
    OVERRIDES_FILE,
    ModelMetadata,
    load_metadata,
    load_overrides,
    save_metadata,
)
from .naming import short_hash, slugify
from .paths import Layout
from .plan import ModelRecord
from .xattrs import tag_model_files

IDENTITY_FIELDS = ("model_type", "family", "cleaned_name")


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

    @classmethod
    def open(cls, root: Path) -> Library:
        return cls(Layout(Path(root)))

    @property
    def index(self) -> Index:
        if self._index is None:
            self.layout.models_dir.mkdir(parents=True, exist_ok=True)
            self._index = Index(self.layout.index_db)
            if self._index.reset and self._has_any_model_folder():
                # models.db is a cache: rebuild it silently when someone deleted it.
                self.scan()
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def _has_any_model_folder(self) -> bool:
        return any(True for _ in self.model_folders(limit=1))

    # -- reading -------------------------------------------------------------

    def model_dir(self, model_id: str) -> Path:
        path = (self.layout.models_dir / model_id).resolve()
        models = self.layout.models_dir.resolve()
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
            try:
                os.rename(content, final)
            except OSError as e:
                if final.exists():
                    continue  # lost a race with a concurrent import; try the next name
                raise PumasError(f"cannot move staged model into {final}: {e.strerror}") from None
            stage.committed = True
            fsync_dir(final.parent)
            overrides, error = load_overrides(final)
            self._index_record(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
            return meta
        raise PumasError(f"no free folder name for {base!r}")

    def save(self, meta: ModelMetadata) -> None:
        d = self.model_dir(meta.model_id)
        save_metadata(d, meta)
        overrides, error = load_overrides(d)
        self._index_record(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))

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
        os.rename(old_dir, new_dir)
        fsync_dir(new_dir.parent)
        tag_model_files(new_dir, meta)
        self._prune_empty_parents(old_dir.parent)
        overrides, error = load_overrides(new_dir)
        with self.index.transaction():
            self.index.remove(old_id)
            self.index.upsert(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
        return meta

    def remove(self, model_id: str) -> None:
        """Delete a model folder: one rename into trash, then the index, then the bytes."""
        d = self.model_dir(model_id)
        if not d.is_dir():
            raise NotFound(f"no model {model_id!r}")
        with staging.StagingDir(self.layout, prefix="trash-") as trash:
            os.rename(d, trash.path / "model")
            with self.index.transaction():
                self.index.remove(model_id)
            # StagingDir removes the trash folder on exit (it is never committed).
        self._prune_empty_parents(d.parent)

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
        for d, _ in self._walk_model_folders(limit):
            yield Path(d)

    def _walk_model_folders(self, limit: int | None = None) -> Iterator[tuple[str, bool]]:
        """(folder path, has overrides.json) for every model folder, as plain strings.

        Plain strings and the listing's own names keep a deep scan of 100,000 folders from
        paying for path objects and for opening an overrides.json that is not there.
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
                yield d, OVERRIDES_FILE in names
                found += 1
                if limit is not None and found >= limit:
                    return
                continue
            stack.extend(
                e.path for e in reversed(entries) if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            )

    def scan(self, progress: Callable[[int], None] | None = None) -> ScanReport:
        """Rebuild the index from metadata.json files alone, logging what changed."""
        report = ScanReport()
        records: dict[str, ModelRecord] = {}
        prefix = len(str(self.layout.models_dir)) + 1
        for d, has_overrides in self._walk_model_folders():
            model_id = d[prefix:].replace(os.sep, "/")
            try:
                meta = load_metadata(d)
            except PumasError as e:
                report.errors.append(e.message)
                continue
            meta.model_id = model_id  # the folder's place wins over a stale recorded id
            overrides, error = load_overrides(d) if has_overrides else (None, None)
            records[model_id] = ModelRecord(meta=meta, overrides=overrides, overrides_error=error)
            report.loaded += 1
            if progress:
                progress(1)
        index = self._index or Index(self.layout.index_db)
        self._index = index
        with index.transaction() as conn:
            old = {
                r[0]: tuple(r[1:])
                for r in conn.execute("SELECT model_id, metadata, overrides, overrides_error FROM models")
            }
            for mid in old.keys() - records.keys():
                index.remove(mid)
                report.removed.append(mid)
            writes = []
            for mid, rec in records.items():
                row = record_row(rec)
                before = old.get(mid)
                if before is None:
                    report.added.append(mid)
                elif before != row:
                    report.changed.append(mid)
                else:
                    continue
                writes.append((rec, row))
            index.upsert_many(writes)
        return report
