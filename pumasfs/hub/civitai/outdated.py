"""`pumas outdated`: models with something newer upstream.

* CivitAI: the model (``meta.civitai.model_id``) has a version newer than
  ours (CivitAI lists versions newest first).
* Hugging Face: the matched repo's ``main`` now holds other bytes under the
  file's path (a new revision of the file).

Each row has the new file's size and a page URL.  Nothing is downloaded or
changed; a source that cannot be reached is reported, the rest still listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pumasfs.hub.civitai.cache import CivitaiCache
from pumasfs.hub.civitai.client import CivitaiClient
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.store.library import Library
from pumasfs.store.metadata import ModelMetadata


@dataclass
class OutdatedItem:
    model_id: str
    source: str  # civitai | huggingface
    name: str
    current: str  # version name / revision
    latest: str
    latest_id: str  # CivitAI version id / commit
    size_bytes: int | None  # the newer file's size
    url: str
    download: str  # what to give `pumas download`


@dataclass
class OutdatedReport:
    items: list[OutdatedItem] = field(default_factory=list)
    checked: int = 0
    unavailable: list[str] = field(default_factory=list)  # one line per source that could not be asked

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _civitai_rows(library: Library, metas: list[ModelMetadata], settings: CivitaiSettings, report: OutdatedReport) -> None:
    linked = [m for m in metas if m.civitai is not None]
    if not linked:
        return
    if settings.offline:
        report.unavailable.append("CivitAI: offline mode")
        return
    client = CivitaiClient(settings)
    cache = CivitaiCache(library.layout, settings.endpoint)
    models: dict[int, Any] = {}
    for meta in linked:
        civ = meta.civitai
        assert civ is not None
        report.checked += 1
        if civ.model_id not in models:
            try:
                models[civ.model_id] = client.model(civ.model_id)
                cache.put_model(models[civ.model_id])
            except HubRefused:
                models[civ.model_id] = None  # deleted or hidden: nothing newer to offer
            except HubUnavailable as e:
                report.unavailable.append(e.message)
                return
        model = models[civ.model_id]
        if model is None or not model.modelVersions:
            continue
        ids = [v.id for v in model.modelVersions]
        newest = model.modelVersions[0]
        if newest.id == civ.version_id:
            continue
        if civ.version_id in ids or (newest.publishedAt or "") > (civ.published_at or ""):
            f = newest.primary_file()
            report.items.append(OutdatedItem(
                model_id=meta.model_id, source="civitai", name=civ.model_name or model.name,
                current=civ.version_name, latest=newest.name, latest_id=str(newest.id),
                size_bytes=f.size_bytes if f else None, url=settings.model_url(model.id, newest.id),
                download=f"civitai:{newest.id}",
            ))


def _hub_rows(library: Library, metas: list[ModelMetadata], report: OutdatedReport) -> None:
    from pumasfs.hub.cache import HubCache
    from pumasfs.hub.client import Budget, HubClient
    from pumasfs.hub.lookup import Lookup
    from pumasfs.hub.settings import HubSettings

    matched = [m for m in metas if m.hub_repo and m.match_method == "hash"]
    if not matched:
        return
    settings = HubSettings.from_env()
    if settings.offline:
        report.unavailable.append("Hugging Face: offline mode (HF_HUB_OFFLINE is set)")
        return
    lookup = Lookup(HubClient(settings, budget=Budget(200)), HubCache(library.layout, endpoint=settings.endpoint))
    snaps: dict[str, Any] = {}
    for meta in matched:
        repo = meta.hub_repo or ""
        report.checked += 1
        if repo not in snaps:
            try:
                snaps[repo] = lookup.snapshot(repo, "main", fresh=True)
            except HubRefused:
                snaps[repo] = None
            except HubUnavailable as e:
                report.unavailable.append(e.message)
                return
        snap = snaps[repo]
        if snap is None or not snap.sha or snap.sha == meta.hub_revision:
            continue
        hub_match = getattr(meta, "hub_match", None)
        files = hub_match.get("files") if isinstance(hub_match, dict) else None
        own = {f.name: f for f in meta.files}
        for local, hub_path in (files or {}).items():
            theirs = snap.file(hub_path)
            mine = own.get(local)
            if theirs is None or mine is None or not theirs.sha256 or theirs.sha256 == mine.sha256:
                continue
            report.items.append(OutdatedItem(
                model_id=meta.model_id, source="huggingface", name=f"{repo}/{hub_path}",
                current=(meta.hub_revision or "?")[:12], latest=snap.sha[:12], latest_id=snap.sha,
                size_bytes=theirs.size, url=f"{settings.endpoint}/{repo}/blob/main/{hub_path}",
                download=f"{repo} {hub_path}",
            ))


def find_outdated(library: Library, settings: CivitaiSettings) -> OutdatedReport:
    metas = [r.meta for r in library.index.records()]
    report = OutdatedReport()
    _civitai_rows(library, metas, settings, report)
    _hub_rows(library, metas, report)
    return report
