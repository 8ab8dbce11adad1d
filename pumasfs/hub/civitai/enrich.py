"""CivitAI lookups applied to the library: by SHA256, batched, cached, bounded.

Two phases, like the Hugging Face side (:mod:`pumasfs.hub.enrich`):

1. :func:`lookup` does every request (one POST per 100 hashes, then each
   matched model's JSON and its preview image) and touches nothing but the
   cache.  It may run in a thread while the hub lookup runs: after an import,
   both share one deadline.
2. :func:`apply_found` writes one model's result (metadata.json and its
   sidecars) in the calling thread.

A model whose lookup did not finish keeps ``civitai_checked`` empty, so
``pumas enrich`` catches it up later.  A model linked by the user
(``trust: "user"``) is never changed by a hash lookup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pumasfs.base.errors import PumasError
from pumasfs.hub.civitai.api import CivModel, CivVersion
from pumasfs.hub.civitai.cache import CivitaiCache
from pumasfs.hub.civitai.client import CivitaiClient
from pumasfs.hub.civitai.fields import apply_version
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.civitai.sidecars import Preview, choose_image, sniff_ext, wants_preview, write_sidecars
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.store.library import Library
from pumasfs.store.metadata import ModelMetadata, utcnow


@dataclass(frozen=True)
class Wanted:
    """What a lookup needs from one model, copied out so lookups never touch the library."""

    model_id: str
    sha256: str
    preview: bool  # no preview yet: fetch one

    @classmethod
    def of(cls, meta: ModelMetadata) -> Wanted | None:
        sha = primary_sha256(meta)
        if sha is None or (meta.civitai is not None and meta.civitai.trust == "user"):
            return None
        return cls(meta.model_id, sha, wants_preview(meta))


def primary_sha256(meta: ModelMetadata) -> str | None:
    for f in meta.files:
        if f.name == meta.primary_file and f.sha256:
            return f.sha256.lower()
    weights = [f for f in meta.weight_files() if f.sha256]
    if len(weights) == 1:
        return (weights[0].sha256 or "").lower()
    return meta.hashes.sha256.lower() if meta.hashes.sha256 and meta.layout == "file" else None


@dataclass
class Found:
    version: CivVersion | None  # None: CivitAI does not know these bytes
    model: CivModel | None = None
    preview: Preview | None = None


@dataclass
class CivitaiOutcome:
    model_id: str
    status: str  # matched | not-found | linked-by-user
    version_id: int | None = None
    name: str | None = None
    base_model: str | None = None
    changed: list[str] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)


@dataclass
class CivitaiSummary:
    """What one batch did.  ``status``: done | partial | offline | unavailable | error."""

    status: str = "done"
    reason: str | None = None
    looked_up: list[CivitaiOutcome] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    requests: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fetch_preview(client: CivitaiClient, v: CivVersion, nsfw_max: int) -> Preview | None:
    img = choose_image(v, nsfw_max)
    if img is None:
        return None
    try:
        data, ctype = client.image(img.url)
    except HubRefused:
        return None  # the image is gone: the model is matched all the same
    ext = sniff_ext(data, img.url, ctype)
    return Preview(data, ext, img.url) if ext else None


def model_of(client: CivitaiClient, cache: CivitaiCache, model_id: int) -> CivModel | None:
    m = cache.get_model(model_id)
    if m is None:
        try:
            m = client.model(model_id)
        except HubRefused:
            return None  # deleted or hidden: the version alone still says a lot
        cache.put_model(m)
    return m


def lookup(
    client: CivitaiClient, cache: CivitaiCache, wanted: list[Wanted], settings: CivitaiSettings,
    results: dict[str, Found], lock: threading.Lock | None = None,
) -> None:
    """Fill ``results`` (model id -> Found) with every lookup that finished; HubUnavailable stops it."""
    lock = lock or threading.Lock()
    by_sha: dict[str, CivVersion | None] = {}
    ask: list[str] = []
    for w in wanted:
        hit = cache.get_hash(w.sha256)
        if hit is None:
            ask.append(w.sha256)
        elif hit.version_id is None:
            by_sha[w.sha256] = None
        else:
            v = cache.get_version(hit.version_id)
            if v is None:
                ask.append(w.sha256)
            else:
                by_sha[w.sha256] = v
    if ask:
        found = client.by_hashes(ask)
        for v in found:
            cache.put_version(v)
            for f in v.files:
                if f.sha256 in ask:
                    by_sha[f.sha256] = v
                    cache.put_hash(f.sha256, v.id)
        for sha in ask:
            if sha not in by_sha:
                by_sha[sha] = None
                cache.put_hash(sha, None)
    for w in wanted:
        v = by_sha.get(w.sha256)
        if v is None:
            with lock:
                results[w.model_id] = Found(None)
            continue
        model = model_of(client, cache, v.modelId) if v.modelId is not None else None
        preview = fetch_preview(client, v, settings.nsfw_max) if (w.preview and settings.previews) else None
        with lock:
            results[w.model_id] = Found(v, model, preview)


def apply_found(
    library: Library, model_id: str, found: Found, settings: CivitaiSettings, *, dry_run: bool = False,
    trust: Literal["hash", "user"] = "hash",
) -> CivitaiOutcome:
    meta = library.get(model_id)
    if trust == "hash" and meta.civitai is not None and meta.civitai.trust == "user":
        return CivitaiOutcome(model_id, "linked-by-user", meta.civitai.version_id, meta.civitai.model_name)
    v = found.version
    if v is None:
        out = CivitaiOutcome(model_id, "not-found")
        if meta.civitai_checked is None:
            # Once the bytes matched, that stays true even if CivitAI later hides the model.
            meta.civitai_checked = utcnow()
            out.changed.append("civitai_checked")
            if not dry_run:
                library.save(meta)
        return out
    sha = primary_sha256(meta)
    file = v.file_with_sha256(sha) if sha else None
    if file is None and trust == "user":
        file = v.primary_file()
    was_pending = meta.civitai_checked is None
    changed = apply_version(meta, v, found.model, settings, trust=trust, file=file)
    out = CivitaiOutcome(model_id, "matched", v.id, meta.civitai.model_name if meta.civitai else None, v.baseModel)
    if not dry_run:
        out.sidecars = write_sidecars(library.layout, meta, v, found.preview)
    out.changed = changed + (["files"] if out.sidecars else [])
    if (out.changed or was_pending) and not dry_run:
        library.save(meta)
    return out


def enrich_civitai(
    library: Library, model_ids: Iterable[str], *, deadline_s: float | None = None, dry_run: bool = False,
    settings: CivitaiSettings | None = None, budget: int = 200,
) -> CivitaiSummary:
    """Look up each model's bytes on CivitAI and apply what was found; unfinished ones stay pending."""
    settings = settings or CivitaiSettings.from_env(library.layout)
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    run = Running.start(library, model_ids, settings, deadline, budget=budget, threaded=False)
    return run.finish(library, dry_run=dry_run)


