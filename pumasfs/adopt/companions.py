"""Sidecar files apps leave beside a model, and what adoption reads from them.

Which files travel with a model (same stem as its weights file): a ``.yaml``
config, previews (``.preview.png/jpg/jpeg/webp`` and plain images), Civitai
Helper's ``.civitai.info``, StabilityMatrix's ``.cm-info.json``,
ComfyUI-Lora-Manager's ``.metadata.json``, A1111's ``.json`` (LoRA settings)
and ``.txt``.  From the descriptions we take the name, the base model and the
trigger words (``trigger_words``, which ``pumas list --search`` reads).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Suffixes grouping.py does not already carry (it has .preview.*, .civitai.info, .yaml, images, .json).
EXTRA_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".cm-info.json", "info"),
    (".metadata.json", "info"),
    (".txt", "info"),
)
MAX_INFO_BYTES = 4 * 1024 * 1024  # a description larger than this is not one


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _CivitaiModel(_Lenient):
    name: str | None = None


class CivitaiInfoFile(_Lenient):
    """``.civitai.info``: a CivitAI model-version record (empty file: looked up, not found)."""

    name: str | None = None
    base_model: str | None = Field(default=None, alias="baseModel")
    trained_words: list[str] = Field(default_factory=list, alias="trainedWords")
    model: _CivitaiModel | None = None


class CmInfo(_Lenient):
    """StabilityMatrix's ``.cm-info.json``."""

    model_name: str | None = Field(default=None, alias="ModelName")
    base_model: str | None = Field(default=None, alias="BaseModel")
    trained_words: list[str] = Field(default_factory=list, alias="TrainedWords")


class LoraManagerInfo(_Lenient):
    """ComfyUI-Lora-Manager's ``.metadata.json``."""

    model_name: str | None = None
    base_model: str | None = None
    civitai: CivitaiInfoFile | None = None


class A1111Settings(_Lenient):
    """A1111's ``<stem>.json`` LoRA card settings."""

    activation_text: str | None = Field(default=None, alias="activation text")
    sd_version: str | None = Field(default=None, alias="sd version")


def extra_companions(weights: Path, names: set[str] | None = None) -> list[tuple[Path, str, str]]:
    """(path, name, role) of the sidecars beside ``weights`` that grouping does not pick up.

    ``names``: the folder's entries when the caller listed it already (one
    listing per folder instead of a ``stat`` per suffix per model).
    """
    low = weights.name.lower()
    stem = weights.name[: len(weights.name) - len(os.path.splitext(low)[1])]
    out = []
    for suffix, role in EXTRA_SUFFIXES:
        if names is not None and stem + suffix not in names:
            continue
        p = weights.with_name(stem + suffix)
        try:
            if p.is_file() and not p.is_symlink():
                out.append((p, p.name, role))
        except OSError:
            continue
    return out


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_INFO_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _parse(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None


def read_descriptions(files: list[Path]) -> dict[str, Any]:
    """Metadata fields found in a model's sidecars: official_name, base_model, trigger words."""
    name: str | None = None
    base: str | None = None
    words: list[str] = []
    for p in sorted(files, key=lambda p: p.name):
        low = p.name.lower()
        raw = _read(p) if low.endswith((".civitai.info", ".cm-info.json", ".metadata.json", ".json")) else None
        if not raw or not raw.strip():
            continue
        if low.endswith(".civitai.info"):
            c = _parse(CivitaiInfoFile, raw)
            if c is not None:
                name = name or (c.model.name if c.model and c.model.name else c.name)
                base = base or c.base_model
                words += c.trained_words
        elif low.endswith(".cm-info.json"):
            m = _parse(CmInfo, raw)
            if m is not None:
                name, base = name or m.model_name, base or m.base_model
                words += m.trained_words
        elif low.endswith(".metadata.json"):
            lm = _parse(LoraManagerInfo, raw)
            if lm is not None:
                name, base = name or lm.model_name, base or lm.base_model
                if lm.civitai is not None:
                    words += lm.civitai.trained_words
        else:
            s = _parse(A1111Settings, raw)
            if s is not None and s.activation_text:
                words += [w.strip() for w in s.activation_text.split(",") if w.strip()]
    out: dict[str, Any] = {}
    if name:
        out["official_name"] = name.strip()
    if base:
        out["base_model"] = base.strip()
    words = [w for w in dict.fromkeys(w.strip() for w in words if isinstance(w, str)) if w]
    if words:
        out["trigger_words"] = words
    return out
