"""The trust badge `pumas list` and `pumas show` print: cheap, no hub import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..metadata import ModelMetadata

VERIFIED, PROBABLE, MODIFIED, UNKNOWN = "verified", "probable", "modified", "unknown"


def trust_badge(meta: ModelMetadata) -> str:
    """verified (hash match), probable (name only), modified (same name, other bytes), unknown."""
    # hub_match is an open field (metadata keeps unknown keys), hence getattr.
    return badge_of(meta.match_method, getattr(meta, "hub_match", None))


def badge_of(match_method: str | None, hub_match: Any) -> str:
    """The badge from the two fields it depends on (for rows read without pydantic)."""
    if match_method == "hash":
        return VERIFIED
    if isinstance(hub_match, dict) and hub_match.get("badge") == MODIFIED:
        return MODIFIED
    if match_method in ("filename_exact", "filename_fuzzy"):
        return PROBABLE
    return UNKNOWN
