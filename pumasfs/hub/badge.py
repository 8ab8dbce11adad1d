"""The trust badge `pumas list` and `pumas show` print: cheap, no hub import."""

from __future__ import annotations

from ..metadata import ModelMetadata

VERIFIED, PROBABLE, MODIFIED, UNKNOWN = "verified", "probable", "modified", "unknown"


def trust_badge(meta: ModelMetadata) -> str:
    """verified (hash match), probable (name only), modified (same name, other bytes), unknown."""
    if meta.match_method == "hash":
        return VERIFIED
    hub_match = getattr(meta, "hub_match", None)
    if isinstance(hub_match, dict) and hub_match.get("badge") == MODIFIED:
        return MODIFIED
    if meta.match_method in ("filename_exact", "filename_fuzzy"):
        return PROBABLE
    return UNKNOWN
