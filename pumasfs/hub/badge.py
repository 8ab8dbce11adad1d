"""The trust badge `pumas list` and `pumas show` print: cheap, no hub import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pumasfs.store.metadata import ModelMetadata

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


# CivitAI (issue 12): shown beside the Hugging Face badge, never instead of it.
CIVITAI_VERIFIED, CIVITAI_LINKED = "civitai-verified", "civitai-linked"
_LABELS = {
    VERIFIED: "verified by hash on Hugging Face", PROBABLE: "probable (name match on Hugging Face)",
    MODIFIED: "modified (Hugging Face has other bytes under this name)",
    CIVITAI_VERIFIED: "verified by hash on CivitAI", CIVITAI_LINKED: "linked by user to CivitAI",
}


def badge_label(badge: str) -> str:
    """A badge in words, for `show`."""
    return _LABELS.get(badge, badge)


def civitai_badge(meta: ModelMetadata) -> str | None:
    civ = getattr(meta, "civitai", None)
    if civ is None:
        return None
    return CIVITAI_LINKED if civ.trust == "user" else CIVITAI_VERIFIED


def trust_badges(meta: ModelMetadata) -> list[str]:
    """Every badge that holds, Hugging Face first; ["unknown"] when none does."""
    out = [b for b in (trust_badge(meta), civitai_badge(meta)) if b and b != UNKNOWN]
    return out or [UNKNOWN]


def trust_text_of(match_method: str | None, hub_match: Any, civitai_trust: str | None) -> str:
    """:func:`trust_text` from the fields it depends on (for rows read without pydantic)."""
    civ = None if civitai_trust is None else (CIVITAI_LINKED if civitai_trust == "user" else CIVITAI_VERIFIED)
    badges = [b for b in (badge_of(match_method, hub_match), civ) if b and b != UNKNOWN]
    return " + ".join(badges or [UNKNOWN])


def trust_text(meta: ModelMetadata, *, long: bool = False) -> str:
    """`verified + civitai-verified` for a table; the long form for `show`."""
    badges = trust_badges(meta)
    return ("; ".join(_LABELS.get(b, b) for b in badges)) if long else " + ".join(badges)
