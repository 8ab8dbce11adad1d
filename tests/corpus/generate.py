"""Build tests/corpus/layouts.json.gz from the real model code (dev-only, needs heavy packages).

Every layout here comes from a real model class instantiated on torch's ``meta`` device
(so no memory, no weights): diffusers, transformers, spandrel, peft and ComfyUI's own
``comfy.ldm`` classes, plus ``gguf``'s own tensor-name map and ``torch.save`` for pickles.
Only the configs (widths, depths) are written here, taken from the published model configs;
key names, shapes and dtypes are whatever the classes produce.

Run (not in CI):

    pip install torch diffusers transformers spandrel peft
    git clone https://github.com/comfyanonymous/ComfyUI /tmp/comfy   # any 2025 checkout
    python tests/corpus/generate.py --comfy /tmp/comfy

The stored layouts.json.gz was made with torch 2.14.1, diffusers 0.42.1, transformers 5.24.0,
spandrel 0.4.2, peft 0.21.2, gguf 0.19.0 and ComfyUI 0.3.64 (Comfy-Org/ComfyUI a125cd84).

Output: a gzipped JSON list of layout records (see tests/corpus/samples.py for the format).
A layout that fails to build is reported and skipped, never half-written.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import math
import os
import re
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent

LAYOUTS: list[dict] = []
FAILED: list[str] = []

TORCH_TO_ST = {}


def _init_dtypes():
    import torch

    TORCH_TO_ST.update({
        torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
        torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
        torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
        torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    })


def tensors_of(sd, prefix="", dtype=None, keep_dtype_for=()):
    """state dict -> [[key, st_dtype, shape]]; ``dtype`` casts float tensors like a real save."""
    out = []
    for k, v in sd.items():
        dt = TORCH_TO_ST[v.dtype]
        if dtype and dt in ("F32", "F16", "BF16") and not any(s in k for s in keep_dtype_for):
            dt = dtype
        out.append([prefix + k, dt, list(v.shape)])
    return out


def add(id_, expect, tensors=None, *, kind="safetensors", file=None, metadata=None, precisions=None, **extra):
    rec = {"id": id_, "kind": kind, "file": file or f"{id_}.safetensors", "expect": expect}
    if tensors is not None:
        rec["tensors"] = tensors
    if metadata:
        rec["metadata"] = metadata
    if precisions:
        rec["precisions"] = precisions
    rec.update(extra)
    LAYOUTS.append(rec)


def E(subtype, family, variant=None, model_type="diffusion", decides=True, **kw):
    """Expected identification. ``decides`` False: the header alone cannot tell the family."""
    d = {"subtype": subtype, "family": family, "variant": variant, "model_type": model_type,
         "header_decides": decides}
    d.update(kw)
    return d


def step(name):
    def deco(fn):
        def run(*a, **k):
            n0 = len(LAYOUTS)
            try:
                fn(*a, **k)
                print(f"ok   {name}: {len(LAYOUTS) - n0} layouts", flush=True)
            except Exception as e:  # a failed family must not stop the others
                del LAYOUTS[n0:]
                FAILED.append(f"{name}: {type(e).__name__}: {e}")
                print(f"FAIL {name}: {e}", flush=True)
                traceback.print_exc(limit=3)
        return run
    return deco


def meta_sd(build):
    import torch
    with torch.device("meta"):
        m = build()
    return m.state_dict()


# --------------------------------------------------------------------------------------------
# UNet families (SD1 / SD2 / SDXL / refiner): diffusers layout + ComfyUI (original) layout


UNET_CFGS = {
    "sd1": dict(cross_attention_dim=768, attention_head_dim=8),
    "sd2": dict(cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20], use_linear_projection=True),
    "sdxl": dict(down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                 block_out_channels=(320, 640, 1280), transformer_layers_per_block=[1, 2, 10],
                 cross_attention_dim=2048, attention_head_dim=[5, 10, 20], use_linear_projection=True,
                 addition_embed_type="text_time", addition_time_embed_dim=256,
                 projection_class_embeddings_input_dim=2816),
    "sdxl-refiner": dict(down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                         block_out_channels=(384, 768, 1536, 1536), transformer_layers_per_block=4,
                         cross_attention_dim=1280, attention_head_dim=[6, 12, 24, 24], use_linear_projection=True,
                         addition_embed_type="text_time", addition_time_embed_dim=256,
                         projection_class_embeddings_input_dim=2560),
}

_cache: dict = {}


def diffusers_unet(fam, in_channels=4):
    key = ("unet", fam, in_channels)
    if key not in _cache:
        from diffusers import UNet2DConditionModel
        cfg = dict(UNET_CFGS[fam], in_channels=in_channels)
        _cache[key] = meta_sd(lambda: UNet2DConditionModel(**cfg))
    return _cache[key]


def comfy_unet(fam, in_channels=4):
    key = ("cunet", fam, in_channels)
    if key not in _cache:
        import comfy.model_detection as md
        sd = diffusers_unet(fam, in_channels)
        cfg = md.unet_config_from_diffusers_unet(sd)
        mc = md.model_config_from_unet_config(cfg)
        model = mc.get_model({}, device="meta")
        _cache[key] = (mc, model.diffusion_model.state_dict())
    return _cache[key]


def vae_sd(z=4, quant=True, diffusers=False):
    key = ("vae", z, quant, diffusers)
    if key not in _cache:
        if diffusers:
            from diffusers import AutoencoderKL
            _cache[key] = meta_sd(lambda: AutoencoderKL(
                in_channels=3, out_channels=3, latent_channels=z,
                down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                block_out_channels=[128, 256, 512, 512], layers_per_block=2, use_quant_conv=quant,
                use_post_quant_conv=quant))
        else:
            from comfy.ldm.models.autoencoder import AutoencoderKL, AutoencodingEngine
            dd = {'double_z': True, 'z_channels': z, 'resolution': 256, 'in_channels': 3, 'out_ch': 3,
                  'ch': 128, 'ch_mult': [1, 2, 4, 4], 'num_res_blocks': 2, 'attn_resolutions': [], 'dropout': 0.0}
            if quant:
                _cache[key] = meta_sd(lambda: AutoencoderKL(ddconfig=dd, embed_dim=z))
            else:
                _cache[key] = meta_sd(lambda: AutoencodingEngine(
                    regularizer_config={'target': "comfy.ldm.models.autoencoder.DiagonalGaussianRegularizer"},
                    encoder_config={'target': "comfy.ldm.modules.diffusionmodules.model.Encoder", 'params': dd},
                    decoder_config={'target': "comfy.ldm.modules.diffusionmodules.model.Decoder", 'params': dd}))
    return _cache[key]


# text encoders -----------------------------------------------------------------------------

def clip_text(kind):
    key = ("clip", kind)
    if key not in _cache:
        from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
        cfgs = {
            "clip-l": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           projection_dim=768, hidden_act="quick_gelu"),
            "clip-h": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                           projection_dim=1024, hidden_act="gelu"),
            "clip-g": dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
                           projection_dim=1280, hidden_act="gelu"),
        }
        cfg = CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, **cfgs[kind])
        cls = CLIPTextModel if kind == "clip-l" else CLIPTextModelWithProjection
        # transformers 5 dropped the "text_model." level from CLIPTextModel's own state dict; every
        # file in the field (and ComfyUI) keeps it, so put it back.
        _cache[key] = {(k if k.startswith(("text_model.", "text_projection")) else "text_model." + k): v
                       for k, v in meta_sd(lambda: cls(cfg)).items()}
    return _cache[key]


def t5_enc(kind):
    key = ("t5", kind)
    if key not in _cache:
        from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel
        if kind == "t5-xxl":
            cfg = T5Config(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                           feed_forward_proj="gated-gelu")
            _cache[key] = meta_sd(lambda: T5EncoderModel(cfg))
        elif kind == "t5-base":
            cfg = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=2048, num_layers=12, num_heads=12,
                           feed_forward_proj="gated-gelu")
            _cache[key] = meta_sd(lambda: T5EncoderModel(cfg))
        else:  # umt5-xxl (Wan)
            cfg = UMT5Config(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                             feed_forward_proj="gated-gelu")
            _cache[key] = meta_sd(lambda: UMT5EncoderModel(cfg))
    return _cache[key]


def clip_vision(kind):
    key = ("cv", kind)
    if key not in _cache:
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, SiglipVisionConfig, SiglipVisionModel
        cfgs = {
            "clip-vit-l": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, projection_dim=768),
            "clip-vit-h": dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16, projection_dim=1024),
            "clip-vit-g": dict(hidden_size=1664, intermediate_size=8192, num_hidden_layers=48, num_attention_heads=16, projection_dim=1280),
        }
        if kind == "siglip":
            cfg = SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                     num_attention_heads=16, image_size=384, patch_size=14)
            _cache[key] = {(k if k.startswith("vision_model.") else "vision_model." + k): v
                           for k, v in meta_sd(lambda: SiglipVisionModel(cfg)).items()}
        else:
            cfg = CLIPVisionConfig(image_size=224, patch_size=14, **cfgs[kind])
            _cache[key] = meta_sd(lambda: CLIPVisionModelWithProjection(cfg))
    return _cache[key]


@step("unets+checkpoints")
def gen_unets():
    for fam in ("sd1", "sd2", "sdxl", "sdxl-refiner"):
        mc, unet = comfy_unet(fam)
        dt = "F32" if fam in ("sd1", "sd2") else "F16"
        prec = ["F16", "BF16"] if dt == "F32" else ["F32", "F8_E4M3"]
        # UNet alone, original keys (e.g. an SDXL "unet" extracted by ComfyUI's ModelSave)
        add(f"{fam}-unet-original", E("diffusion_models", fam), tensors_of(unet, "", dt), precisions=prec)
        # UNet alone, diffusers keys (diffusion_pytorch_model.safetensors taken out of its folder)
        add(f"{fam}-unet-diffusers", E("diffusion_models", fam), tensors_of(diffusers_unet(fam), "", dt),
            file="diffusion_pytorch_model.safetensors")
        # full checkpoint, as ComfyUI's CheckpointSave writes it
        clip = {}
        if fam == "sd1":
            clip.update({"clip_l.transformer." + k: v for k, v in clip_text("clip-l").items()})
        elif fam == "sd2":
            clip.update({"clip_h.transformer." + k: v for k, v in clip_text("clip-h").items()})
        elif fam == "sdxl":
            clip.update({"clip_l.transformer." + k: v for k, v in clip_text("clip-l").items()})
            clip.update({"clip_g.transformer." + k: v for k, v in clip_text("clip-g").items()})
        else:
            clip.update({"clip_g.transformer." + k: v for k, v in clip_text("clip-g").items()})
        clip_sd = mc.process_clip_state_dict_for_saving(dict(clip))
        full = {}
        full.update(mc.process_unet_state_dict_for_saving(dict(unet)))
        full.update(mc.process_vae_state_dict_for_saving(dict(vae_sd(4))))
        full.update(clip_sd)
        add(f"{fam}-checkpoint", E("checkpoints", fam), tensors_of(full, "", dt), precisions=prec)
        if fam in ("sd1", "sdxl"):
            mc9, unet9 = comfy_unet(fam, 9)
            full9 = {}
            full9.update(mc9.process_unet_state_dict_for_saving(dict(unet9)))
            full9.update(mc9.process_vae_state_dict_for_saving(dict(vae_sd(4))))
            full9.update(clip_sd)
            add(f"{fam}-inpaint-checkpoint", E("checkpoints", fam, "inpaint"), tensors_of(full9, "", dt))
            # pickled .ckpt of the same checkpoint (the layout older SD files ship in)
            if fam == "sd1":
                add("sd1-checkpoint-ckpt", E("checkpoints", fam, unsafe=False),
                    tensors_of(full, "", "F32"), kind="pickle-zip", file="sd1-checkpoint.ckpt",
                    wrapper="state_dict", extras={"global_step": 840000, "epoch": 6})
    # SDXL diffusers unet in one file with the inpaint 9 channels
    add("sdxl-inpaint-unet-diffusers", E("diffusion_models", "sdxl", "inpaint"),
        tensors_of(diffusers_unet("sdxl", 9), "", "F16"), file="diffusion_pytorch_model.fp16.safetensors")


@step("vaes")
def gen_vaes():
    add("sd-vae-original", E("vae", "sd1", decides=False), tensors_of(vae_sd(4), "", "F32"),
        file="vae-ft-mse-840000-ema-pruned.safetensors", precisions=["F16"])
    add("sdxl-vae-original", E("vae", "sdxl", decides=False), tensors_of(vae_sd(4), "", "F16"),
        file="sdxl_vae.safetensors")
    add("sdxl-vae-noname", E("vae", "sd1", decides=False, family_any=["sd1", "sdxl"]), tensors_of(vae_sd(4), "", "F16"),
        file="my_vae.safetensors")
    add("sd-vae-diffusers", E("vae", "sd1", decides=False, family_any=["sd1", "sdxl"]),
        tensors_of(vae_sd(4, diffusers=True), "", "F32"), file="diffusion_pytorch_model.safetensors")
    add("flux-vae-original", E("vae", "flux", decides=False), tensors_of(vae_sd(16, quant=False), "", "F32"),
        file="ae.safetensors", precisions=["BF16"])
    add("flux-vae-diffusers", E("vae", "flux", decides=False), tensors_of(vae_sd(16, quant=False, diffusers=True), "", "BF16"),
        file="flux_vae_diffusers.safetensors")
    add("sd3-vae-diffusers", E("vae", "sd3", decides=False), tensors_of(vae_sd(16, quant=False, diffusers=True), "", "F16"),
        file="sd3_vae.safetensors")
    add("vae16-noname", E("vae", "flux", decides=False, family_any=["flux", "sd3"]),
        tensors_of(vae_sd(16, quant=False), "", "BF16"), file="vae.safetensors")
    # video VAEs from ComfyUI's classes
    from comfy.ldm.wan.vae import WanVAE
    add("wan21-vae", E("vae", "wan"), tensors_of(meta_sd(lambda: WanVAE(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4],
        num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0)), "", "BF16"),
        file="wan_2.1_vae.safetensors")
    try:
        from comfy.ldm.wan.vae2_2 import WanVAE as WanVAE22
        add("wan22-vae", E("vae", "wan", variant="2.2"), tensors_of(meta_sd(lambda: WanVAE22(dim=160, dec_dim=256, z_dim=48,
            dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[], temperal_downsample=[True, True, False], dropout=0.0)), "", "BF16"),
            file="wan2.2_vae.safetensors")
    except Exception as e:
        FAILED.append(f"wan22-vae: {e}")
    # TAESD (vae_approx), as ComfyUI's taesd module builds it
    from comfy.taesd.taesd import Decoder, Encoder
    add("taesd-decoder", E("vae_approx", "sd1", decides=False), tensors_of(meta_sd(lambda: Decoder(4)), "", "F32"),
        file="taesd_decoder.safetensors")
    add("taesdxl-decoder", E("vae_approx", "sdxl", decides=False), tensors_of(meta_sd(lambda: Decoder(4)), "", "F32"),
        file="taesdxl_decoder.safetensors")
    add("taef1-encoder", E("vae_approx", "flux"), tensors_of(meta_sd(lambda: Encoder(16)), "", "F32"),
        file="taef1_encoder.safetensors")


@step("text encoders")
def gen_text_encoders():
    add("clip-l", E("text_encoders", "clip-l"), tensors_of(clip_text("clip-l"), "", "F16"), file="clip_l.safetensors",
        precisions=["F32", "BF16"])
    add("clip-g", E("text_encoders", "clip-g"), tensors_of(clip_text("clip-g"), "", "F16"), file="clip_g.safetensors")
    add("clip-h-text", E("text_encoders", "clip-h"), tensors_of(clip_text("clip-h"), "", "F16"), file="open_clip_h_text.safetensors")
    t5 = t5_enc("t5-xxl")
    add("t5xxl-fp16", E("text_encoders", "t5", "xxl"), tensors_of(t5, "", "F16"), file="t5xxl_fp16.safetensors",
        precisions=["BF16", "F8_E4M3", "F8_E5M2"])
    # ComfyUI's "scaled fp8" T5: fp8 weights + one scale per linear + a marker tensor
    sc = tensors_of(t5, "", "F8_E4M3", keep_dtype_for=("layer_norm", "relative_attention_bias", "shared"))
    scales = [[k[:-len("weight")] + "scale_weight", "F32", []] for k, dt, s in sc if dt == "F8_E4M3" and len(s) == 2]
    add("t5xxl-fp8-scaled", E("text_encoders", "t5", "xxl"), sc + scales + [["scaled_fp8", "F8_E4M3", [0]]],
        file="t5xxl_fp8_e4m3fn_scaled.safetensors")
    add("t5-base", E("text_encoders", "t5", "base"), tensors_of(t5_enc("t5-base"), "", "F32"), file="t5_base.safetensors")
    add("umt5-xxl", E("text_encoders", "umt5", "xxl"), tensors_of(t5_enc("umt5-xxl"), "", "BF16"),
        file="umt5_xxl_fp16.safetensors")


@step("clip vision")
def gen_clip_vision():
    for kind, f in (("clip-vit-h", "clip_vision_h.safetensors"), ("clip-vit-g", "clip_vision_g.safetensors"),
                    ("clip-vit-l", "clip_vision_l.safetensors"), ("siglip", "sigclip_vision_patch14_384.safetensors")):
        add(f"cv-{kind}", E("clip_vision", kind), tensors_of(clip_vision(kind), "", "F16"), file=f)
    # open_clip / original ViT-H layout wrapped under "visual." would be a checkpoint-extracted variant: not common


# DiTs from ComfyUI's classes ---------------------------------------------------------------

def comfy_dit(cls_name, cfg):
    import comfy.supported_models as sm
    cls = getattr(sm, cls_name)
    mc = cls(dict(cfg))
    model = mc.get_model({}, device="meta")
    return mc, model.diffusion_model.state_dict()


FLUX = dict(image_model="flux", in_channels=16, out_channels=16, vec_in_dim=768, context_in_dim=4096, hidden_size=3072,
            mlp_ratio=4.0, num_heads=24, depth=19, depth_single_blocks=38, axes_dim=[16, 56, 56], theta=10000,
            patch_size=2, qkv_bias=True, guidance_embed=True)


@step("dits")
def gen_dits():
    mc, flux = comfy_dit("Flux", FLUX)
    add("flux-dev", E("diffusion_models", "flux", "dev"), tensors_of(flux, "", "BF16"), file="flux1-dev.safetensors",
        precisions=["F8_E4M3", "F8_E5M2", "F16"])
    _, schnell = comfy_dit("FluxSchnell", dict(FLUX, guidance_embed=False))
    add("flux-schnell", E("diffusion_models", "flux", "schnell"), tensors_of(schnell, "", "BF16"), file="flux1-schnell.safetensors")
    _, fill = comfy_dit("FluxInpaint", dict(FLUX, in_channels=96, out_channels=16))
    add("flux-fill", E("diffusion_models", "flux", "fill"), tensors_of(fill, "", "BF16"), file="flux1-fill-dev.safetensors")
    # a Flux checkpoint (all-in-one, e.g. Comfy-Org's flux1-dev-fp8.safetensors)
    full = {}
    full.update(mc.process_unet_state_dict_for_saving(dict(flux)))
    full.update({"vae." + k: v for k, v in vae_sd(16, quant=False).items()})
    full.update({"text_encoders.clip_l.transformer." + k: v for k, v in clip_text("clip-l").items()})
    full.update({"text_encoders.t5xxl.transformer." + k: v for k, v in t5_enc("t5-xxl").items()})
    fullfixed = {}
    for k, v in full.items():  # ComfyUI writes the VAE of a Flux checkpoint under "vae."
        fullfixed[k] = v
    add("flux-dev-checkpoint", E("checkpoints", "flux", "dev"),
        tensors_of(fullfixed, "", "F8_E4M3", keep_dtype_for=("norm", "vae.", "bias", "embedding")),
        file="flux1-dev-fp8.safetensors")
    # Chroma (Flux-derived, no modulation per block, distilled guidance)
    try:
        _, chroma = comfy_dit("Chroma", dict({k: v for k, v in FLUX.items() if k not in ("vec_in_dim", "guidance_embed")}, image_model="chroma", in_channels=64, out_channels=64, in_dim=64,
                                             out_dim=3072, hidden_dim=5120, n_layers=5))
        add("chroma", E("diffusion_models", "chroma"), tensors_of(chroma, "", "BF16"), file="chroma-unlocked-v40.safetensors")
    except Exception as e:
        FAILED.append(f"chroma: {e}")
    # SD3 medium / SD3.5 large (MMDiT)
    for fam, depth, extra, f in (("sd3", 24, {}, "sd3_medium.safetensors"),
                                 ("sd3.5", 38, {"qk_norm": "rms"}, "sd3.5_large.safetensors"),
                                 ("sd3.5", 24, {"qk_norm": "rms", "x_block_self_attn_layers": list(range(13))},
                                  "sd3.5_medium.safetensors")):
        cfg = dict(in_channels=16, out_channels=16, patch_size=2, depth=depth, input_size=None, adm_in_channels=2048,
                   context_embedder_config={"target": "torch.nn.Linear", "params": {"in_features": 4096, "out_features": 64 * depth}},
                   num_patches=36864 if depth == 24 else 147456, pos_embed_max_size=192 if depth == 24 else 384,
                   pos_embed_scaling_factor=None, **dict({"x_block_self_attn_layers": []}, **extra))
        mc3, sd3 = comfy_dit("SD3", cfg)
        add(Path(f).stem, E("diffusion_models", fam, "large" if depth == 38 else "medium" if fam == "sd3.5" else None),
            tensors_of(sd3, "", "F16"), file=f)
        if depth == 24 and fam == "sd3":
            full = dict(mc3.process_unet_state_dict_for_saving(dict(sd3)))
            full.update({"first_stage_model." + k: v for k, v in vae_sd(16, quant=False).items()})
            full.update({"text_encoders.clip_l.transformer." + k: v for k, v in clip_text("clip-l").items()})
            full.update({"text_encoders.clip_g.transformer." + k: v for k, v in clip_text("clip-g").items()})
            full.update({"text_encoders.t5xxl.transformer." + k: v for k, v in t5_enc("t5-xxl").items()})
            add("sd3-medium-checkpoint", E("checkpoints", "sd3"), tensors_of(full, "", "F16"),
                file="sd3_medium_incl_clips_t5xxlfp16.safetensors")
    # AuraFlow
    _, aura = comfy_dit("AuraFlow", dict(max_seq=4096, cond_seq_dim=2048, n_double_layers=4, n_layers=36))
    add("auraflow", E("diffusion_models", "auraflow"), tensors_of(aura, "", "F16"), file="auraflow_v0.3.safetensors")
    # PixArt Sigma
    _, pix = comfy_dit("PixArtSigma", dict(image_model="pixart_sigma", num_heads=16, patch_size=2, hidden_size=1152,
                                          in_channels=4, depth=28, model_max_length=300, input_size=128,
                                          pe_interpolation=2, micro_condition=False))
    add("pixart-sigma", E("diffusion_models", "pixart"), tensors_of(pix, "", "F16"), file="PixArt-Sigma-XL-2-1024-MS.safetensors")
    # Hunyuan DiT 1.2
    _, hy = comfy_dit("HunyuanDiT1", dict(image_model="hydit1", depth=40, hidden_size=1408, mlp_ratio=4.3637,
                                          size_cond=True, use_style_cond=True))
    add("hunyuan-dit", E("diffusion_models", "hunyuan-dit"), tensors_of(hy, "", "F16"), file="hunyuan_dit_1.2.safetensors")
    # Hunyuan Video
    _, hv = comfy_dit("HunyuanVideo", dict(image_model="hunyuan_video", in_channels=16, out_channels=16, patch_size=[1, 2, 2],
                                           vec_in_dim=768, axes_dim=[16, 56, 56], context_in_dim=4096, hidden_size=3072,
                                           mlp_ratio=4.0, num_heads=24, depth=20, depth_single_blocks=40, theta=256,
                                           qkv_bias=True, guidance_embed=True, meanflow=False, byt5=False))
    add("hunyuan-video", E("diffusion_models", "hunyuan-video"), tensors_of(hv, "", "BF16"),
        file="hunyuan_video_t2v_720p_bf16.safetensors")
    # Wan 2.1 (1.3B t2v, 14B i2v)
    wan = dict(image_model="wan2.1", patch_size=(1, 2, 2), freq_dim=256, window_size=(-1, -1), qk_norm=True,
               cross_attn_norm=True, eps=1e-6, out_dim=16)
    _, w13 = comfy_dit("WAN21_T2V", dict(wan, model_type="t2v", dim=1536, num_heads=12, ffn_dim=8960, num_layers=30, in_dim=16))
    add("wan21-t2v-1.3b", E("diffusion_models", "wan", "t2v"), tensors_of(w13, "", "BF16"),
        file="wan2.1_t2v_1.3B_bf16.safetensors")
    _, w14 = comfy_dit("WAN21_I2V", dict(wan, model_type="i2v", dim=5120, num_heads=40, ffn_dim=13824, num_layers=40, in_dim=36))
    add("wan21-i2v-14b", E("diffusion_models", "wan", "i2v"), tensors_of(w14, "", "F8_E4M3", keep_dtype_for=("norm", "bias", "modulation")),
        file="wan2.1_i2v_480p_14B_fp8_e4m3fn.safetensors")
    # LTX-Video
    _, ltx = comfy_dit("LTXV", dict(image_model="ltxv", num_layers=28, attention_head_dim=64, cross_attention_dim=2048,
                                    in_channels=128, out_channels=128))
    add("ltxv", E("diffusion_models", "ltxv"), tensors_of(ltx, "", "BF16"), file="ltx-video-2b-v0.9.safetensors")
    # Lumina 2
    _, lum = comfy_dit("Lumina2", dict(image_model="lumina2", patch_size=2, in_channels=16, dim=2304, cap_feat_dim=2304,
                                       n_layers=26, n_heads=24, n_kv_heads=8, qk_norm=True, axes_dims=[32, 32, 32],
                                       axes_lens=[300, 512, 512]))
    add("lumina2", E("diffusion_models", "lumina2"), tensors_of(lum, "", "BF16"), file="lumina_2_model_bf16.safetensors")
    # Qwen-Image
    _, qi = comfy_dit("QwenImage", dict(image_model="qwen_image", in_channels=64, num_layers=60))
    add("qwen-image", E("diffusion_models", "qwen-image"), tensors_of(qi, "", "BF16", ),
        file="qwen_image_bf16.safetensors")
    # Stable Cascade stage C / B
    _, sc = comfy_dit("Stable_Cascade_C", dict(stable_cascade_stage="c", c_cond=2048))
    add("cascade-c", E("diffusion_models", "cascade", "stage_c"), tensors_of(sc, "", "BF16"), file="stage_c_bf16.safetensors")
    _, sb = comfy_dit("Stable_Cascade_B", dict(stable_cascade_stage="b", c_hidden=[320, 576, 1152, 1152],
                                               nhead=[-1, 9, 18, 18], blocks=[[2, 4, 14, 4], [4, 14, 4, 2]],
                                               block_repeat=[[1, 1, 1, 1], [2, 2, 2, 2]]))
    add("cascade-b-lite", E("diffusion_models", "cascade", "stage_b"), tensors_of(sb, "", "BF16"), file="stage_b_lite_bf16.safetensors")
    # HiDream I1
    try:
        _, hd = comfy_dit("HiDream", dict(image_model="hidream", attention_head_dim=128, axes_dims_rope=[64, 32, 32],
                                          caption_channels=[4096, 4096], max_resolution=[128, 128], in_channels=16,
                                          llama_layers=list(range(32)) + [31] * 16, num_attention_heads=20,
                                          num_routed_experts=4, num_activated_experts=2, num_layers=16,
                                          num_single_layers=32, out_channels=16, patch_size=2, text_emb_dim=2048))
        add("hidream-i1", E("diffusion_models", "hidream"), tensors_of(hd, "", "BF16"), file="hidream_i1_full_fp16.safetensors")
    except Exception as e:
        FAILED.append(f"hidream: {e}")


@step("diffusers dits")
def gen_diffusers_dits():
    from diffusers import FluxTransformer2DModel, SD3Transformer2DModel
    fl = meta_sd(lambda: FluxTransformer2DModel(guidance_embeds=True))
    add("flux-dev-diffusers", E("diffusion_models", "flux", "dev"), tensors_of(fl, "", "BF16"),
        file="flux_dev_transformer_diffusers.safetensors")
    fs = meta_sd(lambda: FluxTransformer2DModel(guidance_embeds=False))
    add("flux-schnell-diffusers", E("diffusion_models", "flux", "schnell"), tensors_of(fs, "", "BF16"),
        file="flux_schnell_transformer_diffusers.safetensors")
    s3 = meta_sd(lambda: SD3Transformer2DModel(sample_size=128, patch_size=2, in_channels=16, num_layers=24,
                                               attention_head_dim=64, num_attention_heads=24, joint_attention_dim=4096,
                                               caption_projection_dim=1536, pooled_projection_dim=2048, out_channels=16,
                                               pos_embed_max_size=192))
    add("sd3-diffusers", E("diffusion_models", "sd3"), tensors_of(s3, "", "F16"), file="sd3_transformer_diffusers.safetensors")


# ControlNets, T2I adapters --------------------------------------------------------------------

@step("controlnets")
def gen_controlnets():
    import comfy.cldm.cldm as cldm
    import comfy.model_detection as md
    from diffusers import ControlNetModel, FluxControlNetModel, T2IAdapter
    for fam in ("sd1", "sdxl"):
        cfg = md.unet_config_from_diffusers_unet(diffusers_unet(fam))
        cfg = {k: v for k, v in cfg.items() if k not in ("out_channels",)}
        cfg["hint_channels"] = 3
        cfg.pop("transformer_depth_output", None)
        sd = meta_sd(lambda: cldm.ControlNet(**cfg, device=None))
        if fam == "sd1":
            add("sd1-controlnet-pth", E("controlnet", "sd1", decides=True),
                tensors_of(sd, "control_model.", "F32"), kind="pickle-zip", file="control_v11p_sd15_canny.pth")
            add("sd1-controlnet-fp16", E("controlnet", "sd1"), tensors_of(sd, "control_model.", "F16"),
                file="control_v11f1p_sd15_depth_fp16.safetensors")
        else:
            add("sdxl-controlnet-noprefix", E("controlnet", "sdxl"), tensors_of(sd, "", "F16"),
                file="controlnet_sdxl_canny.safetensors")
        dcfg = {k: v for k, v in UNET_CFGS[fam].items() if k not in ("up_block_types",)}
        dsd = meta_sd(lambda: ControlNetModel(**dcfg))
        add(f"{fam}-controlnet-diffusers", E("controlnet", fam), tensors_of(dsd, "", "F16"),
            file=f"diffusers_{fam}_controlnet.safetensors")
    fcn = meta_sd(lambda: FluxControlNetModel(num_layers=5, num_single_layers=10, num_mode=10))
    add("flux-controlnet-union", E("controlnet", "flux"), tensors_of(fcn, "", "BF16"),
        file="FLUX.1-dev-Controlnet-Union.safetensors")
    t2i = meta_sd(lambda: T2IAdapter(in_channels=3, channels=[320, 640, 1280, 1280], num_res_blocks=2,
                                     downscale_factor=8, adapter_type="full_adapter"))
    add("sd1-t2iadapter-diffusers", E("controlnet", "sd1", variant="t2i-adapter"), tensors_of(t2i, "", "F16"),
        file="t2i_adapter_canny_sd15.safetensors")
    # TencentARC's original .pth layout has the same module tree without diffusers' "adapter." prefix
    orig = {k[len("adapter."):]: v for k, v in t2i.items()}
    add("sd1-t2iadapter-original", E("controlnet", "sd1", variant="t2i-adapter"), tensors_of(orig, "", "F32"),
        file="t2iadapter_canny_sd15v2.safetensors")
    t2ixl = meta_sd(lambda: T2IAdapter(in_channels=3, channels=[320, 640, 1280], num_res_blocks=2,
                                       downscale_factor=16, adapter_type="full_adapter_xl"))
    add("sdxl-t2iadapter-diffusers", E("controlnet", "sdxl", variant="t2i-adapter"), tensors_of(t2ixl, "", "F16"),
        file="t2i-adapter-canny-sdxl-1.0.safetensors")


# LoRAs ------------------------------------------------------------------------------------

def _kohya(modules, prefix, rank, kind="lora", conv3=False):
    """Kohya-style LoRA keys for the named Linear/Conv modules (``.`` -> ``_``)."""
    import torch
    out = []
    for name, m in modules:
        base = prefix + name.replace(".", "_")
        if isinstance(m, torch.nn.Linear):
            i, o, ks = m.in_features, m.out_features, None
        elif isinstance(m, torch.nn.Conv2d):
            i, o, ks = m.in_channels, m.out_channels, list(m.kernel_size)
            if ks != [1, 1] and not conv3:
                continue
        else:
            continue
        if kind == "lora":
            if ks is None:
                out += [[base + ".lora_down.weight", "F16", [rank, i]], [base + ".lora_up.weight", "F16", [o, rank]]]
            else:
                out += [[base + ".lora_down.weight", "F16", [rank, i] + ks], [base + ".lora_up.weight", "F16", [o, rank, 1, 1]]]
        elif kind == "loha":
            if ks is None:
                out += [[base + ".hada_w1_a", "F16", [o, rank]], [base + ".hada_w1_b", "F16", [rank, i]],
                        [base + ".hada_w2_a", "F16", [o, rank]], [base + ".hada_w2_b", "F16", [rank, i]]]
            else:
                continue
        elif kind == "lokr":
            if ks is None:
                f = 8 if (o % 8 == 0 and i % 8 == 0) else 1
                out += [[base + ".lokr_w1", "F16", [f, f]], [base + ".lokr_w2_a", "F16", [o // f, rank]],
                        [base + ".lokr_w2_b", "F16", [rank, i // f]]]
            else:
                continue
        out.append([base + ".alpha", "F16", []])
    return out


def _modules_under(model, want):
    return [(n, m) for n, m in model.named_modules() if want(n)]


def meta_model(build):
    import torch
    with torch.device("meta"):
        return build()


@step("loras")
def gen_loras():
    import comfy.model_detection as md
    import torch
    from diffusers import FluxTransformer2DModel, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    def te_model(kind):
        cfgs = {"l": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
                "g": dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20)}
        return meta_model(lambda: CLIPTextModel(CLIPTextConfig(**cfgs[kind])))

    te_want = lambda n: re.search(r"encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])$", n) is not None
    # kohya SD1: diffusers module names under lora_unet_, CLIP-L under lora_te_
    u1 = meta_model(lambda: UNet2DConditionModel(**UNET_CFGS["sd1"]))
    attn_want = lambda n: re.search(r"attentions\.\d+\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))$", n) is not None
    t = _kohya(_modules_under(u1, attn_want), "lora_unet_", 32) + _kohya(_modules_under(te_model("l"), te_want), "lora_te_", 32)
    add("sd1-lora-kohya", E("loras", "sd1"), t, file="add_detail.safetensors",
        metadata={"ss_network_module": "networks.lora", "ss_base_model_version": "sd_v1", "ss_network_dim": "32"})
    # LoCon SD1 (kohya / LyCORIS conv layers too)
    conv_want = lambda n: attn_want(n) or re.search(r"resnets\.\d+\.(conv1|conv2|conv_shortcut)$|(down|up)samplers\.0\.conv$", n) is not None
    t = _kohya(_modules_under(u1, conv_want), "lora_unet_", 16, conv3=True)
    add("sd1-locon", E("loras", "sd1", "locon"), t, file="locon_style.safetensors",
        metadata={"ss_network_module": "lycoris.kohya", "ss_network_args": json.dumps({"algo": "locon", "conv_dim": "16"})})
    add("sd1-loha", E("loras", "sd1", "loha"), _kohya(_modules_under(u1, attn_want), "lora_unet_", 8, kind="loha"),
        file="loha_char.safetensors")
    # PEFT / diffusers SD1
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
    def peft_sd(model, targets, rank, prefix):
        cfg = LoraConfig(r=rank, lora_alpha=rank, target_modules=targets, init_lora_weights=False)
        with torch.device("meta"):
            m = inject_adapter_in_model(cfg, model)
        sd = get_peft_model_state_dict(m)
        return {prefix + k: v for k, v in sd.items()}
    u1b = meta_model(lambda: UNet2DConditionModel(**UNET_CFGS["sd1"]))
    sd = peft_sd(u1b, ["to_q", "to_k", "to_v", "to_out.0"], 16, "unet.")
    sd.update(peft_sd(te_model("l"), ["q_proj", "k_proj", "v_proj", "out_proj"], 16, "text_encoder."))
    add("sd1-lora-peft", E("loras", "sd1"), tensors_of(sd, "", "F16"), file="pytorch_lora_weights.safetensors")
    # the older diffusers attn-processor format (".processor.to_q_lora.down.weight")
    old = {}
    for k, v in sd.items():
        if k.startswith("unet.") and ".lora_A." in k or ".lora_B." in k and k.startswith("unet."):
            m = re.match(r"unet\.(.*)\.(to_q|to_k|to_v|to_out\.0)\.lora_([AB])\.weight", k)
            if m:
                part = m.group(2).replace(".0", "")
                old[f"{m.group(1)}.processor.{part}_lora.{'down' if m.group(3) == 'A' else 'up'}.weight"] = v
    add("sd1-lora-diffusers-old", E("loras", "sd1"), tensors_of(old, "", "F32"), kind="pickle-zip",
        file="pytorch_lora_weights.bin")
    # kohya SDXL: original (sgm) module names from ComfyUI's UNet, two text encoders
    mc, _ = comfy_unet("sdxl")
    cfg = md.unet_config_from_diffusers_unet(diffusers_unet("sdxl"))
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    uxl = meta_model(lambda: UNetModel(**cfg, device="meta", operations=comfy.ops.disable_weight_init))
    sgm_want = lambda n: re.search(r"_blocks\.\d+\.1\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))$|middle_block\.1\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))$", n) is not None
    t = _kohya(_modules_under(uxl, sgm_want), "lora_unet_", 16)
    t += _kohya(_modules_under(te_model("l"), te_want), "lora_te1_", 16)
    t += _kohya(_modules_under(te_model("g"), te_want), "lora_te2_", 16)
    add("sdxl-lora-kohya", E("loras", "sdxl"), t, file="sdxl_style_lora.safetensors",
        metadata={"ss_base_model_version": "sdxl_base_v1-0", "ss_network_module": "networks.lora"})
    add("sdxl-lora-kohya-unetonly", E("loras", "sdxl"), _kohya(_modules_under(uxl, sgm_want), "lora_unet_", 8),
        file="xl_unet_only.safetensors")
    add("sdxl-lokr", E("loras", "sdxl", "lokr"), _kohya(_modules_under(uxl, sgm_want), "lora_unet_", 8, kind="lokr"),
        file="sdxl_lokr.safetensors")
    uxlb = meta_model(lambda: UNet2DConditionModel(**UNET_CFGS["sdxl"]))
    sd = peft_sd(uxlb, ["to_q", "to_k", "to_v", "to_out.0"], 32, "unet.")
    add("sdxl-lora-diffusers", E("loras", "sdxl"), tensors_of(sd, "", "F16"), file="sdxl_pytorch_lora_weights.safetensors")
    # Flux: kohya (sd-scripts naming of the BFL modules), diffusers/PEFT, and ComfyUI/ai-toolkit "diffusion_model." style
    import comfy.ldm.flux.model as fm
    fl = meta_model(lambda: fm.Flux(**{k: v for k, v in FLUX.items() if k != "image_model"}, device="meta", operations=comfy.ops.disable_weight_init))
    fl_want = lambda n: re.search(r"double_blocks\.\d+\.(img|txt)_(attn\.(qkv|proj)|mlp\.[02]|mod\.lin)$|single_blocks\.\d+\.(linear[12]|modulation\.lin)$", n) is not None
    add("flux-lora-kohya", E("loras", "flux"), _kohya(_modules_under(fl, fl_want), "lora_unet_", 16),
        file="flux_realism_kohya.safetensors", metadata={"ss_base_model_version": "flux1", "ss_network_module": "networks.lora_flux"})
    t = []
    for n, m in _modules_under(fl, fl_want):
        t += [["diffusion_model." + n + ".lora_A.weight", "BF16", [16, m.in_features]],
              ["diffusion_model." + n + ".lora_B.weight", "BF16", [m.out_features, 16]]]
    add("flux-lora-comfy", E("loras", "flux"), t, file="flux_lora_aitoolkit.safetensors")
    fd = meta_model(lambda: FluxTransformer2DModel(guidance_embeds=True))
    sd = peft_sd(fd, ["to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out"], 16, "transformer.")
    add("flux-lora-diffusers", E("loras", "flux"), tensors_of(sd, "", "BF16"), file="flux_pytorch_lora_weights.safetensors")
    # Wan LoRA (ComfyUI style)
    _, w13 = comfy_dit("WAN21_T2V", dict(image_model="wan2.1", patch_size=(1, 2, 2), freq_dim=256, window_size=(-1, -1),
                                         qk_norm=True, cross_attn_norm=True, eps=1e-6, out_dim=16, model_type="t2v",
                                         dim=1536, num_heads=12, ffn_dim=8960, num_layers=30, in_dim=16))
    t = []
    for k, dt, s in tensors_of(w13):
        if re.search(r"blocks\.\d+\.(self_attn|cross_attn)\.(q|k|v|o)\.weight$", k):
            t += [["diffusion_model." + k[:-7] + ".lora_A.weight", "BF16", [32, s[1]]],
                  ["diffusion_model." + k[:-7] + ".lora_B.weight", "BF16", [s[0], 32]]]
    add("wan-lora", E("loras", "wan"), t, file="wan_1.3b_style_lora.safetensors")


# Embeddings, IP-Adapters, style models, hypernetworks ---------------------------------------

@step("embeddings")
def gen_embeddings():
    add("sd1-embedding-st", E("embeddings", "sd1"), [["emb_params", "F32", [4, 768]]], file="easynegative.safetensors")
    add("sd2-embedding-st", E("embeddings", "sd2"), [["emb_params", "F32", [8, 1024]]], file="sd2_neg.safetensors")
    add("sdxl-embedding-st", E("embeddings", "sdxl"), [["clip_g", "F32", [8, 1280]], ["clip_l", "F32", [8, 768]]],
        file="negativeXL_D.safetensors")
    # A1111's .pt format, written by torch.save exactly as textual_inversion.py saves it
    import torch
    emb = {"string_to_token": {"*": 265}, "string_to_param": {"*": torch.zeros(2, 768)},
           "name": "bad-hands", "step": 2500, "sd_checkpoint": "7460a6fa", "sd_checkpoint_name": "v1-5-pruned"}
    add_torch_pickle("sd1-embedding-pt", E("embeddings", "sd1"), emb, file="bad-hands.pt")
    add_torch_pickle("sd1-embedding-pt-legacy", E("embeddings", "sd1"), emb, file="bad-hands-legacy.pt", legacy=True)


def add_torch_pickle(id_, expect, obj, *, file, legacy=False):
    """torch.save a real object; keep its pickle (data.pkl / legacy stream) and the storage sizes only."""
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    raw = buf.getvalue()
    if legacy:
        # legacy stream: magic, protocol, sys_info, obj pickle, storage keys pickle, then storages
        import pickletools
        pos = 0
        for _ in range(5):
            for op, arg, p in pickletools.genops(io.BytesIO(raw[pos:])):
                last = p
            pos += last + 1
        add(id_, expect, None, kind="torch-legacy", file=file, pickle_b64=base64.b64encode(raw[:pos]).decode(),
            storage_bytes=len(raw) - pos)
    else:
        import zipfile
        z = zipfile.ZipFile(io.BytesIO(raw))
        members = {}
        for info in z.infolist():
            name = info.filename
            if name.endswith("data.pkl") or name.endswith("/version") or name.endswith("byteorder") or "/.data/" in name:
                members[name] = {"b64": base64.b64encode(z.read(name)).decode()}
            else:
                members[name] = {"size": info.file_size}
        add(id_, expect, None, kind="torch-zip", file=file, members=members)


@step("ipadapters")
def gen_ipadapters():
    from diffusers import UNet2DConditionModel
    from diffusers.models.embeddings import ImageProjection, IPAdapterPlusImageProjection
    # IP-Adapter modules follow the UNet's attention processors: one pair (to_k_ip, to_v_ip) for every
    # cross-attention (attn2) processor, numbered in the processor order (attn1 = even, attn2 = odd).
    for fam, img_dim, tokens, fname in (("sd1", 1024, 4, "ip-adapter_sd15.safetensors"),
                                        ("sdxl", 1280, 4, "ip-adapter_sdxl.safetensors")):
        u = meta_model(lambda: UNet2DConditionModel(**UNET_CFGS[fam]))
        ctx = UNET_CFGS[fam]["cross_attention_dim"]
        t = []
        for i, (name, _) in enumerate(u.attn_processors.items()):
            if name.endswith("attn2.processor"):
                hidden = u.get_submodule(name[: -len(".processor")]).to_k.out_features
                t += [[f"ip_adapter.{i}.to_k_ip.weight", "F16", [hidden, ctx]], [f"ip_adapter.{i}.to_v_ip.weight", "F16", [hidden, ctx]]]
        proj = meta_sd(lambda: ImageProjection(cross_attention_dim=ctx, image_embed_dim=img_dim, num_image_text_embeds=tokens))
        ren = {"image_embeds.weight": "proj.weight", "image_embeds.bias": "proj.bias"}
        t += [["image_proj." + ren.get(k, k), "F16", list(v.shape)] for k, v in proj.items()]
        add(f"{fam}-ipadapter", E("ipadapter", fam), t, file=fname)
        if fam == "sd1":
            plus = meta_sd(lambda: IPAdapterPlusImageProjection(embed_dims=1280, output_dims=ctx, hidden_dims=768,
                                                                depth=4, dim_head=64, heads=12, num_queries=16))
            t2 = [x for x in t if x[0].startswith("ip_adapter.")]
            t2 += [["image_proj." + k, "F16", list(v.shape)] for k, v in plus.items()]
            add("sd1-ipadapter-plus", E("ipadapter", "sd1", "plus"), t2, kind="pickle-zip", file="ip-adapter-plus_sd15.bin",
                wrapper_split=["image_proj", "ip_adapter"])


@step("style/other")
def gen_style():
    from comfy.ldm.flux.redux import ReduxImageEncoder
    add("flux-redux", E("style_models", "flux"), tensors_of(meta_sd(lambda: ReduxImageEncoder()), "", "BF16"),
        file="flux1-redux-dev.safetensors")
    # A1111 hypernetwork (.pt): {width: [state dict of each Linear stack], ...}, saved by torch.save
    import torch
    hn = {}
    for w in (320, 640, 768, 1024, 1280):
        hn[w] = [{"linear.0.weight": torch.zeros(w * 2, w), "linear.0.bias": torch.zeros(w * 2),
                  "linear.1.weight": torch.zeros(w, w * 2), "linear.1.bias": torch.zeros(w)} for _ in range(2)]
    hn.update({"step": 10000, "name": "anime_3", "layer_structure": [1, 2, 1], "activation_func": "relu",
               "is_layer_norm": False, "weight_initialization": "Normal", "use_dropout": False,
               "sd_checkpoint": "925997e9", "sd_checkpoint_name": "animefull-final-pruned"})
    add_torch_pickle("sd1-hypernetwork", E("hypernetworks", "sd1", decides=False), hn, file="anime_3.pt")


# Upscalers (spandrel) -------------------------------------------------------------------------

SPANDREL_BUILDS = [
    ("ESRGAN", "ESRGAN", {"scale": 4}, "4x-UltraSharp.pth"),
    ("ESRGAN", "ESRGAN", {"scale": 4, "in_nc": 12, "shuffle_factor": 2}, "RealESRGAN_x2.pth"),
    ("ESRGAN", "ESRGAN", {"scale": 1, "num_blocks": 6}, "1x-DeJPG.pth"),
    ("ESRGAN", "ESRGAN", {"scale": 8}, "8x_NMKD-Superscale.pth"),
    ("Compact", "Compact", {"upscale": 4}, "realesr-general-x4v3.pth"),
    ("Compact", "Compact", {"upscale": 2, "num_conv": 16}, "2x-AnimeSharpV2_Compact.pth"),
    ("SwinIR", "SwinIR", {"upscale": 4, "embed_dim": 180, "depths": [6] * 6, "num_heads": [6] * 6, "upsampler": "nearest+conv", "img_size": 64, "window_size": 8}, "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth"),
    ("SPAN", "SPAN", {"num_in_ch": 3, "num_out_ch": 3, "upscale": 4}, "4x-ClearRealityV1.pth"),
    ("DAT", "DAT", {"upscale": 4}, "4xNomos8kDAT.pth"),
    ("HAT", "HAT", {"upscale": 4}, "Real_HAT_GAN_SRx4.pth"),
    ("OmniSR", "OmniSR", {"up_scale": 4}, "4x-OmniSR.pth"),
    ("RealCUGAN", "UpCunet2x", {}, "up2x-latest-conservative.pth"),
    ("PLKSR", "PLKSR", {"upscaling_factor": 4}, "4xNomos2_realplksr_dysample.pth"),
    ("Swin2SR", "Swin2SR", {"upscale": 4, "img_size": 64, "window_size": 8, "upsampler": "pixelshuffle"}, "Swin2SR_RealworldSR_X4_64_BSRGAN_PSNR.pth"),
    ("ATD", "ATD", {"upscale": 4, "upsampler": "pixelshuffle"}, "4x-ATD.pth"),
    ("RGT", "RGT", {"upscale": 4}, "4x-RGT.pth"),
    ("DRCT", "DRCT", {"upscale": 4, "upsampler": "pixelshuffle"}, "4xDRCT.pth"),
    ("SAFMN", "SAFMN", {"dim": 36, "upscaling_factor": 4}, "4x-SAFMN.pth"),
    ("RCAN", "RCAN", {"scale": 4}, "RCAN_BIX4.pth"),
    ("DITN", "DITN", {"upscale": 4}, "DITN_x4.pth"),
    ("GFPGAN", "GFPGAN", {}, "GFPGANv1.4.pth"),
    ("MoSR", "MoSR", {"upscale": 4}, "4x-MoSR.pth"),
]


@step("upscalers")
def gen_upscalers():
    import importlib

    from spandrel import ModelLoader
    for arch, cls_name, kw, fname in SPANDREL_BUILDS:
        try:
            mod = importlib.import_module(f"spandrel.architectures.{arch}")
            cls = getattr(mod, cls_name)
            model = cls(**kw)
            sd = model.state_dict()
            desc = ModelLoader().load_from_state_dict(sd)
            fam = desc.architecture.id.lower()
            purpose = getattr(desc, "purpose", "SR")
            subtype = "upscale_models" if purpose in ("SR", "Restoration") else ("facerestore_models" if purpose == "FaceSR" else "upscale_models")
            variant = f"{desc.scale}x" if purpose in ("SR", "FaceSR") or desc.scale != 1 else "1x"
            if purpose == "FaceSR":
                variant = None
            tens = tensors_of(sd, "", "F32")
            kind = "pickle-zip" if fname.endswith(".pth") else "safetensors"
            wrapper = "params_ema" if fname.startswith("Real") else None
            add(f"upscale-{fam}-{Path(fname).stem}", E(subtype, fam, variant, model_type="upscaler"), tens, kind=kind,
                file=fname, wrapper=wrapper)
            if fname == "4x-UltraSharp.pth":
                add(f"upscale-{fam}-safetensors", E(subtype, fam, variant, model_type="upscaler"), tens,
                    file="4x_foolhardy_Remacri.safetensors")
        except Exception as e:
            FAILED.append(f"upscaler {arch}: {type(e).__name__}: {e}")
            print("FAIL upscaler", arch, e)


# GGUF ---------------------------------------------------------------------------------------

GGUF_LLMS = [
    # (arch, hf model_type, config, file, quant)
    ("llama", "LlamaForCausalLM", dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
     num_attention_heads=32, num_key_value_heads=4, vocab_size=32000), "tinyllama-1.1b-chat.Q4_K_M.gguf", "Q4_K_M"),
    ("qwen2", "Qwen2ForCausalLM", dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
     num_attention_heads=14, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True), "qwen2.5-0.5b-instruct-q8_0.gguf", "Q8_0"),
    ("gemma2", "Gemma2ForCausalLM", dict(hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
     num_attention_heads=8, num_key_value_heads=4, head_dim=256, vocab_size=256000), "gemma-2-2b-it-Q5_K_M.gguf", "Q5_K_M"),
    ("phi3", "Phi3ForCausalLM", dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
     num_attention_heads=32, num_key_value_heads=32, vocab_size=32064), "Phi-3-mini-4k-instruct-q4.gguf", "Q4_K_M"),
    ("llama", "MistralForCausalLM", dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
     num_attention_heads=32, num_key_value_heads=8, vocab_size=32768), "Mistral-7B-Instruct-v0.3.Q4_K_M.gguf", "Q4_K_M"),
]

QUANT_OF = {"Q4_K_M": ("Q4_K", "Q6_K", 15), "Q5_K_M": ("Q5_K", "Q6_K", 17), "Q8_0": ("Q8_0", "Q8_0", 7)}


@step("gguf")
def gen_gguf():
    import gguf
    import transformers
    for arch, cls_name, cfg, fname, quant in GGUF_LLMS:
        cls = getattr(transformers, cls_name)
        conf_cls = getattr(transformers, cls_name.replace("ForCausalLM", "Config"))
        model = meta_model(lambda: cls(conf_cls(**cfg)))
        arch_enum = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)
        tmap = gguf.get_tensor_name_map(arch_enum, cfg["num_hidden_layers"])
        main_q, out_q, ftype = QUANT_OF[quant]
        tensors = []
        for k, v in model.state_dict().items():
            name = tmap.get_name(k, try_suffixes=(".weight", ".bias"))
            if name is None:
                continue
            shape = list(reversed(v.shape))  # GGUF stores ne[] innermost first
            q = "F32" if v.dim() == 1 else (out_q if name.startswith(("output.", "token_embd.")) else main_q)
            if v.dim() == 2 and shape[0] % 256 and q.endswith("_K"):
                q = "Q8_0"
            tensors.append([name, q, shape])
        h = cfg["hidden_size"]
        kv = {"general.architecture": arch, "general.name": Path(fname).stem, "general.file_type": ftype,
              "general.quantization_version": 2,
              f"{arch}.context_length": 4096, f"{arch}.embedding_length": h, f"{arch}.block_count": cfg["num_hidden_layers"],
              f"{arch}.feed_forward_length": cfg["intermediate_size"], f"{arch}.attention.head_count": cfg["num_attention_heads"],
              f"{arch}.attention.head_count_kv": cfg["num_key_value_heads"],
              "tokenizer.ggml.model": "gpt2" if arch == "qwen2" else "llama"}
        add(f"gguf-{Path(fname).stem}", E(None, arch, None, model_type="llm",
                                        precision=quant), tensors, kind="gguf", file=fname, kv=kv,
            vocab=cfg["vocab_size"])
    # Non-LLM GGUFs (city96's ComfyUI-GGUF): diffusion models keep their original key names
    _, flux = comfy_dit("Flux", FLUX)
    t = []
    for k, v in flux.items():
        q = "F32" if v.dim() == 1 or "norm" in k else ("Q4_K" if v.dim() == 2 and v.shape[1] % 256 == 0 else "F16")
        t.append([k, q, list(reversed(v.shape))])
    add("gguf-flux-dev-Q4_K_S", E("diffusion_models", "flux", "dev", precision="Q4_K_S"), t, kind="gguf",
        file="flux1-dev-Q4_K_S.gguf", kv={"general.architecture": "flux", "general.quantization_version": 2, "general.file_type": 14})
    _, w13 = comfy_dit("WAN21_T2V", dict(image_model="wan2.1", patch_size=(1, 2, 2), freq_dim=256, window_size=(-1, -1),
                                         qk_norm=True, cross_attn_norm=True, eps=1e-6, out_dim=16, model_type="t2v",
                                         dim=1536, num_heads=12, ffn_dim=8960, num_layers=30, in_dim=16))
    t = [[k, "Q8_0" if v.dim() == 2 and v.shape[1] % 32 == 0 else "F32", list(reversed(v.shape))] for k, v in w13.items()]
    add("gguf-wan-1.3b-Q8_0", E("diffusion_models", "wan", "t2v", precision="Q8_0"), t, kind="gguf",
        file="wan2.1-t2v-1.3b-Q8_0.gguf", kv={"general.architecture": "wan", "general.quantization_version": 2, "general.file_type": 7})
    # T5 encoder GGUF (city96/t5-v1_1-xxl-encoder-gguf): llama.cpp's T5 names, arch "t5encoder"
    arch_enum = gguf.MODEL_ARCH.T5ENCODER
    tmap = gguf.get_tensor_name_map(arch_enum, 24)
    t5 = t5_enc("t5-xxl")
    t = []
    for k, v in t5.items():
        name = tmap.get_name(k, try_suffixes=(".weight", ".bias"))
        if name is None:
            continue
        t.append([name, "F32" if v.dim() == 1 or "relative" in k else "Q5_K", list(reversed(v.shape))])
    add("gguf-t5xxl-Q5_K_M", E("text_encoders", "t5", "xxl", precision="Q5_K_M"), t, kind="gguf",
        file="t5-v1_1-xxl-encoder-Q5_K_M.gguf",
        kv={"general.architecture": "t5encoder", "general.name": "T5", "general.file_type": 17,
            "t5encoder.context_length": 512, "t5encoder.embedding_length": 4096, "t5encoder.block_count": 24})


# Folders ------------------------------------------------------------------------------------

@step("folders")
def gen_folders():
    from transformers import LlamaConfig, LlamaForCausalLM
    # Diffusers SD1.5 pipeline folder
    members = {
        "model_index.json": {"json": {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.6.0",
                                      "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                                      "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                                      "vae": ["diffusers", "AutoencoderKL"], "safety_checker": None, "feature_extractor": None}},
        "unet/config.json": {"json": dict(_class_name="UNet2DConditionModel", cross_attention_dim=768, in_channels=4,
                                          sample_size=64, block_out_channels=[320, 640, 1280, 1280])},
        "unet/diffusion_pytorch_model.safetensors": {"tensors": tensors_of(diffusers_unet("sd1"), "", "F32")},
        "vae/config.json": {"json": dict(_class_name="AutoencoderKL", latent_channels=4)},
        "vae/diffusion_pytorch_model.safetensors": {"tensors": tensors_of(vae_sd(4, diffusers=True), "", "F32")},
        "text_encoder/config.json": {"json": dict(architectures=["CLIPTextModel"], model_type="clip_text_model", hidden_size=768, num_hidden_layers=12)},
        "text_encoder/model.safetensors": {"tensors": tensors_of(clip_text("clip-l"), "", "F32")},
        "tokenizer/vocab.json": {"text": "{}"},
        "scheduler/scheduler_config.json": {"json": {"_class_name": "PNDMScheduler"}},
    }
    add("folder-diffusers-sd15", E("diffusers", "sd1"), None, kind="folder", file="stable-diffusion-v1-5", members=members)
    # Diffusers Flux folder with a sharded transformer
    from diffusers import FluxTransformer2DModel
    fl = tensors_of(meta_sd(lambda: FluxTransformer2DModel(guidance_embeds=True)), "", "BF16")
    shards = _shard(fl, 3, "diffusion_pytorch_model")
    members = {"model_index.json": {"json": {"_class_name": "FluxPipeline", "_diffusers_version": "0.30.0",
                                             "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"],
                                             "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "T5EncoderModel"]}},
               "transformer/config.json": {"json": {"_class_name": "FluxTransformer2DModel", "guidance_embeds": True, "in_channels": 64}},
               "vae/config.json": {"json": {"_class_name": "AutoencoderKL", "latent_channels": 16}},
               "vae/diffusion_pytorch_model.safetensors": {"tensors": tensors_of(vae_sd(16, False, True), "", "BF16")}}
    for k, v in shards.items():
        members["transformer/" + k] = v
    add("folder-diffusers-flux", E("diffusers", "flux", "dev"), None, kind="folder", file="FLUX.1-dev", members=members)
    # transformers LLM folder, sharded, with an index
    cfg = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4, vocab_size=32000)
    ll = tensors_of(meta_sd(lambda: LlamaForCausalLM(LlamaConfig(**cfg))), "", "BF16")
    members = {"config.json": {"json": dict(architectures=["LlamaForCausalLM"], model_type="llama", torch_dtype="bfloat16", **cfg)},
               "generation_config.json": {"json": {"bos_token_id": 1}}, "tokenizer.json": {"text": "{}"}}
    members.update(_shard(ll, 2, "model"))
    add("folder-transformers-llama", E(None, "llama", model_type="llm"), None, kind="folder", file="TinyLlama-1.1B-Chat",
        members=members)
    # the same set with one shard missing: reported as incomplete
    m2 = {k: v for k, v in members.items() if not k.startswith("model-00002")}
    add("folder-transformers-llama-incomplete", E(None, "llama", model_type="llm", incomplete=True), None, kind="folder",
        file="TinyLlama-incomplete", members=m2)
    # transformers T5 encoder folder (used as a text encoder)
    members = {"config.json": {"json": {"architectures": ["T5EncoderModel"], "model_type": "t5", "d_model": 4096, "num_layers": 24}},
               "model.safetensors": {"tensors": tensors_of(t5_enc("t5-xxl"), "", "BF16")}}
    add("folder-transformers-t5", E("text_encoders", "t5", "xxl"), None, kind="folder", file="t5-v1_1-xxl-encoder", members=members)
    # transformers CLIP vision folder
    members = {"config.json": {"json": {"architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model",
                                        "hidden_size": 1280, "num_hidden_layers": 32}},
               "model.safetensors": {"tensors": tensors_of(clip_vision("clip-vit-h"), "", "F16")}}
    add("folder-transformers-clipvision", E("clip_vision", "clip-vit-h"), None, kind="folder", file="CLIP-ViT-H-14", members=members)
    # PEFT adapter folder (SDXL unet LoRA saved by peft)
    import torch
    from diffusers import UNet2DConditionModel
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
    u = meta_model(lambda: UNet2DConditionModel(**UNET_CFGS["sdxl"]))
    with torch.device("meta"):
        m = inject_adapter_in_model(LoraConfig(r=8, target_modules=["to_q", "to_v"]), u)
    sd = {"base_model.model." + k: v for k, v in get_peft_model_state_dict(m).items()}
    members = {"adapter_config.json": {"json": {"peft_type": "LORA", "r": 8, "lora_alpha": 8, "target_modules": ["to_q", "to_v"],
                                                "base_model_name_or_path": "stabilityai/stable-diffusion-xl-base-1.0"}},
               "adapter_model.safetensors": {"tensors": tensors_of(sd, "", "F32")}}
    add("folder-peft-sdxl", E("loras", "sdxl"), None, kind="folder", file="sdxl-peft-lora", members=members)
    # PEFT adapter on an LLM: an LLM adapter, not a diffusion LoRA
    ll_m = meta_model(lambda: LlamaForCausalLM(LlamaConfig(**cfg)))
    with torch.device("meta"):
        m = inject_adapter_in_model(LoraConfig(r=16, target_modules=["q_proj", "v_proj"]), ll_m)
    sd = {"base_model.model." + k: v for k, v in get_peft_model_state_dict(m).items()}
    members = {"adapter_config.json": {"json": {"peft_type": "LORA", "r": 16, "target_modules": ["q_proj", "v_proj"],
                                                "base_model_name_or_path": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "task_type": "CAUSAL_LM"}},
               "adapter_model.safetensors": {"tensors": tensors_of(sd, "", "F32")}}
    add("folder-peft-llm", E(None, "llama", model_type="llm"), None, kind="folder", file="tinyllama-peft-lora", members=members)
    # a plain safetensors LLM file (single file): must never land in an image folder
    add("llm-llama-safetensors", E(None, "llama", model_type="llm"), ll, file="model.safetensors")


def _shard(tensors, n, stem):
    per = math.ceil(len(tensors) / n)
    out, wmap = {}, {}
    for i in range(n):
        name = f"{stem}-{i + 1:05d}-of-{n:05d}.safetensors"
        part = tensors[i * per:(i + 1) * per]
        out[name] = {"tensors": part}
        for k, _, _ in part:
            wmap[k] = name
    total = 0
    out[f"{stem}.safetensors.index.json"] = {"json": {"metadata": {"total_size": total}, "weight_map": wmap}}
    return out


# pickles: hostile + real torch.save objects ---------------------------------------------------

@step("pickles")
def gen_pickles():
    # a real (tiny) RRDBNet saved the BasicSR way: {'params_ema': state_dict}
    from spandrel.architectures.ESRGAN import ESRGAN
    m = ESRGAN(in_nc=3, out_nc=3, num_filters=64, num_blocks=23, scale=4)
    add_torch_pickle("esrgan-torchsave", E("upscale_models", "esrgan", "4x", model_type="upscaler"),
                     {"params_ema": m.state_dict()}, file="4x-AnimeSharp.pth")
    add_torch_pickle("esrgan-torchsave-legacy", E("upscale_models", "esrgan", "4x", model_type="upscaler"),
                     m.state_dict(), file="4x_legacy.pth", legacy=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--comfy", default="/tmp/comfy", help="a ComfyUI checkout (its comfy/ package is imported)")
    ap.add_argument("--out", default=str(HERE / "layouts.json.gz"))
    a = ap.parse_args()
    sys.path.insert(0, a.comfy)
    import comfy.options
    comfy.options.enable_args_parsing()
    sys.argv = [sys.argv[0], "--cpu"]
    import comfy.cli_args  # noqa: F401  (parses --cpu before model_management looks for a GPU)
    _init_dtypes()
    for fn in (gen_unets, gen_vaes, gen_text_encoders, gen_clip_vision, gen_dits, gen_diffusers_dits, gen_controlnets,
               gen_loras, gen_embeddings, gen_ipadapters, gen_style, gen_upscalers, gen_gguf, gen_folders, gen_pickles):
        fn()
    ids = [l["id"] for l in LAYOUTS]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup
    data = {"generator": "tests/corpus/generate.py", "layouts": LAYOUTS, "failed": FAILED}
    with gzip.open(a.out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"{len(LAYOUTS)} layouts -> {a.out} ({os.path.getsize(a.out)} bytes); failed: {len(FAILED)}")
    for f in FAILED:
        print("  ", f)


if __name__ == "__main__":
    main()
