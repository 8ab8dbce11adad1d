"""How values look on the pages: Jinja filters and small view helpers (no logic of the library)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pumasfs.cli.output import size_text
from pumasfs.store.metadata import ModelMetadata

# Labels for the model page's "every field" table, in the order people read them.
FIELD_LABELS: dict[str, str] = {
    "official_name": "Name", "cleaned_name": "Folder name", "model_id": "Model id", "model_type": "Type",
    "subtype": "Subtype (app folder)", "family": "Family", "base_model": "Base model", "variant": "Variant",
    "precision": "Precision", "format": "Format", "param_count": "Parameters", "size_bytes": "Size",
    "tags": "Tags", "notes": "Notes", "hub_repo": "Hub repo", "hub_revision": "Hub revision",
    "match_method": "Match method", "match_confidence": "Match confidence", "release_date": "Release date",
    "download_url": "Download URL", "compatible_apps": "Compatible apps", "added_date": "Added",
    "updated_date": "Updated", "original_name": "Original file name", "layout": "Layout",
    "primary_file": "Primary file", "preview_image": "Preview image", "unsafe_format": "Unsafe format",
    "pending_online_lookup": "Hub lookup pending", "user_edited": "Edited by you",
    "approx_weight_size_gb": "Weights (GB)", "schema_version": "Schema version",
}
SKIP_FIELDS = {"files", "hashes", "identification"}


def human_size(n: float | None) -> str:
    return size_text(n)


def param_text(n: int | None) -> str:
    if not n:
        return ""
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}".replace(".0", "")
    return str(n)


def when(iso: str | None) -> str:
    """'2026-11-29T14:03:00Z' -> '29 Nov 2026'."""
    if not iso:
        return ""
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return dt.astimezone(UTC).strftime("%-d %b %Y")


def trigger_words(meta: ModelMetadata) -> list[str]:
    """The model's trigger words (CivitAI's trainedWords, or the user's own)."""
    own = getattr(meta, "trigger_words", None)
    if isinstance(own, list) and own:
        return [str(x) for x in own if x]
    extra = meta.model_extra or {}
    for key in ("trigger_words", "trained_words"):
        v = extra.get(key)
        if isinstance(v, list):
            return [str(x) for x in v if x]
    civ = extra.get("civitai")
    if isinstance(civ, dict) and isinstance(civ.get("trainedWords"), list):
        return [str(x) for x in civ["trainedWords"] if x]
    return []


def field_rows(meta: ModelMetadata) -> list[tuple[str, str, str]]:
    """(key, label, text) for every metadata field, known ones first, unknown ones kept."""
    data = meta.model_dump(mode="json")
    keys = [k for k in FIELD_LABELS if k in data] + sorted(k for k in data if k not in FIELD_LABELS)
    rows = []
    for k in keys:
        if k in SKIP_FIELDS:
            continue
        v = data[k]
        if v in (None, "", [], {}):
            continue
        if k == "size_bytes":
            text = f"{size_text(v)} ({v:,} bytes)"
        elif k == "param_count":
            text = f"{param_text(v)} ({v:,})"
        elif isinstance(v, bool):
            text = "yes" if v else "no"
        elif isinstance(v, float):
            text = f"{v:.3g}"
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            text = ", ".join(v)
        elif isinstance(v, (dict, list)):
            text = json.dumps(v, indent=2, ensure_ascii=False)
        else:
            text = str(v)
        rows.append((k, FIELD_LABELS.get(k, k.replace("_", " ").capitalize()), text))
    return rows


def initials(meta: ModelMetadata) -> str:
    words = [w for w in (meta.official_name or meta.cleaned_name).replace("-", " ").replace("_", " ").split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def hue(text: str) -> int:
    """A stable colour per family, so cards of one family look alike."""
    return sum(text.encode()) * 47 % 360


def query_url(base: dict[str, Any], **changes: Any) -> str:
    merged = {**base, **changes}
    clean = {k: v for k, v in merged.items() if v not in (None, "", 1) or (k == "page" and v not in (None, 1))}
    clean = {k: v for k, v in clean.items() if not (k == "page" and v == 1)}
    return "/?" + urlencode(clean) if clean else "/"