class Running:
    """A lookup under way (in a thread after an import), finished by :meth:`finish`."""

    def __init__(self, settings: CivitaiSettings, client: CivitaiClient, cache: CivitaiCache,
                 wanted: list[Wanted], skipped: list[str]) -> None:
        self.settings, self.client, self.cache = settings, client, cache
        self.wanted, self.skipped = wanted, skipped
        self.results: dict[str, Found] = {}
        self.lock = threading.Lock()
        self.error: str | None = None
        self.thread: threading.Thread | None = None

    @classmethod
    def start(cls, library: Library, model_ids: Iterable[str], settings: CivitaiSettings, deadline: float | None,
              *, budget: int = 200, threaded: bool = True) -> Running:
        from pumasfs.hub.client import Budget

        wanted, skipped = [], []
        for mid in dict.fromkeys(model_ids):
            try:
                w = Wanted.of(library.get(mid))
            except PumasError:
                continue  # removed meanwhile
            (wanted.append(w) if w else skipped.append(mid))
        client = CivitaiClient(settings, deadline=deadline, budget=Budget(budget))
        run = cls(settings, client, CivitaiCache(library.layout, settings.endpoint), wanted, skipped)
        if not wanted or client.down:
            return run
        if threaded:
            run.thread = threading.Thread(target=run._work, name="pumas-civitai", daemon=True)
            run.thread.start()
        else:
            run._work()
        return run

    def _work(self) -> None:
        try:
            lookup(self.client, self.cache, self.wanted, self.settings, self.results, self.lock)
        except HubUnavailable as e:
            self.error = e.message
        except Exception as e:  # noqa: BLE001 - a lookup must never break an import
            self.error = f"{type(e).__name__}: {self.settings.redact(str(e))}"

    def finish(self, library: Library, *, dry_run: bool = False, renamed: dict[str, str] | None = None) -> CivitaiSummary:
        if self.thread is not None:
            left = self.client.remaining_s()
            self.thread.join(None if left is None else max(0.0, left) + 0.25)
        with self.lock:
            results = dict(self.results)
        summary = CivitaiSummary(dry_run=dry_run)
        for w in self.wanted:
            mid = (renamed or {}).get(w.model_id, w.model_id)
            found = results.get(w.model_id)
            if found is None:
                summary.pending.append(mid)
                if not dry_run and _apply_local_info(library, mid, self.settings):
                    summary.changed.append(mid)
                continue
            try:
                out = apply_found(library, mid, found, self.settings, dry_run=dry_run)
            except PumasError as e:
                summary.pending.append(mid)
                summary.reason = summary.reason or e.message
                continue
            summary.looked_up.append(out)
            if out.changed:
                summary.changed.append(mid)
        summary.requests = self.client.requests
        if summary.pending:
            if self.settings.offline:
                summary.status = "offline"
                summary.reason = "offline mode: no CivitAI requests were made"
            else:
                summary.status = "unavailable" if not summary.looked_up else "partial"
                summary.reason = summary.reason or self.error or self.client.down or (
                    "out of time" if self.thread is not None and self.thread.is_alive() else "unfinished")
        return summary


