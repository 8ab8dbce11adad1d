"""`pumas download REPO [FILE ...]`: fetch, verify, then import as one model.

The steps, each in its own module: which files and what to do with each
(``file_plan.py``), the resumable work folder under ``.downloads/hub/``
(``work_folder.py``), one file's resumable transfer (``transfer.py``) and its
check (``verify.py``).  A finished file is checked against the hub's
LFS sha256 (or, for small non-LFS files, the git blob id) *before* it joins
the tree that gets imported; a mismatch, a missing file or a gated repo
without a token removes the work folder and imports nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pumasfs.base.errors import PumasError
from pumasfs.hub.badge import VERIFIED
from pumasfs.hub.cache import HubCache, HubFile, RepoSnapshot
from pumasfs.hub.client import Budget, HubClient
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.hub.file_plan import FilePlan, plan_files, select_files
from pumasfs.hub.lookup import Lookup, LookupResult
from pumasfs.hub.settings import HubSettings
from pumasfs.hub.transfer import Progress, transfer_file
from pumasfs.hub.verify import Mismatch
from pumasfs.hub.work_folder import WorkDir, sweep_stale
from pumasfs.store.library import Library


@dataclass
class DownloadResult:
    repo_id: str
    revision: str  # the commit
    status: str  # imported | present | dry-run
    files: list[FilePlan] = field(default_factory=list)
    model_ids: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0
    changed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fetched:
    snap: RepoSnapshot
    work: WorkDir
    plans: list[FilePlan]
    bytes_downloaded: int


def resolve(
    library: Library, repo_id: str, revision: str | None, settings: HubSettings
) -> RepoSnapshot:
    if settings.offline:
        raise PumasError("offline mode (HF_HUB_OFFLINE is set): cannot download")
    client = HubClient(settings, budget=Budget(10))
    lookup = Lookup(client, HubCache(library.layout, endpoint=settings.endpoint))
    try:
        snap = lookup.snapshot(repo_id, revision or "main", fresh=True)
    except HubUnavailable as e:
        raise PumasError(f"cannot download {repo_id}: {e.message}") from None
    if not snap.sha:
        raise PumasError(f"{repo_id}: the hub did not say which commit {revision or 'main'} is")
    return snap


def _have_token(settings: HubSettings) -> bool:
    if settings.token:
        return True
    try:
        from huggingface_hub import get_token

        return get_token() is not None
    except Exception:
        return False


def fetch(
    library: Library,
    snap: RepoSnapshot,
    chosen: list[HubFile],
    settings: HubSettings,
    *,
    progress_total: Callable[[int], Progress | None] | None = None,
) -> Fetched:
    """Download and verify every chosen file into a work folder (see the module docstring)."""
    if snap.gated and not _have_token(settings):
        raise HubRefused(
            f"{snap.repo_id} is gated: accept its terms at {settings.repo_url(snap.repo_id)} and set HF_TOKEN",
            kind="gated",
        )
    assert snap.sha
    sweep_stale(library.layout)
    work = WorkDir(library.layout, snap.repo_id, snap.sha).open()
    try:
        plans = plan_files(library, work, chosen)
        todo = [p for p in plans if p.action in ("download", "resume")]
        total = sum((p.size or 0) for p in todo)
        progress = progress_total(total) if progress_total else None
        fetched = 0
        by_path = {f.path: f for f in chosen}
        for p in plans:
            f = by_path[p.path]
            if p.action == "library":
                _link_from_library(library, p.library_source or "", work.final(f))
            elif p.action in ("download", "resume"):
                n, resumed = transfer_file(settings, snap, f, work, progress)
                fetched += n
                p.resumed_from = resumed
                if resumed:
                    p.action = "resume"
        return Fetched(snap, work, plans, fetched)
    except (Mismatch, HubRefused):
        work.remove()  # a wrong file, a refusal: nothing of this download may stay
        raise
    except HubUnavailable as e:
        work.unlock()
        raise PumasError(
            f"download of {snap.repo_id} interrupted: {e.message}; run the same command again to resume"
        ) from None
    except BaseException:
        work.unlock()  # Ctrl-C and the like: keep the .part files for the next run
        raise


def _link_from_library(library: Library, source: str, dest: Path) -> None:
    """Bytes the library already holds are linked, not downloaded again."""
    src = library.layout.models_dir / source
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


# -- importing -----------------------------------------------------------------


def _import_tree(library: Library, fetched: Fetched) -> list[tuple[str, str]]:
    """Import the verified tree; returns (status, model id) per model."""
    from pumasfs.importing.importer import ImportOptions, import_paths

    results = import_paths(library, [fetched.work.tree], ImportOptions(move=True))
    out = []
    problems = []
    for r in results:
        if r.status in ("imported", "duplicate") and r.model_id:
            out.append((r.status, r.model_id))
        else:
            problems.append(r.message or r.status)
    if problems and not out:
        raise PumasError(f"import of {fetched.snap.repo_id} failed: {problems[0]}")
    return out


def mark_verified(library: Library, model_id: str, snap: RepoSnapshot, settings: HubSettings) -> tuple[str, list[str]]:
    from pumasfs.hub.enrich import apply_result

    meta = library.get(model_id)
    own = {f.sha256: f.name for f in meta.files if f.sha256}
    hub = snap.by_sha256()
    matched = {own[s]: hub[s].path for s in own.keys() & hub.keys()}
    res = LookupResult(
        match_method="hash", confidence=1.0, badge=VERIFIED, repo_id=snap.repo_id, revision=snap.sha,
        snapshot=snap, matched=matched, detail="downloaded from the hub; sha256 checked before import",
    )
    return apply_result(library, model_id, res, settings.endpoint)


def download_repo(
    library: Library,
    repo_id: str,
    files: Iterable[str] = (),
    include: Iterable[str] = (),
    revision: str | None = None,
    *,
    dry_run: bool = False,
    progress_total: Callable[[int], Progress | None] | None = None,
    settings: HubSettings | None = None,
) -> DownloadResult:
    settings = settings or HubSettings.from_env()
    repo_id = repo_id.strip().strip("/")
    if repo_id.count("/") != 1:
        raise PumasError(f"{repo_id!r} is not a hub repo id (expected owner/name)")
    snap = resolve(library, repo_id, revision, settings)
    chosen = select_files(snap, files, include)
    assert snap.sha
    if dry_run:
        work = WorkDir(library.layout, snap.repo_id, snap.sha)
        plans = plan_files(library, work if work.path.is_dir() else None, chosen)
        return DownloadResult(repo_id, snap.sha, "dry-run", plans)
    weights_held = _all_weights_in_one_model(library, chosen)
    if weights_held is not None:
        new_id, changed = mark_verified(library, weights_held, snap, settings)
        plans = plan_files(library, None, chosen)
        return DownloadResult(repo_id, snap.sha, "present", plans, [new_id], 0, [new_id] if changed else [])
    fetched = fetch(library, snap, chosen, settings, progress_total=progress_total)
    try:
        imported = _import_tree(library, fetched)
    except PumasError:
        fetched.work.remove()  # refused by the importer: retrying would not change that
        raise
    except BaseException:
        fetched.work.unlock()  # interrupted: the verified files stay for the next attempt
        raise
    fetched.work.remove()
    result = DownloadResult(repo_id, snap.sha, "imported", fetched.plans, [], fetched.bytes_downloaded)
    for _status, model_id in imported:
        new_id, changed = mark_verified(library, model_id, snap, settings)
        result.model_ids.append(new_id)
        result.changed.append(new_id)
    return result


def _all_weights_in_one_model(library: Library, chosen: list[HubFile]) -> str | None:
    """The model that already holds every chosen LFS file, if there is exactly one."""
    lfs = [f for f in chosen if f.sha256]
    if not lfs:
        return None
    holders: set[str] | None = None
    for f in lfs:
        ids = {mid for mid, _ in library.index.find_sha256(f.sha256 or "")}
        holders = ids if holders is None else holders & ids
        if not holders:
            return None
    return sorted(holders)[0] if holders and len(holders) == 1 else None
