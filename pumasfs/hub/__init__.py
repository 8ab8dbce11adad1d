"""Hugging Face lookups, enrichment and downloads.

``trust_badge`` is cheap and imports nothing heavy (``pumas list`` calls it per
row); everything else is loaded on first use, so importing this package does
not import huggingface_hub.

Public API:
    trust_badge(meta) -> "verified" | "probable" | "modified" | "unknown"
    enrich_after_import(library, model_ids, deadline_s=3.0) -> EnrichSummary
    enrich_models(library, model_ids, *, deadline_s=None, budget=100, dry_run=False) -> EnrichSummary
    related_files(library, meta) -> list[RelatedFile]
    download_repo(library, repo_id, files=(), include=(), revision=None, *, dry_run=False) -> DownloadResult
    HubUnavailable, HubRefused, HubNotFound (PumasError subclasses)

CivitAI lives in ``pumasfs.hub.civitai`` (same error classes, same deadline:
``enrich_after_import`` asks both at once).
"""

from __future__ import annotations

import importlib
from typing import Any

from pumasfs.hub.badge import MODIFIED, PROBABLE, UNKNOWN, VERIFIED, trust_badge
from pumasfs.hub.errors import HubNotFound, HubRefused, HubUnavailable

_LAZY = {
    "EnrichSummary": "enrich",
    "ModelOutcome": "enrich",
    "enrich_after_import": "enrich",
    "enrich_models": "enrich",
    "pending_ids": "enrich",
    "all_ids": "enrich",
    "RelatedFile": "related",
    "related_files": "related",
    "download_repo": "download",
    "DownloadResult": "download",
    "HubSettings": "settings",
    "search_terms": "names",
}

__all__ = [
    "trust_badge", "VERIFIED", "PROBABLE", "MODIFIED", "UNKNOWN",
    "HubUnavailable", "HubRefused", "HubNotFound", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
