"""Importing models: identify, copy (or move) with one read, dedupe, commit.

Each model is built in a private staging folder under ``.downloads/`` (the
library's filesystem) and appears in the library by one rename, with its
``metadata.json`` already inside: a process killed at any moment leaves no
model half there, only a staging folder that the next import (or ``pumas
doctor``) sweeps.

The user's files are never put at risk:

* copy mode opens the sources read-only and never writes to them;
* ``--move`` on one filesystem *links* the source into the staging folder
  (after hashing it) and unlinks the source name only after the commit; a
  crash in between leaves the source where it was;
* ``--move`` across filesystems copies, re-reads the copy from the device to
  check its SHA256, commits, and only then deletes the source, and only if it
  is still the very file that was read.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

import blake3

from pumasfs.base import hashing, locks
from pumasfs.base.atomic import TMP_SUFFIX
from pumasfs.base.errors import PumasError, os_error_text
from pumasfs.base.ioqueue import executor_for
from pumasfs.base.paths import Layout
from pumasfs.importing.grouping import ImportUnit, UnitError, UnitFile, group_paths
from pumasfs.store import staging
from pumasfs.store.library import Library, model_id_for
from pumasfs.store.metadata import METADATA_FILE, OVERRIDES_FILE, FileEntry, Hashes, ModelMetadata
from pumasfs.store.naming import MAX_NAME_BYTES, disambiguate, safe_filename, slugify, text_of, truncate_utf8

if TYPE_CHECKING:
    from pumasfs.identify import Identification

STATUSES = ("imported", "duplicate", "failed", "dry-run")
COMMIT_LOCK = "import-commit.lock"  # in layout.run_dir, beside the other runtime locks
RESERVED_TOP_NAMES = frozenset({METADATA_FILE, OVERRIDES_FILE})
FOLDER_FORMATS = {
    "diffusers": "diffusers-folder",
    "transformers": "transformers-folder",
    "peft": "peft-folder",
    "sharded": "sharded-set",
}


class ProgressSink(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def update(self, **kw: Any) -> None: ...


@dataclass
class ImportOptions:
    move: bool = False
    name: str | None = None
    model_type: str | None = None
    family: str | None = None
    subtype: str | None = None
    allow_duplicate: bool = False
    allow_unsafe: bool = False
    dry_run: bool = False


@dataclass
class ImportResult:
    source: str
    status: str  # imported | duplicate | failed | dry-run
    model_id: str | None = None
    message: str = ""
    identification: Identification | None = None
    meta: ModelMetadata | None = None  # the record written (or that would be, for a dry run)
    refused: bool = False  # a dry run found a reason this import would be refused (``message``)
    missing: bool = False  # the source path does not exist

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_json(self) -> dict[str, Any]:
        meta = self.meta
        return {
            "source": self.source,
            "status": self.status,
            "refused": self.refused,
            "model_id": self.model_id,
            "message": self.message,
            "model_type": meta.model_type if meta else None,
            "subtype": meta.subtype if meta else None,
            "family": meta.family if meta else None,
            "size_bytes": meta.size_bytes if meta else None,
            "layout": meta.layout if meta else None,
            "files": [f.name for f in meta.files] if meta else [],
            "identification": identification_json(self.identification),
        }


def identification_json(ident: Identification | None) -> dict[str, Any] | None:
    return None if ident is None else ident.model_dump(mode="json")


# -- identification --------------------------------------------------------------


def _identify(path: Path, name_hint: str) -> Identification:
    # Header reads only; imported late to keep `pumas --help` quick.
    from pumasfs.identify import identify_path

    return identify_path(path, name_hint=name_hint)


def _identify_unit(unit: ImportUnit) -> Identification:
    # A shard stands for its whole set: the identifier reads every member's header.
    return _identify(unit.identify_target, unit.name_hint)


def _refusal(unit: ImportUnit, ident: Identification, options: ImportOptions) -> str | None:
    unsafe = ident.unsafe_globals
    if unsafe and not options.allow_unsafe:
        shown = ", ".join(unsafe[:5]) + (f" and {len(unsafe) - 5} more" if len(unsafe) > 5 else "")
        return (
            f"refused: this pickle would run code on load (it references {shown}); "
            "import it with --allow-unsafe only if you trust its origin"
        )
    return None


# -- metadata ------------------------------------------------------------------------


def _clean_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def draft_metadata(unit: ImportUnit, ident: Identification, options: ImportOptions) -> ModelMetadata:
    """Everything but the hashes: identification first, CLI options over it."""
    official = text_of((options.name or "").strip() or unit.name_hint)
    cleaned = slugify(official)
    model_type = _clean_key(options.model_type) or ident.model_type or "unknown"
    family = _clean_key(options.family) or ident.family or "unknown"
    subtype = _clean_key(options.subtype) or ident.subtype
    user_edited = []
    if options.name:
        user_edited += ["official_name", "cleaned_name"]
    for key, value in (("model_type", options.model_type), ("family", options.family), ("subtype", options.subtype)):
        if value:
            user_edited.append(key)
    identification: dict[str, Any] = {
        "confidence": ident.confidence,
        "evidence": list(ident.evidence),
        "warnings": list(ident.warnings),
    }
    if ident.unsafe_globals:
        identification["unsafe_globals"] = list(ident.unsafe_globals)
    # The base size class, and the releases sharing the layout (identify/model.py).
    if ident.size:
        identification["size"] = ident.size
    if ident.releases:
        identification["releases"] = list(ident.releases)
    size = unit.size
    return ModelMetadata(
        model_id=model_id_for(model_type, family, cleaned),
        family=family,
        model_type=model_type,
        subtype=subtype,
        official_name=official,
        cleaned_name=cleaned,
        variant=ident.variant,
        precision=ident.precision,
        original_name=text_of(unit.source.name),
        format=ident.format or FOLDER_FORMATS.get(unit.kind),
        layout=unit.layout,
        param_count=ident.param_count,
        unsafe_format=ident.unsafe_format,
        identification=identification,
        pending_online_lookup=True,
        user_edited=user_edited,
        size_bytes=size,
        approx_weight_size_gb=size / 1024**3,
    )


# -- names inside the model folder -------------------------------------------------


def destination_names(unit: ImportUnit) -> dict[str, str]:
    """rel at the source -> NTFS-safe rel in the model folder, distinct even case-insensitively.

    A single file's companions keep the weights file's (cleaned) stem, so
    apps still find ``x.preview.png`` beside ``x.safetensors``.
    """
    if unit.kind == "file":
        names = _file_unit_names(unit)
    else:
        names = {f.rel: "/".join(safe_filename(part) for part in PurePosixPath(f.rel).parts) for f in unit.files}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for f in unit.files:
        name = names[f.rel]
        top = "/" not in name
        while name.casefold() in taken or (top and name.casefold() in RESERVED_TOP_NAMES):
            parent, _, base = name.rpartition("/")
            base = disambiguate(base, f.rel + "|" + name)
            name = f"{parent}/{base}" if parent else base
        taken.add(name.casefold())
        out[f.rel] = name
    return out


def _file_unit_names(unit: ImportUnit) -> dict[str, str]:
    weights = next(f for f in unit.files if f.rel == unit.primary)
    orig_stem, _ = _split_weights(weights.rel)
    suffixes = {f.rel: f.rel[len(orig_stem):] for f in unit.files if f is not weights}
    safe = safe_filename(weights.rel)
    stem, safe_ext = _split_weights(safe)
    if not safe_ext:
        stem, safe_ext = safe, ""
    longest = max([len(safe_ext.encode())] + [len(_safe_suffix(s).encode()) for s in suffixes.values()])
    if len(stem.encode()) + longest > MAX_NAME_BYTES:
        stem = truncate_utf8(stem, MAX_NAME_BYTES - longest).rstrip(". ") or "model"
    out = {weights.rel: stem + safe_ext}
    for rel, suffix in suffixes.items():
        out[rel] = stem + _safe_suffix(suffix)
    return out


def _split_weights(name: str) -> tuple[str, str]:
    from pumasfs.importing.grouping import WEIGHT_EXTS

    low = name.lower()
    for ext in WEIGHT_EXTS:
        if low.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], name[-len(ext):]
    return name, ""


def _safe_suffix(suffix: str) -> str:
    # Companion suffixes come from a fixed list of plain extensions; this only keeps case as is.
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in suffix)


def _preview_of(unit: ImportUnit, names: dict[str, str]) -> str | None:
    previews = [f for f in unit.files if f.role == "preview"]
    previews.sort(key=lambda f: (".preview." not in f.rel.lower(), f.rel))
    return names[previews[0].rel] if previews else None


# -- the import of one unit ------------------------------------------------------------


@dataclass
class _Placed:
    """One file now in the staging folder, and how to let go of its source afterwards."""

    unit_file: UnitFile
    dest: Path
    digest: hashing.Digest
    stamp: hashing.SourceStamp
    linked: bool  # same inode as the source (move on one filesystem)


class _Importer:
    def __init__(self, library: Library, options: ImportOptions, progress: ProgressSink | None) -> None:
        self.library = library
        self.layout = library.layout
        self.options = options
        self.progress = progress
        self._lock = threading.Lock()
        self._progress_lock = threading.Lock()

    def advance(self, n: int) -> None:
        if self.progress is not None:
            with self._progress_lock:
                self.progress.advance(n)

    def working_on(self, source: Path) -> None:
        """Name the file being read on the progress display."""
        if self.progress is not None:
            with self._progress_lock:
                self.progress.update(description=source.name)

    # -- per unit --

    def run(self, unit: ImportUnit) -> ImportResult:
        ident: Identification | None = None
        try:
            ident = _identify_unit(unit)
            refusal = _refusal(unit, ident, self.options)
            meta = draft_metadata(unit, ident, self.options)
            likely = None if self.options.allow_duplicate else self._likely_duplicate(unit)
            if self.options.dry_run:
                _describe_files(unit, meta)
                msg = refusal or f"would import {len(unit.files)} file(s) as {meta.model_id}"
                if likely and not refusal:
                    msg += f" (probably already in the library as {likely[0]}: same size, first and last MiB)"
                return ImportResult(str(unit.source), "dry-run", meta.model_id, msg, ident, meta,
                                    refused=refusal is not None)
            if refusal:
                return ImportResult(str(unit.source), "failed", None, refusal, ident, meta)
            if self.options.move:
                self._check_movable(unit)
            if likely:
                dup = self._confirmed_duplicate(unit)
                if dup is not None:
                    return _duplicate_result(unit, dup, ident, meta)
            return self._stage_and_commit(unit, ident, meta)
        except PumasError as e:
            return ImportResult(str(unit.source), "failed", None, _without_prefix(e.message, unit), ident)
        except sqlite3.Error as e:
            return ImportResult(str(unit.source), "failed", None, f"library index error: {e} (run `pumas scan`)", ident)
        except OSError as e:
            return ImportResult(str(unit.source), "failed", None, _os_message(e), ident)

    def _check_movable(self, unit: ImportUnit) -> None:
        for f in unit.files:
            if f.source.is_symlink():
                raise PumasError(
                    f"{f.source}: is a symbolic link; --move would leave its target behind (import without --move)"
                )

    def _stage_and_commit(self, unit: ImportUnit, ident: Any, meta: ModelMetadata) -> ImportResult:
        names = destination_names(unit)
        with staging.StagingDir(self.layout) as stage:
            content = stage.content
            placed = [self._place(f, content, names[f.rel], i) for i, f in enumerate(unit.files)]
            _fsync_tree(content)
            meta.files = [
                FileEntry(
                    name=names[p.unit_file.rel], original_name=text_of(p.unit_file.rel), size=p.digest.size,
                    sha256=p.digest.sha256, blake3=p.digest.blake3, role=p.unit_file.role,
                )
                for p in placed
            ]
            primary = next(p for p in placed if p.unit_file.rel == unit.primary)
            meta.primary_file = names[unit.primary]
            meta.hashes = Hashes(sha256=primary.digest.sha256, blake3=primary.digest.blake3)
            meta.size_bytes = sum(p.digest.size for p in placed)
            meta.approx_weight_size_gb = meta.size_bytes / 1024**3
            meta.preview_image = _preview_of(unit, names)
            with self._commit_lock():
                sha = meta.hashes.sha256 or ""
                for name in (meta.cleaned_name, f"{meta.cleaned_name}-{sha[:8]}"):
                    self.library.index_if_unlisted(model_id_for(meta.model_type, meta.family, name))
                dup = self._duplicate_of([p.digest.sha256 for p in placed if p.unit_file.role == "weights"])
                if dup is not None and not self.options.allow_duplicate:
                    return _duplicate_result(unit, dup, ident, meta)
                meta = self.library.commit_staged(stage, meta)
        message = f"imported as {meta.model_id}"
        if self.options.move:
            left = self._release_sources(unit, placed, self.library.model_dir(meta.model_id), names)
            if left:
                message += f"; kept {len(left)} source file(s): {', '.join(left[:3])}"
        return ImportResult(str(unit.source), "imported", meta.model_id, message, ident, meta)

    def _place(self, f: UnitFile, content: Path, name: str, i: int) -> _Placed:
        dest = content / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.working_on(Path(f.source))
        if self.options.move and _same_filesystem(f.source, content):
            digest, stamp = hashing.hash_file(f.source, progress=self.advance)
            try:
                os.link(f.source, dest, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.EACCES):
                    raise PumasError(f"{f.source}: cannot move into the library: {_os_message(e)}") from None
                # No hardlinks here (exFAT, some FUSE): a verified copy instead.
                return self._copy(f, dest, i, verify=True, expect=stamp)
            if hashing.SourceStamp.of(os.stat(dest)) != stamp:
                raise PumasError(f"{f.source}: changed while it was being imported; import it again")
            return _Placed(f, dest, digest, stamp, linked=True)
        return self._copy(f, dest, i, verify=self.options.move)

    def _copy(
        self, f: UnitFile, dest: Path, i: int, *, verify: bool, expect: hashing.SourceStamp | None = None
    ) -> _Placed:
        tmp = dest.parent / f".{i}{TMP_SUFFIX}"  # short: the final name may already be 255 bytes
        digest, stamp = hashing.copy_and_hash(f.source, tmp, progress=self.advance, expect=expect)
        os.rename(tmp, dest)
        if verify:
            hashing.verify_on_disk(dest, digest.sha256)
        return _Placed(f, dest, digest, stamp, linked=False)

    @contextmanager
    def _commit_lock(self) -> Iterator[None]:
        """One duplicate check + commit at a time, across threads and processes."""
        with self._lock, locks.exclusive(self.layout.run_dir / COMMIT_LOCK):
            yield

    def _duplicate_of(self, sha256s: list[str]) -> tuple[str, str] | None:
        """(model id, file) already holding these bytes, when every weights file is already there."""
        first: tuple[str, str] | None = None
        for sha in sha256s:
            hits = self.library.index.find_sha256(sha)
            if not hits:
                return None
            first = first or hits[0]
        return first

    def _likely_duplicate(self, unit: ImportUnit) -> tuple[str, str] | None:
        """A cheap look before copying: a library file of the same size and the same first and last MiB.

        Re-importing a folder of models already in the library then costs one
        read (to confirm by SHA256) instead of a full copy that is thrown away.
        """
        first: tuple[str, str] | None = None
        for f in unit.files:
            if f.role != "weights":
                continue
            size = f.source.stat().st_size
            with self._lock:
                rows = [(mid, name) for mid, name, _ in self.library.index.models_with_size(size)[:16]]
            if not rows:
                return None
            mine = _sample_digest(f.source, size)
            match = next((r for r in rows if _sample_digest(self._library_file(*r), size) == mine), None)
            if match is None:
                return None
            first = first or match
        return first

    def _library_file(self, model_id: str, name: str) -> Path | None:
        try:
            return self.library.model_dir(model_id) / name
        except PumasError:
            return None

    def _confirmed_duplicate(self, unit: ImportUnit) -> tuple[str, str] | None:
        shas = [hashing.hash_file(f.source, progress=self.advance, blake=False)[0].sha256
                for f in unit.files if f.role == "weights"]
        with self._lock:
            return self._duplicate_of(shas)

    def _release_sources(
        self, unit: ImportUnit, placed: list[_Placed], final_dir: Path, names: dict[str, str]
    ) -> list[str]:
        """After a committed --move: delete each source that is still exactly what was imported."""
        kept = []
        for p in placed:
            src = p.unit_file.source
            try:
                st = os.stat(src, follow_symlinks=False)
            except FileNotFoundError:
                continue
            now = hashing.SourceStamp.of(st)
            if p.linked:
                try:
                    same = os.stat(final_dir / names[p.unit_file.rel]).st_ino == st.st_ino
                except OSError:
                    same = False
            else:
                same = now == p.stamp
            if not same:
                kept.append(f"{src} (changed meanwhile)")
                continue
            try:
                os.unlink(src)
            except OSError as e:  # imported all the same: say what stayed behind
                kept.append(f"{src} ({e.strerror})")
        if unit.kind != "file":
            _remove_empty_dirs(unit.source)
        return kept

    # -- all units --

    def run_all(self, units: list[ImportUnit]) -> list[ImportResult]:
        if len(units) <= 1:
            return [self.run(u) for u in units]
        paths = [u.source for u in units] + [self.layout.models_dir]
        with executor_for(paths, len(units)) as pool:
            return list(pool.map(self.run, units))


SAMPLE_BYTES = 1024 * 1024


def _sample_digest(path: Path | None, size: int) -> str | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
            f.seek(max(0, size - SAMPLE_BYTES))
            tail = f.read(SAMPLE_BYTES)
    except OSError:
        return None
    return blake3.blake3(head + tail + size.to_bytes(8, "little")).hexdigest()


def _duplicate_result(unit: ImportUnit, dup: tuple[str, str], ident: Any, meta: ModelMetadata) -> ImportResult:
    model_id, fname = dup
    return ImportResult(
        str(unit.source), "duplicate", model_id,
        f"already in the library as {model_id} ({fname}); not imported (--allow-duplicate imports a second copy)",
        ident, meta,
    )


def _describe_files(unit: ImportUnit, meta: ModelMetadata) -> None:
    """A dry run's files: where each would go, without reading them."""
    names = destination_names(unit)
    meta.files = [
        FileEntry(name=names[f.rel], original_name=text_of(f.rel), size=f.source.stat().st_size, role=f.role)
        for f in unit.files
    ]
    meta.primary_file = names[unit.primary]
    meta.preview_image = _preview_of(unit, names)


