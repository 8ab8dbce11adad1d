"""Hub facts -> the seed's metadata fields.

Kept separate from the lookup so the mapping is readable in one place: which
card field becomes which metadata field, and which hub tags are worth keeping.
"""

from __future__ import annotations

import re
from typing import Any

from pumasfs.hub.cache import RepoSnapshot

SUMMARY_CHARS = 400

PIPELINE_TO_TYPE = {
    "text-to-image": "diffusion", "image-to-image": "diffusion", "text-to-video": "diffusion",
    "image-to-video": "diffusion", "unconditional-image-generation": "diffusion", "inpainting": "diffusion",
    "text-generation": "llm", "text2text-generation": "llm", "conversational": "llm",
    "image-text-to-text": "llm",
    "automatic-speech-recognition": "audio", "text-to-speech": "audio", "text-to-audio": "audio",
    "audio-to-audio": "audio", "audio-classification": "audio",
    "image-classification": "vision", "object-detection": "vision", "image-segmentation": "vision",
    "depth-estimation": "vision", "zero-shot-image-classification": "vision",
    "image-feature-extraction": "vision", "mask-generation": "vision",
}

# Hub-computed tags that say nothing about the model to a person browsing a library.
_NOISE_TAGS = {
    "endpoints_compatible", "autotrain_compatible", "text-generation-inference", "has_space", "safetensors",
    "pytorch", "gguf", "diffusers", "transformers", "conversational", "en", "deploy:azure", "custom_code",
}
MAX_TAGS = 12


def hub_tags(snap: RepoSnapshot) -> list[str]:
    card_tags = snap.card.get("tags")
    out: list[str] = []
    for t in [*(card_tags if isinstance(card_tags, list) else []), *snap.tags]:
        t = str(t).strip()
        if not t or ":" in t or t.lower() in _NOISE_TAGS or t in out:
            continue
        out.append(t)
    if snap.pipeline_tag and snap.pipeline_tag not in out:
        out.insert(0, snap.pipeline_tag)
    return out[:MAX_TAGS]


def base_model(snap: RepoSnapshot) -> str | None:
    bm = snap.card.get("base_model")
    if isinstance(bm, list):
        bm = bm[0] if bm else None
    if isinstance(bm, str) and bm.strip():
        return bm.strip()
    for t in snap.tags:
        # "base_model:org/name" (plain) or "base_model:quantized:org/name" (relation first)
        parts = t.split(":")
        if parts[0] == "base_model" and len(parts) in (2, 3) and "/" in parts[-1]:
            return parts[-1]
    return None


def official_name(snap: RepoSnapshot) -> str:
    name = snap.card.get("model_name")
    return str(name) if isinstance(name, str) and name.strip() else snap.repo_id.rsplit("/", 1)[-1]


def compatible_apps(snap: RepoSnapshot, model_type: str, file_names: list[str]) -> list[str]:
    gguf = any(n.lower().endswith(".gguf") for n in file_names) or "gguf" in (snap.library_name or "").lower()
    kind = PIPELINE_TO_TYPE.get(snap.pipeline_tag or "", model_type)
    if gguf:
        return ["llama.cpp", "ollama", "lm-studio"]
    if kind in ("diffusion", "upscaler") or snap.library_name == "diffusers":
        return ["comfyui"]
    if kind == "llm" and snap.library_name == "transformers":
        return ["text-generation-webui"]
    return []


_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)
_SKIP_LINE = re.compile(r"^\s*(#|!\[|<|\[!\[|\||>|```|---|\*\*\*|=+$|-+$)")


def readme_summary(text: str) -> str | None:
    """The README's first prose paragraph, cut to a few sentences."""
    body = _FRONT_MATTER.sub("", text)
    para: list[str] = []
    in_code = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if not line.strip():
            if para:
                break
            continue
        if _SKIP_LINE.match(line):
            if para:
                break
            continue
        para.append(line.strip())
    if not para:
        return None
    summary = " ".join(para)
    summary = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", summary)  # links -> their text
    summary = re.sub(r"[*_`]{1,3}", "", summary)
    if len(summary) > SUMMARY_CHARS:
        cut = summary[:SUMMARY_CHARS]
        summary = cut[: cut.rfind(" ")].rstrip(",;:") + " …" if " " in cut else cut
    return summary


def model_card(snap: RepoSnapshot, endpoint: str) -> dict[str, Any]:
    card: dict[str, Any] = {
        "source": "huggingface",
        "repo": snap.repo_id,
        "url": f"{endpoint}/{snap.repo_id}",
        "license": snap.card.get("license_name") or snap.card.get("license"),
        "pipeline_tag": snap.pipeline_tag,
        "library": snap.library_name,
        "summary": snap.readme_summary,
        "gated": bool(snap.gated) or None,
    }
    return {k: v for k, v in card.items() if v not in (None, "", [])}
