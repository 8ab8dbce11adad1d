"""What a download will do with each file: choose the files, then fetch, resume, reuse or keep each.

A file the library already holds (same sha256) is linked from there, not
fetched again; one an earlier interrupted run verified is kept; a ``.part``
is resumed.  ``download --dry-run`` prints exactly this plan.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.relpath import is_safe_relpath
from pumasfs.hub.cache import HubFile, RepoSnapshot
from pumasfs.hub.work_folder import WorkDir
from pumasfs.store.library import Library


@dataclass
class FilePlan:
    path: str
    size: int | None
    sha256: str | None
    blob_id: str | None
    action: str  # download | resume | have (already verified in the work folder) | library (bytes we hold)
    library_source: str | None = None  # model file holding these bytes
    resumed_from: int = 0


def select_files(snap: RepoSnapshot, files: Iterable[str], include: Iterable[str]) -> list[HubFile]:
    files, include = list(files), list(include)
    chosen: dict[str, HubFile] = {}
    for name in files:
        f = snap.file(name.strip("/"))
        if f is None:
            inside = [x for x in snap.files if x.path.startswith(name.strip("/") + "/")]
            if not inside:
                raise NotFound(f"no file {name!r} in {snap.repo_id}@{(snap.sha or snap.revision)[:12]}")
            chosen.update({x.path: x for x in inside})
        else:
            chosen[f.path] = f
    for pattern in include:
        hits = [x for x in snap.files if fnmatch.fnmatch(x.path, pattern) or fnmatch.fnmatch(x.path.rsplit("/", 1)[-1], pattern)]
        if not hits:
            raise NotFound(f"--include {pattern!r} matches no file in {snap.repo_id}")
        chosen.update({x.path: x for x in hits})
    if not files and not include:
        chosen = {x.path: x for x in snap.files if x.path != ".gitattributes"}
    if not chosen:
        raise NotFound(f"{snap.repo_id} has no files")
    for path in chosen:
        if not is_safe_relpath(path):
            raise PumasError(f"refusing file path {path!r} from the hub")
    return [chosen[p] for p in sorted(chosen)]


def plan_files(library: Library, work: WorkDir | None, chosen: list[HubFile]) -> list[FilePlan]:
    plans = []
    for f in chosen:
        p = FilePlan(f.path, f.size, f.sha256, f.blob_id, "download")
        if work is not None and work.final(f).is_file() and work.final(f).stat().st_size == (f.size or 0):
            p.action = "have"  # verified by an earlier, interrupted run
        elif f.sha256 and (held := library.index.find_sha256(f.sha256)):
            model_id, name = held[0]
            p.action, p.library_source = "library", f"{model_id}/{name}"
        elif work is not None and work.part(f).is_file() and work.part(f).stat().st_size > 0:
            p.action, p.resumed_from = "resume", work.part(f).stat().st_size
        plans.append(p)
    return plans
