"""Library health: what `pumas doctor` checks and safely repairs on the library side.

Checks compare the truth (model folders and their metadata.json) with what is
derived from it (models.db) and with leftovers of killed processes (staging).
Repairs only ever rebuild derived state or move our own folders; a user's
file is never deleted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from pumasfs.base.atomic import TMP_SUFFIX
from pumasfs.base.errors import PumasError
from pumasfs.base.gcpause import gc_paused
from pumasfs.store import staging
from pumasfs.store.index import Index, RecordRow, record_row, row_sum
from pumasfs.store.library import WRITE_BITS, Library, folder_stamp, seal_files
from pumasfs.store.metadata import (
    METADATA_FILE,
    OVERRIDES_FILE,
    load_metadata,
    load_overrides,
    save_metadata,
)
from pumasfs.store.model_record import ModelRecord


class Finding(BaseModel):
    kind: str
    path: str
    detail: str
    fixable: bool = False
    fixed: bool = False


def check_staging(lib: Library, fix: bool) -> Iterator[Finding]:
    for entry in staging.stale_entries(lib.layout):
        f = Finding(kind="stale-staging", path=str(entry), detail="left by an interrupted import or removal", fixable=True)
        if fix:
            staging.sweep(lib.layout)
            f.fixed = True
        yield f


@dataclass
class IndexRead:
    """models.db as both model checks read it, once: every stored row, the ``checked`` cache, and
    the few fields the checks need (files, layout, primary file) extracted by SQLite, not decoded
    from 100,000 JSON documents in Python.  ``stats``: what :func:`check_index` found ``lstat``-ing
    each listed regular file, by (model id, file name), so :func:`check_identity` does not ``stat``
    the same weight file again."""

    stored: dict[str, RecordRow]
    known: dict[str, tuple[str, str, str | None]]
    fields: dict[str, tuple[str | None, str | None, str | None]]  # files JSON, layout, primary file
    stats: dict[tuple[str, str], os.stat_result] = field(default_factory=dict)
    sums: dict[str, str] = field(default_factory=dict)

    def row_sum(self, model_id: str) -> str:
        found = self.sums.get(model_id)
        if found is None:
            found = self.sums[model_id] = row_sum(self.stored[model_id])
        return found


_FIELDS = ("SELECT model_id, metadata, overrides, overrides_error, json_extract(metadata, '$.files'), "
           "json_extract(metadata, '$.layout'), json_extract(metadata, '$.primary_file') FROM models")


def read_index(index: Index) -> IndexRead:
    """One read of models.db for :func:`check_index` and :func:`check_identity`."""
    stored: dict[str, RecordRow] = {}
    fields: dict[str, tuple[str | None, str | None, str | None]] = {}
    try:
        for r in index.conn.execute(_FIELDS):
            stored[r[0]] = (r[1], r[2], r[3])
            fields[r[0]] = (r[4], r[5], r[6])
    except sqlite3.Error:  # a row that is not JSON (a damaged index): Python reads each one
        stored, fields = index.stored_rows(), {}
    return IndexRead(stored, index.checked(), fields)


def _fields(read: IndexRead, model_id: str) -> tuple[str | None, str | None, str | None]:
    """(files JSON, layout, primary file) of a stored row; decoded here when SQLite could not."""
    found = read.fields.get(model_id)
    if found is None:
        try:
            raw = json.loads(read.stored[model_id][0])
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            raw = {}
        files, layout, primary = raw.get("files"), raw.get("layout"), raw.get("primary_file")
        found = read.fields[model_id] = (
            None if files is None else json.dumps(files),
            layout if isinstance(layout, str) else None,
            primary if isinstance(primary, str) else None,
        )
    return found


def check_models(lib: Library, fix: bool) -> list[Finding]:
    """:func:`check_index` then :func:`check_identity`, reading models.db once for both (doctor)."""
    with gc_paused():  # 100,000 rows held and compared: no cycles among them
        read = read_index(lib.index)
        findings = _check_index(lib, fix, read)
        if fix and any(f.fixed for f in findings):
            read = read_index(lib.index)  # rebuilt: read what the identity check must see
        findings += _check_identity(lib, fix, read)
    return findings


def check_index(lib: Library, fix: bool) -> Iterator[Finding]:
    with gc_paused():  # every folder's metadata and row compared: no cycles among them
        findings = _check_index(lib, fix, read_index(lib.index))
    yield from findings


def _check_index(lib: Library, fix: bool, read: IndexRead) -> list[Finding]:
    """Index rows vs model folders, and each metadata.json's validity.

    A folder whose metadata.json and overrides.json are as a previous check found them (valid,
    naming their folder, equal to their row: the index's ``checked`` cache, see
    :func:`pumasfs.store.library.folder_stamp`) is not parsed again; its files are still ``lstat``-ed
    against the sizes its row records.  The index rows are compared as stored text: no record
    is decoded (SQLite extracts the list of files).
    """
    models = lib.layout.models_dir
    index = lib.index
    stored = read.stored
    known = read.known
    on_disk: set[str] = set()
    stale: set[str] = set()
    confirmed: list[tuple[str, str, str]] = []
    findings: list[Finding] = []
    prefix = len(str(models)) + 1
    for dir_path, names in lib.walk_model_folders():
        model_id = dir_path[prefix:].replace(os.sep, "/")
        has_overrides = OVERRIDES_FILE in names
        stamp = folder_stamp(dir_path, has_overrides)
        row = stored.get(model_id)
        seen = known.get(model_id)
        for name in names:
            if name.startswith(".") and name.endswith(TMP_SUFFIX) and os.path.isfile(os.path.join(dir_path, name)):
                f = Finding(kind="stale-temp", path=os.path.join(dir_path, name),
                            detail="half-written by an interrupted update", fixable=True)
                if fix:
                    os.unlink(f.path)
                    f.fixed = True
                findings.append(f)
        if stamp is not None and row is not None and seen is not None and seen[0] == stamp \
                and seen[1] == read.row_sum(model_id):
            on_disk.add(model_id)  # as checked before: valid, and equal to its row
            files_json = _fields(read, model_id)[0]
            raw_files = json.loads(files_json) if files_json else []
            files = [(f["name"], int(f.get("size") or 0), f.get("role")) for f in raw_files]
            findings += _file_findings(dir_path, files, fix, read.stats, model_id)
            if row[2]:
                findings.append(Finding(kind="invalid-overrides", path=dir_path,
                                        detail=f"{row[2]}; excluded from every app"))
            continue
        d = Path(dir_path)
        try:
            meta = load_metadata(dir_path)
        except PumasError as e:
            findings.append(Finding(kind="broken-metadata", path=str(d / METADATA_FILE), detail=e.message))
            continue
        named_right = meta.model_id == model_id
        if not named_right:
            findings.append(Finding(
                kind="id-mismatch", path=str(d), fixable=True,
                detail=f"metadata.json says {meta.model_id!r}; the folder makes it {model_id!r}",
            ))
        meta.model_id = model_id
        on_disk.add(model_id)
        findings += _file_findings(dir_path, [(f.name, f.size, f.role) for f in meta.files], fix)
        overrides, error = load_overrides(dir_path) if has_overrides else (None, None)
        if error:
            findings.append(Finding(kind="invalid-overrides", path=str(d), detail=f"{error}; excluded from every app"))
        fresh = record_row(ModelRecord(meta=meta, overrides=overrides, overrides_error=error))
        if row is not None and fresh[0] != row[0]:
            stale.add(model_id)
        elif row is not None and fresh == row and named_right and stamp is not None:
            confirmed.append((model_id, stamp, read.row_sum(model_id)))
    for mid in sorted(on_disk - stored.keys()):
        findings.append(Finding(kind="not-indexed", path=str(models / mid),
                                detail="model folder missing from models.db", fixable=True))
    for mid in sorted(stored.keys() - on_disk):
        findings.append(Finding(kind="ghost-index-row", path=mid,
                                detail="models.db lists a model whose folder is gone", fixable=True))
    for mid in sorted(stale):
        findings.append(Finding(kind="stale-index-row", path=mid,
                                detail="models.db differs from metadata.json", fixable=True))
    if _remember(index, lambda: index.remember_checked(confirmed)):
        for mid, stamp, rsum in confirmed:  # as index.remember_checked left them, for check_identity
            was = known.get(mid)
            known[mid] = (stamp, rsum, was[2] if was is not None and was[1] == rsum else None)
    if fix and any(f.fixable for f in findings):
        for f in findings:
            if f.kind == "id-mismatch":
                d = Path(f.path)
                meta = load_metadata(d)
                meta.model_id = d.relative_to(models).as_posix()
                save_metadata(d, meta, touch=False)
        lib.scan()
        for f in findings:
            f.fixed = f.fixable
    return findings


def _remember(index: Index, write: Callable[[], None]) -> bool:
    """Write to the ``checked`` cache; a library we cannot write (a read-only drive) keeps none."""
    try:
        with index.transaction():
            write()
    except (PumasError, sqlite3.Error):
        return False
    return True


def _file_findings(d: str, files: list[tuple[str, int, str | None]], fix: bool,
                   stats: dict[tuple[str, str], os.stat_result] | None = None, model_id: str = "") -> list[Finding]:
    """Listed files that are gone, whose size is not what was imported (truncated through a link),
    or that are writable: one ``lstat`` per file, cheap enough for every doctor run.  Equal sizes
    with different bytes need ``--verify`` (a full re-hash).  Each regular file's ``lstat`` goes
    in ``stats`` (when given) for the identity check."""
    out: list[Finding] = []
    missing: list[str] = []
    sealed = False
    for name, size, role in files:
        path = os.path.join(d, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            missing.append(name)
            continue
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if stats is not None:
            stats[(model_id, name)] = st
        if st.st_size != size:
            out.append(Finding(
                kind="changed-file", path=path,
                detail=f"is {st.st_size:,} bytes, but {size:,} were imported: something wrote to the library's "
                "only copy (through an app's link?); re-import or re-download it",
            ))
        elif role == "weights" and st.st_mode & WRITE_BITS:
            finding = Finding(kind="writable-file", path=path, fixable=True,
                              detail="writable: a tool writing through an app's link would change the library's copy")
            if fix:
                if not sealed:
                    seal_files(Path(d))
                    sealed = True
                finding.fixed = True
            out.append(finding)
    if missing:
        out.insert(0, Finding(
            kind="missing-file", path=d, detail=f"listed in metadata.json but gone: {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "") + "; re-import the model",
        ))
    return out


def check_hashes(lib: Library, progress: Callable[[int], None] | None = None) -> Iterator[Finding]:
    """``doctor --verify``: re-read every file and compare its SHA256 with the one recorded at import."""
    from pumasfs.base.hashing import hash_file

    for rec in list(lib.index.records()):
        d = lib.layout.models_dir / rec.meta.model_id
        for f in rec.meta.files:
            if not f.sha256:
                continue
            path = d / f.name
            if not path.is_file():
                continue
            try:
                digest, _ = hash_file(path, progress=progress, blake=False)
            except PumasError as e:
                yield Finding(kind="unreadable-file", path=str(path), detail=e.message)
                continue
            if digest.sha256 != f.sha256:
                yield Finding(
                    kind="hash-mismatch", path=str(path),
                    detail=f"SHA256 {digest.sha256[:16]}... differs from the {f.sha256[:16]}... imported; "
                    "its bytes changed: re-import or re-download it",
                )


def check_identity(lib: Library, fix: bool) -> Iterator[Finding]:
    """Models whose stored type/family/subtype disagree with a fresh header identification.

    Libraries filled by older tools are full of ``unknown/`` and wrong
    families.  Fields the user set by hand are theirs and are not questioned.
    A model whose weight file, row and identification rules are as when it last agreed
    (the index's ``checked`` cache) is not read again: doctor re-reads the headers of what
    changed, not of a 100,000-model library every run.
    """
    with gc_paused():
        findings = _check_identity(lib, fix, read_index(lib.index))
    yield from findings


def _check_identity(lib: Library, fix: bool, read: IndexRead) -> list[Finding]:
    from pumasfs.identify import identify_path

    index = lib.index
    known = read.known
    rules = _rules_fingerprint()
    models = str(lib.layout.models_dir)
    agreed: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for model_id, row in sorted(read.stored.items()):
        _files, layout, primary = _fields(read, model_id)
        target = os.path.join(models, model_id)
        st = None
        if layout == "file" and isinstance(primary, str) and primary:
            target = os.path.join(target, primary)
            st = read.stats.get((model_id, primary))  # a regular file: its lstat is its stat
        stamp = _identity_stamp(target, rules, st)
        seen = known.get(model_id)
        if stamp is not None and seen is not None and seen[2] == stamp and seen[1] == read.row_sum(model_id):
            continue
        try:
            meta = json.loads(row[0])
        except ValueError:
            continue  # a damaged row: the index check reports it (stale-index-row)
        if not isinstance(meta, dict):
            continue
        try:
            ident = identify_path(Path(target))
        except PumasError:
            ident = None  # not identifiable from its header: the same bytes never will be
        wrong: dict[str, str] = {}
        if ident is not None and ident.confidence >= 0.6:
            fresh = {"model_type": ident.model_type, "family": ident.family, "subtype": ident.subtype}
            user_edited = meta.get("user_edited") or []
            wrong = {k: v for k, v in fresh.items() if v and k not in user_edited and meta.get(k) != v}
        if not wrong:
            if stamp is not None and seen is not None and seen[1] == read.row_sum(model_id):
                agreed.append((model_id, stamp))
            continue
        detail = ", ".join(f"{k} {meta.get(k)!r} -> {v!r}" for k, v in wrong.items())
        f = Finding(kind="misidentified", path=model_id, detail=detail, fixable=True)
        if fix:
            moved = lib.reidentify(model_id, wrong)
            f.detail += f" (now {moved.model_id})"
            f.fixed = True
        findings.append(f)
    _remember(index, lambda: index.remember_identity(agreed))
    return findings


def _identity_stamp(target: str, rules: str, st: os.stat_result | None = None) -> str | None:
    """A weight file as ``stat`` sees it (``st``: already known), with the rules that identified it;
    None for a folder (a Diffusers model: its many files are identified every time)."""
    if st is None:
        try:
            st = os.stat(target)
        except OSError:
            return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return f"{rules}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _rules_fingerprint() -> str:
    """The identification code's sources, hashed: new rules re-check every model once."""
    import hashlib

    from pumasfs import identify

    h = hashlib.blake2b(digest_size=8)
    folder = Path(identify.__file__).parent
    for path in sorted(folder.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()
