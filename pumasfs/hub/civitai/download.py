"""`pumas download civitai:VERSION_ID`: fetch, verify, then import.

The work folder, the resumable ``.part`` file, the incremental hash and the
stale sweep are the Hugging Face downloader's (:mod:`pumasfs.hub.work_folder`, :mod:`pumasfs.hub.verify`);
only the transfer differs, because CivitAI's download endpoint answers with a
302 to a signed storage URL and has its own ways of saying no:

* a gated file without a token: 401 ``{"error":"Unauthorized"}``, or a 302 to
  an HTML login page that a naive downloader would save as the model;
* early access: 403 ``{"error":"Early Access","deadline":...}``;
* edge rate limits: 429 without ``Retry-After`` (exponential backoff).

Each redirect is followed by hand so every hop is looked at; the token goes
to CivitAI only, never to the storage host.  The bytes are checked against
``files[].hashes.SHA256`` before the importer sees them; a refusal or a
mismatch removes the work folder, an interruption keeps the ``.part`` for the
next run (HTTP Range).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.hub.cache import HubFile
from pumasfs.hub.civitai.api import CivFile, CivVersion
from pumasfs.hub.civitai.cache import CivitaiCache
from pumasfs.hub.civitai.client import (
    CivitaiClient,
    backoff_s,
    error_text,
    open_url,
    retry_after_of,
)
from pumasfs.hub.civitai.enrich import Found, apply_found, fetch_preview
from pumasfs.hub.civitai.link import resolve_version
from pumasfs.hub.civitai.refs import CivRef
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.hub.verify import Hasher, hash_prefix
from pumasfs.hub.work_folder import WorkDir, sweep_stale
from pumasfs.store.library import Library
from pumasfs.store.naming import safe_filename

CHUNK = 1 << 20
MAX_REDIRECTS = 5
MAX_ATTEMPTS = 6
READ_TIMEOUT_S = 60.0
TOKEN_NEEDED = "this file needs a CivitAI token (CIVITAI_API_TOKEN)"


@dataclass
class CivitaiDownloadResult:
    version_id: int
    civitai_model_id: int | None
    name: str  # CivitAI model / version
    file_name: str
    size_bytes: int | None
    sha256: str
    status: str  # imported | present | dry-run
    action: str = "download"  # download | resume | library
    resumed_from: int = 0
    bytes_downloaded: int = 0
    model_ids: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    url: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Refused(PumasError):
    pass


def choose_file(v: CivVersion, file_name: str | None) -> CivFile:
    if not v.files:
        raise NotFound(f"CivitAI version {v.id} has no files to download (the model is archived)")
    if file_name:
        for f in v.files:
            if f.name == file_name or (f.type or "").lower() == file_name.lower():
                return f
        raise NotFound(f"CivitAI version {v.id} has no file {file_name!r} "
                       f"(files: {', '.join(f.name for f in v.files)})")
    primary = v.primary_file()
    assert primary is not None  # files is not empty
    return primary


def _refusal(status: int, body: bytes, v: CivVersion) -> PumasError | None:
    message = error_text(body)
    if status == 401:
        return _Refused(f"{TOKEN_NEEDED}; CivitAI answered 401 Unauthorized")
    if status == 403 and message and "early access" in message.lower():
        deadline = None
        try:
            import json

            deadline = json.loads(body).get("deadline")
        except ValueError:
            pass
        until = f" until {deadline}" if deadline else ""
        return _Refused(f"CivitAI version {v.id} is in early access{until}: only supporters who bought it can "
                        "download it now (with their CIVITAI_API_TOKEN); everyone can afterwards")
    if status == 404:
        return NotFound(f"CivitAI version {v.id}: the file is gone (HTTP 404" + (f": {message})" if message else ")"))
    return None


def _open_following(url: str, settings: CivitaiSettings, have: int, v: CivVersion) -> Any:
    """Open the download URL, following redirects by hand; returns the final response."""
    for _ in range(MAX_REDIRECTS + 1):
        token = settings.token if url.startswith(settings.endpoint + "/") else None
        headers = {"Accept": "application/json, application/octet-stream;q=0.9, */*;q=0.5"}
        if have:
            headers["Range"] = f"bytes={have}-"
        resp = open_url(url, headers=headers, token=token, timeout=READ_TIMEOUT_S)
        status = resp.status if hasattr(resp, "status") else resp.code
        if status in (301, 302, 303, 307, 308):
            location = resp.headers.get("Location")
            resp.close()
            if not location:
                raise HubUnavailable("CivitAI unavailable: a redirect without a Location")
            url = urljoin(url, location)
            continue
        return resp
    raise HubUnavailable("CivitAI unavailable: too many redirects")


def _transfer(url: str, settings: CivitaiSettings, part: Path, hasher: Hasher, v: CivVersion,
              reporter: Reporter) -> tuple[int, int]:
    """Fetch into ``part`` (resuming); returns (bytes fetched now, bytes it already held)."""
    part.touch()
    resumed_from = part.stat().st_size
    hash_prefix(part, hasher, resumed_from)
    if resumed_from:
        reporter.advance(resumed_from)
    fetched = 0
    attempt = 0
    while True:
        have = part.stat().st_size
        err: OSError | None = None
        try:
            resp = _open_following(url, settings, have, v)
        except OSError as e:
            resp, err = None, e
        if resp is not None:
            status = resp.status if hasattr(resp, "status") else resp.code
            ctype = (resp.headers.get("Content-Type") or "").lower()
            if status in (200, 206) and ctype.startswith("text/html"):
                resp.close()
                raise _Refused(f"{TOKEN_NEEDED}; CivitAI sent its login page instead of the file")
            if status == 416 and have:
                resp.close()
                return fetched, resumed_from  # the part already holds every byte; the hash decides
            if status not in (200, 206):
                body = resp.read(64 << 10)
                resp.close()
                refusal = _refusal(status, body, v)
                if refusal is not None:
                    raise refusal
                if status == 429 or status >= 500 or status == 403:  # 403: a signed URL that expired
                    attempt += 1
                    if attempt >= MAX_ATTEMPTS:
                        raise HubUnavailable(f"CivitAI unavailable: HTTP {status}" + (" (rate limited)" if status == 429 else ""))
                    time.sleep(backoff_s(attempt, retry_after_of(resp.headers)))
                    continue
                why = f" ({error_text(body)})" if error_text(body) else ""
                raise _Refused(f"CivitAI refused the download: HTTP {status}{why}")
            with open(part, "r+b") as raw:
                if status == 200 and have:
                    # The server ignored our Range and sent the whole file again.
                    raw.truncate(0)
                    hasher.reset()
                    have = 0
                raw.seek(have)
                try:
                    with resp:
                        while True:
                            chunk = resp.read(CHUNK)
                            if not chunk:
                                break
                            raw.write(chunk)
                            hasher.update(chunk)
                            fetched += len(chunk)
                            reporter.advance(len(chunk))
                    raw.flush()
                    os.fsync(raw.fileno())
                    return fetched, resumed_from
                except OSError as e:
                    raw.flush()
                    err = e
        attempt += 1
        if attempt >= MAX_ATTEMPTS:
            raise HubUnavailable(f"CivitAI unavailable: {type(err).__name__ if err else 'transfer failed'}")
        time.sleep(backoff_s(attempt))
        hasher.reset()
        hash_prefix(part, hasher, part.stat().st_size)


def download_version(
    library: Library, ref: CivRef, settings: CivitaiSettings, *, file_name: str | None = None,
    dry_run: bool = False, reporter: Reporter = NULL_REPORTER,
) -> CivitaiDownloadResult:
    if settings.offline:
        raise PumasError("offline mode (CIVITAI_OFFLINE or HF_HUB_OFFLINE is set): cannot download")
    client = CivitaiClient(settings)
    cache = CivitaiCache(library.layout, settings.endpoint)
    v, model = resolve_version(client, cache, ref)
    f = choose_file(v, file_name)
    sha = f.sha256
    if not sha:
        raise PumasError(f"CivitAI gives no SHA256 for {f.name}: refusing to import bytes that cannot be checked")
    name = f"{(model.name if model else None) or (v.model.name if v.model else '?')} / {v.name}"
    result = CivitaiDownloadResult(
        version_id=v.id, civitai_model_id=v.modelId if v.modelId is not None else (model.id if model else None),
        name=name, file_name=f.name, size_bytes=f.size_bytes, sha256=sha, status="dry-run",
        url=settings.model_url(v.modelId or (model.id if model else 0), v.id),
    )
    held = library.index.find_sha256(sha)
    hub_file = HubFile(path=safe_filename(Path(f.name).name), size=None, sha256=sha)
    work = WorkDir(library.layout, f"civitai/{result.civitai_model_id}", f"v{v.id}")
    if held:
        result.action = "library"
    elif work.part(hub_file).is_file() and work.part(hub_file).stat().st_size:
        result.action, result.resumed_from = "resume", work.part(hub_file).stat().st_size
    if dry_run:
        return result
    if held:
        model_id = held[0][0]
        out = apply_found(library, model_id, Found(v, model, _preview(client, v, settings)), settings)
        result.status, result.model_ids, result.changed = "present", [model_id], [model_id] if out.changed else []
        return result
    url = f.downloadUrl or v.downloadUrl
    if not url:
        raise NotFound(f"CivitAI version {v.id} has no download URL (the model is archived)")
    sweep_stale(library.layout)
    work.open()
    part = work.part(hub_file)
    try:
        reporter.start(f.name, f.size_bytes, unit="bytes")
        hasher = Hasher(hub_file)
        fetched, resumed = _transfer(url, settings, part, hasher, v, reporter)
        result.bytes_downloaded, result.resumed_from = fetched, resumed
        ok, got = hasher.matches()
        if not ok:
            raise _Refused(f"{f.name}: downloaded bytes do not match CivitAI's SHA256 (expected {sha}, got {got})")
        final = work.final(hub_file)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
    except (_Refused, NotFound, HubRefused):
        work.remove()  # a refusal or wrong bytes: nothing of this download may stay
        raise
    except HubUnavailable as e:
        work.unlock()
        raise PumasError(f"download of civitai:{v.id} interrupted: {e.message}; run the same command again to resume") from None
    except BaseException:
        work.unlock()  # Ctrl-C and the like: keep the .part for the next run
        raise
    result.status = "imported"
    try:
        result.model_ids = _import(library, final)
    finally:
        work.remove()
    preview = _preview(client, v, settings)
    for mid in result.model_ids:
        apply_found(library, mid, Found(v, model, preview), settings)
        result.changed.append(mid)
    return result


def _preview(client: CivitaiClient, v: CivVersion, settings: CivitaiSettings) -> Any:
    if not settings.previews:
        return None
    try:
        return fetch_preview(client, v, settings.nsfw_max)
    except HubUnavailable:
        return None


def _import(library: Library, path: Path) -> list[str]:
    from pumasfs.importing.importer import ImportOptions, import_paths

    results = import_paths(library, [path], ImportOptions(move=True))
    ids = [r.model_id for r in results if r.status in ("imported", "duplicate") and r.model_id]
    if not ids:
        problem = next((r.message for r in results if r.message), "nothing was imported")
        raise PumasError(f"import of {path.name} failed: {problem}")
    return ids
