"""What a CivitAI version gives a model's metadata.json.

CivitAI's own facts go into ``meta.civitai`` (names, creator, page, ids,
AIR, its base model, types, NSFW level, how we know); what users search and
edit (trigger words, tags, the description) goes into top-level fields,
applied with :meth:`ModelMetadata.apply_enrichment` so a field the user
edited is never overwritten.  CivitAI's base model never moves a model: the
header decides placement, and ``show`` says both when they disagree.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal

from pumasfs.hub.civitai.api import CivFile, CivModel, CivVersion
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.store.metadata import CivitaiInfo, ModelMetadata, utcnow

DESCRIPTION_MAX = 4000

# CivitAI baseModel -> the family pumas reads from headers.
BASE_MODEL_FAMILY: dict[str, str] = {
    "sd 1.4": "sd1", "sd 1.5": "sd1", "sd 1.5 lcm": "sd1", "sd 1.5 hyper": "sd1",
    "sd 2.0": "sd2", "sd 2.0 768": "sd2", "sd 2.1": "sd2", "sd 2.1 768": "sd2", "sd 2.1 unclip": "sd2",
    "sdxl 0.9": "sdxl", "sdxl 1.0": "sdxl", "sdxl 1.0 lcm": "sdxl", "sdxl turbo": "sdxl", "sdxl lightning": "sdxl",
    "sdxl hyper": "sdxl", "sdxl distilled": "sdxl", "pony": "sdxl", "illustrious": "sdxl", "noobai": "sdxl",
    "sd 3": "sd3", "sd 3.5": "sd3.5", "sd 3.5 large": "sd3.5", "sd 3.5 medium": "sd3.5",
    "sd 3.5 large turbo": "sd3.5", "flux.1 d": "flux", "flux.1 s": "flux", "flux.1 krea": "flux",
    "flux.1 kontext": "flux", "aurafow": "auraflow", "auraflow": "auraflow", "pixart a": "pixart",
    "pixart e": "pixart", "hunyuan 1": "hunyuan-dit", "hunyuan video": "hunyuan-video", "lumina": "lumina2",
    "wan video": "wan", "wan video 14b t2v": "wan", "wan video 1.3b t2v": "wan", "ltxv": "ltxv",
    "stable cascade": "cascade", "hidream": "hidream", "chroma": "chroma", "qwen": "qwen-image",
}


def family_of_base_model(base_model: str | None) -> str | None:
    if not base_model:
        return None
    return BASE_MODEL_FAMILY.get(base_model.strip().lower())


def base_model_disagrees(meta: ModelMetadata) -> bool:
    """CivitAI says another base than the header (an unknown header family never disagrees)."""
    civ = meta.civitai
    fam = family_of_base_model(civ.base_model if civ else None)
    return bool(fam and meta.family not in ("", "unknown", None) and fam != meta.family)


class _Text(HTMLParser):
    _BLOCK: ClassVar[set[str]] = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "blockquote",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def plain_text(markup: str | None, limit: int = DESCRIPTION_MAX) -> str | None:
    """CivitAI descriptions are HTML; metadata keeps readable text."""
    if not markup:
        return None
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # noqa: BLE001 - malformed markup of any kind: fall back to dropping tags
        text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def trigger_words(v: CivVersion) -> list[str]:
    """trainedWords, split where authors put several in one entry ("a, b")."""
    words: list[str] = []
    for entry in v.trainedWords:
        for w in entry.split(","):
            w = w.strip()
            if w and w not in words:
                words.append(w)
    return words


def civitai_info(
    v: CivVersion, model: CivModel | None, settings: CivitaiSettings, *, trust: Literal["hash", "user"],
    file: CivFile | None,
) -> CivitaiInfo:
    model_id = v.modelId if v.modelId is not None else (model.id if model else 0)
    return CivitaiInfo(
        model_id=model_id, version_id=v.id,
        model_name=(model.name if model else None) or (v.model.name if v.model else "") or "",
        version_name=v.name, creator=model.creator.username if model and model.creator else None,
        url=settings.model_url(model_id, v.id), air=v.air, base_model=v.baseModel, base_model_type=v.baseModelType,
        type=(v.model.type if v.model else None) or (model.type if model else None),
        file_type=file.type if file else None, file_name=file.name if file else None,
        nsfw_level=v.nsfwLevel, nsfw=bool((v.model.nsfw if v.model else False) or (model.nsfw if model else False)),
        tags=list(model.tags) if model else [], published_at=v.publishedAt, trust=trust,
        sha256=file.sha256 if file else None, checked=utcnow(),
    )


def enrichment_fields(meta: ModelMetadata, info: CivitaiInfo, v: CivVersion, model: CivModel | None) -> dict[str, Any]:
    """The top-level fields a match may set (user-edited ones are skipped by apply_enrichment)."""
    fields: dict[str, Any] = {
        "trigger_words": trigger_words(v),
        "tags": list(dict.fromkeys([*meta.tags, *[t.lower() for t in info.tags]])),
        "description": plain_text(model.description if model else None) or plain_text(v.description),
    }
    if not meta.release_date and v.publishedAt:
        fields["release_date"] = v.publishedAt
    if not meta.download_url:
        fields["download_url"] = info.url
    return {k: val for k, val in fields.items() if val not in (None, "", [], {})}


def apply_version(
    meta: ModelMetadata, v: CivVersion, model: CivModel | None, settings: CivitaiSettings, *,
    trust: Literal["hash", "user"], file: CivFile | None,
) -> list[str]:
    """Set what this version tells about ``meta``; returns the names of changed fields."""
    info = civitai_info(v, model, settings, trust=trust, file=file)
    changed: list[str] = []
    old = meta.civitai
    same = old is not None and old.model_dump(exclude={"checked"}) == info.model_dump(exclude={"checked"})
    if not same:
        meta.civitai = info
        changed.append("civitai")
    meta.civitai_checked = info.checked
    changed += meta.apply_enrichment(enrichment_fields(meta, info, v, model))
    return changed