def _without_prefix(message: str, unit: ImportUnit) -> str:
    """Results already name their source; drop a repeat of it at the start of an error."""
    for p in (unit.source, unit.identify_target):
        if message.startswith(f"{p}: "):
            return message[len(str(p)) + 2 :]
    return message


def _same_filesystem(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _fsync_tree(root: Path) -> None:
    from pumasfs.base.atomic import fsync_dir

    for d, _dirs, _files in os.walk(root):
        fsync_dir(Path(d))


def _remove_empty_dirs(root: Path) -> None:
    """rmdir what a folder move emptied, bottom up; anything not empty stays."""
    for d, _dirs, _files in os.walk(root, topdown=False):
        try:
            os.rmdir(d)
        except OSError:
            pass


def _os_message(e: OSError) -> str:
    return (f"{e.filename}: " if e.filename else "") + os_error_text(e)


# -- entry point ---------------------------------------------------------------------


def import_paths(
    library: Library,
    paths: list[Path] | list[str],
    options: ImportOptions,
    progress: ProgressSink | None = None,
    notify: Callable[[str], None] | None = None,
) -> list[ImportResult]:
    """Import every model found in ``paths``; one result per model (or per path that is not one).

    ``progress`` (optional) gets ``update(total=bytes)`` once and then
    ``advance(bytes)`` as files are read; ``notify`` gets one-line notes (a
    folder split into several models).
    """
    layout = library.layout
    if not options.dry_run:
        layout.staging_dir.mkdir(parents=True, exist_ok=True)
        staging.sweep(layout)  # what killed imports left behind
    inside, outside = _split_library_paths(layout, [Path(p) for p in paths])
    grouping = group_paths(outside)
    if options.name and len(grouping.units) > 1:
        raise PumasError(f"--name names one model, but these paths hold {len(grouping.units)}; import them one by one")
    if notify is not None:
        for note in grouping.notes:
            notify(note)
    if progress is not None:
        progress.update(total=sum(u.size for u in grouping.units))
    results = _Importer(library, options, progress).run_all(grouping.units)
    results += [ImportResult(str(e.source), "failed", None, e.message, missing=e.missing)
                for e in _unique_errors(grouping.errors)]
    results += [
        ImportResult(str(p), "failed", None, "is already inside the library (use `pumas edit` to rename or refile it)")
        for p in inside
    ]
    return results


def _split_library_paths(layout: Layout, paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Sources inside the library's model folders are refused: importing them (worse,
    with --move) would take files away from the model that owns them.  The hub's
    verified downloads under ``.downloads/`` are the one legitimate source in there.
    """
    models = os.path.realpath(layout.models_dir)
    staging_dir = os.path.realpath(layout.staging_dir)
    inside: list[Path] = []
    outside: list[Path] = []
    for p in paths:
        real = os.path.realpath(p)
        in_library = real == models or real.startswith(models + os.sep)
        in_staging = real.startswith(staging_dir + os.sep)
        (inside if in_library and not in_staging else outside).append(p)
    return inside, outside


def _unique_errors(errors: list[UnitError]) -> list[UnitError]:
    seen: set[tuple[str, str]] = set()
    out: list[UnitError] = []
    for e in errors:
        key = (str(e.source), e.message)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
