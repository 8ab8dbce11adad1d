"""`pumas download REPO [FILE ...]`: fetch, verify, then import as one model.

Bytes arrive in a work folder under ``.downloads/hub/`` (the library's
filesystem, so the import is a rename).  Each file is fetched with
huggingface_hub's ``http_get`` into a ``.part`` file that outlives the
process: an interrupted download (Ctrl-C, a dropped connection, a killed
process) resumes from where it stopped with an HTTP Range request the next
time the same command runs.  A finished file is checked against the hub's
LFS sha256 (or, for small non-LFS files, the git blob id) *before* it joins
the tree that gets imported; a mismatch, a missing file or a gated repo
without a token removes the work folder and imports nothing.

huggingface_hub's own ``hf_hub_download`` is not used for the bytes because
it deletes its partial file when a download fails, so it can only resume
within one call.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import inspect
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import NotFound, PumasError
from ..library import Library
from ..paths import Layout
from ..relpath import is_safe_relpath
from .badge import VERIFIED
from .cache import HubCache, HubFile, RepoSnapshot
from .client import Budget, HubClient, classify, quiet_hub_logs
from .errors import HubRefused, HubUnavailable
from .lookup import Lookup, LookupResult
from .settings import HubSettings

LOCK_NAME = ".pumas-lock"
PARTS = ".parts"
STALE_WORK_S = 14 * 24 * 3600  # an abandoned resume is kept two weeks
TRANSFER_ATTEMPTS = 3
_HASH_CHUNK = 8 << 20

Progress = Callable[[int], None]


@dataclass
class FilePlan:
    path: str
    size: int | None
    sha256: str | None
    blob_id: str | None
    action: str  # download | resume | have (already verified in the work folder) | library (bytes we hold)
    library_source: str | None = None  # model file holding these bytes
    resumed_from: int = 0


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


# -- choosing files ------------------------------------------------------------


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


# -- the work folder -----------------------------------------------------------


def _slug(repo_id: str) -> str:
    return repo_id.replace("/", "--")


class WorkDir:
    """``.downloads/hub/<org>--<name>@<commit>/``: locked while a download runs, kept for resuming."""

    def __init__(self, layout: Layout, repo_id: str, sha: str) -> None:
        self.root = layout.staging_dir / "hub"
        self.path = self.root / f"{_slug(repo_id)}@{sha[:16]}"
        self.tree = self.path / repo_id.rsplit("/", 1)[-1]  # its name names the model
        self.parts = self.path / PARTS
        self._fd = -1

    def open(self) -> WorkDir:
        self.parts.mkdir(parents=True, exist_ok=True)
        self.tree.mkdir(exist_ok=True)
        self._fd = os.open(self.path / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = -1
            raise PumasError(f"another `pumas download` is already fetching into {self.path}") from None
        os.utime(self.path)  # its age is what the stale sweep goes by
        return self

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.close()
        try:
            self.root.rmdir()
        except OSError:
            pass

    def part(self, f: HubFile) -> Path:
        key = f.sha256 or f.blob_id or hashlib.sha256(f.path.encode()).hexdigest()
        return self.parts / f"{key}.part"

    def final(self, f: HubFile) -> Path:
        return self.tree / f.path


def sweep_stale(layout: Layout, now: float | None = None) -> list[Path]:
    """Work folders nobody holds and nobody touched for two weeks."""
    root = layout.staging_dir / "hub"
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for d in entries:
        try:
            if not d.is_dir() or now - d.stat().st_mtime < STALE_WORK_S:
                continue
            fd = os.open(d / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


# -- verifying bytes -----------------------------------------------------------


class _Hasher:
    """sha256 (LFS) or git's blob sha1 (small files), fed as bytes are written."""

    def __init__(self, f: HubFile) -> None:
        self.f = f
        self.reset()

    def reset(self) -> None:
        if self.f.sha256:
            self.h = hashlib.sha256()
        else:
            self.h = hashlib.sha1()  # noqa: S324 - git's object id, not a security hash
            self.h.update(b"blob %d\0" % (self.f.size or 0))

    def update(self, data: bytes) -> None:
        self.h.update(data)

    def matches(self) -> tuple[bool, str]:
        got = self.h.hexdigest()
        want = self.f.sha256 or self.f.blob_id
        return got == want, got


class _HashingFile:
    """The file object http_get writes to: hashes on the way, rehashes if it rewinds."""

    def __init__(self, raw: BinaryIO, hasher: _Hasher, progress: Progress | None) -> None:
        self.raw, self.hasher, self.progress = raw, hasher, progress

    def write(self, data: bytes) -> int:
        n = self.raw.write(data)
        self.hasher.update(data)
        return n

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.raw.seek(pos, whence)

    def truncate(self, size: int | None = None) -> int:
        # http_get truncates when a server ignored our Range and sent the whole file again.
        n = self.raw.truncate(size)
        self.raw.flush()
        self.hasher.reset()
        _hash_prefix(Path(self.raw.name), self.hasher, self.raw.tell())
        return n

    def flush(self) -> None:
        self.raw.flush()


