"""Library health: what `pumas doctor` checks and safely repairs on the library side.

Checks compare the truth (model folders and their metadata.json) with what is
derived from it (models.db) and with leftovers of killed processes (staging).
Repairs only ever rebuild derived state or move our own folders; a user's
file is never deleted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel

from . import staging
from .atomic import TMP_SUFFIX
from .errors import PumasError
from .library import WRITE_BITS, Library, seal_files
from .metadata import (
    METADATA_FILE,
    ModelMetadata,
    load_metadata,
    load_overrides,
    save_metadata,
)


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


def check_index(lib: Library, fix: bool) -> Iterator[Finding]:
    """Index rows vs model folders, and each metadata.json's validity."""
    models = lib.layout.models_dir
    on_disk: dict[str, str] = {}
    findings: list[Finding] = []
    for d in lib.model_folders():
        model_id = d.relative_to(models).as_posix()
        try:
            meta = load_metadata(d)
        except PumasError as e:
            findings.append(Finding(kind="broken-metadata", path=str(d / METADATA_FILE), detail=e.message))
            continue
        if meta.model_id != model_id:
            findings.append(Finding(
                kind="id-mismatch", path=str(d), fixable=True,
                detail=f"metadata.json says {meta.model_id!r}; the folder makes it {model_id!r}",
            ))
        meta.model_id = model_id
        on_disk[model_id] = meta.model_dump_json()
        for leftover in _temp_leftovers(d):
            f = Finding(kind="stale-temp", path=str(leftover), detail="half-written by an interrupted update",
                        fixable=True)
            if fix:
                leftover.unlink(missing_ok=True)
                f.fixed = True
            findings.append(f)
        missing = [f.name for f in meta.files if not os.path.lexists(d / f.name)]
        if missing:
            findings.append(Finding(
                kind="missing-file", path=str(d), detail=f"listed in metadata.json but gone: {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "") + "; re-import the model",
            ))
        findings += _changed_files(d, meta, fix)
        _, error = load_overrides(d)
        if error:
            findings.append(Finding(kind="invalid-overrides", path=str(d), detail=f"{error}; excluded from every app"))
    indexed = {r.meta.model_id: r.meta.model_dump_json() for r in lib.index.records()}
    for mid in sorted(on_disk.keys() - indexed.keys()):
        findings.append(Finding(kind="not-indexed", path=str(models / mid),
                                detail="model folder missing from models.db", fixable=True))
    for mid in sorted(indexed.keys() - on_disk.keys()):
        findings.append(Finding(kind="ghost-index-row", path=mid,
                                detail="models.db lists a model whose folder is gone", fixable=True))
    for mid in sorted(on_disk.keys() & indexed.keys()):
        if on_disk[mid] != indexed[mid]:
            findings.append(Finding(kind="stale-index-row", path=mid,
                                    detail="models.db differs from metadata.json", fixable=True))
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
    yield from findings


def _changed_files(d: Path, meta: ModelMetadata, fix: bool) -> list[Finding]:
    """Weight files whose size is not what was imported (truncated through a link), or that are writable.

    One stat per file: cheap enough for every doctor run.  Equal sizes with
    different bytes need ``--verify`` (a full re-hash).
    """
    out: list[Finding] = []
    for f in meta.files:
        path = d / f.name
        try:
            st = os.lstat(path)
        except OSError:
            continue  # reported as missing-file
        if not stat.S_ISREG(st.st_mode):
            continue
        if st.st_size != f.size:
            out.append(Finding(
                kind="changed-file", path=str(path),
                detail=f"is {st.st_size:,} bytes, but {f.size:,} were imported: something wrote to the library's "
                "only copy (through an app's link?); re-import or re-download it",
            ))
        elif f.role == "weights" and st.st_mode & WRITE_BITS:
            finding = Finding(kind="writable-file", path=str(path), fixable=True,
                              detail="writable: a tool writing through an app's link would change the library's copy")
            if fix:
                seal_files(d)
                finding.fixed = True
            out.append(finding)
    return out


def check_hashes(lib: Library, progress: Callable[[int], None] | None = None) -> Iterator[Finding]:
    """``doctor --verify``: re-read every file and compare its SHA256 with the one recorded at import."""
    from .hashing import hash_file

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


def _temp_leftovers(model_dir: Path) -> list[Path]:
    """Temporary files of ``atomic.write_bytes`` that a killed process left (``.<name>.<pid>.<hex>.pumas-tmp``)."""
    with os.scandir(model_dir) as it:
        return [Path(e.path) for e in it if e.name.startswith(".") and e.name.endswith(TMP_SUFFIX) and e.is_file()]


def check_identity(lib: Library, fix: bool) -> Iterator[Finding]:
    """Models whose stored type/family/subtype disagree with a fresh header identification.

    Libraries filled by older tools are full of ``unknown/`` and wrong
    families.  Fields the user set by hand are theirs and are not questioned.
    """
    from .identify import identify_path

    for rec in list(lib.index.records()):
        meta = rec.meta
        target = lib.layout.models_dir / meta.model_id
        if meta.layout == "file" and meta.primary_file:
            target = target / meta.primary_file
        try:
            ident = identify_path(target)
        except PumasError:
            continue
        if ident.confidence < 0.6:
            continue
        fresh = {"model_type": ident.model_type, "family": ident.family, "subtype": ident.subtype}
        wrong = {
            k: v for k, v in fresh.items()
            if v and k not in meta.user_edited and getattr(meta, k) != v
        }
        if not wrong:
            continue
        detail = ", ".join(f"{k} {getattr(meta, k)!r} -> {v!r}" for k, v in wrong.items())
        f = Finding(kind="misidentified", path=meta.model_id, detail=detail, fixable=True)
        if fix:
            moved = lib.reidentify(meta.model_id, wrong)
            f.detail += f" (now {moved.model_id})"
            f.fixed = True
        yield f
