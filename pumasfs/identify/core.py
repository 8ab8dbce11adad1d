"""identify_path: open read-only, sniff the container, read only its header, apply the rules.

Pure apart from reading: no writes, no caches, no imports of frameworks; O(header) per file.
``pumas import``, ``pumas identify`` and ``pumas doctor`` all call this one function.
"""

from __future__ import annotations

import os
import stat as _stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.identify import folders as F
from pumasfs.identify import rules
from pumasfs.identify import vocab as V
from pumasfs.identify.formats import SHARD_RE, sniff
from pumasfs.identify.gguf import gguf_precision, read_gguf
from pumasfs.identify.model import Identification
from pumasfs.identify.pickle import read_legacy_pickle, read_zip_pickle
from pumasfs.identify.safetensors import read_header, table_from_header
from pumasfs.identify.tensors import TensorTable

# GGUF architectures ComfyUI-GGUF loads as diffusion models / text encoders (never LLM apps)
GGUF_DIFFUSION_ARCHS = {
    "flux": V.FLUX, "sd1": V.SD1, "sdxl": V.SDXL, "sd3": V.SD3, "aura": V.AURAFLOW, "hidream": V.HIDREAM,
    "cosmos": "cosmos", "ltxv": V.LTXV, "hyvid": V.HUNYUAN_VIDEO, "wan": V.WAN, "lumina2": V.LUMINA2,
    "qwen_image": V.QWEN_IMAGE, "chroma": V.CHROMA, "mochi": V.MOCHI, "omnigen2": V.OMNIGEN2, "hunyuan_dit": V.HUNYUAN_DIT,
    "pixart": V.PIXART, "cascade": V.CASCADE,
}
# llama.cpp architectures ComfyUI-GGUF loads as text encoders when the file is an encoder conversion
# (no output head, no chat template): city96's llava-llama3 / Qwen2.5-VL encoder GGUFs
# (architecture -> (encoder family, hidden width)): the width keeps small LLMs of the same architecture out
GGUF_TE_ARCHS = {"llama": (V.LLAMA3_8B, 4096), "qwen2vl": (V.QWEN25_VL_7B, 3584)}
# files beside a weights file that make it a language-model release rather than an encoder repack
LLM_COMPANIONS = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def identify_path(path: os.PathLike[str] | str, *, name_hint: str | None = None) -> Identification:
    """Identify one file or one model folder. Raises PumasError("<path>: <reason>") on bad input."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise NotFound(f"{p}: no such file or directory") from None
    except OSError as e:
        raise PumasError(f"{p}: {e.strerror or e}") from None
    if _stat.S_ISDIR(st.st_mode):
        return identify_folder(p, name_hint=name_hint)
    if not _stat.S_ISREG(st.st_mode):
        raise PumasError(f"{p}: not a regular file")
    m = SHARD_RE.match(p.name)
    if m and int(m["total"]) > 1:
        return identify_shard(p, name_hint=name_hint)
    return identify_file(p, st.st_size, name_hint=name_hint)


# ---------------------------------------------------------------------------------------------
# single files


def read_tables(p: Path, size: int) -> tuple[str, TensorTable, dict[str, Any], list[str], list[str]]:
    """(format, tensors, metadata, globals, unsafe globals) of one weights file."""
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError as e:
        raise PumasError(f"{p}: {e.strerror or e}") from None
    try:
        head = os.pread(fd, 16, 0)
        fmt = sniff(head, size)
        if fmt == V.SAFETENSORS:
            header, meta = read_header(fd, size, str(p))
            n = int.from_bytes(head[:8], "little")
            return fmt, table_from_header(header, size - 8 - n, str(p)), meta, [], []
        if fmt == V.GGUF:
            table, kv, _ = read_gguf(fd, size, str(p))
            return fmt, table, kv, [], []
    finally:
        os.close(fd)
    if fmt == V.ZIP_PICKLE:
        table, gl, unsafe = read_zip_pickle(str(p))
        return fmt, table, {}, gl, unsafe
    if fmt == V.PICKLE:
        table, gl, unsafe = read_legacy_pickle(str(p))
        return fmt, table, {}, gl, unsafe
    if fmt == V.ONNX:
        return fmt, TensorTable({}), {}, [], []
    if size == 0:
        raise PumasError(f"{p}: empty file")
    if head[:1] == b"{" or (len(head) >= 8 and int.from_bytes(head[:8], "little") > 0 and head[8:9] not in (b"{", b"")):
        pass
    raise PumasError(f"{p}: unknown format (not safetensors, GGUF, pickle or zip)")


def identify_file(p: Path, size: int, *, name_hint: str | None = None) -> Identification:
    fmt, table, meta, gl, unsafe = read_tables(p, size)
    rec = Identification(path=str(p), format=fmt, files=[p.name], size_bytes=size)
    if fmt == V.ONNX:
        rec.model_type = V.UNKNOWN
        rec.confidence = 0.3
        rec.warnings.append("ONNX graph: its role is not identified from the header")
        return rec
    if fmt == V.GGUF:
        v = _apply_gguf(rec, table, meta)
    else:
        v = _apply(rec, table)
        if fmt == V.SAFETENSORS:
            _apply_safetensors_metadata(rec, meta)
        _llm_or_encoder(rec, p)
    if fmt in (V.PICKLE, V.ZIP_PICKLE):
        rec.unsafe_format = True
        rec.unsafe_globals = unsafe
        _apply_pickle_globals(rec, gl)
        if unsafe:
            rec.warnings.append(f"pickle names {len(unsafe)} unsafe global(s): {', '.join(unsafe[:5])}")
    _name_hint(rec, name_hint or p.name, v.ambiguous)
    _releases(rec, name_hint or p.name)
    if rec.model_type == V.LLM and rec.size is None and rec.param_count:
        rec.size = rules.llm_size(rec.param_count)
    return rec


def _llm_or_encoder(rec: Identification, p: Path) -> None:
    """An LLM-shaped text encoder with a release's companions beside it (config, tokenizer,
    generation config) is the language model itself, which image apps do not load."""
    if rec.subtype != V.TEXT_ENCODERS or not rec.family or "scaled_fp8" in " ".join(rec.evidence):
        return
    if not any("no lm_head" in e for e in rec.evidence):
        return
    found = [c for c in LLM_COMPANIONS if (p.parent / c).is_file()]
    if found == ["config.json"]:
        # a lone config.json counts only when it names a language model (a stray one in Downloads does not)
        try:
            archs = F.read_json(p.parent / "config.json").get("architectures") or []
        except PumasError:
            archs = []
        if not any(isinstance(a, str) and a.endswith(("ForCausalLM", "ForConditionalGeneration")) for a in archs):
            found = []
    if found:
        rec.model_type, rec.subtype, rec.confidence = V.LLM, None, 0.8
        rec.family = {V.LLAMA3_8B: "llama", V.QWEN25_VL_7B: "qwen2", V.QWEN25_3B: "qwen2", V.GEMMA2_2B: "gemma2",
                      V.GEMMA3_4B: "gemma3", V.QWEN3_4B: "qwen3"}.get(rec.family, rec.family)
        rec.evidence.append(f"beside it: {', '.join(found)} (a language-model release)")
        rec.warnings = [w for w in rec.warnings if "LLM-shaped" not in w]


def _releases(rec: Identification, name: str | None) -> None:
    """Releases sharing the layout are all named; a file name that names one is noted, never trusted alone."""
    if not rec.releases:
        return
    rec.warnings.append(f"the header cannot tell these releases apart: {', '.join(rec.releases)}")
    n = Path(name or "").name.lower().replace("_", "-").replace(".", "-")
    for r in rec.releases:
        distinct = [part for part in r.split("-") if all(part not in o.split("-") for o in rec.releases if o != r)]
        if distinct and all(part in n for part in distinct):
            rec.evidence.append(f"file name {Path(name or '').name!r} suggests {r}")
            break


def _apply(rec: Identification, table: TensorTable, verdict: rules.Verdict | None = None) -> rules.Verdict:
    params, precision = table.stats(rec.path)
    v = verdict or rules.classify(table)
    rec.model_type, rec.subtype, rec.family, rec.variant = v.model_type, v.subtype, v.family, v.variant
    rec.size, rec.releases = v.size, list(v.releases)
    rec.confidence = v.confidence
    rec.evidence = v.evidence
    rec.warnings = list(v.warnings)
    rec.param_count = params
    rec.precision = precision
    return v


# kohya's ss_base_model_version (lower-cased) -> family: the first test that holds
KOHYA_BASES: list[tuple[Callable[[str], bool], str]] = [
    (lambda b: "sdxl" in b, "sdxl"),
    (lambda b: "flux" in b, "flux"),
    (lambda b: b.startswith("sd_v1"), "sd1"),
    (lambda b: b.startswith("sd_v2"), "sd2"),
]


def _apply_safetensors_metadata(rec: Identification, meta: dict[str, Any]) -> None:
    # kohya writes the base model of a LoRA; ComfyUI/diffusers write modelspec.architecture
    if rec.subtype == V.LORAS and rec.family is None:
        base = str(meta.get("ss_base_model_version", "")).lower()
        fam = next((f for holds, f in KOHYA_BASES if holds(base)), None)
        if fam:
            rec.family = fam
            rec.confidence = 0.7
            rec.evidence.append(f"__metadata__.ss_base_model_version = {base}")
    arch = str(meta.get("modelspec.architecture", ""))
    if arch and rec.family is None:
        rec.evidence.append(f"__metadata__.modelspec.architecture = {arch}")


def _apply_gguf(rec: Identification, table: TensorTable, kv: dict[str, Any]) -> rules.Verdict:
    arch = kv.get("general.architecture")
    arch = arch if isinstance(arch, str) else None
    v = rules.classify(table)
    if v.model_type not in (V.DIFFUSION, V.UPSCALER):
        if arch in GGUF_DIFFUSION_ARCHS:
            v = rules.Verdict(V.DIFFUSION, V.DIFFUSION_MODELS, GGUF_DIFFUSION_ARCHS[arch], None, 0.6,
                              [f"general.architecture = {arch}"], ["diffusion GGUF with an unrecognised tensor layout"])
        elif arch == "t5encoder" or arch == "t5":
            pass  # the T5 rule saw llama.cpp names already; a failing layout stays unknown
        elif (arch in GGUF_TE_ARCHS and table.dim("token_embd.weight", 1) == GGUF_TE_ARCHS[arch][1]
              and "output.weight" not in table and "tokenizer.chat_template" not in kv):
            v = rules.Verdict(V.DIFFUSION, V.TEXT_ENCODERS, GGUF_TE_ARCHS[arch][0], None, 0.6,
                              [f"general.architecture = {arch}", "no output.weight, no chat template (an encoder conversion)"],
                              ["LLM-shaped GGUF text encoder (ComfyUI-GGUF); the same model with a chat template is an LLM"])
        elif arch:
            name = kv.get("general.name")
            v = rules.Verdict(V.LLM, None, arch, None, 0.95, [f"general.architecture = {arch}"] +
                              ([f"general.name = {name}"] if isinstance(name, str) else []) +
                              (["tokenizer.chat_template present"] if "tokenizer.chat_template" in kv else []))
            if arch == "clip":
                v.model_type, v.family = V.VISION, "clip"
                v.warnings.append("GGUF vision projector (mmproj) of a multimodal LLM")
    else:
        if arch:
            v.evidence.append(f"general.architecture = {arch}")
    _apply(rec, table, v)
    rec.precision = gguf_precision(kv, table)
    return v


def _apply_pickle_globals(rec: Identification, gl: list[str]) -> None:
    # whole-module pickles (ultralytics YOLO) say what they are by their class names
    for g in gl:
        if g.startswith("ultralytics.nn.tasks."):
            cls = g.rsplit(".", 1)[1]
            rec.model_type = V.VISION
            rec.family = "yolo"
            rec.subtype = V.ULTRALYTICS_SEGM if "Segmentation" in cls else V.ULTRALYTICS_BBOX
            rec.confidence = max(rec.confidence, 0.8)
            rec.evidence.append(f"pickle global {g}")
            return


def _name_hint(rec: Identification, name: str | None, amb: tuple[str, ...]) -> None:
    """A file name may decide what the header could not (VAE SD1 vs SDXL), and says so."""
    if not name or not amb:
        return
    fam = rules.family_from_name(Path(name).name, amb)
    if fam:
        rec.evidence.append(f"file name {Path(name).name!r} suggests {fam} (the header cannot tell {' from '.join(amb)})")
        if fam != rec.family and fam == V.QWEN_IMAGE:
            rec.variant = None  # "2.1" named the Wan VAE generation, not a Qwen-Image one
        rec.family = fam
        rec.confidence = max(rec.confidence, 0.7)
    else:
        rec.warnings.append(f"family assumed {rec.family}; could be any of {', '.join(amb)}")
        rec.confidence = min(rec.confidence, 0.5)


# ---------------------------------------------------------------------------------------------
# shard sets and folders


def _read_many(paths: list[Path], base: Path, rec: Identification) -> TensorTable:
    tables = []
    for q in paths:
        size = q.stat().st_size
        rec.size_bytes += size
        fmt, table, _, gl, unsafe = read_tables(q, size)
        table.stats(str(q))  # validates each member on its own (offsets against its own size)
        if fmt in (V.PICKLE, V.ZIP_PICKLE):
            rec.unsafe_format = True
            rec.unsafe_globals += [u for u in unsafe if u not in rec.unsafe_globals]
        tables.append(table)
    return F.merged_table(tables)


def identify_shard(p: Path, *, name_hint: str | None = None) -> Identification:
    rec = Identification(path=str(p), format=V.SHARDED_SET)
    try:
        members = F.shard_set_of(p) or [p]
        missing: list[str] = []
    except PumasError as e:
        m = SHARD_RE.match(p.name)
        if m is None:  # identify_path sends only shard names here
            raise
        members = sorted(p.parent.glob(f"{m['stem']}-*-of-{m['total']}{m['suffix']}"))
        missing = [str(e).split("missing ", 1)[-1]]
    rec.files = [q.name for q in members]
    table = _read_many(members, p.parent, rec)
    v = _apply(rec, table)
    if missing:
        rec.warnings.append(f"incomplete sharded set: missing {missing[0]}")
        rec.confidence = min(rec.confidence, 0.5)
    _llm_or_encoder(rec, p)
    _name_hint(rec, name_hint or p.name, v.ambiguous)
    _releases(rec, name_hint or p.name)
    if rec.model_type == V.LLM and rec.param_count:
        rec.size = rules.llm_size(rec.param_count)
    return rec


def identify_folder(folder: Path, *, name_hint: str | None = None) -> Identification:
    kind = F.folder_kind(folder)
    if kind is None:
        files = F.weight_files(folder, recursive=False)
        if len(files) == 1:
            rec = identify_path(files[0], name_hint=name_hint)
            return rec
        raise PumasError(f"{folder}: not a model folder (no model_index.json, config.json, adapter_config.json "
                         f"or shard index; {len(files)} weight files)")
    rec = Identification(path=str(folder), format=kind)
    if kind == V.DIFFUSERS_FOLDER:
        _diffusers(folder, rec)
    elif kind == V.PEFT_FOLDER:
        _peft(folder, rec)
    else:
        _transformers_or_shards(folder, rec, kind)
    return rec


def _diffusers(folder: Path, rec: Identification) -> None:
    idx = folder / "model_index.json"
    single = not idx.is_file()  # a lone component folder (config.json with _class_name)
    manifest = F.read_json(folder / ("config.json" if single else "model_index.json"))
    cls = str(manifest.get("_class_name", ""))
    comps = [folder] if single else [folder / k for k, v in manifest.items()
                                     if not k.startswith("_") and isinstance(v, list) and (folder / k).is_dir()]
    total = 0
    main_v = None
    all_files: list[Path] = []
    missing_all: list[str] = []
    for comp in comps:
        files = F.component_weights(comp)
        if not files:
            continue
        names, missing = F.index_members(comp)
        missing_all += [f"{comp.name}/{m}" for m in missing]
        all_files += files
        sub = Identification(path=str(comp), format=V.SAFETENSORS)
        table = _read_many(files, comp, sub)
        rec.size_bytes += sub.size_bytes
        rec.unsafe_format |= sub.unsafe_format
        rec.unsafe_globals += sub.unsafe_globals
        params, prec = table.stats(str(comp))
        total += params
        if comp.name in ("unet", "transformer", "prior", "decoder") or (single and main_v is None):
            main_v = rules.classify(table)
            rec.precision = prec
            rec.evidence.append(f"{comp.name}/: " + "; ".join(main_v.evidence[:2]))
    rec.model_type = V.DIFFUSION
    rec.subtype = V.DIFFUSERS if not single else (main_v.subtype if main_v else None)
    rec.param_count = total
    rec.files = [str(q.relative_to(folder)) for q in all_files]
    rec.evidence.insert(0, f"{'config' if single else 'model_index'}.json _class_name = {cls}")
    fam = main_v.family if main_v else None
    if main_v and main_v.model_type == V.DIFFUSION and fam:
        rec.family, rec.variant, rec.confidence = fam, main_v.variant, 0.95
        rec.size, rec.releases = main_v.size, list(main_v.releases)
    else:
        for k, f in F.PIPELINE_FAMILY:
            if cls.startswith(k) or k in cls:
                rec.family = f
                break
        rec.confidence = 0.6 if rec.family else 0.3
        rec.warnings.append("family taken from the pipeline class name")
    if missing_all:
        rec.warnings.append(f"incomplete sharded set: missing {', '.join(missing_all)}")
        rec.confidence = min(rec.confidence, 0.5)


def _transformers_or_shards(folder: Path, rec: Identification, kind: str) -> None:
    cfg = F.read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    names, missing = F.index_members(folder)
    if names:
        files = [folder / n for n in names if (folder / n).exists()]
    else:
        files = F.component_weights(folder)
    rec.files = [str(q.relative_to(folder)) for q in files]
    table = _read_many(files, folder, rec) if files else TensorTable({})
    v = rules.classify(table) if files else rules.Verdict()
    params, prec = table.stats(str(folder))
    rec.param_count, rec.precision = params, prec
    archs = cfg.get("architectures") or []
    archs = [a for a in archs if isinstance(a, str)]
    mtype = cfg.get("model_type") if isinstance(cfg.get("model_type"), str) else None
    enc = next((F.ENCODER_ARCHS[a] for a in archs if a in F.ENCODER_ARCHS), None)
    causal = any(a.endswith(("ForCausalLM", "ForConditionalGeneration", "LMHeadModel")) for a in archs)
    if causal and v.subtype == V.TEXT_ENCODERS and v.model_type == V.DIFFUSION and not enc:
        # an LLM-shaped encoder layout in a folder whose config names a language model: the release itself
        v = rules.Verdict(V.LLM, None, mtype or v.family, None, v.confidence, v.evidence[:1])
    if kind == V.TRANSFORMERS_FOLDER:
        rec.evidence.append(f"config.json architectures = {archs}" + (f", model_type = {mtype}" if mtype else ""))
    if enc or v.model_type in (V.DIFFUSION, V.UPSCALER):
        rec.model_type = v.model_type if v.model_type != V.UNKNOWN else V.DIFFUSION
        rec.subtype = v.subtype or enc
        rec.family, rec.variant = v.family, v.variant
        rec.confidence = v.confidence
        rec.evidence += v.evidence
        rec.warnings += v.warnings
    elif any(a.endswith(("ForCausalLM", "ForConditionalGeneration", "LMHeadModel")) for a in archs) or v.model_type == V.LLM:
        rec.model_type = V.LLM
        rec.subtype = None
        rec.family = mtype or v.family
        rec.confidence = 0.95 if mtype else v.confidence
        rec.evidence += v.evidence[:1]
        rec.size = rules.llm_size(params) if params else None
    else:
        rec.model_type = v.model_type
        rec.subtype, rec.family, rec.variant = v.subtype, v.family or mtype, v.variant
        rec.confidence = min(v.confidence, 0.6)
        rec.evidence += v.evidence
        rec.warnings += v.warnings
    if missing:
        rec.warnings.append(f"incomplete sharded set: missing {', '.join(missing)}")
        rec.confidence = min(rec.confidence, 0.5)


def _peft(folder: Path, rec: Identification) -> None:
    cfg = F.read_json(folder / "adapter_config.json")
    files = F.component_weights(folder)
    rec.files = [str(q.relative_to(folder)) for q in files]
    table = _read_many(files, folder, rec) if files else TensorTable({})
    params, prec = table.stats(str(folder))
    rec.param_count, rec.precision = params, prec
    base = cfg.get("base_model_name_or_path")
    task = cfg.get("task_type")
    rec.evidence.append(f"adapter_config.json peft_type = {cfg.get('peft_type')}, base = {base}")
    llm_like = task in ("CAUSAL_LM", "SEQ_2_SEQ_LM", "TOKEN_CLS", "SEQ_CLS") or \
        table.any_contains(".model.layers.") is not None or table.any_contains("model.layers.") is not None
    if llm_like:
        rec.model_type = V.LLM
        rec.subtype = None
        fam = None
        if isinstance(base, str):
            b = base.lower()
            for f in ("llama", "qwen2", "qwen3", "mistral", "gemma", "phi3", "phi"):
                if f in b:
                    fam = "llama" if f == "llama" else f
                    break
        rec.family = fam or "llama"
        rec.confidence = 0.7
        rec.warnings.append("adapter for an LLM (not loaded by image apps)")
        return
    v = rules.lora(table) if files else None
    if v is None:
        v = rules.classify(table)
    rec.model_type, rec.subtype, rec.family, rec.variant = V.DIFFUSION, V.LORAS, v.family, v.variant
    rec.confidence = v.confidence
    rec.evidence += v.evidence
    rec.warnings += v.warnings
    if rec.family is None and isinstance(base, str):
        fam = rules.family_from_name(base.split("/")[-1])
        if fam:
            rec.family = fam
            rec.evidence.append(f"base model name {base!r} suggests {fam}")
