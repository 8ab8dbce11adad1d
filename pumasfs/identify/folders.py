"""Folders that are one model: Diffusers pipelines, transformers models, PEFT adapters, shard sets.

The manifest says what kind of folder it is (``model_index.json``, ``config.json``,
``adapter_config.json``, ``*.index.json``); the weights' headers still decide family and variant,
since a manifest names a class, not the base it was trained from. Only headers are read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pumasfs.base.errors import PumasError
from pumasfs.identify import vocab as V
from pumasfs.identify.formats import SHARD_RE, is_weights_file
from pumasfs.identify.tensors import TensorTable

MAX_JSON = 64 * 1024 * 1024


def read_json(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_JSON:
            raise PumasError(f"{path}: JSON manifest of {size} bytes is too large")
        with open(path, "rb") as f:
            d = json.loads(f.read())
    except (ValueError, UnicodeDecodeError) as e:
        raise PumasError(f"{path}: invalid JSON ({str(e)[:80]})") from None
    except OSError as e:
        raise PumasError(f"{path}: {e.strerror or e}") from None
    if not isinstance(d, dict):
        raise PumasError(f"{path}: invalid manifest (not a JSON object)")
    return d


def shard_set_of(path: os.PathLike[str] | str) -> list[Path] | None:
    """All members of the ``*-0000N-of-0000M.*`` set ``path`` belongs to, in order; None if not a shard.

    Raises PumasError naming the missing shard(s) when the set is incomplete.
    """
    p = Path(path)
    m = SHARD_RE.match(p.name)
    if not m:
        return None
    total = int(m["total"])
    if total < 1 or int(m["index"]) < 1 or int(m["index"]) > total:
        raise PumasError(f"{p}: shard number {m['index']} is outside 1..{total}")
    width = len(m["index"])
    members = [p.with_name(f"{m['stem']}-{i:0{width}d}-of-{m['total']}{m['suffix']}") for i in range(1, total + 1)]
    missing = [q.name for q in members if not q.exists()]
    if missing:
        raise PumasError(f"{p}: incomplete sharded set, missing {', '.join(missing)}")
    return members


def weight_files(folder: Path, recursive: bool = True) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    out = []
    for q in it:
        if is_weights_file(q.name) and q.is_file() and not any(part.startswith(".") for part in q.relative_to(folder).parts):
            out.append(q)
    return sorted(out)


def folder_kind(folder: Path, *, with_weights: bool = False) -> str | None:
    """What kind of one-model folder this is, from its manifest; None when it is not one model.

    ``model_index.json``: a Diffusers pipeline; ``adapter_config.json``: a PEFT adapter;
    ``config.json``: a transformers model, or a lone Diffusers component when it names a
    ``_class_name``; a ``*.index.json`` weight map alone: a shard set.

    ``with_weights`` asks the importer's question, "is this folder one model to import whole?":
    then a PEFT folder must hold its ``adapter_model.*`` weights and a ``config.json`` folder some
    weights file of its own (a stray manifest does not swallow a folder of unrelated models), and
    a bare shard index does not count (the grouper gathers shard sets by their names).
    The one classifier behind ``identify_path``, ``pumas identify`` and the import grouping.
    """
    if (folder / "model_index.json").is_file():
        return V.DIFFUSERS_FOLDER
    if (folder / "adapter_config.json").is_file() and (not with_weights or any(
            is_weights_file(q.name) and q.name.startswith("adapter_model") for q in folder.iterdir())):
        return V.PEFT_FOLDER
    cfg = folder / "config.json"
    if cfg.is_file() and (not with_weights or any(is_weights_file(q.name) and q.is_file() for q in folder.iterdir())):
        try:
            d = read_json(cfg)
        except PumasError:
            d = {}
        if "_class_name" in d:
            return V.DIFFUSERS_FOLDER  # a single diffusers component (e.g. a transformer/ folder)
        return V.TRANSFORMERS_FOLDER
    if not with_weights and any(folder.glob("*.index.json")):
        return V.SHARDED_SET
    return None


# pipeline class name -> family, used only when the component weights cannot decide
PIPELINE_FAMILY = [
    ("StableDiffusionXL", V.SDXL), ("StableDiffusion3", V.SD3), ("StableDiffusion", V.SD1), ("Flux", V.FLUX),
    ("PixArt", V.PIXART), ("AuraFlow", V.AURAFLOW), ("HunyuanDiT", V.HUNYUAN_DIT), ("HunyuanVideo", V.HUNYUAN_VIDEO),
    ("Wan", V.WAN), ("LTX", V.LTXV), ("Lumina2", V.LUMINA2), ("QwenImage", V.QWEN_IMAGE),
    ("StableCascade", V.CASCADE), ("HiDream", V.HIDREAM), ("Chroma", V.CHROMA), ("Kandinsky", "kandinsky"),
]

# transformers architectures that are encoders used by image pipelines
ENCODER_ARCHS = {
    "CLIPTextModel": V.TEXT_ENCODERS, "CLIPTextModelWithProjection": V.TEXT_ENCODERS,
    "T5EncoderModel": V.TEXT_ENCODERS, "UMT5EncoderModel": V.TEXT_ENCODERS,
    "CLIPVisionModel": V.CLIP_VISION, "CLIPVisionModelWithProjection": V.CLIP_VISION,
    "SiglipVisionModel": V.CLIP_VISION, "Siglip2VisionModel": V.CLIP_VISION,
}


def component_weights(comp: Path) -> list[Path]:
    """One copy of a component's weights: a shard set, or the preferred precision variant."""
    files = [q for q in sorted(comp.iterdir()) if q.is_file() and is_weights_file(q.name)]
    if not files:
        return []
    st = [q for q in files if q.name.endswith((".safetensors", ".sft"))] or files
    shards = [q for q in st if SHARD_RE.match(q.name)]
    if shards:
        # choose one set (the plain one if both fp16 and plain exist)
        plain = [q for q in shards if (m := SHARD_RE.match(q.name)) and m["suffix"] in (".safetensors", ".bin")]
        return plain or shards
    plain = [q for q in st if q.name.count(".") == 1]
    return [plain[0] if plain else st[0]]


def index_members(folder: Path) -> tuple[list[str], list[str]]:
    """(files named by *.index.json weight maps, the ones missing on disk)."""
    names: list[str] = []
    for idx in sorted(folder.glob("*.index.json")):
        d = read_json(idx)
        wm = d.get("weight_map")
        if isinstance(wm, dict):
            for f in wm.values():
                if isinstance(f, str) and f not in names:
                    names.append(f)
    missing = [n for n in names if not (folder / n).exists()]
    return names, missing


def merged_table(tables: list[TensorTable]) -> TensorTable:
    t: dict[str, tuple[str, list[int]]] = {}
    for x in tables:
        for k, dt, s in x.items():
            t[k] = (dt, s)
    return TensorTable(t)