def _hash_prefix(path: Path, hasher: _Hasher, length: int) -> None:
    with open(path, "rb") as f:
        left = length
        while left > 0:
            chunk = f.read(min(_HASH_CHUNK, left))
            if not chunk:
                break
            hasher.update(chunk)
            left -= len(chunk)


def _tqdm_for(progress: Progress | None) -> type:
    class _Bar:
        """Enough of tqdm for http_get: it only constructs, enters and updates."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> _Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def update(self, n: float | None = 1) -> None:
            if progress is not None and n:
                progress(int(n))

        def close(self) -> None:
            pass

    return _Bar


# -- fetching ------------------------------------------------------------------


@dataclass
class Fetched:
    snap: RepoSnapshot
    work: WorkDir
    plans: list[FilePlan]
    bytes_downloaded: int


def _transfer(
    settings: HubSettings, snap: RepoSnapshot, f: HubFile, work: WorkDir, progress: Progress | None
) -> tuple[int, int]:
    """Fetch one file into its .part (resuming), verify it, move it into the tree.

    Returns (bytes fetched now, bytes the .part already held).
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined, unused-ignore]

    assert snap.sha
    quiet_hub_logs()
    part = work.part(f)
    url = hf_hub_url(snap.repo_id, f.path, revision=snap.sha, endpoint=settings.endpoint)
    headers = build_hf_headers(token=settings.token, library_name="pumas")
    kwargs: dict[str, Any] = {"headers": headers, "expected_size": f.size, "displayed_filename": f.path}
    if "tqdm_class" in inspect.signature(http_get).parameters:
        kwargs["tqdm_class"] = _tqdm_for(progress)
    part.touch()
    resumed_from = part.stat().st_size
    if f.size is not None and resumed_from > f.size:
        part.write_bytes(b"")  # not a prefix of this file
        resumed_from = 0
    hasher = _Hasher(f)
    _hash_prefix(part, hasher, resumed_from)
    if progress and resumed_from:
        progress(resumed_from)
    fetched = 0
    attempt = 0
    while True:
        have = part.stat().st_size
        with open(part, "r+b") as raw:
            raw.seek(have)
            try:
                http_get(url, _HashingFile(raw, hasher, progress), resume_size=have, **kwargs)  # type: ignore[arg-type]
                raw.flush()
                os.fsync(raw.fileno())
                fetched += raw.tell() - have
                break
            except Exception as e:
                raw.flush()
                fetched += max(0, raw.tell() - have)
                if isinstance(e, OSError) and "Consistency check failed" in str(e):
                    # The server said "done" at the wrong length: these bytes are not the file.
                    part.unlink(missing_ok=True)
                    raise _Mismatch(f"{f.path}: the hub sent {raw.tell()} bytes, expected {f.size}") from None
                err = classify(e, f.path, settings.endpoint)
                if err is None:
                    raise
                attempt += 1
                if not (isinstance(err, HubUnavailable) and attempt < TRANSFER_ATTEMPTS):
                    raise err from None
                time.sleep(min(err.retry_after if err.retry_after is not None else float(attempt), 30.0))
        # Resume from whatever reached the disk; hash it again rather than trust the counters.
        hasher.reset()
        _hash_prefix(part, hasher, part.stat().st_size)
    ok, got = hasher.matches()
    if not ok:
        part.unlink(missing_ok=True)
        what = "sha256" if f.sha256 else "git blob id"
        raise _Mismatch(
            f"{f.path}: downloaded bytes do not match the hub's {what} (expected {f.sha256 or f.blob_id}, got {got})"
        )
    final = work.final(f)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)
    return fetched, resumed_from


class _Mismatch(PumasError):
    pass


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
                n, resumed = _transfer(settings, snap, f, work, progress)
                fetched += n
                p.resumed_from = resumed
                if resumed:
                    p.action = "resume"
        return Fetched(snap, work, plans, fetched)
    except (_Mismatch, HubRefused):
        work.remove()  # a wrong file, a refusal: nothing of this download may stay
        raise
    except HubUnavailable as e:
        work.close()
        raise PumasError(
            f"download of {snap.repo_id} interrupted: {e.message}; run the same command again to resume"
        ) from None
    except BaseException:
        work.close()  # Ctrl-C and the like: keep the .part files for the next run
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
    from ..importer import ImportOptions, import_paths

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
    from .enrich import apply_result

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
        fetched.work.close()  # interrupted: the verified files stay for the next attempt
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