def _apply_local_info(library: Library, model_id: str, settings: CivitaiSettings) -> bool:
    """Offline first: a ``.civitai.info`` that came with the model (Civitai Helper's copy of
    CivitAI's answer) whose file hash is our bytes' SHA256 fills the CivitAI fields now.

    ``civitai_checked`` stays empty, so the next online `pumas enrich` still asks CivitAI
    itself (and adds what the info file lacks: creator, tags, description).
    """
    try:
        meta = library.get(model_id)
    except PumasError:
        return False
    sha = primary_sha256(meta)
    if meta.civitai is not None or sha is None:
        return False
    for f in meta.files:
        if f.role != "info" or not f.name.lower().endswith(".civitai.info") or (f.model_extra or {}).get("origin"):
            continue
        try:
            raw = (library.model_dir(model_id) / f.name).read_bytes()
            v = CivVersion.model_validate_json(raw) if raw.strip() else None
        except (OSError, ValueError):
            continue  # empty ("looked up, not found"), unreadable or not a version: ignore
        file = v.file_with_sha256(sha) if v is not None else None
        if v is None or file is None:
            continue
        apply_version(meta, v, None, settings, trust="hash", file=file)
        meta.civitai_checked = None
        library.save(meta)
        return True
    return False


def pending_ids(library: Library) -> list[str]:
    """Models whose bytes CivitAI has not answered about yet (and that a hash lookup can match)."""
    return [r.meta.model_id for r in library.index.records()
            if r.meta.civitai_checked is None and Wanted.of(r.meta) is not None]
