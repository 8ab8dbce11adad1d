"""Lookups applied to the library: match fields and the seed's fields from the hub.

All network work happens inside :class:`~.client.HubClient` calls bounded by
the batch's deadline; every write happens here, in the calling thread, after
a model's lookup has finished.  So when :func:`enrich_after_import` returns,
nothing is left running that could still change the library, and a model
whose lookup did not finish simply keeps ``pending_online_lookup``.

What the hub gives is applied with :meth:`ModelMetadata.apply_enrichment`, so
a field the user edited is never overwritten.  A verified match (same bytes)
may replace earlier automatic guesses; a name-only match fills empty fields
only; a file with other bytes gets the match recorded and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from pumasfs.base.errors import PumasError
from pumasfs.hub import card
from pumasfs.hub.badge import PROBABLE, VERIFIED
from pumasfs.hub.cache import HubCache
from pumasfs.hub.client import Budget, HubClient
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.hub.lookup import Lookup, LookupResult, Subject
from pumasfs.hub.settings import HubSettings
from pumasfs.store.library import Library
from pumasfs.store.metadata import ModelMetadata, utcnow

AFTER_IMPORT_BUDGET = 30


@dataclass
class ModelOutcome:
    model_id: str
    badge: str
    match_method: str
    confidence: float
    repo: str | None
    revision: str | None
    detail: str
    changed: list[str] = field(default_factory=list)


@dataclass
class EnrichSummary:
    """What one batch did.  ``status``: done | partial | offline | unavailable | error."""

    status: str = "done"
    reason: str | None = None
    looked_up: list[ModelOutcome] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # ids whose metadata.json changed
    pending: list[str] = field(default_factory=list)  # ids still waiting for a lookup
    renamed: dict[str, str] = field(default_factory=dict)  # old id -> new id (model type from the hub)
    requests: int = 0
    dry_run: bool = False
    civitai: Any = None  # the CivitAI lookup that ran alongside (civitai.enrich.CivitaiSummary), if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_unsure_type(meta: ModelMetadata) -> bool:
    if meta.model_type in ("unknown", "", None):
        return True
    conf = meta.identification.get("confidence") if isinstance(meta.identification, dict) else None
    return isinstance(conf, (int, float)) and conf < 0.5


def hub_fields(meta: ModelMetadata, res: LookupResult, endpoint: str) -> dict[str, Any]:
    """The seed's fields this match may set (before user edits are taken out)."""
    snap = res.snapshot
    if snap is None or res.badge not in (VERIFIED, PROBABLE):
        return {}
    authoritative = res.badge == VERIFIED or res.match_method == "filename_exact"
    fields: dict[str, Any] = {
        "base_model": card.base_model(snap),
        "release_date": snap.created_at,
        "download_url": f"{endpoint}/{snap.repo_id}",
        "model_card": card.model_card(snap, endpoint),
    }
    if authoritative:
        fields["official_name"] = card.official_name(snap)
        fields["tags"] = list(dict.fromkeys([*meta.tags, *card.hub_tags(snap)]))
        apps = card.compatible_apps(snap, meta.model_type, [f.name for f in meta.files])
        fields["compatible_apps"] = list(dict.fromkeys([*meta.compatible_apps, *apps]))
        new_type = card.PIPELINE_TO_TYPE.get(snap.pipeline_tag or "")
        if new_type and _is_unsure_type(meta):
            fields["model_type"] = new_type
    else:
        # A name-only match may be wrong: fill gaps, never replace.
        fields = {k: v for k, v in fields.items() if getattr(meta, k) in (None, "", [], {})}
    return {k: v for k, v in fields.items() if v not in (None, "", [], {})}


def match_fields(res: LookupResult) -> dict[str, Any]:
    return {
        "match_method": res.match_method,
        "match_confidence": res.confidence,
        "hub_repo": res.repo_id,
        "hub_revision": res.revision,
        "pending_online_lookup": False,
        "hub_match": {
            "badge": res.badge,
            "files": res.matched,
            "hub_sha256": res.hub_sha256,
            "detail": res.detail,
            "checked": utcnow(),
        },
    }


def apply_result(
    library: Library, model_id: str, res: LookupResult, endpoint: str, *, dry_run: bool = False
) -> tuple[str, list[str]]:
    """Write one finished lookup; returns (model id afterwards, changed field names)."""
    meta = library.get(model_id)
    changed = []
    fields = match_fields(res)
    if meta.match_method == "hash" and res.badge != VERIFIED:
        # Once the bytes matched a repo, that stays true even if the repo is gone or renamed.
        fields = {"pending_online_lookup": False}
        res = LookupResult()
    for key, value in fields.items():
        if key == "hub_match":
            old = getattr(meta, "hub_match", None)
            if isinstance(old, dict) and {k: v for k, v in old.items() if k != "checked"} == {
                k: v for k, v in value.items() if k != "checked"
            }:
                continue  # same verdict: keep the file (and its change log) quiet
        if getattr(meta, key, None) != value:
            setattr(meta, key, value)
            changed.append(key)
    changed += meta.apply_enrichment(hub_fields(meta, res, endpoint))
    if not changed or dry_run:
        return model_id, changed
    if "model_type" in changed:
        try:
            return library.store(meta, model_id).model_id, changed
        except PumasError:
            meta.model_type = library.get(model_id).model_type  # the name is taken: keep the type
            changed.remove("model_type")
    library.save(meta)
    return model_id, changed


