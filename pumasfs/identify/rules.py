"""From a tensor table to (model_type, subtype, family, variant): rules that follow the architecture.

Each rule looks for the keys an architecture cannot exist without (Flux has ``double_blocks`` and
``img_in``; an SD UNet has ``input_blocks.0.0`` whose input channels say inpaint or not) and
reads the family from the shapes that define it (the cross-attention context width of a UNet is
768 for SD1, 1024 for SD2, 2048 for SDXL, 1280 for the refiner). Key facts come from ComfyUI's
model_detection.py / lora.py, spandrel's detection and InvokeAI's probes; no file-name lists.

Order matters: adapters (LoRA, ControlNet, IP-Adapter) carry pieces of a base model's names, so
they are recognised before base models; a full checkpoint is recognised by its sub-models.

The result is a ``Verdict``; ``confidence`` is high when the decisive keys were found, lower when
the header cannot decide (then a warning says what is unknown, and a file-name hint may help).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pumasfs.identify import vocab as V
from pumasfs.identify.tensors import TensorTable


@dataclass
class Verdict:
    model_type: str = V.UNKNOWN
    subtype: str | None = None
    family: str | None = None
    variant: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ambiguous: tuple[str, ...] = ()  # families the header cannot tell apart (a name hint may pick one)
    size: str | None = None  # size class of the model, or of the base an adapter applies to
    releases: tuple[str, ...] = ()  # releases sharing this exact layout (the header cannot tell them apart)


def _ev(t: TensorTable, key: str) -> str:
    s = t.shape(key)
    return f"{key} {list(s) if s is not None else ''}".strip()


# -- context width -> UNet family ------------------------------------------------------------------
CTX_FAMILY = {768: V.SD1, 1024: V.SD2, 2048: V.SDXL, 1280: V.SDXL_REFINER}

# wrappers pickles (and some trainers) put around a state dict
WRAPPERS = ("state_dict.", "params_ema.", "params.", "module.", "model_ema.", "net.", "generator.")


def unwrap(t: TensorTable) -> TensorTable:
    """Drop a single wrapper level ({"state_dict": {...}}, {"params_ema": {...}})."""
    for _ in range(2):
        first = next(iter(t.t), "")
        p = first.partition(".")[0] + "."
        if p not in WRAPPERS or t.count_startswith(p) != len(t):
            break
        t = t.strip(p)
    return t


# ==================================================================================================
# base diffusion models (UNet / DiT) on an un-prefixed table


def unet_original(t: TensorTable) -> Verdict | None:
    """Stability/CompVis UNet (SD1/SD2/SDXL/refiner) with ``input_blocks``/``middle_block`` keys."""
    k0 = "input_blocks.0.0.weight"
    s = t.shape(k0)
    if s is None or len(s) != 4:
        return None
    v = Verdict(V.DIFFUSION, V.DIFFUSION_MODELS, confidence=0.9, evidence=[_ev(t, k0)])
    ctx_key = t.any_endswith(".transformer_blocks.0.attn2.to_k.weight")
    if ctx_key and ctx_key.startswith(("input_blocks", "middle_block", "output_blocks")):
        ctx = t.known_shape(ctx_key)[-1]
        v.family = CTX_FAMILY.get(ctx)
        v.evidence.append(_ev(t, ctx_key))
        if v.family is None:
            v.warnings.append(f"unknown UNet context width {ctx}")
            v.confidence = 0.5
    else:
        v.warnings.append("UNet without cross-attention: family unknown")
        v.confidence = 0.4
    _unet_variant(v, s[1])
    _kolors(t, v)
    return v


def _kolors(t: TensorTable, v: Verdict) -> None:
    # Kolors: an SDXL-shaped UNet fed by ChatGLM3 through encoder_hid_proj (4096 -> 2048)
    if v.family == V.SDXL and t.dim("encoder_hid_proj.weight", 1) == 4096:
        v.family = V.KOLORS
        v.evidence.append(_ev(t, "encoder_hid_proj.weight") + " (ChatGLM3 4096 -> 2048: Kolors)")


def unet_diffusers(t: TensorTable) -> Verdict | None:
    s = t.shape("conv_in.weight")
    if s is None or len(s) != 4 or "time_embedding.linear_1.weight" not in t or not t.any_startswith("down_blocks."):
        return None
    v = Verdict(V.DIFFUSION, V.DIFFUSION_MODELS, confidence=0.9, evidence=[_ev(t, "conv_in.weight")])
    ctx_key = t.any_endswith(".transformer_blocks.0.attn2.to_k.weight")
    if ctx_key:
        ctx = t.known_shape(ctx_key)[-1]
        v.family = CTX_FAMILY.get(ctx)
        v.evidence.append(_ev(t, ctx_key))
        if v.family is None:
            v.confidence = 0.5
            v.warnings.append(f"unknown UNet context width {ctx}")
    else:
        v.confidence = 0.4
        v.warnings.append("UNet without cross-attention: family unknown")
    _unet_variant(v, s[1])
    _kolors(t, v)
    return v


def _unet_variant(v: Verdict, in_ch: int) -> None:
    if in_ch == 9:
        v.variant = V.INPAINT
    elif in_ch == 5:
        v.variant = "depth"
    elif in_ch == 8:
        v.variant = "instruct-pix2pix"
    elif in_ch == 7 and v.family != V.SD2:
        v.variant = "x4-upscaler"


# -- DiTs: one structural signature per architecture (ComfyUI's detect_unet_config), then the details
#    the header decides (variant, size) and the releases that share the exact layout.

WAN_SIZE = {1536: "1.3b", 3072: "5b", 5120: "14b"}
LTXV_SIZE = {2048: "2b", 4096: "13b"}
COSMOS_SIZE = {2048: "2b", 4096: "7b", 5120: "14b"}
COGVIDEOX_SIZE = {1920: "2b", 3072: "5b"}
SANA_SIZE = {1152: "0.6b", 2240: "1.6b"}
# Wan extensions ComfyUI tells apart by one key each (detect_unet_config "head.modulation" branch)
WAN_EXTENSION_KEYS = [("vace_patch_embedding.weight", V.VACE), ("control_adapter.conv.weight", "camera"),
                      ("casual_audio_encoder.encoder.final_linear.weight", "s2v"),
                      ("audio_proj.audio_proj_glob_1.layer.bias", "humo"),
                      ("face_adapter.fuser_blocks.0.k_norm.weight", "animate")]


def _wan(t: TensorTable, v: Verdict) -> None:
    dim = t.dim("head.modulation", -1)
    in_dim = t.dim("patch_embedding.weight", 1)
    out = t.dim("head.head.weight", 0)
    v.size = WAN_SIZE.get(dim or 0)
    v.evidence.append(f"width {dim} ({v.size or 'unknown size'}), {in_dim} input channels")
    v.variant = next((var for k, var in WAN_EXTENSION_KEYS if k in t), None)
    if v.variant:
        return
    if "img_emb.emb_pos" in t:
        v.variant = V.FLF2V
    elif "img_emb.proj.0.bias" in t:
        v.variant = V.I2V  # Wan 2.1 I2V: CLIP image embedding
        if v.size == "14b":
            v.releases = ("wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p")
    elif out is not None and out // 4 == 48:
        v.variant = V.TI2V  # Wan 2.2 TI2V 5B: the Wan 2.2 VAE's 48 latent channels in and out
    elif in_dim == 36:
        v.variant = V.I2V  # Wan 2.2 A14B I2V: image latents concatenated, no CLIP image embedding
        v.releases = ("wan2.2-i2v-a14b-high-noise", "wan2.2-i2v-a14b-low-noise")
    else:
        v.variant = V.T2V
        if v.size == "14b":
            v.releases = ("wan2.1-t2v-14b", "wan2.2-t2v-a14b-high-noise", "wan2.2-t2v-a14b-low-noise")


def _mmdit(t: TensorTable, v: Verdict) -> None:
    depth = t.count_blocks("joint_blocks.")
    qk = "joint_blocks.0.context_block.attn.ln_q.weight" in t
    xattn = t.any_endswith(".x_block.attn2.qkv.weight") is not None
    v.family = V.SD35 if (qk or xattn) else V.SD3
    v.variant = "large" if depth >= 38 else ("medium" if v.family == V.SD35 else None)
    v.evidence.append(f"{depth} joint blocks" + (", rms qk-norm" if qk else "") + (", dual attention" if xattn else ""))
    if v.variant == "large":
        v.releases = ("sd3.5-large", "sd3.5-large-turbo")


def _mmdit_diffusers(t: TensorTable, v: Verdict) -> None:
    qk = "transformer_blocks.0.attn.norm_q.weight" in t
    depth = t.count_blocks("transformer_blocks.")
    v.family = V.SD35 if qk else V.SD3
    v.variant = "large" if depth >= 38 else ("medium" if v.family == V.SD35 else None)
    v.evidence.append(f"{depth} joint blocks")


def _flux(t: TensorTable, v: Verdict) -> None:
    s = t.shape("img_in.weight")
    if s and len(s) == 2:
        v.evidence.append(_ev(t, "img_in.weight"))
        if s[1] in (384, 96 * 4):
            v.variant = V.FILL
        elif s[1] == 128:
            v.variant = V.CONTROL  # Flux Depth/Canny dev: 64 image + 64 control-image channels
            v.releases = ("flux1-depth-dev", "flux1-canny-dev")
    if v.variant is None:
        if "guidance_in.in_layer.weight" in t:
            v.variant = V.DEV
            v.evidence.append("guidance_in.* present (guidance-distilled: dev)")
            if s and len(s) == 2 and s[1] == 64:
                v.releases = ("flux1-dev", "flux1-kontext-dev", "flux1-krea-dev")
        else:
            v.variant = V.SCHNELL
            v.evidence.append("no guidance_in.* (schnell)")


def _flux_diffusers(t: TensorTable, v: Verdict) -> None:
    s = t.shape("x_embedder.weight")
    if s and len(s) == 2 and s[1] == 384:
        v.variant = V.FILL
    elif s and len(s) == 2 and s[1] == 128:
        v.variant = V.CONTROL
        v.releases = ("flux1-depth-dev", "flux1-canny-dev")
    elif t.any_startswith("time_text_embed.guidance_embedder."):
        v.variant = V.DEV
        v.evidence.append("time_text_embed.guidance_embedder.* present (dev)")
        v.releases = ("flux1-dev", "flux1-kontext-dev", "flux1-krea-dev")
    else:
        v.variant = V.SCHNELL


def _hunyuan_video(t: TensorTable, v: Verdict) -> None:
    if len(t.shape("img_in.proj.weight") or []) == 4:  # 2D patches: HunyuanImage 2.1 on the same blocks
        v.family = V.HUNYUAN_IMAGE
        v.evidence.append(_ev(t, "img_in.proj.weight") + " (2D patch embedding: HunyuanImage)")
        return
    c = t.dim("img_in.proj.weight", 1)
    v.evidence.append(f"img_in.proj.weight: {c} input channels")
    if c == 16:
        v.variant = V.T2V
    elif c in (32, 33):
        v.variant = V.I2V  # 33: HunyuanVideo-I2V; 32: SkyReels V1 I2V
        v.releases = ("hunyuan-video-i2v",) if c == 33 else ("skyreels-v1-hunyuan-i2v",)


def _ltxv(t: TensorTable, v: Verdict) -> None:
    w = t.dim("transformer_blocks.0.attn1.to_q.weight", 0)
    v.size = LTXV_SIZE.get(w or 0)
    v.evidence.append(f"{t.count_blocks('transformer_blocks.')} blocks of width {w}")


def _cosmos2(t: TensorTable, v: Verdict) -> None:
    s = t.shape("x_embedder.proj.1.weight")
    if s:
        v.size = COSMOS_SIZE.get(s[0])
        c = s[1] // 4 - 1  # channels + padding mask, patchified 2x2
        v.variant = {16: V.T2I, 17: V.I2V}.get(c)
        v.evidence.append(f"{_ev(t, 'x_embedder.proj.1.weight')} ({c} latent channels)")


def _cosmos1(t: TensorTable, v: Verdict) -> None:
    w = t.dim("blocks.block0.blocks.0.block.attn.to_q.0.weight", 0)
    v.size = COSMOS_SIZE.get(w or 0)
    c = t.dim("x_embedder.proj.1.weight", 1)
    if c:
        v.variant = {16: V.T2V, 17: V.I2V}.get(c // 4 - 1)  # latent channels + padding mask, patchified 2x2


def _cascade(t: TensorTable, v: Verdict) -> None:
    if "clip_txt_mapper.weight" in t:
        v.variant = "stage_c"
    elif t.any_startswith(("clip_mapper.", "effnet_mapper.")):
        v.variant = "stage_b"


def _pixart(t: TensorTable, v: Verdict) -> None:
    v.variant = "alpha" if "ar_embedder.mlp.0.weight" in t else "sigma"
    v.evidence.append("ar_embedder.* (micro-conditions: Alpha)" if v.variant == "alpha" else "no ar_embedder.* (Sigma)")


def _cogvideox(t: TensorTable, v: Verdict) -> None:
    v.size = COGVIDEOX_SIZE.get(t.dim("patch_embed.proj.weight", 0) or 0)


def _sana(t: TensorTable, v: Verdict) -> None:
    v.size = SANA_SIZE.get(t.dim("patch_embed.proj.weight", 0) or 0)


@dataclass(frozen=True)
class DitSignature:
    """An architecture: ``keys`` must all be present, ``prefixes`` must each start some key; ``detail``
    reads variant/size/releases. First match wins, so derived layouts (HunyuanVideo, Chroma on the
    Flux blocks) come before the layout they extend."""

    family: str | None
    keys: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    detail: Callable[[TensorTable, Verdict], None] | None = None
    model_type: str = V.DIFFUSION
    confidence: float = 0.9


DIT_SIGNATURES: list[DitSignature] = [
    DitSignature(None, ("joint_blocks.0.context_block.attn.qkv.weight",), (), _mmdit, confidence=0.95),
    DitSignature(V.HUNYUAN_VIDEO, (), ("double_blocks.0.", "txt_in.individual_token_refiner."), _hunyuan_video),
    DitSignature(V.HUNYUAN3D, ("latent_in.weight",), ("double_blocks.0.img_attn.",)),
    DitSignature(V.CHROMA, (), ("double_blocks.0.img_attn.", "distilled_guidance_layer."),
                 lambda t, v: setattr(v, "variant", "radiance" if t.any_startswith("nerf_blocks.") else None)),
    DitSignature(V.FLUX, (), ("double_blocks.0.img_attn.",), _flux, confidence=0.95),
    DitSignature(V.FLUX, ("x_embedder.weight",), ("single_transformer_blocks.",), _flux_diffusers),
    DitSignature(None, ("pos_embed.proj.weight", "transformer_blocks.0.attn.add_q_proj.weight", "context_embedder.weight"),
                 (), _mmdit_diffusers),
    DitSignature(V.AURAFLOW, ("double_layers.0.attn.w1q.weight",), (), confidence=0.95),
    DitSignature(V.HUNYUAN_DIT, ("mlp_t5.0.weight",), (), confidence=0.95),
    DitSignature(V.WAN, ("head.modulation", "patch_embedding.weight"), (), _wan, confidence=0.95),
    DitSignature(V.LUMINA2, ("cap_embedder.1.weight",), ("noise_refiner.",)),
    DitSignature(V.OMNIGEN2, ("time_caption_embed.timestep_embedder.linear_1.bias",)),
    DitSignature(V.QWEN_IMAGE, ("txt_norm.weight", "img_in.weight"), (), lambda t, v: setattr(v, "releases", ("qwen-image", "qwen-image-edit"))),
    DitSignature(V.CASCADE, ("clf.1.weight",), (), _cascade),
    DitSignature(V.HIDREAM, ("caption_projection.0.linear.weight",), (),
                 lambda t, v: setattr(v, "releases", ("hidream-i1-full", "hidream-i1-dev", "hidream-i1-fast"))),
    DitSignature(V.HIDREAM, (), ("double_stream_blocks.",)),
    DitSignature(V.LTXV, ("patchify_proj.weight",), ("adaln_single.",), _ltxv),
    DitSignature(V.PIXART, ("t_block.1.weight",), ("blocks.0.cross_attn.",), _pixart),
    DitSignature(V.COGVIDEOX, ("patch_embed.text_proj.weight",), ("transformer_blocks.0.norm1.",), _cogvideox),
    DitSignature(V.SANA, ("caption_projection.linear_1.weight", "patch_embed.proj.weight"), ("transformer_blocks.0.ff.conv_inverted.",), _sana),
    DitSignature(V.PIXART, ("adaln_single.linear.weight", "caption_projection.linear_1.weight", "pos_embed.proj.weight"), (), confidence=0.8),
    DitSignature(V.MOCHI, ("t5_y_embedder.to_kv.weight",), (), confidence=0.85),
    DitSignature(V.MOCHI, (), ("blocks.0.mod_x.",), confidence=0.85),
    DitSignature(V.COSMOS, (), ("blocks.block0.blocks.0.",), _cosmos1, confidence=0.85),
    DitSignature(V.COSMOS, ("blocks.0.mlp.layer1.weight", "x_embedder.proj.1.weight"), (), _cosmos2, confidence=0.85),
    DitSignature(V.ACE_STEP, ("genre_embedder.weight",), (), model_type=V.AUDIO),
    DitSignature(V.STABLE_AUDIO, (), ("transformer.layers.0.self_attn.to_qkv.", "to_timestep_embed."), model_type=V.AUDIO,
                 confidence=0.85),
]


def dit(t: TensorTable) -> Verdict | None:
    """DiT-style base models, from the signature table."""
    for sig in DIT_SIGNATURES:
        if all(k in t for k in sig.keys) and all(t.any_startswith(p) for p in sig.prefixes):
            ev = [_ev(t, k) for k in sig.keys[:2]] + [p + "*" for p in sig.prefixes]
            v = Verdict(sig.model_type, V.DIFFUSION_MODELS, sig.family, None, sig.confidence, ev)
            if sig.detail:
                sig.detail(t, v)
            if v.family == V.SD35 and v.variant:
                v.size = v.variant
            return v
    return None


def base_model(t: TensorTable) -> Verdict | None:
    return unet_original(t) or dit(t) or unet_diffusers(t)


# ==================================================================================================
# adapters

_LORA_SUFFIXES = (".lora_down.weight", ".lora_up.weight", ".lora_A.weight", ".lora_B.weight", ".lora.down.weight",
                  ".lora.up.weight", "_lora.down.weight", "_lora.up.weight", ".hada_w1_a", ".hada_w1_b", ".lokr_w1",
                  ".lokr_w2", ".lokr_w1_a", ".lokr_w2_a", ".lokr_w2_b", ".oft_blocks", ".oft_diag", ".diff",
                  ".lora_A.default.weight", ".lora_B.default.weight", ".dora_scale", "_lora1.down.weight",
                  "_lora2.down.weight", ".lora_magnitude_vector")
# the "down" half of each adapter kind: its second dimension is the adapted module's input width
_DOWN_SUFFIXES = (".lora_down.weight", ".lora_A.weight", ".lora.down.weight", "_lora.down.weight", "_lora1.down.weight",
                  "_lora2.down.weight", ".hada_w1_b", ".lora_A.default.weight")


def lora(t: TensorTable) -> Verdict | None:
    """LoRA / LyCORIS in kohya, musubi, PEFT/diffusers, diffusion-pipe, ComfyUI/ai-toolkit and XLabs names."""
    # four substring scans rule out the common case (not an adapter) before 20 suffix checks
    if not (t.any_contains("lora") or t.any_contains("hada_w") or t.any_contains("lokr_w") or t.any_contains("oft_")):
        return None
    sample = t.any_endswith(_LORA_SUFFIXES)
    if sample is None:
        return None
    if sample.endswith(".diff") and t.any_endswith((".lora_down.weight", ".lora_A.weight")) is None:
        return None  # ".diff" alone is a full-weight diff, rare; only counted alongside LoRA keys
    v = Verdict(V.DIFFUSION, V.LORAS, confidence=0.9, evidence=[sample])
    if t.any_endswith(".hada_w1_a"):
        v.variant = V.LOHA
    elif t.any_endswith((".lokr_w1", ".lokr_w1_a")):
        v.variant = V.LOKR
    elif t.any_endswith(".dora_scale") or t.any_contains(".lora_magnitude_vector"):
        v.variant = V.DORA  # weight-decomposed LoRA: a magnitude vector per module
    else:
        # LoCon: LoRA on 3x3 convolutions (resnets), not only on attention projections
        for k, dt, s in t.items():
            if k.endswith((".lora_down.weight", ".lora_A.weight")) and len(s) == 4 and s[2] > 1:
                v.variant = V.LOCON
                v.evidence.append(f"{k} {s} (3x3 conv LoRA)")
                break
    b = _lora_base(t)
    if b.family is None:
        v.confidence = 0.6
        v.warnings.append("LoRA base model not recognised from its target names")
    else:
        v.family, v.size, v.ambiguous = b.family, b.size, b.ambiguous
        if b.family in (V.ACE_STEP, V.STABLE_AUDIO):
            v.model_type = V.AUDIO
        v.evidence.append(b.why)
        if b.ambiguous:
            v.warnings.append(f"applies to {' or '.join(b.ambiguous)}: those bases share these module names and shapes")
    return v


@dataclass
class _Base:
    family: str | None = None
    why: str = ""
    size: str | None = None
    ambiguous: tuple[str, ...] = ()


def _in_width(t: TensorTable, *parts: str) -> tuple[int | None, str]:
    """Input width of the first adapted module whose name contains one of ``parts`` (LoRA, LoHa, LoKr)."""
    for k, dt, s in t.items():
        if not any(p in k for p in parts) or len(s) < 2:
            continue
        if k.endswith(_DOWN_SUFFIXES):
            return s[1], f"{k} {list(s)}"
        if k.endswith((".lokr_w2_b", ".lokr_w2")):
            w1 = t.shape(k.rsplit(".", 1)[0] + ".lokr_w1")
            if w1 and len(w1) == 2:
                return s[1] * w1[1], f"{k} {list(s)} x lokr_w1 {list(w1)}"
    return None, ""


_BLOCK_INDEX = re.compile(r"(?:^|[._])(double_blocks|single_blocks|transformer_blocks|single_transformer_blocks)[._](\d+)[._]",
                          re.MULTILINE)


def _max_blocks(t: TensorTable) -> dict[str, int]:
    """Highest block index per block kind (a LoRA on block 19 cannot be on Flux's 19 double blocks)."""
    out: dict[str, int] = {}
    for m in _BLOCK_INDEX.finditer(t.joined()):
        kind, i = m.group(1), int(m.group(2))
        if i > out.get(kind, -1):
            out[kind] = i
    return out


# where a Flux-shaped LoRA says which base it is: (marker substring, family) - HunyuanVideo's own module
# names (comfy/lora.py HunyuanVideo key map) before Flux's, since "img_mod_lin" is a prefix of "img_mod_linear"
_DOUBLE_STREAM_MARKERS: list[tuple[str, str]] = [
    (".img_attn_qkv.", V.HUNYUAN_VIDEO), (".txt_attn_qkv.", V.HUNYUAN_VIDEO), ("img_mlp.fc1", V.HUNYUAN_VIDEO),
    ("img_mlp_fc1", V.HUNYUAN_VIDEO), ("img_mod.linear", V.HUNYUAN_VIDEO), ("img_mod_linear", V.HUNYUAN_VIDEO),
    ("modulation.linear", V.HUNYUAN_VIDEO), ("modulation_linear", V.HUNYUAN_VIDEO), ("token_refiner", V.HUNYUAN_VIDEO),
    ("distilled_guidance_layer", V.CHROMA), ("processor.qkv_lora", V.FLUX), ("processor.proj_lora", V.FLUX),
    ("img_mod.lin", V.FLUX), ("img_mod_lin", V.FLUX), ("modulation.lin", V.FLUX), ("modulation_lin", V.FLUX),
    ("guidance_in", V.FLUX), ("vector_in", V.FLUX), ("norm1.linear", V.FLUX), ("norm1_linear", V.FLUX),
    ("norm.linear", V.FLUX), ("norm_linear", V.FLUX),
]
# (substring that marks the base's blocks, family): bases with their own block names
_BLOCK_NAMES: list[tuple[str, str]] = [
    ("double_stream_blocks", V.HIDREAM), ("single_stream_blocks", V.HIDREAM),
    ("context_refiner", V.LUMINA2), ("noise_refiner", V.LUMINA2), ("attention.qkv", V.LUMINA2), ("attention_qkv", V.LUMINA2),
    ("joint_blocks", V.SD3), ("img_mlp", V.QWEN_IMAGE), ("txt_mlp", V.QWEN_IMAGE), ("img_mod", V.QWEN_IMAGE),
    ("attn.qkv_x", V.MOCHI), ("attn_qkv_x", V.MOCHI), ("attn.proj_x", V.MOCHI), ("attn_proj_x", V.MOCHI),
    ("mlp_x.w1", V.MOCHI), ("mlp_x_w1", V.MOCHI), ("cross_attn.add_q_proj", V.ACE_STEP),
    ("cross_attn_add_q_proj", V.ACE_STEP), ("lyric_encoder", V.ACE_STEP),
]
SD3_SIZE = {2432: "large", 1536: "medium"}
# transformer_blocks.N.attn1.to_q of DiTs without a UNet around them: width -> (family, size)
ATTN1_WIDTH: dict[int, tuple[str, str | None]] = {
    2048: (V.LTXV, "2b"), 4096: (V.LTXV, "13b"), 3072: (V.COGVIDEOX, "5b"), 1920: (V.COGVIDEOX, "2b"),
    2240: (V.SANA, "1.6b"), 1152: (V.PIXART, None), 1408: (V.HUNYUAN_DIT, None),
}
# layers.N.attn.to_q (Lumina-style DiTs in diffusers names): width -> family
LAYERS_WIDTH: dict[int, str] = {2304: V.LUMINA2, 2520: V.OMNIGEN2}
_UNET_PARTS = ("down_blocks", "input_blocks", "up_blocks", "output_blocks", "mid_block", "middle_block")


def _bfl_streams(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base:
    """BFL-style double/single streams: Flux, Chroma and HunyuanVideo share these names."""
    # a block Flux does not have decides first (HunyuanVideo has 20+40, also under ComfyUI's Flux-style names)
    if blocks.get("double_blocks", 0) >= 19 or blocks.get("single_blocks", 0) >= 38:
        return _Base(V.HUNYUAN_VIDEO, f"{k.rsplit('.', 2)[0]}: blocks beyond Flux's 19+38 (HunyuanVideo has 20+40)")
    for mark, fam in _DOUBLE_STREAM_MARKERS:
        m = t.any_contains(mark)
        if m:
            return _Base(fam, f"{m.rsplit('.', 2)[0]} ({mark}: {fam})")
    return _Base(V.FLUX, f"{k.rsplit('.', 2)[0]} (Flux-style blocks, no modulation targeted)", ambiguous=(V.FLUX, V.CHROMA))


def _diffusers_streams(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base:
    """The same streams in diffusers names (HunyuanVideo's diffusers blocks share norm1.linear with Flux's)."""
    if blocks.get("single_transformer_blocks", 0) >= 38 or blocks.get("transformer_blocks", 0) >= 19:
        return _Base(V.HUNYUAN_VIDEO, f"{k.rsplit('.', 2)[0]}: blocks beyond Flux's 19+38")
    for mark, fam in _DOUBLE_STREAM_MARKERS:
        m = t.any_contains(mark)
        if m and (fam != V.HUNYUAN_VIDEO or mark == "token_refiner"):
            return _Base(fam, f"{m.rsplit('.', 2)[0]} ({mark}: {fam})")
    return _Base(V.FLUX, f"{k.rsplit('.', 2)[0]} (diffusers Flux blocks)", ambiguous=(V.FLUX, V.CHROMA))


def _named_blocks(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base:
    """Bases with block names of their own (_BLOCK_NAMES); SD3's size from its joint blocks' width."""
    fam = _BLOCK_FAMILY[marker]
    b = _Base(fam, f"{k.rsplit('.', 2)[0]} ({marker}: {fam})")
    if fam == V.SD3:
        _sd3_size(t, b, "x_block_attn_qkv", "x_block.attn.qkv")
    return b


def _wan_blocks(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base:
    """Wan: blocks.N.self_attn.q / cross_attn.k / ffn.0 (ComfyUI, diffusion-pipe, musubi names)."""
    w, why = _in_width(t, ".self_attn.q.", "_self_attn_q.", "self_attn.k.", "_self_attn_k.", ".cross_attn.q.",
                       "_cross_attn_q.", "self_attn_", "self_attn.")
    return _Base(V.WAN, why or k.rsplit(".", 2)[0], WAN_SIZE.get(w or 0))


def _joint_attention(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base:
    """diffusers joint attention (add_q_proj): SD3/SD3.5 (1536/2432 wide) or Qwen-Image / Flux double streams (3072)."""
    w, why = _in_width(t, "attn.to_q", "attn_to_q", "attn.add_q_proj", "attn_add_q_proj")
    if w == 3072:
        if blocks.get("transformer_blocks", 0) >= 19:
            return _Base(V.QWEN_IMAGE, f"{why} (3072 wide, {blocks['transformer_blocks'] + 1}+ joint blocks)")
        return _Base(V.FLUX, f"{why} (3072-wide joint blocks)", ambiguous=(V.FLUX, V.QWEN_IMAGE))
    b = _Base(V.SD3, k.rsplit(".", 2)[0])
    _sd3_size(t, b, "attn.to_q", "attn_to_q")
    return b


def _by_width(widths: dict[int, str], *parts: str) -> Callable[[TensorTable, str, str, dict[str, int]], _Base | None]:
    """A base told by the input width of the modules named by ``parts`` (None: a width not in ``widths``)."""

    def decide(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base | None:
        w, why = _in_width(t, *parts)
        fam = widths.get(w or 0)
        return _Base(fam, f"{why} ({w} wide)") if fam else None

    return decide


def _attn1_dits(t: TensorTable, marker: str, k: str, blocks: dict[str, int]) -> _Base | None:
    """diffusers DiTs with attn1/attn2 and no UNet around them: the width decides the base (ATTN1_WIDTH)."""
    w, why = _in_width(t, "attn1.to_q", "attn1_to_q")
    if re.search(r"(?:^|\.)blocks\.\d+\.attn1|lora_(?:unet|transformer)_blocks_\d+_attn1", k) and w in WAN_SIZE:
        return _Base(V.WAN, f"{why} (Wan, diffusers names)", WAN_SIZE[w])
    if w in ATTN1_WIDTH:
        fam, size = ATTN1_WIDTH[w]
        return _Base(fam, f"{why} ({w} wide)", size, (V.PIXART, V.SANA) if fam == V.PIXART else ())
    return None


@dataclass(frozen=True)
class LoraBase:
    """Where a LoRA's target names say which base it applies to.  The rule holds when a key contains
    one of ``markers`` (the first found is the one reported), keys contain each of ``also`` and none
    of ``unless``; ``decide`` then reads the base from widths and block counts, or returns None to
    let the next rule look.  First decision wins."""

    markers: tuple[str, ...]
    decide: Callable[[TensorTable, str, str, dict[str, int]], _Base | None]
    also: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


_BLOCK_FAMILY = dict(_BLOCK_NAMES)
LORA_BASES: list[LoraBase] = [
    LoraBase(("double_blocks", "single_blocks"), _bfl_streams),
    LoraBase(("single_transformer_blocks",), _diffusers_streams),
    LoraBase(tuple(m for m, _ in _BLOCK_NAMES), _named_blocks),
    LoraBase((".self_attn.q.", "_self_attn_q.", "cross_attn_k_img"), _wan_blocks, also=("blocks",)),
    LoraBase(("attn.add_q_proj", "attn_add_q_proj"), _joint_attention),
    # Lumina 2 / OmniGen2 in diffusers names: layers.N.attn.to_q, told apart by their widths
    LoraBase(("layers.0.attn.to_q", "layers_0_attn_to_q"), _by_width(LAYERS_WIDTH, "attn.to_q", "attn_to_q"),
             unless=("transformer_blocks",)),
    # ACE-Step's transformer_blocks.N.attn.to_q (2560 wide, no joint projections)
    LoraBase(("transformer_blocks.0.attn.to_q", "transformer_blocks_0_attn_to_q"),
             _by_width({2560: V.ACE_STEP}, "attn.to_q", "attn_to_q"), unless=_UNET_PARTS),
    LoraBase(("attn1.to_q", "attn1_to_q"), _attn1_dits, unless=_UNET_PARTS),
]


def _lora_base(t: TensorTable) -> _Base:
    """The base model a LoRA applies to, from the module names it targets (LORA_BASES), else from
    its UNet's context width or its text encoders."""
    # LLM adapters (PEFT on a causal LM) are not diffusion LoRAs at all: caught by the caller.
    blocks = _max_blocks(t)
    for rule in LORA_BASES:
        found = next(((m, k) for m in rule.markers if (k := t.any_contains(m))), None)
        if found is None or not all(t.any_contains(p) for p in rule.also) or any(t.any_contains(p) for p in rule.unless):
            continue
        base = rule.decide(t, *found, blocks)
        if base is not None:
            return base
    return _Base(*_unet_or_te_family(t))


def _sd3_size(t: TensorTable, b: _Base, *parts: str) -> None:
    w, why = _in_width(t, *parts)
    b.size = SD3_SIZE.get(w or 0)
    if w:
        b.why += f"; {why}"
    dual = t.any_contains("attn2") is not None  # SD3.5 Medium's dual-attention blocks
    if b.size == "large" or dual:
        b.family = V.SD35
    elif b.size == "medium":
        b.ambiguous = (V.SD3, V.SD35)


def _unet_or_te_family(t: TensorTable) -> tuple[str | None, str]:
    """UNet LoRAs by their cross-attention context width; text-encoder-only LoRAs by their encoders."""
    # UNet LoRAs: the cross-attention key projection's input width is the base's context width
    for k, dt, s in t.items():
        if ("attn2" in k and ("to_k" in k or "to_v" in k)) and len(s) >= 2:
            ctx = None
            if k.endswith((".lora_down.weight", ".lora_A.weight", "_lora.down.weight", ".lora.down.weight",
                           ".hada_w1_b", ".hada_w2_b")):
                ctx = s[1]
            elif k.endswith(".lokr_w2_b") or k.endswith(".lokr_w2"):
                w1 = t.shape(k.rsplit(".", 1)[0] + ".lokr_w1")
                if w1 and len(w1) == 2:
                    ctx = s[1] * w1[1]
            if ctx in CTX_FAMILY:
                return CTX_FAMILY[ctx], f"{k} {s} (context width {ctx})"
    # text-encoder LoRAs: two encoders = SDXL; one = SD1/SD2 by width
    if t.any_startswith(("lora_te1_", "lora_te2_")) or t.any_startswith("text_encoder_2."):
        return V.SDXL, "two text encoders (lora_te1_/lora_te2_)"
    for k, dt, s in t.items():
        if ("self_attn" in k and "q_proj" in k) and k.endswith((".lora_down.weight", ".lora_A.weight")) and len(s) == 2:
            w = s[1]
            if w == 768:
                return V.SD1, f"{k} {s} (CLIP-L text encoder)"
            if w == 1024:
                return V.SD2, f"{k} {s} (OpenCLIP-H text encoder)"
    # SDXL UNet structure without cross-attention LoRAs: SDXL has transformer stacks of 2 and 10
    if t.any_startswith(("lora_unet_input_blocks_7_1_transformer_blocks_9", "lora_unet_down_blocks_2_attentions_0_transformer_blocks_9")):
        return V.SDXL, "10-deep transformer stacks (SDXL)"
    return None, ""


# the base of a DiT ControlNet (controlnet_blocks.*): the first test that holds decides
CONTROLNET_BASES: list[tuple[Callable[[TensorTable], bool], str]] = [
    (lambda t: "txt_norm.weight" in t, V.QWEN_IMAGE),  # InstantX Qwen-Image ControlNet: Qwen's text norm, no single blocks
    (lambda t: t.any_startswith(("single_transformer_blocks.", "controlnet_single_blocks."))
     or "controlnet_x_embedder.weight" in t, V.FLUX),
    (lambda t: t.any_startswith("transformer_blocks.") and "pos_embed.proj.weight" in t, V.SD3),
    (lambda t: "img_in.weight" in t, V.FLUX),
]


def controlnet(t: TensorTable) -> Verdict | None:
    D, CN = V.DIFFUSION, V.CONTROLNET
    sub = None
    if t.any_startswith("control_model.input_hint_block.") or t.any_startswith("control_model.zero_convs."):
        sub = t.strip("control_model.")
    elif "input_hint_block.0.weight" in t and t.any_startswith("zero_convs."):
        sub = t
    if sub is not None:
        v = Verdict(D, CN, confidence=0.9, evidence=["input_hint_block.* / zero_convs.*"])
        u = unet_original(sub)
        if u and u.family:
            v.family = u.family
            v.evidence += u.evidence[1:]
        else:
            v.confidence = 0.6
            v.warnings.append("ControlNet base not recognised")
        v.warnings.append("control type (canny, depth, ...) is not in the header")
        return v
    if "controlnet_cond_embedding.conv_in.weight" in t:
        v = Verdict(D, CN, confidence=0.9, evidence=["controlnet_cond_embedding.conv_in.weight"])
        u = unet_diffusers(t)
        if u and u.family:
            v.family = u.family
            v.evidence += u.evidence[1:]
        else:
            v.confidence = 0.6
        v.warnings.append("control type (canny, depth, ...) is not in the header")
        return v
    if t.any_startswith("controlnet_blocks.") or t.any_startswith("controlnet_single_blocks.") or "controlnet_x_embedder.weight" in t:
        fam = next((f for holds, f in CONTROLNET_BASES if holds(t)), None)
        v = Verdict(D, CN, fam, None, 0.85 if fam else 0.5, ["controlnet_blocks.*"])
        return v
    # T2I-Adapter (TencentARC / diffusers): conv_in + body of resnet blocks, no attention, no time embedding
    a = t.strip("adapter.") if t.any_startswith("adapter.conv_in.") else t
    if "conv_in.weight" in a and any(a.any_startswith(p) for p in T2I_ADAPTER_BODIES) and not a.any_contains("attn"):
        s = a.shape("conv_in.weight")
        fam, ambiguous = T2I_ADAPTER_INPUTS.get(s[1] if s else 0, (None, ()))
        v = Verdict(D, CN, fam, "t2i-adapter", 0.8 if fam else 0.5, [_ev(a, "conv_in.weight")])
        v.ambiguous = ambiguous
        return v
    return None


# a T2I-Adapter's body: original (TencentARC) or diffusers resnet blocks
T2I_ADAPTER_BODIES = ("body.0.block1", "body.0.resnets.")
# conv_in input channels -> (family, families it cannot tell apart): the image is pixel-unshuffled
# before conv_in, by 8 for SD1/SD2 (3*64 = 192; 1*64 = 64 for a one-channel sketch), by 16 for XL (3*256 = 768)
T2I_ADAPTER_INPUTS: dict[int, tuple[str, tuple[str, ...]]] = {
    192: (V.SD1, (V.SD1, V.SD2)), 64: (V.SD1, (V.SD1, V.SD2)), 768: (V.SDXL, ()),
}


def ipadapter(t: TensorTable) -> Verdict | None:
    if not (t.any_startswith("ip_adapter.") and t.any_startswith("image_proj.")):
        # XLabs Flux IP-Adapter: double_blocks.N.processor.ip_adapter_double_stream_k_proj
        k = t.any_contains("ip_adapter_double_stream_k_proj")
        if k:
            # only x-flux-comfyui loads these (ComfyUI's IPAdapter nodes fail on them): its own folder
            return Verdict(V.DIFFUSION, V.XLABS_IPADAPTERS, V.FLUX, None, 0.85, [k])
        return None
    v = Verdict(V.DIFFUSION, V.IPADAPTER, confidence=0.9, evidence=["image_proj.* + ip_adapter.*"])
    k = t.any_endswith(".to_k_ip.weight")
    if k:
        ctx = t.known_shape(k)[-1]
        v.family = {768: V.SD1, 1024: V.SD2, 2048: V.SDXL, 4096: V.FLUX}.get(ctx)
        v.evidence.append(f"{_ev(t, k)} (context width {ctx})")
    if "image_proj.latents" in t:
        v.variant = "plus"
    if t.any_contains("to_k_lora") or "image_proj.perceiver_resampler.proj_in.weight" in t:
        v.variant = "faceid"
    if v.family is None:
        v.confidence = 0.6
    return v


def embedding(t: TensorTable) -> Verdict | None:
    keys = set(t.t)
    if not keys or len(keys) > 8:
        return None
    D, E = V.DIFFUSION, V.EMBEDDINGS
    if keys <= {"clip_l", "clip_g"} and "clip_g" in keys:
        return Verdict(D, E, V.SDXL, None, 0.95, [_ev(t, "clip_g")])
    width = None
    key = None
    for k in keys:
        if k == "emb_params" or k.startswith("string_to_param."):
            key = k
            s = t.shape(k)
            width = s[-1] if s else None
            break
    if key is None:
        return None
    fam = {768: V.SD1, 1024: V.SD2, 1280: V.SDXL}.get(width or 0)
    return Verdict(D, E, fam, None, 0.9 if fam else 0.5, [_ev(t, key)] + ([f"token width {width}"] if fam else []))


# ==================================================================================================
# VAEs


# VAEs one key identifies (comfy/sd.py VAE.__init__ checks the same keys): (key, family, variant, model_type)
VAE_SIGNATURES: list[tuple[str, str, str | None, str]] = [
    ("vquantizer.codebook.weight", V.CASCADE, "stage_a", V.DIFFUSION),
    ("backbone.1.0.block.0.1.num_batches_tracked", V.CASCADE, "effnet", V.DIFFUSION),
    ("encoder.backbone.1.0.block.0.1.num_batches_tracked", V.CASCADE, "effnet", V.DIFFUSION),
    ("decoder.up_blocks.0.res_blocks.0.conv1.conv.weight", V.LTXV, None, V.DIFFUSION),
    ("decoder.blocks.2.blocks.3.stack.5.weight", V.MOCHI, None, V.DIFFUSION),
    ("encoder.layers.4.layers.1.attn_block.attn.qkv.weight", V.MOCHI, None, V.DIFFUSION),
    ("blocks.2.blocks.3.stack.5.weight", V.MOCHI, None, V.DIFFUSION),  # genmo's decoder.safetensors alone
    ("layers.4.layers.1.attn_block.attn.qkv.weight", V.MOCHI, None, V.DIFFUSION),  # and encoder.safetensors
    ("decoder.layers.1.layers.0.beta", V.STABLE_AUDIO, None, V.AUDIO),
    ("vocoder.backbone.channel_layers.0.0.bias", V.ACE_STEP, None, V.AUDIO),
]


@dataclass(frozen=True)
class Latents:
    """What a VAE's latent channel count says: the family assumed, and the families sharing the layout."""

    family: str
    confidence: float
    ambiguous: tuple[str, ...] = ()


# latent channels of a 2D VAE (decoder.conv_in input) -> family
VAE_LATENTS: dict[int, Latents] = {
    4: Latents(V.SD1, 0.6, (V.SD1, V.SDXL)),
    16: Latents(V.FLUX, 0.6, (V.FLUX, V.SD3)),
    32: Latents(V.FLUX2, 0.5),
}
# latent channels of a TAESD -> family (the 4- and 16-channel ones share layouts as the VAEs do)
TAESD_LATENTS: dict[int, Latents] = {
    4: Latents(V.SD1, 0.6, (V.SD1, V.SDXL)),
    16: Latents(V.FLUX, 0.6, (V.FLUX, V.SD3)),
}
_NAMES = {V.SD1: "SD1", V.SDXL: "SDXL", V.FLUX: "Flux", V.SD3: "SD3"}  # as warnings name them


def vae(t: TensorTable) -> Verdict | None:
    D = V.DIFFUSION
    if "decoder.conv_in.weight" in t and t.any_startswith(("decoder.up", "decoder.mid")):
        s = t.known_shape("decoder.conv_in.weight")
        if len(s) == 5:  # 3D convs: video VAEs
            if "decoder.mid_block.resnets.0.norm1.gamma" in t:  # diffusers AutoencoderKLWan
                return _wan_vae(Verdict(D, V.VAE, V.WAN, None, 0.85, [_ev(t, "decoder.conv_in.weight"),
                                                                         "decoder.mid_block.*.gamma (AutoencoderKLWan)"]), s[1])
            return Verdict(D, V.VAE, None, None, 0.5, [_ev(t, "decoder.conv_in.weight")],
                           ["video VAE not recognised"])
        z = s[1]
        v = Verdict(D, V.VAE, None, None, 0.6, [_ev(t, "decoder.conv_in.weight") + f" ({z} latent channels)"])
        known = VAE_LATENTS.get(z)
        if known is None:
            v.confidence = 0.5
            v.warnings.append(f"VAE with {z} latent channels: family unknown")
        else:
            v.family, v.confidence, v.ambiguous = known.family, known.confidence, known.ambiguous
            if known.ambiguous:
                v.warnings.append(f"{z}-channel VAE: {' and '.join(_NAMES[f] for f in known.ambiguous)} VAEs have the "
                                  "same layout (the header cannot tell them apart)")
        return v
    # Wan VAE (causal 3D convs, residual middle blocks)
    if "decoder.middle.0.residual.0.gamma" in t or ("encoder.conv1.weight" in t and t.any_startswith("decoder.middle.")):
        k = "conv2.weight" if "conv2.weight" in t else None
        v = Verdict(D, V.VAE, V.WAN, None, 0.9, ["decoder.middle.* (Wan causal 3D VAE)"] + ([_ev(t, k)] if k else []))
        return _wan_vae(v, t.dim(k, 1) if k else None)
    for key, fam, var, mtype in VAE_SIGNATURES:
        if key in t:
            return Verdict(mtype, V.VAE, fam, var, 0.85, [_ev(t, key)])
    if "decoder.conv_in.conv.weight" in t:
        return Verdict(D, V.VAE, V.HUNYUAN_VIDEO, None, 0.6, [_ev(t, "decoder.conv_in.conv.weight")],
                       ["3D VAE family guessed from its causal convs"])
    return None


def _wan_vae(v: Verdict, z: int | None) -> Verdict:
    if z == 48:
        v.variant = "2.2"
    elif z == 16:
        # Qwen-Image's VAE is the Wan 2.1 architecture: same keys, same shapes
        v.variant, v.ambiguous = "2.1", (V.WAN, V.QWEN_IMAGE)
        v.warnings.append("Wan 2.1 VAE layout: Wan 2.1/2.2-A14B and Qwen-Image VAEs have the same layout "
                          "(the header cannot tell them apart)")
    return v


def taesd(t: TensorTable) -> Verdict | None:
    """TAESD (vae_approx): plain Sequential conv stacks, keys "N.weight" / "N.conv.M.weight"."""
    for pre in ("", "taesd_decoder.", "taesd_encoder.", "decoder.layers.", "encoder.layers."):
        if pre and not t.any_startswith(pre + "3.conv.0.weight"):
            continue
        a = t.strip(pre) if pre else t
        if "3.conv.0.weight" in a and ("1.weight" in a or "0.weight" in a) and not a.any_contains("attn"):
            # decoder: 0/1 is Clamp? -> first conv takes the latent channels; encoder: last conv emits them
            first = a.shape("1.weight") if "1.weight" in a and len(a.shape("1.weight") or []) == 4 else None
            z: int | None
            if first is not None and first[1] in (4, 16, 32, 12):
                z = first[1]
                role = "decoder"
            else:
                n = a.count_blocks("")
                last = a.shape(f"{n - 1}.weight")
                z = last[0] if last else None
                role = "encoder"
            v = Verdict(V.DIFFUSION, V.VAE_APPROX, None, None, 0.6, [f"TAESD {role} ({z} latent channels)"])
            known = TAESD_LATENTS.get(z) if z is not None else None
            if known is not None:
                v.family, v.ambiguous = known.family, known.ambiguous
                v.warnings.append(f"TAESD for {z}-channel latents: {' and '.join(_NAMES[f] for f in known.ambiguous)} "
                                  "variants have the same layout")
            return v
    return None


# ==================================================================================================
# encoders


def clip_text(t: TensorTable) -> Verdict | None:
    for pre in ("", "transformer.", "text_model.", "cond_stage_model.transformer.", "clip_l.transformer.", "clip_g.transformer."):
        k = pre + "text_model.encoder.layers.0.self_attn.q_proj.weight"
        if k in t:
            w = t.known_shape(k)[-1]
            n = t.count_blocks(pre + "text_model.encoder.layers.")
            fam = {768: V.CLIP_L, 1024: V.CLIP_H, 1280: V.CLIP_G}.get(w)
            return Verdict(V.DIFFUSION, V.TEXT_ENCODERS, fam, None, 0.95 if fam else 0.5,
                           [f"{k} {t.shape(k)}", f"{n} layers, width {w}"])
    # OpenCLIP text layout (resblocks + token_embedding, no "visual.")
    if "token_embedding.weight" in t and t.any_startswith("transformer.resblocks.") and not t.any_startswith("visual."):
        width = t.dim("token_embedding.weight", 1)
        fam = {768: V.CLIP_L, 1024: V.CLIP_H, 1280: V.CLIP_G}.get(width or 0)
        return Verdict(V.DIFFUSION, V.TEXT_ENCODERS, fam, None, 0.9 if fam else 0.5, [_ev(t, "token_embedding.weight")])
    return None


T5_WIDTH = {512: "small", 768: "base", 1024: "large", 2048: "xl", 4096: "xxl"}


def t5(t: TensorTable) -> Verdict | None:
    for pre in ("", "encoder.", "transformer.", "text_encoders.t5xxl.transformer."):
        k = pre + "encoder.block.0.layer.0.SelfAttention.q.weight"
        rb = pre + "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        if k in t or rb in t:
            k = k if k in t else rb
            w = t.dim(pre + "encoder.final_layer_norm.weight", 0) or t.known_shape(k)[-1]
            umt5 = (pre + "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight") in t
            fam = V.UMT5 if umt5 else V.T5
            ev = [f"{k} {t.shape(k)}"]
            if umt5:
                ev.append("relative_attention_bias in every block (UMT5)")
            return Verdict(V.DIFFUSION, V.TEXT_ENCODERS, fam, T5_WIDTH.get(w), 0.9, ev)
    # llama.cpp's T5 names (GGUF t5encoder)
    k = "enc.blk.0.attn_q.weight"
    if k in t:
        w = t.known_shape(k)[-1]
        umt5 = "enc.blk.1.attn_rel_b.weight" in t
        return Verdict(V.DIFFUSION, V.TEXT_ENCODERS, V.UMT5 if umt5 else V.T5, T5_WIDTH.get(w), 0.9, [f"{k} {t.shape(k)}"])
    return None


CLIP_VISION_WIDTH = {768: "clip-vit-b", 1024: V.CLIP_VIT_L, 1280: V.CLIP_VIT_H, 1664: V.CLIP_VIT_G}


def clip_vision(t: TensorTable) -> Verdict | None:
    for pre in ("", "vision_model.", "clip_vision."):
        if pre and not t.any_startswith(pre + "vision_model."):
            continue
        a = t.strip(pre) if pre else t
        k = "vision_model.encoder.layers.0.self_attn.q_proj.weight"
        if k in a:
            w = a.known_shape(k)[-1]
            if "vision_model.embeddings.class_embedding" in a:
                fam = CLIP_VISION_WIDTH.get(w)
                return Verdict(V.DIFFUSION, V.CLIP_VISION, fam, None, 0.9 if fam else 0.5,
                               [f"{k} {a.shape(k)}", "vision_model.embeddings.class_embedding (CLIP)"])
            # SigLIP: no class token; patch embeddings + attention-pool head
            return Verdict(V.DIFFUSION, V.CLIP_VISION, V.SIGLIP, None, 0.85,
                           [f"{k} {a.shape(k)}", "no class_embedding (SigLIP)"])
    if "visual.transformer.resblocks.0.attn.in_proj_weight" in t:  # OpenCLIP vision tower
        width = t.dim("visual.conv1.weight", 0)
        fam = CLIP_VISION_WIDTH.get(width or 0)
        return Verdict(V.DIFFUSION, V.CLIP_VISION, fam, None, 0.8, [_ev(t, "visual.conv1.weight")])
    return None


# ==================================================================================================
# upscalers: signatures from spandrel's architecture detection


def _pixelshuffle_scale(t: TensorTable, keys: list[str], out_ch: int = 3) -> int | None:
    for k in keys:
        s = t.shape(k)
        if s and len(s) >= 2:
            r2 = s[0] / out_ch
            r = int(round(r2 ** 0.5))
            if r >= 1 and r * r == r2:
                return r
    return None


def _count_upsample(t: TensorTable, prefix: str) -> int | None:
    """BasicSR "pixelshuffle" Upsample: Conv(nf -> 4nf) per 2x step at even indices, or one 9nf conv for 3x."""
    s0 = t.shape(prefix + "0.weight")
    if not s0 or len(s0) != 4:
        return None
    ratio = s0[0] // max(s0[1], 1)
    if ratio == 9:
        return 3
    if ratio == 4:
        n = 0
        while t.shape(f"{prefix}{2 * n}.weight") is not None:
            n += 1
        return 1 << n
    return None


def _esrgan(t: TensorTable) -> Verdict | None:
    if "model.0.weight" in t and t.any_startswith("model.1.sub.0.RDB1.") or "model.1.sub.0.RDB1.conv1.0.weight" in t:
        ks = sorted({int(k.split(".")[1]) for k in t.t if k.startswith("model.") and k.endswith(".weight")
                     and k.split(".")[1].isdigit() and k.count(".") == 2})
        convs = [i for i in ks if i >= 2]
        n_up = max(len(convs) - 2, 0)  # HR conv + last conv close the network
        in_nc = t.dim("model.0.weight", 1) or 3
        out_nc = t.dim(f"model.{ks[-1]}.weight", 0) or 3
        scale = 2 ** n_up
        scale = _unshuffle(scale, in_nc, out_nc)
        return Verdict(V.UPSCALER, V.UPSCALE_MODELS, "esrgan", f"{scale}x", 0.9,
                       ["model.1.sub.*.RDB1 (RRDB trunk)", f"{n_up} upsampling convs"])
    k = "body.0.rdb1.conv1.weight" if "body.0.rdb1.conv1.weight" in t else ("RRDB_trunk.0.RDB1.conv1.weight" if "RRDB_trunk.0.RDB1.conv1.weight" in t else None)
    if k and "conv_first.weight" in t:
        n_up = sum(1 for i in (1, 2, 3) if f"conv_up{i}.weight" in t)
        in_nc = t.dim("conv_first.weight", 1) or 3
        out_nc = t.dim("conv_last.weight", 0) or 3
        scale = _unshuffle(2 ** n_up, in_nc, out_nc)
        return Verdict(V.UPSCALER, V.UPSCALE_MODELS, "esrgan", f"{scale}x", 0.9, [k, f"{n_up} conv_up layers"])
    return None


def _unshuffle(scale: int, in_nc: int, out_nc: int) -> int:
    # Real-ESRGAN x2/x1 models pixel-unshuffle the input: 4x / 16x the input channels
    if in_nc == out_nc * 4:
        return max(scale // 2, 1)
    if in_nc == out_nc * 16:
        return max(scale // 4, 1)
    return scale


# (family, keys that must all be present); checked in order, most specific first (spandrel's detect)
UPSCALER_SIGNATURES: list[tuple[str, tuple[str, ...]]] = [
    ("hat", ("relative_position_index_SA", "layers.0.residual_group.overlap_attn.relative_position_bias_table")),
    ("atd", ("relative_position_index_SA", "layers.0.residual_group.layers.0.attn_win.relative_position_bias_table")),
    ("drct", ("conv_first.weight", "layers.0.swin1.norm1.weight")),
    ("swin2sr", ("conv_first.weight", "layers.0.residual_group.blocks.0.attn.logit_scale")),
    ("swinir", ("conv_first.weight", "layers.0.residual_group.blocks.0.attn.relative_position_bias_table")),
    ("rgt", ("conv_first.weight", "layers.0.blocks.0.attn.get_v.weight", "layers.0.blocks.0.gamma")),
    ("dat", ("conv_first.weight", "layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight")),
    ("span", ("conv_1.sk.weight", "block_1.c1_r.sk.weight")),
    ("omnisr", ("residual_layer.0.residual_layer.0.layer.0.fn.0.weight",)),
    ("realcugan", ("unet1.conv1.conv.0.weight",)),
    ("plksr", ("feats.0.weight", "feats.1.lk.conv.weight")),
    ("safmn", ("to_feat.weight", "to_img.0.weight", "feats.0.norm1.weight")),
    ("rcan", ("sub_mean.weight", "head.0.weight", "body.0.body.0.body.0.weight")),
    ("ditn", ("sft.weight", "UFONE.0.ITLs.0.attn.temperature")),
    ("mosr", ("gblocks.0.weight", "gblocks.1.fc1.weight")),
    ("gfpgan", ("conv_body_first.weight", "stylegan_decoder.style_mlp.1.weight")),
    ("codeformer", ("position_emb", "quantize.embedding.weight")),
    ("restoreformer", ("encoder.conv_in.weight", "quantize.embedding.weight", "decoder.conv_out.weight")),
]
FACE_FAMILIES = {"gfpgan", "codeformer", "restoreformer"}

SCALE_KEYS = {  # where each architecture's last pixel-shuffle conv lives
    "span": ["upsampler.0.weight"], "omnisr": ["up.0.weight"], "safmn": ["to_img.0.weight"],
    "ditn": ["upsample.0.weight", "UpSample.0.weight"], "mosr": ["upsampler.0.weight", "upsampler.MetaUpsample"],
}


def upscaler(t: TensorTable) -> Verdict | None:
    v = _esrgan(t)
    if v:
        return v
    # Compact (SRVGGNetCompact): body.0 conv, PReLU weights, last conv emits out_nc * scale^2
    if "body.0.weight" in t and "body.1.weight" in t and len(t.shape("body.1.weight") or []) == 1 \
            and len(t.shape("body.0.weight") or []) == 4:
        n = t.count_blocks("body.")
        last = t.shape(f"body.{n - 1}.weight")
        scale = _pixelshuffle_scale(t, [f"body.{n - 1}.weight"], t.dim("body.0.weight", 1) or 3)
        return Verdict(V.UPSCALER, V.UPSCALE_MODELS, "compact", f"{scale}x" if scale else None, 0.85,
                       [f"body.{n - 1}.weight {last}", "PReLU body (SRVGGNetCompact)"])
    for fam, keys in UPSCALER_SIGNATURES:
        if all(k in t for k in keys):
            sub = V.FACERESTORE_MODELS if fam in FACE_FAMILIES else V.UPSCALE_MODELS
            v = Verdict(V.UPSCALER, sub, fam, None, 0.85, list(keys))
            if sub == V.UPSCALE_MODELS:
                scale = None
                if fam in SCALE_KEYS:
                    scale = _pixelshuffle_scale(t, SCALE_KEYS[fam])
                elif fam == "plksr":
                    n = t.count_blocks("feats.")
                    scale = _pixelshuffle_scale(t, [f"feats.{n - 1}.weight"])
                elif fam == "rcan":
                    scale = _count_upsample(t, "tail.0.")
                elif fam == "realcugan":
                    scale = 3 if "unet1.conv_bottom.weight" in t and t.dim("unet1.conv_bottom.weight", 0) == 64 and "unet2.conv1.conv.0.weight" not in t else (4 if "conv_final.weight" in t else 2)
                elif "conv_up1.weight" in t:  # "nearest+conv" upsampler: one conv per 2x
                    scale = 2 ** sum(1 for i in (1, 2, 3) if f"conv_up{i}.weight" in t)
                else:  # Swin-style: conv_before_upsample + upsample.N (pixelshuffle) or upsample.0 (direct)
                    scale = _count_upsample(t, "upsample.") if "conv_before_upsample.0.weight" in t else \
                        _pixelshuffle_scale(t, ["upsample.0.weight"])
                    if scale is None and "conv_last.weight" in t and "upsample.0.weight" not in t:
                        scale = 1
                v.variant = f"{scale}x" if scale else None
            return v
    return None


# ==================================================================================================
# LLMs and other non-image models


# LLM-shaped text encoders: named as ComfyUI names them (comfy/sd.py detect_te_model)
def _te_family(t: TensorTable, arch: str) -> str | None:
    """The text-encoder name ComfyUI gives an LLM-shaped encoder, or None if ComfyUI has none for it."""
    if "model.layers.0.post_feedforward_layernorm.weight" in t:
        return V.GEMMA3_4B if "model.layers.0.self_attn.q_norm.weight" in t else V.GEMMA2_2B
    if "model.layers.0.self_attn.q_norm.weight" in t:
        return V.QWEN3_4B if t.dim("model.embed_tokens.weight", 1) == 2560 else None
    kb = t.dim("model.layers.0.self_attn.k_proj.bias", 0)
    if kb is not None:
        return {256: V.QWEN25_3B, 512: V.QWEN25_VL_7B}.get(kb)
    if arch == "llama" and t.dim("model.embed_tokens.weight", 1) == 4096:
        return V.LLAMA3_8B
    return None


def llm(t: TensorTable) -> Verdict | None:
    """Decoder-only language models: an LLM release, or the same network repacked as a text encoder.

    A release carries ``lm_head`` (or a config/tokenizer beside it: core looks); ComfyUI's repacks
    of Llama/Qwen/Gemma encoders drop it and may carry the ``scaled_fp8`` marker."""
    for pre in ("", "base_model.model.", "language_model."):
        k = pre + "model.layers.0.self_attn.q_proj.weight"
        if k in t or (pre + "model.embed_tokens.weight") in t and t.any_startswith(pre + "model.layers."):
            fam, why = "llama", "model.layers.*.self_attn (llama-style decoder)"
            if (pre + "model.layers.0.self_attn.q_proj.bias") in t:
                fam, why = "qwen2", "q_proj bias (qwen2)"
            if (pre + "model.layers.0.pre_feedforward_layernorm.weight") in t:
                fam, why = "gemma2", "pre_feedforward_layernorm (gemma2)"
            if (pre + "model.layers.0.self_attn.q_norm.weight") in t:
                fam, why = ("gemma3", "q_norm + pre_feedforward_layernorm (gemma3)") if fam == "gemma2" else ("qwen3", "q_norm (qwen3)")
            v = Verdict(V.LLM, None, fam, None, 0.6, [k if k in t else pre + "model.embed_tokens.weight", why])
            te = _te_family(t, fam) if not pre else None
            head = "lm_head.weight" in t
            if te and "scaled_fp8" in t:
                # ComfyUI's own "scaled fp8" repackaging: only ComfyUI writes this marker
                v.model_type, v.subtype, v.family, v.confidence = V.DIFFUSION, V.TEXT_ENCODERS, te, 0.9
                v.evidence.append("scaled_fp8 marker (ComfyUI-packaged text encoder)")
            elif te and not head:
                v.model_type, v.subtype, v.family, v.confidence = V.DIFFUSION, V.TEXT_ENCODERS, te, 0.7
                v.evidence.append(f"no lm_head: the {te} text encoder as ComfyUI ships it")
                v.warnings.append("LLM-shaped text encoder without lm_head; a release with its config, tokenizer "
                                  "or lm_head beside it is an LLM")
            else:
                if head:
                    v.evidence.append("lm_head.weight (a language-model release)")
                    v.confidence = 0.8
                v.warnings.append("LLM family guessed from its layout; a transformers config.json names it exactly")
            return v
        if (pre + "model.layers.0.self_attn.qkv_proj.weight") in t:
            return Verdict(V.LLM, None, "phi3", None, 0.7, [pre + "model.layers.0.self_attn.qkv_proj.weight"])
    if "transformer.h.0.attn.c_attn.weight" in t or "h.0.attn.c_attn.weight" in t:
        return Verdict(V.LLM, None, "gpt2", None, 0.8, ["transformer.h.0.attn.c_attn.weight"])
    if "lm_head.weight" in t:
        return Verdict(V.LLM, None, None, None, 0.5, ["lm_head.weight"])
    return None


def llm_size(params: int) -> str:
    """"8b", "4b", "1.1b", "0.5b": the size LLM releases are named by."""
    b = params / 1e9
    if b >= 10:
        return f"{round(b)}b"
    if b >= 0.095:
        x = round(b, 1)
        return f"{x:g}b"
    return f"{round(params / 1e6)}m"


@dataclass(frozen=True)
class Signature:
    """A layout its keys decide: every ``keys`` entry present, every ``prefixes`` entry starting some
    key, every ``contains`` entry inside some key.  The verdict is the fields below; ``evidence``
    defaults to the first key with its shape; ``detail`` reads what the shapes add (a variant)."""

    model_type: str
    subtype: str
    family: str | None
    keys: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    variant: str | None = None
    confidence: float = 0.9
    evidence: str | None = None
    detail: Callable[[TensorTable, Verdict], None] | None = None

    def match(self, t: TensorTable) -> Verdict | None:
        if not (all(k in t for k in self.keys) and all(t.any_startswith(p) for p in self.prefixes)
                and all(t.any_contains(c) for c in self.contains)):
            return None
        ev = self.evidence if self.evidence is not None else _ev(t, self.keys[0])
        v = Verdict(self.model_type, self.subtype, self.family, self.variant, self.confidence, [ev])
        if self.detail:
            self.detail(t, v)
        return v


SAM_WIDTH = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}

# style models, segmenters, GLIGEN: first match wins
OTHER_SIGNATURES: list[Signature] = [
    Signature(V.DIFFUSION, V.STYLE_MODELS, V.FLUX, ("redux_up.weight", "redux_down.weight"), variant="redux", confidence=0.95),
    Signature(V.DIFFUSION, V.STYLE_MODELS, V.SD1, ("style_embedding",), confidence=0.7),
    Signature(V.VISION, V.SAMS, "sam", (), ("image_encoder.blocks.", "mask_decoder."), evidence="image_encoder.* + mask_decoder.*",
              detail=lambda t, v: setattr(v, "variant", SAM_WIDTH.get(t.dim("image_encoder.patch_embed.proj.weight", 0) or 0))),
    Signature(V.DIFFUSION, "gligen", V.SD1, (), ("position_net.",), ("fuser",), confidence=0.6, evidence="position_net.*"),
]


def other(t: TensorTable) -> Verdict | None:
    for sig in OTHER_SIGNATURES:
        v = sig.match(t)
        if v is not None:
            return v
    # A1111 hypernetwork: {width: [Linear stacks]} flattened to "768.0.linear.0.weight"
    if all(k.partition(".")[0].isdigit() for k in t.t) and t.any_contains(".linear.") and t.t:
        widths = sorted({int(k.partition(".")[0]) for k in t.t})
        return Verdict(V.DIFFUSION, V.HYPERNETWORKS, V.SD1, None, 0.5, [f"hypernetwork layers for widths {widths}"],
                       ["hypernetworks carry every width; the base (SD1/SD2) is not in the header"],
                       ambiguous=(V.SD1, V.SD2))
    # audio encoders (ComfyUI audio_encoders): wav2vec2, bare or under "wav2vec2." (audio_encoders.py strips it)
    a = t.strip("wav2vec2.") if t.any_startswith("wav2vec2.feature_extractor.") else t
    if a.any_startswith(("feature_extractor.conv_layers.", "encoder.layers.0.attention.")) and a.any_contains("feature_projection"):
        w = a.dim("encoder.layers.0.attention.q_proj.weight", 0)
        return Verdict(V.AUDIO, V.AUDIO_ENCODERS, V.WAV2VEC2, {768: "base", 1024: "large"}.get(w or 0), 0.8,
                       ["feature_extractor.conv_layers.*", f"encoder width {w}"])
    return None


def motion_module(t: TensorTable) -> Verdict | None:
    """AnimateDiff motion modules (guoyww names, loaded by AnimateDiff-Evolved) and their motion LoRAs."""
    k = t.any_contains(".motion_modules.")
    if not k or not (t.any_contains("temporal_transformer") or t.any_contains("motion_modules.0.transformer_blocks")):
        return None
    levels = t.count_blocks("down_blocks.")
    # SD1.5 modules follow its 4 UNet levels (320/640/1280/1280), SDXL's follow its 3 (320/640/1280)
    fam = {4: V.SD1, 3: V.SDXL}.get(levels)
    sub = V.ANIMATEDIFF_MOTION_LORA if t.any_contains("_lora.") or t.any_contains("lora_") else V.ANIMATEDIFF_MODELS
    v = Verdict(V.DIFFUSION, sub, fam, None, 0.85 if fam else 0.5, [k, f"{levels} down_blocks levels"])
    if fam is None:
        v.warnings.append("motion module for an unknown UNet")
    return v


# ==================================================================================================
# checkpoints: a base model plus its VAE and/or text encoders under well-known prefixes

DIFF_PREFIXES = ("model.diffusion_model.", "diffusion_model.", "model.")
VAE_PREFIXES = ("first_stage_model.", "vae.")
TE_PREFIXES = ("cond_stage_model.", "conditioner.", "text_encoders.", "text_encoder.")


def checkpoint(t: TensorTable) -> Verdict | None:
    dpre = next((p for p in ("model.diffusion_model.", "diffusion_model.", "model.model.") if t.any_startswith(p)), None)
    if dpre is None:
        return None
    core = t.strip(dpre)
    b = base_model(core)
    if b is None:
        return None
    pre = {p for p in ("first_stage_model", "vae", "pretransform", "cond_stage_model", "conditioner", "text_encoders")
           if t.any_startswith(p + ".")}
    has_vae = bool(pre & {"first_stage_model", "vae", "pretransform"})
    has_te = bool(pre & {"cond_stage_model", "conditioner", "text_encoders"})
    if has_vae or has_te:
        b.subtype = V.CHECKPOINTS
        b.evidence.insert(0, f"{dpre}* + " + " + ".join(sorted(p + ".*" for p in pre)))
        if not has_vae:
            b.warnings.append("checkpoint without a VAE")
    else:
        b.evidence.insert(0, f"{dpre}* only (a diffusion model saved with its prefix)")
    return b


# ==================================================================================================


def classify(t: TensorTable) -> Verdict:
    """The one entry point: ordered rules, first match wins."""
    t = unwrap(t)
    if not len(t):
        return Verdict(V.UNKNOWN, None, None, None, 0.0, [], ["no tensors in the header"])
    for rule in (embedding, motion_module, lora, ipadapter, controlnet, checkpoint, base_model, vae, taesd, clip_text, t5,
                 clip_vision, upscaler, other, llm):
        v = rule(t)
        if v is not None:
            return v
    return Verdict(V.UNKNOWN, None, None, None, 0.1, [f"{len(t)} tensors, none of them a known layout"],
                   ["unrecognised layout"])


# ==================================================================================================
# the low-confidence fallback: a file name may decide what the header cannot

_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![a-z0-9])(sdxl|xl|pony|illustrious|noobai)(?![a-z])|sd_xl|sdxl"), V.SDXL),
    (re.compile(r"sd3\.5|sd35"), V.SD35),
    (re.compile(r"(?<![a-z0-9])sd3(?![0-9.])|sd3_"), V.SD3),
    (re.compile(r"flux|(?<![a-z])ae\.(safetensors|sft)$|taef1"), V.FLUX),
    (re.compile(r"sd[-_ ]?1[._-]?5|sd15|v1-5|sd-v1|sd1(?![0-9])|taesd(?!xl|3)"), V.SD1),
    (re.compile(r"sd[-_ ]?2|v2-1|sd21"), V.SD2),
    (re.compile(r"qwen"), V.QWEN_IMAGE),
    (re.compile(r"(?<![a-z])wan(?![a-z])"), V.WAN),
    (re.compile(r"chroma"), V.CHROMA),
    (re.compile(r"sana"), V.SANA),
    (re.compile(r"pixart"), V.PIXART),
]


def family_from_name(name: str, allowed: tuple[str, ...] | None = None) -> str | None:
    n = name.lower()
    for rx, fam in _HINTS:
        if rx.search(n) and (allowed is None or fam in allowed):
            return fam
    return None