def _readme(lookup: Lookup, res: LookupResult, library: Library) -> None:
    """Fetch the README once per repo (cached with the file list) for the card summary."""
    snap = res.snapshot
    if (
        snap is None or snap.readme_fetched or res.badge not in (VERIFIED, PROBABLE)
        or snap.file("README.md") is None or not snap.sha or lookup.client.budget.left < 2
        or not lookup.client.usable()
    ):
        return
    try:
        text = lookup.client.readme(snap.repo_id, snap.sha, str(library.layout.cache_dir / "hub" / "files"))
    except (HubUnavailable, HubRefused):
        return
    snap.readme_summary = card.readme_summary(text or "")
    snap.readme_fetched = True
    lookup.cache.put_repo(snap)


def enrich_models(
    library: Library,
    model_ids: Iterable[str],
    *,
    deadline_s: float | None = None,
    budget: int = 100,
    dry_run: bool = False,
    settings: HubSettings | None = None,
) -> EnrichSummary:
    """Look up each model and apply what was found; unfinished ones stay pending."""
    settings = settings or HubSettings.from_env()
    ids = list(dict.fromkeys(model_ids))
    summary = EnrichSummary(dry_run=dry_run)
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    # Offline, the client refuses every request before it is made; lookups can
    # still verify a hash against file lists cached while online.
    client = HubClient(settings, budget=Budget(budget), deadline=deadline)
    lookup = Lookup(client, HubCache(library.layout, endpoint=settings.endpoint))
    for model_id in ids:
        try:
            meta = library.get(model_id)
        except PumasError:
            continue  # removed meanwhile
        subject = Subject.of(meta, settings.endpoint)
        try:
            res = lookup.run(subject)
        except HubUnavailable as e:
            summary.pending.append(model_id)
            summary.reason = summary.reason or e.message
            continue
        _readme(lookup, res, library)
        if deadline is not None and time.monotonic() > deadline + 0.25:
            summary.pending.append(model_id)  # too late to write; the next batch redoes it from the cache
            continue
        new_id, changed = apply_result(library, model_id, res, settings.endpoint, dry_run=dry_run)
        if new_id != model_id:
            summary.renamed[model_id] = new_id
        if changed:
            summary.changed.append(new_id)
        summary.looked_up.append(
            ModelOutcome(new_id, res.badge, res.match_method, res.confidence, res.repo_id, res.revision,
                         res.detail, changed)
        )
    summary.requests = client.requests
    if summary.pending:
        if settings.offline:
            summary.status = "offline"
            summary.reason = "offline mode (HF_HUB_OFFLINE is set): no hub requests were made"
        else:
            summary.status = "unavailable" if client.down and not summary.looked_up else "partial"
            if client.down:
                summary.reason = client.down
            elif client.budget.left == 0:
                summary.reason = f"request budget of {budget} spent"
            elif deadline is not None and time.monotonic() >= deadline:
                summary.reason = "out of time"
    return summary


def enrich_after_import(library: Library, model_ids: list[str], deadline_s: float = 3.0) -> EnrichSummary:
    """Called right after an import commits; returns within ``deadline_s`` whatever the hub does.

    Never raises for hub trouble: models not looked up keep ``pending_online_lookup``
    for ``pumas enrich --pending``.  The caller syncs apps afterwards (changed ids are in
    the summary).
    """
    # CivitAI is asked at the same time, in a thread, under the same deadline: the
    # import waits for the slower of the two, never for their sum.
    civitai = _start_civitai(library, model_ids, time.monotonic() + deadline_s)
    try:
        summary = enrich_models(library, model_ids, deadline_s=deadline_s, budget=AFTER_IMPORT_BUDGET)
    except Exception as e:  # an import must never fail because of its optional lookup
        summary = EnrichSummary(status="error", reason=f"{type(e).__name__}: {e}", pending=list(model_ids))
    if civitai is not None:
        try:
            summary.civitai = civitai.finish(library, renamed=summary.renamed)
            summary.changed = list(dict.fromkeys([*summary.changed, *summary.civitai.changed]))
        except Exception:  # same rule: the models simply stay pending for CivitAI
            pass
    return summary


def _start_civitai(library: Library, model_ids: list[str], deadline: float) -> Any:
    try:
        from pumasfs.hub.civitai.enrich import Running
        from pumasfs.hub.civitai.settings import CivitaiSettings

        return Running.start(library, model_ids, CivitaiSettings.from_env(library.layout), deadline)
    except Exception:
        return None


def pending_ids(library: Library) -> list[str]:
    return [r.meta.model_id for r in library.index.records() if r.meta.pending_online_lookup]


def all_ids(library: Library) -> list[str]:
    return library.index.model_ids()
